//! The Codex binary: finding it, asking its version, running it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::version::{Layout, NEWEST_KNOWN, Version};

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

/// How the version was found, for the user and for `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--codex-version`.
    Flag,
    /// `<path> --version`.
    Binary(PathBuf),
    /// No Codex found: the newest known layout is assumed.
    Assumed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub version: Version,
    pub source: Source,
}

impl Detected {
    pub fn layout(&self) -> Layout {
        Layout::for_version(self.version)
    }

    /// The line install starts with: which Codex it writes for.
    pub fn headline(&self) -> String {
        match self.source {
            Source::Assumed => format!(
                "No Codex found on PATH; writing the layout for the newest Codex known ({})",
                self.version
            ),
            _ => format!("Writing for {}", self.describe()),
        }
    }

    pub fn describe(&self) -> String {
        match &self.source {
            Source::Flag => format!("Codex {} (from --codex-version)", self.version),
            Source::Binary(p) => {
                format!("Codex {} (from `{} --version`)", self.version, p.display())
            }
            Source::Assumed => format!(
                "no Codex found on PATH; assuming the newest known layout (Codex {})",
                self.version
            ),
        }
    }
}

/// Find `codex` on `path_var` (the value of `$PATH`).
pub fn find_on_path(path_var: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .map(|dir| dir.join("codex"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Run a command with a time limit; its output, or why it could not be had.
///
/// stdout and stderr are read while the child runs, so a child that prints
/// more than a pipe holds does not stall until the limit. On timeout the
/// child is killed and the readers are left to finish on their own (a
/// grandchild may still hold the pipes open).
pub fn run_with_timeout(
    cmd: &mut Command,
    limit: Duration,
) -> Result<std::process::Output, RunError> {
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
                return Ok(std::process::Output {
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

/// Why [`run_with_timeout`] has no output: the OS's words for a failed
/// start or wait, or the time limit.
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

/// A Codex binary that did not say its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectError {
    pub binary: PathBuf,
    pub reason: QueryError,
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.binary.display(), self.reason)
    }
}

/// The version to write for: `--codex-version`, else `--codex PATH --version`,
/// else `codex` on `$PATH`, else the newest known layout.
pub fn detect(
    flag_version: Option<Version>,
    flag_binary: Option<&Path>,
    path_var: Option<&std::ffi::OsStr>,
) -> Result<Detected, DetectError> {
    if let Some(version) = flag_version {
        return Ok(Detected {
            version,
            source: Source::Flag,
        });
    }
    let binary = match flag_binary {
        Some(p) => Some(p.to_path_buf()),
        None => find_on_path(path_var),
    };
    match binary {
        Some(path) => match query_binary(&path) {
            Ok(version) => Ok(Detected {
                version,
                source: Source::Binary(path),
            }),
            Err(reason) => Err(DetectError {
                binary: path,
                reason,
            }),
        },
        None => Ok(Detected {
            version: NEWEST_KNOWN,
            source: Source::Assumed,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
