//! One answer per question about the user's setup, for every command that
//! asks it: which variable holds the key and whether it is set ([`key`]),
//! where the `ominigate` profile is ([`profile_location`]), whether
//! OminiGate is installed ([`provider_file`], [`installed`]), which models
//! Codex uses with OminiGate ([`InUse`]). Pure: they read what [`Setup`]
//! read.

use std::path::{Path, PathBuf};

use super::files::{ConfigFile, Place};
use super::resolve::{Run, lookup, resolve};
use super::{Env, Setup};
use crate::shown;
use crate::spec;
use crate::toml::blocks::{PROFILE, PROVIDER};

/// The guide's example values, which people paste unchanged (OminiGate
/// answers 401 to them).
pub const PLACEHOLDERS: [&str; 2] = ["sk-omg-your-api-key", "sk-omg-…"];

/// What the key's variable holds. A value of white space only is
/// [`Key::Blank`]: not set, for every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    Unset,
    /// Set, but empty or white space only.
    Blank,
    /// Still the guide's placeholder (trimmed).
    Placeholder(&'a str),
    /// A key with white space or a line break around it (as set).
    Padded(&'a str),
    Set(&'a str),
}

impl<'a> Key<'a> {
    /// Whether a key is there at all (the placeholder and a padded one
    /// count; doctor says what is wrong with them).
    pub fn is_set(self) -> bool {
        self.value().is_some()
    }

    /// The key to send, without surrounding white space. Only ever sent to
    /// the gateway or masked; never printed.
    pub fn value(self) -> Option<&'a str> {
        match self {
            Key::Unset | Key::Blank => None,
            Key::Placeholder(v) | Key::Padded(v) | Key::Set(v) => Some(v.trim()),
        }
    }
}

/// The key in the variable `name` of `env`.
pub fn key<'a>(env: &'a Env, name: &str) -> Key<'a> {
    match env.get(name) {
        None => Key::Unset,
        Some(v) if v.trim().is_empty() => Key::Blank,
        Some(v) if PLACEHOLDERS.contains(&v.trim()) => Key::Placeholder(v),
        Some(v) if v.trim() != v => Key::Padded(v),
        Some(v) => Key::Set(v),
    }
}

/// The `env_key` the `--profile ominigate` run uses, if valid; else the
/// default.
pub fn env_key_name(s: &Setup) -> String {
    lookup(&s.profile_stack(), &PROVIDER.key("env_key"))
        .and_then(|(item, _)| item.as_str())
        .filter(|n| spec::check_env_key(n).is_ok())
        .unwrap_or(spec::ENV_KEY)
        .to_string()
}

/// The models Codex uses with OminiGate now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    /// `codex --profile ominigate`'s model, when that run uses OminiGate.
    pub profile: Option<String>,
    /// Plain `codex`'s model, when it uses OminiGate (`install --default`).
    pub default: Option<String>,
}

impl InUse {
    pub fn of(s: &Setup) -> InUse {
        let view = s.view();
        // Shown as they may be: a config value cannot drive the terminal.
        let model = |run| {
            let r = resolve(&view, run);
            match r.uses_ominigate() {
                true => r.model.map(|m| shown::value(&m.value).into_owned()),
                false => None,
            }
        };
        InUse {
            profile: model(Run::Profile),
            default: model(Run::Plain),
        }
    }

    pub fn tags(&self, id: &str) -> Vec<&'static str> {
        let mut tags = Vec::new();
        if self.profile.as_deref() == Some(id) {
            tags.push("profile");
        }
        if self.default.as_deref() == Some(id) {
            tags.push("default");
        }
        tags
    }
}

/// The key path of the provider block.
const PROVIDER_BLOCK: [&str; 2] = PROVIDER.keys();

/// The key path of the profile as a table in config.toml.
const PROFILE_TABLE: [&str; 2] = PROFILE.keys();

/// Where the `ominigate` profile is, for the Codex whose rules apply.
#[derive(Debug, Clone)]
pub enum ProfileLocation<'a> {
    /// Up to 0.133: `[profiles.ominigate]` (a table, dotted keys or an
    /// inline table) in the first config Codex reads that has it, at `at`.
    Table { file: &'a ConfigFile, at: Place },
    /// 0.134+: the profile file, loaded.
    File(&'a ConfigFile),
    /// 0.134+: a legacy `[profiles.ominigate]` in the user's config.toml,
    /// at `at`: Codex refuses `--profile ominigate` while it is there.
    /// `file`: the profile file, when it is there too and loads.
    Legacy {
        at: Place,
        file: Option<&'a ConfigFile>,
    },
    /// 0.134+: the profile file is there but does not load.
    Unloadable,
    /// Not where this Codex reads it.
    Missing,
}

/// `[profiles.ominigate]` in this file, as `path:line`.
pub fn legacy_table(f: &ConfigFile) -> Option<Place> {
    f.get(&PROFILE_TABLE)
        .is_some()
        .then(|| f.place(&PROFILE_TABLE))
}

/// Where this Codex finds the `ominigate` profile: a table in the configs
/// it merges (up to 0.133), or the profile file (0.134+), which a legacy
/// table left in config.toml stops.
pub fn profile_location(inp: &Setup) -> ProfileLocation<'_> {
    let view = inp.view();
    if !inp.file_era() {
        return match lookup(&view.base(), &PROFILE_TABLE) {
            Some((_, file)) => ProfileLocation::Table {
                file,
                at: file.place(&PROFILE_TABLE),
            },
            None => ProfileLocation::Missing,
        };
    }
    match (view.user.and_then(legacy_table), view.profile_file) {
        (Some(at), file) => ProfileLocation::Legacy { at, file },
        (None, Some(file)) => ProfileLocation::File(file),
        (None, None) if inp.profile.exists() => ProfileLocation::Unloadable,
        (None, None) => ProfileLocation::Missing,
    }
}

/// The file whose `[model_providers.ominigate]` `codex --profile ominigate`
/// uses: the first of its stack that has one. `None`: no provider.
pub fn provider_file(s: &Setup) -> Option<&ConfigFile> {
    s.profile_stack()
        .into_iter()
        .find(|f| f.get(&PROVIDER_BLOCK).is_some())
}

/// Whether OminiGate is installed where this Codex reads it: a provider
/// block, and a profile (a legacy table counts when the profile file is
/// there too; doctor says why Codex refuses it).
pub fn installed(s: &Setup) -> bool {
    let profile = match profile_location(s) {
        ProfileLocation::Table { .. } | ProfileLocation::File(_) => true,
        ProfileLocation::Legacy { file, .. } => file.is_some(),
        ProfileLocation::Unloadable | ProfileLocation::Missing => false,
    };
    provider_file(s).is_some() && profile
}

/// The model catalogue `codex --profile ominigate` loads: the first
/// `model_catalog_json` of its stack (the profile's table up to 0.133,
/// then the top level), its path taken from the directory of the file that
/// sets it, and where it is set. `None`: Codex uses its bundled list.
pub fn catalog(s: &Setup) -> Option<(PathBuf, Place)> {
    const KEY: [&str; 1] = ["model_catalog_json"];
    let table_key = [PROFILE_TABLE[0], PROFILE_TABLE[1], KEY[0]];
    let stack = s.profile_stack();
    let found = match s.file_era() {
        true => None,
        false => lookup(&stack, &table_key).map(|(item, file)| (item, file, &table_key[..])),
    };
    let (item, file, keys) =
        found.or_else(|| lookup(&stack, &KEY).map(|(item, file)| (item, file, &KEY[..])))?;
    let value = Path::new(item.as_str()?);
    let dir = file.path.parent().unwrap_or(Path::new(""));
    Some((dir.join(value), file.place(keys)))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::codex::binary::Codex;
    use crate::paths::CodexHome;
    use crate::setup::SYSTEM_CONFIG_ENV;

    /// The setup Codex `version` sees with `config` and the profile file
    /// (`None`: absent) in a fresh Codex home (kept alive by the `TempDir`).
    fn read(
        version: &str,
        config: Option<&str>,
        profile: Option<&str>,
    ) -> (tempfile::TempDir, Setup) {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = CodexHome {
            dir: dir.path().to_path_buf(),
            source: "test",
        };
        if let Some(text) = config {
            fs::write(home.config(), text).expect("config");
        }
        if let Some(text) = profile {
            fs::write(home.profile_file(), text).expect("profile file");
        }
        let codex = Codex::Flag(version.parse().expect("version"));
        let system = dir.path().join("no-system-config.toml");
        let system = system.to_str().expect("utf-8 path");
        let env = Env::from_pairs([(SYSTEM_CONFIG_ENV, system)]);
        let setup = Setup::read(home, codex, env, dir.path());
        (dir, setup)
    }

    #[test]
    fn the_catalogue_is_found_where_each_era_reads_it() {
        let table =
            "[profiles.ominigate]\nmodel_provider = \"x\"\nmodel_catalog_json = \"m.json\"\n";
        let (dir, s) = read("0.133.0", Some(table), None);
        let (path, at) = catalog(&s).expect("in the table");
        assert_eq!(path, dir.path().join("m.json"));
        assert_eq!(at.line, Some(3));
        // 0.134+ ignores the table; the profile file's top level counts.
        let (_, s) = read("0.171.0", Some(table), None);
        assert_eq!(catalog(&s), None);
        let file = "model_catalog_json = \"/abs/c.json\"\n";
        let (_, s) = read("0.171.0", None, Some(file));
        assert_eq!(catalog(&s).map(|c| c.0), Some(PathBuf::from("/abs/c.json")));
        // Up to 0.133 the profile file is not read; the top level is.
        let (_, s) = read("0.133.0", None, Some(file));
        assert_eq!(catalog(&s), None);
        let (dir, s) = read("0.133.0", Some("model_catalog_json = \"t.json\"\n"), None);
        assert_eq!(catalog(&s).map(|c| c.0), Some(dir.path().join("t.json")));
    }

    /// Where Codex `version` finds the profile (see [`read`]), in one line.
    fn located(version: &str, config: Option<&str>, profile: Option<&str>) -> String {
        let (_dir, inp) = read(version, config, profile);
        let name = |p: &std::path::Path| p.file_name().unwrap().to_string_lossy().into_owned();
        let place = |at: &Place| format!("{}:{}", name(&at.path), at.line.unwrap_or(0));
        match profile_location(&inp) {
            ProfileLocation::Table { file, at } => {
                format!("table {} {}", name(&file.path), place(&at))
            }
            ProfileLocation::File(f) => format!("file {}", name(&f.path)),
            ProfileLocation::Legacy { at, file } => {
                format!("legacy {} file {}", place(&at), file.is_some())
            }
            ProfileLocation::Unloadable => "unloadable".into(),
            ProfileLocation::Missing => "missing".into(),
        }
    }

    const TABLE: &str = "model = \"gpt-5\"\n\n[profiles.ominigate]\nmodel = \"m\"\n";
    const PROFILE: &str = "model = \"m\"\nmodel_provider = \"ominigate\"\n";

    #[test]
    fn up_to_0_133_the_profile_is_a_table_in_any_shape() {
        let table = "table config.toml config.toml:3";
        assert_eq!(located("0.133.0", Some(TABLE), None), table);
        // The profile file does not count before 0.134.
        assert_eq!(located("0.133.0", Some(TABLE), Some(PROFILE)), table);
        let dotted = "x = 1\nprofiles.ominigate.model = \"m\"\n";
        assert_eq!(
            located("0.94.0", Some(dotted), None),
            "table config.toml config.toml:2"
        );
        assert_eq!(located("0.133.0", None, Some(PROFILE)), "missing");
        assert_eq!(located("0.133.0", Some("model = \"m\"\n"), None), "missing");
    }

    #[test]
    fn from_0_134_it_is_the_file_and_a_legacy_table_stops_it() {
        assert_eq!(
            located("0.169.0", None, Some(PROFILE)),
            "file ominigate.config.toml"
        );
        assert_eq!(
            located("0.169.0", Some(TABLE), Some(PROFILE)),
            "legacy config.toml:3 file true"
        );
        assert_eq!(
            located("0.171.0", Some(TABLE), None),
            "legacy config.toml:3 file false"
        );
        assert_eq!(located("0.169.0", None, Some("model = \n")), "unloadable");
        assert_eq!(located("0.169.0", Some("model = \"m\"\n"), None), "missing");
    }

    #[test]
    fn installed_needs_the_provider_and_a_profile_where_this_codex_reads_it() {
        let provider = "[model_providers.ominigate]\nbase_url = \"https://x/v1\"\n";
        let with_table = format!("{provider}{TABLE}");
        let installed = |v, c: &str, p| installed(&read(v, Some(c), p).1);
        assert!(installed("0.133.0", &with_table, None));
        assert!(!installed("0.133.0", provider, Some(PROFILE)));
        assert!(installed("0.169.0", provider, Some(PROFILE)));
        assert!(!installed("0.169.0", &with_table, None));
        // A legacy table beside the file: installed (doctor says Codex refuses it).
        assert!(installed("0.169.0", &with_table, Some(PROFILE)));
        assert!(!installed("0.169.0", TABLE, Some(PROFILE)));
        let (_dir, s) = read("0.169.0", Some(&format!("x = 1\n{provider}")), None);
        assert_eq!(
            provider_file(&s).map(|f| f.place(&PROVIDER_BLOCK).to_string()),
            Some(format!("{}:2", s.home.config().display()))
        );
    }

    #[test]
    fn a_key_of_white_space_is_not_set_for_anyone() {
        let env = Env::from_pairs([
            ("EMPTY", ""),
            ("SPACES", "  \n"),
            ("GUIDE", " sk-omg-your-api-key"),
            ("PADDED", " sk-omg-real\n"),
            ("GOOD", "sk-omg-real"),
        ]);
        assert_eq!(key(&env, "NONE"), Key::Unset);
        assert_eq!(key(&env, "EMPTY"), Key::Blank);
        assert_eq!(key(&env, "SPACES"), Key::Blank);
        assert!(!key(&env, "SPACES").is_set());
        assert_eq!(key(&env, "GUIDE"), Key::Placeholder(" sk-omg-your-api-key"));
        assert_eq!(key(&env, "PADDED"), Key::Padded(" sk-omg-real\n"));
        assert_eq!(key(&env, "PADDED").value(), Some("sk-omg-real"));
        assert_eq!(key(&env, "GOOD").value(), Some("sk-omg-real"));
        assert!(key(&env, "GUIDE").is_set());
    }
}
