//! The bridge's HTTP server: Codex speaks the Responses API to it on
//! loopback, and it speaks chat completions to the upstream gateway.
//!
//! hyper 1 (HTTP/1.1 only: Codex's HTTP client uses it) on a
//! current-thread tokio runtime. The server listens, checks each request
//! and routes it to its exchange (`super::exchange`), which asks the
//! gateway (`super::upstream`).
//!
//! Security: it binds loopback only (the commands refuse anything else),
//! refuses requests whose `Host` is not a loopback name (a web page cannot
//! reach it through DNS rebinding), sends no CORS headers (a browser never
//! lets a page read its answers), keeps no key: the caller's
//! `Authorization` header goes to the configured upstream and nowhere
//! else, and is never logged.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{mpsc, watch};

use super::budget::{self, Budget, Share};
use super::exchange;
use super::http::{Body, full, json_error};
use super::shared::{Config, Shared, Stops, log_line, secs};
use super::upstream::{Forward, Gateway};
use crate::gateway;
use crate::spec;

/// The largest request body accepted (Codex sends the whole history each
/// turn; images make it large). Beyond it: 413.
pub const BODY_LIMIT: usize = 64 << 20;
/// The longest a whole request body may take to arrive, however steadily
/// it trickles in ([`body_deadline`]): Codex sends its request at once, and
/// 64 MiB cross loopback in well under a second.
pub const BODY_DEADLINE: Duration = Duration::from_secs(30);
/// How long running streams may go on after SIGINT, SIGTERM or SIGHUP
/// (a second one ends them at once).
pub const GRACE: Duration = Duration::from_secs(5);
/// At most this many blocking threads at once: they translate large
/// requests and look up the gateway's address. Upstream requests hold
/// none: any number of them run on the event loop.
pub const MAX_BLOCKING: usize = 256;

/// A bound bridge, not yet serving.
pub struct Bridge {
    rt: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
}

/// glibc gives every thread that allocates an arena of its own (up to 8
/// per core) and keeps what is freed there: with 64 streams, each on an
/// upstream thread, peak RSS was 57 MB, and 30 MB with one arena (measured
/// with `MALLOC_ARENA_MAX=1`, bench/bridge.sh). The bridge's threads
/// allocate little and briefly, so one arena costs no measurable time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; M_ARENA_MAX is a
    // valid one, and it may be called at any time.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

/// Whether this process started with SIGHUP ignored (`nohup`).
fn sighup_ignored() -> bool {
    // SAFETY: a null new action only reads the current one into `old`,
    // which is a valid, zeroed sigaction.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

impl Bridge {
    /// Bind `addr` (the caller has checked it is loopback).
    pub fn bind(addr: SocketAddr, config: Config) -> io::Result<Bridge> {
        one_malloc_arena();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(MAX_BLOCKING)
            .thread_name("bridge-blocking")
            .build()?;
        let listener = {
            let _guard = rt.enter();
            let std = std::net::TcpListener::bind(addr)?;
            std.set_nonblocking(true)?;
            tokio::net::TcpListener::from_std(std)?
        };
        let gateway = Gateway::new(&config.upstream, config.idle_timeout);
        Ok(Bridge {
            rt,
            listener,
            shared: Arc::new(Shared {
                config,
                gateway,
                budget: Budget::default(),
                cut: watch::Sender::new(false),
            }),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The base URL Codex uses: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> io::Result<String> {
        Ok(format!("http://{}/v1", self.local_addr()?))
    }

    /// The signals that stop the bridge, as [`Stops`]: SIGINT, SIGTERM and
    /// SIGHUP alike. SIGHUP is what a closed terminal sends to the bridge it
    /// ran; under a service manager nothing sends it to reload (the bridge
    /// has nothing to reload), so it means "stop" everywhere, and running
    /// answers finish first. The handlers are in place when this returns,
    /// so a signal sent right after can no longer kill the process before
    /// the server drains.
    pub fn stop_on_signals(&self) -> io::Result<Stops> {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = self.rt.enter();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        // Under `nohup` (SIGHUP ignored when the bridge starts) it stays so.
        let mut hup = match sighup_ignored() {
            true => None,
            false => Some(signal(SignalKind::hangup())?),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.rt.spawn(async move {
            loop {
                let hangup = async {
                    match &mut hup {
                        Some(hup) => hup.recv().await,
                        None => std::future::pending().await,
                    }
                };
                let name = tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                    _ = hangup => "SIGHUP",
                };
                if tx.send(name).is_err() {
                    break;
                }
            }
        });
        Ok(rx)
    }

    /// Serve until the first of `stops`; then accept nothing more, let
    /// running requests finish for up to `grace` (or until the second of
    /// `stops`), end the streams still open with `response.failed`, and
    /// return.
    pub fn serve(self, stops: Stops, grace: Duration) -> io::Result<()> {
        let Bridge {
            rt,
            listener,
            shared,
        } = self;
        rt.block_on(accept_loop(listener, shared, stops, grace));
        // Upstream reads still waiting on the gateway are abandoned.
        rt.shutdown_background();
        Ok(())
    }

    /// Serve on a thread of its own, until [`Running::stop`].
    pub fn spawn(self) -> io::Result<Running> {
        let addr = self.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("bridge".into())
            .spawn(move || self.serve(rx, Duration::from_millis(500)))?;
        Ok(Running {
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

/// A bridge serving on its own thread.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<mpsc::UnboundedSender<&'static str>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Stop accepting, give running requests a moment, and wait for it.
    pub fn stop(mut self) -> io::Result<()> {
        self.halt()
    }

    fn halt(&mut self) -> io::Result<()> {
        // Dropped, the sender closes the channel: the first stop.
        drop(self.stop.take());
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the bridge thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stops: Stops,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let signal = loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors, say: wait, do not spin.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                serve_connection(stream, &shared, &graceful);
            }
            signal = stops.recv() => break signal,
        }
    };
    drop(listener);
    if let Some(signal) = signal {
        log_line(
            &shared,
            format_args!(
                "{signal}: finishing running requests for up to {} (a signal again to stop at once)",
                gateway::seconds(grace)
            ),
        );
    }
    let drained = graceful.shutdown();
    let mut drained = pin!(drained);
    let why = tokio::select! {
        () = &mut drained => return,
        () = tokio::time::sleep(grace) => "grace period over".to_string(),
        Some(signal) = stops.recv() => format!("{signal} again: stopping now"),
    };
    // Every answer still streaming ends in response.failed; a moment for
    // those events to leave.
    let open = shared.cut.receiver_count();
    shared.cut.send_replace(true);
    let plural = if open == 1 { "" } else { "s" };
    log_line(
        &shared,
        format_args!("{why}: {open} stream{plural} cut, each ended with response.failed"),
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), drained).await;
}

/// Serve one accepted connection, on a task of its own.
fn serve_connection(
    stream: tokio::net::TcpStream,
    shared: &Arc<Shared>,
    graceful: &GracefulShutdown,
) {
    // Each SSE event goes out at once, not after Nagle's delay.
    let _ = stream.set_nodelay(true);
    let shared = shared.clone();
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(req, shared).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service);
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        let _ = conn.await;
    });
}

/// Whether a `Host` header (or a URL's authority) names this machine:
/// `localhost`, `127.x.y.z` or `[::1]`, with no port or a port of digits
/// only. A page served from another name that resolves to 127.0.0.1 (DNS
/// rebinding) sends that name, and is refused; so is anything after the
/// name that is not a port (`localhost:evil.com`, `127.0.0.1:80@evil.com`).
pub fn is_loopback_host_header(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some(split) => split,
            None => return false,
        },
        None => host.split_at(host.find(':').unwrap_or(host.len())),
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
        });
    port_ok && !name.is_empty() && spec::is_loopback_host(name)
}

/// Whether an `Origin` header is a page of this machine: `http` or `https`
/// and a loopback authority, nothing else (not `null`, not
/// `vscode-webview://localhost`, not a path).
pub fn is_loopback_origin(origin: &str) -> bool {
    origin.split_once("://").is_some_and(|(scheme, authority)| {
        (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
            && is_loopback_host_header(authority)
    })
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some(rejection) = rejection(&req) {
        log_line(
            &shared,
            format_args!(
                "{method} {path} -> {} ({rejection}) in {}",
                rejection.status().as_u16(),
                secs(start)
            ),
        );
        return json_error(rejection.status(), rejection.message());
    }
    let response = match (&method, path.as_str()) {
        (&Method::GET, "/health") => health(&shared),
        (&Method::GET, "/v1/models") => {
            return exchange::models(Forward::of(&req), shared, start).await;
        }
        (&Method::POST, "/v1/responses") => {
            let forward = Forward::of(&req);
            let idle = shared.config.idle_timeout;
            match read_body(req.into_body(), BODY_LIMIT, idle, &shared.budget).await {
                Ok((body, share)) => {
                    return exchange::responses(forward, body, share, shared, start).await;
                }
                Err(e) => read_error(e),
            }
        }
        // Newer Codex may try a WebSocket first; 426 sends it to plain HTTP
        // at once (measured: codex-responses-wire.md).
        (&Method::GET, "/v1/responses") => json_error(
            StatusCode::UPGRADE_REQUIRED,
            "the bridge serves POST /v1/responses over HTTP, not WebSocket",
        ),
        (_, "/health" | "/v1/models" | "/v1/responses") => {
            let mut r = json_error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
            let allow = if path == "/v1/responses" {
                "POST"
            } else {
                "GET"
            };
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            r
        }
        _ => json_error(
            StatusCode::NOT_FOUND,
            "the bridge serves POST /v1/responses, GET /v1/models and GET /health",
        ),
    };
    log_line(
        &shared,
        format_args!(
            "{method} {path} -> {} in {}",
            response.status().as_u16(),
            secs(start)
        ),
    );
    response
}

/// Why a request is turned away before it is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    /// Two `Host` headers: RFC 9112 §3.2 makes that a 400.
    TwoHosts,
    /// `Host` (or an absolute-form target) is not a loopback name: DNS
    /// rebinding.
    ForeignHost,
    /// A page in a browser (`Origin` from elsewhere, or two of them).
    /// Codex sends none.
    ForeignOrigin,
    /// A compressed body; the bridge reads plain JSON.
    Encoded,
    /// A POST whose body is not declared JSON: what a page can send
    /// without a CORS preflight (`text/plain`, a form, a typeless Blob).
    NotJson,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::TwoHosts => StatusCode::BAD_REQUEST,
            Rejection::ForeignHost | Rejection::ForeignOrigin => StatusCode::FORBIDDEN,
            Rejection::Encoded | Rejection::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Rejection::TwoHosts => "a request has exactly one Host header (RFC 9112)",
            Rejection::ForeignHost => {
                "the bridge answers only requests addressed to localhost, 127.0.0.1 or [::1]"
            }
            Rejection::ForeignOrigin => "the bridge does not answer web pages",
            Rejection::Encoded => "the bridge reads uncompressed request bodies only",
            Rejection::NotJson => {
                "the bridge reads request bodies sent as Content-Type: application/json only"
            }
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rejection::TwoHosts => "two Host headers",
            Rejection::ForeignHost => "Host is not a loopback name",
            Rejection::ForeignOrigin => "Origin is another site",
            Rejection::Encoded => "Content-Encoding",
            Rejection::NotJson => "Content-Type is not JSON",
        })
    }
}

/// The one value of header `name`: `Err(())` when it comes more than once,
/// `Ok("?")` when it is not text.
fn only(req: &Request<Incoming>, name: header::HeaderName) -> Result<Option<&str>, ()> {
    let mut values = req.headers().get_all(name).iter();
    let first = values.next().map(|v| v.to_str().unwrap_or("?"));
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
    }
}

fn rejection(req: &Request<Incoming>) -> Option<Rejection> {
    let Ok(host) = only(req, header::HOST) else {
        return Some(Rejection::TwoHosts);
    };
    // An absolute-form target (`GET http://host/…`) names the host itself.
    let target_ok = match req.uri().authority() {
        Some(authority) => {
            req.uri().scheme_str() == Some("http") && is_loopback_host_header(authority.as_str())
        }
        None => true,
    };
    if !target_ok || !is_loopback_host_header(host.unwrap_or_default()) {
        return Some(Rejection::ForeignHost);
    }
    match only(req, header::ORIGIN) {
        Err(()) => return Some(Rejection::ForeignOrigin),
        Ok(Some(origin)) if !is_loopback_origin(origin) => return Some(Rejection::ForeignOrigin),
        Ok(_) => {}
    }
    if let Some(enc) = req.headers().get(header::CONTENT_ENCODING)
        && !enc.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Some(Rejection::Encoded);
    }
    let json = matches!(only(req, header::CONTENT_TYPE), Ok(Some(t)) if is_json(t));
    (req.method() == Method::POST && !json).then_some(Rejection::NotJson)
}

/// Whether a `Content-Type` is `application/json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().eq_ignore_ascii_case("application/json")
}

fn health(shared: &Shared) -> Response<Body> {
    let body = serde_json::json!({
        "status": "ok",
        "service": spec::BRIDGE_SERVICE,
        "upstream": spec::redact_url(&shared.config.upstream.url),
    });
    full(StatusCode::OK, "application/json", body.to_string())
}

/// Why a request body was not read.
#[derive(Debug)]
pub enum ReadError {
    TooLarge,
    /// Nothing came for this long (the client stalled mid-body).
    Stalled(Duration),
    /// The whole body did not come within this long (it trickled).
    Late(Duration),
    /// Other requests held the whole [`budget`] for [`budget::WAIT`].
    Busy,
    Io(String),
}

/// The deadline for a whole request body: [`BODY_DEADLINE`], or ten times
/// the idle limit when that is shorter (a bridge told to give up on a
/// silent gateway after 300 ms gives a client 3 s for its body).
pub fn body_deadline(idle: Duration) -> Duration {
    BODY_DEADLINE.min(idle.saturating_mul(10))
}

/// Read a request body of at most `limit` bytes, each piece within `idle`
/// of the one before and the whole within [`body_deadline`], its bytes
/// covered by a [`Share`] of `budget` as they arrive. A `Content-Length`
/// over the limit is refused before a byte is read.
pub async fn read_body(
    mut body: Incoming,
    limit: usize,
    idle: Duration,
    budget: &Budget,
) -> Result<(Vec<u8>, Share), ReadError> {
    use hyper::body::Body as _;
    if body.size_hint().lower() > limit as u64 {
        return Err(ReadError::TooLarge);
    }
    let deadline = body_deadline(idle);
    let all = async {
        let mut share = Share::default();
        let announced = body.size_hint().lower() as usize;
        budget
            .cover(&mut share, announced)
            .await
            .map_err(|_| ReadError::Busy)?;
        let mut buf = Vec::with_capacity(announced);
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
            let Some(frame) = tokio::time::timeout(idle, next)
                .await
                .map_err(|_| ReadError::Stalled(idle))?
            else {
                break;
            };
            let frame = frame.map_err(|e| ReadError::Io(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(ReadError::TooLarge);
                }
                budget
                    .cover(&mut share, buf.len() + data.len())
                    .await
                    .map_err(|_| ReadError::Busy)?;
                buf.extend_from_slice(&data);
            }
        }
        Ok((buf, share))
    };
    tokio::time::timeout(deadline, all)
        .await
        .map_err(|_| ReadError::Late(deadline))?
}

/// The answer to a body that could not be read.
pub fn read_error(e: ReadError) -> Response<Body> {
    match e {
        ReadError::TooLarge => json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is larger than {} MiB", BODY_LIMIT >> 20),
        ),
        ReadError::Stalled(idle) => json_error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body stopped arriving: nothing for {} (stream_idle_timeout_ms)",
                gateway::seconds(idle)
            ),
        ),
        ReadError::Late(deadline) => json_error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body did not arrive within {}",
                gateway::seconds(deadline)
            ),
        ),
        ReadError::Busy => {
            let mut r = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!(
                    "the bridge is busy: other requests hold the {} MiB it reads and translates at once; try again",
                    budget::BUDGET >> 20
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        ReadError::Io(e) => json_error(
            StatusCode::BAD_REQUEST,
            &format!("the request body could not be read: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_headers() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8788",
            "localhost",
            "LOCALHOST:1",
            "[::1]",
            "[::1]:9",
            "127.1.2.3:80",
            "LocalHost:8741",
            "[::1]:8741",
        ] {
            assert!(is_loopback_host_header(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8788",
            "127.0.0.1.nip.io",
            "localhost.evil.example",
            "[::1",
            "[::2]:9",
            "10.0.0.1",
            "0.0.0.0:1",
            ":80",
            // Not what Codex sends; a name with a trailing dot is resolved
            // by DNS rules of its own, so refusing it costs nothing.
            "localhost.",
            "localhost.:8741",
            "127.0.0.1.",
            "[::ffff:127.0.0.1]",
            "[::1]x",
            "localhost:evil.com",
            "127.0.0.1:80@evil.com",
            "127.0.0.1:",
            "127.0.0.1:+80",
            "127.0.0.1:65536",
            "[::1]:",
            "localhost/x",
        ] {
            assert!(!is_loopback_host_header(bad), "{bad}");
        }
    }

    #[test]
    fn body_deadlines() {
        assert_eq!(body_deadline(Duration::from_secs(300)), BODY_DEADLINE);
        assert_eq!(
            body_deadline(Duration::from_millis(300)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:3000",
            "https://127.0.0.1",
            "HTTP://[::1]:9",
        ] {
            assert!(is_loopback_origin(ok), "{ok}");
        }
        for bad in [
            "null",
            "",
            "localhost",
            "vscode-webview://localhost",
            "file://localhost",
            "http://evil.example",
            "http://localhost/x",
            "http://localhost:evil.com",
            "http://user@localhost",
        ] {
            assert!(!is_loopback_origin(bad), "{bad}");
        }
    }
}
