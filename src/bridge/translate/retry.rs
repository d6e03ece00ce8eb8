//! How long a rate-limited request should wait, in the words Codex reads.
//!
//! Codex takes the wait only from the message of a `response.failed` whose
//! code is `rate_limit_exceeded`, with the pattern
//! `(?i)try again in\s*(\d+(?:\.\d+)?)\s*(s|ms|seconds?)` (read in
//! `codex-rs/codex-api/src/sse/responses.rs`, `try_parse_retry_after`; the
//! same string is in the 0.133.0 and 0.171.0 binaries). Without it Codex
//! backs off by itself (about 0.2 s, doubling). So the gateway's `Retry-After`
//! header (seconds or an HTTP date), or a wait its error body names
//! (`retry_after`, `retry_after_seconds`, `retry_after_ms`, Google's
//! `retryDelay`), is put at the front of the message as
//! `Please try again in Ns.`: Codex reads the first match.

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// The upstream's `Retry-After` header and the time it was read at (an HTTP
/// date is a wait from then). The translation reads no clock itself.
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter<'a> {
    pub value: &'a str,
    pub now: SystemTime,
}

impl RetryAfter<'_> {
    /// The wait the header asks for: whole seconds, or until an HTTP date
    /// (none when the date is past or unreadable).
    pub(crate) fn wait(&self) -> Option<Duration> {
        let value = self.value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        // Not RFC 9110's form, but some gateways send a fraction.
        if let Ok(seconds) = value.parse::<f64>() {
            return (seconds.is_finite() && seconds >= 0.0)
                .then(|| Duration::from_secs_f64(seconds.min(1e9)));
        }
        let date = httpdate::parse_http_date(value).ok()?;
        date.duration_since(self.now).ok().map(round_up)
    }
}

/// Whole seconds, rounded up: waiting less than asked is the one mistake.
fn round_up(wait: Duration) -> Duration {
    let whole = Duration::from_secs(wait.as_secs());
    if whole == wait {
        whole
    } else {
        whole + Duration::from_secs(1)
    }
}

/// A wait named in a gateway's error object (or body).
pub(crate) fn body_wait(error: &Value) -> Option<Duration> {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().trim_end_matches('s').trim().parse::<f64>().ok(),
        _ => None,
    };
    let seconds = |v: f64| (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v.min(1e9)));
    let field = |key: &str| {
        error
            .get(key)
            .or_else(|| error.get("metadata").and_then(|m| m.get(key)))
            .and_then(number)
    };
    if let Some(ms) = field("retry_after_ms") {
        return seconds(ms / 1000.0);
    }
    if let Some(s) = field("retry_after").or_else(|| field("retry_after_seconds")) {
        return seconds(s);
    }
    // Google: `details: [{"@type": "…RetryInfo", "retryDelay": "30s"}]`.
    error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|d| d.get("retryDelay").and_then(number))
        .and_then(seconds)
}

/// `message` with the wait in front, in the words Codex reads.
pub(crate) fn with_wait(message: &str, wait: Duration) -> String {
    let millis = wait.as_millis();
    let amount = if millis.is_multiple_of(1000) {
        format!("{}s", millis / 1000)
    } else {
        format!("{}.{:03}s", millis / 1000, millis % 1000)
    };
    if message.is_empty() {
        format!("Rate limited by the gateway. Please try again in {amount}.")
    } else {
        format!("Please try again in {amount}. {message}")
    }
}

/// Whether Codex finds a wait in `message` (its pattern, above).
pub(crate) fn names_wait(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.match_indices("try again in").any(|(at, phrase)| {
        let rest = lower[at + phrase.len()..].trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return false;
        }
        let mut rest = &rest[digits..];
        if let Some(fraction) = rest.strip_prefix('.') {
            let more = fraction.len()
                - fraction
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if more > 0 {
                rest = &fraction[more..];
            }
        }
        rest.trim_start().starts_with('s') || rest.trim_start().starts_with("ms")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_header_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Mon, 07 Dec 2026 01:00:00 GMT").unwrap();
        let wait = |value| RetryAfter { value, now }.wait();
        assert_eq!(wait(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(wait("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(wait("NaN"), None);
        assert_eq!(
            wait("Mon, 07 Dec 2026 01:00:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(wait("Mon, 07 Dec 2026 00:59:00 GMT"), None);
        assert_eq!(wait("soon"), None);
        assert_eq!(wait("-1"), None);
    }

    #[test]
    fn the_body_names_waits_in_several_ways() {
        for (error, secs) in [
            (json!({"retry_after": 3}), 3.0),
            (json!({"retry_after": "4s"}), 4.0),
            (json!({"retry_after_ms": 1500}), 1.5),
            (json!({"metadata": {"retry_after_seconds": 7}}), 7.0),
            (
                json!({"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]}),
                12.0,
            ),
        ] {
            assert_eq!(
                body_wait(&error),
                Some(Duration::from_secs_f64(secs)),
                "{error}"
            );
        }
        assert_eq!(body_wait(&json!({"retry_after": -2})), None);
        assert_eq!(body_wait(&json!({"message": "slow down"})), None);
    }

    #[test]
    fn codexs_pattern_finds_the_wait_put_in_front() {
        let message = with_wait("Too many requests", Duration::from_millis(2500));
        assert_eq!(message, "Please try again in 2.500s. Too many requests");
        assert!(names_wait(&message));
        assert!(names_wait("Rate limit reached. Please try again in 20ms."));
        assert!(names_wait("try again in 3 seconds"));
        assert!(!names_wait("Please try again in a minute."));
        assert!(!names_wait("Please try again later."));
        assert!(names_wait(&with_wait("", Duration::from_secs(2))));
    }
}
