//! One exchange per request Codex makes of the gateway:
//! - `POST /v1/responses` ([`responses`]): the Responses request is
//!   translated to a chat request ([`super::translate`], pure), sent to
//!   `{upstream}/chat/completions` ([`super::upstream`]), and the chat
//!   stream translated back as Codex reads it ([`relay`], paced by
//!   [`pacing`]);
//! - `GET /v1/models` ([`models`]): forwarded as it is.
//!
//! All on the event loop, nothing on a thread of its own but the
//! translation of a large request. The answer's body reads the gateway's
//! stream when hyper asks it for more: a slow client slows the gateway
//! down (nothing piles up here), and when Codex goes away, hyper drops the
//! body or the exchange's future, and with it the connection to the
//! gateway, whatever the gateway was sending. Every wait on the gateway is
//! bounded by the provider's `stream_idle_timeout_ms`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyper::{Response, StatusCode};
use serde_json::Value;

use super::budget::Share;
use super::http::{Body, error_body, event_stream, full, json_error};
use super::shared::{Shared, log_line, log_masked, secs};
use super::translate::{self, StreamTranslator, ToolMap, Translated, UpstreamError};
use super::upstream::{Failure, Forward, Upstream, final_status};
use crate::shown::Secrets;
use relay::Relay;

mod pacing;
mod relay;

/// Requests up to this size are translated on the event loop (well under
/// a millisecond); larger ones on a blocking thread, so that a large
/// history does not hold up every other stream.
const TRANSLATE_INLINE: usize = 256 << 10;

/// A complete answer: status, content type, body.
struct Whole {
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Whole {
    fn json(status: StatusCode, body: Vec<u8>) -> Whole {
        Whole {
            status,
            content_type: "application/json",
            body,
        }
    }

    fn error(status: StatusCode, message: &str) -> Whole {
        Whole::json(status, error_body(message))
    }

    fn events(body: Vec<u8>) -> Whole {
        Whole {
            status: StatusCode::OK,
            content_type: "text/event-stream",
            body,
        }
    }
}

/// A complete answer, and why it is that, for the log.
struct Answer {
    whole: Whole,
    why: String,
}

impl Answer {
    fn new(whole: Whole, why: impl Into<String>) -> Answer {
        Answer {
            whole,
            why: why.into(),
        }
    }
}

/// A `resp_…` id, unique within this process and unlikely to repeat across
/// runs (the clock and the process id go in).
fn response_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("resp_{nanos:x}{:x}{n:04x}", std::process::id())
}

/// `POST /v1/responses` with its `body` read (`share`: its part of the
/// bridge's budget, held until the chat request has gone): translate, ask
/// `{upstream}/chat/completions`, stream the translated events back.
pub(super) async fn responses(
    forward: Forward,
    body: Vec<u8>,
    share: Share,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let inline = body.len() <= TRANSLATE_INLINE;
    let translate = {
        let shared = shared.clone();
        move || {
            let catalog = shared.config.models.current();
            let models = |slug: &str| catalog.as_ref()?.reasons(slug);
            translate::request_to_chat(&body, &models)
        }
    };
    let translated = match inline {
        true => Ok(translate()),
        false => tokio::task::spawn_blocking(translate).await,
    };
    let translated = match translated {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            log_line(
                &shared,
                format_args!(
                    "POST /v1/responses -> 400 (not a Responses request) in {}",
                    secs(start)
                ),
            );
            return full(StatusCode::BAD_REQUEST, "application/json", e.body());
        }
        // The translation panicked: a bug.
        Err(_) => {
            log_line(
                &shared,
                format_args!(
                    "POST /v1/responses -> 500 internal error in {}",
                    secs(start)
                ),
            );
            return json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the bridge hit an internal error with this request (a bug: please report it with the bridge log)",
            );
        }
    };
    let mut exchange = Exchange::new(shared, forward, start, translated);
    let chat = exchange.chat.take();
    let mut pending = Pending(Some(&exchange.log));
    let asked = exchange.ask(chat).await;
    pending.0 = None;
    drop(pending);
    drop(share);
    match asked {
        Ok(upstream) => exchange.relay(upstream),
        Err(answer) => exchange.answer(answer),
    }
}

/// Logs that the client left while the gateway was asked (hyper dropped
/// the exchange's future), unless disarmed.
struct Pending<'a>(Option<&'a Log>);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(log) = self.0 {
            log.line(format_args!("cancelled (client left)"));
        }
    }
}

/// The log line of one `/v1/responses` request: its beginning (the
/// request without its content) and when it started.
struct Log {
    shared: Arc<Shared>,
    what: String,
    start: Instant,
    /// The caller's key: names from the body (the model) may carry it.
    caller: Secrets,
}

impl Log {
    fn line(&self, outcome: std::fmt::Arguments<'_>) {
        log_masked(
            &self.shared,
            &self.caller,
            format_args!("{} -> {outcome} in {}", self.what, secs(self.start)),
        );
    }
}

/// One `/v1/responses` request once translated.
struct Exchange {
    forward: Forward,
    log: Log,
    chat: Option<Vec<u8>>,
    tools: ToolMap,
    model: String,
    stream: bool,
    /// The id of the Response that answers it.
    id: String,
}

impl Exchange {
    fn new(shared: Arc<Shared>, forward: Forward, start: Instant, t: Translated) -> Exchange {
        let summary = &t.summary;
        let caller = forward.secrets();
        if shared.config.verbose && !summary.dropped.is_empty() {
            log_masked(
                &shared,
                &caller,
                format_args!(
                    "POST /v1/responses not translated: {}",
                    summary.dropped.join(", ")
                ),
            );
        }
        let what = format!(
            "POST /v1/responses model={} items={} tools={}{}",
            summary.model.escape_debug(),
            summary.items,
            summary.tools,
            if summary.stream { "" } else { " stream=false" }
        );
        let chat = Some(t.chat);
        Exchange {
            forward,
            log: Log {
                shared,
                what,
                start,
                caller,
            },
            chat,
            stream: summary.stream,
            model: t.summary.model,
            tools: t.tools,
            id: response_id(),
        }
    }

    fn shared(&self) -> &Shared {
        &self.log.shared
    }

    /// A complete answer: logged with its reason.
    fn answer(&self, answer: Answer) -> Response<Body> {
        let Whole {
            status,
            content_type,
            body,
        } = answer.whole;
        self.log
            .line(format_args!("{} ({})", status.as_u16(), answer.why));
        full(status, content_type, body)
    }

    /// Send the chat request: a stream to translate, or the whole answer.
    async fn ask(&self, chat: Option<Vec<u8>>) -> Result<Upstream, Answer> {
        let chat = chat.ok_or_else(|| {
            let message = "the bridge could not encode the request";
            let error = Whole::error(StatusCode::INTERNAL_SERVER_ERROR, message);
            Answer::new(error, "encoding")
        })?;
        let gateway = &self.shared().gateway;
        let response = gateway
            .post_chat(&self.forward, chat, self.stream)
            .await
            .map_err(|e| self.unreachable(&e, e.why()))?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let (status_out, message) = gateway.redirected(status);
            let why = format!("upstream {status}, a redirect, not followed");
            return Err(Answer::new(Whole::error(status_out, &message), why));
        }
        // A gateway that ignores `stream: true` answers one JSON completion.
        let whole = self.stream && (200..300).contains(&status) && is_json(&response);
        if !(200..300).contains(&status) || !self.stream || whole {
            return Err(self.whole(response, status, whole).await);
        }
        Ok(response)
    }

    /// The answer when the gateway gave none: its words, for Codex.
    fn unreachable(&self, e: &Failure, why: &str) -> Answer {
        let (status, message) = self.shared().gateway.failed(e);
        Answer::new(Whole::error(status, &message), why)
    }

    /// The stream translator for this answer, hiding the caller's key.
    fn translator(&self) -> StreamTranslator {
        let mut translator = StreamTranslator::new(self.tools.clone(), &self.model, &self.id);
        if let Some(key) = self.forward.key() {
            translator.hide(&String::from_utf8_lossy(key));
        }
        translator
    }

    /// An answer read whole: an error, a `stream: false` completion, or
    /// one JSON completion for a stream (`whole`).
    async fn whole(&self, response: Upstream, status: u16, whole: bool) -> Answer {
        let retry_after = response
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self.shared().gateway.read_reply(response.into_body()).await;
        // Whatever the gateway answers, an echoed key goes no further.
        let body = match body {
            Ok(body) => self.forward.redact(body),
            Err(e) => return self.unreachable(&e, &format!("upstream {status}, {}", e.why())),
        };
        // A gateway that always streams, asked for JSON.
        let streamed = !self.stream && (200..300).contains(&status) && looks_like_events(&body);
        let answer = if !(200..300).contains(&status) {
            let env_key = &self.shared().config.env_key;
            let retry_after = retry_after.as_deref().map(|value| translate::RetryAfter {
                value,
                now: std::time::SystemTime::now(),
            });
            match translate::upstream_error(status, &body, env_key, retry_after) {
                UpstreamError::Http { status, body } => Whole::json(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                    body,
                ),
                UpstreamError::Failed { sse } => Whole::events(sse),
            }
        } else if whole {
            let mut translator = self.translator();
            let mut events = translator.created();
            events.extend(translator.push_completion(&body));
            events.extend(translator.finish().tail);
            Whole::events(events)
        } else if streamed {
            match self.stream_to_response(&body) {
                Ok(value) => Whole::json(StatusCode::OK, value.to_string().into_bytes()),
                Err(message) => Whole::error(StatusCode::BAD_GATEWAY, &message),
            }
        } else {
            match translate::chat_to_response(&body, &self.tools, &self.id) {
                Ok(value) => Whole::json(StatusCode::OK, value.to_string().into_bytes()),
                Err(e) => Whole::error(
                    StatusCode::BAD_GATEWAY,
                    &format!("the gateway's answer was not understood: {e}"),
                ),
            }
        };
        let why = match (whole, streamed) {
            (true, _) => format!("upstream {status}, one JSON completion for a stream"),
            (_, true) => format!("upstream {status}, a stream for stream: false"),
            _ => format!("upstream {status}"),
        };
        Answer::new(answer, why)
    }

    /// A gateway that answers `stream: false` with an event stream: read as
    /// the stream it is, and answered with the Response that
    /// `response.completed` carries, or the message `response.failed` does.
    fn stream_to_response(&self, body: &[u8]) -> Result<Value, String> {
        let mut translator = self.translator();
        let mut events = translator.push(body);
        events.extend(translator.finish().tail);
        let last = events
            .split(|&b| b == b'\n')
            .filter_map(|line| line.strip_prefix(b"data: "))
            .filter_map(|data| serde_json::from_slice::<Value>(data).ok())
            .find(|e| {
                matches!(
                    e["type"].as_str(),
                    Some("response.completed" | "response.failed")
                )
            })
            .unwrap_or_default();
        match last["type"].as_str() {
            Some("response.completed") => Ok(last["response"].clone()),
            _ => Err(format!(
                "the gateway's streamed answer failed: {}",
                last["response"]["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
            )),
        }
    }

    /// The gateway's stream, translated as Codex reads it.
    fn relay(self, response: Upstream) -> Response<Body> {
        let translator = self.translator();
        event_stream(Box::pin(Relay::new(response, translator, self.log)))
    }
}

/// Whether a body the gateway sent whole is an event stream: `data:`,
/// `event:`, `id:` or a comment first (its content type may say anything).
fn looks_like_events(body: &[u8]) -> bool {
    let start = body.trim_ascii_start();
    [&b"data:"[..], b"event:", b"id:", b":"]
        .iter()
        .any(|p| start.starts_with(p))
}

/// Whether the gateway named its answer JSON.
fn is_json(response: &Upstream) -> bool {
    response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// `GET /v1/models`: forwarded to `{upstream}/models` with the caller's
/// `Authorization`, answered with the gateway's status and body, as JSON.
pub(super) async fn models(
    forward: Forward,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let gateway = &shared.gateway;
    let response = match gateway.get_models(&forward).await {
        // Always JSON, whatever type the gateway named: with its type, a
        // gateway could serve a web page from the bridge's own address.
        Ok((status, _)) if (300..400).contains(&status) => {
            let (status, message) = gateway.redirected(status);
            json_error(status, &message)
        }
        Ok((status, body)) => match final_status(status) {
            Some(status) => full(status, "application/json", body),
            None => json_error(
                StatusCode::BAD_GATEWAY,
                &format!(
                    "the gateway answered HTTP {status}, which is not a final answer with a body"
                ),
            ),
        },
        Err(e) => {
            let (status, message) = gateway.failed(&e);
            json_error(status, &message)
        }
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
    fn response_ids_differ() {
        assert_ne!(response_id(), response_id());
        assert!(response_id().starts_with("resp_"));
    }
}
