//! What every stage of the bridge reads: its [`Config`], the `Shared`
//! state built once at start, and the request log.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::budget::Budget;
use super::upstream::Gateway;
use crate::shown::{self, Secrets};
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
    /// The model catalogue Codex reads too (which models reason), read
    /// again when it changes.
    pub models: std::sync::Arc<super::models::ModelsFile>,
}

/// What every request handler reads.
pub(super) struct Shared {
    pub config: Config,
    pub gateway: Gateway,
    /// The request bodies held at once.
    pub budget: Budget,
    /// Set when the grace period is over: every streamed answer still open
    /// then ends with `response.failed`.
    pub cut: watch::Sender<bool>,
}

/// Requests to stop, each named (`SIGTERM`): the first lets running
/// requests finish for the grace period, the second ends them at once.
/// A closed channel counts as the first.
pub type Stops = mpsc::UnboundedReceiver<&'static str>;

/// The request log: one line per request on stderr, unless `-q`. Holds
/// only what the caller passes: never a header, never message content;
/// and like every output, it goes through [`shown`] (secrets masked, every
/// control character escaped, line feeds too: one request, one line).
pub(super) fn log_line(shared: &Shared, line: std::fmt::Arguments<'_>) {
    log_masked(shared, &Secrets::default(), line);
}

/// [`log_line`] that also masks `caller`: the key of the request's own
/// `Authorization`, which the process does not know otherwise, wherever a
/// string from the request's body (a model or tool name) carries it.
pub(super) fn log_masked(shared: &Shared, caller: &Secrets, line: std::fmt::Arguments<'_>) {
    if shared.config.log {
        let line = line.to_string();
        let line = caller.redact(&line);
        let line = shown::redact(&line);
        let line = shown::value(&line);
        let _ = writeln!(io::stderr().lock(), "bridge: {line}");
    }
}

/// Seconds with milliseconds, for the log.
pub(super) fn secs(since: Instant) -> String {
    format!("{:.3}s", since.elapsed().as_secs_f64())
}
