//! The one test harness: a sandbox that never touches the real `~/.codex`
//! (HOME, the Codex home, PATH, the working directory and the system config
//! all inside a temp dir, every other variable cleared), what a run printed
//! ([`Out`]), snapshots of a tree ([`Tree`]), the canary key checked after
//! every run, and the servers, fake and real Codex binaries the tests use.
//! Exit codes and every library path come from [`api`].

pub mod api;
pub mod bad_gateway;
pub mod chat_gateway;
pub mod configs;
pub mod doctor;
pub mod fake_codex;
pub mod golden;
pub mod library;
pub mod privilege;
pub mod real_codex;
pub mod server;
pub mod tree;

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tempfile::TempDir;

pub use api::{BACKUP_SUFFIX, FAILURE, INVALID_CONFIG, OK, REFUSED, USAGE};
pub use configs::*;
pub use library::*;
pub use privilege::*;
pub use tree::*;

/// Set as the API key in every CLI test; must never appear anywhere.
pub const CANARY: &str = "sk-omg-CANARY-5e1f0c9a7b3d";

/// The three measured Codex eras.
pub const ERAS: [&str; 3] = ["0.94.0", "0.133.0", "0.169.0"];

/// No single run may take longer than this; a hang (a FIFO read, a lock
/// never released) fails the test instead of blocking the suite.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// For a test marked `#[ignore = "needs …"]`: such a test runs only when
/// asked for (`cargo test -- --ignored` or `--include-ignored`), and asked
/// for without what it needs it fails, saying what is missing. Without the
/// environment it is reported `ignored`, never `passed`.
#[track_caller]
pub fn needs<T>(have: Option<T>, what: &str) -> T {
    match have {
        Some(t) => t,
        None => panic!(
            "this test needs {what}, which is missing here; it is #[ignore]d by default, \
             so leave out --ignored/--include-ignored where that is expected{}",
            if std::env::var_os("CI").is_some_and(|v| v == "true") {
                " (CI=true: the CI environment must provide it)"
            } else {
                ""
            }
        ),
    }
}

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

/// `install --codex-version ERA`.
pub fn install_args(era: &str) -> Vec<&str> {
    vec!["install", "--codex-version", era]
}

/// What one run printed, and how it ended.
#[derive(Debug)]
pub struct Out {
    /// The exit code; -1 when killed by a signal.
    pub code: i32,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn from(o: std::process::Output) -> Out {
        use std::os::unix::process::ExitStatusExt;
        Out {
            code: o.status.code().unwrap_or(-1),
            signal: o.status.signal(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// stdout then stderr, as one text.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// stdout or stderr holds `what`.
    pub fn contains(&self, what: &str) -> bool {
        self.stdout.contains(what) || self.stderr.contains(what)
    }

    pub fn text(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }

    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Out {
        assert_eq!(self.code, code, "unexpected exit\n{}", self.text());
        self
    }

    /// The error names `what` (a path, a key, `line:col`).
    #[track_caller]
    pub fn assert_stderr_has(&self, what: &str) -> &Out {
        self.assert_has("stderr", &self.stderr, what)
    }

    #[track_caller]
    pub fn assert_stdout_has(&self, what: &str) -> &Out {
        self.assert_has("stdout", &self.stdout, what)
    }

    #[track_caller]
    fn assert_has(&self, name: &str, stream: &str, what: &str) -> &Out {
        assert!(
            stream.contains(what),
            "{name} does not mention {what:?}\n{}",
            self.text()
        );
        self
    }

    #[track_caller]
    fn assert_no_canary(&self) {
        assert_no_canary_in_text(&self.stdout);
        assert_no_canary_in_text(&self.stderr);
    }
}

impl fmt::Display for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// A temp dir holding `home/` ($HOME), `bin/` (the whole $PATH: no codex
/// unless a test puts one there), `work/` (the working directory) and
/// `codex/` (the Codex home, passed as `--codex-home`, created by the test
/// or by the tool).
///
/// Every run gets `OMINIGATE_CODEX_OFFLINE=1` (what `--offline` does, for
/// every command that can ask the gateway), so that no run sends the canary
/// key anywhere, whatever base_url it ends up with: a test that talks to its
/// own loopback gateway says so with [`Sandbox::online`].
pub struct Sandbox {
    pub dir: TempDir,
    online: std::cell::Cell<bool>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "bin", "work"] {
            std::fs::create_dir(dir.path().join(sub)).expect(sub);
        }
        Sandbox {
            dir,
            online: std::cell::Cell::new(false),
        }
    }

    /// Let the runs ask the gateway (no `OMINIGATE_CODEX_OFFLINE`): for a
    /// test whose config or `--base-url` points at a loopback server it
    /// started. Returns the sandbox for chaining.
    /// A new sandbox with OminiGate installed for `era` at the gateway
    /// `url` (plus `extra` flags), then online: the install stays offline
    /// like every run, and what the test runs next asks that gateway.
    pub fn installed_at(era: &str, url: &str, extra: &[&str]) -> Sandbox {
        let sb = Sandbox::new();
        let mut args = vec!["install", "--codex-version", era, "--base-url", url];
        args.extend_from_slice(extra);
        sb.run(&args, 0);
        sb.online();
        sb
    }

    pub fn online(&self) -> &Sandbox {
        self.online.set(true);
        self
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

    /// The pretend `/etc/codex/config.toml` (absent unless a test writes it).
    pub fn system_config(&self) -> PathBuf {
        self.root().join("etc-codex-config.toml")
    }

    /// The working directory the binary runs in (no `.codex/` above it
    /// that the test did not put there).
    pub fn work_dir(&self) -> PathBuf {
        self.root().join("work")
    }

    /// This tool as the output names it for the sandbox's Codex home (a
    /// path with no character the shell needs quoted).
    pub fn me(&self) -> String {
        format!(
            "ominigate-codex --codex-home {}",
            self.codex_home().display()
        )
    }

    /// Codex as the output names it for the sandbox's Codex home.
    pub fn codex_cmd(&self) -> String {
        format!("CODEX_HOME={} codex", self.codex_home().display())
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

    /// The environment every run gets, and nothing else: HOME in the
    /// sandbox, PATH without a codex, no CODEX_HOME, the canary key, the
    /// system config and the working directory in the sandbox, and
    /// `OMINIGATE_CODEX_OFFLINE=1` unless [`Sandbox::online`].
    /// A test that builds its own command (through `sh`, `prlimit`) starts
    /// from this too.
    pub fn env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("HOME", self.root().join("home"))
            .env("PATH", self.root().join("bin"))
            .env("OMINIGATE_API_KEY", CANARY)
            .env("SHELL", "/bin/bash")
            .env("OMINIGATE_CODEX_SYSTEM_CONFIG", self.system_config())
            .current_dir(self.work_dir());
        if !self.online.get() {
            cmd.env("OMINIGATE_CODEX_OFFLINE", "1");
        }
    }

    /// The binary with the sandbox environment and `--codex-home`, as a
    /// plain `std` command, for tests that choose where stdio goes.
    pub fn std_cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        self.env(&mut cmd);
        cmd.arg("--codex-home").arg(self.codex_home());
        cmd
    }

    /// [`Sandbox::std_cmd`] without `--codex-home`: the Codex home comes
    /// from `CODEX_HOME` or `HOME` (both in the sandbox).
    pub fn std_cmd_without_codex_home(&self) -> Command {
        let mut cmd = Command::new(bin());
        self.env(&mut cmd);
        cmd
    }

    /// [`Sandbox::std_cmd`] as an `assert_cmd` command, limited to
    /// [`RUN_TIMEOUT`].
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd());
        cmd.timeout(RUN_TIMEOUT);
        cmd
    }

    /// Run `args` with extra environment (`None`: unset it); checks that
    /// the output holds no canary.
    pub fn exec(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Out {
        let mut cmd = self.cmd();
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = Out::from(cmd.args(args).output().expect("run the binary"));
        out.assert_no_canary();
        out
    }

    /// Run `args`, assert the exit code, return stdout + stderr.
    #[track_caller]
    pub fn run(&self, args: &[&str], code: i32) -> String {
        let out = self.exec(args, &[]);
        assert_eq!(out.code, code, "{args:?}:\n{}", out.all());
        out.all()
    }

    pub fn install(&self, era: &str) -> Out {
        self.ok(&["install", "--codex-version", era])
    }

    /// `install --bridge --bridge-port PORT --base-url UPSTREAM` for `era`.
    pub fn install_bridge(&self, era: &str, port: u16, upstream: &str) -> Out {
        let port = port.to_string();
        self.ok(&[
            "install",
            "--codex-version",
            era,
            "--bridge",
            "--bridge-port",
            &port,
            "--base-url",
            upstream,
        ])
    }

    pub fn uninstall(&self) -> Out {
        self.ok(&["uninstall"])
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> Out {
        let out = self.exec(args, &[]);
        assert_eq!(out.code, 0, "{args:?}:\n{}", out.all());
        out
    }

    /// Run with extra environment variables (e.g. a failpoint). Checks the
    /// canary in the output and in every file, whatever happened;
    /// temporary files are left to the caller (a crash may leave one).
    pub fn run_env(&self, args: &[&str], envs: &[(&str, &str)]) -> Out {
        let envs: Vec<(&str, Option<&str>)> = envs.iter().map(|(k, v)| (*k, Some(*v))).collect();
        let out = self.exec(args, &envs);
        self.assert_no_canary(&out);
        out
    }

    /// Run `args`: no canary anywhere, no temporary file left anywhere.
    pub fn output(&self, args: &[&str]) -> Out {
        let out = self.run_env(args, &[]);
        assert_no_temps(self.root());
        out
    }

    /// [`Sandbox::output`], requiring exit code `code`.
    #[track_caller]
    pub fn expect(&self, args: &[&str], code: i32) -> Out {
        let out = self.output(args);
        out.assert_code(code);
        out
    }

    #[track_caller]
    pub fn assert_no_canary(&self, out: &Out) {
        out.assert_no_canary();
        assert_no_canary_under(self.root());
    }

    /// Every file under the sandbox, checked for the canary.
    pub fn assert_no_canary_in_files(&self) {
        assert_no_canary_under(self.root());
    }

    /// The same after real Codex ran in the sandbox, but for the files Codex
    /// itself writes from its environment: `CODEX_HOME/shell_snapshots/`
    /// holds the exported environment of the shell Codex starts tools in
    /// (the key's variable included). Codex's file, not this tool's.
    pub fn assert_no_canary_in_files_but_codex_snapshots(&self) {
        assert_no_canary_under_but(self.root(), &["shell_snapshots"]);
    }

    /// Everything under the sandbox.
    pub fn tree(&self) -> Tree {
        tree(self.root())
    }

    /// Make the sandbox usable by [`NOBODY`] (see [`Sandbox::run_unprivileged`]).
    pub fn give_to_nobody(&self) {
        privilege::chown_tree(self.root(), NOBODY);
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
    /// `src/fs.rs`) and wait until it says it is paused there.
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
/// A loopback port nothing listens on (bound, then let go): a bridge that
/// is not running.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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

#[track_caller]
pub fn assert_no_canary_in_text(text: &str) {
    assert!(
        !text.contains(CANARY),
        "the API key leaked into output:\n{text}"
    );
}

/// No regular file under `dir` holds the canary (FIFOs and the like are
/// not opened; unreadable entries are skipped).
#[track_caller]
pub fn assert_no_canary_under(dir: &Path) {
    assert_no_canary_under_but(dir, &[]);
}

/// [`assert_no_canary_under`], passing over directories named in `skip`.
#[track_caller]
pub fn assert_no_canary_under_but(dir: &Path, skip: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if !skip.iter().any(|name| entry.file_name() == *name) {
                assert_no_canary_under_but(&path, skip);
            }
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let hit = bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
            assert!(!hit, "the API key leaked into {}", path.display());
        }
    }
}
