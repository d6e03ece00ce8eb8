//! The body of a streamed answer ([`Relay`]): each time hyper asks for
//! more, it reads what the gateway has sent, translates it, and hands the
//! events on, in as few writes as [`super::pacing`] allows; it ends the
//! answer whatever the gateway does (an idle or finished gateway, a cut,
//! a bug in the translation, the bridge stopping), and logs how.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use super::Log;
use super::pacing::{Holding, Pace};
use crate::bridge::quiet::Quiet;
use crate::bridge::shared::log_line;
use crate::bridge::translate::{self, Finish, StreamTranslator};
use crate::bridge::upstream::{Failure, Upstream};

/// Translated events gathered from what the gateway has already sent
/// before they go to hyper as one piece.
const BATCH: usize = 16 << 10;

/// The body of a streamed answer: each time hyper asks for more, it reads
/// what the gateway has sent, translates it, and hands the events on.
pub(super) struct Relay {
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
    /// When the gateway may be read again (see [`Pace`]).
    pace: Pace,
    /// The gateway's connection, kept from waking the bridge while paused.
    quiet: Option<Quiet>,
    /// Whether it is now.
    quieted: bool,
    log: Log,
    idle: Duration,
    /// When the gateway last sent something.
    last: Instant,
    /// When `finish_reason` came (only the usage and `[DONE]` are awaited).
    finishing: Option<Instant>,
    /// Fires at the next deadline (the end of a pause, the idle limit,
    /// the wait after `finish_reason`), or earlier (then set again).
    timer: Pin<Box<Sleep>>,
    panic_here: bool,
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
        if this.paced(cx) {
            return Poll::Pending;
        }
        let mut out = std::mem::take(&mut this.held);
        // Whether the gateway has nothing more now (not a full batch, not
        // the end).
        let mut caught_up = false;
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
                        caught_up = true;
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
        this.pace
            .written(Instant::now(), caught_up && this.holding.delta_out());
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
    /// The answer to `response` (the gateway's, its head read), with
    /// `translator` set up for it; its end logged on `log`.
    pub(super) fn new(response: Upstream, mut translator: StreamTranslator, log: Log) -> Relay {
        let idle = log.shared.config.idle_timeout;
        // `response.created` leaves with the headers.
        let created = Bytes::from(translator.created());
        let mut cut = log.shared.cut.subscribe();
        let stopped = Box::pin(async move {
            // Closed (the bridge is gone) counts as cut.
            let _ = cut.wait_for(|cut| *cut).await;
        });
        Relay {
            stopped,
            quiet: Quiet::of(&response),
            quieted: false,
            upstream: Some(response.into_body()),
            translator: Some(translator),
            first: Some(created),
            log,
            idle,
            last: Instant::now(),
            finishing: None,
            timer: Box::pin(tokio::time::sleep(idle)),
            panic_here: failpoint_panic(),
            held: Vec::new(),
            holding: Holding::default(),
            pace: Pace::default(),
        }
    }

    /// Whether the gateway is not to be read yet (see [`Pace`]): then the
    /// timer wakes this body when it may be. When reading resumes, what
    /// came meanwhile is gathered whole before it is written.
    fn paced(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.pace.resume_at() else {
            return false;
        };
        // The pause ends long before any other deadline; once past it,
        // `overdue` sets the timer for the next one.
        let deadline = tokio::time::Instant::from_std(at);
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        if self.timer.as_mut().poll(cx).is_pending() {
            self.quieten(true);
            return true;
        }
        self.quieten(false);
        self.pace.resumed(Instant::now());
        self.holding.resumed();
        false
    }

    /// Keep the gateway's connection from waking the bridge (`true`) or
    /// let it (`false`); see [`crate::bridge::quiet`].
    fn quieten(&mut self, quiet: bool) {
        if self.quieted != quiet
            && let Some(handle) = &self.quiet
        {
            handle.set(quiet);
            self.quieted = quiet;
        }
    }

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
        // The connection is not kept when its answer was not read to the
        // end; should it be, it wakes the bridge as any other.
        self.quieten(false);
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
