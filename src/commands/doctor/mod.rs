//! `ominigate-codex doctor`: find out why Codex does or does not reach
//! OminiGate, and print the fix. Reads everything, writes nothing.
//!
//! Each check is a function of [`Setup`](crate::setup::Setup) (read once), except
//! `codex.accepts_config` (runs the user's Codex against a scratch copy of
//! the config), `bridge.reachable` (asks a bridge on this machine) and the
//! two `endpoint.*` checks (ask the gateway). Those run in threads at the
//! same time. Every string of the report is passed through
//! [`check::sanitize_all`] before it is printed (secrets masked, unsafe
//! characters escaped), so the key never appears and no value drives the
//! terminal, whatever a config, a server or Codex said.

pub mod bridge;
pub mod check;
pub mod codex;
pub mod endpoint;
pub mod env;
pub mod profile;
pub mod provider;
pub mod render;

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use crate::cli::DoctorArgs;
use crate::codex::binary::Codex;
use crate::error::{Kind, Silent};
use crate::paths::CodexHome;
use crate::report::{Level, Ui};
use crate::setup::Setup;
use crate::shown;
use check::{Check, Status};

/// Every check, in report order.
pub fn run_checks(inp: &Setup, offline: bool, limit: Duration) -> Vec<Check> {
    let stopped = |id| Check::fail(id, "the check stopped unexpectedly");
    let (accepts, bridge, [models, wire]) = std::thread::scope(|s| {
        let accepts = s.spawn(|| codex::accepts_config(&inp.codex, &inp.home, limit));
        let bridge = s.spawn(|| bridge::check(inp, offline, limit));
        let network = endpoint::checks(inp, offline, limit);
        let accepts = accepts.join().unwrap_or_else(|_| stopped(codex::ACCEPTS));
        let bridge = bridge.join().unwrap_or_else(|_| stopped(bridge::REACHABLE));
        (accepts, bridge, network)
    });
    let mut checks = vec![codex::binary_check(&inp.codex)];
    checks.extend(file_checks(inp, accepts));
    checks.extend([
        env::key_check(inp),
        env::conflict_check(inp),
        bridge,
        models,
        wire,
    ]);
    checks
}

/// The checks of the config files themselves, `codex.accepts_config`'s
/// result first: no network, no environment.
fn file_checks(inp: &Setup, accepts: Check) -> Vec<Check> {
    vec![
        accepts,
        provider::parse_check(inp),
        provider::present_check(inp),
        provider::fields_check(inp),
        profile::location_check(inp),
        profile::fields_check(inp),
        profile::resolution_check(inp),
    ]
}

/// What `install` and `use` run on the files they just wrote: doctor's
/// offline checks of the config files (with Codex 0.133+ known by its
/// binary, Codex's own `codex.accepts_config`), redacted; the failing ones,
/// each as doctor words it (see [`render::finding`]).
pub fn check_written(home: &CodexHome, codex: Codex, limit: Duration) -> Vec<String> {
    let inp = Setup::of_process(home, codex);
    let accepts = codex::accepts_config(&inp.codex, &inp.home, limit);
    let mut checks = file_checks(&inp, accepts);
    check::sanitize_all(&mut checks, &inp.secrets());
    checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(render::finding)
        .collect()
}

pub fn run(home: &CodexHome, args: &DoctorArgs, ui: &mut Ui<'_>) -> Result<()> {
    let inp = Setup::of_process(home, args.codex.detect());
    let secrets = inp.secrets();
    let mut checks = run_checks(
        &inp,
        args.net.offline,
        Duration::from_secs(args.net.timeout),
    );
    check::sanitize_all(&mut checks, &secrets);
    let report = render::Report {
        home: shown::value(&format!("{} ({})", home.dir.display(), home.source)).into_owned(),
        codex_version: inp.codex.version().map(|v| v.to_string()),
        checks,
    };
    if args.json {
        writeln!(ui.out_styled(), "{}", render::json(&report))?;
    } else {
        let style = render::Style {
            verbose: ui.level >= Level::Verbose,
            ..render::Style::detect(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            )
        };
        write!(ui.out_styled(), "{}", render::human(&report, style))?;
    }
    if check::overall(&report.checks) == Status::Fail {
        return Err(Silent(Kind::Failure).into());
    }
    Ok(())
}
