//! `install`'s edit, in the order it runs: the provider block, the
//! profile (a table in config.toml, or the profile file), then the
//! top-level default. Pure: no IO. `use MODEL` runs it too, with
//! everything but the model kept.

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::Docs;
use super::marks::{
    PROFILE_COMMENT, PROFILE_FILE_COMMENT, PROVIDER_COMMENT, profile_file_is_ours, record_or_marker,
};
use super::state::Record;
use crate::codex::version::{Layout, ProfileLayout};
use crate::paths::PROFILE_FILE;
use crate::spec;
use crate::toml::blocks::{self, BlockPath, Change, EditError, PROFILE, PROVIDER, Previous};

/// Where the provider sends Codex's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// As installed (`use MODEL`): a bridge stays a bridge.
    Keep,
    /// Straight to the gateway (`install`): a bridge `install --bridge` set
    /// up is switched back to the upstream it recorded, and the record goes.
    Direct,
    /// Through the bridge on 127.0.0.1:`port`, which forwards to
    /// `upstream` (`install --bridge`, which decides them from the files
    /// read: the install command's `bridge_route`).
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

impl Options {
    /// Install's edit with everything kept as the files have it (base
    /// URL, env var, retries, `--default`, the route, and the wire
    /// protocol when this Codex accepts it), and `model` when given: what
    /// `use` and `models --refresh` run.
    pub fn keep(docs: &Docs, layout: Layout, model: Option<String>) -> Result<Options, EditError> {
        Ok(Options {
            layout,
            wire_api: docs.kept_wire_api(layout)?,
            base_url: None,
            env_key: None,
            model,
            default: false,
            no_default: false,
            route: Route::Keep,
        })
    }
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

/// The provider keys install writes, by name (see
/// [`super::marks::PROVIDER_KEYS`]).
struct ProviderKeys {
    name: String,
    base_url: Value,
    env_key: String,
    wire_api: &'static str,
    request_max_retries: i64,
    stream_max_retries: i64,
    stream_idle_timeout_ms: i64,
}

impl ProviderKeys {
    /// Flags win, then valid existing values, then the guide's;
    /// `wire_api` and `requires_openai_auth` are always set. `base_url`:
    /// what the route decides, if it decides one.
    fn choose(
        existing: Option<&dyn TableLike>,
        opts: &Options,
        base_url: Option<Value>,
    ) -> ProviderKeys {
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
        ProviderKeys {
            name: keep_str("name", &|s| !s.trim().is_empty())
                .unwrap_or_else(|| spec::PROVIDER_NAME.into()),
            base_url: base_url.unwrap_or_else(|| Value::from(spec::BASE_URL)),
            env_key: env_key.unwrap_or_else(|| spec::ENV_KEY.into()),
            wire_api: opts.wire_api,
            request_max_retries: keep_int("request_max_retries", spec::REQUEST_MAX_RETRIES),
            stream_max_retries: keep_int("stream_max_retries", spec::STREAM_MAX_RETRIES),
            stream_idle_timeout_ms: keep_int(
                "stream_idle_timeout_ms",
                spec::STREAM_IDLE_TIMEOUT_MS,
            ),
        }
    }

    /// In the order they are written.
    fn entries(&self) -> [(&'static str, Value); 8] {
        [
            ("name", Value::from(self.name.as_str())),
            ("base_url", self.base_url.clone()),
            ("env_key", Value::from(self.env_key.as_str())),
            ("wire_api", Value::from(self.wire_api)),
            ("requires_openai_auth", Value::from(false)),
            ("request_max_retries", Value::from(self.request_max_retries)),
            ("stream_max_retries", Value::from(self.stream_max_retries)),
            (
                "stream_idle_timeout_ms",
                Value::from(self.stream_idle_timeout_ms),
            ),
        ]
    }
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

/// Edit `docs` for `opts`. Pure: no IO.
pub fn plan(docs: &mut Docs, opts: &Options) -> Result<Outcome, EditError> {
    let mut out = Outcome::default();
    docs.keep_pre_install = docs.state.is_empty() && had_ominigate(&docs.config)?;
    provider(docs, opts, &mut out)?;
    out.model = match opts.layout.profile {
        ProfileLayout::Table => profile_table(docs, opts, &mut out)?,
        ProfileLayout::File => profile_file(docs, opts, &mut out)?,
    };
    default(docs, opts, &mut out)?;
    Ok(out)
}

/// Step 1: `[model_providers.ominigate]` in config.toml, and where it
/// sends Codex's requests (see [`route`]).
fn provider(docs: &mut Docs, opts: &Options, out: &mut Outcome) -> Result<(), EditError> {
    let existing = blocks::get_block(&docs.config, PROVIDER)?;
    // Replacing a pasted key would copy it into the record and the diff.
    let env_key = existing.and_then(|t| blocks::get_str(t, "env_key"));
    if env_key.is_some_and(|k| spec::check_env_key(k).is_err()) {
        return Err(EditError::NotAVariableName {
            key: PROVIDER.to_string() + ".env_key",
        });
    }
    let current = existing.and_then(|t| blocks::get_str(t, "base_url"));
    let keys = ProviderKeys::choose(existing, opts, routed_base_url(docs, opts, current));
    out.base_url = keys.base_url.as_str().unwrap_or_default().to_string();
    out.env_key = keys.env_key.clone();
    ensure_recorded(
        &mut docs.config,
        (PROVIDER, PROVIDER_COMMENT),
        &keys.entries(),
        &mut docs.state.provider,
        out,
    )?;
    route(docs, opts, out);
    Ok(())
}

/// Write the block at `at` in config.toml, with install's `comment` above
/// it when it creates it, say so, and fold the change into its `record`.
/// Without a record (the state file lost, config.toml synced from another
/// machine), a block with install's comment is still install's.
fn ensure_recorded(
    config: &mut DocumentMut,
    (at, comment): (BlockPath, &str),
    entries: &[(&str, Value)],
    record: &mut Option<Record>,
    out: &mut Outcome,
) -> Result<(), EditError> {
    let recorded = record_or_marker(config, at, comment, record);
    let change = blocks::ensure_block(config, at, entries, comment)?;
    note_change(out, &format!("[{at}] in config.toml"), &change);
    *record = Record::merge(recorded, change);
    Ok(())
}

/// Record the bridge's upstream (`install --bridge`) or forget it
/// (`install`), saying when that changes.
fn route(docs: &mut Docs, opts: &Options, out: &mut Outcome) {
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
}

/// The profile's model as the user has it now, in each place it can be.
struct ExistingModels {
    /// `[profiles.ominigate]` in config.toml.
    table: Option<String>,
    /// The profile file.
    file: Option<String>,
}

impl ExistingModels {
    fn of(docs: &Docs) -> Result<ExistingModels, EditError> {
        let table = blocks::get_block(&docs.config, PROFILE)?
            .and_then(|t| blocks::get_str(t, "model"))
            .map(str::to_string);
        let file = docs
            .profile
            .as_ref()
            .and_then(|d| blocks::get_str(d.as_table(), "model"))
            .map(str::to_string);
        Ok(ExistingModels { table, file })
    }
}

/// The keys the profile gets, wherever it is: with `catalog`, the model
/// catalogue beside it (a relative path is taken from the directory of
/// the file that sets it, the Codex home, in every release that reads it).
fn profile_entries(model: &str, catalog: bool) -> Vec<(&'static str, Value)> {
    let mut entries = vec![
        ("model", Value::from(model)),
        ("model_provider", Value::from(spec::PROVIDER_ID)),
    ];
    if catalog {
        entries.push(("model_catalog_json", Value::from(crate::catalog::FILE_NAME)));
    }
    entries
}

/// Step 2 up to Codex 0.133: `[profiles.ominigate]` in config.toml (a
/// profile file install wrote goes). Returns the profile's model.
fn profile_table(docs: &mut Docs, opts: &Options, out: &mut Outcome) -> Result<String, EditError> {
    let existing = ExistingModels::of(docs)?;
    let model = profile_model(opts, &[existing.table.as_deref(), existing.file.as_deref()]);
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
    ensure_recorded(
        &mut docs.config,
        (PROFILE, PROFILE_COMMENT),
        &profile_entries(&model, opts.layout.catalog),
        &mut docs.state.profile_table,
        out,
    )?;
    Ok(model)
}

/// Step 2 from Codex 0.134: the profile file, with a legacy table moved
/// into it (see [`migrate_legacy`]). Returns the profile's model.
fn profile_file(docs: &mut Docs, opts: &Options, out: &mut Outcome) -> Result<String, EditError> {
    let existing = ExistingModels::of(docs)?;
    let model = profile_model(opts, &[existing.file.as_deref(), existing.table.as_deref()]);
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
    let (above, carried) = migrate_legacy(docs, out)?;
    let created = docs.profile.is_none();
    let doc = docs.profile.get_or_insert_with(DocumentMut::new);
    blocks::check_shapes(doc)?;
    let (mut previous, above) = carry_legacy(doc, above, carried);
    for (k, v) in blocks::ensure_keys(
        doc.as_table_mut(),
        &profile_entries(&model, opts.layout.catalog),
    ) {
        previous.entry(k).or_insert(v);
    }
    let header = match created {
        true => format!("# {PROFILE_FILE_COMMENT}\n{above}"),
        false => above,
    };
    prefix_first_key(doc, &header);
    let change = match (created, previous.is_empty()) {
        (true, _) => Change::Created,
        (false, true) => Change::Unchanged,
        (false, false) => Change::Updated(previous),
    };
    note_change(out, PROFILE_FILE, &change);
    docs.state.profile_file = Record::merge(recorded, change);
    Ok(model)
}

/// Put the legacy table's keys in the profile file, comments and all. The
/// file's own value of a key wins; the table's line comes along commented
/// out (added to `above`), so that nothing the user typed is left only in
/// a backup. Returns the keys added (all new) and the comment lines for
/// the top of the file.
fn carry_legacy(
    doc: &mut DocumentMut,
    mut above: String,
    carried: Vec<(toml_edit::Key, Item)>,
) -> (Previous, String) {
    let mut previous = Previous::new();
    for (key, item) in carried {
        if doc.as_table().contains_key(key.get()) {
            above.push_str(&commented_out(&key, &item));
        } else {
            previous.insert(key.get().to_string(), None);
            doc.as_table_mut().insert_formatted(&key, item);
        }
    }
    (previous, above)
}

/// Put `header` above the file's first key, before that key's own comments.
fn prefix_first_key(doc: &mut DocumentMut, header: &str) {
    if let Some(mut first) = doc.as_table_mut().iter_mut().next().map(|(k, _)| k) {
        let own = first
            .leaf_decor()
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_string();
        first.leaf_decor_mut().set_prefix(format!("{header}{own}"));
    }
}

/// Step 3: the top-level `model_provider` and `model`: `--no-default`
/// puts back what was there; `--default` (or a default install made
/// before) points them at OminiGate and the profile's model.
fn default(docs: &mut Docs, opts: &Options, out: &mut Outcome) -> Result<(), EditError> {
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
    Ok(())
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
