//! One exchange per request Codex makes of the gateway:
//! - `POST /v1/responses` ([`responses`]): the Responses request is
//!   translated to a chat request ([`super::translate`], pure), sent to
//!   `{upstream}/chat/completions` ([`super::upstream`]), and the chat
//!   stream translated back as Codex reads it ([`Relay`]);
//! - `GET /v1/models` ([`models`]): forwarded as it is.
//!
//! All on the event loop, nothing on a thread of its own but the
//! translation of a large request. The answer's body reads the gateway's
//! stream when hyper asks it for more: a slow client slows the gateway
//! down (nothing piles up here), and when Codex goes away, hyper drops the
//! body or the exchange's future, and with it the connection to the
//! gateway, whatever the gateway was sending. Every wait on the gateway is
//! bounded by the provider's `stream_idle_timeout_ms`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::{Response, StatusCode};
use serde_json::Value;
use tokio::time::Sleep;

use super::budget::Share;
use super::http::{Body, error_body, event_stream, full, json_error};
use super::shared::{Shared, log_line, log_masked, secs};
use super::translate::{self, Finish, StreamTranslator, ToolMap, Translated, UpstreamError};
use super::upstream::{Failure, Forward, Upstream, final_status};
use crate::shown::Secrets;

/// Requests up to this size are translated on the event loop (well under
/// a millisecond); larger ones on a blocking thread, so that a large
/// history does not hold up every other stream.
const TRANSLATE_INLINE: usize = 256 << 10;

/// Translated events gathered from what the gateway has already sent
/// before they go to hyper as one piece.
const BATCH: usize = 16 << 10;

/// Writes that go at once after a hold that gathered nothing (paced
/// tokens): holding is tried again after them, for a burst.
const UNHELD: u8 = 16;

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
        let mut translator = self.translator();
        let idle = self.shared().config.idle_timeout;
        // `response.created` leaves with the headers.
        let created = Bytes::from(translator.created());
        let mut cut = self.shared().cut.subscribe();
        let stopped = Box::pin(async move {
            // Closed (the bridge is gone) counts as cut.
            let _ = cut.wait_for(|cut| *cut).await;
        });
        event_stream(Box::pin(Relay {
            stopped,
            upstream: Some(response.into_body()),
            translator: Some(translator),
            first: Some(created),
            log: self.log,
            idle,
            last: Instant::now(),
            finishing: None,
            timer: Box::pin(tokio::time::sleep(idle)),
            panic_here: failpoint_panic(),
            held: Vec::new(),
            holding: Holding::default(),
        }))
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

/// The body of a streamed answer: each time hyper asks for more, it reads
/// what the gateway has sent, translates it, and hands the events on.
struct Relay {
    /// Done when the bridge's grace period is over (`Shared::cut`).
    stopped: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The gateway's stream; handed to [`drain`] once the answer ended.
    upstream: Option<Incoming>,
    /// `None` once the answer has ended.
    translator: Option<StreamTranslator>,
    /// `response.created`, not yet handed on.
    first: Option<Bytes>,
    /// Events held back for one turn of the event loop (see `poll_frame`).
    held: Vec<u8>,
    /// Whether to hold them (see [`Holding`]).
    holding: Holding,
    log: Log,
    idle: Duration,
    /// When the gateway last sent something.
    last: Instant,
    /// When `finish_reason` came (only the usage and `[DONE]` are awaited).
    finishing: Option<Instant>,
    /// Fires at the next deadline, or earlier (then set again).
    timer: Pin<Box<Sleep>>,
    panic_here: bool,
}

/// Whether [`Relay`] holds translated events back for a turn of the
/// event loop. hyper's client hands the body over one chunk per turn of
/// its connection's task: before writing, let that task run, so that what
/// the gateway already sent leaves in one write (a burst of deltas: one
/// write, not one each). hyper's server polls a body twice in one turn, so
/// only the third poll in a row that finds nothing writes. Events up to
/// the first delta go at once (the first token). A hold that gathered
/// nothing (a model's tokens, one at a time) costs turns for nothing: the
/// next [`UNHELD`] writes go at once, then holding is tried again (a
/// burst).
#[derive(Debug, Default)]
struct Holding {
    /// Polls in a row that found nothing new while events were held.
    waited: u8,
    /// Whether events held since the last write gathered more.
    gathered: bool,
    /// Writes left that go at once (after a hold that gathered nothing).
    unheld: u8,
    /// Whether a delta went out: events until the first one are never held.
    delta_out: bool,
}

impl Holding {
    /// The gateway sent more.
    fn data(&mut self) {
        self.gathered |= self.waited > 0;
        self.waited = 0;
    }

    /// Nothing more from the gateway now, and events to write: whether to
    /// hold them for another turn.
    fn hold(&mut self) -> bool {
        if self.unheld > 0 {
            self.unheld -= 1;
            return false;
        }
        if self.waited < 2 && self.delta_out {
            self.waited += 1;
            return true;
        }
        if self.waited == 2 && !self.gathered {
            self.unheld = UNHELD;
        }
        self.waited = 0;
        false
    }

    /// `events` were written (looked into only until a delta went out).
    fn written(&mut self, events: &[u8]) {
        self.delta_out = self.delta_out || events.windows(7).any(|w| w == b".delta\"");
        self.gathered = false;
    }
}

/// Why a stream ended.
enum End {
    /// The answer ended (`response.completed`, or the gateway's error
    /// passed on as `response.failed`).
    Over,
    /// The gateway closed (or said `finish_reason` and kept the line open).
    Closed,
    /// Reading failed, or nothing came for the idle limit.
    Cut(String),
    /// A bug (a panic) in the translation.
    Bug,
    /// The bridge stopped, its grace period over.
    Stopped,
}

impl hyper::body::Body for Relay {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        if this.translator.is_none() {
            return Poll::Ready(None);
        }
        let mut out = std::mem::take(&mut this.held);
        // The stream is there until the answer ends (then `end` breaks).
        while let Some(upstream) = this.upstream.as_mut() {
            let end = match Pin::new(upstream).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.holding.data();
                        this.push(&data, &mut out)
                    }
                    Err(_) => None,
                },
                Poll::Ready(None) => Some(End::Closed),
                Poll::Ready(Some(Err(e))) => Some(End::Cut(Failure::of(&e).to_string())),
                Poll::Pending if !out.is_empty() => match this.hold(out, cx) {
                    Some(events) => {
                        out = events;
                        break;
                    }
                    None => return Poll::Pending,
                },
                Poll::Pending if this.stopped.as_mut().poll(cx).is_ready() => Some(End::Stopped),
                Poll::Pending => match this.overdue(cx) {
                    Some(end) => Some(end),
                    None => return Poll::Pending,
                },
            };
            if let Some(end) = end {
                this.end(end, &mut out);
                break;
            }
            if out.len() >= BATCH {
                break;
            }
        }
        // Until the first delta (the first token Codex shows) is out, never
        // hold events back.
        this.holding.written(&out);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))))
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.translator.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Relay {
    /// Nothing more from the gateway now, and `out` to write: the events
    /// to write now, or `None` when held for another turn (the body wakes
    /// itself).
    fn hold(&mut self, out: Vec<u8>, cx: &mut Context<'_>) -> Option<Vec<u8>> {
        if !self.holding.hold() {
            return Some(out);
        }
        self.held = out;
        cx.waker().wake_by_ref();
        None
    }

    /// Translate one piece of the gateway's stream into `out`; whether the
    /// answer ended with it.
    fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> Option<End> {
        self.last = Instant::now();
        let translator = self.translator.as_mut()?;
        let panic_here = self.panic_here;
        // A bug here (a panic) must not leave Codex a stream that just
        // stops, nor go unlogged: the answer ends in response.failed,
        // which Codex shows and retries, and the bridge goes on.
        let before = out.len();
        let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            translator.push_into(data, out);
            if panic_here {
                panic!("failpoint bridge-panic");
            }
        }));
        if pushed.is_err() {
            // Whatever the panic left half written goes.
            out.truncate(before);
            return Some(End::Bug);
        }
        // Completed or failed: whatever the gateway sends after
        // (keep-alive comments, a never-closed connection) would hold
        // Codex's response open.
        if translator.is_over() {
            return Some(End::Over);
        }
        if translator.is_finishing() && self.finishing.is_none() {
            self.finishing = Some(self.last);
        }
        None
    }

    /// Nothing to read now: whether a limit ran out, else the timer set
    /// to wake this body at the next one. `finish_reason` came: the usage
    /// and `[DONE]` follow at once from a well-behaved gateway; one that
    /// sends keep-alives instead (never idle, never done) would hold
    /// Codex's answer, so it ends after a short wait.
    fn overdue(&mut self, cx: &mut Context<'_>) -> Option<End> {
        loop {
            let idle_at = self.last + self.idle;
            let finish_at = self.finishing.map(|f| f + after_finish(self.idle));
            let now = Instant::now();
            if finish_at.is_some_and(|at| now >= at) {
                return Some(End::Closed);
            }
            if now >= idle_at {
                let idle = gateway_seconds(self.idle);
                return Some(End::Cut(format!(
                    "no data for {idle} (stream_idle_timeout_ms)"
                )));
            }
            let next = finish_at.map_or(idle_at, |f| f.min(idle_at));
            // Set again only when it would fire too late; firing early
            // just brings this body back here.
            let deadline = tokio::time::Instant::from_std(next);
            if self.timer.deadline() > deadline || self.timer.is_elapsed() {
                self.timer.as_mut().reset(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return None;
            }
        }
    }

    /// The answer's end: its last events into `out`, and the log line.
    fn end(&mut self, end: End, out: &mut Vec<u8>) {
        let Some(translator) = self.translator.take() else {
            return;
        };
        let finish = match &end {
            End::Over | End::Closed => translator.finish(),
            // A failed read is not the gateway closing: the answer names
            // the cause (a timeout, a reset), and a partial event is dropped.
            End::Cut(cause) => translator.interrupted(cause),
            End::Stopped => translator.stopped("bridge_stopped", STOPPED),
            End::Bug => {
                let message = "the bridge hit an internal error translating this answer (a bug: please report it with the bridge log)";
                out.extend(translate::failed_event("bridge_internal_error", message));
                self.log.line(format_args!(
                    "200 internal error (the answer ends in response.failed)"
                ));
                return;
            }
        };
        out.extend_from_slice(&finish.tail);
        // Finished: what is left of the stream (`[DONE]`'s last chunk) is
        // read, so that the connection can serve the next request.
        if matches!(end, End::Over | End::Closed)
            && let Some(upstream) = self.upstream.take()
        {
            tokio::spawn(drain(upstream));
        }
        self.log.line(format_args!(
            "200 {}{}",
            ending(&end, &finish),
            tokens(&finish)
        ));
        if finish.no_usage && !NO_USAGE_SAID.swap(true, Ordering::Relaxed) {
            log_line(
                &self.log.shared,
                format_args!(
                    "the gateway sent no token usage: Codex gets none (the bridge estimates none); said once a run"
                ),
            );
        }
    }
}

/// Whether the log has said that the gateway sends no usage (once a run).
static NO_USAGE_SAID: AtomicBool = AtomicBool::new(false);

impl Drop for Relay {
    fn drop(&mut self) {
        if self.translator.is_some() {
            self.log.line(format_args!("200 cancelled (client left)"));
        }
    }
}

/// Why a stream still running when the bridge's grace period ends is cut:
/// in its `response.failed` and in the log.
const STOPPED: &str = "the bridge stopped before the answer was complete (its grace period ended)";

/// Read what is left of a finished answer, so that its connection goes
/// back to the client's pool: for at most 1 s and 64 KiB (a gateway that
/// keeps sending after it finished is let go).
async fn drain(mut body: Incoming) {
    use hyper::body::Body as _;
    let mut left = 64usize << 10;
    let read = async {
        while let Some(Ok(frame)) =
            std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let n = frame.data_ref().map_or(0, |d| d.len());
            match left.checked_sub(n) {
                Some(rest) => left = rest,
                None => return,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
}

/// How a stream ended, for the log.
fn ending(end: &End, finish: &Finish) -> String {
    match (end, finish.completed) {
        (End::Over | End::Closed, true) => "completed".to_string(),
        (End::Over, false) => "ended in response.failed".to_string(),
        (End::Closed, false) => "upstream ended without finishing".to_string(),
        (End::Cut(cause), _) => format!("upstream stream cut: {cause}"),
        (End::Bug, _) => "internal error".to_string(),
        (End::Stopped, _) => format!("cut: {STOPPED}"),
    }
}

/// The usage the gateway reported, for the log.
fn tokens(finish: &Finish) -> String {
    match &finish.usage {
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
    }
}

fn gateway_seconds(d: Duration) -> String {
    crate::gateway::seconds(d)
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

#[cfg(test)]
mod tests {
    use super::*;

    const DELTA: &[u8] = br#"data: {"type":"response.output_text.delta"}"#;

    /// Nothing more comes, as `Relay::poll_frame` sees it: the polls
    /// until the events are written.
    fn polls_until_written(h: &mut Holding) -> usize {
        let mut polls = 1;
        while h.hold() && polls < 8 {
            polls += 1;
        }
        h.written(DELTA);
        polls
    }

    #[test]
    fn holding_stops_while_it_gathers_nothing_and_is_tried_again() {
        let mut h = Holding::default();
        // Before the first delta, nothing waits.
        assert!(!h.hold());
        h.written(DELTA);
        // Paced tokens: a hold that gathers nothing...
        h.data();
        assert_eq!(polls_until_written(&mut h), 3);
        // ...and the next UNHELD writes go at once.
        for _ in 0..UNHELD {
            h.data();
            assert_eq!(polls_until_written(&mut h), 1);
        }
        // Then holding is tried again: in a burst it gathers, and goes on.
        h.data();
        h.data();
        assert!(h.hold());
        h.data();
        assert!(h.hold());
        assert!(h.hold());
        assert!(!h.hold());
        h.written(DELTA);
        h.data();
        assert!(h.hold(), "a hold that gathered more keeps holding");
    }

    #[test]
    fn response_ids_differ() {
        assert_ne!(response_id(), response_id());
        assert!(response_id().starts_with("resp_"));
    }
}
