//! Doctor's checks: why Codex does or does not reach OminiGate, each with
//! its fix. Run whole by `doctor` and `status` ([`run_checks`]), and on
//! what install and use just wrote ([`warn_written`]). Reads everything,
//! writes nothing.
//!
//! Each check is a function of [`crate::setup::Setup`] (read once), except
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
pub mod metadata;
pub mod profile;
pub mod provider;
pub mod render;

use std::time::Duration;

use crate::codex::binary::Codex;
use crate::paths::CodexHome;
use crate::report::warning;
use crate::setup::Setup;
use check::{Check, Status};

/// How far the checks may ask beyond the files and Codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing more (`doctor --offline`).
    Offline,
    /// The bridge `install --bridge` set up on 127.0.0.1: its `/health`,
    /// without the key, within [`bridge::LOOPBACK_LIMIT`] (`status`).
    Loopback,
    /// That bridge and the gateway, with the key (`doctor`).
    Gateway,
}

/// Every check, in report order.
pub fn run_checks(inp: &Setup, reach: Reach, limit: Duration) -> Vec<Check> {
    let stopped = |id| Check::fail(id, "the check stopped unexpectedly");
    let (accepts, bridge, [models, wire]) = std::thread::scope(|s| {
        let accepts = s.spawn(|| codex::accepts_config(&inp.codex, &inp.home, limit));
        let bridge = s.spawn(|| bridge::check(inp, reach, limit));
        let network = endpoint::checks(inp, reach != Reach::Gateway, limit);
        let accepts = accepts.join().unwrap_or_else(|_| stopped(codex::ACCEPTS));
        let bridge = bridge.join().unwrap_or_else(|_| stopped(bridge::REACHABLE));
        (accepts, bridge, network)
    });
    let mut checks = vec![codex::binary_check(&inp.codex, &inp.home.ominigate_codex())];
    checks.extend(file_checks(inp, accepts));
    checks.extend([
        metadata::check(inp),
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

/// Run the offline checks on what install (or `use`) just wrote and print
/// a `warning:` for each failing one, as doctor words it; the failures,
/// for the next steps. The run itself still succeeds: it did its part.
pub fn warn_written(home: &CodexHome, codex: &Codex) -> Vec<String> {
    let problems = check_written(home, codex.clone(), Duration::from_secs(30));
    for p in &problems {
        warning(p);
    }
    problems
}
