//! What every stage of the bridge reads: its [`Config`], the [`Shared`]
//! state built once at start, and the request log.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use super::upstream::Gateway;
use crate::shown;
use crate::spec::BaseUrl;

/// What the bridge needs to know; the commands work it out from the
/// config (`ominigate-codex bridge`).
#[derive(Debug, Clone)]
pub struct Config {
    /// The gateway's base URL (checked: https, or http to loopback).
    pub upstream: BaseUrl,
    /// The variable Codex reads the key from, named in errors about the key.
    pub env_key: String,
    /// The provider's `stream_idle_timeout_ms`: the longest wait for the
    /// next bytes from the gateway.
    pub idle_timeout: Duration,
    /// One stderr line per request (`-q` turns it off).
    pub log: bool,
    /// Also log what a request had that was not translated (`-v`).
    pub verbose: bool,
}

/// What every request handler reads.
pub(super) struct Shared {
    pub config: Config,
    pub gateway: Gateway,
}

/// The request log: one line per request on stderr, unless `-q`. Holds
/// only what the caller passes: never a header, never message content;
/// and like every output, it goes through [`shown`] (secrets masked,
/// control characters escaped).
pub(super) fn log_line(shared: &Shared, line: std::fmt::Arguments<'_>) {
    if shared.config.log {
        let line = line.to_string();
        let line = shown::text(&shown::redact(&line)).into_owned();
        let _ = writeln!(io::stderr().lock(), "bridge: {line}");
    }
}

/// Seconds with milliseconds, for the log.
pub(super) fn secs(since: Instant) -> String {
    format!("{:.3}s", since.elapsed().as_secs_f64())
}
