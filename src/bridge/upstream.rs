//! The bridge's requests to the gateway, made with the crate's one HTTP
//! client (ureq) on the runtime's blocking threads.
//!
//! Here: the agent, `GET /v1/models` forwarding, and what the
//! `/v1/responses` exchange ([`super::responses`]) shares with it.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::server::{Body, Config, Shared, full, json_error, log_line, secs};
use crate::shown::Secrets;
use crate::{gateway, spec};

/// Upstream answers that are not a stream (errors, the model list, a
/// `stream: false` completion) are read up to this many bytes.
pub(super) const REPLY_LIMIT: u64 = 16 << 20;
/// Bytes ureq buffers per upstream connection, each way.
const UPSTREAM_BUFFER: usize = 16 * 1024;

/// Time to set up the connection to the gateway (DNS, TCP, TLS).
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// The agent for `config.upstream`: no redirects, the idle limit on every
/// read, including the wait for the answer's headers.
pub(super) fn agent(config: &Config) -> ureq::Agent {
    gateway::agent_config(&config.upstream)
        // ureq's 128 KiB buffers each way, times 64 streams, were a third
        // of the bridge's RSS; SSE lines and the request go through fine
        // in 16 KiB pieces (the input buffer must hold a header block).
        .input_buffer_size(UPSTREAM_BUFFER)
        .output_buffer_size(UPSTREAM_BUFFER)
        .timeout_connect(Some(CONNECT_LIMIT))
        .timeout_recv_response(Some(config.idle_timeout))
        .timeout_per_read(Some(config.idle_timeout))
        .build()
        .into()
}

/// The caller's `Authorization` header, passed on as it came. The bridge
/// keeps it only for the length of the request.
pub(super) fn authorization(req: &Request<Incoming>) -> Option<HeaderValue> {
    req.headers().get(header::AUTHORIZATION).cloned()
}

/// The caller's key (from its `Authorization`) as the one key filter
/// ([`Secrets`]: the key whole, or any run of 8 or more of its characters
/// in any case); empty without a key long enough to search for.
pub(super) fn caller_secrets(auth: Option<&HeaderValue>) -> Secrets {
    Secrets::new(auth.and_then(caller_key).map(String::from_utf8_lossy))
}

/// Mask the caller's key wherever an upstream answer echoes it, so that no
/// error the bridge passes on or logs holds it ([`caller_secrets`]). A body
/// that is not UTF-8 comes out with its invalid bytes replaced, which an
/// error body can spare.
pub(super) fn redact_key(body: Vec<u8>, auth: Option<&HeaderValue>) -> Vec<u8> {
    let secrets = caller_secrets(auth);
    if secrets.is_empty() {
        return body;
    }
    let text = String::from_utf8_lossy(&body);
    match secrets.redact(&text) {
        Cow::Owned(masked) => masked.into_bytes(),
        Cow::Borrowed(_) => body,
    }
}

/// The key in the caller's `Authorization` header (after `Bearer `), for
/// blanking it out; `None` when too short to search for without blanking
/// ordinary words.
pub(super) fn caller_key(auth: &HeaderValue) -> Option<&[u8]> {
    let value = auth.as_bytes();
    let token = value
        .strip_prefix(b"Bearer ")
        .or_else(|| value.strip_prefix(b"bearer "))
        .unwrap_or(value)
        .trim_ascii();
    (token.len() >= 8).then_some(token)
}

pub(super) fn upstream_url(shared: &Shared, path: &str) -> String {
    format!("{}/{path}", shared.config.upstream.url)
}

/// The gateway could not be reached: 502 naming the gateway (without
/// credentials) and the cause.
pub(super) fn unreachable(shared: &Shared, e: &ureq::Error) -> (StatusCode, String) {
    (
        StatusCode::BAD_GATEWAY,
        format!(
            "the bridge could not reach the gateway {}: {}",
            spec::redact_url(&shared.config.upstream.url),
            gateway::describe(e, shared.config.idle_timeout)
        ),
    )
}

/// The gateway answered a redirect (`status`, 3xx): 502 with this message,
/// saying it was not followed (the key would go wherever it points) and
/// what to fix.
pub(super) fn redirected(shared: &Shared, status: u16) -> (StatusCode, String) {
    (
        StatusCode::BAD_GATEWAY,
        format!(
            "the gateway {} answered a redirect (HTTP {status}); the bridge never follows one, since the key would go with it: set the upstream to the URL it redirects to",
            spec::redact_url(&shared.config.upstream.url)
        ),
    )
}

/// A gateway's status the bridge may pass on with a body: 200–599, but
/// not 204, 205 or 304, which carry none. Anything else (an interim 1xx,
/// 101 Switching Protocols, a number HTTP does not define) is no answer to
/// pass on: the caller makes it a 502.
pub(super) fn final_status(status: u16) -> Option<StatusCode> {
    match status {
        204 | 205 | 304 => None,
        200..=599 => StatusCode::from_u16(status).ok(),
        _ => None,
    }
}

/// `GET /v1/models`: forwarded to `{upstream}/models` with the caller's
/// `Authorization`, answered with the gateway's status and body, as JSON.
pub(super) async fn models(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let auth = authorization(&req);
    let worker = shared.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut request = worker
            .agent
            .get(upstream_url(&worker, "models"))
            .header("Accept", "application/json");
        if let Some(auth) = &auth {
            request = request.header("Authorization", auth.as_bytes());
        }
        match request.call() {
            Err(e) => Err(unreachable(&worker, &e)),
            Ok(mut response) => {
                let status = response.status().as_u16();
                let body = response
                    .body_mut()
                    .with_config()
                    .limit(REPLY_LIMIT)
                    .read_to_vec()
                    .map_err(|e| unreachable(&worker, &e))?;
                Ok((status, redact_key(body, auth.as_ref())))
            }
        }
    })
    .await;
    let response = match answer {
        // Always JSON, whatever type the gateway named: with its type, a
        // gateway could serve a web page from the bridge's own address.
        Ok(Ok((status, _))) if (300..400).contains(&status) => {
            let (status, message) = redirected(&shared, status);
            json_error(status, &message)
        }
        Ok(Ok((status, body))) => match final_status(status) {
            Some(status) => full(status, "application/json", body),
            None => json_error(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "the gateway answered HTTP {status}, which is not a final answer with a body"
                ),
            ),
        },
        Ok(Err((status, message))) => json_error(status, &message),
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the upstream request stopped",
        ),
    };
    log_line(
        &shared,
        format_args!(
            "GET /v1/models -> {} in {}",
            response.status().as_u16(),
            secs(start)
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_keys_are_blanked() {
        let auth = HeaderValue::from_static("Bearer sk-omg-secret-123");
        let body = b"bad key sk-omg-secret-123, try again (SK-OMG-SECRET-12)".to_vec();
        let out = String::from_utf8(redact_key(body, Some(&auth))).unwrap();
        assert_eq!(
            out,
            "bad key \u{2026}(17 characters), try again (\u{2026}(17 characters))"
        );
        assert_eq!(redact_key(b"x".to_vec(), None), b"x");
    }

    #[test]
    fn only_final_statuses_with_a_body_pass() {
        for bad in [0, 100, 101, 199, 204, 205, 304, 600, 999] {
            assert_eq!(final_status(bad), None, "{bad}");
        }
        for good in [200, 201, 400, 401, 404, 429, 500, 503, 599] {
            assert_eq!(final_status(good).map(|s| s.as_u16()), Some(good));
        }
    }
}
