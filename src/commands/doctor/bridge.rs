//! `bridge.reachable`: when the provider calls a bridge on this machine
//! (`install --bridge`), is it listening, and does it reach its upstream?
//!
//! A bridge answers `GET /health` itself, without a key, naming itself as
//! [`spec::BRIDGE_SERVICE`]; `GET {base_url}/models` goes through it to the
//! gateway, with the key, like `endpoint.models`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use super::check::Check;
use super::endpoint::{model_ids, server_message};
use super::http::{self, Method, Reply};
use super::inputs::Inputs;
use super::provider::{env_key_name, env_key_value};
use crate::commands::install::{bridge_command, ominigate_codex, service_manager};
use crate::spec;

pub const REACHABLE: &str = "bridge.reachable";

/// The provider's `base_url` when it is plain http to a port on this
/// machine: where a bridge would listen.
#[derive(Debug, Clone)]
pub struct Local {
    /// `http://127.0.0.1:PORT/v1`, as configured (without a trailing `/`).
    pub base_url: String,
    pub port: u16,
    /// What `install --bridge` recorded as the gateway.
    pub recorded: Option<String>,
}

impl Local {
    /// `http://HOST:PORT/health`.
    pub fn health_url(&self) -> String {
        let rest = self.base_url.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        format!("http://{authority}/health")
    }

    /// Whether this is a bridge: install recorded one, or the URL is the
    /// bridge's default.
    pub fn expected(&self) -> bool {
        self.recorded.is_some() || self.port == spec::BRIDGE_PORT
    }
}

/// Why the provider's `base_url` is not a bridge to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoBridge {
    /// This config file does not load.
    Broken(PathBuf),
    NoBaseUrl,
    /// The provider calls this URL (redacted) directly.
    Direct(String),
}

impl fmt::Display for NoBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoBridge::Broken(path) => write!(
                f,
                "cannot check: {} does not load (see config.parse)",
                path.display()
            ),
            NoBridge::NoBaseUrl => {
                f.write_str("no bridge: the provider has no base_url (see provider.fields)")
            }
            NoBridge::Direct(url) => write!(f, "no bridge: the provider calls {url} directly"),
        }
    }
}

impl std::error::Error for NoBridge {}

/// The provider's loopback `base_url`, or why this is not about a bridge.
pub fn local(inp: &Inputs) -> Result<Local, NoBridge> {
    if let Some((source, _)) = inp.broken().first() {
        return Err(NoBridge::Broken(source.path.clone()));
    }
    let Some(raw) = inp.provider_base_url() else {
        return Err(NoBridge::NoBaseUrl);
    };
    let Some(port) = spec::loopback_port(raw) else {
        return Err(NoBridge::Direct(spec::redact_url(
            raw.trim_end_matches('/'),
        )));
    };
    Ok(Local {
        base_url: raw.trim_end_matches('/').to_string(),
        port,
        // A damaged state file names no gateway; doctor reports on the
        // bridge as if install recorded none (doctor never fails on it).
        recorded: inp.bridge_upstream().ok().flatten().map(str::to_string),
    })
}

/// What a bridge's `/health` says: `Some(upstream)` when it is one.
fn bridge_health(r: &Reply) -> Option<String> {
    if r.status != 200 {
        return None;
    }
    let v: Value = serde_json::from_str(&r.body).ok()?;
    if v.get("service").and_then(Value::as_str) != Some(spec::BRIDGE_SERVICE) {
        return None;
    }
    Some(
        v.get("upstream")
            .and_then(Value::as_str)
            .map(spec::redact_url)
            .unwrap_or_else(|| "(not said)".into()),
    )
}

/// How to get a bridge running on `port`, as fix lines.
fn start_fixes(inp: &Inputs, port: u16) -> Vec<String> {
    let bridge = bridge_command(&inp.home, port);
    vec![
        format!("start it in a terminal and leave it running: `{bridge}`"),
        format!(
            "or run it at login: `{bridge} --print-service {}` prints the service and how to enable it",
            service_manager()
        ),
        format!(
            "or skip the installed bridge: `{} codex` runs Codex through a private one",
            ominigate_codex(&inp.home)
        ),
    ]
}

pub fn check(inp: &Inputs, offline: bool, limit: Duration) -> Check {
    let local = match local(inp) {
        Ok(l) => l,
        Err(why) => return Check::skip(REACHABLE, why.to_string()),
    };
    // Another server on this machine (a local gateway) is asked nothing
    // it did not expect.
    if !local.expected() {
        return Check::skip(
            REACHABLE,
            format!(
                "no bridge: the provider calls {}, a server on this machine that install --bridge did not set up",
                local.base_url
            ),
        );
    }
    if offline {
        return Check::skip(REACHABLE, "skipped: --offline");
    }
    let at = format!("127.0.0.1:{}", local.port);
    let health_url = local.health_url();
    let health = http::get_without_key(&health_url, limit);
    let upstream = match &health {
        Ok(r) => bridge_health(r),
        Err(_) => None,
    };
    let Some(upstream) = upstream else {
        return match health {
            Err(e) => Check::fail(
                REACHABLE,
                format!("the bridge is not running: nothing answers on {at} ({e})"),
            )
            .detail(format!(
                "Codex calls {}, so every request fails until the bridge runs",
                local.base_url
            ))
            .fixes(start_fixes(inp, local.port)),
            Ok(r) => Check::fail(
                REACHABLE,
                format!(
                    "something else answers on {at}: {health_url} answered {} but not as the ominigate-codex bridge",
                    r.status
                ),
            )
            .fix(format!(
                "stop what listens on {at}, or move the bridge: `{} install --bridge --bridge-port <free port>`",
                ominigate_codex(&inp.home)
            )),
        };
    };
    let mut c = through(inp, &local, &upstream, limit);
    if let Some(recorded) = &local.recorded
        && spec::redact_url(recorded) != upstream
        && upstream != "(not said)"
    {
        c = c
            .at_least(super::check::Status::Warn)
            .detail(format!(
                "the running bridge forwards to {upstream}, but install --bridge recorded {}",
                spec::redact_url(recorded)
            ))
            .fix("restart the bridge so that it reads the record again");
    }
    c
}

/// The bridge answers: ask the gateway's model list through it.
fn through(inp: &Inputs, local: &Local, upstream: &str, limit: Duration) -> Check {
    let up = format!(
        "the bridge on 127.0.0.1:{} is up (forwarding to {upstream})",
        local.port
    );
    let key_name = env_key_name(inp);
    let Some(key) = env_key_value(inp, &key_name) else {
        return Check::ok(
            REACHABLE,
            format!("{up}; its upstream not checked: {key_name} is not set (see env.key)"),
        );
    };
    let url = format!("{}/models", local.base_url);
    let r = match http::send(Method::Get, &url, &key, None, limit) {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                REACHABLE,
                format!("{up}, but {url} got no answer through it: {e}"),
            )
            .fix("restart the bridge; if that does not help, check its log lines on stderr");
        }
    };
    let secrets = super::secrets(inp);
    let says = match server_message(&r.body, &secrets) {
        m if m.is_empty() => String::new(),
        m => format!("the bridge says: {m}"),
    };
    let elsewhere = format!(
        "to forward to another gateway: `{} install --bridge --base-url <gateway URL>`, then restart the bridge",
        ominigate_codex(&inp.home)
    );
    let c = match r.status {
        200..=299 => match model_ids(&r.body, &secrets) {
            Some(ids) => Check::ok(
                REACHABLE,
                format!(
                    "{up} and reaches it: {} model{} listed",
                    ids.len(),
                    if ids.len() == 1 { "" } else { "s" }
                ),
            ),
            None => Check::warn(
                REACHABLE,
                format!("{up}, but {url} did not answer with a model list through it"),
            )
            .fix(elsewhere),
        },
        401 | 403 => Check::ok(
            REACHABLE,
            format!(
                "{up} and reaches it; the gateway answered {} to the key (see endpoint.models)",
                r.status
            ),
        ),
        404 => Check::fail(
            REACHABLE,
            format!("{up}, but its upstream has no model list ({url} answered 404 through it)"),
        )
        .detail("the upstream URL is probably wrong: OminiGate's API root ends in /v1")
        .fix(elsewhere),
        502..=504 => Check::fail(
            REACHABLE,
            format!(
                "{up}, but it cannot reach its upstream ({url} answered {})",
                r.status
            ),
        )
        .fix("check this machine's network and proxy to the gateway")
        .fix(elsewhere),
        s => Check::warn(REACHABLE, format!("{up}; {url} answered {s} through it")).fix(elsewhere),
    };
    if says.is_empty() || r.status < 300 {
        c
    } else {
        c.detail(says)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_the_bridges_own_root() {
        let l = Local {
            base_url: "http://127.0.0.1:8741/v1".into(),
            port: 8741,
            recorded: None,
        };
        assert_eq!(l.health_url(), "http://127.0.0.1:8741/health");
        assert!(l.expected());
    }

    #[test]
    fn only_the_bridge_names_itself_in_health() {
        let r = |status, body: &str| Reply {
            status,
            location: None,
            body: body.into(),
        };
        let ok = r#"{"status":"ok","service":"ominigate-codex bridge","upstream":"https://u:p@gw.example/v1"}"#;
        assert_eq!(
            bridge_health(&r(200, ok)).as_deref(),
            Some("https://…@gw.example/v1")
        );
        assert_eq!(bridge_health(&r(500, ok)), None);
        assert_eq!(bridge_health(&r(200, r#"{"status":"ok"}"#)), None);
        assert_eq!(bridge_health(&r(200, "<html>")), None);
    }
}
