//! `model.metadata`: does Codex know the profile's model (its window,
//! whether it reasons, which tools to offer), or will it use its fallback
//! metadata? And does the model catalogue the profile names load at all
//! (Codex stops without it)?

use super::check::Check;
use crate::catalog::{Catalog, WindowFrom};
use crate::codex::models;
use crate::setup::Setup;
use crate::setup::facts::{self, InUse};

pub const METADATA: &str = "model.metadata";

/// The fix when there is no catalogue, or it does not load.
fn install(inp: &Setup) -> String {
    format!(
        "run `{} install`: it writes ominigate-models.json and points the profile at it",
        inp.home.ominigate_codex()
    )
}

pub fn check(inp: &Setup) -> Check {
    if !inp.layout().catalog {
        return Check::skip(
            METADATA,
            format!(
                "Codex {} reads no model catalogue: it has no window for OminiGate's models and never compacts",
                inp.codex.effective()
            ),
        );
    }
    let in_use = InUse::of(inp);
    let Some(model) = in_use.profile else {
        return Check::skip(METADATA, "no `ominigate` profile on OminiGate");
    };
    let check = profile_check(inp, &model);
    match in_use.default {
        // The catalogue is the profile's: plain `codex` has Codex's own list.
        Some(plain) => check.detail(format!(
            "plain `codex` (install --default) runs {plain} without the catalogue: use `codex --profile ominigate` for its metadata"
        )),
        None => check,
    }
}

/// What `codex --profile ominigate` knows of its `model`.
fn profile_check(inp: &Setup, model: &str) -> Check {
    let model = model.to_string();
    match facts::catalog(inp) {
        Some((path, at)) => match Catalog::read(&path) {
            Ok(c) => with_catalog(inp, &model, &c, &at.to_string()),
            Err(e) => Check::fail(METADATA, format!("the model catalogue does not load: {e}"))
                .detail(format!(
                    "set by model_catalog_json at {at}; Codex stops at start-up without it"
                ))
                .fix(install(inp)),
        },
        None => bundled_only(inp, &model),
    }
}

/// The profile names a catalogue that loads.
fn with_catalog(inp: &Setup, model: &str, c: &Catalog, at: &str) -> Check {
    let Some(e) = c.find(model) else {
        return Check::warn(
            METADATA,
            format!("{model} has no entry in the model catalogue: Codex uses its fallback metadata (a 272k window, no apply_patch)"),
        )
        .detail(format!("the catalogue is set at {at}"))
        .fix(format!(
            "{} use {model}   (adds its entry)",
            inp.home.ominigate_codex()
        ));
    };
    let from = c.about.as_ref().and_then(|a| a.windows.get(&e.slug));
    let window = e
        .context_window
        .map_or("no window".into(), |w| format!("a {w}-token window"));
    let source = match from {
        Some(WindowFrom::Gateway) => " (from OminiGate's list)",
        Some(WindowFrom::Codex) => " (Codex's own entry for the model)",
        Some(WindowFrom::Unknown) => " (unknown: Codex's fallback value)",
        None => "",
    };
    let reasons = if e.reasons() {
        "reasons"
    } else {
        "no reasoning effort"
    };
    let mut check = Check::ok(
        METADATA,
        format!("{model}: entry `{}`, {window}{source}, {reasons}", e.slug),
    );
    if from == Some(&WindowFrom::Unknown) {
        check = check.detail(format!(
            "run `{} models --refresh` to read its window from OminiGate",
            inp.home.ominigate_codex()
        ));
    }
    let built_for = c.about.as_ref().and_then(|a| a.codex.as_deref());
    match (built_for, inp.codex.binary().and(inp.codex.version())) {
        (Some(was), Some(now)) if was != now.to_string() => Check::warn(
            METADATA,
            format!(
                "the model catalogue was built from Codex {was}'s entries; this is Codex {now}"
            ),
        )
        .detail(check.summary)
        .fix(format!(
            "run `{} install` to rebuild it from this Codex's own prompts",
            inp.home.ominigate_codex()
        )),
        _ => check,
    }
}

/// No catalogue: Codex's bundled list is all it has.
fn bundled_only(inp: &Setup, model: &str) -> Check {
    let own = inp
        .codex
        .binary()
        .and_then(|b| models::bundled(b).ok())
        .and_then(|c| c.find(model).map(|e| e.slug.clone()));
    match own {
        Some(slug) => Check::ok(
            METADATA,
            format!("{model}: Codex's own entry `{slug}` (no model catalogue)"),
        ),
        None => Check::warn(
            METADATA,
            format!("Codex uses its fallback metadata for {model}: no model catalogue, and its own list has no such model"),
        )
        .detail("fallback: a 272k window whatever the model, no apply_patch tool, no reasoning effort")
        .fix(install(inp)),
    }
}
