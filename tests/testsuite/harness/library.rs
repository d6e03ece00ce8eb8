//! The library driven in-process the way the binary drives it, for the
//! property tests: install and uninstall on files in memory.

use super::api::{
    FileWrite, Layout, RecordOrder, State, Version, commands, edit, install, uninstall,
};

/// Files as the library sees them: config text, profile text (`None`:
/// no such file), the state record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Files {
    pub config: Option<String>,
    pub profile: Option<String>,
    pub state: State,
}

impl Files {
    pub fn config(text: &str) -> Files {
        Files {
            config: Some(text.to_string()),
            ..Files::default()
        }
    }
}

/// Install options for era `version`, as the CLI builds them with no flags
/// but `--default` and `--model`.
pub fn options(version: &str, default: bool, model: Option<&str>) -> install::Options {
    let v: Version = version.parse().expect("version");
    let layout = Layout::for_version(v);
    install::Options {
        layout,
        wire_api: layout.default_wire_api(),
        base_url: None,
        env_key: None,
        model: model.map(str::to_string),
        default,
        no_default: false,
        route: install::Route::Direct,
    }
}

/// The library's view of `files`: nothing on disk.
fn loaded(files: &Files) -> edit::Files {
    let state = (!files.state.is_empty()).then(|| files.state.to_json());
    edit::Files::in_memory(
        files.config.as_deref(),
        files.profile.as_deref(),
        state.as_deref(),
    )
}

/// What the changes leave, as [`Files`].
fn after(changes: [FileWrite; 7]) -> Files {
    let mut out = Files::default();
    for c in changes {
        let text = c.after.map(|b| String::from_utf8(b).expect("utf-8"));
        match c.before.path.to_str() {
            Some("config.toml") => out.config = text,
            Some("ominigate.config.toml") => out.profile = text,
            Some("config.toml.pre-ominigate.bak") => {}
            // Backups: none in memory, so never changed here.
            Some(p) if p.ends_with(".ominigate.bak") => {}
            // Built by the commands (it needs Codex's templates), not by the edit.
            Some("ominigate-models.json") => {}
            _ => out.state = text.map_or_else(State::default, |t| State::parse(&t).expect("state")),
        }
    }
    out
}

/// `install` through the library, the way `commands::install::run` does it.
pub fn lib_install(files: &Files, opts: &install::Options) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    install::plan(&mut work.docs, opts).map_err(|e| e.to_string())?;
    Ok(after(work.changes(RecordOrder::First)))
}

/// `install --bridge --bridge-port PORT` through the library, the way
/// `commands::install::run` does it (the bridge's upstream is chosen from
/// the files read).
pub fn lib_install_bridge(
    files: &Files,
    opts: &install::Options,
    port: u16,
) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    let mut opts = opts.clone();
    opts.wire_api = "responses";
    opts.route = commands::install::bridge_route(&work.docs, opts.base_url.take().as_deref(), port)
        .map_err(|e| e.to_string())?;
    install::plan(&mut work.docs, &opts).map_err(|e| e.to_string())?;
    Ok(after(work.changes(RecordOrder::First)))
}

/// `uninstall` through the library, the way `commands::uninstall::run` does it.
pub fn lib_uninstall(files: &Files, force: bool) -> Result<Files, String> {
    let loaded = loaded(files);
    let mut work = loaded.open().map_err(|e| e.to_string())?;
    uninstall::plan(&mut work.docs, force, &[]).map_err(|e| format!("{e:?}"))?;
    Ok(after(work.changes(RecordOrder::Last)))
}

/// Number of property-test cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
