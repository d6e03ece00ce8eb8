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
