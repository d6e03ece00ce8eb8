//! `ominigate-codex install`: write what the user's Codex accepts.

use std::time::Duration;

use anyhow::Result;
use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::doctor;
use super::{Docs, Files, RecordOrder, finish};
use crate::bridge::launch::service_manager;
use crate::cli::{InstallArgs, WireApi};
use crate::codex::binary::Codex;
use crate::codex::messages::CODEX_CHAT_ERROR;
use crate::codex::version::{Layout, ProfileLayout};
use crate::error::{Failure, refused, usage};
use crate::fs;
use crate::paths::{CodexHome, PROFILE_FILE};
use crate::report::{Ui, shell_setup, warning};
use crate::setup::Env;
use crate::setup::facts;
use crate::spec::{self, bad_flag};
use crate::state::{Record, State};
use crate::toml::blocks::{self, BlockPath, Change, EditError, PROFILE, PROVIDER};

/// The comment above the blocks install creates; also how a block is
/// recognised as ours when the state file is missing.
pub const PROVIDER_COMMENT: &str =
    "OminiGate provider, added by ominigate-codex (`ominigate-codex uninstall` removes it)";
pub const PROFILE_COMMENT: &str =
    "OminiGate profile: `codex --profile ominigate` (added by ominigate-codex)";
pub const PROFILE_FILE_COMMENT: &str =
    "OminiGate profile for Codex 0.134+: `codex --profile ominigate` (written by ominigate-codex)";

/// The keys install writes in `[model_providers.ominigate]` (see
/// [`provider_entries`]) and in the profile; anything else in those blocks
/// is the user's.
pub const PROVIDER_KEYS: [&str; 8] = [
    "name",
    "base_url",
    "env_key",
    "wire_api",
    "requires_openai_auth",
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
];
pub const PROFILE_KEYS: [&str; 2] = ["model", "model_provider"];

/// Where the provider sends Codex's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// As installed (`use MODEL`): a bridge stays a bridge.
    Keep,
    /// Straight to the gateway (`install`): a bridge `install --bridge` set
    /// up is switched back to the upstream it recorded, and the record goes.
    Direct,
    /// Through the bridge on 127.0.0.1:`port`, which forwards to
    /// `upstream` (`install --bridge`; see [`bridge_route`]).
    Bridge { port: u16, upstream: String },
}

/// What the user asked for, validated.
#[derive(Debug, Clone)]
pub struct Options {
    pub layout: Layout,
    pub wire_api: &'static str,
    pub base_url: Option<String>,
    pub env_key: Option<String>,
    pub model: Option<String>,
    /// `--default`: make OminiGate what plain `codex` uses.
    pub default: bool,
    /// `--no-default`: undo `--default`.
    pub no_default: bool,
    pub route: Route,
}

/// What happened, for the report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub notes: Vec<String>,
    pub model: String,
    pub env_key: String,
    pub base_url: String,
    /// What the bridge forwards to, with `--bridge`.
    pub upstream: Option<String>,
}

/// Where the profile model comes from: the flag, else what the user has.
fn profile_model(opts: &Options, existing: &[Option<&str>]) -> String {
    opts.model
        .clone()
        .or_else(|| existing.iter().flatten().next().map(|m| m.to_string()))
        .unwrap_or_else(|| spec::MODEL.to_string())
}

/// The provider keys to write: flags win, then valid existing values, then
/// the guide's; `wire_api` and `requires_openai_auth` are always set.
fn provider_entries(
    existing: Option<&dyn TableLike>,
    opts: &Options,
    base_url: Option<Value>,
) -> Vec<(&'static str, Value)> {
    let get = |k| existing.and_then(|t| blocks::get_value(t, k));
    let keep_str = |k, valid: &dyn Fn(&str) -> bool| {
        get(k)
            .and_then(Value::as_str)
            .filter(|s| valid(s))
            .map(str::to_string)
    };
    let keep_int = |k, default: i64| {
        get(k)
            .and_then(Value::as_integer)
            .filter(|n| *n >= 0)
            .unwrap_or(default)
    };
    let base_url = base_url.or_else(|| {
        opts.base_url
            .clone()
            .or_else(|| keep_str("base_url", &|s| spec::parse_base_url(s).is_ok()))
            .map(Value::from)
    });
    let env_key = opts
        .env_key
        .clone()
        .or_else(|| keep_str("env_key", &|s| spec::check_env_key(s).is_ok()));
    let name =
        keep_str("name", &|s| !s.trim().is_empty()).unwrap_or_else(|| spec::PROVIDER_NAME.into());
    vec![
        ("name", Value::from(name)),
        (
            "base_url",
            base_url.unwrap_or_else(|| Value::from(spec::BASE_URL)),
        ),
        (
            "env_key",
            Value::from(env_key.unwrap_or_else(|| spec::ENV_KEY.into())),
        ),
        ("wire_api", Value::from(opts.wire_api)),
        ("requires_openai_auth", Value::from(false)),
        (
            "request_max_retries",
            Value::from(keep_int("request_max_retries", spec::REQUEST_MAX_RETRIES)),
        ),
        (
            "stream_max_retries",
            Value::from(keep_int("stream_max_retries", spec::STREAM_MAX_RETRIES)),
        ),
        (
            "stream_idle_timeout_ms",
            Value::from(keep_int(
                "stream_idle_timeout_ms",
                spec::STREAM_IDLE_TIMEOUT_MS,
            )),
        ),
    ]
}

/// The `base_url` the route decides, where it decides one: the bridge's
/// URL, or (switching back to direct from the bridge at `current`) the
/// recorded upstream, in the text it had before `install --bridge`
/// replaced it when that is the same URL, so that going back and forth
/// changes no byte. A `current` base_url that is no longer the bridge (the
/// user pointed it elsewhere since) is the user's and stays.
fn routed_base_url(docs: &Docs, opts: &Options, current: Option<&str>) -> Option<Value> {
    match &opts.route {
        Route::Keep => None,
        Route::Bridge { port, .. } => Some(Value::from(spec::bridge_url(*port))),
        Route::Direct if opts.base_url.is_some() => None,
        Route::Direct if current.is_some_and(|u| spec::loopback_port(u).is_none()) => None,
        Route::Direct => {
            let upstream = docs.state.bridge_upstream.as_deref()?;
            let earlier = match &docs.state.provider {
                Some(Record::Updated { previous }) => previous.get("base_url").cloned().flatten(),
                _ => None,
            };
            let earlier = earlier
                .and_then(|text| text.parse::<Value>().ok())
                .filter(|v| v.as_str() == Some(upstream))
                .map(|mut v| {
                    v.decor_mut().clear();
                    v
                });
            Some(earlier.unwrap_or_else(|| Value::from(upstream)))
        }
    }
}

fn str_of<'a>(t: Option<&'a dyn TableLike>, key: &str) -> Option<&'a str> {
    t.and_then(|t| blocks::get_str(t, key))
}

/// Edit `docs` for `opts`. Pure: no IO.
pub fn plan(docs: &mut Docs, opts: &Options) -> Result<Outcome, EditError> {
    let mut out = Outcome::default();
    docs.keep_pre_install = docs.state.is_empty() && had_ominigate(&docs.config)?;

    let existing = blocks::get_block(&docs.config, PROVIDER)?;
    // Replacing a pasted key would copy it into the record and the diff.
    let env_key = existing.and_then(|t| blocks::get_str(t, "env_key"));
    if env_key.is_some_and(|k| spec::check_env_key(k).is_err()) {
        return Err(EditError::NotAVariableName {
            key: PROVIDER.to_string() + ".env_key",
        });
    }
    let current = existing.and_then(|t| blocks::get_str(t, "base_url"));
    let entries = provider_entries(existing, opts, routed_base_url(docs, opts, current));
    out.base_url = entries[1].1.as_str().unwrap_or_default().to_string();
    out.env_key = entries[2].1.as_str().unwrap_or_default().to_string();
    // Without a record (the state file lost, config.toml synced from another
    // machine), a block with install's comment is still install's.
    let recorded = record_or_marker(
        &docs.config,
        PROVIDER,
        PROVIDER_COMMENT,
        &docs.state.provider,
    );
    let change = blocks::ensure_block(&mut docs.config, PROVIDER, &entries, PROVIDER_COMMENT)?;
    note_change(
        &mut out,
        "[model_providers.ominigate] in config.toml",
        &change,
    );
    docs.state.provider = Record::merge(recorded, change);
    match &opts.route {
        Route::Keep => {}
        Route::Direct => {
            if docs.state.bridge_upstream.take().is_some() {
                out.notes.push(format!(
                    "switched back from the bridge: Codex calls {} directly",
                    spec::redact_url(&out.base_url)
                ));
            }
        }
        Route::Bridge { upstream, .. } => {
            if docs.state.bridge_upstream.as_ref() != Some(upstream) {
                out.notes.push(format!(
                    "Codex calls the bridge at {}, which forwards to {}",
                    out.base_url,
                    spec::redact_url(upstream)
                ));
            }
            docs.state.bridge_upstream = Some(upstream.clone());
            out.upstream = Some(upstream.clone());
        }
    }

    let table_model =
        str_of(blocks::get_block(&docs.config, PROFILE)?, "model").map(str::to_string);
    let file_model = docs
        .profile
        .as_ref()
        .and_then(|d| blocks::get_str(d.as_table(), "model"))
        .map(str::to_string);
    match opts.layout.profile {
        ProfileLayout::Table => {
            let model = profile_model(opts, &[table_model.as_deref(), file_model.as_deref()]);
            if docs
                .profile
                .as_ref()
                .is_some_and(|d| profile_file_is_ours(d, &docs.state))
            {
                docs.profile = None;
                docs.state.profile_file = None;
                out.notes.push(format!(
                    "removed {PROFILE_FILE}: this Codex reads the profile from config.toml"
                ));
            }
            let entries = [
                ("model", Value::from(model.as_str())),
                ("model_provider", Value::from(spec::PROVIDER_ID)),
            ];
            let recorded = record_or_marker(
                &docs.config,
                PROFILE,
                PROFILE_COMMENT,
                &docs.state.profile_table,
            );
            let change =
                blocks::ensure_block(&mut docs.config, PROFILE, &entries, PROFILE_COMMENT)?;
            note_change(&mut out, "[profiles.ominigate] in config.toml", &change);
            docs.state.profile_table = Record::merge(recorded, change);
            out.model = model;
        }
        ProfileLayout::File => {
            let model = profile_model(opts, &[file_model.as_deref(), table_model.as_deref()]);
            let recorded = match docs.state.profile_file.take() {
                None if docs
                    .profile
                    .as_ref()
                    .is_some_and(|d| profile_file_is_ours(d, &docs.state)) =>
                {
                    Some(Record::Created)
                }
                recorded => recorded,
            };
            let (above, carried) = migrate_legacy(docs, &mut out)?;
            let created = docs.profile.is_none();
            let doc = docs.profile.get_or_insert_with(DocumentMut::new);
            blocks::check_shapes(doc)?;
            // The legacy table's keys, comments and all. The file's own
            // value of a key wins; the table's line comes along commented
            // out, so that nothing the user typed is left only in a backup.
            let mut previous = blocks::Previous::new();
            let mut above = above;
            for (key, item) in carried {
                if doc.as_table().contains_key(key.get()) {
                    above.push_str(&commented_out(&key, &item));
                } else {
                    previous.insert(key.get().to_string(), None);
                    doc.as_table_mut().insert_formatted(&key, item);
                }
            }
            let entries = [
                ("model", Value::from(model.as_str())),
                ("model_provider", Value::from(spec::PROVIDER_ID)),
            ];
            for (k, v) in blocks::ensure_keys(doc.as_table_mut(), &entries) {
                previous.entry(k).or_insert(v);
            }
            let header = match created {
                true => format!("# {PROFILE_FILE_COMMENT}\n{above}"),
                false => above,
            };
            if let Some(mut first) = doc.as_table_mut().iter_mut().next().map(|(k, _)| k) {
                let own = first
                    .leaf_decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or_default()
                    .to_string();
                first.leaf_decor_mut().set_prefix(format!("{header}{own}"));
            }
            let change = match (created, previous.is_empty()) {
                (true, _) => Change::Created,
                (false, true) => Change::Unchanged,
                (false, false) => Change::Updated(previous),
            };
            note_change(&mut out, PROFILE_FILE, &change);
            docs.state.profile_file = Record::merge(recorded, change);
            out.model = model;
        }
    }

    let still_default = docs.state.defaults.is_some()
        && blocks::get_str(docs.config.as_table(), "model_provider") == Some(spec::PROVIDER_ID);
    if opts.no_default {
        if let Some(note) = docs.restore_defaults()? {
            out.notes
                .push(format!("plain `codex` no longer uses OminiGate: {note}"));
        }
    } else if opts.default || still_default {
        let previous = blocks::ensure_keys(
            docs.config.as_table_mut(),
            &[
                ("model_provider", Value::from(spec::PROVIDER_ID)),
                ("model", Value::from(out.model.as_str())),
            ],
        );
        if !previous.is_empty() {
            out.notes.push(
                "plain `codex` now uses OminiGate (top-level model_provider and model)".into(),
            );
        }
        let mut kept = docs.state.defaults.take().unwrap_or_default();
        for (k, v) in previous {
            kept.entry(k).or_insert(v);
        }
        docs.state.defaults = Some(kept);
    }
    Ok(out)
}

/// Codex 0.134+ refuses `[profiles.ominigate]` and `profile = "ominigate"`
/// in config.toml: remove them, returning the legacy block's comments that
/// belonged to its header (as lines) and its items, decor and all, for the
/// profile file.
fn migrate_legacy(docs: &mut Docs, out: &mut Outcome) -> Result<blocks::Moved, EditError> {
    let moved = blocks::block_items(&docs.config, PROFILE, PROFILE_COMMENT)?;
    if moved.is_some() {
        blocks::drop_block(&mut docs.config, PROFILE, &[], PROFILE_COMMENT)?;
        docs.state.profile_table = None;
        out.notes.push(format!(
            "moved [profiles.ominigate] out of config.toml into {PROFILE_FILE}, comments and all: Codex 0.134+ refuses to start with it"
        ));
    }
    if blocks::get_str(docs.config.as_table(), "profile") == Some(spec::PROFILE_NAME) {
        blocks::drop_root_key(&mut docs.config, "profile");
        out.notes.push(
            "removed top-level `profile = \"ominigate\"`: Codex 0.134+ refuses every run with it (use --default to make OminiGate the default)"
                .into(),
        );
    }
    Ok(moved.unwrap_or_default())
}

/// A legacy profile line whose key the profile file already sets, as
/// comment lines: its own comments, then `# key = value # comment`.
fn commented_out(key: &toml_edit::Key, item: &Item) -> String {
    let own = key
        .leaf_decor()
        .prefix()
        .and_then(|p| p.as_str())
        .unwrap_or_default();
    let mut text: String = own
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    text.push_str("# (from [profiles.ominigate] in config.toml; this file's value is used)\n");
    let line = format!("{} = {}", key.display_repr(), item.to_string().trim());
    for l in line.lines() {
        text.push_str(&format!("# {l}\n"));
    }
    text
}

/// Whether config.toml holds OminiGate that install did not write (no
/// marker): uninstall removes it with install's, so the first install
/// keeps a copy of the file as it was.
fn had_ominigate(doc: &DocumentMut) -> Result<bool, EditError> {
    let root = doc.as_table();
    let adopted = |at, comment| -> Result<bool, EditError> {
        Ok(blocks::get_block(doc, at)?.is_some()
            && record_or_marker(doc, at, comment, &None).is_none())
    };
    Ok(adopted(PROVIDER, PROVIDER_COMMENT)?
        || adopted(PROFILE, PROFILE_COMMENT)?
        || blocks::get_str(root, "profile") == Some(spec::PROFILE_NAME)
        || blocks::get_str(root, "model_provider") == Some(spec::PROVIDER_ID))
}

/// The block's record, or `Created` if it carries install's comment.
pub fn record_or_marker(
    doc: &DocumentMut,
    at: BlockPath,
    comment: &str,
    record: &Option<Record>,
) -> Option<Record> {
    if record.is_some() {
        return record.clone();
    }
    let root = doc.as_table();
    let marked = root
        .get(at.parent)
        .and_then(Item::as_table_like)
        .and_then(|p| p.get(at.name))
        .and_then(Item::as_table)
        .and_then(|t| t.decor().prefix())
        .and_then(|p| p.as_str())
        .is_some_and(|p| p.ends_with(&format!("# {comment}\n")));
    marked.then_some(Record::Created)
}

/// A profile file install wrote (by the record, or by its header comment).
pub fn profile_file_is_ours(doc: &DocumentMut, state: &State) -> bool {
    matches!(state.profile_file, Some(Record::Created))
        || (state.profile_file.is_none()
            && doc
                .to_string()
                .starts_with(&format!("# {PROFILE_FILE_COMMENT}\n")))
}

fn note_change(out: &mut Outcome, what: &str, change: &Change) {
    match change {
        Change::Created => out.notes.push(format!("added {what}")),
        Change::Updated(p) => {
            let keys: Vec<&str> = p.keys().map(String::as_str).collect();
            out.notes
                .push(format!("updated {what}: {}", keys.join(", ")));
        }
        Change::Unchanged => {}
    }
}

/// Validate the flags against the detected Codex.
pub fn options(args: &InstallArgs, codex: &Codex) -> Result<Options, Failure> {
    let layout = codex.layout();
    if args.bridge && args.wire_api == Some(WireApi::Chat) {
        return Err(usage(
            "--bridge serves the Responses API to Codex, so it needs wire_api = \"responses\"",
        )
        .help("drop --wire-api chat (--bridge writes \"responses\"), or drop --bridge to call the gateway's chat completions directly (Codex up to 0.94)"));
    }
    let wire_api = match args.wire_api {
        Some(w) => w.as_str(),
        None if args.bridge => WireApi::Responses.as_str(),
        None => layout.default_wire_api(),
    };
    if wire_api == "chat" && !layout.chat_supported && !args.force {
        return Err(usage(format!(
            "Codex {} refuses `wire_api = \"chat\"`; it says: {CODEX_CHAT_ERROR}",
            codex.effective()
        ))
        .help("drop --wire-api (install picks \"responses\"), pin Codex 0.94.0 (`npm i -g @openai/codex@0.94.0`), or pass --force to write it anyway"));
    }
    let base_url = match &args.base_url {
        Some(u) => Some(
            spec::parse_base_url(u)
                .map_err(|m| bad_flag("--base-url", m))?
                .url,
        ),
        None => None,
    };
    if let Some(k) = &args.env_key {
        spec::check_env_key(k).map_err(|m| bad_flag("--env-key", m))?;
        crate::shown::protect_env(k);
    }
    if let Some(m) = &args.model {
        spec::check_model(m).map_err(|m| bad_flag("--model", m))?;
    }
    Ok(Options {
        layout,
        wire_api,
        base_url,
        env_key: args.env_key.clone(),
        model: args.model.clone(),
        default: args.default,
        no_default: args.no_default,
        // `--bridge` is decided once the files are read (see `bridge_route`).
        route: Route::Direct,
    })
}

/// `install --bridge`: the bridge on 127.0.0.1:`port`, and the gateway it
/// forwards to (see [`spec::bridge_upstream`]): `--base-url`, else the
/// upstream recorded by an earlier `install --bridge`, else the provider's
/// current `base_url`, else the guide's. Never the bridge itself.
pub fn bridge_route(docs: &Docs, flag: Option<&str>, port: u16) -> Result<Route, Failure> {
    let current = blocks::get_block(&docs.config, PROVIDER)
        .ok()
        .flatten()
        .and_then(|t| blocks::get_str(t, "base_url"));
    let upstream = spec::bridge_upstream(
        flag,
        docs.state.bridge_upstream.as_deref(),
        current,
        port,
    )
    .map_err(|m| {
        let help = "pass the gateway's URL with --base-url (e.g. --base-url https://api.ominigate.ai/v1), or another --bridge-port; nothing was written";
        match flag {
            Some(_) => usage(m.to_string()).help(help),
            None => refused(m.to_string()).help(help),
        }
    })?;
    Ok(Route::Bridge { port, upstream })
}

pub fn run(home: &CodexHome, args: &InstallArgs, ui: &mut Ui) -> Result<()> {
    let codex = args.codex.detect().require_version()?;
    let opts = options(args, &codex)?;
    ui.info(codex.headline())?;
    ui.info(format_args!(
        "Codex home: {} ({})",
        home.dir.display(),
        home.source
    ))?;
    ui.detail(format_args!(
        "layout: profile {}, wire_api = \"{}\"",
        match opts.layout.profile {
            ProfileLayout::Table => "as [profiles.ominigate] in config.toml",
            ProfileLayout::File => "in ominigate.config.toml",
        },
        opts.wire_api
    ))?;

    let _lock = if args.dry_run {
        None
    } else {
        fs::ensure_dir(&home.dir)?;
        Some(fs::lock(&home.dir, Duration::from_secs(10))?)
    };
    let files = Files::read(home)?;
    let mut work = files.open()?;
    let mut opts = opts;
    if args.bridge {
        let port = args.bridge_port.unwrap_or(spec::BRIDGE_PORT);
        opts.route = bridge_route(&work.docs, opts.base_url.take().as_deref(), port)?;
    }
    let recorded_upstream = work.docs.state.bridge_upstream.clone();
    if opts.no_default && work.docs.unrecorded_default() {
        return Err(refused(format!(
            "{} selects the ominigate provider at the top level (`model_provider = \"ominigate\"`), but install did not put it there, so there is no previous value to restore",
            home.config().display()
        ))
        .help("edit that line (and `model`) by hand to the provider you want plain `codex` to use; nothing was written")
        .into());
    }
    let outcome = plan(&mut work.docs, &opts).map_err(|e| work.shape_error(e))?;
    // The record goes first: a run killed part way must leave a record of
    // at least what is on disk, or the next run takes the blocks it wrote
    // for the user's own and uninstall leaves them in (uninstall removes
    // the record last for the same reason).
    let changes = work.changes(RecordOrder::First);
    if !finish(&changes, &outcome.notes, args.dry_run, args.force, ui)? {
        match &outcome.upstream {
            Some(u) if recorded_upstream.as_ref() != Some(u) => ui.info(format_args!(
                "already installed; the bridge now forwards to {} (restart it to pick this up)",
                spec::redact_url(u)
            ))?,
            _ => ui.info("already installed: nothing to change")?,
        }
    }
    if !args.dry_run {
        let problems = check_result(home, &codex);
        ui.info(next_steps(home, &codex, &outcome, !problems.is_empty()))?;
    }
    Ok(())
}

/// Run doctor's offline checks on what install (or `use`) just wrote and
/// print a `warning:` for each failing one, as doctor words it; the
/// failures, for the next steps. The run itself still succeeds: it did its
/// part.
pub fn check_result(home: &CodexHome, codex: &Codex) -> Vec<String> {
    let problems = doctor::check_written(home, codex.clone(), Duration::from_secs(30));
    for p in &problems {
        warning(p);
    }
    problems
}

/// The commands the user runs next. Never prints the key, only whether it
/// is set. With no Codex found, installing it comes first; with problems
/// found, doctor comes before starting Codex (which would stop on them).
fn next_steps(home: &CodexHome, codex: &Codex, o: &Outcome, problems: bool) -> String {
    let (rc, export) = shell_setup(std::env::var("SHELL").ok().as_deref(), &o.env_key);
    let set = facts::key(&Env::from_process(), &o.env_key).is_set();
    let mut steps: Vec<String> = Vec::new();
    if *codex == Codex::Assumed {
        steps.push("Install Codex: npm i -g @openai/codex".into());
    }
    if problems {
        steps.push(
            "Run `ominigate-codex doctor`: Codex will stop on what the warnings above name; each comes with its fix"
                .into(),
        );
    }
    steps.push(format!(
        "Put your OminiGate key in {rc}:\n       {export}\n     {} is set in this shell: {}",
        o.env_key,
        if set { "yes" } else { "no" }
    ));
    let conflicts: Vec<&str> = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .into_iter()
        .filter(|k| std::env::var_os(k).is_some())
        .collect();
    if !conflicts.is_empty() {
        steps.push(format!(
            "These can clash with the profile; run:\n       unset {}",
            conflicts.join(" ")
        ));
    }
    if let Some(upstream) = &o.upstream {
        let port = spec::loopback_port(&o.base_url).unwrap_or(spec::BRIDGE_PORT);
        let bridge = home.bridge_command(port);
        steps.push(format!(
            "Keep the bridge running (it listens on {} and forwards to {}), in a terminal of its own:\n       {bridge}\n     or as a service that starts it at login (this prints it and how to enable it):\n       {bridge} --print-service {}\n     Or skip this and run Codex through a private bridge: {} codex",
            o.base_url,
            spec::redact_url(upstream),
            service_manager(),
            home.ominigate_codex(),
        ));
    }
    if !problems {
        // `exec --profile` is the order every release honours (0.94 ignores
        // a --profile placed before exec).
        steps.push(format!(
            "Start Codex {} on OminiGate ({}):\n       codex --profile ominigate\n       codex exec --profile ominigate \"hello\"",
            codex.effective(), o.model
        ));
    }
    let mut text = String::from("\nNext steps:\n");
    for (n, step) in steps.iter().enumerate() {
        text.push_str(&format!("  {}. {step}\n", n + 1));
    }
    text.push_str("  Check everything with: ominigate-codex doctor");
    text
}
