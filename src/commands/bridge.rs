//! `ominigate-codex bridge`: the bridge as a foreground server, for a
//! long-running setup (`install --bridge`, the Codex IDE extension), and
//! what `ominigate-codex codex` shares with it: which gateway, which key
//! variable, which idle limit ([`settings`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::Result;

use crate::bridge::launch::{bind, settings};
use crate::cli::{BridgeArgs, ServiceKind};
use crate::codex::binary::Codex;
use crate::error::usage;
use crate::paths::CodexHome;
use crate::report::{Level, Ui};
use crate::setup::Setup;
use crate::setup::bridge::local;
use crate::spec;

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
        let exe = std::env::current_exe().unwrap_or_else(|_| "ominigate-codex".into());
        let text = service(kind, &exe, &home.dir, listen, args.upstream.as_deref());
        write!(ui.out(), "{text}")?;
        return Ok(());
    }
    let log = ui.level > Level::Quiet;
    let config = settings(&inp, args.upstream.as_deref(), listen.port(), ui.level)?;
    let upstream = spec::redact_url(&config.upstream.url);
    let bridge = bind(listen, config)?;
    let stop = bridge.stop_on_signals()?;
    writeln!(ui.out(), "listening on {}", bridge.base_url()?)?;
    ui.out().flush()?;
    if log {
        eprintln!("bridge: forwarding to {upstream}; Ctrl-C stops");
    }
    bridge.serve(stop, crate::bridge::server::GRACE)?;
    if log {
        eprintln!("bridge: stopped");
    }
    Ok(())
}

/// `--print-service`: a unit or plist that runs this binary as `bridge` at
/// login, instructions in its comments, so that it can be redirected
/// straight into place.
pub fn service(
    kind: ServiceKind,
    exe: &Path,
    codex_home: &Path,
    listen: SocketAddr,
    upstream: Option<&str>,
) -> String {
    let mut argv = vec![
        exe.display().to_string(),
        "--codex-home".to_string(),
        codex_home.display().to_string(),
        "bridge".to_string(),
        "--listen".to_string(),
        listen.to_string(),
    ];
    if let Some(u) = upstream {
        argv.extend(["--upstream".to_string(), u.to_string()]);
    }
    match kind {
        ServiceKind::Systemd => {
            let exec: Vec<String> = argv.iter().map(|a| systemd_quote(a)).collect();
            format!(
                "\
# ominigate-codex bridge as a systemd user service: it starts at login and
# restarts if it stops. Install it with:
#
#   mkdir -p ~/.config/systemd/user
#   ominigate-codex bridge --print-service systemd > ~/.config/systemd/user/{SYSTEMD_UNIT}
#   systemctl --user daemon-reload
#   systemctl --user enable --now {SYSTEMD_UNIT}
#
# Check it: `curl http://{listen}/health`; its log (one line per request):
# `journalctl --user -u {SYSTEMD_UNIT}`. It keeps no key: Codex sends the
# key with every request.
[Unit]
Description=ominigate-codex bridge (Codex Responses API to a chat-completions gateway)
After=network-online.target

[Service]
ExecStart={}
Restart=on-failure
RestartSec=2

[Install]
WantedBy=default.target
",
                exec.join(" ")
            )
        }
        ServiceKind::Launchd => {
            let args: String = argv
                .iter()
                .map(|a| format!("    <string>{}</string>\n", xml_escape(a)))
                .collect();
            let log = codex_home.join("ominigate-codex-bridge.log");
            format!(
                "\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!--
  ominigate-codex bridge as a launchd agent: it starts at login and restarts
  if it stops. Save this text as ~/Library/LaunchAgents/{LAUNCHD_LABEL}.plist
  and load it with:

    launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/{LAUNCHD_LABEL}.plist

  Check it: `curl http://{listen}/health`; its log (one line per request) is
  {}. It keeps no key: Codex sends the key with every request.
  Remove it: launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}
-->
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">
<plist version=\"1.0\">
<dict>
  <key>Label</key>
  <string>{LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
{args}  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>StandardErrorPath</key>
  <string>{}</string>
</dict>
</plist>
",
                xml_escape(&log.display().to_string()).replace("--", "-&#45;"),
                xml_escape(&log.display().to_string()),
            )
        }
    }
}

pub const SYSTEMD_UNIT: &str = "ominigate-codex-bridge.service";
pub const LAUNCHD_LABEL: &str = "ai.ominigate.codex-bridge";

/// One `ExecStart=` word: double-quoted, with `\`, `"` escaped and `%`
/// (a specifier to systemd) doubled.
fn systemd_quote(word: &str) -> String {
    let inner = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{inner}\"")
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

    #[test]
    fn services_name_the_binary_home_and_address() {
        let listen: SocketAddr = "127.0.0.1:8741".parse().unwrap();
        let unit = service(
            ServiceKind::Systemd,
            Path::new("/opt/my bin/ominigate-codex"),
            Path::new("/home/u/.codex"),
            listen,
            Some("https://gw.example/v1"),
        );
        assert!(unit.contains(
            "ExecStart=\"/opt/my bin/ominigate-codex\" \"--codex-home\" \"/home/u/.codex\" \"bridge\" \"--listen\" \"127.0.0.1:8741\" \"--upstream\" \"https://gw.example/v1\"\n"
        ), "{unit}");
        assert!(unit.contains("systemctl --user enable --now ominigate-codex-bridge.service"));
        let plist = service(
            ServiceKind::Launchd,
            Path::new("/usr/local/bin/ominigate-codex"),
            Path::new("/Users/u/.codex"),
            listen,
            None,
        );
        assert!(
            plist.contains("    <string>--listen</string>\n    <string>127.0.0.1:8741</string>\n")
        );
        assert!(plist.contains("<string>/Users/u/.codex/ominigate-codex-bridge.log</string>"));
        // An XML comment must not hold `--` except in its delimiters.
        let comment = &plist[plist.find("<!--").unwrap() + 4..plist.find("-->").unwrap()];
        assert!(!comment.contains("--"), "{comment}");
        assert_eq!(systemd_quote("a%b\"c"), "\"a%%b\\\"c\"");
    }
}
