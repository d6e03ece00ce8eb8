//! All file IO: reading a config safely, parsing it with a precise error,
//! and committing a set of changes atomically under a lock, with a backup,
//! refusing when a file changed on disk since it was read.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xattr::FileExt as _;

use crate::error::{Failure, Kind, refused};
use crate::paths::backup_of;

/// Files larger than this are refused: no Codex config is anywhere near it.
pub const MAX_SIZE: u64 = 16 * 1024 * 1024;
/// Symlinks followed before calling it a loop.
const MAX_LINKS: usize = 40;
/// New files and directories.
pub const NEW_FILE_MODE: u32 = 0o600;
pub const NEW_DIR_MODE: u32 = 0o700;

/// A file as read: the path the user knows, the file it really is, its bytes.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub path: PathBuf,
    /// `path` with every symlink followed; writes go here.
    pub target: PathBuf,
    /// `None` when the file does not exist (yet).
    pub bytes: Option<Vec<u8>>,
    pub mode: Option<u32>,
    pub owner: Option<(u32, u32)>,
    /// Which file it was and when it last changed (`None`: no file).
    pub stamp: Option<Stamp>,
    /// Its extended attributes, POSIX ACLs (`system.posix_acl_access`)
    /// included: what replaces the file gets them all.
    pub xattrs: Vec<(OsString, Vec<u8>)>,
    /// Why the extended attributes could not be read: the file is not
    /// replaced, or they would be lost.
    pub xattr_error: Option<String>,
}

/// What tells a file apart from its next version without reading it: the
/// same name may be a new file (inode), or the same file grown or touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    /// Names of the file (hard links).
    pub nlink: u64,
}

impl Stamp {
    fn of(m: &fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            nlink: m.nlink(),
        }
    }

    /// The same file with the same size and modification time.
    fn same_version(&self, other: &Stamp) -> bool {
        (self.dev, self.ino, self.size, self.mtime)
            == (other.dev, other.ino, other.size, other.mtime)
    }
}

type Xattrs = Vec<(OsString, Vec<u8>)>;

/// Every extended attribute of `f` this process can see (a file system
/// without them has none).
fn read_xattrs(f: &File) -> io::Result<Xattrs> {
    let names = match f.list_xattr() {
        Ok(names) => names,
        Err(e) if unsupported(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for name in names {
        if let Some(value) = f.get_xattr(&name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

fn unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || e.raw_os_error() == Some(rustix::io::Errno::OPNOTSUPP.raw_os_error())
}

/// The ACL xattr: removed from a replacement that inherited one from the
/// directory's default ACL when the file it replaces had none.
const ACL_ACCESS: &str = "system.posix_acl_access";

/// Follow `path`'s symlink chain to the file it names (which may not exist).
pub fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)
                    .with_context(|| format!("cannot read the symlink {}", current.display()))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot inspect {}", current.display()));
            }
        }
    }
    Err(refused(format!(
        "{} is a symlink loop (more than {MAX_LINKS} links)",
        path.display()
    ))
    .help("point the symlink at a real file")
    .into())
}

/// Read `path` (through symlinks); a missing file is `bytes: None`.
/// Directories, FIFOs, devices and files over [`MAX_SIZE`] are refused
/// without opening them, so nothing blocks.
pub fn read(path: &Path) -> Result<Snapshot> {
    let target = resolve_links(path)?;
    let meta = match fs::metadata(&target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Snapshot {
                path: path.to_path_buf(),
                target,
                ..Snapshot::default()
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(refused(format!("{} is {what}", path.display()))
            .help("move it aside; the tool only edits regular files")
            .into());
    }
    if meta.len() > MAX_SIZE {
        return Err(refused(format!(
            "{} is {} bytes, over the {} MiB this tool will edit",
            path.display(),
            meta.len(),
            MAX_SIZE >> 20
        ))
        .into());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    let file = File::open(&target).with_context(|| format!("cannot read {}", path.display()))?;
    (&file)
        .take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    // Taken after the bytes: a change during the read shows as a newer
    // stamp or, with the same stamp, as different bytes (see `still_as_read`).
    let stamp = file.metadata().map(|m| Stamp::of(&m)).unwrap_or_default();
    let (xattrs, xattr_error) = match read_xattrs(&file) {
        Ok(x) => (x, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Ok(Snapshot {
        path: path.to_path_buf(),
        target,
        bytes: Some(bytes),
        mode: Some(meta.permissions().mode() & 0o7777),
        owner: Some((meta.uid(), meta.gid())),
        stamp: Some(stamp),
        xattrs,
        xattr_error,
    })
}

/// One file to write (`after: Some`) or delete (`after: None`).
#[derive(Debug, Clone)]
pub struct FileWrite<'a> {
    /// The file as read: the write is refused if it changed since.
    pub before: &'a Snapshot,
    pub after: Option<Vec<u8>>,
    /// Keep the previous content in `<name>.ominigate.bak` (user files only).
    pub backup: bool,
    /// Install's alone: a file that did not exist before install, removed
    /// with nothing of the user's in it. No backup, though a user file.
    pub ours: bool,
}

impl FileWrite<'_> {
    /// Whether the previous content is kept in a backup.
    pub fn keeps_backup(&self) -> bool {
        self.backup && !self.ours && self.before.bytes.is_some()
    }

    pub fn is_noop(&self) -> bool {
        self.before.bytes == self.after
    }
}

/// An advisory lock on the Codex home, held until dropped.
pub struct Lock {
    _dir: File,
}

/// Lock the directory `dir` itself (flock on its descriptor, so no lock file
/// is left behind), waiting up to `wait` for another run to finish.
pub fn lock(dir: &Path, wait: Duration) -> Result<Lock> {
    let handle =
        File::open(dir).with_context(|| format!("cannot open {} to lock it", dir.display()))?;
    let start = Instant::now();
    loop {
        match handle.try_lock() {
            Ok(()) => return Ok(Lock { _dir: handle }),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(refused(format!(
                    "another ominigate-codex is changing {} (waited {} s for it)",
                    dir.display(),
                    wait.as_secs()
                ))
                .help("wait for it to finish and run again")
                .into());
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", dir.display()));
            }
        }
    }
}

/// Create `dir` (and parents) with mode 0700 if it does not exist.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(NEW_DIR_MODE)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Write a file others may read (a man page) into `dir`, created with its
/// parents (mode 0755) when missing: atomically, mode 0644. Its path.
pub fn write_public(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    write_atomic(&path, bytes, 0o644, None)?;
    Ok(path)
}

/// The executable files named `name` on `path_var` (the value of `$PATH`),
/// in its order.
pub fn on_path(name: &str, path_var: Option<&OsStr>) -> impl Iterator<Item = PathBuf> {
    let name = name.to_string();
    path_var
        .map(std::env::split_paths)
        .into_iter()
        .flatten()
        .map(move |dir| dir.join(&name))
        .filter(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Test hook, inert unless `OMINIGATE_CODEX_FAILPOINT` is set:
/// - `<point>` (at every file) or `<point>:<file name>` (at that file only)
///   aborts the process there, so the tests can prove a crash never leaves
///   a partial file;
/// - `pause:<point>` or `pause:<point>:<file name>` prints
///   `failpoint <point>:<file name>: paused` on stderr and waits for a line
///   on stdin, so a test can act at exactly that point (change the file,
///   start another run).
///
/// Points: `before-commit` (everything read and planned, nothing written),
/// `before-rename` (temporary file written and synced, not yet renamed),
/// `between-files` (one file of the run written or removed).
fn failpoint(point: &str, file: &Path) {
    let Some(want) = std::env::var_os("OMINIGATE_CODEX_FAILPOINT") else {
        return;
    };
    let want = want.to_string_lossy();
    let (pause, want) = match want.strip_prefix("pause:") {
        Some(rest) => (true, rest),
        None => (false, &*want),
    };
    let here = format!(
        "{point}:{}",
        file.file_name().unwrap_or_default().to_string_lossy()
    );
    if want != point && want != here {
        return;
    }
    if pause {
        eprintln!("failpoint {here}: paused");
        let _ = io::stdin().read_line(&mut String::new());
    } else {
        std::process::abort();
    }
}

/// Name prefix of the temporary files written for `name`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.ominigate-tmp.")
}

/// Remove the temporary files a crashed run left for any of `names` in
/// `dir` (one read of the directory), and return them. A run holds a lock
/// on its temporary file while it writes it, so a file whose lock can be
/// taken belongs to a process that is gone. This also frees the name when
/// a crashed run's pid comes round again.
fn remove_stale_temps(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
    let prefixes: Vec<String> = names.iter().map(|n| temp_prefix(n)).collect();
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        let stale = prefixes.iter().any(|p| file_name.starts_with(p.as_str()))
            && entry.file_type().is_ok_and(|t| t.is_file())
            && File::open(entry.path()).is_ok_and(|f| f.try_lock().is_ok());
        if stale && fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// Remove what crashed runs left beside each of `files` (and beside the
/// file each symlink names): their temporary files, whose run is gone.
/// Returns what was removed, for the report. Each directory is read once.
pub fn remove_stale_temps_of(files: &[&Path]) -> Vec<PathBuf> {
    let mut dirs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for file in files {
        let target = resolve_links(file).unwrap_or_else(|_| file.to_path_buf());
        for p in [file.to_path_buf(), target] {
            let Some(name) = p.file_name() else { continue };
            let name = name.to_string_lossy().into_owned();
            let dir = parent_dir(&p).to_path_buf();
            match dirs.iter_mut().find(|(d, _)| *d == dir) {
                Some((_, names)) if names.contains(&name) => {}
                Some((_, names)) => names.push(name),
                None => dirs.push((dir, vec![name])),
            }
        }
    }
    dirs.iter()
        .flat_map(|(dir, names)| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            remove_stale_temps(dir, &names)
        })
        .collect()
}

/// The directory that holds `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// fsync a directory: the renames and removals in it become durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What a file written by [`replace`] carries besides its bytes.
#[derive(Debug, Clone, Copy)]
struct Meta<'a> {
    mode: u32,
    /// Owner and group; `None`: whoever runs the tool.
    owner: Option<(u32, u32)>,
    /// Every extended attribute, ACLs included.
    xattrs: &'a [(OsString, Vec<u8>)],
    /// `xattrs` are all the file has (it replaces an existing file): an ACL
    /// inherited from the directory's default ACL is dropped. A new file
    /// keeps what it inherits, like any file created there.
    exact: bool,
}

impl<'a> Meta<'a> {
    /// What replaces the file `before` (or creates it): the same mode,
    /// owner and extended attributes; a new file is 0600 and, when root
    /// writes it, belongs to the owner of its directory (the user whose
    /// Codex home it is), not to root.
    fn of(before: &'a Snapshot) -> Meta<'a> {
        let owner = before.owner.or_else(|| {
            let root = rustix::process::geteuid().is_root();
            let dir = fs::metadata(parent_dir(&before.target)).ok()?;
            root.then(|| (dir.uid(), dir.gid()))
        });
        Meta {
            mode: before.mode.unwrap_or(NEW_FILE_MODE),
            owner,
            xattrs: &before.xattrs,
            exact: before.bytes.is_some(),
        }
    }
}

/// Write `bytes` to `target` atomically and durably: `replace` it, then
/// fsync the directory.
pub fn write_atomic(
    target: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let meta = Meta {
        mode,
        owner,
        xattrs: &[],
        exact: false,
    };
    replace(target, bytes, meta, &|| Ok(()))?;
    sync_dir(parent_dir(target))
        .with_context(|| format!("cannot sync the directory of {}", target.display()))
}

/// Replace `target` by `bytes` atomically: a temporary file in the same
/// directory (see [`create_temp`]), the bytes, fsync; `last_check`; rename
/// over the target. At any instant the target is the old content or the
/// new one; the rename is durable once the directory is synced. The
/// temporary file is removed on any error; one left by a crash is removed
/// by the next run.
fn replace(
    target: &Path,
    bytes: &[u8],
    meta: Meta,
    last_check: &dyn Fn() -> Result<()>,
) -> Result<()> {
    let (mut f, tmp) = create_temp(target, &meta)?;
    let result = (|| -> Result<()> {
        let io = |e: io::Error| {
            anyhow::Error::from(e).context(format!("cannot write {}", tmp.display()))
        };
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        failpoint("before-rename", target);
        last_check()?;
        fs::rename(&tmp, target).map_err(io)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary file for `target`, empty, locked, with `meta` applied:
/// created owner-only, then given the owner, the extended attributes (ACLs)
/// and the mode, so it is never readable by more than the file it replaces.
/// Removed again on any error.
fn create_temp(target: &Path, meta: &Meta) -> Result<(File, PathBuf)> {
    let dir = parent_dir(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_stale_temps(dir, &[&name]);
    let tmp = dir.join(format!("{}{}", temp_prefix(&name), std::process::id()));
    let io =
        |e: io::Error| anyhow::Error::from(e).context(format!("cannot write {}", tmp.display()));
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(NEW_FILE_MODE)
        .open(&tmp)
        .map_err(io)?;
    let result = (|| -> Result<()> {
        // Held until `f` is closed: marks the file as in use (see above).
        // A file system without locks only means no cleanup.
        let _ = f.lock();
        if let Some((uid, gid)) = meta.owner {
            let m = f.metadata().map_err(io)?;
            if (m.uid(), m.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid)).map_err(|e| {
                    refused(format!(
                        "cannot give the new {} its owner {uid}:{gid} ({e})",
                        target.display()
                    ))
                    .help("run as that user (or as root); nothing was written")
                })?;
            }
        }
        copy_xattrs(&f, meta, target)?;
        f.set_permissions(fs::Permissions::from_mode(meta.mode))
            .map_err(io)
    })();
    match result {
        Ok(()) => Ok((f, tmp)),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Whether a replacement of `target` can be given `meta` (owner, extended
/// attributes, mode): a trial temporary file, removed at once. Only tried
/// where the attributes must be copied; nothing of the user's is touched.
fn try_meta(target: &Path, meta: &Meta) -> Result<()> {
    if meta.xattrs.is_empty() {
        return Ok(());
    }
    let (f, tmp) = create_temp(target, meta)?;
    drop(f);
    let _ = fs::remove_file(&tmp);
    Ok(())
}

/// Give `f` the extended attributes of `meta` (ACLs included): set every
/// one and, when it replaces a file, drop an ACL it inherited from its
/// directory that the file did not have. Any failure refuses: the file
/// would lose them.
fn copy_xattrs(f: &File, meta: &Meta, target: &Path) -> Result<()> {
    for (name, value) in meta.xattrs {
        f.set_xattr(name, value).map_err(|e| {
            refused(format!(
                "cannot copy the extended attribute {} of {} to its replacement ({e})",
                name.to_string_lossy(),
                target.display()
            ))
            .help("the file would lose it (an ACL: access could widen); run as the file's owner or root, or remove the attribute; nothing was written")
        })?;
    }
    if meta.exact && !meta.xattrs.iter().any(|(n, _)| n == ACL_ACCESS) {
        match f.remove_xattr(ACL_ACCESS) {
            Ok(()) => {}
            Err(e)
                if unsupported(&e)
                    || e.raw_os_error() == Some(rustix::io::Errno::NODATA.raw_os_error()) => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot drop the inherited ACL of {}", target.display())
                });
            }
        }
    }
    Ok(())
}

/// What [`commit`] did, for the report.
#[derive(Debug, Default)]
pub struct Committed {
    pub written: Vec<PathBuf>,
    pub deleted: Vec<PathBuf>,
    pub backups: Vec<PathBuf>,
    /// Files that had other names (hard links), replaced anyway (`--force`):
    /// the other names keep the old content.
    pub broken_links: Vec<(PathBuf, u64)>,
}

/// Apply `changes` (the caller holds the lock). Every file is checked
/// before anything is written: unchanged since it was read, writable by
/// this user (read-only files are refused, to root too), not a hard link
/// (unless `force`), its extended attributes readable, its owner one this
/// user can give the replacement, and the result within [`MAX_SIZE`]. An
/// existing file that changes gets a backup first, durable before the file
/// changes. The last check that a file is as read comes after its
/// replacement is written and synced, right before the rename. If any step
/// fails, files and backups already written are put back. The directories
/// are synced once at the end, so every change is durable when this
/// returns Ok.
pub fn commit(changes: &[FileWrite], force: bool) -> Result<Committed> {
    failpoint("before-commit", Path::new(""));
    let changes: Vec<&FileWrite> = changes.iter().filter(|c| !c.is_noop()).collect();
    let mut done = Committed::default();
    for change in &changes {
        ensure_unchanged(change.before)?;
        if change.before.bytes.is_some() {
            ensure_writable(change.before)?;
        }
    }
    for change in &changes {
        if let Some(links) = preflight(change, force)? {
            done.broken_links.push((change.before.path.clone(), links));
        }
    }
    let mut applied: Vec<&FileWrite> = Vec::new();
    // Backups as they were before this run wrote them.
    let mut backups: Vec<Snapshot> = Vec::new();
    let undo = |applied: &[&FileWrite], backups: &[Snapshot]| {
        // The files first, then their backups.
        let files = applied.iter().rev().map(|c| c.before);
        for before in files.chain(backups.iter().rev()) {
            let _ = restore(before);
        }
    };
    for change in &changes {
        let result =
            ensure_unchanged(change.before).and_then(|()| apply(change, &mut done, &mut backups));
        failpoint("between-files", &change.before.path);
        if let Err(e) = result {
            undo(&applied, &backups);
            return Err(e);
        }
        applied.push(change);
    }
    // One fsync per directory instead of one per file.
    let mut dirs: Vec<&Path> = changes
        .iter()
        .map(|c| match c.after {
            Some(_) => parent_dir(&c.before.target),
            None => parent_dir(&c.before.path),
        })
        .collect();
    dirs.sort_unstable();
    dirs.dedup();
    for dir in dirs {
        if let Err(e) = sync_dir(dir) {
            undo(&applied, &backups);
            return Err(e).with_context(|| format!("cannot sync the directory {}", dir.display()));
        }
    }
    Ok(done)
}

fn changed_on_disk(before: &Snapshot) -> anyhow::Error {
    refused(format!(
        "{} changed on disk while ominigate-codex was working (Codex itself may have written it)",
        before.path.display()
    ))
    .help("nothing was written; run the command again")
    .into()
}

fn ensure_unchanged(before: &Snapshot) -> Result<()> {
    let now = read(&before.path)?;
    if now.bytes != before.bytes || now.target != before.target {
        return Err(changed_on_disk(before));
    }
    Ok(())
}

/// The last check, right before the rename: `before`'s path still names
/// the same file (inode), with the same size and modification time, and,
/// when those match, the same bytes (an edit within one timestamp tick).
fn still_as_read(before: &Snapshot) -> Result<()> {
    let target = resolve_links(&before.path)?;
    if target != before.target {
        return Err(changed_on_disk(before));
    }
    let meta = match fs::metadata(&target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound && before.bytes.is_none() => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(changed_on_disk(before)),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot inspect {}", before.path.display()));
        }
    };
    let same = match (&before.stamp, &before.bytes) {
        (Some(stamp), Some(bytes)) if stamp.same_version(&Stamp::of(&meta)) => {
            let mut now = Vec::with_capacity(bytes.len());
            File::open(&target)
                .and_then(|f| f.take(MAX_SIZE + 1).read_to_end(&mut now))
                .with_context(|| format!("cannot read {}", before.path.display()))?;
            &now == bytes
        }
        _ => false,
    };
    if !same {
        return Err(changed_on_disk(before));
    }
    Ok(())
}

/// Whether `change` can be made without losing anything, checked before
/// anything is written. Returns the number of names of a hard-linked file
/// replaced under `force`.
fn preflight(change: &FileWrite, force: bool) -> Result<Option<u64>> {
    let before = change.before;
    let shown = before.path.display();
    if let Some(after) = &change.after
        && after.len() as u64 > MAX_SIZE
    {
        return Err(refused(format!(
            "{shown} would grow to {} bytes, over the {} MiB this tool edits: it could not be undone (uninstall and Codex would refuse it)",
            after.len(),
            MAX_SIZE >> 20
        ))
        .help("make the file smaller (it is mostly something else) and run again; nothing was written")
        .into());
    }
    let written = match change.after {
        Some(_) => &before.target,
        None => &before.path,
    };
    ensure_dir_writable(&before.path, parent_dir(written))?;
    if change.keeps_backup() {
        let backup = backup_of(&before.path);
        ensure_dir_writable(&backup, parent_dir(&backup))?;
    }
    if before.bytes.is_none() || change.after.is_none() {
        return Ok(None);
    }
    if let Some(e) = &before.xattr_error {
        return Err(refused(format!(
            "cannot read the extended attributes (ACLs) of {shown} ({e}), so its replacement would lose them"
        ))
        .help("run as the file's owner, or remove those attributes; nothing was written")
        .into());
    }
    ensure_owner_kept(before)?;
    // Where the attributes go: beside the file, and beside its backup
    // (another directory, maybe another file system, for a symlink).
    try_meta(&before.target, &Meta::of(before))?;
    if change.keeps_backup() {
        try_meta(&backup_of(&before.path), &Meta::of(before))?;
    }
    let links = before.stamp.map_or(1, |s| s.nlink);
    if links > 1 {
        if !force {
            return Err(refused(format!(
                "{shown} has {links} names (hard links): writing it replaces this name with a new file, and the other names would keep the old content"
            ))
            .help("replace the hard link by a symlink (ln -sf) so that every name sees the change, or pass --force to break the link; nothing was written")
            .into());
        }
        return Ok(Some(links));
    }
    Ok(None)
}

/// The directory a new file goes into must take one: a read-only directory
/// or mount, or a missing one, is found before anything is written, not
/// after the backup.
fn ensure_dir_writable(file: &Path, dir: &Path) -> Result<()> {
    use rustix::fs::{Access, access};
    match access(dir, Access::WRITE_OK | Access::EXEC_OK) {
        Ok(()) => Ok(()),
        Err(e) => Err(Failure::new(
            Kind::Failure,
            format!(
                "cannot write {}: cannot create files in {} ({})",
                file.display(),
                dir.display(),
                io::Error::from(e)
            ),
        )
        .help("make the directory writable (or remount it read-write), or point --codex-home elsewhere; nothing was written")
        .into()),
    }
}

/// A replacement must keep the file's owner and group; only root may give
/// a file away, and a user may only give it a group they are in. Checked
/// before anything is written.
fn ensure_owner_kept(before: &Snapshot) -> Result<()> {
    use rustix::process::{Gid, getegid, geteuid, getgroups};
    let Some((uid, gid)) = before.owner else {
        return Ok(());
    };
    let euid = geteuid();
    if euid.is_root() {
        return Ok(());
    }
    let shown = before.path.display();
    if uid != euid.as_raw() {
        return Err(refused(format!(
            "{shown} belongs to user {uid}, not to you: its replacement would belong to you"
        ))
        .help("run as its owner (or with sudo, which keeps the owner); nothing was written")
        .into());
    }
    let in_group =
        gid == getegid().as_raw() || getgroups().is_ok_and(|g| g.contains(&Gid::from_raw(gid)));
    if !in_group {
        return Err(refused(format!(
            "{shown} has the group {gid}, which you are not in: its replacement could not keep that group"
        ))
        .help(format!(
            "change its group to one of yours (chgrp $(id -g) {shown}), or run with sudo, which keeps owner and group; nothing was written"
        ))
        .into());
    }
    Ok(())
}

/// An existing file must be writable by this user. The atomic write renames
/// a new file over it, which only needs the directory: without this check a
/// read-only `config.toml` (a deliberate "do not touch", or a link into a
/// read-only mount) would be replaced all the same. A file without any
/// write bit is refused to root too; otherwise opening it for writing asks
/// the kernel, so ACLs and read-only mounts are handled as everywhere
/// else; nothing is written.
fn ensure_writable(before: &Snapshot) -> Result<()> {
    let read_only = |why: String| -> anyhow::Error {
        refused(format!("{} is read-only ({why})", before.path.display()))
            .help("make it writable (chmod u+w) if ominigate-codex may change it; nothing was written")
            .into()
    };
    if before.mode.is_some_and(|m| m & 0o222 == 0) {
        return Err(read_only(format!(
            "mode {:o}, no write permission for anyone",
            before.mode.unwrap_or_default()
        )));
    }
    match OpenOptions::new().write(true).open(&before.target) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(read_only(e.to_string()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot write {}", before.path.display())),
    }
}

fn apply(change: &FileWrite, done: &mut Committed, backups: &mut Vec<Snapshot>) -> Result<()> {
    let before = change.before;
    if let (Some(old), true) = (&before.bytes, change.keeps_backup()) {
        let backup = backup_of(&before.path);
        // A previous backup is put back whole (bytes, mode, owner, xattrs)
        // if the run fails.
        backups.push(read(&backup).unwrap_or_else(|_| Snapshot {
            path: backup.clone(),
            target: backup.clone(),
            ..Snapshot::default()
        }));
        // The backup holds what the file held: no wider access than it had.
        replace(&backup, old, Meta::of(before), &|| Ok(()))
            .and_then(|()| {
                sync_dir(parent_dir(&backup))
                    .with_context(|| format!("cannot sync the directory of {}", backup.display()))
            })
            .with_context(|| format!("cannot write the backup {}", backup.display()))?;
        done.backups.push(backup);
    }
    match &change.after {
        Some(bytes) => {
            replace(&before.target, bytes, Meta::of(before), &|| {
                still_as_read(before)
            })
            .with_context(|| format!("cannot write {}", before.path.display()))?;
            done.written.push(before.path.clone());
        }
        None => {
            fs::remove_file(&before.path)
                .with_context(|| format!("cannot remove {}", before.path.display()))?;
            done.deleted.push(before.path.clone());
        }
    }
    Ok(())
}

/// Put `before` back as it was read: its bytes, mode, owner and extended
/// attributes, or no file at all.
fn restore(before: &Snapshot) -> Result<()> {
    match &before.bytes {
        Some(bytes) => {
            replace(&before.target, bytes, Meta::of(before), &|| Ok(()))?;
            sync_dir(parent_dir(&before.target))?;
            Ok(())
        }
        None => Ok(fs::remove_file(&before.target)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temporary_files_nobody_holds_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let in_use = dir.path().join(".c.toml.ominigate-tmp.1");
        let stale = dir.path().join(".c.toml.ominigate-tmp.2");
        let other = dir.path().join(".d.toml.ominigate-tmp.3");
        for p in [&in_use, &stale, &other] {
            fs::write(p, "x").unwrap();
        }
        let held = File::open(&in_use).unwrap();
        held.lock().unwrap();
        assert_eq!(
            remove_stale_temps(dir.path(), &["c.toml"]),
            vec![stale.clone()]
        );
        assert!(in_use.exists() && !stale.exists() && other.exists());
        drop(held);
        remove_stale_temps(dir.path(), &["c.toml"]);
        assert!(!in_use.exists() && other.exists());
    }
}
