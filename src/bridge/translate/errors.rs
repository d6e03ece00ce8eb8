//! Gateway errors in the form Codex handles (read in Codex's
//! `codex-api/src/sse/responses.rs` and `core/src/api_bridge.rs`):
//!
//! - HTTP 400: the body is shown to the user at once, as it is, no retry
//!   (`ERROR: {"error":{"message":"…"}}`, seen with 0.133.0 and 0.171.0). So a
//!   rejected key (401/403), which Codex would retry like a stream error for
//!   minutes, is answered as a 400 whose message names the key's variable.
//! - A rate limit (429) becomes `response.failed` with `rate_limit_exceeded`
//!   (or the gateway's `insufficient_quota`), keeping its message. Measured
//!   with Codex 0.133.0 and 0.171.0: an HTTP 429 is never retried, Codex
//!   stops at once with `exceeded retry limit, last status: 429` and
//!   without the gateway's message; `response.failed` with
//!   `rate_limit_exceeded` is retried after the "try again in Ns" it names.
//! - Other statuses keep their code (Codex retries 5xx itself), with the
//!   gateway's message in `{"error":{"message"}}`.
//! - `response.failed` with `error.code`: `context_length_exceeded` makes
//!   Codex say the conversation ran out of room; `rate_limit_exceeded`,
//!   `insufficient_quota`, … have their own handling; any other code is a
//!   retryable stream error whose message Codex shows while reconnecting.

use serde_json::{Value, json};

use super::items;
use super::retry::{self, RetryAfter};
use super::sse;

/// `response.failed` code for a stream that ended before the gateway finished.
pub(crate) const STREAM_INCOMPLETE: &str = "upstream_stream_incomplete";
/// `response.failed` code for bytes that are not a chat stream.
pub(crate) const MALFORMED: &str = "upstream_malformed";
/// `response.failed` code for any other error the gateway reported.
pub(crate) const UPSTREAM: &str = "upstream_error";
/// The code Codex retries after the wait its message names.
pub(crate) const RATE_LIMITED: &str = "rate_limit_exceeded";
/// The code Codex reports as "the conversation ran out of room".
pub(crate) const CONTEXT_LENGTH: &str = "context_length_exceeded";

/// Codes Codex handles specially and a gateway may report as they are.
const PASSED_CODES: [&str; 4] = [
    "rate_limit_exceeded",
    "insufficient_quota",
    "server_is_overloaded",
    "invalid_prompt",
];

/// A failure to report in `response.failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamFailure {
    pub code: String,
    pub message: String,
}

impl StreamFailure {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        StreamFailure {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// An upstream error answered before any stream, ready to send to Codex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamError {
    /// Answer with this status and JSON body.
    Http { status: u16, body: Vec<u8> },
    /// Answer 200 with this `text/event-stream` body (`response.failed`).
    Failed { sse: Vec<u8> },
}

/// Maps a gateway's error answer (`status`, `body`) for Codex; `env_key` is the
/// name of the variable holding the key (never its value); `retry_after` the
/// answer's `Retry-After` header, whose wait Codex is then told (see
/// `super::retry`).
pub fn upstream_error(
    status: u16,
    body: &[u8],
    env_key: &str,
    retry_after: Option<RetryAfter<'_>>,
) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().map(error_object);
    let failure = match error {
        Some(error) => classify(error, Some(status)),
        None => {
            // Not JSON (an HTML error page, plain text): one readable line.
            let text = String::from_utf8_lossy(body);
            let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
            classify(&Value::String(shorten(line, 300)), Some(status))
        }
    };
    let wait = retry_after.and_then(|header| header.wait());
    let message = match wait {
        Some(wait) if failure.code == RATE_LIMITED => retry::with_wait(&failure.message, wait),
        _ if failure.message.is_empty() => {
            format!("the gateway answered HTTP {status} without a message")
        }
        _ => failure.message.clone(),
    };
    if failure.code == CONTEXT_LENGTH || status == 429 {
        return UpstreamError::Failed {
            sse: failed_event(&failure.code, &message),
        };
    }
    if status == 401 || status == 403 {
        let message = format!(
            "The gateway rejected the API key (HTTP {status}): {}. Check the key in the environment variable {env_key} (`ominigate-codex doctor` tests it).",
            message.trim_end_matches('.')
        );
        return UpstreamError::Http {
            status: 400,
            body: message_body(&message),
        };
    }
    let status = if (400..=599).contains(&status) {
        status
    } else {
        502
    };
    UpstreamError::Http {
        status,
        body: message_body(&message),
    }
}

/// `{"error":{"message":…}}` and nothing else: Codex prints the body of a 400
/// as it is (measured with 0.133.0 and 0.171.0), so every other field would
/// be noise in front of the user.
fn message_body(message: &str) -> Vec<u8> {
    json!({"error": {"message": message}})
        .to_string()
        .into_bytes()
}

/// The SSE bytes of one `response.failed` event.
pub fn failed_event(code: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let event = failed_json("resp_bridge_failed", "", &StreamFailure::new(code, message));
    sse::write_event(&mut out, &event);
    out
}

pub(crate) fn failed_json(response_id: &str, model: &str, failure: &StreamFailure) -> Value {
    let mut response = items::response(response_id, model, "failed", Vec::new());
    response["error"] = json!({"code": failure.code, "message": failure.message});
    json!({"type": "response.failed", "response": response})
}

/// The `error` object of an error body (`{"error": {…}}`, `{"error": "…"}`),
/// else the body itself.
fn error_object(body: &Value) -> &Value {
    match body.get("error") {
        Some(error) if !error.is_null() => error,
        _ => body,
    }
}

/// The failure an upstream error object (or string) stands for.
pub(crate) fn classify(error: &Value, status: Option<u16>) -> StreamFailure {
    let message = match error {
        Value::String(text) => text.clone(),
        Value::Object(map) => ["message", "detail", "error"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str))
            .map_or_else(|| error.to_string(), str::to_owned),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let message = shorten(message, 2000);
    let field = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or("");
    let (code, kind) = (field("code"), field("type"));
    let code = if is_context_length(code, kind, &message) {
        CONTEXT_LENGTH
    } else if let Some(known) = PASSED_CODES.iter().find(|c| **c == code || **c == kind) {
        known
    } else if status == Some(429) {
        RATE_LIMITED
    } else {
        UPSTREAM
    };
    // A wait the gateway's error names reaches Codex in words it reads.
    let message = match retry::body_wait(error) {
        Some(wait) if code == RATE_LIMITED && !retry::names_wait(&message) => {
            retry::with_wait(&message, wait)
        }
        _ => message,
    };
    StreamFailure::new(code, message)
}

/// Whether an error says the prompt does not fit the model's context.
fn is_context_length(code: &str, kind: &str, message: &str) -> bool {
    const CODES: [&str; 2] = ["context_length_exceeded", "model_context_window_exceeded"];
    const PHRASES: [&str; 8] = [
        "context length",
        "context_length",
        "context window",
        "maximum context",
        "prompt is too long",
        "input is too long",
        "too many input tokens",
        "reduce the length of the messages",
    ];
    if CODES.contains(&code) || CODES.contains(&kind) {
        return true;
    }
    let lower = message.to_lowercase();
    // A rate limit counts tokens per minute, it is not about the context.
    !lower.contains("per min") && PHRASES.iter().any(|p| lower.contains(p))
}

/// Keeps an upstream message readable: at most `max` bytes.
fn shorten(message: String, max: usize) -> String {
    if message.len() <= max {
        return message;
    }
    let mut cut = max;
    while !message.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &message[..cut])
}
