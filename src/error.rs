//! Errors the user sees, and the exit codes they map to.
//!
//! Everything below `main` returns `anyhow::Result`; a [`Failure`] inside it
//! carries the exit code and the `help:` line. Any other error is exit 1.

use std::fmt;

/// Named exit codes (documented in docs/usage.md).
pub mod exit {
    /// Done, or nothing to do.
    pub const OK: i32 = 0;
    /// An error, or `doctor` found a failing check.
    pub const FAILURE: i32 = 1;
    /// Bad command line (clap's own code).
    pub const USAGE: i32 = 2;
    /// A config file is not valid TOML or holds a wrong type; nothing written.
    pub const INVALID_CONFIG: i32 = 3;
    /// Refused to avoid losing something: the file changed on disk, another
    /// run holds the lock, or `--force` is needed. Nothing written.
    pub const REFUSED: i32 = 4;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Failure,
    Usage,
    InvalidConfig,
    Refused,
    /// Another program's exit status, passed on (`ominigate-codex codex`).
    Exit(u8),
}

impl Kind {
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Failure => exit::FAILURE,
            Kind::Usage => exit::USAGE,
            Kind::InvalidConfig => exit::INVALID_CONFIG,
            Kind::Refused => exit::REFUSED,
            Kind::Exit(code) => i32::from(code),
        }
    }
}

/// An error with the fix attached.
#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
    pub help: Option<String>,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// A failure whose report is already printed, so only the exit code is left
/// (`doctor` with a failing check, Codex's own status passed on). [`render`]
/// prints nothing for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silent(pub Kind);

impl fmt::Display for Silent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit status {}", self.0.exit_code())
    }
}

impl std::error::Error for Silent {}

/// Shorthands for the common kinds.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure::new(Kind::Usage, message)
}

pub fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(Kind::InvalidConfig, message)
}

pub fn refused(message: impl Into<String>) -> Failure {
    Failure::new(Kind::Refused, message)
}

/// Whether `err` comes from writing to a closed pipe (`… | head -1`): the
/// reader has all it wanted, so `main` exits quietly, as ripgrep does.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

const ERROR: anstyle::Style = anstyle::AnsiColor::Red.on_default().bold();
const HELP: anstyle::Style = anstyle::AnsiColor::Cyan.on_default().bold();

/// An error's text as it may be shown: secrets masked, unsafe characters
/// escaped (line breaks kept: parse errors quote the line below).
fn shown(text: &str) -> String {
    crate::shown::text(&crate::shown::redact(text)).into_owned()
}

/// The exit code and the text (`error: …`, `help: …`, styled; print it
/// through `anstream`, which drops the colour for pipes and `NO_COLOR`).
pub fn render(err: &anyhow::Error) -> (i32, String) {
    if let Some(Silent(kind)) = err.downcast_ref::<Silent>() {
        return (kind.exit_code(), String::new());
    }
    let mut out = format!("{ERROR}error:{ERROR:#} ");
    let code = match err.downcast_ref::<Failure>() {
        Some(f) => {
            out.push_str(&format!("{}\n", shown(&f.message)));
            if let Some(help) = &f.help {
                out.push_str(&format!("{HELP}help:{HELP:#} {}\n", shown(help)));
            }
            f.kind.exit_code()
        }
        None => {
            out.push_str(&format!("{}\n", shown(&err.to_string())));
            for cause in err.chain().skip(1) {
                out.push_str(&format!("  caused by: {}\n", shown(&cause.to_string())));
            }
            exit::FAILURE
        }
    };
    (code, out)
}

/// A bad command line as clap words it, styled, with any secret the user
/// pasted into an argument masked (clap quotes the offending value).
pub fn render_usage(err: &clap::Error) -> String {
    crate::shown::protect_defaults();
    crate::shown::redact(&err.render().ansi().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipes_are_recognised_through_context() {
        use anyhow::Context;
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(is_broken_pipe(&pipe().into()));
        let wrapped = Err::<(), _>(pipe()).context("writing the man page");
        assert!(is_broken_pipe(&wrapped.unwrap_err()));
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(!is_broken_pipe(&other.into()));
        assert!(!is_broken_pipe(&usage("bad").into()));
    }

    #[test]
    fn silent_failure_keeps_the_code_and_prints_nothing() {
        let err: anyhow::Error = Silent(Kind::Failure).into();
        assert_eq!(render(&err), (exit::FAILURE, String::new()));
        let err: anyhow::Error = Silent(Kind::Exit(130)).into();
        assert_eq!(render(&err), (130, String::new()));
        let err: anyhow::Error = usage("bad").help("fix it").into();
        let (code, text) = render(&err);
        assert_eq!(code, exit::USAGE);
        assert!(text.contains("error:") && text.contains("bad\n"), "{text}");
        assert!(
            text.contains("help:") && text.contains("fix it\n"),
            "{text}"
        );
    }
}
