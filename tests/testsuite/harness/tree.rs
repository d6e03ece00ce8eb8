//! Snapshots of a directory tree, to prove a run left files alone, and the
//! temporary files a run must not leave behind.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// What a path is, in enough detail to prove it was not touched: bytes,
/// mode, owner, inode and mtime of files; targets of symlinks.
#[derive(Clone, PartialEq, Eq)]
pub enum Node {
    File {
        bytes: Vec<u8>,
        mode: u32,
        owner: (u32, u32),
        ino: u64,
        mtime: (i64, i64),
        /// Extended attributes, POSIX ACLs (`system.posix_acl_access`) included.
        xattrs: Xattrs,
    },
    Dir {
        mode: u32,
    },
    Link(PathBuf),
    Other,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::File {
                bytes,
                mode,
                owner,
                ino,
                mtime,
                xattrs,
            } => {
                let shown: String = String::from_utf8_lossy(bytes).chars().take(80).collect();
                write!(
                    f,
                    "File({} bytes {shown:?}, mode {mode:o}, owner {owner:?}, ino {ino}, mtime {mtime:?}, xattrs {xattrs:?})",
                    bytes.len()
                )
            }
            Node::Dir { mode } => write!(f, "Dir({mode:o})"),
            Node::Link(t) => write!(f, "Link({})", t.display()),
            Node::Other => write!(f, "Other"),
        }
    }
}

pub type Tree = BTreeMap<PathBuf, Node>;

/// Extended attributes of a file, sorted by name.
pub type Xattrs = Vec<(String, Vec<u8>)>;

/// Every extended attribute of `path` (not following a symlink), ACLs
/// included; none on a file system without them.
pub fn xattrs(path: &Path) -> Xattrs {
    let mut out: Xattrs = xattr::list(path)
        .map(|names| {
            names
                .filter_map(|n| {
                    let v = xattr::get(path, &n).ok()??;
                    Some((n.to_string_lossy().into_owned(), v))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Snapshot of everything under `root` (symlinks not followed), except the
/// lock file, which every run may create.
pub fn tree(root: &Path) -> Tree {
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, path: &Path, out: &mut Tree) {
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("meta");
        let rel = path.strip_prefix(root).expect("under root").to_path_buf();
        let node = if meta.file_type().is_symlink() {
            Node::Link(std::fs::read_link(&path).expect("read link"))
        } else if meta.is_dir() {
            walk(root, &path, out);
            Node::Dir {
                mode: meta.permissions().mode() & 0o7777,
            }
        } else if meta.is_file() {
            Node::File {
                bytes: std::fs::read(&path).unwrap_or_default(),
                mode: meta.permissions().mode() & 0o7777,
                owner: (meta.uid(), meta.gid()),
                ino: meta.ino(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                xattrs: xattrs(&path),
            }
        } else {
            Node::Other
        };
        out.insert(rel, node);
    }
}

/// Fail if the trees differ, naming the paths that do.
#[track_caller]
pub fn assert_same_tree(before: &Tree, after: &Tree) {
    if before == after {
        return;
    }
    let mut diff = String::new();
    for (path, node) in before {
        match after.get(path) {
            None => diff.push_str(&format!("  removed {}\n", path.display())),
            Some(n) if n != node => diff.push_str(&format!(
                "  changed {}:\n    before {node:?}\n    after  {n:?}\n",
                path.display()
            )),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        diff.push_str(&format!("  added {}\n", path.display()));
    }
    panic!("the run changed files it must not touch:\n{diff}");
}

/// Temporary files the tool writes before renaming: `.NAME.ominigate-tmp.PID`.
pub fn temps_under(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    fn go(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".ominigate-tmp.") {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                go(&path, found);
            }
        }
    }
    go(root, &mut found);
    found
}

#[track_caller]
pub fn assert_no_temps(root: &Path) {
    let temps = temps_under(root);
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
}

/// Append `text` to the file at `path`, in place (same inode), as Codex does.
pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The permission bits of `path` (through symlinks).
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
