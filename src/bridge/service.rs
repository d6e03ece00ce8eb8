//! The bridge as a login service: `bridge --print-service` prints a
//! systemd user unit or a launchd agent that runs this binary as `bridge`.

use std::net::SocketAddr;
use std::path::Path;

use crate::cli::ServiceKind;

/// What `bridge --print-service` should print for this system.
pub fn service_manager() -> &'static str {
    if cfg!(target_os = "macos") {
        "launchd"
    } else {
        "systemd"
    }
}

/// `--print-service`: a unit or plist that runs this binary as `bridge` at
/// login, instructions in its comments, so that it can be redirected
/// straight into place. `me`: this tool as the user runs it (with
/// `--codex-home` when the home is not the default), for the command in
/// the comments that prints the unit again.
pub fn service(
    kind: ServiceKind,
    me: &str,
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
        ServiceKind::Systemd => systemd_unit(me, &argv, listen, upstream),
        ServiceKind::Launchd => launchd_plist(&argv, codex_home, listen),
    }
}

/// The systemd user unit, with how to install it (`me ... --print-service`
/// prints it again).
fn systemd_unit(me: &str, argv: &[String], listen: SocketAddr, upstream: Option<&str>) -> String {
    let exec: Vec<String> = argv.iter().map(|a| systemd_quote(a)).collect();
    let upstream = upstream.map_or(String::new(), |u| {
        format!(" --upstream {}", crate::paths::shell_word(Path::new(u)))
    });
    let again = format!("{me} bridge --listen {listen}{upstream} --print-service systemd");
    format!(
        "\
# ominigate-codex bridge as a systemd user service: it starts at login and
# restarts if it stops. Install it with:
#
#   mkdir -p ~/.config/systemd/user
#   {again} > ~/.config/systemd/user/{SYSTEMD_UNIT}
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

/// The launchd agent, with how to load it; its log beside the config.
fn launchd_plist(argv: &[String], codex_home: &Path, listen: SocketAddr) -> String {
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
    fn services_name_the_binary_home_and_address() {
        let listen: SocketAddr = "127.0.0.1:8741".parse().unwrap();
        let unit = service(
            ServiceKind::Systemd,
            "ominigate-codex",
            Path::new("/opt/my bin/ominigate-codex"),
            Path::new("/home/u/.codex"),
            listen,
            Some("https://gw.example/v1"),
        );
        assert!(unit.contains(
            "ExecStart=\"/opt/my bin/ominigate-codex\" \"--codex-home\" \"/home/u/.codex\" \"bridge\" \"--listen\" \"127.0.0.1:8741\" \"--upstream\" \"https://gw.example/v1\"\n"
        ), "{unit}");
        assert!(unit.contains("systemctl --user enable --now ominigate-codex-bridge.service"));
        assert!(unit.contains(
            "#   ominigate-codex bridge --listen 127.0.0.1:8741 --upstream https://gw.example/v1 --print-service systemd > "
        ), "{unit}");
        let plist = service(
            ServiceKind::Launchd,
            "ominigate-codex",
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
