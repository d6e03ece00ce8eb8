//! What the user reads: unified diffs for `--dry-run`, and install's next steps.

use std::fmt::Display;
use std::io::{self, Write};
use std::path::Path;

use similar::TextDiff;

use crate::shown;

/// The version of every `--json` report (`doctor`, `status`, `models`):
/// bumped when a field changes meaning or goes away, never for a new field.
pub const SCHEMA_VERSION: u32 = 1;

/// How much to say: `--quiet`, default, `--verbose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Quiet,
    Normal,
    Verbose,
}

/// Where a command writes what it has to say. The result (a diff, a
/// report, JSON, a script) always goes out; progress lines are dropped by
/// `--quiet`; details are shown only with `--verbose`.
///
/// Everything goes out through [`shown`], line by line: secrets masked and
/// unsafe characters escaped, whatever the command put in it.
pub struct Ui<'a> {
    out: Sink<'a>,
    pub level: Level,
}

impl<'a> Ui<'a> {
    pub fn new(out: &'a mut dyn Write, level: Level) -> Self {
        Ui {
            out: Sink {
                out,
                pending: Vec::new(),
                escape: true,
            },
            level,
        }
    }

    /// The command's result: always written.
    pub fn out(&mut self) -> &mut dyn Write {
        self.out.set_escape(true);
        &mut self.out
    }

    /// The command's result with the styles (colours) the command put in
    /// it: secrets are still masked, but control characters are the
    /// command's to escape (doctor escapes every value it shows).
    pub fn out_styled(&mut self) -> &mut dyn Write {
        self.out.set_escape(false);
        &mut self.out
    }

    /// A progress line: not with `--quiet`.
    pub fn info(&mut self, line: impl Display) -> io::Result<()> {
        self.line(Level::Normal, line)
    }

    /// A detail: only with `--verbose`.
    pub fn detail(&mut self, line: impl Display) -> io::Result<()> {
        self.line(Level::Verbose, line)
    }

    /// Write out what is left of an unfinished line and flush. Errors say
    /// they are stdout's.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// A progress line or detail. A closed stdout (`… | head -1`) does not
    /// stop the command half-way: only the result's own writes report it.
    fn line(&mut self, at: Level, line: impl Display) -> io::Result<()> {
        if self.level >= at {
            match writeln!(self.out(), "{line}") {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        Ok(())
    }
}

/// stdout behind [`Ui`]: whole lines, passed through [`shown`].
struct Sink<'a> {
    out: &'a mut dyn Write,
    /// An unfinished line: a secret may continue in the next write.
    pending: Vec<u8>,
    escape: bool,
}

impl Sink<'_> {
    fn set_escape(&mut self, escape: bool) {
        if self.escape != escape {
            let _ = self.emit_pending();
            self.escape = escape;
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        let text = String::from_utf8_lossy(bytes);
        let redacted = shown::redact(&text);
        let safe = match self.escape {
            true => shown::text(&redacted),
            false => redacted,
        };
        self.out.write_all(safe.as_bytes()).map_err(stdout_error)
    }

    fn emit_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        self.emit(&pending)
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let lines = std::mem::replace(&mut self.pending, rest);
            self.emit(&lines)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit_pending()?;
        self.out.flush().map_err(stdout_error)
    }
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        let _ = self.emit_pending();
    }
}

/// An error writing stdout that says so (`/dev/full`, a closed pipe); the
/// kind is kept, so a closed pipe is still recognised as one.
fn stdout_error(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot write to stdout: {e}"))
}

const WARNING: anstyle::Style = anstyle::AnsiColor::Yellow.on_default().bold();

/// `warning: …` on stderr, styled like `error:` (no colour for pipes and
/// `NO_COLOR`). Shown with `--quiet` too, as cargo does.
pub fn warning(text: &str) {
    let text = shown::redact(text);
    let text = shown::text(&text);
    let _ = writeln!(anstream::stderr(), "{WARNING}warning:{WARNING:#} {text}");
}

/// A unified diff of one file, `/dev/null` on the missing side.
pub fn unified_diff(path: &Path, before: Option<&[u8]>, after: Option<&[u8]>) -> String {
    let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
    let (old, new) = (text(before), text(after));
    let shown = path.display().to_string();
    let label = |side: &Option<String>| match side {
        Some(_) => shown.clone(),
        None => "/dev/null".to_string(),
    };
    let (old_label, new_label) = (label(&old), label(&new));
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&old_label, &new_label)
        .missing_newline_hint(true)
        .to_string()
}

/// The user's shell startup file and the line that sets an env var there.
pub fn shell_setup(shell: Option<&str>, env_key: &str) -> (String, String) {
    let name = shell
        .and_then(|s| Path::new(s).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("sh");
    match name {
        "zsh" => ("~/.zshrc".into(), format!("export {env_key}=\"sk-omg-…\"")),
        "bash" => ("~/.bashrc".into(), format!("export {env_key}=\"sk-omg-…\"")),
        "fish" => (
            "~/.config/fish/config.fish".into(),
            format!("set -gx {env_key} \"sk-omg-…\""),
        ),
        _ => (
            "~/.profile".into(),
            format!("export {env_key}=\"sk-omg-…\""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_of_a_new_file_and_of_a_change() {
        let d = unified_diff(Path::new("x.toml"), None, Some(b"a = 1\n"));
        assert!(d.starts_with("--- /dev/null\n+++ x.toml\n"), "{d}");
        assert!(d.contains("+a = 1"));
        let d = unified_diff(
            Path::new("x.toml"),
            Some(b"a = 1\nb = 2\n"),
            Some(b"a = 1\n"),
        );
        assert!(d.contains("-b = 2"), "{d}");
    }

    /// A stdout whose reader went away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_stops_results_but_not_progress() {
        let mut pipe = ClosedPipe;
        let mut ui = Ui::new(&mut pipe, Level::Verbose);
        assert!(ui.info("progress").is_ok());
        assert!(ui.detail("detail").is_ok());
        let err = writeln!(ui.out(), "result").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn shell_files() {
        assert_eq!(shell_setup(Some("/bin/zsh"), "K").0, "~/.zshrc");
        assert!(
            shell_setup(Some("/usr/bin/fish"), "K")
                .1
                .starts_with("set -gx K")
        );
        assert_eq!(shell_setup(None, "K").0, "~/.profile");
    }
}
