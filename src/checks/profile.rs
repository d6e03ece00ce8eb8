//! `profile.location`, `profile.fields` and `resolution`.

use toml_edit::Item;

use super::check::{Check, Status};
use super::provider::skip_if_broken;
use crate::codex::messages;
use crate::codex::version::PROMPT_INPUT;
use crate::setup::Setup;
use crate::setup::diagnose;
use crate::setup::facts::{ProfileLocation, profile_location};
use crate::setup::files::ConfigFile;
use crate::setup::resolve::{Resolved, Run, lookup, origin, resolve};
use crate::spec;
use crate::toml::blocks::PROFILE;

pub const LOCATION: &str = "profile.location";
pub const FIELDS: &str = "profile.fields";
pub const RESOLUTION: &str = "resolution";

const GUIDE_OPENAI: &str =
    "the guide's \"Codex keeps calling api.openai.com instead of OminiGate\"";

pub fn location_check(inp: &Setup) -> Check {
    if let Some(skip) = skip_if_broken(inp, LOCATION) {
        return skip;
    }
    let location = profile_location(inp);
    if inp.file_era() {
        profile_file_location(inp, &location)
    } else {
        table_location(inp, &location)
    }
}

/// Up to Codex 0.133: `[profiles.ominigate]` in the configs it merges.
fn table_location(inp: &Setup, location: &ProfileLocation) -> Check {
    let v = inp.codex.effective();
    let profile_path = inp.home.profile_file();
    match location {
        ProfileLocation::Table { at, .. } => {
            let mut c = Check::ok(
                LOCATION,
                format!("[profiles.ominigate] at {at}, where Codex {v} reads it"),
            );
            if inp.profile.exists() {
                c = c.detail(format!(
                    "{} is ignored by Codex {v} (profile files came in 0.134.0)",
                    profile_path.display()
                ));
            }
            c
        }
        _ => {
            let mut c = Check::fail(
                LOCATION,
                format!("no [profiles.ominigate] where Codex {v} reads the profile"),
            )
            .detail(format!(
                "`codex exec --profile ominigate` stops with: {}",
                messages::profile_not_found(spec::PROFILE_NAME)
            ));
            if inp.profile.exists() {
                c = c.detail(format!(
                    "{} exists, but it is for Codex 0.134+; Codex {v} does not read it",
                    profile_path.display()
                ));
            }
            c.fix(format!(
                "run `{} install`: it writes [profiles.ominigate] for this Codex",
                inp.home.ominigate_codex()
            ))
            .fix(format!(
                "or add [profiles.ominigate] with {} to {}",
                diagnose::profile_lines(spec::MODEL),
                inp.home.config().display()
            ))
        }
    }
}

/// Codex 0.134+: the profile file, with nothing in config.toml that makes
/// Codex refuse it.
fn profile_file_location(inp: &Setup, location: &ProfileLocation) -> Check {
    let v = inp.codex.effective();
    let profile_path = inp.home.profile_file();
    let mut c = Check::ok(
        LOCATION,
        format!(
            "profile in {}, where Codex {v} reads it",
            profile_path.display()
        ),
    );
    c = refused_selectors(inp, c);
    match location {
        ProfileLocation::Legacy { at, .. } => {
            c = c
                .at_least(Status::Fail)
                .detail(format!(
                    "{at}: legacy [profiles.ominigate]; Codex {v} refuses `--profile ominigate` while it is there"
                ))
                .detail(format!(
                    "Codex says: {}",
                    messages::legacy_profile(&at.path, &inp.home.dir)
                ))
                .fixes(diagnose::legacy_table_fixes(at, &inp.home));
        }
        // With the legacy table, Codex refuses before it could fall back,
        // and moving the table (the fix above) creates the file.
        ProfileLocation::Missing => {
            c = c
                .at_least(Status::Fail)
                .detail(format!(
                    "{} does not exist: `codex --profile ominigate` silently runs on the defaults (the OpenAI provider), {GUIDE_OPENAI}",
                    profile_path.display()
                ))
                .fix(format!("run `{} install`", inp.home.ominigate_codex()))
                .fix(format!(
                    "or create {} with {}",
                    profile_path.display(),
                    diagnose::profile_lines(spec::MODEL)
                ));
        }
        _ => {}
    }
    if c.status == Status::Fail {
        c.summary = format!("the profile is not where Codex {v} reads it, or Codex {v} refuses it");
    }
    c
}

/// A top-level `profile = "NAME"` in the configs Codex merges, which
/// Codex 0.134+ refuses on every run.
fn refused_selectors(inp: &Setup, mut c: Check) -> Check {
    let v = inp.codex.effective();
    for f in inp.view().base() {
        if let Some((name, place)) = diagnose::selector(f) {
            c = c
                .at_least(Status::Fail)
                .detail(format!(
                    "{place}: `profile = \"{name}\"` makes Codex {v} refuse every run, with or without --profile"
                ))
                .detail(format!("Codex says: {}", messages::legacy_selector(&name)))
                .fixes(diagnose::selector_fixes(&name, &place, &inp.home.ominigate_codex()));
        }
    }
    c
}

/// Where the profile's own keys live for this Codex.
struct Profile<'a> {
    file: &'a ConfigFile,
    prefix: Vec<&'static str>,
}

impl Profile<'_> {
    fn keys<'k>(&self, key: &'k str) -> Vec<&'k str> {
        let mut keys: Vec<&str> = self.prefix.clone();
        keys.push(key);
        keys
    }

    fn get(&self, key: &str) -> Option<&Item> {
        self.file.get(&self.keys(key))
    }

    fn add(&self, key: &str, value: &str) -> String {
        if self.prefix.is_empty() {
            format!("add `{key} = {value}` to {}", self.file.path.display())
        } else {
            format!(
                "add `{key} = {value}` to [profiles.ominigate] at {}",
                self.file.place(&self.prefix)
            )
        }
    }

    fn change(&self, key: &str, value: &str) -> String {
        format!(
            "{}: set `{key} = {value}`",
            self.file.quote(&self.keys(key))
        )
    }
}

/// The profile's keys where this Codex reads them (see [`profile_location`]).
fn find_profile(inp: &Setup) -> Option<Profile<'_>> {
    match profile_location(inp) {
        ProfileLocation::Table { file, .. } => Some(Profile {
            file,
            prefix: PROFILE.keys().to_vec(),
        }),
        ProfileLocation::File(file)
        | ProfileLocation::Legacy {
            file: Some(file), ..
        } => Some(Profile {
            file,
            prefix: Vec::new(),
        }),
        ProfileLocation::Legacy { file: None, .. }
        | ProfileLocation::Unloadable
        | ProfileLocation::Missing => None,
    }
}

pub fn fields_check(inp: &Setup) -> Check {
    if let Some(skip) = skip_if_broken(inp, FIELDS) {
        return skip;
    }
    let Some(p) = find_profile(inp) else {
        return Check::skip(
            FIELDS,
            format!(
                "no profile where Codex {} reads it (see {LOCATION})",
                inp.codex.effective()
            ),
        );
    };
    let resolved = resolve(&inp.view(), Run::Profile);
    let c = provider_field(Check::ok(FIELDS, ""), &p, &resolved);
    let (mut c, model) = model_field(c, &p, &resolved);
    if let Some(m) = &model
        && !spec::RECOMMENDED_MODELS.iter().any(|(r, _)| r == m)
    {
        c = c.detail(format!(
            "model \"{m}\" is not one of the guide's recommended models ({})",
            spec::RECOMMENDED_MODELS
                .iter()
                .map(|(r, _)| *r)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    c.summary = match (c.status, &model) {
        (Status::Ok, Some(m)) => format!("model = \"{m}\", model_provider = \"ominigate\""),
        _ => "the profile does not fully select OminiGate".to_string(),
    };
    c
}

/// The profile's `model_provider`: set to OminiGate, another, or inherited.
fn provider_field(c: Check, p: &Profile, resolved: &Resolved) -> Check {
    let provider_value = format!("\"{}\"", spec::PROVIDER_ID);
    match p.get("model_provider") {
        Some(item) if item.as_str() == Some(spec::PROVIDER_ID) => c,
        Some(item) => {
            let shown = item.as_str().map_or_else(
                || crate::toml::blocks::type_name(item).to_string(),
                |s| format!("\"{s}\""),
            );
            c.at_least(Status::Fail)
                .detail(format!(
                    "model_provider is {shown}: `codex --profile ominigate` does not use OminiGate"
                ))
                .fix(p.change("model_provider", &provider_value))
        }
        None if resolved.provider.value == spec::PROVIDER_ID => c
            .at_least(Status::Warn)
            .detail(format!(
                "model_provider is not set in the profile; it is inherited ({})",
                origin(&resolved.provider)
            ))
            .fix(p.add("model_provider", &provider_value)),
        None => c
            .at_least(Status::Fail)
            .detail(format!(
                "model_provider is not set: `codex --profile ominigate` uses {} ({}), {GUIDE_OPENAI}",
                resolved.provider.value,
                origin(&resolved.provider)
            ))
            .fix(p.add("model_provider", &provider_value)),
    }
}

/// The profile's `model`, when it is a valid model id set in the profile.
fn model_field(c: Check, p: &Profile, resolved: &Resolved) -> (Check, Option<String>) {
    let model_value = format!("\"{}\"", spec::MODEL);
    let Some(item) = p.get("model") else {
        let c = match &resolved.model {
            Some(inherited) => c.at_least(Status::Warn).detail(format!(
                "model is not set in the profile; \"{}\" is inherited ({})",
                inherited.value,
                origin(inherited)
            )),
            None => c.at_least(Status::Fail).detail(
                "model is not set: Codex would ask OminiGate for its own built-in default model name, which is not an OminiGate model id",
            ),
        };
        return (c.fix(p.add("model", &model_value)), None);
    };
    match item.as_str() {
        Some(m) => match spec::check_model(m) {
            Ok(()) => (c, Some(m.to_string())),
            Err(e) => (
                c.at_least(Status::Fail)
                    .detail(e.to_string())
                    .fix(p.change("model", &model_value)),
                None,
            ),
        },
        None => (
            c.at_least(Status::Fail)
                .detail(format!(
                    "model is {}, not a string",
                    crate::toml::blocks::type_name(item)
                ))
                .fix(p.change("model", &model_value)),
            None,
        ),
    }
}

fn describe(inp: &Setup, r: &Resolved) -> Vec<String> {
    let cmd = r.run.command();
    if let Some(refusal) = &r.refusal {
        return vec![format!(
            "{cmd}: Codex refuses to start: {}",
            refusal.codex_says
        )];
    }
    let mut lines = vec![format!(
        "{cmd}: provider {} ({})",
        r.provider.value,
        origin(&r.provider)
    )];
    if let Some((url, f)) = lookup(
        &match r.run {
            Run::Profile => inp.profile_stack(),
            Run::Plain => inp.view().base(),
        },
        &["model_providers", &r.provider.value, "base_url"],
    )
    .and_then(|(item, f)| Some((item.as_str()?, f)))
    {
        let keys = ["model_providers", r.provider.value.as_str(), "base_url"];
        lines.push(format!("    base_url {url} (from {})", f.place(&keys)));
    }
    match &r.model {
        Some(m) => lines.push(format!("    model {} ({})", m.value, origin(m))),
        None => lines.push("    model: Codex's built-in default".into()),
    }
    lines.extend(r.notes.iter().map(|n| format!("    {n}")));
    lines
}

pub fn resolution_check(inp: &Setup) -> Check {
    if let Some(skip) = skip_if_broken(inp, RESOLUTION) {
        return skip;
    }
    let view = inp.view();
    let profile = resolve(&view, Run::Profile);
    let plain = resolve(&view, Run::Plain);
    let summary = format!(
        "`codex --profile ominigate` → {}; plain `codex` → {}",
        profile.outcome(),
        plain.outcome()
    );
    let mut c = Check::ok(RESOLUTION, summary)
        .details(describe(inp, &profile))
        .details(describe(inp, &plain));
    let mut order: Vec<String> = Vec::new();
    if let Some(p) = view.profile_file {
        order.push(format!("{} (with --profile)", p.path.display()));
    }
    order.extend(view.projects.iter().map(|f| f.path.display().to_string()));
    order.extend(view.user.map(|f| f.path.display().to_string()));
    order.extend(view.system.map(|f| f.path.display().to_string()));
    order.push("built-in defaults".into());
    c = c.detail(format!("precedence, highest first: {}", order.join(" > ")));

    for r in [&profile, &plain] {
        if let Some(refusal) = &r.refusal {
            c = c.at_least(Status::Fail).fixes(refusal.fixes.clone());
        }
    }
    if profile.refusal.is_none() && !profile.uses_ominigate() {
        c = c.at_least(Status::Fail).detail(format!(
            "`codex --profile ominigate` uses {}, not OminiGate: {GUIDE_OPENAI}",
            profile.provider.value
        ));
        c = c.fix(format!(
            "run `{} install`, then doctor again (see {LOCATION} and {FIELDS} for the exact lines)",
            inp.home.ominigate_codex()
        ));
    }
    if plain.refusal.is_none() && !plain.uses_ominigate() {
        c = c.detail(format!(
            "plain `codex` stays on its own provider (OminiGate is opt-in); to make OminiGate the default: `{} install --default`",
            inp.home.ominigate_codex()
        ));
    }
    if inp.codex.effective() < PROMPT_INPUT {
        c = c.detail(format!(
            "put --profile after exec: `{} exec --profile ominigate \"…\"` (up to 0.94.0, `codex --profile ominigate exec …` silently ignores the profile and calls api.openai.com)",
            inp.home.codex()
        ));
    }
    c
}
