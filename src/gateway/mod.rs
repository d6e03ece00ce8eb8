//! The commands' HTTP client (ureq) for everything that talks to a gateway
//! with the user's key: doctor, models, use. (The bridge asks the gateway
//! with an async client of its own: `bridge/upstream.rs`.)
//! [`send`] makes one request with the key; [`models`] asks for the model
//! list.
//!
//! The URL is checked first ([`spec::parse_base_url`]: https, or plain http
//! to this machine only), redirects are never followed (the key would go to
//! whatever address a redirect names), and a loopback gateway is reached
//! directly, never through a proxy from the environment.

pub mod models;

use std::fmt;
use std::time::Duration;

use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

use serde_json::Value;

use crate::shown::{self, Secrets};
use crate::spec::{self, BaseUrl};

pub const USER_AGENT: &str = concat!("ominigate-codex/", env!("CARGO_PKG_VERSION"));

/// The agent settings every gateway request shares; callers add time limits.
fn agent_config(url: &BaseUrl) -> ConfigBuilder<AgentScope> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(USER_AGENT);
    if url.is_loopback() {
        config.proxy(None)
    } else {
        config
    }
}

/// A ureq error as one line for the user (never holds a header value).
fn describe(e: &ureq::Error, limit: Duration) -> String {
    match e {
        _ if is_timeout(e) => format!("no answer within {}", seconds(limit)),
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::HostNotFound => "host not found (DNS)".into(),
        other => other.to_string(),
    }
}

/// Whether `e` is the time limit running out (ureq's own timer or the
/// socket's).
fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// The variable that keeps every command from asking the gateway (CI,
/// machines that must not call out).
pub const OFFLINE_VAR: &str = "OMINIGATE_CODEX_OFFLINE";

/// Whether [`OFFLINE_VAR`] is set and not empty, 0, false, no or off (nor
/// `f` or `n`: the values clap reads as false).
pub fn offline_by_env() -> bool {
    std::env::var_os(OFFLINE_VAR).is_some_and(|v| {
        let v = v.to_string_lossy().trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "false" | "no" | "off" | "f" | "n")
    })
}

/// `5 s`, or `300 ms` for a limit that is not whole seconds.
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `Location` header of a redirect (never followed).
    pub location: Option<String>,
    /// At most [`BODY_LIMIT`] bytes, as text.
    pub body: String,
}

pub const BODY_LIMIT: u64 = 1 << 20;

/// Why there is no [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The URL is not safe to send the key to: nothing went out.
    NotSent(spec::Invalid),
    /// No answer within the limit.
    TimedOut(Duration),
    /// A broken answer or connection (in `describe`'s words).
    Failed(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotSent(e) => write!(f, "not sent: {e}"),
            SendError::TimedOut(limit) => {
                write!(f, "no answer within {}", seconds(*limit))
            }
            SendError::Failed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SendError {}

impl SendError {
    fn new(e: &ureq::Error, limit: Duration) -> Self {
        if is_timeout(e) {
            SendError::TimedOut(limit)
        } else {
            SendError::Failed(describe(e, limit))
        }
    }
}

/// Send `method url` with `Authorization: Bearer <key>`. Refuses, without
/// sending anything, a URL that is not https unless its host is loopback.
/// Redirects are returned as they are, not followed, so the key never goes
/// to the address a redirect names.
pub fn send(
    method: Method,
    url: &str,
    key: &str,
    body: Option<&str>,
    limit: Duration,
) -> Result<Reply, SendError> {
    request(method, url, Some(key), body, limit)
}

/// `GET url` without any key: for a bridge's `/health`, which needs none.
pub fn get_without_key(url: &str, limit: Duration) -> Result<Reply, SendError> {
    request(Method::Get, url, None, None, limit)
}

fn request(
    method: Method,
    url: &str,
    key: Option<&str>,
    body: Option<&str>,
    limit: Duration,
) -> Result<Reply, SendError> {
    let checked = spec::parse_base_url(url).map_err(SendError::NotSent)?;
    let agent: ureq::Agent = agent_config(&checked)
        .timeout_global(Some(limit))
        .build()
        .into();
    let auth = key.map(|k| format!("Bearer {k}"));
    let result = match method {
        Method::Get => {
            let mut req = agent.get(url).header("Accept", "application/json");
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()
        }
        Method::Post => {
            let mut req = agent
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.send(body.unwrap_or_default())
        }
    };
    let mut response = result.map_err(|e| SendError::new(&e, limit))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let bytes = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(|e| SendError::new(&e, limit))?;
    Ok(Reply {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// Characters of a server's message shown.
pub const MESSAGE_WIDTH: usize = 200;

/// The server's own message: `error.message` of a JSON body, else the body's
/// first line; secrets masked first, then unsafe characters escaped, then
/// cut to [`MESSAGE_WIDTH`] characters.
pub fn server_message(body: &str, secrets: &Secrets) -> String {
    let from_json = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        let e = v.get("error")?;
        e.get("message")
            .and_then(Value::as_str)
            .or_else(|| e.as_str())
            .map(str::to_string)
    });
    let text = from_json.unwrap_or_else(|| body.lines().next().unwrap_or_default().to_string());
    shown::untrusted(secrets, &text, MESSAGE_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_to_another_machine_is_refused_before_sending() {
        let err = send(
            Method::Get,
            "http://api.ominigate.ai/v1/models",
            "sk-secret",
            None,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("not sent:"), "{err}");
        assert!(!err.contains("sk-secret"));
    }

    #[test]
    fn server_messages_are_short_single_lines() {
        let none = Secrets::default();
        assert_eq!(
            server_message("{\"error\": {\"message\": \"bad key\"}}", &none),
            "bad key"
        );
        assert_eq!(server_message("{\"error\": \"nope\"}", &none), "nope");
        assert_eq!(server_message("plain\nsecond", &none), "plain");
        assert_eq!(
            server_message(&"x".repeat(500), &none).chars().count(),
            MESSAGE_WIDTH + 1
        );
        assert_eq!(server_message("", &none), "");
        assert_eq!(
            server_message("{\"error\": \"a\\nb\\u001b[2J\"}", &none),
            "a\\nb\\u{1b}[2J"
        );
    }
}
