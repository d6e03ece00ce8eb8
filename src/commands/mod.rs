//! One module per subcommand, plus what install and uninstall share:
//! loading the files, and finishing a run (diff, or commit and report).

pub mod install;
pub mod uninstall;

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use toml_edit::DocumentMut;

use crate::blocks::{self, EditError};
use crate::config_file::{self, Change, Snapshot};
use crate::error::{Failure, invalid, refused};
use crate::paths::CodexHome;
use crate::report::unified_diff;
use crate::state::State;

/// A file read from disk, checked to be UTF-8.
pub struct Loaded {
    pub snapshot: Snapshot,
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Loaded> {
        let loaded = Loaded {
            snapshot: config_file::read(path)?,
        };
        loaded.text()?;
        Ok(loaded)
    }

    /// The file's text, empty when it does not exist. Borrowed from the
    /// snapshot, so a file is held in memory once.
    pub fn text(&self) -> Result<&str, Failure> {
        match &self.snapshot.bytes {
            Some(b) => config_file::as_text(&self.snapshot.path, b),
            None => Ok(""),
        }
    }

    pub fn exists(&self) -> bool {
        self.snapshot.bytes.is_some()
    }

    /// A change that writes `after` (`None`: delete), if it differs; the
    /// snapshot moves into it (no copy of the file).
    pub fn change(self, after: Option<String>, backup: bool) -> Change {
        Change {
            before: self.snapshot,
            after: after.map(String::into_bytes),
            backup,
        }
    }
}

/// A wrong type in a config file, as the user should read it.
pub fn shape_error(path: &Path, e: EditError) -> anyhow::Error {
    invalid(format!("{}: {e}", path.display()))
        .help(format!(
            "fix that key in {} (see the README's config shapes) and run again. Nothing was written.",
            path.display()
        ))
        .into()
}

/// Parse a loaded config and check the keys this tool touches have the right types.
pub fn parse_checked<'a>(loaded: &'a Loaded) -> Result<config_file::Parsed<'a>> {
    let parsed = config_file::parse(&loaded.snapshot.path, loaded.text()?)?;
    blocks::check_shapes(&parsed.doc).map_err(|e| shape_error(&loaded.snapshot.path, e))?;
    Ok(parsed)
}

/// The state file, or an empty state when there is none.
pub fn load_state(home: &CodexHome) -> Result<(Loaded, State)> {
    let loaded = Loaded::read(&home.state_file())?;
    let state = if loaded.exists() {
        State::parse(loaded.text()?).map_err(|e| {
            refused(format!("{} is damaged: {e}", loaded.snapshot.path.display())).help(
                "it records what install changed; restore it from a backup, or delete it and use --force",
            )
        })?
    } else {
        State::default()
    };
    Ok((loaded, state))
}

/// The state file's change: written when there is something to record, deleted when not.
pub fn state_change(loaded: Loaded, state: &State) -> Change {
    loaded.change((!state.is_empty()).then(|| state.to_json()), false)
}

/// Rendered text of an edited document, in the file's own style.
pub fn render(parsed: &config_file::Parsed<'_>) -> String {
    parsed.styled.restore(&parsed.doc.to_string())
}

/// A document's text for a file that did not exist.
pub fn render_new(doc: &DocumentMut) -> String {
    doc.to_string()
}

/// Print diffs (dry run) or commit the changes; says what happened.
/// Returns whether any user-visible file changed.
pub fn finish(changes: &[Change], dry_run: bool, out: &mut dyn Write) -> Result<bool> {
    let visible: Vec<&Change> = changes
        .iter()
        .filter(|c| !c.is_noop() && c.backup)
        .collect();
    if dry_run {
        for c in changes.iter().filter(|c| !c.is_noop()) {
            let diff = unified_diff(
                &c.before.path,
                c.before.bytes.as_deref(),
                c.after.as_deref(),
            );
            write!(out, "{diff}")?;
        }
        if !visible.is_empty() {
            writeln!(out, "dry run: nothing was written")?;
        }
        return Ok(!visible.is_empty());
    }
    let done = config_file::commit(changes)?;
    for p in &done.written {
        if visible.iter().any(|c| &c.before.path == p) {
            writeln!(out, "wrote {}", p.display())?;
        }
    }
    for p in &done.deleted {
        if visible.iter().any(|c| &c.before.path == p) {
            writeln!(out, "removed {}", p.display())?;
        }
    }
    for p in &done.backups {
        writeln!(out, "backup of the previous version: {}", p.display())?;
    }
    Ok(!visible.is_empty())
}
