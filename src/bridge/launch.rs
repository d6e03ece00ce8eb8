//! The bridge as this setup asks for it: which gateway, which key variable,
//! which idle limit ([`settings`], shared by `bridge` and `codex`), bound
//! with an error that says what to do ([`bind`]), on an address `--listen`
//! names ([`parse_listen`]: this machine only).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::Result;

use super::models::ModelsFile;
use super::server::Bridge;
use super::shared::Config;
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
    let me = inp.home.ominigate_codex();
    let recorded = match upstream_flag {
        Some(_) => None,
        None => inp.bridge_upstream().map_err(|why| {
            refused(why.to_string()).help(format!(
                "it records what install changed; restore it from its backup, or delete it and \
                 record the gateway again with `{me} install --bridge --base-url URL` \
                 (`bridge` also takes --upstream URL)"
            ))
        })?,
    };
    let current = inp.provider_base_url();
    let bad = |e: spec::Invalid| match upstream_flag {
        Some(_) => spec::bad_flag("--upstream", e),
        None => usage(e.to_string()).help(format!(
            "pass the gateway's URL with --upstream URL to `bridge`, or record it with \
             `{me} install --bridge --base-url URL`"
        )),
    };
    let flag = upstream_flag.map(|url| ("--upstream", url));
    let url = spec::bridge_upstream(flag, recorded, current, port).map_err(bad)?;
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
        models: std::sync::Arc::new(ModelsFile::at(inp.home.catalog_file())),
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

/// Why a `--listen` value is refused (`raw` is the value, escaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadListen {
    Port { raw: String },
    NotAddress { raw: String, default_port: u16 },
    NotLoopback(SocketAddr),
}

impl fmt::Display for BadListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadListen::Port { raw } => write!(f, "`{raw}` has no valid port"),
            BadListen::NotAddress { raw, default_port } => {
                write!(f, "`{raw}` is not an address like 127.0.0.1:{default_port}")
            }
            BadListen::NotLoopback(addr) => write!(
                f,
                "the bridge listens on this machine only: `{addr}` would let other machines reach it; use 127.0.0.1 (or [::1])"
            ),
        }
    }
}

impl std::error::Error for BadListen {}

/// `--listen`: an address on this machine. `HOST:PORT`, `HOST` (the
/// default port), `[::1]:PORT`; `localhost` is 127.0.0.1.
pub fn parse_listen(raw: &str, default_port: u16) -> Result<SocketAddr, BadListen> {
    let addr = if let Ok(addr) = raw.parse::<SocketAddr>() {
        addr
    } else if let Ok(ip) = raw
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        SocketAddr::new(ip, default_port)
    } else {
        let (host, port) = match raw.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>().map_err(|_| BadListen::Port {
                    raw: raw.escape_debug().to_string(),
                })?,
            ),
            None => (raw, default_port),
        };
        if !host.eq_ignore_ascii_case("localhost") {
            return Err(BadListen::NotAddress {
                raw: raw.escape_debug().to_string(),
                default_port,
            });
        }
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    };
    if !addr.ip().is_loopback() {
        return Err(BadListen::NotLoopback(addr));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let ok = |raw: &str| parse_listen(raw, 8741).map(|a| a.to_string());
        assert_eq!(ok("127.0.0.1:0").unwrap(), "127.0.0.1:0");
        assert_eq!(ok("127.0.0.1").unwrap(), "127.0.0.1:8741");
        assert_eq!(ok("localhost:9").unwrap(), "127.0.0.1:9");
        assert_eq!(ok("localhost").unwrap(), "127.0.0.1:8741");
        assert_eq!(ok("[::1]:9").unwrap(), "[::1]:9");
        assert_eq!(ok("::1").unwrap(), "[::1]:8741");
        for bad in [
            "0.0.0.0:8741",
            "192.168.1.2:80",
            "[::]:1",
            "example.com:80",
            "localhost:x",
            "",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        let err = parse_listen("0.0.0.0:1", 8741).unwrap_err();
        assert!(err.to_string().contains("this machine only"), "{err}");
    }
}
