//! Expected files a reviewer reads, compared with what the code produces.
//! `BLESS=1` rewrites them from what the code produces instead; review the
//! diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

/// The case directories under `dir`, sorted.
pub fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The expected files checked so far, and how they differ.
pub struct Golden {
    bless: bool,
    checked: usize,
    failures: Vec<String>,
}

impl Default for Golden {
    fn default() -> Self {
        Self::new()
    }
}

impl Golden {
    pub fn new() -> Golden {
        Golden {
            bless: std::env::var_os("BLESS").is_some(),
            checked: 0,
            failures: Vec::new(),
        }
    }

    /// The file at `path` must hold `actual` (with BLESS, it is made to).
    pub fn check(&mut self, path: &Path, actual: &[u8]) {
        if self.bless {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create expected dir");
            }
            fs::write(path, actual).expect("write expected file");
            return;
        }
        self.checked += 1;
        match fs::read(path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => self.failures.push(format!(
                "{} differs\n--- expected\n{}\n+++ actual\n{}",
                path.display(),
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(actual)
            )),
            Err(_) => self.failures.push(format!("{} is missing", path.display())),
        }
    }

    /// An expected file that nothing produced (with BLESS, it is removed).
    pub fn unexpected(&mut self, path: &Path) {
        if self.bless {
            fs::remove_file(path).expect("remove expected file");
        } else {
            self.failures.push(format!(
                "{} is expected but was not produced",
                path.display()
            ));
        }
    }

    /// Fail, listing every difference.
    #[track_caller]
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} expected files differ (rerun with BLESS=1 to rewrite them, then review the diff):\n{}",
            self.failures.len(),
            self.checked,
            self.failures.join("\n\n")
        );
    }
}
