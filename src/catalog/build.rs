//! Building the catalogue: one exact entry per slug, made from an entry
//! of the installed Codex's own list (its prompt, shell, truncation and
//! reasoning levels) and what the gateway's `GET /models` says about the
//! model (its window, whether it reasons, what it reads). Pure: no IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Catalog, Entry, ReasoningLevel};

/// Codex's fallback window (`model_info_from_slug`): what a model with no
/// entry gets, so what an entry whose window nobody told us gets too (no
/// worse than no entry; compaction at 90% of it).
pub const FALLBACK_WINDOW: u64 = 272_000;

/// At most this many models of the live list get an entry (besides the
/// profile's, the guide's and the ones `use` added). Each entry carries
/// Codex's prompt (~21 KB); measured: 400 entries make a 9 MB file and add
/// ~0.25 s and ~65 MB to every Codex start (see docs/models.md).
pub const MAX_LISTED: usize = 100;

/// The reasoning efforts chat gateways take (`reasoning_effort`): what a
/// model that is not the template's own gets of the template's levels.
const GATEWAY_EFFORTS: [&str; 3] = ["low", "medium", "high"];

/// What the gateway's list says about one model; `None`: not said.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Known {
    pub id: String,
    pub context_window: Option<u64>,
    pub reasons: Option<bool>,
    pub input_modalities: Option<Vec<String>>,
}

/// Where an entry's context window comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowFrom {
    /// The gateway's model list.
    Gateway,
    /// Codex's own entry for the same OpenAI model.
    Codex,
    /// Not known: Codex's fallback value, [`FALLBACK_WINDOW`].
    Unknown,
}

/// The entries new ones are made from.
#[derive(Debug, Clone)]
pub struct Templates {
    pub entries: Catalog,
    /// `Some(version)`: `codex debug models --bundled` of that release;
    /// `None`: the built-in one (no Codex binary to ask).
    pub codex: Option<String>,
}

/// One entry of Codex 0.133.0's bundled list (`gpt-5.5`; 0.171.0 has the
/// same prompt), for when no Codex binary can be asked. The e2e suite
/// checks it against the real binaries.
const BUILTIN: &str = include_str!("builtin.json");

impl Templates {
    pub fn builtin() -> Templates {
        let entries = serde_json::from_str(BUILTIN).unwrap_or(Catalog {
            models: Vec::new(),
            about: None,
        });
        Templates {
            entries,
            codex: None,
        }
    }

    /// The template for `slug`, and whether it is that model's own entry:
    /// for `openai/NAME`, the entry Codex gives NAME; otherwise the entry
    /// of Codex's default model (the first listed of the lowest priority).
    fn for_slug(&self, slug: &str) -> Option<(&Entry, bool)> {
        let own = slug
            .strip_prefix("openai/")
            .and_then(|name| self.entries.find(name));
        if let Some(e) = own {
            return Some((e, true));
        }
        let listed = self
            .entries
            .models
            .iter()
            .filter(|e| e.visibility == "list");
        let default = listed
            .fold(None, |best: Option<&Entry>, e| match best {
                Some(b) if b.priority <= e.priority => Some(b),
                _ => Some(e),
            })
            .or(self.entries.models.first());
        default.map(|e| (e, false))
    }
}

/// The entry for `slug`: the template's prompt and tools, the gateway's
/// facts, `priority` its place in the list.
pub fn entry(
    slug: &str,
    templates: &Templates,
    known: Option<&Known>,
    priority: i64,
) -> Option<(Entry, WindowFrom)> {
    let (t, own) = templates.for_slug(slug)?;
    let (window, from) = match known.and_then(|k| k.context_window) {
        Some(w) => (w, WindowFrom::Gateway),
        None if own && t.context_window.is_some() => (
            t.context_window.unwrap_or(FALLBACK_WINDOW),
            WindowFrom::Codex,
        ),
        None => (FALLBACK_WINDOW, WindowFrom::Unknown),
    };
    let levels = levels(t, own, known.and_then(|k| k.reasons));
    let reasons = !levels.is_empty();
    let default_level = default_level(t, &levels);
    let modalities = match known.and_then(|k| k.input_modalities.as_ref()) {
        Some(m) => Some(modalities(m)),
        None if own => t.input_modalities.clone(),
        None => None,
    };
    let e = Entry {
        slug: slug.to_string(),
        display_name: slug.to_string(),
        description: Some(description(slug)),
        default_reasoning_level: default_level,
        supported_reasoning_levels: levels,
        shell_type: t.shell_type.clone(),
        visibility: "list".into(),
        supported_in_api: true,
        priority,
        base_instructions: Some(prompt(t)),
        supports_reasoning_summaries: Some(reasons),
        default_reasoning_summary: Some(if reasons { "auto" } else { "none" }.into()),
        support_verbosity: own && t.support_verbosity,
        default_verbosity: t
            .default_verbosity
            .clone()
            .filter(|_| own && t.support_verbosity),
        // The bridge turns it into a function tool; Codex rejects "function".
        apply_patch_tool_type: Some("freeform".into()),
        truncation_policy: t.truncation_policy.clone(),
        supports_parallel_tool_calls: Some(true),
        context_window: Some(window),
        max_context_window: Some(window),
        auto_compact_token_limit: None,
        effective_context_window_percent: t.effective_context_window_percent,
        experimental_supported_tools: Vec::new(),
        input_modalities: modalities,
        extra: Default::default(),
    };
    Some((e, from))
}

/// The reasoning levels an entry gets: none when the gateway says the
/// model does not reason; the template's own when it is that model's
/// entry; else, when the gateway says it reasons, the template's levels
/// chat gateways take. Unknown and not OpenAI's: none (as with no entry:
/// Codex then sends no effort).
fn levels(t: &Entry, own: bool, reasons: Option<bool>) -> Vec<ReasoningLevel> {
    match (reasons, own) {
        (Some(false), _) => Vec::new(),
        (_, true) => t.supported_reasoning_levels.clone(),
        (Some(true), false) => t
            .supported_reasoning_levels
            .iter()
            .filter(|l| GATEWAY_EFFORTS.contains(&l.effort.as_str()))
            .cloned()
            .collect(),
        (None, false) => Vec::new(),
    }
}

/// The template's default effort when `levels` has it, else `medium`,
/// else the first; none without levels.
fn default_level(t: &Entry, levels: &[ReasoningLevel]) -> Option<String> {
    let has = |effort: &str| levels.iter().any(|l| l.effort == effort);
    t.default_reasoning_level
        .clone()
        .filter(|l| has(l))
        .or_else(|| has("medium").then(|| "medium".to_string()))
        .or_else(|| levels.first().map(|l| l.effort.clone()))
}

/// The modalities Codex 0.133 and 0.171 both accept, text always.
fn modalities(listed: &[String]) -> Vec<String> {
    let mut out = vec!["text".to_string()];
    if listed.iter().any(|m| m == "image") {
        out.push("image".into());
    }
    out
}

/// The template's system prompt: `base_instructions`, else 0.171's
/// `model_messages.instructions_template`.
fn prompt(t: &Entry) -> String {
    t.base_instructions
        .clone()
        .or_else(|| {
            t.extra
                .get("model_messages")
                .and_then(|m| m.get("instructions_template"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn description(slug: &str) -> String {
    crate::spec::RECOMMENDED_MODELS
        .iter()
        .find(|(m, _)| *m == slug)
        .map(|(_, note)| note.to_string())
        .unwrap_or_else(|| format!("{slug} through OminiGate"))
}

/// What the catalogue says about itself (a field Codex ignores): what it
/// was built from, so that a run can tell when it is stale, and where each
/// window comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct About {
    /// The Codex whose bundled entries were the templates; `None`: the
    /// built-in template.
    pub codex: Option<String>,
    /// A fingerprint of the gateway's list the windows came from; `None`:
    /// never read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_list: Option<String>,
    /// Where each entry's window comes from.
    pub windows: BTreeMap<String, WindowFrom>,
}

/// The catalogue for `slugs` (in that order, each once), from `templates`
/// and what is `known` of each; `live_list` the fingerprint of the list
/// `known` was read from. `None` when the templates hold no entry.
pub fn build(
    slugs: &[String],
    templates: &Templates,
    known: &[Known],
    live_list: Option<String>,
) -> Option<Catalog> {
    let mut about = About {
        codex: templates.codex.clone(),
        live_list,
        windows: BTreeMap::new(),
    };
    let mut models = Vec::new();
    for slug in slugs {
        if about.windows.contains_key(slug) {
            continue;
        }
        let k = known.iter().find(|k| &k.id == slug);
        let (e, from) = entry(slug, templates, k, models.len() as i64 + 1)?;
        about.windows.insert(slug.clone(), from);
        models.push(e);
    }
    (!models.is_empty()).then_some(Catalog {
        models,
        about: Some(about),
    })
}

/// A fingerprint of a live list: FNV-1a over what the catalogue takes
/// from it, stable across runs and builds.
pub fn fingerprint(known: &[Known]) -> String {
    let text = serde_json::to_string(known).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: &str, window: Option<u64>, reasons: Option<bool>) -> Known {
        Known {
            id: id.into(),
            context_window: window,
            reasons,
            input_modalities: None,
        }
    }

    #[test]
    fn the_builtin_template_is_codex_gpt_5_5() {
        let t = Templates::builtin();
        assert_eq!(t.entries.models.len(), 1);
        let e = &t.entries.models[0];
        assert_eq!(e.slug, "gpt-5.5");
        assert!(e.base_instructions.as_deref().unwrap_or("").len() > 1000);
        assert!(e.reasons());
    }

    #[test]
    fn the_gateway_window_and_reasoning_win() {
        let t = Templates::builtin();
        let k = known("anthropic/claude-opus-4.6", Some(200_000), Some(true));
        let (e, from) = entry("anthropic/claude-opus-4.6", &t, Some(&k), 3).unwrap();
        assert_eq!(from, WindowFrom::Gateway);
        assert_eq!(
            (e.context_window, e.max_context_window),
            (Some(200_000), Some(200_000))
        );
        assert_eq!(e.auto_compact_token_limit, None, "90% of the window");
        let efforts: Vec<&str> = e
            .supported_reasoning_levels
            .iter()
            .map(|l| l.effort.as_str())
            .collect();
        assert_eq!(
            efforts,
            ["low", "medium", "high"],
            "no xhigh for a gateway model"
        );
        assert_eq!(e.default_reasoning_level.as_deref(), Some("medium"));
        assert_eq!(e.apply_patch_tool_type.as_deref(), Some("freeform"));
        assert_eq!(e.supports_parallel_tool_calls, Some(true));
        assert_eq!(e.priority, 3);
        assert!(!e.support_verbosity);
        assert_eq!(e.base_instructions, t.entries.models[0].base_instructions);
        assert!(e.experimental_supported_tools.is_empty() && e.extra.is_empty());
    }

    #[test]
    fn unknown_is_no_worse_than_fallback() {
        let t = Templates::builtin();
        let (e, from) = entry("anthropic/claude-opus-4.6", &t, None, 1).unwrap();
        assert_eq!(from, WindowFrom::Unknown);
        assert_eq!(e.context_window, Some(FALLBACK_WINDOW));
        assert!(!e.reasons(), "no effort sent, as without an entry");
        assert_eq!(e.supports_reasoning_summaries, Some(false));
        let no = known("x/plain", Some(32_000), Some(false));
        let (e, _) = entry("x/plain", &t, Some(&no), 1).unwrap();
        assert!(!e.reasons());
        assert_eq!(e.context_window, Some(32_000));
    }

    #[test]
    fn openai_models_take_codex_own_entry() {
        let t = Templates::builtin();
        let (e, from) = entry("openai/gpt-5.5-pro", &t, None, 1).unwrap();
        assert_eq!(from, WindowFrom::Codex);
        assert_eq!(e.context_window, Some(272_000));
        let own = &t.entries.models[0];
        assert_eq!(e.supported_reasoning_levels, own.supported_reasoning_levels);
        assert_eq!(e.support_verbosity, own.support_verbosity);
        assert_eq!(e.input_modalities, own.input_modalities);
        // An OpenAI model Codex does not know gets the default's prompt only.
        let (e, from) = entry("openai/o3", &t, None, 1).unwrap();
        assert_eq!(from, WindowFrom::Unknown);
        assert!(!e.reasons());
    }

    #[test]
    fn modalities_are_what_both_releases_accept() {
        let t = Templates::builtin();
        let mut k = known("g/m", None, None);
        k.input_modalities = Some(vec!["image".into(), "audio".into(), "text".into()]);
        let (e, _) = entry("g/m", &t, Some(&k), 1).unwrap();
        assert_eq!(
            e.input_modalities,
            Some(vec!["text".into(), "image".into()])
        );
        k.input_modalities = Some(vec!["audio".into()]);
        let (e, _) = entry("g/m", &t, Some(&k), 1).unwrap();
        assert_eq!(e.input_modalities, Some(vec!["text".into()]));
    }

    #[test]
    fn a_catalogue_has_each_slug_once_and_says_where_windows_come_from() {
        let t = Templates::builtin();
        let slugs: Vec<String> = ["a/x", "openai/gpt-5.5", "a/x", "b/y"]
            .map(String::from)
            .to_vec();
        let k = [known("b/y", Some(1_000_000), None)];
        let c = build(&slugs, &t, &k, Some(fingerprint(&k))).unwrap();
        let got: Vec<&str> = c.models.iter().map(|e| e.slug.as_str()).collect();
        assert_eq!(got, ["a/x", "openai/gpt-5.5", "b/y"]);
        let about = c.about.as_ref().unwrap();
        assert_eq!(about.windows["a/x"], WindowFrom::Unknown);
        assert_eq!(about.windows["openai/gpt-5.5"], WindowFrom::Codex);
        assert_eq!(about.windows["b/y"], WindowFrom::Gateway);
        assert_eq!(about.codex, None);
        let back = Catalog::parse(c.to_json().as_bytes(), std::path::Path::new("m")).unwrap();
        assert_eq!(back, c);
        let empty = Templates {
            entries: Catalog {
                models: vec![],
                about: None,
            },
            codex: None,
        };
        assert!(build(&slugs, &empty, &k, None).is_none());
    }

    #[test]
    fn the_fingerprint_follows_the_list() {
        let a = [known("a", Some(1), None)];
        let b = [known("a", Some(2), None)];
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 16);
    }
}
