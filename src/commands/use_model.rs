//! `ominigate-codex use MODEL`: switch the `ominigate` profile's model in
//! place, wherever this Codex reads the profile (`[profiles.ominigate]` or
//! `ominigate.config.toml`), and the top-level `model` too when
//! `install --default` made OminiGate the default.
//!
//! It is install's edit ([`plan`]) with `--model MODEL` and everything else kept
//! (base URL, env var, retries, `--default`, and the wire protocol the
//! config has when this Codex accepts it), so comments and formatting stay
//! and `uninstall` still gives back the original file.

use std::time::Duration;

use anyhow::Result;

use crate::checks;
use crate::cli::UseArgs;
use crate::codex::binary::Codex;
use crate::edit::catalog::{self, Source};
use crate::edit::install::{Options, plan};
use crate::edit::{Files, RecordOrder, finish, not_installed};
use crate::fs;
use crate::gateway::models::{Gateway, Live, close_matches, live_known};
use crate::paths::CodexHome;
use crate::report::{Ui, warning};
use crate::setup::Setup;
use crate::spec::{self, bad_flag};

/// Say whether OminiGate's live list has `model`: a warning when it is
/// reachable and does not. Never stops the switch.
fn check_listed(
    home: &CodexHome,
    model: &str,
    found: Live,
    gw: &Gateway,
    ui: &mut Ui,
) -> Result<()> {
    match found {
        Live::Listed(ids) if ids.iter().any(|id| id == model) => {
            ui.detail(format_args!("{model} is in OminiGate's live list"))?;
        }
        Live::Listed(ids) => {
            let close: Vec<&str> = close_matches(model, &ids)
                .into_iter()
                .map(String::as_str)
                .collect();
            let mut text = format!(
                "{model} is not among the {} models {} lists; Codex requests with it will likely fail",
                ids.len(),
                gw.models_url()
            );
            if !close.is_empty() {
                text.push_str(&format!("\n  listed and close: {}", close.join(", ")));
            }
            text.push_str(&format!(
                "\n  see them all: {} models",
                home.ominigate_codex()
            ));
            warning(&text);
        }
        Live::Skipped(why) => {
            ui.detail(format_args!(
                "{model} not checked against the live list: {why}"
            ))?;
        }
        Live::Failed(why) => {
            ui.info(format_args!(
                "could not check {model} against the live list: {why}"
            ))?;
        }
    }
    Ok(())
}

pub fn run(home: &CodexHome, args: &UseArgs, ui: &mut Ui) -> Result<()> {
    let model = args.model.as_str();
    spec::check_model(model).map_err(|m| bad_flag("MODEL", m))?;
    let codex = args.codex.detect().require_version()?;
    announce(home, model, &codex, ui)?;
    let _lock = (!args.dry_run)
        .then(|| fs::lock(&home.dir, Duration::from_secs(10)))
        .transpose()?;
    let files = Files::read(home)?;
    let mut work = files.open()?;
    if let Some(why) = work.docs.missing().map_err(|e| work.shape_error(e))? {
        return Err(not_installed(home, why, &format!(" --model {model}")));
    }
    let source = Source::of(&codex);
    let mut layout = codex.layout();
    layout.catalog = source.writes();
    let opts = Options::keep(&work.docs, layout, Some(model.to_string()))
        .map_err(|e| work.shape_error(e))?;
    let outcome = plan(&mut work.docs, &opts).map_err(|e| work.shape_error(e))?;
    let follows = work.docs.default_follows();

    let inp = Setup::of_process(home, codex.clone());
    let gw = Gateway::of(&inp);
    let found = live_known(
        &gw,
        args.net.offline(),
        Duration::from_secs(args.net.timeout),
    );
    // The live list, when read, is the catalogue's (as `models --refresh`).
    let listed = found.as_deref().ok();
    let rebuilt = catalog::rebuild(
        &mut work.docs,
        &source,
        model,
        listed,
        &home.ominigate_codex(),
    )?;
    check_listed(
        home,
        model,
        found.map(Live::of).unwrap_or_else(|why| why),
        &gw,
        ui,
    )?;

    // Like install: the record first (see install::run).
    let changed = finish(
        &work.changes(RecordOrder::First),
        &outcome.notes,
        args.dry_run,
        args.force,
        ui,
    )?;
    // Not held through the check below, which reads the files afresh.
    drop(files);
    // A dry run that would change the files has shown the diff.
    if !(changed && args.dry_run) {
        say_switched(home, model, follows, changed, ui)?;
    }
    // Doctor's walk of the other files Codex reads: what selects the
    // provider there keeps its own model.
    for place in crate::setup::provider_references(&inp, spec::PROVIDER_ID) {
        ui.info(format_args!(
            "note: {place} also selects the ominigate provider; `use` does not change the model there"
        ))?;
    }
    for line in catalog::report(&rebuilt, &source, &gw.key_name, &home.ominigate_codex()) {
        ui.detail(format_args!("{line}"))?;
    }
    drop(inp);
    if !args.dry_run {
        checks::warn_written(home, &codex);
    }
    Ok(())
}

/// Which home and Codex, and what the run does; stops when the home does
/// not exist.
fn announce(home: &CodexHome, model: &str, codex: &Codex, ui: &mut Ui) -> Result<()> {
    ui.info(format_args!(
        "Codex home: {} ({})",
        home.dir.display(),
        home.source
    ))?;
    ui.info(format_args!(
        "Switching the ominigate profile to {model}: {}",
        codex.describe()
    ))?;
    if !home.dir.is_dir() {
        return Err(not_installed(
            home,
            "the directory does not exist",
            &format!(" --model {model}"),
        ));
    }
    Ok(())
}

/// Who now uses `model` (`follows`: plain `codex` too), or that they
/// already did (`changed` false).
fn say_switched(
    home: &CodexHome,
    model: &str,
    follows: bool,
    changed: bool,
    ui: &mut Ui,
) -> Result<()> {
    let codex_cmd = home.codex();
    let who = match follows {
        true => format!("`{codex_cmd} --profile ominigate` and plain `{codex_cmd}`"),
        false => format!("`{codex_cmd} --profile ominigate`"),
    };
    let s = if follows { "" } else { "s" };
    match changed {
        false => ui.info(format_args!(
            "{who} already use{s} {model}: nothing to change"
        ))?,
        true => ui.info(format_args!("{who} now use{s} {model}"))?,
    }
    Ok(())
}
