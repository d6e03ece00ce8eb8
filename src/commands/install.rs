//! `ominigate-codex install`: write what the user's Codex accepts (the edit
//! is [`crate::edit::install`]).

use std::time::Duration;

use anyhow::Result;

use crate::bridge::service::service_manager;
use crate::catalog::Known;
use crate::checks;
use crate::cli::{InstallArgs, NetArgs, WireApi};
use crate::codex::binary::Codex;
use crate::codex::messages::CODEX_CHAT_ERROR;
use crate::codex::version::ProfileLayout;
use crate::edit::catalog::{self, Source};
use crate::edit::install::{Options, Outcome, Route, plan};
use crate::edit::{Docs, Files, RecordOrder, finish};
use crate::error::{Failure, refused, usage};
use crate::fs;
use crate::gateway::models::{Gateway, Live, live_known};
use crate::paths::CodexHome;
use crate::report::{Ui, shell_setup};
use crate::setup::facts;
use crate::setup::{Env, Setup};
use crate::spec::{self, bad_flag};
use crate::toml::blocks::{self, PROVIDER};

/// Validate the flags against the detected Codex.
pub fn options(args: &InstallArgs, codex: &Codex) -> Result<Options, Failure> {
    let layout = codex.layout();
    if args.bridge && args.wire_api == Some(WireApi::Chat) {
        return Err(usage(
            "--bridge serves the Responses API to Codex, so it needs wire_api = \"responses\"",
        )
        .help("drop --wire-api chat (--bridge writes \"responses\"), or drop --bridge to call the gateway's chat completions directly (Codex up to 0.94)"));
    }
    let wire_api = match args.wire_api {
        Some(w) => w.as_str(),
        None if args.bridge => WireApi::Responses.as_str(),
        None => layout.default_wire_api(),
    };
    if wire_api == "chat" && !layout.chat_supported && !args.force {
        return Err(usage(format!(
            "Codex {} refuses `wire_api = \"chat\"`; it says: {CODEX_CHAT_ERROR}",
            codex.effective()
        ))
        .help("drop --wire-api (install picks \"responses\"), pin Codex 0.94.0 (`npm i -g @openai/codex@0.94.0`), or pass --force to write it anyway"));
    }
    let base_url = match &args.base_url {
        Some(u) => Some(
            spec::parse_base_url(u)
                .map_err(|m| bad_flag("--base-url", m))?
                .url,
        ),
        None => None,
    };
    if let Some(k) = &args.env_key {
        spec::check_env_key(k).map_err(|m| bad_flag("--env-key", m))?;
        crate::shown::protect_env(k);
    }
    if let Some(m) = &args.model {
        spec::check_model(m).map_err(|m| bad_flag("--model", m))?;
    }
    Ok(Options {
        layout,
        wire_api,
        base_url,
        env_key: args.env_key.clone(),
        model: args.model.clone(),
        default: args.default,
        no_default: args.no_default,
        // `--bridge` is decided once the files are read (see `bridge_route`).
        route: Route::Direct,
    })
}

/// `install --bridge`: the bridge on 127.0.0.1:`port`, and the gateway it
/// forwards to (see [`spec::bridge_upstream`]): `--base-url`, else the
/// upstream recorded by an earlier `install --bridge`, else the provider's
/// current `base_url`, else the guide's. Never the bridge itself.
pub fn bridge_route(docs: &Docs, flag: Option<&str>, port: u16) -> Result<Route, Failure> {
    let current = current_base_url(docs);
    let upstream = spec::bridge_upstream(
        flag.map(|url| ("--base-url", url)),
        docs.state.bridge_upstream.as_deref(),
        current,
        port,
    )
    .map_err(|m| {
        let help = "pass the gateway's URL with --base-url (e.g. --base-url https://api.ominigate.ai/v1), or another --bridge-port; nothing was written";
        match flag {
            Some(_) => usage(m.to_string()).help(help),
            None => refused(m.to_string()).help(help),
        }
    })?;
    Ok(Route::Bridge { port, upstream })
}

/// The provider's `base_url` in config.toml, as read.
fn current_base_url(docs: &Docs) -> Option<&str> {
    blocks::get_block(&docs.config, PROVIDER)
        .ok()
        .flatten()
        .and_then(|t| blocks::get_str(t, "base_url"))
}

/// The port of the bridge an earlier `install --bridge` set up and Codex
/// still calls (the record is there and `base_url` is that loopback URL):
/// kept by an install without `--bridge` or `--direct`.
fn installed_bridge_port(docs: &Docs) -> Option<u16> {
    docs.state.bridge_upstream.as_ref()?;
    spec::loopback_port(current_base_url(docs)?)
}

/// The route: `--bridge`, else the bridge an earlier `install --bridge`
/// set up, kept (said so) unless `--direct`; else direct. Through a bridge,
/// `--base-url` is the gateway it forwards to, and Codex speaks the
/// Responses API (as `--bridge` decides in [`options`]).
fn choose_route(args: &InstallArgs, docs: &Docs, opts: &mut Options, ui: &mut Ui) -> Result<()> {
    let kept = match args.bridge || args.direct {
        true => None,
        false => installed_bridge_port(docs),
    };
    if kept.is_some() && args.wire_api == Some(WireApi::Chat) {
        return Err(usage(
            "the bridge install --bridge set up serves the Responses API to Codex, so it needs wire_api = \"responses\"",
        )
        .help("add --direct to call the gateway's chat completions directly (Codex up to 0.94), or drop --wire-api chat; nothing was written")
        .into());
    }
    if let Some(port) = kept {
        opts.wire_api = WireApi::Responses.as_str();
        ui.info(format_args!(
            "keeping the bridge install --bridge set up ({}); --direct calls the gateway itself",
            spec::bridge_url(port)
        ))?;
    }
    let port = match args.bridge {
        true => Some(args.bridge_port.unwrap_or(spec::BRIDGE_PORT)),
        false => kept,
    };
    if let Some(port) = port {
        opts.route = bridge_route(docs, opts.base_url.take().as_deref(), port)?;
    }
    Ok(())
}

pub fn run(home: &CodexHome, args: &InstallArgs, ui: &mut Ui) -> Result<()> {
    let codex = args.codex.detect().require_version()?;
    let mut opts = options(args, &codex)?;
    let source = Source::of(&codex);
    opts.layout.catalog = source.writes();
    ui.info(codex.headline())?;
    ui.info(format_args!(
        "Codex home: {} ({})",
        home.dir.display(),
        home.source
    ))?;
    ui.detail(format_args!(
        "layout: profile {}, wire_api = \"{}\"",
        match opts.layout.profile {
            ProfileLayout::Table => "as [profiles.ominigate] in config.toml",
            ProfileLayout::File => "in ominigate.config.toml",
        },
        opts.wire_api
    ))?;

    let _lock = if args.dry_run {
        None
    } else {
        fs::ensure_dir(&home.dir)?;
        Some(fs::lock(&home.dir, Duration::from_secs(10))?)
    };
    let files = Files::read(home)?;
    let mut work = files.open()?;
    choose_route(args, &work.docs, &mut opts, ui)?;
    let recorded_upstream = work.docs.state.bridge_upstream.clone();
    if opts.no_default && work.docs.unrecorded_default() {
        return Err(refused(format!(
            "{} selects the ominigate provider at the top level (`model_provider = \"ominigate\"`), but install did not put it there, so there is no previous value to restore",
            home.config().display()
        ))
        .help("edit that line (and `model`) by hand to the provider you want plain `codex` to use; nothing was written")
        .into());
    }
    let outcome = plan(&mut work.docs, &opts).map_err(|e| work.shape_error(e))?;
    let listed = live_list(home, &codex, &source, &outcome, &args.net, ui)?;
    let rebuilt = catalog::rebuild(
        &mut work.docs,
        &source,
        &outcome.model,
        listed.as_deref(),
        &home.ominigate_codex(),
    )?;
    // The record goes first: a run killed part way must leave a record of
    // at least what is on disk, or the next run takes the blocks it wrote
    // for the user's own and uninstall leaves them in (uninstall removes
    // the record last for the same reason).
    let changes = work.changes(RecordOrder::First);
    if !finish(&changes, &outcome.notes, args.dry_run, args.force, ui)? {
        match &outcome.upstream {
            Some(u) if recorded_upstream.as_ref() != Some(u) => ui.info(format_args!(
                "already installed; the bridge now forwards to {} (restart it to pick this up)",
                spec::redact_url(u)
            ))?,
            _ => ui.info("already installed: nothing to change")?,
        }
    }
    // The check reads the files afresh: the copies read for the edit go
    // first, so a large config is not held twice.
    drop(changes);
    drop(files);
    for line in catalog::report(&rebuilt, &source, &outcome.env_key, &home.ominigate_codex()) {
        ui.info(format_args!("  {line}"))?;
    }
    if !args.dry_run {
        let problems = checks::warn_written(home, &codex);
        ui.info(next_steps(home, &codex, &outcome, !problems.is_empty()))?;
    }
    Ok(())
}

/// OminiGate's live model list for the catalogue (as `models --refresh`
/// reads it), from the gateway install points Codex at (through a bridge,
/// the gateway the bridge forwards to) with the key in the profile's
/// variable; `--dry-run` reads it too, to show what would be written. Never
/// fails the install: without a list the catalogue is what an offline
/// install writes, and the report says the windows are unknown.
fn live_list(
    home: &CodexHome,
    codex: &Codex,
    source: &Source,
    o: &Outcome,
    net: &NetArgs,
    ui: &mut Ui,
) -> Result<Option<Vec<Known>>> {
    if !source.writes() {
        return Ok(None);
    }
    let inp = Setup::of_process(home, codex.clone());
    let url = o.upstream.as_deref().unwrap_or(&o.base_url);
    let gw = Gateway::aimed(&inp, url, &o.env_key);
    match live_known(&gw, net.offline(), Duration::from_secs(net.timeout)) {
        Ok(list) => {
            ui.detail(format_args!(
                "read {} models from {}",
                list.len(),
                gw.models_url()
            ))?;
            Ok(Some(list))
        }
        Err(Live::Failed(why)) => {
            ui.info(format_args!(
                "could not read OminiGate's live model list, so the catalogue is written without it: {why}"
            ))?;
            Ok(None)
        }
        Err(skipped) => {
            ui.detail(format_args!(
                "OminiGate's live model list not read: {}",
                skipped.reason()
            ))?;
            Ok(None)
        }
    }
}

/// The commands the user runs next. Never prints the key, only whether it
/// is set. With no Codex found, installing it comes first; with problems
/// found, doctor comes before starting Codex (which would stop on them).
fn next_steps(home: &CodexHome, codex: &Codex, o: &Outcome, problems: bool) -> String {
    let (rc, export) = shell_setup(std::env::var("SHELL").ok().as_deref(), &o.env_key);
    let set = facts::key(&Env::from_process(), &o.env_key).is_set();
    let (me, codex_cmd) = (home.ominigate_codex(), home.codex());
    let mut steps: Vec<String> = Vec::new();
    if *codex == Codex::Assumed {
        steps.push("Install Codex: npm i -g @openai/codex".into());
    }
    if problems {
        steps.push(format!(
            "Run `{me} doctor`: Codex will stop on what the warnings above name; each comes with its fix"
        ));
    }
    steps.push(format!(
        "Put your OminiGate key in {rc}:\n       {export}\n     {} is set in this shell: {}",
        o.env_key,
        if set { "yes" } else { "no" }
    ));
    let conflicts: Vec<&str> = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .into_iter()
        .filter(|k| std::env::var_os(k).is_some())
        .collect();
    if !conflicts.is_empty() {
        steps.push(format!(
            "These can clash with the profile; run:\n       unset {}",
            conflicts.join(" ")
        ));
    }
    if let Some(upstream) = &o.upstream {
        let port = spec::loopback_port(&o.base_url).unwrap_or(spec::BRIDGE_PORT);
        let bridge = home.bridge_command(port);
        steps.push(format!(
            "Keep the bridge running (it listens on {} and forwards to {}), in a terminal of its own:\n       {bridge}\n     or as a service that starts it at login (this prints it and how to enable it):\n       {bridge} --print-service {}\n     Or skip this and run Codex through a private bridge: {} codex",
            o.base_url,
            spec::redact_url(upstream),
            service_manager(),
            me,
        ));
    }
    if !problems {
        // `exec --profile` is the order every release honours (0.94 ignores
        // a --profile placed before exec).
        steps.push(format!(
            "Start Codex {} on OminiGate ({}):\n       {codex_cmd} --profile ominigate\n       {codex_cmd} exec --profile ominigate \"hello\"",
            codex.effective(), o.model
        ));
    }
    let mut text = String::from("\nNext steps:\n");
    for (n, step) in steps.iter().enumerate() {
        text.push_str(&format!("  {}. {step}\n", n + 1));
    }
    text.push_str(&format!("  Check everything with: {me} doctor"));
    text
}
