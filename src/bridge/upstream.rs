//! The bridge's requests to the gateway, made with the crate's one HTTP
//! client (ureq) on the runtime's blocking threads: the agent, what of
//! Codex's request goes on ([`Forward`]), `POST /chat/completions` and
//! `GET /models`, and what the exchanges ([`super::exchange`]) say when the
//! gateway cannot be reached or redirects.

use std::borrow::Cow;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};

use super::shared::{Config, Shared};
use crate::shown::Secrets;
use crate::{gateway, spec};

/// Upstream answers that are not a stream (errors, the model list, a
/// `stream: false` completion) are read up to this many bytes.
const REPLY_LIMIT: u64 = 16 << 20;
/// Bytes ureq buffers per upstream connection, each way.
const UPSTREAM_BUFFER: usize = 16 * 1024;

/// Time to set up the connection to the gateway (DNS, TCP, TLS).
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// The gateway's answer, its body not yet read.
pub(super) type Upstream = ureq::http::Response<ureq::Body>;

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

/// What of Codex's request goes on to the gateway: the caller's
/// `Authorization` header, passed on as it came. The bridge keeps it only
/// for the length of the request.
pub(super) struct Forward {
    auth: Option<HeaderValue>,
}

impl Forward {
    pub(super) fn of<B>(req: &Request<B>) -> Forward {
        Forward {
            auth: req.headers().get(header::AUTHORIZATION).cloned(),
        }
    }

    /// The caller's key, for blanking it out ([`caller_key`]).
    pub(super) fn key(&self) -> Option<&[u8]> {
        self.auth.as_ref().and_then(caller_key)
    }

    /// `body` with the caller's key masked ([`redact_key`]).
    pub(super) fn redact(&self, body: Vec<u8>) -> Vec<u8> {
        redact_key(body, self.auth.as_ref())
    }

    fn apply<B>(&self, mut request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth.as_bytes());
        }
        request
    }
}

/// `POST {upstream}/chat/completions` with `chat`, asking for a stream or
/// for JSON.
pub(super) fn post_chat(
    shared: &Shared,
    forward: &Forward,
    chat: Vec<u8>,
    stream: bool,
) -> Result<Upstream, ureq::Error> {
    let accept = match stream {
        true => "text/event-stream",
        false => "application/json",
    };
    let request = shared
        .agent
        .post(upstream_url(shared, "chat/completions"))
        .header("Content-Type", "application/json")
        .header("Accept", accept);
    forward.apply(request).send(&chat[..])
}

/// Whether the gateway named its answer JSON.
pub(super) fn is_json(response: &Upstream) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// An answer that is not a stream, read whole (up to [`REPLY_LIMIT`]).
pub(super) fn read_reply(response: &mut Upstream) -> Result<Vec<u8>, ureq::Error> {
    response
        .body_mut()
        .with_config()
        .limit(REPLY_LIMIT)
        .read_to_vec()
}

/// `GET {upstream}/models`: the gateway's status and body (the key
/// masked), or the status and message that say why there is none.
pub(super) fn get_models(
    shared: &Shared,
    forward: &Forward,
) -> Result<(u16, Vec<u8>), (StatusCode, String)> {
    let request = shared
        .agent
        .get(upstream_url(shared, "models"))
        .header("Accept", "application/json");
    let mut response = forward
        .apply(request)
        .call()
        .map_err(|e| unreachable(shared, &e))?;
    let status = response.status().as_u16();
    let body = read_reply(&mut response).map_err(|e| unreachable(shared, &e))?;
    Ok((status, forward.redact(body)))
}

/// Mask the caller's key wherever an upstream answer echoes it, so that no
/// error the bridge passes on or logs holds it: the one key filter
/// ([`Secrets::redact`]: the key whole, or any run of 8 or more of its
/// characters in any case). A body that is not UTF-8 comes out with its
/// invalid bytes replaced, which an error body can spare.
fn redact_key(body: Vec<u8>, auth: Option<&HeaderValue>) -> Vec<u8> {
    let Some(token) = auth.and_then(caller_key) else {
        return body;
    };
    let secrets = Secrets::new([String::from_utf8_lossy(token)]);
    let text = String::from_utf8_lossy(&body);
    match secrets.redact(&text) {
        Cow::Owned(masked) => masked.into_bytes(),
        Cow::Borrowed(_) => body,
    }
}

/// The key in the caller's `Authorization` header (after `Bearer `), for
/// blanking it out; `None` when too short to search for without blanking
/// ordinary words.
fn caller_key(auth: &HeaderValue) -> Option<&[u8]> {
    let value = auth.as_bytes();
    let token = value
        .strip_prefix(b"Bearer ")
        .or_else(|| value.strip_prefix(b"bearer "))
        .unwrap_or(value)
        .trim_ascii();
    (token.len() >= 8).then_some(token)
}

fn upstream_url(shared: &Shared, path: &str) -> String {
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
}
