//! One answer per question about the user's setup, for every command that
//! asks it. Pure: they read what [`Inputs`] read.

use crate::commands::doctor::files::{ConfigFile, Place};
use crate::commands::doctor::inputs::Inputs;
use crate::commands::doctor::resolution::lookup;
use crate::spec;

/// The key path of the profile as a table in config.toml.
const PROFILE_TABLE: [&str; 2] = ["profiles", spec::PROFILE_NAME];

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
pub fn profile_location(inp: &Inputs) -> ProfileLocation<'_> {
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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::commands::doctor::codex::CodexInfo;
    use crate::commands::doctor::inputs::{Env, SYSTEM_CONFIG_ENV};
    use crate::paths::CodexHome;

    /// Where Codex `version` finds the profile with `config` and the
    /// profile file (`None`: absent) in a fresh Codex home, in one line.
    fn located(version: &str, config: Option<&str>, profile: Option<&str>) -> String {
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
        let codex = CodexInfo {
            version: Some(version.parse().expect("version")),
            from_flag: true,
            ..CodexInfo::default()
        };
        let system = dir.path().join("no-system-config.toml");
        let system = system.to_str().expect("utf-8 path");
        let env = Env::from_pairs([(SYSTEM_CONFIG_ENV, system)]);
        let inp = Inputs::read(home, codex, env, dir.path());
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
}
