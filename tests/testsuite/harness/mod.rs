//! Shared helpers for the fault-matrix, crash and property tests: a sandbox
//! that never touches the real home, a canary API key checked after every
//! run, snapshots of a directory tree to prove nothing changed, running as
//! an unprivileged user, small tmpfs mounts, paused runs, and the library
//! API driven the way the binary drives it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ominigate_codex::codex_version::{Layout, Version};
use ominigate_codex::commands::{self, RecordOrder, install, uninstall};
use ominigate_codex::config_file::Change;
use ominigate_codex::paths::BACKUP_SUFFIX;
use ominigate_codex::state::State;
use tempfile::TempDir;

// The canary key, the eras and the canary scan are the CLI tests' own.
pub(crate) use crate::support;
pub use support::{CANARY, ERAS, assert_no_canary_under};

/// Exit codes (see `src/error.rs`).
pub const OK: i32 = 0;
pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const INVALID: i32 = 3;
pub const REFUSED: i32 = 4;

/// No single run may take longer than this; a hang (a FIFO read, a lock
/// never released) fails the test instead of blocking the suite.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// `nobody`: the unprivileged user for permission tests run as root.
pub const NOBODY: u32 = 65534;

pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ominigate-codex"))
}

/// A system tool (`sh`, `setpriv`, `prlimit`) by absolute path, found on
/// the test's own PATH: the runs themselves get a PATH without it.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// What one run printed, and how it ended.
#[derive(Debug)]
pub struct Out {
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    fn from(o: std::process::Output) -> Out {
        use std::os::unix::process::ExitStatusExt;
        Out {
            code: o.status.code(),
            signal: o.status.signal(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn text(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Out {
        assert_eq!(self.code, Some(code), "unexpected exit\n{}", self.text());
        self
    }

    /// The error names `what` (a path, a key, `line:col`).
    #[track_caller]
    pub fn assert_stderr_has(&self, what: &str) -> &Out {
        assert!(
            self.stderr.contains(what),
            "stderr does not mention {what:?}\n{}",
            self.text()
        );
        self
    }

    #[track_caller]
    pub fn assert_stdout_has(&self, what: &str) -> &Out {
        assert!(
            self.stdout.contains(what),
            "stdout does not mention {what:?}\n{}",
            self.text()
        );
        self
    }
}

/// A temp dir holding `home/` ($HOME), `bin/` (the whole $PATH: no codex)
/// and `codex/` (the Codex home, passed as `--codex-home`, created by the
/// test or by the tool).
pub struct Sandbox {
    pub dir: TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("home")).expect("home");
        std::fs::create_dir(dir.path().join("bin")).expect("bin");
        Sandbox { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn codex_home(&self) -> PathBuf {
        self.root().join("codex")
    }

    pub fn config(&self) -> PathBuf {
        self.codex_home().join("config.toml")
    }

    pub fn backup(&self) -> PathBuf {
        self.codex_home()
            .join(format!("config.toml{BACKUP_SUFFIX}"))
    }

    pub fn profile_file(&self) -> PathBuf {
        self.codex_home().join("ominigate.config.toml")
    }

    pub fn state_file(&self) -> PathBuf {
        self.codex_home().join("ominigate-codex.state.json")
    }

    /// Write `config.toml`, creating the Codex home.
    pub fn write_config(&self, bytes: impl AsRef<[u8]>) {
        std::fs::create_dir_all(self.codex_home()).expect("codex home");
        std::fs::write(self.config(), bytes).expect("write config");
    }

    pub fn read(&self, path: impl AsRef<Path>) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }

    pub fn read_config(&self) -> Vec<u8> {
        std::fs::read(self.config()).expect("read config")
    }

    /// The environment every run gets: HOME in the sandbox, PATH without a
    /// codex, no CODEX_HOME, the canary key.
    fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("HOME", self.root().join("home"))
            .env("PATH", self.root().join("bin"))
            .env("OMINIGATE_API_KEY", CANARY)
            .env("SHELL", "/bin/bash");
    }

    /// The binary with the sandbox environment and `--codex-home`.
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        self.env(&mut cmd);
        cmd.arg("--codex-home").arg(self.codex_home());
        cmd
    }

    /// Run with extra environment variables (e.g. a failpoint). Checks the
    /// canary everywhere, whatever happened; temporary files are left to
    /// the caller (a crash may leave one).
    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Out {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.args(args).timeout(RUN_TIMEOUT);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = Out::from(cmd.output().expect("run the binary"));
        self.assert_no_canary(&out);
        out
    }

    /// Run `args`: no canary anywhere, no temporary file left anywhere.
    pub fn run(&self, args: &[&str]) -> Out {
        let out = self.run_env(args, &[]);
        assert_no_temps(self.root());
        out
    }

    /// Run `args` and require exit code `code`.
    #[track_caller]
    pub fn expect(&self, args: &[&str], code: i32) -> Out {
        let out = self.run(args);
        out.assert_code(code);
        out
    }

    pub fn install(&self, era: &str) -> Out {
        self.expect(&["install", "--codex-version", era], OK)
    }

    pub fn uninstall(&self) -> Out {
        self.expect(&["uninstall"], OK)
    }

    #[track_caller]
    pub fn assert_no_canary(&self, out: &Out) {
        assert!(
            !out.stdout.contains(CANARY) && !out.stderr.contains(CANARY),
            "the API key leaked into the output\n{}",
            out.text()
        );
        assert_no_canary_under(self.root());
    }

    /// Everything under the sandbox except the lock file (every run creates
    /// it; it holds nothing).
    pub fn tree(&self) -> Tree {
        tree(self.root())
    }

    /// Make the sandbox usable by [`NOBODY`] (see [`Sandbox::as_nobody`]).
    pub fn give_to_nobody(&self) {
        chown_tree(self.root(), NOBODY);
    }

    /// Run as an unprivileged user when root (where mode bits would not
    /// bind): `setpriv` to nobody. Not root: run as is. `None` when root
    /// and setpriv is missing: the caller asserts root's behaviour instead.
    pub fn run_unprivileged(&self, args: &[&str]) -> Option<Out> {
        let mut cmd = match Privilege::get() {
            Privilege::User => self.std_cmd(),
            Privilege::RootWithSetpriv => {
                let mut c = Command::new(tool("setpriv"));
                self.env(&mut c);
                c.arg(format!("--reuid={NOBODY}"))
                    .arg(format!("--regid={NOBODY}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(bin())
                    .arg("--codex-home")
                    .arg(self.codex_home());
                c
            }
            Privilege::RootOnly => return None,
        };
        let mut cmd = assert_cmd::Command::from_std({
            cmd.args(args);
            cmd
        });
        cmd.timeout(RUN_TIMEOUT);
        let out = Out::from(cmd.output().expect("run the binary"));
        self.assert_no_canary(&out);
        assert_no_temps(self.root());
        Some(out)
    }

    /// Start a run that stops at failpoint `point` (see `failpoint` in
    /// `src/config_file.rs`) and wait until it says it is paused there.
    pub fn spawn_paused(&self, args: &[&str], point: &str) -> Paused {
        let mut cmd = self.std_cmd();
        cmd.args(args)
            .env("OMINIGATE_CODEX_FAILPOINT", format!("pause:{point}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(RUN_TIMEOUT) {
                Ok(line) if line.contains(": paused") => {
                    seen.push(line);
                    break;
                }
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let out = child.wait_with_output().expect("wait");
                    panic!(
                        "the run never paused at {point}; it printed {seen:?} and {}",
                        Out::from(out).text()
                    );
                }
            }
        }
        Paused { child, lines, seen }
    }

    /// Start a plain run in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut cmd = self.std_cmd();
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().expect("spawn")
    }

    /// Wait for a [`Sandbox::spawn`]ed run, checking the canary.
    pub fn wait(&self, child: Child) -> Out {
        let out = Out::from(wait_timeout(child));
        self.assert_no_canary(&out);
        out
    }
}

/// A run stopped at a failpoint; [`Paused::resume`] lets it go on.
pub struct Paused {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Paused {
    /// Whether the process is still running (it is: it waits on stdin).
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn resume(mut self, sandbox: &Sandbox) -> Out {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin.write_all(b"\n").expect("resume");
        drop(stdin);
        let mut out = Out::from(wait_timeout(self.child));
        let mut stderr = self.seen.join("\n");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            stderr.push('\n');
            stderr.push_str(&line);
        }
        out.stderr = stderr;
        sandbox.assert_no_canary(&out);
        out
    }
}

/// Wait for `child` at most [`RUN_TIMEOUT`], killing it if it hangs.
pub fn wait_timeout(mut child: Child) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!("the run hung; killed it: {}", Out::from(out).text());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("wait")
}

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

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).expect("chown");
    let meta = std::fs::symlink_metadata(path).expect("meta");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            chown_tree(&entry.expect("entry").path(), uid);
        }
    }
}

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

/// A config with a bit of everything that must survive: comments, a BOM-free
/// LF file, MCP servers, projects with Windows paths, arrays of tables,
/// non-ASCII text and an existing provider and profile of the user's.
pub const RICH: &str = r#"# my codex config — keep this comment
model = "gpt-5"   # the default
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "@docs/mcp"]

[projects."C:\\Users\\zoë\\src"]
trust_level = "trusted"

[model_providers.azure]
name = "Azure"
base_url = "https://example.openai.azure.com/openai"

[profiles.fast]
model = "o4-mini"

[[hooks]]
event = "start"
run = "echo hi"

[[hooks]]
event = "stop"
run = "echo bye" # last line
"#;

/// What Codex does to config.toml while it runs: trusts a project.
pub const CODEX_EDIT: &str = "\n[projects.\"/home/u/new\"]\ntrust_level = \"trusted\"\n";

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

/// Files as the library sees them: config text, profile text (`None`:
/// no such file), the state record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    pub config: Option<String>,
    pub profile: Option<String>,
    pub state: State,
}

impl Files {
    pub fn config(text: &str) -> Files {
        Files {
            config: Some(text.to_string()),
            ..Files::default()
        }
    }
}

/// Install options for era `version`, as the CLI builds them with no flags
/// but `--default` and `--model`.
pub fn options(version: &str, default: bool, model: Option<&str>) -> install::Options {
    let v: Version = version.parse().expect("version");
    let layout = Layout::for_version(v);
    install::Options {
        layout,
        wire_api: layout.default_wire_api(),
        base_url: None,
        env_key: None,
        model: model.map(str::to_string),
        default,
        no_default: false,
        route: install::Route::Direct,
    }
}

/// The library's view of `files`: nothing on disk.
fn loaded(files: &Files) -> commands::Files {
    let state = (!files.state.is_empty()).then(|| files.state.to_json());
    commands::Files::in_memory(
        files.config.as_deref(),
        files.profile.as_deref(),
        state.as_deref(),
    )
}

/// What the changes leave, as [`Files`].
fn after(changes: [Change; 4]) -> Files {
    let mut out = Files::default();
    for c in changes {
        let text = c.after.map(|b| String::from_utf8(b).expect("utf-8"));
        match c.before.path.to_str() {
            Some("config.toml") => out.config = text,
            Some("ominigate.config.toml") => out.profile = text,
            Some("config.toml.pre-ominigate.bak") => {}
            _ => out.state = text.map_or_else(State::default, |t| State::parse(&t).expect("state")),
        }
    }
    out
}

/// `install` through the library, the way `commands::install::run` does it.
pub fn lib_install(files: &Files, opts: &install::Options) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    install::plan(&mut work.docs, opts).map_err(|e| e.to_string())?;
    Ok(after(work.changes(RecordOrder::First)))
}

/// `install --bridge --bridge-port PORT` through the library, the way
/// `commands::install::run` does it (the bridge's upstream is chosen from
/// the files read).
pub fn lib_install_bridge(
    files: &Files,
    opts: &install::Options,
    port: u16,
) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    let mut opts = opts.clone();
    opts.wire_api = "responses";
    opts.route = install::bridge_route(&work.docs, opts.base_url.take().as_deref(), port)
        .map_err(|e| e.to_string())?;
    install::plan(&mut work.docs, &opts).map_err(|e| e.to_string())?;
    Ok(after(work.changes(RecordOrder::First)))
}

/// `uninstall` through the library, the way `commands::uninstall::run` does it.
pub fn lib_uninstall(files: &Files, force: bool) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    uninstall::plan(&mut work.docs, force, &[])
        .map_err(|e| e.to_string())?
        .map_err(|r| format!("{r:?}"))?;
    Ok(after(work.changes(RecordOrder::Last)))
}

/// Number of property-test cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
