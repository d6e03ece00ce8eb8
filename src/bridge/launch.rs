//! The bridge as this setup asks for it: which gateway, which key variable,
//! which idle limit ([`settings`], shared by `bridge` and `codex`), bound
//! with an error that says what to do ([`bind`]).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Result;

use super::server::{Bridge, Config};
use crate::error::{Failure, Kind, refused, usage};
use crate::report::Level;
use crate::setup::Setup;
use crate::setup::facts::env_key_name;
use crate::setup::resolve::lookup;
use crate::spec;
use crate::toml::blocks::PROVIDER;

/// What the bridge is told, worked out from the config as `codex
/// --profile ominigate` reads it.
pub fn settings(
    inp: &Setup,
    upstream_flag: Option<&str>,
    port: u16,
    level: Level,
) -> Result<Config> {
    // The recorded gateway only matters without --upstream: a damaged
    // state file must not stop `bridge --upstream URL`, which its own
    // message advises.
    let recorded = match upstream_flag {
        Some(_) => None,
        None => inp.bridge_upstream().map_err(|why| {
            refused(why.to_string()).help(
                "it records what install changed; restore it from its backup, or delete it and \
                 record the gateway again with `ominigate-codex install --bridge --base-url URL` \
                 (`bridge` also takes --upstream URL)",
            )
        })?,
    };
    let current = inp.provider_base_url();
    let bad = |e: spec::Invalid| match upstream_flag {
        Some(_) => spec::bad_flag("--upstream", e),
        None => usage(e.to_string()).help(
            "pass the gateway's URL with --upstream URL to `bridge`, or record it with \
             `ominigate-codex install --bridge --base-url URL`",
        ),
    };
    let url = spec::bridge_upstream(upstream_flag, recorded, current, port).map_err(bad)?;
    let upstream = spec::parse_base_url(&url).map_err(bad)?;
    let idle_ms = lookup(
        &inp.profile_stack(),
        &PROVIDER.key("stream_idle_timeout_ms"),
    )
    .and_then(|(item, _)| item.as_integer())
    .filter(|ms| *ms > 0)
    .unwrap_or(spec::STREAM_IDLE_TIMEOUT_MS);
    let env_key = env_key_name(inp);
    crate::shown::protect_env(&env_key);
    Ok(Config {
        upstream,
        env_key,
        idle_timeout: Duration::from_millis(idle_ms.unsigned_abs()),
        log: level > Level::Quiet,
        verbose: level >= Level::Verbose,
    })
}

/// Bind, or say why not and what to do.
pub fn bind(addr: SocketAddr, config: Config) -> Result<Bridge> {
    Bridge::bind(addr, config).map_err(|e| {
        let help = if e.kind() == std::io::ErrorKind::AddrInUse {
            "another program (maybe a bridge already running) uses that port: stop it, or pass --listen 127.0.0.1:PORT"
        } else {
            "pass another --listen 127.0.0.1:PORT"
        };
        Failure::new(Kind::Failure, format!("cannot listen on {addr}: {e}"))
            .help(help)
            .into()
    })
}

/// What `bridge --print-service` should print for this system.
pub fn service_manager() -> &'static str {
    if cfg!(target_os = "macos") {
        "launchd"
    } else {
        "systemd"
    }
}
