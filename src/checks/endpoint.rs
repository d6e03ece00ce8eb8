//! `endpoint.models` and `endpoint.wire`: ask the gateway itself, with the
//! key, the way Codex will. Both run at once, each under the time limit.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::check::Check;
use crate::catalog::build::fingerprint;
use crate::codex::version::Version;
use crate::gateway::models::{close_matches, model_details, model_ids};
use crate::gateway::{self, Method, Reply, SendError, server_message};
use crate::setup::Setup;
use crate::setup::facts::{self, env_key_name};
use crate::setup::resolve::{Run, lookup, resolve};
use crate::shown::{Secrets, mask_aside};
use crate::spec;
use crate::toml::blocks::PROVIDER;

pub const MODELS: &str = "endpoint.models";
pub const WIRE: &str = "endpoint.wire";

/// What the network checks need, all validated.
#[derive(Debug, Clone)]
pub struct Target {
    pub base_url: String,
    pub key: String,
    pub key_name: String,
    pub model: String,
    /// `path:line (text)` of the model setting, for remediations.
    pub model_place: Option<String>,
    /// `chat` or `responses`: what the configured Codex calls.
    pub wire: &'static str,
    /// `wire_api` as configured, where it is set.
    pub wire_place: Option<String>,
    pub base_url_place: String,
    /// A configured wire this Codex refuses (chat on 0.95+).
    pub wire_refused: bool,
    pub version: Version,
    pub chat_supported: bool,
    /// `base_url` is the bridge `install --bridge` set up on this machine.
    pub bridge: bool,
    pub limit: Duration,
    /// What the gateway must not be quoted saying (see [`Setup::secrets`]).
    pub secrets: Secrets,
    /// This tool as the user runs it on this home, for the fixes.
    pub me: String,
    /// The fingerprint of the live list the model catalogue was built
    /// from, when it was (see [`crate::catalog::build::fingerprint`]).
    pub catalog_list: Option<String>,
}

/// Why the network checks cannot run (each names the check that says more).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoTarget {
    /// This config file does not load.
    Broken(PathBuf),
    NoBaseUrl,
    BaseUrlNotString,
    UnsafeBaseUrl,
    /// The variable `env_key` names is not set.
    KeyNotSet(String),
}

impl fmt::Display for NoTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoTarget::Broken(path) => {
                write!(f, "{} does not load (see config.parse)", path.display())
            }
            NoTarget::NoBaseUrl => f.write_str(
                "no base_url for the ominigate provider (see provider.present and provider.fields)",
            ),
            NoTarget::BaseUrlNotString => {
                f.write_str("base_url is not a string (see provider.fields)")
            }
            NoTarget::UnsafeBaseUrl => f.write_str(
                "not sending the key: base_url is not a safe https URL (see provider.fields)",
            ),
            NoTarget::KeyNotSet(name) => write!(f, "{name} is not set (see env.key)"),
        }
    }
}

impl std::error::Error for NoTarget {}

/// The target, or why the network checks cannot run.
pub fn target(inp: &Setup, limit: Duration) -> Result<Target, NoTarget> {
    if let Some((source, _)) = inp.broken().first() {
        return Err(NoTarget::Broken(source.path.clone()));
    }
    let stack = inp.profile_stack();
    let keys = |k| PROVIDER.key(k);
    let (url_item, url_file) = lookup(&stack, &keys("base_url")).ok_or(NoTarget::NoBaseUrl)?;
    let raw = url_item.as_str().ok_or(NoTarget::BaseUrlNotString)?;
    let url = spec::parse_base_url(raw).map_err(|_| NoTarget::UnsafeBaseUrl)?;
    let key_name = env_key_name(inp);
    let Some(key) = facts::key(&inp.env, &key_name).value() else {
        return Err(NoTarget::KeyNotSet(key_name));
    };
    let layout = inp.layout();
    let configured = lookup(&stack, &keys("wire_api"));
    let configured_wire = configured.and_then(|(i, _)| i.as_str());
    let wire_refused = configured_wire == Some("chat") && !layout.chat_supported;
    let wire = match configured_wire {
        Some("chat") if layout.chat_supported => "chat",
        Some("responses") => "responses",
        None if layout.chat_supported => "chat",
        _ => "responses",
    };
    let resolved = resolve(&inp.view(), Run::Profile);
    let (model, model_place) = match resolved.model {
        Some(m) if resolved.provider.value == spec::PROVIDER_ID => {
            let place = m.from.map(|p| p.to_string());
            (m.value, place)
        }
        _ => (spec::MODEL.to_string(), None),
    };
    Ok(Target {
        base_url: url.url,
        key: key.to_string(),
        key_name,
        model,
        model_place,
        wire,
        wire_place: configured.map(|(_, f)| f.quote(&keys("wire_api"))),
        base_url_place: url_file.quote(&keys("base_url")),
        wire_refused,
        version: inp.codex.effective(),
        chat_supported: layout.chat_supported,
        bridge: crate::setup::bridge::local(inp).is_ok_and(|l| l.expected()),
        limit,
        secrets: inp.secrets(),
        me: inp.home.ominigate_codex(),
        catalog_list: facts::catalog(inp)
            .and_then(|(path, _)| crate::catalog::Catalog::read(&path).ok())
            .and_then(|c| c.about)
            .and_then(|a| a.live_list),
    })
}

/// Both network checks, run at once; `skip` for both when offline or not possible.
pub fn checks(inp: &Setup, offline: bool, limit: Duration) -> [Check; 2] {
    if offline {
        return [
            Check::skip(MODELS, "skipped: --offline"),
            Check::skip(WIRE, "skipped: --offline"),
        ];
    }
    let t = match target(inp, limit) {
        Ok(t) => t,
        Err(why) => {
            return [
                Check::skip(MODELS, format!("cannot check: {why}")),
                Check::skip(WIRE, format!("cannot check: {why}")),
            ];
        }
    };
    std::thread::scope(|s| {
        let models = s.spawn(|| models_check(&t));
        let wire = s.spawn(|| wire_check(&t));
        let failed = |id| Check::fail(id, "the check stopped unexpectedly");
        [
            models.join().unwrap_or_else(|_| failed(MODELS)),
            wire.join().unwrap_or_else(|_| failed(WIRE)),
        ]
    })
}

/// The authority (host and port) of an absolute URL, lower-cased.
fn authority(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next()?.to_ascii_lowercase())
}

fn redirect(id: &'static str, t: &Target, url: &str, r: &Reply) -> Check {
    let to = r
        .location
        .clone()
        .unwrap_or_else(|| "(no Location header)".into());
    let other_host = match (authority(&to), authority(&t.base_url)) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    };
    Check::fail(id, format!("{url} redirects ({}) to {to}", r.status))
        .detail(if other_host {
            "that is another host: the redirect was not followed, so the key was not sent there"
        } else {
            "the redirect was not followed (the key only goes to base_url itself)"
        })
        .fix(format!(
            "{}: set base_url to the address the gateway really answers on (e.g. {}), if you trust it",
            t.base_url_place,
            spec::BASE_URL
        ))
}

fn auth_failure(id: &'static str, t: &Target, url: &str, r: &Reply) -> Check {
    let msg = server_message(&r.body, &t.secrets);
    let c = if r.status == 401 {
        Check::fail(id, format!("OminiGate rejected the key ({} answered 401)", url))
            .detail(format!(
                "the key in {} ({}) is not a valid OminiGate key: an OpenAI key, a revoked key, or a typo",
                t.key_name,
                mask_aside(&t.key)
            ))
            .fix(format!(
                "create a key in the OminiGate dashboard, then `export {}=\"<your key>\"` and relaunch Codex from that shell",
                t.key_name
            ))
    } else {
        Check::fail(id, format!("the key is not allowed here ({url} answered 403)"))
            .detail("the key is known but may not do this: disabled, out of credit, or without access to the model")
            .fix("check the key's status and credit in the OminiGate dashboard")
    };
    if msg.is_empty() {
        c
    } else {
        c.detail(format!("the gateway says: {msg}"))
    }
}

/// What every status but success means; `None` for 2xx.
fn common(id: &'static str, t: &Target, url: &str, r: &Reply) -> Option<Check> {
    let msg = server_message(&r.body, &t.secrets);
    let with_msg = |c: Check| {
        if msg.is_empty() {
            c
        } else {
            c.detail(format!("the gateway says: {msg}"))
        }
    };
    match r.status {
        200..=299 => None,
        300..=399 => Some(redirect(id, t, url, r)),
        401 | 403 => Some(auth_failure(id, t, url, r)),
        429 => Some(with_msg(
            Check::warn(
                id,
                format!("{url} answered 429: rate limited or out of credit"),
            )
            .fix("check the key's credit in the OminiGate dashboard, or wait and run doctor again"),
        )),
        500..=599 => Some(with_msg(
            Check::fail(id, format!("{url} answered {}: a gateway error", r.status))
                .fix("retry in a while; if it persists, contact OminiGate support"),
        )),
        s => Some(with_msg(Check::fail(id, format!("{url} answered {s}")))),
    }
}

fn unreachable(id: &'static str, t: &Target, url: &str, e: &SendError) -> Check {
    let c = Check::fail(id, format!("cannot reach {url}: {e}"));
    if t.bridge {
        c.detail("base_url is the bridge on this machine")
            .fix(format!(
                "get the bridge running (see {})",
                super::bridge::REACHABLE
            ))
    } else if matches!(e, SendError::TimedOut(_)) {
        c.fix("check your network or proxy; raise the limit with --timeout SECS")
    } else {
        c.fix("check your network, proxy and base_url (see provider.fields)")
    }
}

pub fn models_check(t: &Target) -> Check {
    let url = format!("{}/models", t.base_url);
    let r = match gateway::send(Method::Get, &url, &t.key, None, t.limit) {
        Ok(r) => r,
        Err(e) => return unreachable(MODELS, t, &url, &e),
    };
    if r.status == 404 {
        return Check::fail(
            MODELS,
            format!("{url} answered 404: there is no model list there"),
        )
        .detail("base_url is probably wrong (OminiGate's API root ends in /v1)")
        .fix(format!(
            "{}: set base_url = \"{}\"",
            t.base_url_place,
            spec::BASE_URL
        ));
    }
    if let Some(c) = common(MODELS, t, &url, &r) {
        return c;
    }
    let Some(ids) = model_ids(&r.body, &t.secrets) else {
        return Check::warn(
            MODELS,
            format!("{url} answered {} but not with a model list", r.status),
        )
        .detail("expected JSON like {\"data\": [{\"id\": \"openai/gpt-5.4-pro\"}, …]}")
        .fix(format!(
            "{}: base_url should be the API root, e.g. {}",
            t.base_url_place,
            spec::BASE_URL
        ));
    };
    if let Some(stale) = stale_catalog(t, &r.body) {
        return stale;
    }
    if ids.contains(&t.model) {
        return Check::ok(
            MODELS,
            format!(
                "key accepted; {} is among the {} models",
                t.model,
                ids.len()
            ),
        );
    }
    let close = close_matches(&t.model, &ids);
    let mut c = Check::warn(
        MODELS,
        format!(
            "key accepted, but {} is not among the {} models OminiGate lists",
            t.model,
            ids.len()
        ),
    );
    if !close.is_empty() {
        let names: Vec<&str> = close.iter().map(|s| s.as_str()).collect();
        c = c.detail(format!("listed and close: {}", names.join(", ")));
    }
    let pick = close.first().map_or("<a listed model id>", |s| s.as_str());
    c.fix(match &t.model_place {
        Some(place) => format!("{place}: set model = \"{pick}\""),
        None => format!(
            "set model = \"{pick}\" in the ominigate profile (`{} install --model {pick}`)",
            t.me
        ),
    })
}

/// The model catalogue was built from another version of this list (a
/// model added or gone, a window changed): a warning with the fix.
fn stale_catalog(t: &Target, body: &str) -> Option<Check> {
    let recorded = t.catalog_list.as_deref()?;
    let now = fingerprint(&model_details(body, &t.secrets)?);
    (now != recorded).then(|| {
        Check::warn(
            MODELS,
            "key accepted, but the list changed since the model catalogue was built from it",
        )
        .detail("Codex's windows and reasoning for OminiGate's models may be out of date")
        .fix(format!("{} models --refresh", t.me))
    })
}

fn path_of(wire: &str) -> &'static str {
    if wire == "chat" {
        "/chat/completions"
    } else {
        "/responses"
    }
}

/// A tiny request in the wire's format.
fn probe_body(wire: &str, model: &str) -> String {
    let body = if wire == "chat" {
        json!({"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1, "stream": false})
    } else {
        json!({"model": model, "input": "ping", "max_output_tokens": 16, "stream": false, "store": false})
    };
    body.to_string()
}

fn post(t: &Target, wire: &str) -> (String, Result<Reply, SendError>) {
    let url = format!("{}{}", t.base_url, path_of(wire));
    let r = gateway::send(
        Method::Post,
        &url,
        &t.key,
        Some(&probe_body(wire, &t.model)),
        t.limit,
    );
    (url, r)
}

pub fn wire_check(t: &Target) -> Check {
    let (url, reply) = post(t, t.wire);
    let r = match reply {
        Ok(r) => r,
        Err(e) => return unreachable(WIRE, t, &url, &e),
    };
    let refused_note = t.wire_refused.then(|| {
        format!(
            "wire_api = \"chat\" cannot work with Codex {}; probed {url}, what it calls once wire_api = \"responses\"",
            t.version
        )
    });
    let c = match r.status {
        404 | 405 => not_found(t, &url, &r),
        400 | 422 => {
            let msg = server_message(&r.body, &t.secrets);
            let c = Check::ok(
                WIRE,
                format!("{url} exists (it answered {} to the probe)", r.status),
            );
            if msg.is_empty() {
                c
            } else {
                c.detail(format!("the gateway says: {msg}"))
            }
        }
        _ => common(WIRE, t, &url, &r)
            .unwrap_or_else(|| Check::ok(WIRE, format!("{url} answers (status {})", r.status))),
    };
    match refused_note {
        Some(n) => c.detail(n),
        None => c,
    }
}

/// Whether a probe's answer shows an endpoint there: it took the request
/// (2xx), judged it (400, 422), or judged the key (401, 403, 429). A 404
/// or 405, a 5xx or no answer is "nothing there".
fn endpoint_exists(r: &Result<Reply, SendError>) -> bool {
    r.as_ref()
        .is_ok_and(|o| matches!(o.status, 200..=299 | 400 | 401 | 403 | 422 | 429))
}

/// The guide's "404 Not Found on every request" (or a 405), explained for
/// this Codex: a wrong base_url, the wrong wire, or a gateway that serves
/// chat completions only while this Codex speaks only Responses.
fn not_found(t: &Target, url: &str, r: &Reply) -> Check {
    let msg = server_message(&r.body, &t.secrets);
    if r.status == 404 && msg.to_ascii_lowercase().contains("model") {
        let c = Check::fail(
            WIRE,
            format!("{url} answered 404 about the model {}", t.model),
        )
        .detail(format!("the gateway says: {msg}"));
        return match &t.model_place {
            Some(place) => c.fix(format!(
                "{place}: set model to one OminiGate lists (see endpoint.models)"
            )),
            None => c.fix("set the profile's model to one OminiGate lists (see endpoint.models)"),
        };
    }
    let status = r.status;
    let other = if t.wire == "chat" {
        "responses"
    } else {
        "chat"
    };
    let (other_url, other_reply) = post(t, other);
    if !endpoint_exists(&other_reply) {
        let other_said = match &other_reply {
            Ok(o) => format!("answered {}", o.status),
            Err(e) => format!("did not answer ({e})"),
        };
        return Check::fail(
            WIRE,
            format!("{url} answered {status}: nothing there, every Codex request would fail (the guide's \"404 Not Found on every request\")"),
        )
        .detail(format!("{other_url} {other_said} too: base_url is probably wrong (OminiGate's API root ends in /v1)"))
        .fix(format!("{}: set base_url = \"{}\"", t.base_url_place, spec::BASE_URL));
    }
    let other_status = other_reply.as_ref().map_or(0, |o| o.status);
    let set_wire = |value: &str| match &t.wire_place {
        Some(place) => format!("{place}: set wire_api = \"{value}\""),
        None => format!(
            "add wire_api = \"{value}\" to [model_providers.ominigate] ({})",
            t.base_url_place
        ),
    };
    if t.wire == "chat" {
        return Check::fail(
            WIRE,
            format!("{url} answered {status}: every Codex request would fail (the guide's \"404 Not Found on every request\")"),
        )
        .detail(format!("{other_url} exists (it answered {other_status}): the gateway speaks responses, not chat"))
        .fix(set_wire("responses"));
    }
    let c = Check::fail(
        WIRE,
        format!(
            "this gateway serves chat completions only: {url} answered {status}, {other_url} answered {other_status}"
        ),
    );
    if t.chat_supported {
        return c
            .detail(format!("Codex {} still speaks chat completions", t.version))
            .fix(set_wire("chat"))
            .fix(format!("or run `{} install --wire-api chat`", t.me));
    }
    c.detail(format!(
        "Codex {} speaks only the Responses API (chat was removed in 0.95.0): it would print `Reconnecting... 1/10` up to 10/10 and, minutes later, stop on `unexpected status 404 Not Found` (the guide's \"404 Not Found on every request\")",
        t.version
    ))
    .detail("a bridge on this machine translates: Responses to Codex, chat completions to the gateway")
    .fix(format!("run Codex through a private bridge: `{me} codex` (takes codex's arguments, e.g. `{me} codex exec \"hello\"`)", me = t.me))
    .fix(format!(
        "or keep one running for every `codex --profile ominigate`: `{me} install --bridge`, then `{me} bridge` (or `{me} bridge --print-service {}` to start it at login)",
        crate::bridge::service::service_manager(),
        me = t.me
    ))
    .fix(format!("or pin Codex 0.94.0, the last release with chat completions: `npm i -g @openai/codex@0.94.0`, then `{} install --codex-version 0.94.0` (writes wire_api = \"chat\")", t.me))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn authorities_compare_host_and_port() {
        assert_eq!(authority("https://A.x:1/v1?q"), Some("a.x:1".into()));
        assert_eq!(authority("/relative"), None);
    }

    #[test]
    fn probe_bodies_are_valid_json_in_the_wire_format() {
        let chat: Value = serde_json::from_str(&probe_body("chat", "m")).unwrap();
        assert_eq!(chat["messages"][0]["content"], "ping");
        let resp: Value = serde_json::from_str(&probe_body("responses", "m")).unwrap();
        assert_eq!(resp["input"], "ping");
        assert_eq!(path_of("chat"), "/chat/completions");
    }
}
