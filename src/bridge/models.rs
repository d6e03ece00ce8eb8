//! The model catalogue as the bridge reads it (which models reason, so take
//! a `reasoning_effort`): read when the bridge starts, and again when the
//! file changes, so that `models --refresh` or `use` reaches a bridge that
//! runs as a service without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::catalog::Catalog;

/// The file's modification time and length: what tells a rewrite.
type Stamp = (SystemTime, u64);

/// The catalogue beside the profile, as last read.
#[derive(Debug, Default)]
pub struct ModelsFile {
    /// `None`: no catalogue to follow (the request options pass as Codex
    /// sends them).
    path: Option<PathBuf>,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    stamp: Option<Stamp>,
    catalog: Option<Arc<Catalog>>,
}

impl ModelsFile {
    /// Follow the catalogue at `path`, read now.
    pub fn at(path: PathBuf) -> ModelsFile {
        let file = ModelsFile {
            path: Some(path),
            seen: Mutex::default(),
        };
        file.current();
        file
    }

    /// The catalogue as it is now on disk: read again when its stamp
    /// changed since the last look. A missing or unreadable one is no
    /// catalogue (`doctor` reports a bad one).
    pub fn current(&self) -> Option<Arc<Catalog>> {
        let path = self.path.as_deref()?;
        let stamp = stamp(path);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.stamp != stamp {
            seen.catalog = stamp.and_then(|_| read(path)).map(Arc::new);
            seen.stamp = stamp;
        }
        seen.catalog.clone()
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The catalogue without the prompts, which are most of its bytes and
/// which the bridge does not need.
fn read(path: &Path) -> Option<Catalog> {
    let mut catalog = Catalog::read(path).ok()?;
    for entry in &mut catalog.models {
        entry.base_instructions = None;
        entry.extra.clear();
    }
    Some(catalog)
}
