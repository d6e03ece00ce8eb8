//! The bridge's requests to the gateway: hyper-util's client on the
//! bridge's own runtime (see Cargo.toml for why not ureq), with
//! hyper-rustls. Here: the [`Gateway`] (the client and what it says when
//! the gateway fails), what of Codex's request goes on ([`Forward`]),
//! `POST /chat/completions` and `GET /models`.
//!
//! Nothing here holds a thread: a request is a future, and dropping it (or
//! the answer's body) closes its connection to the gateway.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder, MaybeHttpsStream};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::{SocksV5, Tunnel};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::Value;
use tokio::sync::oneshot;

use super::quiet::Tracked;
use crate::gateway;
use crate::shown::Secrets;
use crate::spec::{self, BaseUrl};

/// Upstream answers that are not a stream (errors, the model list, a
/// `stream: false` completion) are read up to this many bytes.
const REPLY_LIMIT: usize = 16 << 20;

/// The most the client buffers of a connection to the gateway.
const UPSTREAM_BUFFER: usize = 16 << 10;

/// Time to set up the connection to the gateway (DNS, TCP, TLS).
const CONNECT_LIMIT: Duration = Duration::from_secs(30);

/// The gateway's answer, its body not yet read.
pub(super) type Upstream = hyper::Response<Incoming>;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The gateway, as the bridge reaches it.
pub(super) struct Gateway {
    client: Client<Connector, Outgoing>,
    /// The base URL, without a trailing `/`.
    url: String,
    /// The provider's `stream_idle_timeout_ms`.
    pub idle: Duration,
}

impl Gateway {
    /// The client for `upstream`: no redirects followed (hyper's client
    /// follows none), connections kept for the next request, a proxy from
    /// the environment (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, as curl
    /// reads them) for a gateway that is not on this machine.
    pub(super) fn new(upstream: &BaseUrl, idle: Duration) -> Gateway {
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            // hyper's read buffer grows to 400 KiB by default: times 64
            // streams, most of the bridge's RSS. SSE lines and a header
            // block go through 16 KiB pieces fine (as they did with ureq).
            .http1_max_buf_size(UPSTREAM_BUFFER)
            .build(Connector::new(upstream));
        Gateway {
            client,
            url: upstream.url.trim_end_matches('/').to_string(),
            idle,
        }
    }

    fn uri(&self, forward: &Forward, path: &str) -> Result<Uri, Failure> {
        forward
            .url(&self.url, path)
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| Failure::Connect(e.to_string()))
    }

    /// Send `request` and wait for the answer's head: the connection within
    /// [`CONNECT_LIMIT`] (the connector's limit), then the head within the
    /// idle limit of the request going out.
    async fn send(&self, request: Request<Option<Bytes>>) -> Result<Upstream, Failure> {
        let (sent, gone) = oneshot::channel();
        let request = request.map(|bytes| Outgoing {
            bytes,
            sent: Some(sent),
        });
        let answer = self.client.request(request);
        let deadline = async {
            let _ = gone.await;
            tokio::time::sleep(self.idle).await;
        };
        tokio::select! {
            answer = answer => answer.map_err(|e| Failure::of(&e)),
            () = deadline => Err(Failure::NoAnswer(self.idle)),
        }
    }

    /// `POST {upstream}/chat/completions` with `chat`, asking for a stream
    /// or for JSON.
    pub(super) async fn post_chat(
        &self,
        forward: &Forward,
        chat: Vec<u8>,
        stream: bool,
    ) -> Result<Upstream, Failure> {
        let accept = match stream {
            true => "text/event-stream",
            false => "application/json",
        };
        let request = forward
            .request(Method::POST, self.uri(forward, "chat/completions")?)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .body(Some(Bytes::from(chat)))
            .map_err(|e| Failure::Connect(e.to_string()))?;
        self.send(request).await
    }

    /// `GET {upstream}/models`: the gateway's status and body (the key
    /// masked).
    pub(super) async fn get_models(&self, forward: &Forward) -> Result<(u16, Vec<u8>), Failure> {
        let request = forward
            .request(Method::GET, self.uri(forward, "models")?)
            .header(header::ACCEPT, "application/json")
            .body(None)
            .map_err(|e| Failure::Connect(e.to_string()))?;
        let response = self.send(request).await?;
        let status = response.status().as_u16();
        let body = self.read_reply(response.into_body()).await?;
        Ok((status, forward.redact(body)))
    }

    /// An answer that is not a stream, read whole: up to [`REPLY_LIMIT`]
    /// bytes, each piece within the idle limit of the one before.
    pub(super) async fn read_reply(&self, mut body: Incoming) -> Result<Vec<u8>, Failure> {
        use hyper::body::Body as _;
        let mut buf = Vec::new();
        loop {
            let next = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
            let frame = match tokio::time::timeout(self.idle, next).await {
                Err(_) => return Err(Failure::Stalled(self.idle)),
                Ok(None) => return Ok(buf),
                Ok(Some(frame)) => frame.map_err(|e| Failure::of(&e))?,
            };
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > REPLY_LIMIT {
                    return Err(Failure::TooLarge);
                }
                buf.extend_from_slice(&data);
            }
        }
    }

    /// The status and message for Codex when the gateway gave no (whole)
    /// answer: 502, naming the gateway (without credentials) and what
    /// happened.
    pub(super) fn failed(&self, why: &Failure) -> (StatusCode, String) {
        let url = spec::redact_url(&self.url);
        (StatusCode::BAD_GATEWAY, why.message(&url))
    }

    /// The gateway answered a redirect (`status`, 3xx): 502 with this
    /// message, saying it was not followed (the key would go wherever it
    /// points) and what to fix.
    pub(super) fn redirected(&self, status: u16) -> (StatusCode, String) {
        (
            StatusCode::BAD_GATEWAY,
            format!(
                "the gateway {} answered a redirect (HTTP {status}); the bridge never follows one, since the key would go with it: set the upstream to the URL it redirects to",
                spec::redact_url(&self.url)
            ),
        )
    }
}

/// A request body, sent whole. It tells when the client lets go of it
/// (written, or given up), from when the answer's head is awaited.
struct Outgoing {
    bytes: Option<Bytes>,
    sent: Option<oneshot::Sender<()>>,
}

impl hyper::body::Body for Outgoing {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .bytes
                .take()
                .map(|b| Ok(hyper::body::Frame::data(b))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.bytes.as_ref().map_or(0, |b| b.len() as u64))
    }
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        if let Some(sent) = self.sent.take() {
            let _ = sent.send(());
        }
    }
}

/// Why the gateway gave no (whole) answer, in words that say what
/// happened, not a guess.
#[derive(Debug)]
pub(super) enum Failure {
    /// No connection within [`CONNECT_LIMIT`].
    ConnectTimedOut,
    /// The connection could not be set up (refused, DNS, TLS).
    Connect(String),
    /// Connected, and no answer within the idle limit.
    NoAnswer(Duration),
    /// The answer stopped coming for the idle limit.
    Stalled(Duration),
    /// The TLS handshake failed (a plain-HTTP port behind an https URL).
    Tls(String),
    /// What came back is not HTTP/1.1.
    Protocol(String),
    /// The connection broke.
    Broken(String),
    /// An answer that is not a stream, over [`REPLY_LIMIT`].
    TooLarge,
}

impl Failure {
    /// Classify an error of the client, of hyper or of the connector.
    pub(super) fn of(e: &(dyn StdError + 'static)) -> Failure {
        let (mut connect, mut timed_out, mut parse) = (false, false, None);
        let mut source = Some(e);
        while let Some(e) = source {
            if let Some(tls) = tls_error(e) {
                return Failure::Tls(tls.to_string());
            }
            if let Some(c) = e.downcast_ref::<ConnectError>() {
                connect = true;
                timed_out |= matches!(c, ConnectError::TimedOut);
            }
            if let Some(client) = e.downcast_ref::<hyper_util::client::legacy::Error>() {
                connect |= client.is_connect();
            }
            if let Some(h) = e.downcast_ref::<hyper::Error>()
                && h.is_parse()
            {
                parse = Some(h.to_string());
            }
            source = e.source();
        }
        match (timed_out, parse, connect) {
            (true, _, _) => Failure::ConnectTimedOut,
            (_, Some(cause), _) => Failure::Protocol(cause),
            (_, None, true) => Failure::Connect(deepest(e)),
            (_, None, false) => Failure::Broken(deepest(e)),
        }
    }

    /// The message for Codex about the gateway at `url`.
    fn message(&self, url: &str) -> String {
        match self {
            Failure::ConnectTimedOut => format!(
                "the bridge could not connect to the gateway {url}: no connection within {} (DNS, TCP and TLS set-up); check the address, and that the port speaks what the URL's scheme says (https or http)",
                gateway::seconds(CONNECT_LIMIT)
            ),
            Failure::Connect(cause) => {
                format!("the bridge could not reach the gateway {url}: {cause}")
            }
            Failure::NoAnswer(idle) => format!(
                "the gateway {url} sent no answer within {} (stream_idle_timeout_ms)",
                gateway::seconds(*idle)
            ),
            Failure::Stalled(idle) => format!(
                "the gateway {url} stopped in the middle of its answer: no data for {} (stream_idle_timeout_ms)",
                gateway::seconds(*idle)
            ),
            Failure::Tls(cause) => format!(
                "the TLS handshake with the gateway {url} failed ({cause}); check that the port speaks TLS, as the URL's https says"
            ),
            Failure::Protocol(cause) => format!(
                "the gateway {url} answered with something that is not HTTP/1.1 ({cause}); check that the URL's scheme (https or http) is what that port speaks"
            ),
            Failure::Broken(cause) => {
                format!("the connection to the gateway {url} broke: {cause}")
            }
            Failure::TooLarge => format!(
                "the gateway {url} answered more than {} MiB",
                REPLY_LIMIT >> 20
            ),
        }
    }
}

/// The TLS error inside `e`, an io::Error (perhaps wrapped in another:
/// its `source` skips what it wraps, so it is unwrapped here).
fn tls_error<'e>(e: &'e (dyn StdError + 'static)) -> Option<&'e rustls::Error> {
    let mut inner: &(dyn StdError + 'static) = e;
    while let Some(io) = inner.downcast_ref::<std::io::Error>() {
        inner = io.get_ref()?;
    }
    inner.downcast_ref::<rustls::Error>()
}

/// The innermost cause of `e`, the most specific words.
fn deepest(e: &(dyn StdError + 'static)) -> String {
    let mut e = e;
    while let Some(inner) = e.source() {
        e = inner;
    }
    e.to_string()
}

impl Failure {
    /// Why there is no answer, for the log.
    pub(super) fn why(&self) -> &'static str {
        match self {
            Failure::ConnectTimedOut | Failure::Connect(_) => "gateway unreachable",
            Failure::Tls(_) => "TLS handshake with the gateway failed",
            Failure::NoAnswer(_) => "no answer from the gateway",
            Failure::Stalled(_) => "the gateway's answer stalled",
            Failure::Protocol(_) => "the gateway's answer is not HTTP",
            Failure::Broken(_) => "the connection to the gateway broke",
            Failure::TooLarge => "the gateway's answer is too large",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Stalled(idle) => write!(
                f,
                "no data for {} (stream_idle_timeout_ms)",
                gateway::seconds(*idle)
            ),
            Failure::Protocol(cause) => write!(f, "not HTTP/1.1: {cause}"),
            Failure::Broken(cause) | Failure::Connect(cause) | Failure::Tls(cause) => {
                f.write_str(cause)
            }
            other => f.write_str(&other.message("the gateway")),
        }
    }
}

/// Connecting to the gateway: directly, or through the environment's
/// proxy (an HTTP `CONNECT` tunnel, or SOCKS5), then TLS for https; the
/// whole set-up within [`CONNECT_LIMIT`].
#[derive(Clone)]
struct Connector(Route);

#[derive(Clone)]
enum Route {
    Direct(HttpsConnector<HttpConnector>),
    Tunnel(HttpsConnector<Tunnel<HttpConnector>>),
    Socks(HttpsConnector<SocksV5<HttpConnector>>),
}

/// A connection as the connector makes it.
type Stream = MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// The socket under a connection (for [`Tracked`]).
fn socket_of(stream: &Stream) -> std::os::fd::RawFd {
    use std::os::fd::AsRawFd;
    match stream {
        MaybeHttpsStream::Http(io) => io.inner().as_raw_fd(),
        MaybeHttpsStream::Https(io) => io.inner().get_ref().0.inner().inner().as_raw_fd(),
    }
}

impl Connector {
    fn new(upstream: &BaseUrl) -> Connector {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let tls = || {
            let provider = rustls::crypto::ring::default_provider();
            let builder = HttpsConnectorBuilder::new();
            match builder.with_provider_and_webpki_roots(provider) {
                Ok(b) => b,
                // The ring provider supports the default versions.
                Err(_) => HttpsConnectorBuilder::new().with_webpki_roots(),
            }
            .https_or_http()
            .enable_http1()
        };
        // A gateway on this machine is reached directly, never through a
        // proxy (as the commands' client does).
        let proxy = match upstream.is_loopback() {
            true => None,
            false => upstream
                .url
                .parse::<Uri>()
                .ok()
                .and_then(|uri| Matcher::from_env().intercept(&uri)),
        };
        let Some(proxy) = proxy else {
            return Connector(Route::Direct(tls().wrap_connector(tcp)));
        };
        match proxy.uri().scheme_str() {
            // `socks5h`: the proxy looks the name up; `socks5`: the bridge.
            Some(scheme @ ("socks5" | "socks5h")) => {
                let mut socks =
                    SocksV5::new(proxy.uri().clone(), tcp).local_dns(scheme == "socks5");
                if let Some((user, pass)) = proxy.raw_auth() {
                    socks = socks.with_auth(user.to_string(), pass.to_string());
                }
                Connector(Route::Socks(tls().wrap_connector(socks)))
            }
            _ => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Connector(Route::Tunnel(tls().wrap_connector(tunnel)))
            }
        }
    }
}

/// Why no connection was set up.
#[derive(Debug)]
enum ConnectError {
    TimedOut,
    Failed(BoxError),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::TimedOut => write!(f, "no connection within {CONNECT_LIMIT:?}"),
            ConnectError::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::TimedOut => None,
            ConnectError::Failed(e) => Some(&**e),
        }
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<Tracked<Stream>, ConnectError>> + Send>>;

impl tower_service::Service<Uri> for Connector {
    type Response = Tracked<Stream>;
    type Error = ConnectError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        match &mut self.0 {
            Route::Direct(c) => c.poll_ready(cx),
            Route::Tunnel(c) => c.poll_ready(cx),
            Route::Socks(c) => c.poll_ready(cx),
        }
        .map_err(ConnectError::Failed)
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let connecting = match &mut self.0 {
            Route::Direct(c) => c.call(uri),
            Route::Tunnel(c) => c.call(uri),
            Route::Socks(c) => c.call(uri),
        };
        Box::pin(async move {
            match tokio::time::timeout(CONNECT_LIMIT, connecting).await {
                Ok(Ok(stream)) => {
                    let fd = socket_of(&stream);
                    Ok(Tracked::new(stream, Some(fd)))
                }
                Ok(Err(e)) => Err(ConnectError::Failed(e)),
                Err(_) => Err(ConnectError::TimedOut),
            }
        })
    }
}

/// What of Codex's request goes on to the gateway, kept only for the
/// length of the request:
/// - the caller's `Authorization` header, as it came;
/// - the headers the provider's `http_headers` and `env_http_headers` make
///   Codex send, which the bridge cannot tell from others by name: so every
///   header but those [`passed_on`] refuses (the connection's own, the
///   body's, the browser's, and Codex's internal ones);
/// - the query string (the provider's `query_params`).
pub(super) struct Forward {
    auth: Option<HeaderValue>,
    headers: Vec<(HeaderName, HeaderValue)>,
    query: Option<String>,
}

impl Forward {
    pub(super) fn of<B>(req: &Request<B>) -> Forward {
        let listed = connection_listed(req.headers());
        let headers = req
            .headers()
            .iter()
            .filter(|(name, _)| {
                passed_on(name.as_str()) && !listed.iter().any(|l| l == name.as_str())
            })
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        Forward {
            auth: req.headers().get(header::AUTHORIZATION).cloned(),
            headers,
            query: req.uri().query().map(str::to_string),
        }
    }

    /// The caller's key, for blanking it out ([`caller_key`]).
    pub(super) fn key(&self) -> Option<&[u8]> {
        self.auth.as_ref().and_then(caller_key)
    }

    /// The caller's key as the one key filter ([`Secrets`]: the key whole,
    /// or any run of 8 or more of its characters in any case); empty
    /// without a key long enough to search for.
    pub(super) fn secrets(&self) -> Secrets {
        caller_secrets(self.auth.as_ref())
    }

    /// `body` with the caller's key masked ([`redact_key`]).
    pub(super) fn redact(&self, body: Vec<u8>) -> Vec<u8> {
        redact_key(body, self.auth.as_ref())
    }

    /// `{base}/{path}`, with the caller's query string.
    fn url(&self, base: &str, path: &str) -> String {
        match &self.query {
            Some(query) => format!("{base}/{path}?{query}"),
            None => format!("{base}/{path}"),
        }
    }

    /// A request to the gateway carrying what Codex's request passes on.
    fn request(&self, method: Method, uri: Uri) -> hyper::http::request::Builder {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::USER_AGENT, gateway::USER_AGENT);
        if let Some(auth) = &self.auth {
            request = request.header(header::AUTHORIZATION, auth.clone());
        }
        for (name, value) in &self.headers {
            request = request.header(name, value.clone());
        }
        request
    }
}

/// Whether a header of Codex's request goes on to the gateway (`name` in
/// lower case, as hyper gives it). Not:
/// - the connection's (hop by hop, RFC 9110 7.6.1), `Host`, and what the
///   bridge writes itself: the body's framing and type, `Accept`,
///   `Accept-Encoding` (it reads the answer uncompressed), `User-Agent`;
///   `Authorization` goes on separately, as it came;
/// - a browser's: `Origin`, `Referer`, cookies, `Sec-*`; a proxy's:
///   `Forwarded`, `X-Forwarded-*`, `Via`;
/// - Codex's own telemetry and session ids (`x-codex-*`, `session-id`,
///   `thread-id`, `conversation_id`, `x-client-request-id`, `originator`,
///   `version`, `openai-beta`, `x-openai-subagent`…): they describe Codex's
///   session to OpenAI, and a chat gateway does nothing with them.
fn passed_on(name: &str) -> bool {
    const NOT: &[&str] = &[
        // the connection's, and what the bridge sets
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "expect",
        "accept",
        "accept-encoding",
        "user-agent",
        "authorization",
        // a browser's, a proxy's
        "origin",
        "referer",
        "cookie",
        "cookie2",
        "forwarded",
        "via",
        // Codex's own
        "session-id",
        "session_id",
        "thread-id",
        "thread_id",
        "conversation-id",
        "conversation_id",
        "x-client-request-id",
        "originator",
        "version",
        "openai-beta",
        "chatgpt-account-id",
    ];
    const NOT_PREFIX: &[&str] = &["sec-", "x-forwarded-", "x-codex-", "x-openai-", "x-oai-"];
    !NOT.contains(&name) && !NOT_PREFIX.iter().any(|p| name.starts_with(p))
}

/// The header names a `Connection` header lists (hop by hop too).
fn connection_listed(headers: &hyper::HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .collect()
}

/// Mask the caller's key wherever an upstream answer echoes it, so that no
/// error the bridge passes on or logs holds it: the one key filter
/// ([`Secrets::redact`]: the key whole, or any run of 8 or more of its
/// characters in any case). A JSON body is masked in its decoded strings
/// (a key written `\u0073\u006b…` is the key all the same, once Codex
/// decodes it) and written out again when anything was masked; any other
/// body as text, its invalid UTF-8 replaced, which an error body can spare.
fn redact_key(body: Vec<u8>, auth: Option<&HeaderValue>) -> Vec<u8> {
    let secrets = caller_secrets(auth);
    if secrets.is_empty() {
        return body;
    }
    if let Ok(mut value) = serde_json::from_slice::<Value>(&body) {
        if !mask_strings(&mut value, &secrets) {
            return body;
        }
        return serde_json::to_vec(&value).unwrap_or_default();
    }
    let text = String::from_utf8_lossy(&body);
    match secrets.redact(&text) {
        Cow::Owned(masked) => masked.into_bytes(),
        Cow::Borrowed(_) => body,
    }
}

/// The key of `auth` as a [`Secrets`] filter ([`Forward::secrets`]).
fn caller_secrets(auth: Option<&HeaderValue>) -> Secrets {
    Secrets::new(auth.and_then(caller_key).map(String::from_utf8_lossy))
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

/// Mask `secrets` in every string of `value`, object keys too; whether
/// anything was masked.
fn mask_strings(value: &mut Value, secrets: &Secrets) -> bool {
    let mask = |text: &mut String| match secrets.redact(text) {
        Cow::Owned(masked) => {
            *text = masked;
            true
        }
        Cow::Borrowed(_) => false,
    };
    match value {
        Value::String(text) => mask(text),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |masked, v| mask_strings(v, secrets) | masked),
        Value::Object(map) => {
            let mut masked = false;
            for (mut key, mut v) in std::mem::take(map) {
                masked |= mask_strings(&mut v, secrets) | mask(&mut key);
                map.insert(key, v);
            }
            masked
        }
        _ => false,
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

    #[test]
    fn echoed_keys_are_blanked_once_json_decoded() {
        let auth = HeaderValue::from_static("Bearer sk-omg-secret-123");
        let escaped: String = "sk-omg-secret-123"
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let body =
            format!(r#"{{"error":{{"message":"bad {escaped}","{escaped}":[1,"{escaped}"]}}}}"#);
        let out = redact_key(body.into_bytes(), Some(&auth));
        let out: Value = serde_json::from_slice(&out).unwrap();
        let text = out.to_string();
        assert!(!text.contains("secret-123"), "{text}");
        assert_eq!(out["error"]["message"], "bad \u{2026}(17 characters)");
        // Nothing to mask: the body as it came, byte for byte.
        let plain = br#"{"a": "b" }"#.to_vec();
        assert_eq!(redact_key(plain.clone(), Some(&auth)), plain);
    }
}
