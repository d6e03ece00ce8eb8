//! The one HTTP client setup (ureq) for everything that talks to a gateway
//! with the user's key: doctor, models and the bridge's upstream requests.
//!
//! The URL is checked first ([`spec::parse_base_url`]: https, or plain http
//! to this machine only), redirects are never followed (the key would go to
//! whatever address a redirect names), and a loopback gateway is reached
//! directly, never through a proxy from the environment.

use std::time::Duration;

use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

use crate::spec::BaseUrl;

pub const USER_AGENT: &str = concat!("ominigate-codex/", env!("CARGO_PKG_VERSION"));

/// The agent settings every gateway request shares; callers add time limits.
pub fn agent_config(url: &BaseUrl) -> ConfigBuilder<AgentScope> {
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
pub fn describe(e: &ureq::Error, limit: Duration) -> String {
    match e {
        _ if is_timeout(e) => format!("no answer within {}", seconds(limit)),
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::HostNotFound => "host not found (DNS)".into(),
        other => other.to_string(),
    }
}

/// Whether `e` is the time limit running out (ureq's own timer or the
/// socket's).
pub fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => true,
        ureq::Error::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
        _ => false,
    }
}

/// `5 s`, or `300 ms` for a limit that is not whole seconds.
pub fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}
