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
use std::future::Future;
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
use tokio::sync::oneshot;

use super::exchange;
use super::http::{Body, full, json_error};
use super::shared::{Config, Shared, log_line, secs};
use super::upstream::{Forward, Gateway};
use crate::gateway;
use crate::spec;

/// The largest request body accepted (Codex sends the whole history each
/// turn; images make it large). Beyond it: 413.
pub const BODY_LIMIT: usize = 64 << 20;
/// How long running streams may go on after SIGINT or SIGTERM.
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
            shared: Arc::new(Shared { config, gateway }),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The base URL Codex uses: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> io::Result<String> {
        Ok(format!("http://{}/v1", self.local_addr()?))
    }

    /// A future that completes on SIGINT or SIGTERM. The handlers are in
    /// place when this returns, so a signal sent right after can no longer
    /// kill the process before the server drains.
    pub fn stop_on_signals(&self) -> io::Result<impl Future<Output = ()> + use<>> {
        use tokio::signal::unix::{SignalKind, signal};
        let _guard = self.rt.enter();
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }

    /// Serve until `stop` completes; then accept nothing more, let running
    /// requests finish for up to `grace`, and return.
    pub fn serve(self, stop: impl Future<Output = ()>, grace: Duration) -> io::Result<()> {
        let Bridge {
            rt,
            listener,
            shared,
        } = self;
        rt.block_on(accept_loop(listener, shared, stop, grace));
        // Upstream reads still waiting on the gateway are abandoned.
        rt.shutdown_background();
        Ok(())
    }

    /// Serve on a thread of its own, until [`Running::stop`].
    pub fn spawn(self) -> io::Result<Running> {
        let addr = self.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bridge".into())
            .spawn(move || {
                self.serve(
                    async {
                        let _ = rx.await;
                    },
                    Duration::from_millis(500),
                )
            })?;
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
    stop: Option<oneshot::Sender<()>>,
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
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
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
    stop: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut stop = pin!(stop);
    loop {
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
            () = &mut stop => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {}
    }
}

/// Whether a `Host` header names this machine: `localhost`, `127.x.y.z` or
/// `[::1]`, with any port. A page served from another name that resolves to
/// 127.0.0.1 (DNS rebinding) sends that name, and is refused.
pub fn is_loopback_host_header(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => h,
            _ => return false,
        },
        None => host.split(':').next().unwrap_or_default(),
    };
    !name.is_empty() && spec::is_loopback_host(name)
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Response<Body> {
    let start = Instant::now();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if let Some(rejection) = rejection(&req, host) {
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
            match read_body(req.into_body(), BODY_LIMIT, shared.config.idle_timeout).await {
                Ok(body) => return exchange::responses(forward, body, shared, start).await,
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
    /// `Host` is not a loopback name: DNS rebinding.
    ForeignHost,
    /// A page in a browser (`Origin` from elsewhere). Codex sends none.
    ForeignOrigin,
    /// A compressed body; the bridge reads plain JSON.
    Encoded,
}

impl Rejection {
    fn status(self) -> StatusCode {
        match self {
            Rejection::ForeignHost | Rejection::ForeignOrigin => StatusCode::FORBIDDEN,
            Rejection::Encoded => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Rejection::ForeignHost => {
                "the bridge answers only requests addressed to localhost, 127.0.0.1 or [::1]"
            }
            Rejection::ForeignOrigin => "the bridge does not answer web pages",
            Rejection::Encoded => "the bridge reads uncompressed request bodies only",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rejection::ForeignHost => "Host is not a loopback name",
            Rejection::ForeignOrigin => "Origin is another site",
            Rejection::Encoded => "Content-Encoding",
        })
    }
}

fn rejection(req: &Request<Incoming>, host: &str) -> Option<Rejection> {
    let header = |name| req.headers().get(name).map(|v| v.to_str().unwrap_or("?"));
    if !is_loopback_host_header(host) {
        return Some(Rejection::ForeignHost);
    }
    if let Some(origin) = header(header::ORIGIN) {
        let authority = origin.split_once("://").map_or("", |(_, rest)| rest);
        if !is_loopback_host_header(authority) {
            return Some(Rejection::ForeignOrigin);
        }
    }
    match header(header::CONTENT_ENCODING) {
        Some(enc) if !enc.eq_ignore_ascii_case("identity") => Some(Rejection::Encoded),
        _ => None,
    }
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
    Io(String),
}

/// Read a request body of at most `limit` bytes, each piece within `idle`
/// of the one before. A `Content-Length` over the limit is refused before
/// a byte is read.
pub async fn read_body(
    mut body: Incoming,
    limit: usize,
    idle: Duration,
) -> Result<Vec<u8>, ReadError> {
    use hyper::body::Body as _;
    if body.size_hint().lower() > limit as u64 {
        return Err(ReadError::TooLarge);
    }
    let mut buf = Vec::with_capacity(body.size_hint().lower() as usize);
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
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
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
        ] {
            assert!(!is_loopback_host_header(bad), "{bad}");
        }
    }
}
