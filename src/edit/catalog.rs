//! The model catalogue a run leaves beside the profile (see
//! [`crate::catalog`]): entries for the profile's model, the guide's four,
//! the ones already in it and, when it was read, the gateway's list; built
//! from the installed Codex's own entries and checked by that Codex before
//! anything is written. install and `use` rebuild it on every run, so it
//! follows the installed Codex; they read the live list with the key set
//! (unless `--offline`), and `models --refresh` reads it on demand.

use std::path::PathBuf;

use anyhow::Result;

use super::Docs;
use crate::catalog::build::{self, MAX_LISTED, Templates};
use crate::catalog::{Catalog, Known, WindowFrom};
use crate::codex::binary::Codex;
use crate::codex::models;
use crate::error::{Failure, Kind};
use crate::spec;

/// Where a catalogue's entries come from.
#[derive(Debug)]
pub enum Source {
    /// The installed Codex's bundled list; that Codex checks the result.
    Codex {
        templates: Templates,
        binary: PathBuf,
    },
    /// No Codex binary to ask: the built-in template, not checked.
    BuiltIn(Templates),
    /// No catalogue for this Codex: `why`.
    None(String),
}

impl Source {
    pub fn of(codex: &Codex) -> Source {
        let version = codex.effective();
        if !codex.layout().catalog {
            return Source::None(format!(
                "Codex {version} reads no model catalogue (`model_catalog_json` came with 0.95)"
            ));
        }
        let Some(binary) = codex.binary() else {
            return Source::BuiltIn(Templates::builtin());
        };
        match models::bundled(binary) {
            Ok(entries) if !entries.models.is_empty() => Source::Codex {
                templates: Templates {
                    entries,
                    codex: Some(version.to_string()),
                },
                binary: binary.to_path_buf(),
            },
            Ok(_) => Source::None(format!(
                "`{} debug models --bundled` listed no model",
                binary.display()
            )),
            Err(e) => Source::None(format!(
                "`{} debug models --bundled` gave no model list ({e})",
                binary.display()
            )),
        }
    }

    /// Whether the profile points Codex at a catalogue.
    pub fn writes(&self) -> bool {
        !matches!(self, Source::None(_))
    }
}

/// What a rebuild did, for the report.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// How many models the catalogue has.
    pub models: usize,
    /// The models whose window nobody said (Codex's fallback value used).
    pub unknown: Vec<String>,
    /// How many models of the live list got no entry (past [`MAX_LISTED`]).
    pub capped: Option<usize>,
    /// Not checked against a Codex binary.
    pub unchecked: bool,
    /// Built with the gateway's list, read now.
    pub live: bool,
}

/// The catalogue in `docs`, when it is one this tool wrote.
pub fn ours(docs: &Docs) -> Option<Catalog> {
    let bytes = docs.catalog.as_deref()?;
    let c = Catalog::parse(bytes, std::path::Path::new(crate::catalog::FILE_NAME)).ok()?;
    c.about.is_some().then_some(c)
}

/// Rebuild the catalogue in `docs` for the profile's `model`, with `live`
/// (the gateway's list) when it was read. What the gateway said before is
/// kept when it was not read now. The result is loaded by the installed
/// Codex first: if it refuses it, nothing is written and this says why.
/// `me` is this tool as the user runs it on this Codex home
/// ([`crate::paths::CodexHome::ominigate_codex`]), for that message.
pub fn rebuild(
    docs: &mut Docs,
    source: &Source,
    model: &str,
    live: Option<&[Known]>,
    me: &str,
) -> Result<Rebuilt> {
    let (templates, binary) = match source {
        Source::Codex { templates, binary } => (templates, Some(binary)),
        Source::BuiltIn(templates) => (templates, None),
        Source::None(_) => return Ok(Rebuilt::default()),
    };
    let existing = ours(docs);
    // What it had first, in its order, so that `use` of a listed model
    // changes nothing here.
    let mut slugs: Vec<String> = existing
        .iter()
        .flat_map(|c| c.models.iter().map(|e| e.slug.clone()))
        .collect();
    slugs.push(model.to_string());
    slugs.extend(spec::RECOMMENDED_MODELS.iter().map(|(m, _)| m.to_string()));
    let (known, fingerprint, capped) = match (live, &existing) {
        (Some(list), _) => {
            let capped = add_listed(&mut slugs, model, list);
            (list.to_vec(), Some(build::fingerprint(list)), capped)
        }
        (None, Some(c)) => {
            let list = c.about.as_ref().and_then(|a| a.live_list.clone());
            (told_before(c), list, None)
        }
        (None, None) => (Vec::new(), None, None),
    };
    let Some(catalog) = build::build(&slugs, templates, &known, fingerprint) else {
        return Ok(Rebuilt::default());
    };
    let text = catalog.to_json();
    // What is on disk already was checked when it was written.
    if let Some(binary) = binary.filter(|_| docs.catalog.as_deref() != Some(text.as_bytes())) {
        check(binary, &text, &catalog, me)?;
    }
    let unknown = catalog
        .about
        .iter()
        .flat_map(|a| &a.windows)
        .filter(|(_, from)| **from == WindowFrom::Unknown)
        .map(|(slug, _)| slug.clone())
        .collect();
    docs.catalog = Some(text.into_bytes());
    Ok(Rebuilt {
        models: catalog.models.len(),
        unknown,
        capped,
        unchecked: binary.is_none(),
        live: live.is_some(),
    })
}

/// Add the live list's models to `slugs`, in the list's order, while the
/// catalogue holds fewer than [`MAX_LISTED`] of them besides the profile's
/// `model` and the guide's (the ones it has already count, so refreshes do
/// not grow it). Returns how many were left out, if any. Ids come as they
/// may be shown (a key masked, unsafe characters escaped): one that is not
/// a valid model id gets no entry.
fn add_listed(slugs: &mut Vec<String>, model: &str, list: &[Known]) -> Option<usize> {
    let pinned = |s: &str| s == model || spec::RECOMMENDED_MODELS.iter().any(|(m, _)| *m == s);
    let listed = |s: &str| list.iter().any(|k| k.id == s);
    let held = slugs.iter().filter(|s| listed(s) && !pinned(s)).count();
    let room = MAX_LISTED.saturating_sub(held);
    let fresh: Vec<String> = list
        .iter()
        .filter(|k| !slugs.contains(&k.id) && spec::check_model(&k.id).is_ok())
        .map(|k| k.id.clone())
        .collect();
    let left_out = fresh.len().saturating_sub(room);
    slugs.extend(fresh.into_iter().take(room));
    (left_out > 0).then_some(left_out)
}

/// What an earlier catalogue had from the gateway.
fn told_before(c: &Catalog) -> Vec<Known> {
    let from_gateway = |slug: &str| {
        c.about.as_ref().and_then(|a| a.windows.get(slug)) == Some(&WindowFrom::Gateway)
    };
    c.models
        .iter()
        .filter(|e| from_gateway(&e.slug))
        .map(|e| Known {
            id: e.slug.clone(),
            context_window: e.context_window,
            reasons: Some(e.reasons()),
            input_modalities: e.input_modalities.clone(),
        })
        .collect()
}

/// The installed Codex loads `text` and lists every model of `catalog`.
fn check(binary: &std::path::Path, text: &str, catalog: &Catalog, me: &str) -> Result<()> {
    let refused = |why: String| -> anyhow::Error {
        Failure::new(
            Kind::Failure,
            format!(
                "the Codex at {} does not load the model catalogue ominigate-codex made for it: {why}",
                binary.display()
            ),
        )
        .help(format!(
            "nothing was written; run `{me} doctor`, and report this with `codex --version`"
        ))
        .into()
    };
    let loaded = models::load_text(binary, text).map_err(|e| refused(e.to_string()))?;
    let missing: Vec<&str> = catalog
        .models
        .iter()
        .map(|e| e.slug.as_str())
        .filter(|s| loaded.exact(s).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(refused(format!("it does not list {}", missing.join(", "))));
    }
    Ok(())
}

/// Uninstall: remove the catalogue when this tool wrote it. Returns the
/// note to print, if any.
pub fn remove(docs: &mut Docs) -> Option<String> {
    ours(docs)?;
    docs.catalog = None;
    Some(format!(
        "removed {} (the model metadata the profile pointed Codex at)",
        crate::catalog::FILE_NAME
    ))
}

/// The lines a run prints about the catalogue it wrote.
/// `me` is this tool as the user runs it on this Codex home
/// ([`crate::paths::CodexHome::ominigate_codex`]).
pub fn report(r: &Rebuilt, source: &Source, key_name: &str, me: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if let Source::None(why) = source {
        lines.push(format!(
            "no model catalogue: {why}; Codex uses its fallback metadata for OminiGate's models"
        ));
        return lines;
    }
    if r.models == 0 {
        return lines;
    }
    lines.push(format!(
        "model metadata for {} models in {} (pointed at by the profile{})",
        r.models,
        crate::catalog::FILE_NAME,
        match source {
            Source::Codex { .. } => ", loaded by your Codex first",
            _ => "",
        }
    ));
    if let Some(n) = r.capped {
        lines.push(format!(
            "{n} more models of the gateway's list have no entry (at most {MAX_LISTED} get one: each adds to Codex's start-up); `{me} use MODEL` adds any of them"
        ));
    }
    if r.unchecked {
        lines.push(format!("not checked against Codex (no binary was run): the entries come from the built-in template; run `{me} install` again with Codex on PATH to take its own"));
    }
    if !r.unknown.is_empty() && r.live {
        lines.push(format!(
            "not in OminiGate's list, so their context window is unknown (Codex's fallback, 272,000 tokens, is used): {}",
            r.unknown.join(", ")
        ));
    } else if !r.unknown.is_empty() {
        lines.push(format!(
            "context window unknown for {}: Codex's fallback (272,000 tokens) is used until `{me} models --refresh` reads OminiGate's list (needs {key_name})",
            r.unknown.join(", ")
        ));
    }
    lines
}
