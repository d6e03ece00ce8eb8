//! One exchange per request Codex makes of the gateway:
//! - `POST /v1/responses` ([`responses`]): the Responses request is
//!   translated to a chat request ([`super::translate`], pure), sent to
//!   `{upstream}/chat/completions` ([`super::upstream`]) from a blocking
//!   thread, and the chat stream translated back as it comes;
//! - `GET /v1/models` ([`models`]): forwarded as it is.
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
use hyper::{Response, StatusCode};
use tokio::sync::{mpsc, oneshot};

use super::http::{Body, error_body, event_stream, full, json_error};
use super::shared::{Shared, log_line, secs};
use super::translate::{self, StreamTranslator, Translated, UpstreamError};
use super::upstream::{self, Forward, Upstream, redirected, unreachable};
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

    fn events(body: Vec<u8>) -> Head {
        Head::Full {
            status: StatusCode::OK,
            content_type: "text/event-stream",
            body,
        }
    }
}

/// A complete answer, and why it is that, for the log.
struct Answer {
    head: Head,
    why: String,
}

impl Answer {
    fn new(head: Head, why: impl Into<String>) -> Answer {
        Answer {
            head,
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

/// `POST /v1/responses` with its `body` read: translate, ask
/// `{upstream}/chat/completions`, stream the translated events back.
pub(super) async fn responses(
    forward: Forward,
    body: Vec<u8>,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let (head_tx, head_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(CHANNEL);
    let worker = shared.clone();
    // A large history takes a while to translate: not on the event loop,
    // where it would hold up every other stream.
    tokio::task::spawn_blocking(move || run(worker, forward, body, start, head_tx, tx));
    match head_rx.await {
        Ok(Head::Stream) => event_stream(rx),
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

/// The exchange, on its blocking thread: translate the request, then
/// [`Exchange::ask`] the gateway and pass its answer on.
fn run(
    shared: Arc<Shared>,
    forward: Forward,
    body: Vec<u8>,
    start: Instant,
    head: oneshot::Sender<Head>,
    tx: mpsc::Sender<Bytes>,
) {
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
    let exchange = Exchange::new(shared, forward, start, &translated);
    match exchange.ask() {
        Ok(Asked::Stream(response)) => exchange.stream(response, head, tx),
        Ok(Asked::Whole(answer)) | Err(answer) => exchange.answer(head, answer),
    }
}

/// One `/v1/responses` request once translated.
struct Exchange<'t> {
    shared: Arc<Shared>,
    forward: Forward,
    start: Instant,
    translated: &'t Translated,
    /// The log line's beginning: the request without its content.
    what: String,
    /// The id of the Response that answers it.
    id: String,
}

/// What the gateway's answer becomes.
enum Asked {
    /// A chat stream, to be translated as it comes.
    Stream(Upstream),
    /// A complete answer.
    Whole(Answer),
}

impl<'t> Exchange<'t> {
    fn new(
        shared: Arc<Shared>,
        forward: Forward,
        start: Instant,
        translated: &'t Translated,
    ) -> Exchange<'t> {
        let summary = &translated.summary;
        if shared.config.verbose && !summary.dropped.is_empty() {
            log_line(
                &shared,
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
        Exchange {
            shared,
            forward,
            start,
            translated,
            what,
            id: response_id(),
        }
    }

    fn log(&self, outcome: std::fmt::Arguments<'_>) {
        log_line(
            &self.shared,
            format_args!("{} -> {outcome} in {}", self.what, secs(self.start)),
        );
    }

    /// A complete answer: sent, and logged with its reason.
    fn answer(&self, head: oneshot::Sender<Head>, answer: Answer) {
        if let Head::Full { status, .. } = &answer.head {
            self.log(format_args!("{} ({})", status.as_u16(), answer.why));
        }
        let _ = head.send(answer.head);
    }

    /// Send the chat request; a stream to translate, or the whole answer.
    fn ask(&self) -> Result<Asked, Answer> {
        let translated = self.translated;
        let chat = serde_json::to_vec(&translated.chat).map_err(|e| {
            let message = format!("the bridge could not encode the request: {e}");
            let error = Head::error(StatusCode::INTERNAL_SERVER_ERROR, &message);
            Answer::new(error, "encoding")
        })?;
        let stream = translated.summary.stream;
        let response =
            upstream::post_chat(&self.shared, &self.forward, chat, stream).map_err(|e| {
                let (status, message) = unreachable(&self.shared, &e);
                Answer::new(Head::error(status, &message), "gateway unreachable")
            })?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let (status_out, message) = redirected(&self.shared, status);
            let why = format!("upstream {status}, a redirect, not followed");
            return Err(Answer::new(Head::error(status_out, &message), why));
        }
        // A gateway that ignores `stream: true` answers one JSON completion.
        let whole = stream && (200..300).contains(&status) && upstream::is_json(&response);
        if !(200..300).contains(&status) || !stream || whole {
            return Ok(Asked::Whole(self.whole(response, status, whole)));
        }
        Ok(Asked::Stream(response))
    }

    /// The stream translator for this answer, hiding the caller's key.
    fn translator(&self) -> StreamTranslator {
        let translated = self.translated;
        let mut translator = StreamTranslator::new(
            translated.tools.clone(),
            &translated.summary.model,
            &self.id,
        );
        if let Some(key) = self.forward.key() {
            translator.hide(&String::from_utf8_lossy(key));
        }
        translator
    }

    /// An answer read whole: an error, a `stream: false` completion, or
    /// one JSON completion for a stream (`whole`).
    fn whole(&self, mut response: Upstream, status: u16, whole: bool) -> Answer {
        let body = upstream::read_reply(&mut response);
        // Whatever the gateway answers, an echoed key goes no further.
        let body = body.map(|body| self.forward.redact(body));
        let head = match body {
            Ok(body) if !(200..300).contains(&status) => {
                match translate::upstream_error(status, &body, &self.shared.config.env_key) {
                    UpstreamError::Http { status, body } => Head::json(
                        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                        body,
                    ),
                    UpstreamError::Failed { sse } => Head::events(sse),
                }
            }
            Ok(body) if whole => {
                let mut translator = self.translator();
                let mut events = translator.created();
                events.extend(translator.push_completion(&body));
                events.extend(translator.finish().tail);
                Head::events(events)
            }
            Ok(body) => {
                let tools = &self.translated.tools;
                match translate::chat_to_response(&body, tools, &self.id) {
                    Ok(value) => Head::json(StatusCode::OK, value.to_string().into_bytes()),
                    Err(e) => Head::error(
                        StatusCode::BAD_GATEWAY,
                        &format!("the gateway's answer was not understood: {e}"),
                    ),
                }
            }
            Err(e) => {
                let (status, message) = unreachable(&self.shared, &e);
                Head::error(status, &message)
            }
        };
        let why = match whole {
            true => format!("upstream {status}, one JSON completion for a stream"),
            false => format!("upstream {status}"),
        };
        Answer::new(head, why)
    }

    /// Translate the gateway's stream as it comes, into `tx`.
    fn stream(&self, response: Upstream, head: oneshot::Sender<Head>, tx: mpsc::Sender<Bytes>) {
        let mut translator = self.translator();
        let send =
            |bytes: Vec<u8>| bytes.is_empty() || tx.blocking_send(Bytes::from(bytes)).is_ok();
        // `response.created` is queued before the response starts, so that
        // it leaves with the headers (one wakeup of the event loop, not two).
        if !send(translator.created()) || head.send(Head::Stream).is_err() {
            return self.log(format_args!("cancelled (client left)"));
        }
        // A bug here (a panic) must not leave Codex a stream that just
        // stops, nor go unlogged: the answer ends in response.failed,
        // which Codex shows and retries, and the bridge goes on.
        let streamed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let Some(cut) = self.pump(response, &mut translator, &send) else {
                return self.log(format_args!("200 cancelled (client left)"));
            };
            self.finish(translator, cut, &send);
        }));
        if streamed.is_err() {
            let message = "the bridge hit an internal error translating this answer (a bug: please report it with the bridge log)";
            send(translate::failed_event("bridge_internal_error", message));
            self.log(format_args!(
                "200 internal error (the answer ends in response.failed)"
            ));
        }
    }

    /// Read the gateway's stream into the translator until it ends:
    /// `Some(None)` when it finished or closed, `Some(Some(cause))` when a
    /// read failed, `None` when the client left.
    fn pump(
        &self,
        response: Upstream,
        translator: &mut StreamTranslator,
        send: &impl Fn(Vec<u8>) -> bool,
    ) -> Option<Option<String>> {
        let panic_here = failpoint_panic();
        let idle = self.shared.config.idle_timeout;
        let mut reader = response.into_body().into_reader();
        let mut buf = vec![0; 16 << 10];
        let mut finishing_since: Option<Instant> = None;
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Some(None),
                Ok(n) => {
                    if !send(translator.push(&buf[..n])) {
                        return None;
                    }
                    if panic_here {
                        panic!("failpoint bridge-panic");
                    }
                    // Completed or failed: whatever the gateway sends after
                    // (keep-alive comments, a never-closed connection) would
                    // hold Codex's response open and this thread busy.
                    if translator.is_over() {
                        return Some(None);
                    }
                    // `finish_reason` came: the usage and `[DONE]` follow
                    // at once from a well-behaved gateway. One that sends
                    // keep-alives instead (never idle, never done) would
                    // hold Codex's answer: it ends after a short wait.
                    if translator.is_finishing() {
                        let since = *finishing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= after_finish(idle) {
                            return Some(None);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Some(read_failure(&e, idle))),
            }
        }
    }

    /// The stream's end: its last events sent, and the log line.
    fn finish(
        &self,
        translator: StreamTranslator,
        cut: Option<String>,
        send: &impl Fn(Vec<u8>) -> bool,
    ) {
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
        self.log(format_args!("200 {ending}{tokens}"));
    }
}

/// `GET /v1/models`: forwarded to `{upstream}/models` with the caller's
/// `Authorization`, answered with the gateway's status and body, as JSON.
pub(super) async fn models(
    forward: Forward,
    shared: Arc<Shared>,
    start: Instant,
) -> Response<Body> {
    let worker = shared.clone();
    let answer = tokio::task::spawn_blocking(move || upstream::get_models(&worker, &forward)).await;
    let response = match answer {
        // Always JSON, whatever type the gateway named: with its type, a
        // gateway could serve a web page from the bridge's own address.
        Ok(Ok((status, _))) if (300..400).contains(&status) => {
            let (status, message) = redirected(&shared, status);
            json_error(status, &message)
        }
        Ok(Ok((status, body))) => full(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
            "application/json",
            body,
        ),
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
