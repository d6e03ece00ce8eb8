//! `POST /v1/responses`: the Responses request is translated to a chat
//! request ([`super::translate`], pure), sent to `{upstream}/chat/completions`
//! from a blocking thread, and the chat stream translated back as it comes.
//!
//! The reader thread feeds the response body through a bounded channel.
//! When Codex goes away, hyper drops the body and with it the receiver: the
//! reader's next send fails, it stops, and dropping the ureq response
//! closes the upstream connection. Every read from the gateway is bounded
//! by the provider's `stream_idle_timeout_ms` (the agent's per-read limit).

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use tokio::sync::{mpsc, oneshot};

use super::budget::Share;
use super::server::{
    BODY_LIMIT, Body, Shared, error_body, event_stream, full, json_error, log_line, log_masked,
    read_body, read_error, secs,
};
use super::translate::{self, UpstreamError};
use super::upstream::{
    REPLY_LIMIT, authorization, caller_key, caller_secrets, redact_key, redirected, unreachable,
    upstream_url,
};
use crate::gateway;

/// How many translated chunks may wait for a slow client before the
/// upstream reader waits too. A chunk is what one read of up to 16 KiB
/// becomes (several times that in events), so this bounds the memory of
/// each stream: with 32, 64 clients slower than the gateway kept most of
/// their streams here (peak RSS 57 MB at 2,000 deltas, 73 MB at 20,000,
/// bench/bridge.sh); with 4 it stays flat.
const CHANNEL: usize = 4;

/// How the upstream answered, for the handler to start its response.
enum Head {
    /// A stream follows on the channel.
    Stream,
    /// A complete answer.
    Full {
        status: StatusCode,
        content_type: &'static str,
        body: Vec<u8>,
    },
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

/// `POST /v1/responses`: translate, ask `{upstream}/chat/completions`,
/// stream the translated events back.
pub(super) async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let auth = authorization(&req);
    let budget = &shared.budget;
    let read = read_body(
        req.into_body(),
        BODY_LIMIT,
        shared.config.idle_timeout,
        budget,
    );
    let (body, share) = match read.await {
        Ok(read) => read,
        Err(e) => {
            let response = read_error(e);
            log_line(
                &shared,
                format_args!(
                    "POST /v1/responses -> {} in {}",
                    response.status().as_u16(),
                    secs(start)
                ),
            );
            return response;
        }
    };
    let (head_tx, head_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(CHANNEL);
    let worker = shared.clone();
    let exchange = Exchange {
        shared: worker,
        auth,
        body,
        share,
        start,
    };
    tokio::task::spawn_blocking(move || exchange.run(head_tx, tx));
    match head_rx.await {
        Ok(Head::Stream) => event_stream(&shared, rx),
        Ok(Head::Full {
            status,
            content_type,
            body,
        }) => full(status, content_type, body),
        // The exchange ended without a word: a panic before the stream.
        Err(_) => {
            log_line(
                &shared,
                format_args!(
                    "POST /v1/responses -> 500 internal error in {}",
                    secs(start)
                ),
            );
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the bridge hit an internal error with this request (a bug: please report it with the bridge log)",
            )
        }
    }
}

/// One `/v1/responses` request, translated and sent upstream on a blocking
/// thread (a large history takes a while to translate: not on the event
/// loop, where it would hold up every other stream).
struct Exchange {
    shared: Arc<Shared>,
    auth: Option<HeaderValue>,
    body: Vec<u8>,
    /// The body's share of the budget: held until the chat request is sent.
    share: Share,
    start: Instant,
}

impl Head {
    fn json(status: StatusCode, body: Vec<u8>) -> Head {
        Head::Full {
            status,
            content_type: "application/json",
            body,
        }
    }

    fn error(status: StatusCode, message: &str) -> Head {
        Head::json(status, error_body(message))
    }
}

impl Exchange {
    fn run(self, head: oneshot::Sender<Head>, tx: mpsc::Sender<Bytes>) {
        let Exchange {
            shared,
            auth,
            body,
            share,
            start,
        } = self;
        let translated = match translate::request_to_chat(&body) {
            Ok(t) => t,
            Err(e) => {
                log_line(
                    &shared,
                    format_args!(
                        "POST /v1/responses -> 400 (not a Responses request) in {}",
                        secs(start)
                    ),
                );
                let _ = head.send(Head::json(StatusCode::BAD_REQUEST, e.body()));
                return;
            }
        };
        drop(body);
        let summary = &translated.summary;
        // Names from the body (the model, tools) may carry the caller's key.
        let caller = caller_secrets(auth.as_ref());
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
        let log = |outcome: std::fmt::Arguments<'_>| {
            log_masked(
                &shared,
                &caller,
                format_args!("{what} -> {outcome} in {}", secs(start)),
            );
        };
        // A complete answer: sent, and logged with `why`.
        let answer = |head: oneshot::Sender<Head>, answer: Head, why: &str| {
            if let Head::Full { status, .. } = &answer {
                log(format_args!("{} ({why})", status.as_u16()));
            }
            let _ = head.send(answer);
        };
        let chat = match serde_json::to_vec(&translated.chat) {
            Ok(chat) => chat,
            Err(e) => {
                let message = format!("the bridge could not encode the request: {e}");
                let error = Head::error(StatusCode::INTERNAL_SERVER_ERROR, &message);
                return answer(head, error, "encoding");
            }
        };
        let accept = match summary.stream {
            true => "text/event-stream",
            false => "application/json",
        };
        let mut request = shared
            .agent
            .post(upstream_url(&shared, "chat/completions"))
            .header("Content-Type", "application/json")
            .header("Accept", accept);
        if let Some(auth) = &auth {
            request = request.header("Authorization", auth.as_bytes());
        }
        let mut response = match request.send(&chat[..]) {
            Ok(r) => r,
            Err(e) => {
                let (status, message) = unreachable(&shared, &e);
                return answer(head, Head::error(status, &message), "gateway unreachable");
            }
        };
        drop(chat);
        drop(share);
        let status = response.status().as_u16();
        let upstream = format!("upstream {status}");
        if (300..400).contains(&status) {
            let (status, message) = redirected(&shared, status);
            let error = Head::error(status, &message);
            return answer(
                head,
                error,
                &format!("{upstream}, a redirect, not followed"),
            );
        }
        let id = response_id();
        let stream_translator = || {
            let mut translator =
                translate::StreamTranslator::new(translated.tools.clone(), &summary.model, &id);
            if let Some(key) = auth.as_ref().and_then(caller_key) {
                translator.hide(&String::from_utf8_lossy(key));
            }
            translator
        };
        // A gateway that ignores `stream: true` answers one JSON completion.
        let whole = summary.stream
            && (200..300).contains(&status)
            && response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| {
                    t.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("application/json")
                });
        if !(200..300).contains(&status) || !summary.stream || whole {
            let body = response
                .body_mut()
                .with_config()
                .limit(REPLY_LIMIT)
                .read_to_vec();
            // Whatever the gateway answers, an echoed key goes no further.
            let body = body.map(|body| redact_key(body, auth.as_ref()));
            let full = match body {
                Ok(body) if !(200..300).contains(&status) => {
                    match translate::upstream_error(status, &body, &shared.config.env_key) {
                        UpstreamError::Http { status, body } => Head::json(
                            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                            body,
                        ),
                        UpstreamError::Failed { sse } => Head::Full {
                            status: StatusCode::OK,
                            content_type: "text/event-stream",
                            body: sse,
                        },
                    }
                }
                Ok(body) if whole => {
                    let mut translator = stream_translator();
                    let mut events = translator.created();
                    events.extend(translator.push_completion(&body));
                    events.extend(translator.finish().tail);
                    Head::Full {
                        status: StatusCode::OK,
                        content_type: "text/event-stream",
                        body: events,
                    }
                }
                Ok(body) => match translate::chat_to_response(&body, &translated.tools, &id) {
                    Ok(value) => Head::json(StatusCode::OK, value.to_string().into_bytes()),
                    Err(e) => Head::error(
                        StatusCode::BAD_GATEWAY,
                        &format!("the gateway's answer was not understood: {e}"),
                    ),
                },
                Err(e) => {
                    let (status, message) = unreachable(&shared, &e);
                    Head::error(status, &message)
                }
            };
            let why = match whole {
                true => format!("{upstream}, one JSON completion for a stream"),
                false => upstream,
            };
            return answer(head, full, &why);
        }
        let mut translator = stream_translator();
        let send =
            |bytes: Vec<u8>| bytes.is_empty() || tx.blocking_send(Bytes::from(bytes)).is_ok();
        // `response.created` is queued before the response starts, so that
        // it leaves with the headers (one wakeup of the event loop, not two).
        if !send(translator.created()) || head.send(Head::Stream).is_err() {
            return log(format_args!("cancelled (client left)"));
        }
        // A bug here (a panic) must not leave Codex a stream that just
        // stops, nor go unlogged: the answer ends in response.failed,
        // which Codex shows and retries, and the bridge goes on.
        let panic_here = failpoint_panic();
        let streamed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut reader = response.into_body().into_reader();
            let mut buf = vec![0; 16 << 10];
            let mut finishing_since: Option<Instant> = None;
            let cut = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => {
                        if !send(translator.push(&buf[..n])) {
                            return log(format_args!("200 cancelled (client left)"));
                        }
                        if panic_here {
                            panic!("failpoint bridge-panic");
                        }
                        // Completed or failed: whatever the gateway sends after
                        // (keep-alive comments, a never-closed connection) would
                        // hold Codex's response open and this thread busy.
                        if translator.is_over() {
                            break None;
                        }
                        // `finish_reason` came: the usage and `[DONE]` follow
                        // at once from a well-behaved gateway. One that sends
                        // keep-alives instead (never idle, never done) would
                        // hold Codex's answer: it ends after a short wait.
                        if translator.is_finishing() {
                            let since = *finishing_since.get_or_insert_with(Instant::now);
                            if since.elapsed() >= after_finish(shared.config.idle_timeout) {
                                break None;
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Some(read_failure(&e, shared.config.idle_timeout)),
                }
            };
            drop(reader);
            // A failed read is not the gateway closing: the answer names the
            // cause (a timeout, a reset), and a partial event is dropped.
            let finish = match &cut {
                None => translator.finish(),
                Some(cause) => translator.interrupted(cause),
            };
            let delivered = send(finish.tail);
            let tokens = match &finish.usage {
                Some(u) => format!(
                    " tokens in={} out={} total={}{}",
                    u.input_tokens,
                    u.output_tokens,
                    u.total_tokens,
                    u.cached_tokens
                        .map(|c| format!(" cached={c}"))
                        .unwrap_or_default()
                ),
                None => String::new(),
            };
            let ending = match (&cut, finish.completed, delivered) {
                (_, _, false) => "cancelled (client left)".to_string(),
                (None, true, true) => "completed".to_string(),
                (None, false, true) => "upstream ended without finishing".to_string(),
                (Some(cause), _, true) => format!("upstream stream cut: {cause}"),
            };
            log(format_args!("200 {ending}{tokens}"));
        }));
        if streamed.is_err() {
            let message = "the bridge hit an internal error translating this answer (a bug: please report it with the bridge log)";
            send(translate::failed_event("bridge_internal_error", message));
            log(format_args!(
                "200 internal error (the answer ends in response.failed)"
            ));
        }
    }
}

/// How long the answer waits for the usage and `[DONE]` after
/// `finish_reason` while the gateway keeps sending: 2 s, or less with a
/// shorter `stream_idle_timeout_ms`.
fn after_finish(idle: Duration) -> Duration {
    idle.min(Duration::from_secs(2))
}

/// Test hook, inert unless `OMINIGATE_CODEX_FAILPOINT=bridge-panic`: the
/// stream reader panics after its first translated read, so that a test
/// can show what a bug there does (tests/testsuite/bridge_server.rs).
fn failpoint_panic() -> bool {
    std::env::var_os("OMINIGATE_CODEX_FAILPOINT").is_some_and(|v| v == "bridge-panic")
}

/// A failed read from the gateway, for the log (no header, no content).
fn read_failure(e: &std::io::Error, idle: Duration) -> String {
    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(gateway::is_timeout);
    if timed_out {
        format!(
            "no data for {} (stream_idle_timeout_ms)",
            gateway::seconds(idle)
        )
    } else {
        e.to_string()
    }
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
