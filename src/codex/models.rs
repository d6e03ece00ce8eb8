//! What the installed Codex says about models: its bundled list (the
//! templates of the catalogue's entries) and whether it loads a catalogue.
//! Both through `codex debug models`, run in a scratch `CODEX_HOME` so the
//! user's files are neither read nor written.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::binary::{RunError, run_with_timeout};
use crate::catalog::{Catalog, CatalogError};

/// How long Codex may take to list its models.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Why Codex gave no model list.
#[derive(Debug)]
pub enum ModelsError {
    Run(RunError),
    /// It exited with `code`; `said` is the last line of its stderr.
    Exit {
        code: Option<i32>,
        said: String,
    },
    /// It printed something that is not a model list.
    Output(CatalogError),
    /// The scratch home could not be made.
    Scratch(std::io::Error),
}

impl fmt::Display for ModelsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelsError::Run(e) => e.fmt(f),
            ModelsError::Exit { code, said } => {
                match code {
                    Some(c) => write!(f, "it exited with status {c}")?,
                    None => f.write_str("it was killed by a signal")?,
                }
                match said.is_empty() {
                    true => Ok(()),
                    false => write!(f, ": {said}"),
                }
            }
            ModelsError::Output(e) => e.fmt(f),
            ModelsError::Scratch(e) => write!(f, "cannot make a scratch directory: {e}"),
        }
    }
}

impl std::error::Error for ModelsError {}

/// `codex debug models --bundled`: the entries this Codex ships.
pub fn bundled(binary: &Path) -> Result<Catalog, ModelsError> {
    debug_models(binary, &["--bundled".into()])
}

/// `codex debug models -c model_catalog_json=FILE`: the catalogue as this
/// Codex loads it (the error Codex would stop with, if it does not).
pub fn load(binary: &Path, file: &Path) -> Result<Catalog, ModelsError> {
    let value = toml_edit::Value::from(file.to_string_lossy().as_ref()).to_string();
    debug_models(
        binary,
        &["-c".into(), format!("model_catalog_json={}", value.trim())],
    )
}

/// [`load`] of a catalogue's `text`, before it is written anywhere Codex
/// would read it (a scratch file, removed after).
pub fn load_text(binary: &Path, text: &str) -> Result<Catalog, ModelsError> {
    let scratch = Scratch::new().map_err(ModelsError::Scratch)?;
    let file = scratch.0.join(crate::catalog::FILE_NAME);
    std::fs::write(&file, text).map_err(ModelsError::Scratch)?;
    load(binary, &file)
}

fn debug_models(binary: &Path, args: &[String]) -> Result<Catalog, ModelsError> {
    let scratch = Scratch::new().map_err(ModelsError::Scratch)?;
    let mut cmd = Command::new(binary);
    cmd.args(["debug", "models"])
        .args(args)
        .env("CODEX_HOME", &scratch.0)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE");
    let out = run_with_timeout(&mut cmd, LIMIT).map_err(ModelsError::Run)?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = stderr
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or_default();
        return Err(ModelsError::Exit {
            code: out.status.code(),
            said: crate::shown::text(said).chars().take(300).collect(),
        });
    }
    Catalog::parse(&out.stdout, Path::new("`codex debug models`")).map_err(ModelsError::Output)
}

/// An empty directory of this process, removed with what Codex put in it.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("ominigate-codex-models-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> PathBuf {
        let p = dir.join("codex");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn temp() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "ominigate-codex-models-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn codex_output_and_failures_are_read() {
        let d = temp();
        let entry = r#"{"slug":"m","display_name":"M","supported_reasoning_levels":[],"shell_type":"default","visibility":"list","supported_in_api":true,"priority":1,"support_verbosity":false,"truncation_policy":{"mode":"bytes","limit":10},"experimental_supported_tools":[]}"#;
        let ok = script(
            &d,
            &format!(
                "[ \"$1 $2\" = 'debug models' ] || exit 9\n\
                 [ -d \"$CODEX_HOME\" ] || exit 8\n\
                 echo \"$3 $4\" > '{}/args'\n\
                 echo '{{\"models\":[{entry}]}}'",
                d.display()
            ),
        );
        let c = bundled(&ok).unwrap();
        assert_eq!(c.models[0].slug, "m");
        load(&ok, Path::new("/h/it's.json")).unwrap();
        let args = std::fs::read_to_string(d.join("args")).unwrap();
        assert_eq!(args.trim(), "-c model_catalog_json=\"/h/it's.json\"");
        let bad = script(
            &d,
            "echo 'Error: model catalog must contain at least one model' >&2\necho '   1: <unknown>' >&2\nexit 1",
        );
        let e = load(&bad, Path::new("/x")).unwrap_err().to_string();
        assert_eq!(
            e,
            "it exited with status 1: Error: model catalog must contain at least one model"
        );
        let junk = script(&d, "echo hello");
        assert!(matches!(bundled(&junk), Err(ModelsError::Output(_))));
        let _ = std::fs::remove_dir_all(&d);
    }
}
