//! `ominigate-codex status`: one screen on what is installed where, for
//! which Codex, with which model, whether OminiGate is the default for
//! plain `codex`, and whether the key is set (yes or no, nothing more).
//!
//! Everything comes from the one reading of the setup ([`Setup`], Codex's
//! precedence walk in [`crate::setup::resolve`], the answers of
//! [`crate::setup::facts`]) and doctor's checks run `--offline`, so status
//! and doctor never disagree. Writes nothing.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::checks::check::{self, Check, Status};
use crate::checks::run_checks;
use crate::cli::StatusArgs;
use crate::codex::binary::Codex;
use crate::paths::{CodexHome, PROFILE_FILE};
use crate::report::SCHEMA_VERSION;
use crate::setup::Setup;
use crate::setup::facts::{self, InUse, ProfileLocation, env_key_name, profile_location};
use crate::setup::files::ConfigFile;
use crate::setup::resolve::{Run, resolve};
use crate::shown;
use crate::spec;
use crate::toml::blocks::PROVIDER;

/// Time limit for running Codex in the `codex.accepts_config` check.
const CODEX_LIMIT: Duration = Duration::from_secs(5);

const BLOCK: [&str; 2] = PROVIDER.keys();

#[derive(Debug, Clone, Serialize)]
pub struct CodexStatus {
    /// What `codex --version` said (or `--codex-version`); `None` when unknown.
    pub version: Option<String>,
    /// The release whose rules apply.
    pub rules: String,
    /// `binary`, `flag` or `none`.
    pub source: &'static str,
    pub binary: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    /// `path:line` of `[model_providers.ominigate]`.
    pub place: String,
    /// `a [table]`, `dotted keys` or `an inline table`.
    pub shape: &'static str,
    /// Without user name, password or query; `None` when not set.
    pub base_url: Option<String>,
    /// `install --bridge`: the gateway the bridge at `base_url` forwards to.
    pub bridge_upstream: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProfileStatus {
    /// `table` (`[profiles.ominigate]`, Codex up to 0.133) or `file`
    /// (`ominigate.config.toml`, 0.134 on).
    pub layout: &'static str,
    pub place: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlainCodex {
    /// Plain `codex` uses OminiGate.
    pub ominigate: bool,
    /// Plain `codex`'s provider; `None` when Codex refuses to start.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// `install --default` made it so (`install --no-default` undoes it).
    pub recorded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub name: String,
    pub set: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    pub overall: Status,
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
    pub problems: Vec<Problem>,
}

/// The whole status, as JSON prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub codex_home: String,
    pub codex_home_source: &'static str,
    pub codex: CodexStatus,
    pub installed: bool,
    pub provider: Option<Provider>,
    pub profile: Option<ProfileStatus>,
    /// Why the profile is not where this Codex reads it, or is refused.
    pub profile_note: Option<String>,
    /// `codex --profile ominigate`'s model, when that run uses OminiGate.
    pub model: Option<String>,
    /// Why `codex --profile ominigate` does not start, in Codex's words.
    pub refused: Option<String>,
    /// Where Codex's metadata for that model comes from (doctor's
    /// `model.metadata`): the model catalogue's entry, Codex's own, or
    /// its fallback.
    pub metadata: Option<String>,
    pub default: PlainCodex,
    pub key: KeyStatus,
    /// doctor's checks, offline.
    pub checks: Checks,
}

fn codex(inp: &Setup) -> CodexStatus {
    let info = &inp.codex;
    CodexStatus {
        version: info.version().map(|v| v.to_string()),
        rules: info.effective().to_string(),
        source: match info {
            Codex::Flag(_) => "flag",
            Codex::Binary { .. } => "binary",
            Codex::Assumed => "none",
        },
        binary: info.binary().map(|p| p.display().to_string()),
    }
}

fn provider(inp: &Setup) -> Option<Provider> {
    let file = facts::provider_file(inp)?;
    let base_url = inp.provider_base_url().map(spec::redact_url);
    let bridge_upstream = crate::setup::bridge::local(inp)
        .ok()
        .and_then(|l| l.recorded)
        .map(|u| spec::redact_url(&u));
    Some(Provider {
        place: file.place(&BLOCK).to_string(),
        shape: file.shape_of(&BLOCK),
        base_url: base_url.map(|u| shown::value(&u).into_owned()),
        bridge_upstream,
    })
}

/// The profile where this Codex reads it, and a note when something
/// there stops `codex --profile ominigate`.
fn profile(inp: &Setup) -> (Option<ProfileStatus>, Option<String>) {
    let v = inp.codex.effective();
    let in_file = |f: &ConfigFile| ProfileStatus {
        layout: "file",
        place: f.path.display().to_string(),
    };
    match profile_location(inp) {
        ProfileLocation::Table { at, .. } => (
            Some(ProfileStatus {
                layout: "table",
                place: at.to_string(),
            }),
            None,
        ),
        ProfileLocation::File(f) => (Some(in_file(f)), None),
        ProfileLocation::Legacy { at, file } => (
            file.map(in_file),
            Some(format!(
                "legacy [profiles.ominigate] at {at}: Codex {v} refuses `--profile ominigate` while it is there (`ominigate-codex install` moves it)"
            )),
        ),
        ProfileLocation::Unloadable => (
            None,
            Some(format!("{} does not load", inp.profile.path.display())),
        ),
        ProfileLocation::Missing if inp.file_era() => (
            None,
            Some(format!(
                "no {PROFILE_FILE}, where Codex {v} reads the profile"
            )),
        ),
        ProfileLocation::Missing => (
            None,
            Some(format!(
                "no [profiles.ominigate], where Codex {v} reads the profile"
            )),
        ),
    }
}

/// Whether `install --default` is on record (a damaged or unreadable
/// record counts as none: status never fails on it).
fn default_recorded(inp: &Setup) -> bool {
    inp.state.as_ref().is_some_and(|s| s.defaults.is_some())
}

fn checks(list: &[Check]) -> Checks {
    let (ok, warn, fail, skip) = check::counts(list);
    Checks {
        overall: check::overall(list),
        ok,
        warn,
        fail,
        skip,
        problems: list
            .iter()
            .filter(|c| matches!(c.status, Status::Warn | Status::Fail))
            .map(|c| Problem {
                id: c.id,
                status: c.status,
                summary: c.summary.clone(),
            })
            .collect(),
    }
}

/// Put the status together from what doctor read and its offline checks.
pub fn summarise(inp: &Setup, list: &[Check], recorded: bool) -> Summary {
    let view = inp.view();
    let provider = provider(inp);
    let (profile, profile_note) = profile(inp);
    let plain = resolve(&view, Run::Plain);
    let with_profile = resolve(&view, Run::Profile);
    let in_use = InUse::of(inp);
    let profile_in_use = in_use.profile.is_some();
    let key_name = env_key_name(inp);
    let set = facts::key(&inp.env, &key_name).is_set();
    Summary {
        schema_version: SCHEMA_VERSION,
        codex_home: inp.home.dir.display().to_string(),
        codex_home_source: inp.home.source,
        codex: codex(inp),
        installed: facts::installed(inp),
        provider,
        profile,
        profile_note,
        model: in_use.profile,
        refused: with_profile.refusal.map(|r| r.codex_says),
        metadata: list
            .iter()
            .find(|c| c.id == crate::checks::metadata::METADATA)
            .filter(|_| profile_in_use)
            .map(|c| c.summary.clone()),
        default: PlainCodex {
            ominigate: plain.uses_ominigate(),
            provider: plain
                .refusal
                .is_none()
                .then(|| shown::value(&plain.provider.value).into_owned()),
            model: plain.model.map(|m| shown::value(&m.value).into_owned()),
            recorded,
        },
        key: KeyStatus {
            name: key_name,
            set,
        },
        checks: checks(list),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn human(s: &Summary) -> String {
    let mut out = String::new();
    let mut row = |label: &str, text: &str| {
        let _ = writeln!(out, "{:<12}{text}", format!("{label}:"));
    };
    row(
        "Codex home",
        &format!("{} ({})", s.codex_home, s.codex_home_source),
    );
    row("Codex", &codex_line(&s.codex));
    row("Installed", installed_line(s));
    row("  provider", &provider_line(s.provider.as_ref()));
    row("  profile", &profile_line(s));
    row("Model", &model_line(s));
    if let Some(m) = &s.metadata {
        row("  metadata", m);
    }
    row("Default", &default_line(&s.default));
    row(
        "API key",
        &format!("{} is set: {}", s.key.name, yes_no(s.key.set)),
    );
    row("Checks", &checks_line(&s.checks));
    for p in &s.checks.problems {
        let summary = p.summary.replace('→', "->");
        let _ = writeln!(out, "  {:<4}  {}: {summary}", p.status.as_str(), p.id);
    }
    out
}

/// Which Codex, and how status knows.
fn codex_line(c: &CodexStatus) -> String {
    match (c.source, &c.version, &c.binary) {
        ("flag", Some(v), _) => format!("{v} (from --codex-version)"),
        (_, Some(v), Some(b)) => format!("{v} (`{b} --version`)"),
        (_, _, Some(b)) => format!(
            "unknown: `{b} --version` does not answer like Codex; using the rules of {}, the newest known",
            c.rules
        ),
        _ => format!(
            "none found on PATH; using the rules of {}, the newest known",
            c.rules
        ),
    }
}

fn installed_line(s: &Summary) -> &'static str {
    match (s.installed, &s.provider, &s.profile) {
        (true, _, _) => "yes",
        (false, None, None) => "no: run `ominigate-codex install`",
        _ => "partly: run `ominigate-codex install` to complete it",
    }
}

fn provider_line(provider: Option<&Provider>) -> String {
    match provider {
        Some(p) => format!(
            "[model_providers.ominigate] at {} ({}), base_url {}{}",
            p.place,
            p.shape,
            p.base_url.as_deref().unwrap_or("not set"),
            match &p.bridge_upstream {
                Some(u) => format!(" (the bridge, forwarding to {u})"),
                None => String::new(),
            }
        ),
        None => "no [model_providers.ominigate] in the files Codex reads".into(),
    }
}

fn profile_line(s: &Summary) -> String {
    let v = &s.codex.rules;
    match (&s.profile, &s.profile_note) {
        (Some(p), None) => format!("{}, where Codex {v} reads it", p.place),
        (Some(p), Some(note)) => format!("{}; {note}", p.place),
        (None, Some(note)) => note.clone(),
        (None, None) => "none".into(),
    }
}

fn model_line(s: &Summary) -> String {
    match (&s.model, &s.refused) {
        (_, Some(why)) => format!("none: `codex --profile ominigate` stops: {why}"),
        (Some(m), None) => format!("{m} (`codex --profile ominigate`)"),
        (None, None) => "none: `codex --profile ominigate` does not use OminiGate".into(),
    }
}

/// Whether plain `codex` uses OminiGate, and how to change that.
fn default_line(d: &PlainCodex) -> String {
    match (d.ominigate, &d.provider) {
        (true, _) if d.recorded => format!(
            "yes: plain `codex` uses OminiGate ({}); `ominigate-codex install --no-default` puts back your previous settings",
            d.model
                .as_deref()
                .unwrap_or("Codex's built-in default model")
        ),
        (true, _) => format!(
            "yes: plain `codex` uses OminiGate ({}), set in config.toml by hand",
            d.model
                .as_deref()
                .unwrap_or("Codex's built-in default model")
        ),
        (false, Some(p)) => {
            format!("no: plain `codex` uses {p}; `ominigate-codex install --default` to change")
        }
        (false, None) => "no: plain `codex` refuses to start (see `ominigate-codex doctor`)".into(),
    }
}

/// The counts of doctor's offline checks.
fn checks_line(k: &Checks) -> String {
    format!(
        "{} ok, {} warning{}, {} failed, {} skipped (doctor --offline{})",
        k.ok,
        k.warn,
        if k.warn == 1 { "" } else { "s" },
        k.fail,
        k.skip,
        if k.problems.is_empty() {
            ""
        } else {
            "; `ominigate-codex doctor` shows the fixes"
        }
    )
}

pub fn run(home: &CodexHome, args: &StatusArgs, ui: &mut crate::report::Ui) -> Result<()> {
    let inp = Setup::of_process(home, args.codex.detect());
    let secrets = inp.secrets();
    let mut list = run_checks(&inp, true, CODEX_LIMIT);
    check::sanitize_all(&mut list, &secrets);
    let summary = summarise(&inp, &list, default_recorded(&inp));
    let text = match args.json {
        true => format!(
            "{}\n",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        ),
        false => human(&summary),
    };
    write!(ui.out(), "{text}")?;
    Ok(())
}
