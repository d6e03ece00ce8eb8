//! The one read model of the user's setup: the config files in Codex's
//! precedence order, the environment and the Codex release, read once by
//! [`Setup::read`]. Every command asks its questions of a [`Setup`]: which
//! files Codex merges ([`resolve`]), whether the key is set and which
//! variable holds it, where the profile is and which model is in use
//! ([`facts`]), whether the provider points at a local bridge ([`bridge`]).
//! Codex's own messages about a setup, and their fixes, are in
//! [`diagnose`]. Reads only; never writes.

pub mod bridge;
pub mod diagnose;
pub mod facts;
pub mod files;
pub mod resolve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::Item;

use crate::codex::binary::Codex;
use crate::codex::version::{Layout, ProfileLayout};
use crate::edit::state::State;
use crate::paths::CodexHome;
use crate::shown::{self, Secrets};
use crate::spec;
use crate::toml::blocks::PROVIDER;
use files::{ConfigFile, Source};
use resolve::{View, lookup};

/// Where Codex reads its system-wide config; tests point it elsewhere.
pub const SYSTEM_CONFIG: &str = "/etc/codex/config.toml";
/// Hidden override of [`SYSTEM_CONFIG`] (for tests).
pub const SYSTEM_CONFIG_ENV: &str = "OMINIGATE_CODEX_SYSTEM_CONFIG";

/// The environment variables doctor reads, as text.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| {
                    Some((k.into_string().ok()?, v.to_string_lossy().into_owned()))
                })
                .collect(),
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// A `.codex/config.toml` in the current directory or one of its parents.
#[derive(Debug, Clone)]
pub struct Project {
    pub dir: PathBuf,
    /// Listed as `trust_level = "trusted"` in the user's `[projects]`.
    pub trusted: bool,
    pub source: Source,
}

#[derive(Debug, Clone)]
pub struct Setup {
    pub home: CodexHome,
    pub codex: Codex,
    /// `$CODEX_HOME/config.toml`.
    pub user: Source,
    /// `$CODEX_HOME/ominigate.config.toml`.
    pub profile: Source,
    /// `/etc/codex/config.toml`.
    pub system: Source,
    /// The other profiles in the Codex home, `NAME.config.toml` (0.134+
    /// reads one with `--profile NAME`), by name.
    pub profiles: Vec<Source>,
    /// From the filesystem root down to the current directory.
    pub projects: Vec<Project>,
    pub env: Env,
    /// What install recorded (`ominigate-codex.state.json`); `None` when
    /// there is none or it cannot be read (doctor never fails on it).
    pub state: Option<State>,
    /// Why the state file is there but could not be read, naming it.
    pub state_damaged: Option<String>,
}

impl Setup {
    /// Read the files for `home` with this process's environment, seen
    /// from its current directory: what every command reads.
    pub fn of_process(home: &CodexHome, codex: Codex) -> Setup {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Setup::read(home.clone(), codex, Env::from_process(), &cwd)
    }

    /// Values that must never be printed: the key (by the configured name
    /// and the default one) and OPENAI_API_KEY, as this environment has
    /// them. Registered with [`shown::protect`] too, so that every output
    /// path masks them; returned for what must be masked before it is cut
    /// (a server's message) or compared (model ids).
    pub fn secrets(&self) -> Secrets {
        let names = [
            facts::env_key_name(self),
            spec::ENV_KEY.to_string(),
            "OPENAI_API_KEY".to_string(),
        ];
        let values: Vec<&str> = names.iter().filter_map(|n| self.env.get(n)).collect();
        for v in &values {
            shown::protect(v);
        }
        Secrets::new(values)
    }

    /// Read the files for `home`, seen from `cwd`.
    pub fn read(home: CodexHome, codex: Codex, env: Env, cwd: &Path) -> Setup {
        let user = Source::read(&home.config());
        let profile = Source::read(&home.profile_file());
        let system = Source::read(Path::new(
            env.get(SYSTEM_CONFIG_ENV)
                .filter(|p| !p.is_empty())
                .unwrap_or(SYSTEM_CONFIG),
        ));
        let projects = find_projects(cwd, &home.dir, user.parsed());
        let profiles = find_profiles(&home.dir);
        let path = home.state_file();
        let read = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
            Ok(text) => State::parse(&text).map(Some).map_err(|e| e.to_string()),
        };
        let (state, state_damaged) = match read {
            Ok(state) => (state, None),
            Err(e) => (None, Some(format!("{} is damaged: {e}", path.display()))),
        };
        Setup {
            home,
            codex,
            user,
            profile,
            system,
            profiles,
            projects,
            env,
            state,
            state_damaged,
        }
    }

    /// The gateway `install --bridge` recorded for the bridge to forward
    /// to: `Ok(None)` when none was, `Err` (naming the file) when the
    /// state file cannot be read, so that nobody takes a damaged record for
    /// "no bridge" and forwards somewhere the user never chose.
    pub fn bridge_upstream(&self) -> Result<Option<&str>, &str> {
        match &self.state_damaged {
            Some(why) => Err(why),
            None => Ok(self
                .state
                .as_ref()
                .and_then(|s| s.bridge_upstream.as_deref())),
        }
    }

    /// The provider's `base_url` as `codex --profile ominigate` reads it.
    pub fn provider_base_url(&self) -> Option<&str> {
        lookup(&self.profile_stack(), &PROVIDER.key("base_url")).and_then(|(item, _)| item.as_str())
    }

    pub fn layout(&self) -> Layout {
        self.codex.layout()
    }

    pub fn file_era(&self) -> bool {
        self.layout().profile == ProfileLayout::File
    }

    /// The files Codex merges, for [`resolve`].
    /// Missing and invalid files are left out, and so are untrusted project
    /// configs and, before 0.134, the profile file.
    pub fn view(&self) -> View<'_> {
        View {
            layout: self.layout(),
            home: &self.home,
            user: self.user.parsed(),
            profile_file: self.profile.parsed().filter(|_| self.file_era()),
            projects: self
                .projects
                .iter()
                .rev()
                .filter(|p| p.trusted)
                .filter_map(|p| p.source.parsed())
                .collect(),
            system: self.system.parsed(),
        }
    }

    /// What `codex --profile ominigate` merges, highest first: on 0.134+
    /// the profile file, then trusted projects, user and system configs.
    pub fn profile_stack(&self) -> Vec<&ConfigFile> {
        let view = self.view();
        let mut stack: Vec<&ConfigFile> = view.profile_file.into_iter().collect();
        stack.extend(view.base());
        stack
    }

    /// Every file Codex would read, in precedence order, with the ones
    /// this Codex ignores left out (untrusted projects; the profile file
    /// before 0.134).
    pub fn sources(&self) -> Vec<&Source> {
        let mut all = Vec::new();
        if self.file_era() || self.profile.exists() {
            all.push(&self.profile);
        }
        all.extend(
            self.projects
                .iter()
                .rev()
                .filter(|p| p.trusted)
                .map(|p| &p.source),
        );
        all.push(&self.user);
        all.push(&self.system);
        all
    }

    /// Files that exist but cannot be used, each with why. Codex refuses
    /// to start with any of them (the profile file only matters with
    /// `--profile` on 0.134+).
    pub fn broken(&self) -> Vec<(&Source, &str)> {
        let mut list = Vec::new();
        if self.file_era() {
            list.extend(self.profile.invalid().map(|m| (&self.profile, m)));
        }
        for s in self
            .projects
            .iter()
            .filter(|p| p.trusted)
            .map(|p| &p.source)
            .chain([&self.user, &self.system])
        {
            list.extend(s.invalid().map(|m| (s, m)));
        }
        list
    }
}

/// Every setting that selects `provider` in the files this Codex reads
/// besides `config.toml` and the ominigate profile: the other profiles
/// (0.134+), trusted project configs and the system config; each as
/// ``file:line (`line`)``.
pub fn provider_references(inp: &Setup, provider: &str) -> Vec<String> {
    let mut files: Vec<&ConfigFile> = Vec::new();
    if inp.file_era() {
        files.extend(inp.profiles.iter().filter_map(Source::parsed));
    }
    let view = inp.view();
    files.extend(view.projects.iter().copied());
    files.extend(view.system);
    files
        .into_iter()
        .flat_map(|f| {
            crate::toml::blocks::references(f.root_table(), provider)
                .into_iter()
                .map(move |r| f.quote(&r.split('.').collect::<Vec<_>>()))
        })
        .collect()
}

/// `NAME.config.toml` in the Codex home, but `ominigate.config.toml`, by name.
fn find_profiles(home: &Path) -> Vec<Source> {
    let Ok(entries) = std::fs::read_dir(home) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() > ".config.toml".len()
                    && n.ends_with(".config.toml")
                    && n != crate::paths::PROFILE_FILE
            })
        })
        .collect();
    paths.sort();
    paths.iter().map(|p| Source::read(p)).collect()
}

/// The trust the user config gives `dir`: the entry of the closest of
/// `dir` and its parents listed under `[projects]`.
pub fn is_trusted(user: Option<&ConfigFile>, dir: &Path) -> bool {
    let Some(user) = user else { return false };
    for d in dir.ancestors() {
        let key = d.to_string_lossy();
        let entry = user.get(&["projects", &key]).and_then(Item::as_table_like);
        if let Some(entry) = entry {
            return entry.get("trust_level").and_then(Item::as_str) == Some("trusted");
        }
    }
    false
}

/// `.codex/config.toml` files from the filesystem root down to `cwd`,
/// except the Codex home itself (`~/.codex` is the user config).
pub fn find_projects(cwd: &Path, home: &Path, user: Option<&ConfigFile>) -> Vec<Project> {
    let home_real = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    let mut dirs: Vec<&Path> = cwd.ancestors().collect();
    dirs.reverse();
    dirs.into_iter()
        .filter_map(|dir| {
            let codex_dir = dir.join(".codex");
            let same_as_home = codex_dir == home
                || std::fs::canonicalize(&codex_dir).is_ok_and(|c| c == home_real);
            let path = codex_dir.join("config.toml");
            if same_as_home || !path.is_file() {
                return None;
            }
            Some(Project {
                dir: dir.to_path_buf(),
                trusted: is_trusted(user, dir),
                source: Source::read(&path),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_comes_from_the_closest_listed_directory() {
        let user = ConfigFile::parse(
            Path::new("/h/config.toml"),
            "[projects.\"/w\"]\ntrust_level = \"trusted\"\n[projects.\"/w/no\"]\ntrust_level = \"untrusted\"\n",
        )
        .unwrap();
        assert!(is_trusted(Some(&user), Path::new("/w")));
        assert!(is_trusted(Some(&user), Path::new("/w/a/b")));
        assert!(!is_trusted(Some(&user), Path::new("/w/no/x")));
        assert!(!is_trusted(Some(&user), Path::new("/elsewhere")));
        assert!(!is_trusted(None, Path::new("/w")));
    }
}
