//! `ominigate-codex models`: the guide's four recommended models with its
//! notes and, with the key set, OminiGate's live list from
//! `{base_url}/models`, marking the model the profile (and plain `codex`)
//! uses, each with the metadata Codex has for it (its window, whether it
//! reasons: the model catalogue's entry, or Codex's fallback). Writes
//! nothing, except `--refresh`: the model catalogue from the live list.
//!
//! The request goes through [`crate::gateway`]: https only (or plain
//! http to this machine), a time limit, no redirect followed. `use` checks
//! a model against the same list ([`Gateway`], [`live`]).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::catalog::{Catalog, WindowFrom};
use crate::cli::ModelsArgs;
use crate::edit::catalog::{self, Source};
use crate::edit::install::{Options, plan};
use crate::edit::{Files, RecordOrder, finish, not_installed};
use crate::error::{Failure, Kind};
use crate::fs;
use crate::gateway::{
    self,
    models::{Gateway, Live, live, live_known},
};
use crate::paths::CodexHome;
use crate::report::{SCHEMA_VERSION, Ui};
use crate::setup::Setup;
use crate::setup::facts::{self, InUse};
use crate::spec::RECOMMENDED_MODELS;

fn is_recommended(id: &str) -> bool {
    RECOMMENDED_MODELS.iter().any(|(r, _)| *r == id)
}

/// Everything the report shows.
#[derive(Debug, Clone)]
pub struct ModelList {
    pub models_url: String,
    pub in_use: InUse,
    pub live: Live,
    /// The model catalogue `codex --profile ominigate` loads, if any.
    pub catalog: Option<Catalog>,
    /// The Codex, when it reads no catalogue (0.94): none to write.
    pub reads_none: Option<crate::codex::version::Version>,
}

/// What Codex knows of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    /// `catalogue` (an entry of the model catalogue) or `fallback`.
    pub metadata: &'static str,
    pub context_window: Option<u64>,
    /// The window is Codex's fallback value: nobody said it.
    pub window_unknown: bool,
    pub reasons: Option<bool>,
}

impl ModelList {
    pub fn meta(&self, id: &str) -> Meta {
        let found = self.catalog.as_ref().and_then(|c| Some((c, c.find(id)?)));
        match found {
            Some((c, e)) => Meta {
                metadata: "catalogue",
                context_window: e.context_window,
                window_unknown: c.about.as_ref().and_then(|a| a.windows.get(&e.slug))
                    == Some(&WindowFrom::Unknown),
                reasons: Some(e.reasons()),
            },
            None => Meta {
                metadata: "fallback",
                context_window: None,
                window_unknown: true,
                reasons: None,
            },
        }
    }

    /// [`ModelList::meta`] in a few words.
    fn meta_words(&self, id: &str) -> String {
        let m = self.meta(id);
        match (m.metadata, m.context_window) {
            ("catalogue", Some(w)) => format!(
                "{}{} window, {}",
                thousands(w),
                if m.window_unknown { "?" } else { "" },
                if m.reasons == Some(true) {
                    "reasons"
                } else {
                    "no effort"
                }
            ),
            _ => "fallback metadata".into(),
        }
    }
}

/// `200k`, `1M`, `1.05M`.
fn thousands(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 10_000 == 0 => {
            let m = format!("{:.2}", n as f64 / 1e6);
            format!("{}M", m.trim_end_matches('0').trim_end_matches('.'))
        }
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

fn bracketed(tags: &[&str]) -> String {
    match tags {
        [] => String::new(),
        _ => format!(" [{}]", tags.join(", ")),
    }
}

/// The list as text; the commands it names are for `home`.
pub fn human(r: &ModelList, home: &CodexHome) -> String {
    let (me, codex) = (home.ominigate_codex(), home.codex());
    let listed: &[String] = match &r.live {
        Live::Listed(ids) => ids,
        _ => &[],
    };
    let width = RECOMMENDED_MODELS
        .iter()
        .map(|(id, _)| id.chars().count())
        .chain(listed.iter().map(|id| id.chars().count()))
        .max()
        .unwrap_or(0)
        .min(48);
    let mut out = String::from("Recommended (the OminiGate guide's picks):\n");
    for (id, note) in RECOMMENDED_MODELS {
        let tags = bracketed(&r.in_use.tags(id));
        let meta = r.meta_words(id);
        let _ = writeln!(out, "  {id:<width$}  {meta:<24}  {note}{tags}");
    }
    out.push('\n');
    match &r.live {
        Live::Listed(ids) => live_section(&mut out, r, ids, width, &me),
        Live::Skipped(why) => {
            let _ = writeln!(out, "Live list: skipped, {why}");
        }
        Live::Failed(why) => {
            let _ = writeln!(out, "Live list: not available: {why}");
        }
    }
    fallback_note(&mut out, r, listed, &me);
    out.push('\n');
    in_use_line(&mut out, r, &me, &codex);
    out
}

/// The models the gateway lists, then the recommended ones it does not and
/// the profile's model when it is not among them.
fn live_section(out: &mut String, r: &ModelList, ids: &[String], width: usize, me: &str) {
    let _ = writeln!(
        out,
        "Live from {} ({} model{}):",
        r.models_url,
        ids.len(),
        if ids.len() == 1 { "" } else { "s" }
    );
    for id in ids {
        let mut tags = r.in_use.tags(id);
        if is_recommended(id) {
            tags.insert(0, "recommended");
        }
        let meta = r.meta_words(id);
        let line = format!("  {id:<width$}  {meta:<24}  {}", tags.join(", "));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let missing: Vec<&str> = RECOMMENDED_MODELS
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !ids.iter().any(|l| l == id))
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "Recommended but not listed live: {}",
            missing.join(", ")
        );
    }
    if let Some(m) = &r.in_use.profile
        && !ids.contains(m)
    {
        let _ = writeln!(
            out,
            "The profile's model {m} is not listed live: requests with it will likely fail; pick one above with `{me} use MODEL`"
        );
    }
}

/// When a model shown has no known window: where the fallback comes from
/// and the command that reads the real ones.
fn fallback_note(out: &mut String, r: &ModelList, listed: &[String], me: &str) {
    let shown = RECOMMENDED_MODELS
        .iter()
        .map(|(id, _)| *id)
        .chain(listed.iter().map(String::as_str));
    if !shown.into_iter().any(|id| r.meta(id).window_unknown) {
        return;
    }
    out.push_str(&match (&r.catalog, r.reads_none) {
        (Some(_), _) => format!("A window with `?` (or no catalogue entry) is Codex's fallback, 272k: `{me} models --refresh` reads the real ones\n"),
        (None, Some(v)) => format!("No model catalogue: Codex {v} reads none (`model_catalog_json` came with 0.95), so it uses its fallback metadata (272k window) for these\n"),
        (None, None) => format!("No model catalogue: Codex uses its fallback metadata (272k window) for these; `{me} install` writes one\n"),
    });
}

/// Which model `codex --profile ominigate` (and plain `codex`) uses, and
/// how to switch.
fn in_use_line(out: &mut String, r: &ModelList, me: &str, codex: &str) {
    match (&r.in_use.profile, &r.in_use.default) {
        (Some(p), d) => {
            let _ = writeln!(
                out,
                "`{codex} --profile ominigate` uses {p}{}. Switch with: {me} use MODEL",
                match d {
                    Some(d) if d == p => ", and so does plain `codex`".to_string(),
                    Some(d) => format!("; plain `codex` uses {d}"),
                    None => String::new(),
                }
            );
        }
        (None, _) => {
            let _ = writeln!(
                out,
                "No `ominigate` profile on OminiGate here yet: {me} install --model MODEL"
            );
        }
    }
}

#[derive(Serialize)]
struct ModelsJson<'a> {
    schema_version: u32,
    profile_model: Option<&'a str>,
    default_model: Option<&'a str>,
    recommended: Vec<Recommended<'a>>,
    live: LiveJson<'a>,
}

#[derive(Serialize)]
struct Recommended<'a> {
    id: &'a str,
    note: &'a str,
    profile: bool,
    default: bool,
    /// Listed live; `null` when the live list was not had.
    live: Option<bool>,
    #[serde(flatten)]
    meta: Meta,
}

#[derive(Serialize)]
struct LiveJson<'a> {
    /// `ok`, `skipped` or `error`.
    status: &'static str,
    url: &'a str,
    message: Option<&'a str>,
    models: Vec<LiveModel<'a>>,
}

#[derive(Serialize)]
struct LiveModel<'a> {
    id: &'a str,
    recommended: bool,
    profile: bool,
    default: bool,
    #[serde(flatten)]
    meta: Meta,
}

pub fn json(r: &ModelList) -> String {
    let listed = match &r.live {
        Live::Listed(ids) => Some(ids),
        _ => None,
    };
    let (status, message) = match &r.live {
        Live::Listed(_) => ("ok", None),
        Live::Skipped(why) => ("skipped", Some(why.as_str())),
        Live::Failed(why) => ("error", Some(why.as_str())),
    };
    let is = |m: &Option<String>, id: &str| m.as_deref() == Some(id);
    let doc = ModelsJson {
        schema_version: SCHEMA_VERSION,
        profile_model: r.in_use.profile.as_deref(),
        default_model: r.in_use.default.as_deref(),
        recommended: RECOMMENDED_MODELS
            .iter()
            .map(|(id, note)| Recommended {
                id,
                note,
                profile: is(&r.in_use.profile, id),
                default: is(&r.in_use.default, id),
                live: listed.map(|ids| ids.iter().any(|l| l == id)),
                meta: r.meta(id),
            })
            .collect(),
        live: LiveJson {
            status,
            url: &r.models_url,
            message,
            models: listed
                .into_iter()
                .flatten()
                .map(|id| LiveModel {
                    id,
                    recommended: is_recommended(id),
                    profile: is(&r.in_use.profile, id),
                    default: is(&r.in_use.default, id),
                    meta: r.meta(id),
                })
                .collect(),
        },
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `--live` or `--refresh` (`flag`), which need the gateway, with
/// [`gateway::OFFLINE_VAR`] set: a usage error that names the variable
/// (clap's own, for `--offline`, names the flag). `me`: this tool as the
/// user runs it on this Codex home.
fn refuse_offline_env(flag: &str, me: &str) -> Result<()> {
    if !gateway::offline_by_env() {
        return Ok(());
    }
    let var = gateway::OFFLINE_VAR;
    Err(Failure::new(
        Kind::Usage,
        format!("{flag} asks the gateway, and {var} is set: nothing may call out"),
    )
    .help(format!(
        "run it with the variable unset (`env -u {var} {me} models {flag}`), or leave {flag} out"
    ))
    .into())
}

pub fn run(home: &CodexHome, args: &ModelsArgs, ui: &mut Ui) -> Result<()> {
    for (asked, flag) in [(args.refresh, "--refresh"), (args.live, "--live")] {
        if asked {
            refuse_offline_env(flag, &home.ominigate_codex())?;
        }
    }
    if args.refresh {
        // With --json, stdout is the one JSON object: the refresh says nothing.
        match args.json {
            true => {
                let mut sink = std::io::sink();
                refresh(
                    home,
                    args,
                    &mut Ui::new(&mut sink, crate::report::Level::Quiet),
                )?;
            }
            false => refresh(home, args, ui)?,
        }
    }
    let inp = Setup::of_process(home, args.codex.detect());
    let gw = Gateway::of(&inp);
    let report = ModelList {
        models_url: gw.models_url(),
        in_use: InUse::of(&inp),
        live: live(
            &gw,
            args.net.offline(),
            Duration::from_secs(args.net.timeout),
        ),
        catalog: facts::catalog(&inp).and_then(|(path, _)| Catalog::read(&path).ok()),
        reads_none: inp.codex.version().filter(|_| !inp.layout().catalog),
    };
    // Secrets are masked and unsafe characters escaped on the way out (see
    // `shown`); what came from the gateway already was, before being cut.
    let text = match args.json {
        true => format!("{}\n", json(&report)),
        false => human(&report, home),
    };
    write!(ui.out(), "{text}")?;
    match &report.live {
        Live::Skipped(why) | Live::Failed(why) if args.live => Err(Failure::new(
            Kind::Failure,
            format!("the live model list is not available: {why}"),
        )
        .help(format!(
            "set {} to your OminiGate key, check base_url with `{} doctor`, or drop --live",
            gw.key_name,
            home.ominigate_codex()
        ))
        .into()),
        _ => Ok(()),
    }
}

/// `--refresh`: the model catalogue rebuilt from the live list, and the
/// profile pointed at it (install's edit with everything else kept).
fn refresh(home: &CodexHome, args: &ModelsArgs, ui: &mut Ui) -> Result<()> {
    let codex = args.codex.detect().require_version()?;
    let source = Source::of(&codex);
    if let Source::None(why) = &source {
        return Err(Failure::new(
            Kind::Failure,
            format!("cannot write a model catalogue: {why}"),
        )
        .into());
    }
    if !home.dir.is_dir() {
        return Err(not_installed(home, "the directory does not exist", ""));
    }
    let _lock = fs::lock(&home.dir, Duration::from_secs(10))?;
    let files = Files::read(home)?;
    let mut work = files.open()?;
    if let Some(why) = work.docs.missing().map_err(|e| work.shape_error(e))? {
        return Err(not_installed(home, why, ""));
    }
    let gw = Gateway::of(&Setup::of_process(home, codex.clone()));
    let list = live_known(&gw, false, Duration::from_secs(args.net.timeout)).map_err(|why| {
        Failure::new(
            Kind::Failure,
            format!(
                "cannot refresh the model catalogue: the live list is not available: {}",
                why.reason()
            ),
        )
        .help(format!(
            "set {} to your OminiGate key and check base_url with `{} doctor`; nothing was written",
            gw.key_name,
            home.ominigate_codex()
        ))
    })?;
    let mut layout = codex.layout();
    layout.catalog = true;
    let opts = Options::keep(&work.docs, layout, None).map_err(|e| work.shape_error(e))?;
    let outcome = plan(&mut work.docs, &opts).map_err(|e| work.shape_error(e))?;
    let rebuilt = catalog::rebuild(
        &mut work.docs,
        &source,
        &outcome.model,
        Some(&list),
        &home.ominigate_codex(),
    )?;
    if !finish(
        &work.changes(RecordOrder::First),
        &outcome.notes,
        false,
        false,
        ui,
    )? {
        ui.info("the model catalogue already holds OminiGate's list: nothing to change")?;
    }
    for line in catalog::report(&rebuilt, &source, &gw.key_name, &home.ominigate_codex()) {
        ui.info(format_args!("  {line}"))?;
    }
    ui.info("")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_home() -> CodexHome {
        CodexHome {
            dir: "/home/u/.codex".into(),
            source: "~/.codex",
        }
    }

    fn report(live: Live) -> ModelList {
        ModelList {
            models_url: "https://api.ominigate.ai/v1/models".into(),
            in_use: InUse {
                profile: Some("openai/gpt-5.3-codex".into()),
                default: None,
            },
            live,
            catalog: None,
            reads_none: None,
        }
    }

    #[test]
    fn recommended_models_come_with_their_notes_and_marks() {
        let text = human(&report(Live::Skipped("--offline".into())), &default_home());
        assert!(
            text.starts_with("Recommended (the OminiGate guide's picks):\n  openai/gpt-5.4-pro "),
            "{text}"
        );
        assert!(
            text.contains("openai/gpt-5.3-codex           fallback metadata         OpenAI's Codex-tuned variant, optimized for code generation and tool-use loops. [profile]\n"),
            "{text}"
        );
        assert!(text.contains("\nLive list: skipped, --offline\n"), "{text}");
        assert!(text.ends_with("`codex --profile ominigate` uses openai/gpt-5.3-codex. Switch with: ominigate-codex use MODEL\n"), "{text}");
    }

    #[test]
    fn live_rows_say_which_are_recommended_and_in_use() {
        let ids = vec![
            "anthropic/claude-opus-4.6".to_string(),
            "openai/gpt-5.4-pro".to_string(),
            "x/other".to_string(),
        ];
        let text = human(&report(Live::Listed(ids)), &default_home());
        assert!(
            text.contains("Live from https://api.ominigate.ai/v1/models (3 models):\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  anthropic/claude-opus-4.6      fallback metadata         recommended\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  x/other                        fallback metadata\n"),
            "{text}"
        );
        assert!(
            text.contains("Recommended but not listed live: openai/gpt-5.3-codex, google/gemini-3.1-pro-preview\n"),
            "{text}"
        );
        assert!(
            text.contains("The profile's model openai/gpt-5.3-codex is not listed live"),
            "{text}"
        );
    }

    #[test]
    fn each_model_says_what_codex_knows_of_it() {
        let text = r#"{"models": [
            {"slug": "anthropic/claude-opus-4.6", "display_name": "a", "supported_reasoning_levels": [{"effort": "high", "description": "h"}],
             "shell_type": "shell_command", "visibility": "list", "supported_in_api": true, "priority": 1,
             "support_verbosity": false, "truncation_policy": {"mode": "tokens", "limit": 1}, "experimental_supported_tools": [],
             "context_window": 1050000},
            {"slug": "x/y", "display_name": "y", "supported_reasoning_levels": [],
             "shell_type": "shell_command", "visibility": "list", "supported_in_api": true, "priority": 2,
             "support_verbosity": false, "truncation_policy": {"mode": "tokens", "limit": 1}, "experimental_supported_tools": [],
             "context_window": 272000}],
            "ominigate_codex": {"codex": null, "windows": {"anthropic/claude-opus-4.6": "gateway", "x/y": "unknown"}}}"#;
        let mut r = report(Live::Listed(vec!["x/y".into()]));
        r.catalog = Some(Catalog::parse(text.as_bytes(), std::path::Path::new("c")).unwrap());
        let out = human(&r, &default_home());
        assert!(
            out.contains("  anthropic/claude-opus-4.6      1.05M window, reasons     Anthropic"),
            "{out}"
        );
        assert!(
            out.contains("  x/y                            272k? window, no effort\n"),
            "{out}"
        );
        assert!(
            out.contains("  openai/gpt-5.4-pro             fallback metadata "),
            "{out}"
        );
        assert!(out.contains("A window with `?`"), "{out}");
        let m = r.meta("x/y");
        assert_eq!(
            (m.metadata, m.context_window, m.window_unknown, m.reasons),
            ("catalogue", Some(272_000), true, Some(false))
        );
        assert_eq!(
            [thousands(200_000), thousands(1_000_000), thousands(32_768)],
            ["200k", "1M", "32768"]
        );
    }

    #[test]
    fn json_marks_live_membership_only_when_listed() {
        let v: serde_json::Value =
            serde_json::from_str(&json(&report(Live::Failed("boom".into())))).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["live"]["status"], "error");
        assert_eq!(v["live"]["message"], "boom");
        assert_eq!(v["recommended"][1]["profile"], true);
        assert!(v["recommended"][1]["live"].is_null());
        let ids = vec!["openai/gpt-5.3-codex".to_string()];
        let v: serde_json::Value = serde_json::from_str(&json(&report(Live::Listed(ids)))).unwrap();
        assert_eq!(v["live"]["status"], "ok");
        assert_eq!(v["recommended"][1]["live"], true);
        assert_eq!(v["recommended"][0]["live"], false);
        assert_eq!(v["live"]["models"][0]["profile"], true);
        assert_eq!(v["live"]["models"][0]["recommended"], true);
    }
}
