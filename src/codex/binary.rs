//! The Codex binary: finding it, asking its version, running it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::version::{Layout, NEWEST_KNOWN, Version};
use crate::error::{Failure, Kind};
use crate::spec;

/// Parse `codex --version` output: `codex-cli 0.169.0`.
pub fn parse_version_output(out: &str) -> Option<Version> {
    out.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("codex-cli" | "codex"), Some(v)) => v.parse().ok(),
            _ => None,
        }
    })
}

/// Which Codex the user has: the one answer every command uses (install
/// and `use` write for it, doctor and status report it, `codex` runs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codex {
    /// `--codex-version X.Y.Z`: that release's rules; no binary is asked.
    Flag(Version),
    /// `--codex PATH`, else `codex` on `$PATH`, and what `PATH --version`
    /// answered: the release, or why it gave none (an error for the
    /// commands that write, a finding for doctor).
    Binary {
        path: PathBuf,
        answer: Result<Version, QueryError>,
    },
    /// No Codex found: the newest known release's rules apply.
    Assumed,
}

impl Codex {
    /// `--codex-version`, else `--codex PATH` asked for its version, else
    /// `codex` on this process's `$PATH` asked, else none.
    pub fn detect(flag_version: Option<Version>, flag_binary: Option<&Path>) -> Codex {
        Codex::find(
            flag_version,
            flag_binary,
            std::env::var_os("PATH").as_deref(),
        )
    }

    /// [`Codex::detect`] with `path_var` as the value of `$PATH`.
    fn find(
        flag_version: Option<Version>,
        flag_binary: Option<&Path>,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Codex {
        if let Some(version) = flag_version {
            return Codex::Flag(version);
        }
        let binary = match flag_binary {
            Some(p) => Some(p.to_path_buf()),
            None => find_on_path(path_var),
        };
        match binary {
            Some(path) => {
                let answer = query_binary(&path);
                Codex::Binary { path, answer }
            }
            None => Codex::Assumed,
        }
    }

    /// The release, when it is known: named by the flag, or said by the
    /// binary.
    pub fn version(&self) -> Option<Version> {
        match self {
            Codex::Flag(v) | Codex::Binary { answer: Ok(v), .. } => Some(*v),
            _ => None,
        }
    }

    /// The binary, whether or not it said its version.
    pub fn binary(&self) -> Option<&Path> {
        match self {
            Codex::Binary { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Why the binary gave no version.
    pub fn problem(&self) -> Option<&QueryError> {
        match self {
            Codex::Binary { answer: Err(e), .. } => Some(e),
            _ => None,
        }
    }

    /// The release whose rules apply: the known one, else the newest known.
    pub fn effective(&self) -> Version {
        self.version().unwrap_or(NEWEST_KNOWN)
    }

    pub fn layout(&self) -> Layout {
        Layout::for_version(self.effective())
    }

    /// This Codex, for the commands that write for it (install, `use`): a
    /// binary that would not say its version is an error there, not a
    /// guess.
    pub fn require_version(self) -> Result<Codex, Failure> {
        match &self {
            Codex::Binary {
                path,
                answer: Err(reason),
            } => Err(Failure::new(
                Kind::Failure,
                format!(
                    "cannot tell which Codex you have: {}: {reason}",
                    path.display()
                ),
            )
            .help("pass --codex-version X.Y.Z (see `codex --version`)")),
            _ => Ok(self),
        }
    }

    /// The line install starts with: which Codex it writes for.
    pub fn headline(&self) -> String {
        match self {
            Codex::Assumed => format!(
                "No Codex found on PATH; writing the layout for the newest Codex known ({NEWEST_KNOWN})"
            ),
            _ => format!("Writing for {}", self.describe()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Codex::Flag(v) => format!("Codex {v} (from --codex-version)"),
            Codex::Binary {
                path,
                answer: Ok(v),
            } => format!("Codex {v} (from `{} --version`)", path.display()),
            Codex::Binary {
                path,
                answer: Err(_),
            } => format!(
                "an unknown Codex at {}; assuming the newest known layout (Codex {NEWEST_KNOWN})",
                path.display()
            ),
            Codex::Assumed => format!(
                "no Codex found on PATH; assuming the newest known layout (Codex {NEWEST_KNOWN})"
            ),
        }
    }
}

/// Find `codex` on `path_var` (the value of `$PATH`).
pub fn find_on_path(path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    crate::fs::on_path("codex", path_var).next()
}

/// Run a command with a time limit; its output, or why it could not be had.
///
/// stdout and stderr are read while the child runs, so a child that prints
/// more than a pipe holds does not stall until the limit. On timeout the
/// child is killed and the readers are left to finish on their own (a
/// grandchild may still hold the pipes open).
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<Output, RunError> {
    use std::io::Read;
    fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RunError::Start(e.to_string()))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Ok(Output {
                    status,
                    stdout: stdout.join().unwrap_or_default(),
                    stderr: stderr.join().unwrap_or_default(),
                });
            }
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::Timeout(limit));
            }
            Err(e) => return Err(RunError::Wait(e.to_string())),
        }
    }
}

/// Why a run ([`run_with_timeout`], [`run_attached`]) has no result: the
/// OS's words for a failed start or wait, or the time limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    Start(String),
    Wait(String),
    Timeout(Duration),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Start(e) | RunError::Wait(e) => f.write_str(e),
            RunError::Timeout(limit) => write!(f, "no answer within {} s", limit.as_secs()),
        }
    }
}

impl std::error::Error for RunError {}

/// Why `<codex> --version` gave no version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    Run(RunError),
    /// It ran but printed something else (`printed` is its trimmed stdout).
    Unparsed {
        binary: PathBuf,
        printed: String,
    },
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Run(e) => e.fmt(f),
            QueryError::Unparsed { binary, printed } => write!(
                f,
                "`{} --version` printed {printed:?}, not `codex-cli X.Y.Z`",
                binary.display()
            ),
        }
    }
}

impl std::error::Error for QueryError {}

/// `<codex> --version`, parsed.
pub fn query_binary(codex: &Path) -> Result<Version, QueryError> {
    let out = run_with_timeout(
        Command::new(codex).arg("--version"),
        Duration::from_secs(10),
    )
    .map_err(QueryError::Run)?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_version_output(&text).ok_or_else(|| QueryError::Unparsed {
        binary: codex.to_path_buf(),
        printed: text.trim().to_string(),
    })
}

/// Codex's arguments for loading the config as `codex --profile ominigate`
/// does, printing the prompt instead of calling a model (Codex
/// [`PROMPT_INPUT`](super::version::PROMPT_INPUT) on).
pub const PROMPT_INPUT_ARGS: [&str; 4] = ["--profile", spec::PROFILE_NAME, "debug", "prompt-input"];

/// `binary --profile ominigate debug prompt-input` with `CODEX_HOME` set
/// to `codex_home` and no backtraces, within `limit`: does this Codex
/// accept the config files there.
pub fn prompt_input(binary: &Path, codex_home: &Path, limit: Duration) -> Result<Output, RunError> {
    let mut cmd = Command::new(binary);
    cmd.args(PROMPT_INPUT_ARGS)
        .env("CODEX_HOME", codex_home)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    run_with_timeout(&mut cmd, limit)
}

/// The Codex child's pid while it runs, for the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// SIGTERM and SIGHUP sent to this process are passed to Codex, so that it
/// can restore the terminal; this process goes on until Codex exits.
extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// SIGINT (Ctrl-C) goes to the whole foreground group, Codex included:
/// Codex decides what it means. This process must not die of it.
extern "C" fn ignore(_: libc::c_int) {}

/// Run a command with the terminal (stdin, stdout, stderr inherited) until
/// it exits, passing it the signals meant for it: Ctrl-C is the child's to
/// handle, SIGTERM and SIGHUP are forwarded. For `ominigate-codex codex`.
pub fn run_attached(cmd: &mut Command) -> Result<ExitStatus, RunError> {
    // Handlers, not SIG_IGN: exec(2) resets handlers to the default, so
    // Codex starts with the dispositions it expects.
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 3] = [
        (libc::SIGINT, ignore),
        (libc::SIGTERM, forward),
        (libc::SIGHUP, forward),
    ];
    for (sig, handler) in handlers {
        // SAFETY: installs a handler that only calls kill(2) or nothing.
        unsafe {
            libc::signal(sig, handler as libc::sighandler_t);
        }
    }
    let mut child = cmd.spawn().map_err(|e| RunError::Start(e.to_string()))?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    let status = child.wait();
    CHILD.store(0, Ordering::SeqCst);
    status.map_err(|e| RunError::Wait(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding an executable `codex` that prints `said`.
    fn fake_codex(said: &str) -> tempfile::TempDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("codex");
        std::fs::write(&path, format!("#!/bin/sh\necho '{said}'\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    #[test]
    fn one_detection_for_every_command() {
        let good = fake_codex("codex-cli 0.94.0");
        let path_var = Some(good.path().as_os_str());
        let found = Codex::find(None, None, path_var);
        let binary = good.path().join("codex");
        assert_eq!(
            found,
            Codex::Binary {
                path: binary.clone(),
                answer: Ok(Version::new(0, 94, 0))
            }
        );
        assert_eq!(found.version(), Some(Version::new(0, 94, 0)));
        assert_eq!(found.layout().default_wire_api(), "chat");
        assert_eq!(
            found.headline(),
            format!(
                "Writing for Codex 0.94.0 (from `{} --version`)",
                binary.display()
            )
        );
        assert_eq!(found.clone().require_version().ok(), Some(found.clone()));

        // The flag wins over any binary; no binary is asked.
        let named = Codex::find(Some(Version::new(0, 169, 0)), Some(&binary), path_var);
        assert_eq!(named, Codex::Flag(Version::new(0, 169, 0)));
        assert_eq!(named.binary(), None);
        assert_eq!(named.describe(), "Codex 0.169.0 (from --codex-version)");

        // Nothing on PATH: the newest known rules, no version.
        let none = Codex::find(None, None, None);
        assert_eq!(none, Codex::Assumed);
        assert_eq!((none.version(), none.effective()), (None, NEWEST_KNOWN));
        assert!(none.headline().starts_with("No Codex found on PATH"));

        // A binary that does not say its version: a finding, and install's error.
        let bad = fake_codex("node v20");
        let broken = Codex::find(None, Some(&bad.path().join("codex")), None);
        assert_eq!(broken.version(), None);
        assert_eq!(broken.effective(), NEWEST_KNOWN);
        assert!(matches!(
            broken.problem(),
            Some(QueryError::Unparsed { .. })
        ));
        let err = broken.require_version().unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "cannot tell which Codex you have: {0}: `{0} --version` printed \"node v20\", not `codex-cli X.Y.Z`",
                bad.path().join("codex").display()
            )
        );
        assert_eq!(
            err.help.as_deref(),
            Some("pass --codex-version X.Y.Z (see `codex --version`)")
        );
    }

    #[test]
    fn prompt_input_asks_codex_with_the_profile_and_the_given_home() {
        let dir = fake_codex("unused");
        let script = dir.path().join("codex");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"$*|$CODEX_HOME|${RUST_BACKTRACE-unset}\"\n",
        )
        .expect("write");
        let out = prompt_input(&script, Path::new("/scratch/home"), Duration::from_secs(20))
            .expect("runs");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "--profile ominigate debug prompt-input|/scratch/home|unset\n"
        );
    }

    #[test]
    fn parses_version_output() {
        assert_eq!(
            parse_version_output("codex-cli 0.169.0\n"),
            Some(Version::new(0, 169, 0))
        );
        assert_eq!(
            parse_version_output("warning: x\ncodex-cli 0.94.0"),
            Some(Version::new(0, 94, 0))
        );
        assert_eq!(parse_version_output("node v20"), None);
    }

    #[test]
    fn run_with_timeout_reads_large_output_and_stops_a_hung_child() {
        let out = run_with_timeout(
            Command::new("sh").args(["-c", "head -c 300000 /dev/zero; echo done >&2"]),
            Duration::from_secs(20),
        )
        .expect("runs");
        assert_eq!(out.stdout.len(), 300_000);
        assert_eq!(out.stderr, b"done\n");
        let start = Instant::now();
        let err = run_with_timeout(
            Command::new("sh").args(["-c", "exec sleep 30"]),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert_eq!(err, RunError::Timeout(Duration::from_secs(1)));
        assert_eq!(err.to_string(), "no answer within 1 s");
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
