//! `ominigate-codex models`: the guide's four recommended models with its
//! notes and, with the key set, OminiGate's live list from
//! `{base_url}/models`, marking the model the profile (and plain `codex`)
//! uses. Writes nothing.
//!
//! The request goes through [`crate::gateway`]: https only (or plain
//! http to this machine), a time limit, no redirect followed. `use` checks
//! a model against the same list ([`Gateway`], [`live`]).

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use crate::cli::ModelsArgs;
use crate::error::{Failure, Kind};
use crate::gateway::models::{Gateway, Live, live};
use crate::paths::CodexHome;
use crate::report::{SCHEMA_VERSION, Ui};
use crate::setup::Setup;
use crate::setup::facts::InUse;
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
        let _ = writeln!(out, "  {id:<width$}  {note}{tags}");
    }
    out.push('\n');
    match &r.live {
        Live::Listed(ids) => {
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
                let line = format!("  {id:<width$}  {}", tags.join(", "));
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
        Live::Skipped(why) => {
            let _ = writeln!(out, "Live list: skipped, {why}");
        }
        Live::Failed(why) => {
            let _ = writeln!(out, "Live list: not available: {why}");
        }
    }
    out.push('\n');
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
    out
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
                })
                .collect(),
        },
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

pub fn run(home: &CodexHome, args: &ModelsArgs, ui: &mut Ui) -> Result<()> {
    let inp = Setup::of_process(home, args.codex.detect());
    let gw = Gateway::of(&inp);
    let report = ModelList {
        models_url: gw.models_url(),
        in_use: InUse::of(&inp),
        live: live(&gw, args.net.offline, Duration::from_secs(args.net.timeout)),
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
            text.contains("openai/gpt-5.3-codex           OpenAI's Codex-tuned variant, optimized for code generation and tool-use loops. [profile]\n"),
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
            text.contains("  anthropic/claude-opus-4.6      recommended\n"),
            "{text}"
        );
        assert!(text.contains("  x/other\n"), "{text}");
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
