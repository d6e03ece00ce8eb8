//! Where Codex keeps its files: `--codex-home` > `$CODEX_HOME` > `~/.codex`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Failure, Kind};

pub const CONFIG: &str = "config.toml";
pub const PROFILE_FILE: &str = "ominigate.config.toml";
pub const STATE_FILE: &str = "ominigate-codex.state.json";
pub const BACKUP_SUFFIX: &str = ".ominigate.bak";
/// The copy of `config.toml` from before the first install that found
/// OminiGate blocks already there (uninstall removes them).
pub const PRE_INSTALL_SUFFIX: &str = ".pre-ominigate.bak";

/// The Codex home directory and the files this tool reads and writes in it.
#[derive(Debug, Clone)]
pub struct CodexHome {
    pub dir: PathBuf,
    /// How the directory was chosen, for messages.
    pub source: &'static str,
}

impl CodexHome {
    /// `flag` (`--codex-home`), else `env` (`$CODEX_HOME`, ignored when empty),
    /// else `<home>/.codex`. Relative paths are taken from `cwd`.
    pub fn resolve(
        flag: Option<&Path>,
        env: Option<OsString>,
        home: Option<PathBuf>,
        cwd: &Path,
    ) -> Result<CodexHome, Failure> {
        let (dir, source) = if let Some(dir) = flag {
            (dir.to_path_buf(), "--codex-home")
        } else if let Some(dir) = env.filter(|v| !v.is_empty()) {
            (PathBuf::from(dir), "$CODEX_HOME")
        } else if let Some(home) = home {
            (home.join(".codex"), "~/.codex")
        } else {
            return Err(Failure::new(
                Kind::Failure,
                "cannot find your home directory to locate ~/.codex",
            )
            .help("pass --codex-home DIR or set CODEX_HOME"));
        };
        let dir = if dir.is_absolute() {
            dir
        } else {
            cwd.join(dir)
        };
        Ok(CodexHome { dir, source })
    }

    /// From the process environment.
    pub fn from_env(flag: Option<&Path>) -> Result<CodexHome, Failure> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
        CodexHome::resolve(flag, std::env::var_os("CODEX_HOME"), home, &cwd)
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }

    pub fn profile_file(&self) -> PathBuf {
        self.dir.join(PROFILE_FILE)
    }

    /// The model catalogue the profile points Codex at.
    pub fn catalog_file(&self) -> PathBuf {
        self.dir.join(crate::catalog::FILE_NAME)
    }

    pub fn state_file(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// Whether commands printed for this home must name it: it is not the
    /// default `~/.codex` (chosen by `--codex-home`, or by a `$CODEX_HOME`
    /// that may have been set for one command only).
    fn named(&self) -> bool {
        self.source != "~/.codex"
    }

    /// This tool as the user runs it: with `--codex-home` when the home is
    /// not the default, so that every command printed works as printed.
    pub fn ominigate_codex(&self) -> String {
        match self.named() {
            true => format!("ominigate-codex --codex-home {}", shell_word(&self.dir)),
            false => "ominigate-codex".to_string(),
        }
    }

    /// Codex as the user runs it on this home: `codex`, with
    /// `CODEX_HOME=DIR` in front when the home is not the default (Codex
    /// reads `$CODEX_HOME`, else `~/.codex`, and has no `--codex-home`).
    pub fn codex(&self) -> String {
        match self.named() {
            true => format!("CODEX_HOME={} codex", shell_word(&self.dir)),
            false => "codex".to_string(),
        }
    }

    /// The command that runs the bridge `install --bridge` set up on `port`.
    pub fn bridge_command(&self, port: u16) -> String {
        let me = self.ominigate_codex();
        if port == crate::spec::BRIDGE_PORT {
            format!("{me} bridge")
        } else {
            format!("{me} bridge --listen 127.0.0.1:{port}")
        }
    }
}

/// `config.toml` → `config.toml.ominigate.bak`, beside the path as given.
pub fn backup_of(path: &Path) -> PathBuf {
    with_suffix(path, BACKUP_SUFFIX)
}

/// `config.toml` → `config.toml.pre-ominigate.bak`, beside the path as given.
pub fn pre_install_of(path: &Path) -> PathBuf {
    with_suffix(path, PRE_INSTALL_SUFFIX)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// A path as one word for a POSIX shell: as it is when that is safe,
/// else in single quotes.
pub fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_flag_then_env_then_home() {
        let cwd = Path::new("/work");
        let home = Some(PathBuf::from("/home/u"));
        let env = Some(OsString::from("/env/codex"));
        let r = |flag: Option<&Path>, env: Option<OsString>| {
            CodexHome::resolve(flag, env, home.clone(), cwd)
                .unwrap()
                .dir
        };
        assert_eq!(
            r(Some(Path::new("rel")), env.clone()),
            PathBuf::from("/work/rel")
        );
        assert_eq!(r(None, env.clone()), PathBuf::from("/env/codex"));
        assert_eq!(
            r(None, Some(OsString::new())),
            PathBuf::from("/home/u/.codex")
        );
        assert_eq!(r(None, None), PathBuf::from("/home/u/.codex"));
        assert!(CodexHome::resolve(None, None, None, cwd).is_err());
        assert_eq!(
            backup_of(Path::new("/h/config.toml")),
            PathBuf::from("/h/config.toml.ominigate.bak")
        );
    }

    #[test]
    fn commands_name_a_home_that_is_not_the_default() {
        let cwd = Path::new("/work");
        let home = Some(PathBuf::from("/home/u"));
        let flag = CodexHome::resolve(Some(Path::new("/a b")), None, home.clone(), cwd).unwrap();
        assert_eq!(flag.codex(), "CODEX_HOME='/a b' codex");
        assert_eq!(
            flag.ominigate_codex(),
            "ominigate-codex --codex-home '/a b'"
        );
        let env = CodexHome::resolve(None, Some("/e".into()), home.clone(), cwd).unwrap();
        assert_eq!(env.codex(), "CODEX_HOME=/e codex");
        assert_eq!(env.ominigate_codex(), "ominigate-codex --codex-home /e");
        let default = CodexHome::resolve(None, None, home, cwd).unwrap();
        assert_eq!(default.codex(), "codex");
        assert_eq!(default.ominigate_codex(), "ominigate-codex");
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_word(Path::new("/home/u/.codex")), "/home/u/.codex");
        assert_eq!(shell_word(Path::new("/a b/c")), "'/a b/c'");
        assert_eq!(shell_word(Path::new("/it's")), "'/it'\\''s'");
    }
}
