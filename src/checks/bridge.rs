//! `bridge.reachable`: when the provider calls a bridge on this machine
//! (`install --bridge`), is it listening, and does it reach its upstream?
//!
//! A bridge answers `GET /health` itself, without a key, naming itself as
//! [`spec::BRIDGE_SERVICE`]; `GET {base_url}/models` goes through it to the
//! gateway, with the key, like `endpoint.models`.

use std::time::Duration;

use serde_json::Value;

use super::Reach;
use super::check::Check;
use crate::bridge::service::service_manager;
use crate::gateway::models::model_ids;
use crate::gateway::{self, Method, Reply, server_message};
use crate::setup::Setup;
use crate::setup::bridge::{Local, local};
use crate::setup::facts::{self, env_key_name};
use crate::spec;

pub const REACHABLE: &str = "bridge.reachable";

/// How long [`Reach::Loopback`] waits for the bridge's `/health`: a server
/// on this machine answers at once or is not there.
pub const LOOPBACK_LIMIT: Duration = Duration::from_secs(1);

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
fn start_fixes(inp: &Setup, port: u16) -> Vec<String> {
    let bridge = inp.home.bridge_command(port);
    vec![
        format!("start it in a terminal and leave it running: `{bridge}`"),
        format!(
            "or run it at login: `{bridge} --print-service {}` prints the service and how to enable it",
            service_manager()
        ),
        format!(
            "or skip the installed bridge: `{} codex` runs Codex through a private one",
            inp.home.ominigate_codex()
        ),
    ]
}

/// Asked as far as `reach` allows: nothing offline; the bridge's `/health`
/// (no key) on loopback; then the gateway through it (the key).
pub fn check(inp: &Setup, reach: Reach, limit: Duration) -> Check {
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
    let limit = match reach {
        Reach::Offline => return Check::skip(REACHABLE, "skipped: --offline"),
        Reach::Loopback => limit.min(LOOPBACK_LIMIT),
        Reach::Gateway => limit,
    };
    let at = format!("127.0.0.1:{}", local.port);
    let health_url = local.health_url();
    let health = gateway::get_without_key(&health_url, limit);
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
                inp.home.ominigate_codex()
            )),
        };
    };
    let up = format!(
        "the bridge on 127.0.0.1:{} is up (forwarding to {upstream})",
        local.port
    );
    let mut c = match reach {
        Reach::Gateway => through(inp, &local, &up, limit),
        _ => Check::ok(
            REACHABLE,
            format!("{up}; its gateway not asked (`doctor` asks it)"),
        ),
    };
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

/// The bridge answers (`up` says so): ask the gateway's model list
/// through it.
fn through(inp: &Setup, local: &Local, up: &str, limit: Duration) -> Check {
    let key_name = env_key_name(inp);
    let Some(key) = facts::key(&inp.env, &key_name).value() else {
        return Check::ok(
            REACHABLE,
            format!("{up}; its upstream not checked: {key_name} is not set (see env.key)"),
        );
    };
    let url = format!("{}/models", local.base_url);
    let r = match gateway::send(Method::Get, &url, key, None, limit) {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                REACHABLE,
                format!("{up}, but {url} got no answer through it: {e}"),
            )
            .fix("restart the bridge; if that does not help, check its log lines on stderr");
        }
    };
    let secrets = inp.secrets();
    let says = match server_message(&r.body, &secrets) {
        m if m.is_empty() => String::new(),
        m => format!("the bridge says: {m}"),
    };
    let elsewhere = format!(
        "to forward to another gateway: `{} install --bridge --base-url <gateway URL>`, then restart the bridge",
        inp.home.ominigate_codex()
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
