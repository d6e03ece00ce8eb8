//! The model catalogue: `$CODEX_HOME/ominigate-models.json`, the file that
//! `model_catalog_json` in the `ominigate` profile points Codex at, so that
//! Codex knows OminiGate's models (their context window, whether they
//! reason, which tools to offer) instead of using its fallback metadata.
//!
//! This module is the file's types, its reader and writer, and Codex's rule
//! for which entry a model slug gets ([`Catalog::find`]). What goes into it
//! is built elsewhere; see `docs/models.md`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod build;

pub use build::{About, Known, Templates, WindowFrom};

/// The catalogue's file name, in the Codex home beside the profile.
pub const FILE_NAME: &str = "ominigate-models.json";

/// `{"models": [ModelInfo…]}` in Codex's schema. Codex refuses a catalogue
/// without a model, so [`Catalog::parse`] does too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub models: Vec<Entry>,
    /// What ominigate-codex built it from (Codex ignores the field).
    #[serde(
        default,
        rename = "ominigate_codex",
        skip_serializing_if = "Option::is_none"
    )]
    pub about: Option<About>,
}

/// One `ModelInfo` (`codex-rs/protocol/src/openai_models.rs`). The fields
/// both 0.133 and 0.171 require are required here; the ones only one of
/// them requires are optional, and written whenever set. Every other field
/// (a bundled entry's `model_messages`, `service_tiers`, …) is kept as read
/// in `extra`, so an entry copied from Codex is written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub slug: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reasoning_level: Option<String>,
    pub supported_reasoning_levels: Vec<ReasoningLevel>,
    pub shell_type: String,
    pub visibility: String,
    pub supported_in_api: bool,
    pub priority: i64,
    /// The system prompt Codex sends; `""` means none at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_instructions: Option<String>,
    /// Required by 0.133 (0.171 ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_reasoning_summaries: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reasoning_summary: Option<String>,
    pub support_verbosity: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_verbosity: Option<String>,
    /// `"freeform"` or none: Codex rejects `"function"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_patch_tool_type: Option<String>,
    pub truncation_policy: Truncation,
    /// Required by 0.133 (0.171 ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_parallel_tool_calls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context_window: Option<u64>,
    /// Codex compacts at this many tokens; unset, at 90% of the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_compact_token_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_context_window_percent: Option<u64>,
    pub experimental_supported_tools: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_modalities: Option<Vec<String>>,
    /// Every other field, as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One of `supported_reasoning_levels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningLevel {
    pub effort: String,
    pub description: String,
}

/// `truncation_policy`: how much of a tool's output Codex keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// `bytes` or `tokens`.
    pub mode: String,
    pub limit: u64,
}

impl Entry {
    /// Whether the model takes a reasoning effort: Codex sends one only
    /// when `supported_reasoning_levels` is not empty.
    pub fn reasons(&self) -> bool {
        !self.supported_reasoning_levels.is_empty()
    }
}

/// Why a catalogue could not be read.
#[derive(Debug)]
pub enum CatalogError {
    /// The file could not be read (`NotFound`: there is none).
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// Not a catalogue: not JSON, or a field missing or of the wrong type.
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// `{"models": []}`: Codex will not start with it.
    Empty { path: PathBuf },
}

impl CatalogError {
    /// There is no file at all.
    pub fn is_missing(&self) -> bool {
        matches!(self, CatalogError::Io { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Io { path, error } => {
                write!(f, "cannot read {}: {error}", path.display())
            }
            CatalogError::Invalid {
                path,
                line,
                column,
                message,
            } => write!(
                f,
                "{}:{line}:{column}: not a model catalogue: {message}",
                path.display()
            ),
            CatalogError::Empty { path } => write!(
                f,
                "{} lists no model (Codex needs at least one)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CatalogError {}

impl Catalog {
    /// Read and parse the catalogue at `path`.
    pub fn read(path: &Path) -> Result<Catalog, CatalogError> {
        let bytes = std::fs::read(path).map_err(|error| CatalogError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Catalog::parse(&bytes, path)
    }

    /// Parse a catalogue's bytes; `path` only names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Catalog, CatalogError> {
        let catalog: Catalog =
            serde_json::from_slice(bytes).map_err(|e| CatalogError::Invalid {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        if catalog.models.is_empty() {
            return Err(CatalogError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(catalog)
    }

    /// The file's text: pretty JSON, one final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The entry Codex uses for `slug`, or `None` when Codex falls back to
    /// its generic metadata. Codex's rule (`models-manager`): the longest
    /// catalogue slug that is a prefix of `slug` (the first one listed on a
    /// tie); failing that, the same once more with one `vendor/` namespace
    /// of `[A-Za-z0-9_-]` stripped. Case-sensitive.
    pub fn find(&self, slug: &str) -> Option<&Entry> {
        self.longest_prefix(slug)
            .or_else(|| without_namespace(slug).and_then(|rest| self.longest_prefix(rest)))
    }

    /// Whether `slug` reasons, per its entry; `None` when it has none.
    pub fn reasons(&self, slug: &str) -> Option<bool> {
        self.find(slug).map(Entry::reasons)
    }

    /// The entry whose slug is exactly `slug`.
    pub fn exact(&self, slug: &str) -> Option<&Entry> {
        self.models.iter().find(|e| e.slug == slug)
    }

    fn longest_prefix(&self, slug: &str) -> Option<&Entry> {
        self.models
            .iter()
            .filter(|e| slug.starts_with(e.slug.as_str()))
            .fold(None, |best: Option<&Entry>, e| match best {
                Some(b) if b.slug.len() >= e.slug.len() => Some(b),
                _ => Some(e),
            })
    }
}

/// `slug` without its first `vendor/` part, when that part is a namespace
/// Codex strips (one or more of `[A-Za-z0-9_-]`).
fn without_namespace(slug: &str) -> Option<&str> {
    let (ns, rest) = slug.split_once('/')?;
    let plain = !ns.is_empty()
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plain.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(slug: &str, reasons: bool) -> Entry {
        let levels = if reasons {
            vec![ReasoningLevel {
                effort: "medium".into(),
                description: "balanced".into(),
            }]
        } else {
            vec![]
        };
        Entry {
            slug: slug.into(),
            display_name: slug.into(),
            description: None,
            default_reasoning_level: None,
            supported_reasoning_levels: levels,
            shell_type: "shell_command".into(),
            visibility: "list".into(),
            supported_in_api: true,
            priority: 1,
            base_instructions: Some("You are Codex.".into()),
            supports_reasoning_summaries: Some(reasons),
            default_reasoning_summary: None,
            support_verbosity: false,
            default_verbosity: None,
            apply_patch_tool_type: Some("freeform".into()),
            truncation_policy: Truncation {
                mode: "tokens".into(),
                limit: 10_000,
            },
            supports_parallel_tool_calls: Some(true),
            context_window: Some(200_000),
            max_context_window: Some(200_000),
            auto_compact_token_limit: None,
            effective_context_window_percent: None,
            experimental_supported_tools: vec![],
            input_modalities: None,
            extra: Map::new(),
        }
    }

    fn catalog(slugs: &[(&str, bool)]) -> Catalog {
        Catalog {
            models: slugs.iter().map(|(s, r)| entry(s, *r)).collect(),
            about: None,
        }
    }

    fn found<'a>(c: &'a Catalog, slug: &str) -> Option<&'a str> {
        c.find(slug).map(|e| e.slug.as_str())
    }

    #[test]
    fn the_longest_prefix_wins_then_one_namespace_is_stripped() {
        let c = catalog(&[
            ("gpt-5.4", true),
            ("gpt-5.4-mini", false),
            ("anthropic/claude-opus-4.6", true),
        ]);
        assert_eq!(found(&c, "gpt-5.4-mini-2"), Some("gpt-5.4-mini"));
        assert_eq!(found(&c, "gpt-5.4-pro"), Some("gpt-5.4"));
        // Codex 0.133 ran openai/gpt-5.4-pro with the bundled gpt-5.4.
        assert_eq!(found(&c, "openai/gpt-5.4-pro"), Some("gpt-5.4"));
        assert_eq!(
            found(&c, "anthropic/claude-opus-4.6"),
            Some("anthropic/claude-opus-4.6")
        );
        assert_eq!(found(&c, "gpt-5"), None);
    }

    #[test]
    fn what_codex_does_not_strip_falls_back() {
        let c = catalog(&[("gpt-5.4", true), ("b", true)]);
        assert_eq!(found(&c, "openrouter/a/b"), None, "two namespaces");
        assert_eq!(found(&c, "x.ai/gpt-5.4"), None, "a dot in the namespace");
        assert_eq!(found(&c, "/gpt-5.4"), None, "an empty namespace");
        assert_eq!(found(&c, "GPT-5.4"), None, "case-sensitive");
        assert_eq!(found(&c, "openai/GPT-5.4"), None);
        assert_eq!(found(&c, "my_org-2/gpt-5.4"), Some("gpt-5.4"));
    }

    #[test]
    fn an_exact_slug_beats_the_stripped_one_and_ties_go_to_the_first() {
        let mut c = catalog(&[("gpt-5.4", false), ("openai/gpt-5.4", true)]);
        assert_eq!(found(&c, "openai/gpt-5.4"), Some("openai/gpt-5.4"));
        c.models.push(entry("openai/gpt-5.4", false));
        assert_eq!(c.reasons("openai/gpt-5.4"), Some(true));
    }

    #[test]
    fn reasons_follows_the_levels() {
        let c = catalog(&[("a/thinks", true), ("a/plain", false)]);
        assert_eq!(c.reasons("a/thinks"), Some(true));
        assert_eq!(c.reasons("a/plain"), Some(false));
        assert_eq!(c.reasons("a/other"), None);
        assert_eq!(c.exact("a/plain").map(|e| e.slug.as_str()), Some("a/plain"));
        assert!(c.exact("a/pla").is_none());
    }

    #[test]
    fn a_written_catalogue_reads_back_with_unknown_fields_kept() {
        let mut c = catalog(&[("a/b", true)]);
        c.models[0]
            .extra
            .insert("model_messages".into(), serde_json::json!({"x": [1]}));
        let text = c.to_json();
        assert!(text.ends_with("}\n"), "{text}");
        let back = Catalog::parse(text.as_bytes(), Path::new("m.json")).unwrap();
        assert_eq!(back, c);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["models"][0]["model_messages"]["x"][0], 1);
        assert!(
            v["models"][0].get("description").is_none(),
            "unset is left out"
        );
    }

    #[test]
    fn bad_catalogues_say_where_and_why() {
        let p = Path::new("/h/ominigate-models.json");
        let e = Catalog::parse(b"{\"models\": [}", p).unwrap_err();
        assert!(
            e.to_string().starts_with("/h/ominigate-models.json:1:"),
            "{e}"
        );
        let e = Catalog::parse(br#"{"models": [{"slug": "a"}]}"#, p).unwrap_err();
        assert!(e.to_string().contains("missing field"), "{e}");
        let e = Catalog::parse(br#"{"models": []}"#, p).unwrap_err();
        assert!(matches!(e, CatalogError::Empty { .. }), "{e}");
        let e = Catalog::read(Path::new("/nonexistent/ominigate-models.json")).unwrap_err();
        assert!(e.is_missing(), "{e}");
        let e = Catalog::parse(&[0xff, 0xfe], p).unwrap_err();
        assert!(!e.is_missing() && e.to_string().contains("not a model catalogue"));
    }

    #[test]
    fn codex_bundled_entries_parse() {
        // The shape `codex debug models --bundled` prints (0.171: no
        // supports_parallel_tool_calls, extra fields of its own).
        let text = r#"{"models":[{"slug":"gpt-5.5","display_name":"GPT-5.5",
            "supported_reasoning_levels":[{"effort":"low","description":"Fast"}],
            "shell_type":"unified_exec","visibility":"list","supported_in_api":true,
            "priority":1,"model_messages":{"instructions_template":"T"},
            "support_verbosity":true,"truncation_policy":{"mode":"tokens","limit":10000},
            "context_window":500000,"experimental_supported_tools":["clock"],
            "tool_mode":"code_mode_only","base_instructions":"B"}]}"#;
        let c = Catalog::parse(text.as_bytes(), Path::new("b")).unwrap();
        let e = &c.models[0];
        assert_eq!(e.context_window, Some(500_000));
        assert_eq!(e.supports_parallel_tool_calls, None);
        assert_eq!(e.extra["tool_mode"], "code_mode_only");
        assert!(e.reasons());
    }
}
