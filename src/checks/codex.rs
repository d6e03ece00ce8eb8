//! `codex.binary` and `codex.accepts_config`: which Codex the user has, and
//! whether that Codex itself loads the config.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::check::Check;
use crate::codex::binary::{self, Codex, PROMPT_INPUT_ARGS};
use crate::codex::messages::CHAT_REMOVED_MSG;
use crate::codex::version::{
    CHAT_REMOVED, Layout, NEWEST_KNOWN, PROFILE_FILES, PROMPT_INPUT, ProfileLayout, Version,
};
use crate::fs;
use crate::paths::CodexHome;
use crate::setup::diagnose;

pub const BINARY: &str = "codex.binary";
pub const ACCEPTS: &str = "codex.accepts_config";

/// What a release accepts, in one line.
pub fn era(v: Version) -> String {
    let layout = Layout::for_version(v);
    let profile = match layout.profile {
        ProfileLayout::Table => {
            "reads `--profile ominigate` from [profiles.ominigate] in config.toml"
        }
        ProfileLayout::File => "reads `--profile ominigate` from ominigate.config.toml",
    };
    let wire = if layout.chat_supported {
        "speaks chat completions and Responses"
    } else {
        "speaks only the Responses API (wire_api = \"chat\" was removed in 0.95.0)"
    };
    format!("Codex {v} {profile} and {wire}")
}

pub fn binary_check(codex: &Codex) -> Check {
    match codex {
        Codex::Flag(v) => Check::skip(
            BINARY,
            format!("Codex {v} given by --codex-version; no binary asked"),
        )
        .detail(era(*v)),
        Codex::Binary { path, answer: Ok(v) } => {
            let mut c = Check::ok(BINARY, format!("Codex {v} at {}", path.display())).detail(era(*v));
            if *v > NEWEST_KNOWN {
                c = c.detail(format!(
                    "newer than {NEWEST_KNOWN}, the newest release this tool was measured against; checking with the {PROFILE_FILES}+ rules"
                ));
            }
            c
        }
        Codex::Binary { path, answer: Err(problem) } => Check::fail(
            BINARY,
            format!("{} does not answer `--version` like Codex", path.display()),
        )
        .detail(problem.to_string())
        .detail(format!("checking with the rules of Codex {NEWEST_KNOWN}, the newest known"))
        .fix("reinstall Codex: `npm i -g @openai/codex`")
        .fix("or name the release: `ominigate-codex doctor --codex-version X.Y.Z` (see `codex --version`)"),
        Codex::Assumed => Check::warn(BINARY, "no `codex` found on PATH")
            .detail(format!(
                "checking with the rules of Codex {NEWEST_KNOWN}, the newest known: {}",
                era(NEWEST_KNOWN)
            ))
            .fix("install it: `npm i -g @openai/codex` (or `npm i -g @openai/codex@0.94.0`, the last release with chat completions)")
            .fix("or point doctor at it: `ominigate-codex doctor --codex /path/to/codex`"),
    }
}

/// Lines of Codex's stderr worth quoting: not the warning caused by running
/// it in a scratch home under the temporary directory, at most 20.
fn quoted(stderr: &str, scratch: &Path, home: &Path) -> Vec<String> {
    let text = stderr.replace(&scratch.display().to_string(), &home.display().to_string());
    text.lines()
        .take_while(|l| !l.starts_with("Stack backtrace:"))
        .filter(|l| !l.starts_with("WARNING: proceeding, even though we could not"))
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .map(|l| format!("  | {}", l.trim_end()))
        .collect()
}

pub fn accepts_config(codex: &Codex, home: &CodexHome, limit: Duration) -> Check {
    let (binary, v) = match codex {
        Codex::Flag(_) => {
            return Check::skip(ACCEPTS, "--codex-version given: no Codex binary to ask");
        }
        Codex::Binary {
            path,
            answer: Ok(v),
        } => (path, *v),
        _ => return Check::skip(ACCEPTS, "no working Codex binary to ask (see codex.binary)"),
    };
    if v < PROMPT_INPUT {
        return Check::skip(
            ACCEPTS,
            format!("Codex {v} has no `debug prompt-input` (it came in {PROMPT_INPUT})"),
        );
    }
    let scratch = match Scratch::copy_of(&home.dir) {
        Ok(s) => s,
        Err(e) => {
            return Check::fail(
                ACCEPTS,
                "could not prepare a scratch copy of the Codex home",
            )
            .detail(e.to_string())
            .fix("make the temporary directory writable (TMPDIR) and run doctor again");
        }
    };
    let shown = format!("`{} {}`", binary.display(), PROMPT_INPUT_ARGS.join(" "));
    let ran = binary::prompt_input(binary, &scratch.dir, limit);
    let scratch_dir = scratch.dir.clone();
    drop(scratch);
    let note = "run with CODEX_HOME set to a scratch copy of the config files, so Codex writes nothing in yours";
    match ran {
        Err(e) => Check::fail(ACCEPTS, format!("could not run {shown}: {e}"))
            .detail(note)
            .fix("check that Codex starts: `codex --version`; raise the limit with --timeout SECS"),
        Ok(out) if out.status.success() => Check::ok(
            ACCEPTS,
            format!("Codex {v} loads the config with --profile ominigate"),
        )
        .detail(format!("{shown} succeeded"))
        .detail(note),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let lines = quoted(&stderr, &scratch_dir, &home.dir);
            let mut c = Check::fail(
                ACCEPTS,
                format!(
                    "Codex {v} refuses the config ({shown} exited with {})",
                    out.status
                        .code()
                        .map_or_else(|| "a signal".to_string(), |c| c.to_string())
                ),
            )
            .detail("Codex says:")
            .details(lines)
            .detail(note);
            c = c.fixes(diagnose::fixes_for_codex_output(&stderr));
            if v >= CHAT_REMOVED && stderr.contains(CHAT_REMOVED_MSG) {
                c = c.fix("or keep chat completions by pinning Codex 0.94.0: `npm i -g @openai/codex@0.94.0`");
            }
            c
        }
    }
}

/// Why there is no [`Scratch`].
#[derive(Debug)]
enum ScratchError {
    Create(PathBuf, std::io::Error),
    NoName,
    List(PathBuf, std::io::Error),
    Copy(PathBuf, anyhow::Error),
}

impl fmt::Display for ScratchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScratchError::Create(dir, e) => write!(f, "cannot create {}: {e}", dir.display()),
            ScratchError::NoName => f.write_str("no free scratch directory name"),
            ScratchError::List(home, e) => write!(f, "cannot list {}: {e}", home.display()),
            ScratchError::Copy(path, e) => write!(f, "cannot copy {}: {e}", path.display()),
        }
    }
}

/// A private copy of the Codex home's top-level `*.toml` files and model catalogue in the
/// temporary directory, removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn copy_of(home: &Path) -> Result<Scratch, ScratchError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let mut made = None;
        for n in 0..100 {
            let dir = base.join(format!("ominigate-codex-doctor-{}-{n}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    made = Some(dir);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ScratchError::Create(dir, e)),
            }
        }
        let scratch = Scratch {
            dir: made.ok_or(ScratchError::NoName)?,
        };
        let entries = match std::fs::read_dir(home) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scratch),
            Err(e) => return Err(ScratchError::List(home.to_path_buf(), e)),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            // The config files, and the model catalogue the profile names
            // relative to them (Codex stops without it).
            if !name.to_string_lossy().ends_with(".toml") && name != crate::catalog::FILE_NAME {
                continue;
            }
            let path = entry.path();
            // Same safe read as everywhere: no FIFOs, no huge files.
            let Ok(snap) = fs::read(&path) else {
                continue;
            };
            if let Some(bytes) = snap.bytes {
                fs::write_atomic(&scratch.dir.join(&name), &bytes, 0o600, None)
                    .map_err(|e| ScratchError::Copy(path, e))?;
            }
        }
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::check::Status;
    use crate::codex::binary::{QueryError, RunError};

    #[test]
    fn binary_states() {
        let none = binary_check(&Codex::Assumed);
        assert_eq!(none.status, Status::Warn);
        let flag = binary_check(&Codex::Flag(Version::new(0, 94, 0)));
        assert_eq!(flag.status, Status::Skip);
        assert!(flag.details[0].contains("speaks chat completions"));
        let broken = binary_check(&Codex::Binary {
            path: PathBuf::from("/x/codex"),
            answer: Err(QueryError::Run(RunError::Start("boom".into()))),
        });
        assert_eq!(broken.status, Status::Fail);
        assert_eq!(broken.details[0], "boom");
        let newer = binary_check(&Codex::Binary {
            path: PathBuf::from("/x/codex"),
            answer: Ok(Version::new(0, 200, 0)),
        });
        assert_eq!(newer.status, Status::Ok);
        assert!(newer.details.iter().any(|d| d.contains("newer than")));
    }

    #[test]
    fn quoted_output_names_the_real_home_and_drops_scratch_warnings() {
        let lines = quoted(
            "WARNING: proceeding, even though we could not create PATH aliases: x\nError: /tmp/s/config.toml:5:12: bad\n\nStack backtrace:\n   0: <unknown>\n",
            Path::new("/tmp/s"),
            Path::new("/home/u/.codex"),
        );
        assert_eq!(lines, ["  | Error: /home/u/.codex/config.toml:5:12: bad"]);
    }
}
