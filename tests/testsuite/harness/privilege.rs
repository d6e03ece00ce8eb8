//! Running as an unprivileged user when the suite runs as root, and small
//! tmpfs mounts (root only).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::tool;

/// `nobody`: the unprivileged user for permission tests run as root.
pub const NOBODY: u32 = 65534;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privilege {
    /// Not root: mode bits bind as they are.
    User,
    /// Root with `setpriv`: permission cases run as [`NOBODY`].
    RootWithSetpriv,
    /// Root without a way to drop privileges.
    RootOnly,
}

impl Privilege {
    pub fn get() -> Privilege {
        static P: std::sync::OnceLock<Privilege> = std::sync::OnceLock::new();
        *P.get_or_init(|| {
            if euid() != 0 {
                Privilege::User
            } else if Command::new(tool("setpriv"))
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                Privilege::RootWithSetpriv
            } else {
                Privilege::RootOnly
            }
        })
    }
}

/// The effective uid of this process (the owner of `/proc/self`).
pub fn euid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

pub(super) fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    let meta = std::fs::symlink_metadata(path).expect("meta");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("entry").path(), uid);
        }
    }
}

/// A tmpfs mounted at a directory, unmounted on drop. `None` where mounting
/// is not allowed (not root, or no CAP_SYS_ADMIN in a container).
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    pub fn mount(dir: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new(tool("mount"))
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs {
            dir: dir.to_path_buf(),
        })
    }

    pub fn remount(&self, options: &str) {
        let ok = Command::new(tool("mount"))
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount {options} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new(tool("umount"))
            .arg("-l")
            .arg(&self.dir)
            .stderr(Stdio::null())
            .status();
    }
}
