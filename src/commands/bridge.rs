//! `ominigate-codex bridge`: the bridge as a foreground server, for a
//! long-running setup (`install --bridge`, the Codex IDE extension), or
//! with `--print-service` the unit that runs it at login. The bridge
//! itself, its settings and the service text are [`crate::bridge`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::Result;

use crate::bridge::launch::{bind, parse_listen, settings};
use crate::bridge::service::service;
use crate::cli::BridgeArgs;
use crate::codex::binary::Codex;
use crate::error::usage;
use crate::installed::{service_binary, transient_warning};
use crate::paths::CodexHome;
use crate::report::{Level, Ui, warning};
use crate::setup::Setup;
use crate::setup::bridge::local;
use crate::spec;

/// Where the bridge listens unless `--listen` says: the port `install
/// --bridge` pointed Codex at, else the default one.
/// (A damaged state file counts as a recorded bridge here: install wrote
/// it, most likely with `--bridge`, and the provider's loopback port is
/// where Codex looks.)
fn default_listen(inp: &Setup) -> SocketAddr {
    let port = match (inp.bridge_upstream(), local(inp)) {
        (Ok(None), _) | (_, Err(_)) => spec::BRIDGE_PORT,
        (_, Ok(local)) => local.port,
    };
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

pub fn run(home: &CodexHome, args: &BridgeArgs, ui: &mut Ui<'_>) -> Result<()> {
    let inp = Setup::of_process(home, Codex::detect(None, None));
    let listen = match &args.listen {
        Some(raw) => parse_listen(raw, spec::BRIDGE_PORT)
            .map_err(|e| usage(e.to_string()).help("fix --listen and run again"))?,
        None => default_listen(&inp),
    };
    if let Some(kind) = args.print_service {
        let current = std::env::current_exe().unwrap_or_else(|_| "ominigate-codex".into());
        let (exe, why) = service_binary(std::env::var_os("PATH").as_deref(), current);
        if let Some(why) = why {
            warning(&transient_warning(&exe, why));
        }
        let me = home.ominigate_codex();
        let text = service(kind, &me, &exe, &home.dir, listen, args.upstream.as_deref());
        write!(ui.out(), "{text}")?;
        return Ok(());
    }
    let log = ui.level > Level::Quiet;
    let config = settings(&inp, args.upstream.as_deref(), listen.port(), ui.level)?;
    let upstream = spec::redact_url(&config.upstream.url);
    let bridge = bind(listen, config)?;
    let stops = bridge.stop_on_signals()?;
    writeln!(ui.out(), "listening on {}", bridge.base_url()?)?;
    ui.out().flush()?;
    if log {
        eprintln!("bridge: forwarding to {upstream}; Ctrl-C stops");
    }
    bridge.serve(stops, crate::bridge::server::GRACE)?;
    if log {
        eprintln!("bridge: stopped");
    }
    Ok(())
}
