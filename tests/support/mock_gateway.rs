//! A tiny loopback mock of an OpenAI-compatible gateway (OminiGate) for
//! integration tests that run the real Codex CLI. std only: a `TcpListener`
//! on 127.0.0.1:0, one thread per connection, HTTP/1.1 with keep-alive.
//!
//! Routes (the query string is ignored for routing):
//! - `POST /v1/chat/completions`: chat-completions SSE stream, then `data: [DONE]`
//! - `POST /v1/responses`: Responses API SSE stream (`response.created`,
//!   `response.output_item.added`, `response.output_text.delta`,
//!   `response.output_item.done`, `response.completed` with usage)
//! - `GET /v1/models`: a small JSON list
//! - any request with `Upgrade: websocket`: `426 Upgrade Required`
//!   (Codex then falls back to plain HTTP)
//! - anything else: 404
//!
//! Every request (WebSocket attempts and 404s included) is recorded. Every
//! read has a timeout, the number of connections is bounded, and dropping the
//! `MockGateway` stops the accept loop and shuts the open connections down.
//! Only ever binds 127.0.0.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Text the mock model answers with.
pub const MOCK_REPLY: &str = "hello from mock";
/// Connections accepted per gateway; later ones are closed at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Requests served on one keep-alive connection before it is closed.
const MAX_REQUESTS_PER_CONNECTION: usize = 100;
/// Per-read timeout (an idle keep-alive connection is closed after this).
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Request target as sent, e.g. `/v1/responses` (query string kept).
    pub path: String,
    /// Header names as sent (use [`Recorded::header`] for a case-insensitive look-up).
    pub headers: Vec<(String, String)>,
    /// Body after de-chunking, lossily decoded as UTF-8.
    pub body: String,
}

impl Recorded {
    /// First value of header `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// Whether this was a WebSocket upgrade attempt.
    pub fn is_websocket(&self) -> bool {
        self.header("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    stop: AtomicBool,
    accepted: AtomicUsize,
    reply: String,
    /// Clones of live connections, shut down on drop to unblock readers.
    streams: Mutex<Vec<TcpStream>>,
    handlers: Mutex<Vec<JoinHandle<()>>>,
}

pub struct MockGateway {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl MockGateway {
    /// Starts a gateway on 127.0.0.1 with an OS-chosen port, answering [`MOCK_REPLY`].
    pub fn start() -> MockGateway {
        Self::start_with_reply(MOCK_REPLY)
    }

    /// Like [`MockGateway::start`], but the assistant answers `reply`.
    pub fn start_with_reply(reply: &str) -> MockGateway {
        let listener = TcpListener::bind(("127.0.0.1", 0)).expect("mock gateway: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("mock gateway: set_nonblocking");
        let addr = listener.local_addr().expect("mock gateway: local_addr");
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            reply: reply.to_string(),
            streams: Mutex::new(Vec::new()),
            handlers: Mutex::new(Vec::new()),
        });
        let sh = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("mock-gateway-accept".into())
            .spawn(move || accept_loop(listener, sh))
            .expect("mock gateway: spawn accept thread");
        MockGateway {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Everything recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Recorded requests whose path (query stripped) equals `route`.
    pub fn requests_to(&self, route: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.route() == route)
            .collect()
    }

    /// Waits until at least `n` requests were recorded or `timeout` passes;
    /// returns what was recorded either way.
    pub fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            let reqs = self.requests();
            if reqs.len() >= n || Instant::now() >= deadline {
                return reqs;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for MockGateway {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for s in self.shared.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        let handlers: Vec<_> = self.shared.handlers.lock().unwrap().drain(..).collect();
        for h in handlers {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _peer)) => {
                let n = shared.accepted.fetch_add(1, Ordering::SeqCst);
                if n >= MAX_CONNECTIONS {
                    let _ = stream.shutdown(Shutdown::Both);
                    continue;
                }
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
                let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
                let _ = stream.set_nodelay(true);
                if let Ok(clone) = stream.try_clone() {
                    shared.streams.lock().unwrap().push(clone);
                }
                let sh = Arc::clone(&shared);
                let spawned = thread::Builder::new()
                    .name("mock-gateway-conn".into())
                    .spawn(move || serve_connection(stream, sh));
                if let Ok(h) = spawned {
                    shared.handlers.lock().unwrap().push(h);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    for _ in 0..MAX_REQUESTS_PER_CONNECTION {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let req = match read_request(&mut reader, &mut writer) {
            Ok(Some(r)) => r,
            Ok(None) => break, // clean EOF between requests
            Err(msg) => {
                let _ = write_response(&mut writer, 400, "Bad Request", "text/plain", msg.as_bytes(), false);
                break;
            }
        };
        shared.requests.lock().unwrap().push(Recorded {
            method: req.method.clone(),
            path: req.target.clone(),
            headers: req.headers.clone(),
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
        let keep_alive = wants_keep_alive(&req);
        let ok = respond(&mut writer, &req, &shared.reply, keep_alive);
        if !ok || !keep_alive {
            break;
        }
    }
    let _ = writer.flush();
    let _ = writer.shutdown(Shutdown::Both);
}

fn wants_keep_alive(req: &Request) -> bool {
    let conn = req.header("connection").unwrap_or("").to_ascii_lowercase();
    if req.version.eq_ignore_ascii_case("HTTP/1.0") {
        conn.contains("keep-alive")
    } else {
        !conn.contains("close")
    }
}

/// Reads one request. `Ok(None)` on EOF (or timeout) before any byte of it.
fn read_request<R: BufRead>(reader: &mut R, writer: &mut TcpStream) -> Result<Option<Request>, String> {
    let mut head_len = 0usize;
    let mut line = String::new();
    // Request line (skip stray empty lines between keep-alive requests).
    loop {
        line.clear();
        match read_line(reader, &mut line) {
            Ok(0) => return Ok(None),
            Ok(n) => head_len += n,
            Err(_) => return Ok(None),
        }
        if !line.trim().is_empty() {
            break;
        }
        if head_len > MAX_HEAD_BYTES {
            return Err("request head too large".into());
        }
    }
    let mut parts = line.trim_end().splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    if method.is_empty() || target.is_empty() {
        return Err("malformed request line".into());
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = read_line(reader, &mut line).map_err(|e| format!("reading headers: {e}"))?;
        if n == 0 {
            return Err("connection closed inside headers".into());
        }
        head_len += n;
        if head_len > MAX_HEAD_BYTES {
            return Err("request head too large".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = Request {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        let _ = writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked(reader)?;
    } else if let Some(cl) = req.header("content-length") {
        let len: usize = cl.trim().parse().map_err(|_| "bad content-length".to_string())?;
        if len > MAX_BODY_BYTES {
            return Err("body too large".into());
        }
        let mut body = vec![0u8; len];
        reader
            .read_exact(&mut body)
            .map_err(|e| format!("reading body: {e}"))?;
        req.body = body;
    }
    Ok(Some(req))
}

fn read_line<R: BufRead>(reader: &mut R, out: &mut String) -> std::io::Result<usize> {
    // Bounded line read: never buffers more than MAX_HEAD_BYTES for one line.
    let mut buf = Vec::new();
    let n = reader
        .by_ref()
        .take(MAX_HEAD_BYTES as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    out.push_str(&String::from_utf8_lossy(&buf));
    Ok(n)
}

fn read_chunked<R: BufRead>(reader: &mut R) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = read_line(reader, &mut line).map_err(|e| format!("reading chunk size: {e}"))?;
        if n == 0 {
            return Err("connection closed inside chunked body".into());
        }
        let size_str = line.trim().split(';').next().unwrap_or("").trim();
        if size_str.is_empty() {
            continue;
        }
        let size = usize::from_str_radix(size_str, 16).map_err(|_| format!("bad chunk size {size_str:?}"))?;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                line.clear();
                let n = read_line(reader, &mut line).map_err(|e| format!("reading trailers: {e}"))?;
                if n == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err("body too large".into());
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader
            .read_exact(&mut body[start..])
            .map_err(|e| format!("reading chunk: {e}"))?;
        let mut crlf = [0u8; 2];
        reader
            .read_exact(&mut crlf)
            .map_err(|e| format!("reading chunk end: {e}"))?;
    }
}

/// Writes the answer; returns false if the connection should be dropped.
fn respond(w: &mut TcpStream, req: &Request, reply: &str, keep_alive: bool) -> bool {
    let route = req.target.split('?').next().unwrap_or("");
    let is_ws = req
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if is_ws {
        return write_response(
            w,
            426,
            "Upgrade Required",
            "text/plain",
            b"websocket not supported by mock gateway",
            false,
        )
        .is_ok()
            && false; // always close after refusing an upgrade
    }
    let model = json_string_field(&String::from_utf8_lossy(&req.body), "model")
        .unwrap_or_else(|| "mock-model".to_string());
    let (status, reason, ctype, body): (u16, &str, &str, Vec<u8>) = match (req.method.as_str(), route) {
        ("POST", "/v1/chat/completions") => (200, "OK", "text/event-stream", chat_sse(&model, reply).into_bytes()),
        ("POST", "/v1/responses") => (200, "OK", "text/event-stream", responses_sse(&model, reply).into_bytes()),
        ("GET", "/v1/models") => (200, "OK", "application/json", models_json().into_bytes()),
        _ => (
            404,
            "Not Found",
            "application/json",
            format!(
                "{{\"error\":{{\"message\":\"mock gateway: no route for {} {}\",\"type\":\"not_found\"}}}}",
                json_escape(&req.method),
                json_escape(&req.target)
            )
            .into_bytes(),
        ),
    };
    write_response(w, status, reason, ctype, &body, keep_alive).is_ok()
}

fn write_response(
    w: &mut TcpStream,
    status: u16,
    reason: &str,
    ctype: &str,
    body: &[u8],
    keep_alive: bool,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nx-request-id: mock-req\r\nConnection: {}\r\n\r\n",
        body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    w.write_all(head.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn sse_event(out: &mut String, event_type: &str, json: &str) {
    out.push_str("event: ");
    out.push_str(event_type);
    out.push_str("\ndata: ");
    out.push_str(json);
    out.push_str("\n\n");
}

/// OpenAI chat-completions streaming answer (`stream: true`).
pub fn chat_sse(model: &str, reply: &str) -> String {
    let m = json_escape(model);
    let t = json_escape(reply);
    let mut s = String::new();
    for chunk in [
        format!(r#"{{"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":"{m}","choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},"finish_reason":null}}]}}"#),
        format!(r#"{{"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":"{m}","choices":[{{"index":0,"delta":{{"content":"{t}"}},"finish_reason":null}}]}}"#),
        format!(r#"{{"id":"chatcmpl-mock","object":"chat.completion.chunk","created":1700000000,"model":"{m}","choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":5,"completion_tokens":4,"total_tokens":9}}}}"#),
    ] {
        s.push_str("data: ");
        s.push_str(&chunk);
        s.push_str("\n\n");
    }
    s.push_str("data: [DONE]\n\n");
    s
}

/// OpenAI Responses API streaming answer, shaped like Codex's own test fixtures.
pub fn responses_sse(model: &str, reply: &str) -> String {
    let m = json_escape(model);
    let t = json_escape(reply);
    let mut s = String::new();
    sse_event(
        &mut s,
        "response.created",
        &format!(r#"{{"type":"response.created","sequence_number":0,"response":{{"id":"resp_mock","object":"response","status":"in_progress","model":"{m}","output":[]}}}}"#),
    );
    sse_event(
        &mut s,
        "response.output_item.added",
        r#"{"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"msg_mock","status":"in_progress","role":"assistant","content":[]}}"#,
    );
    sse_event(
        &mut s,
        "response.output_text.delta",
        &format!(r#"{{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_mock","output_index":0,"content_index":0,"delta":"{t}"}}"#),
    );
    sse_event(
        &mut s,
        "response.output_item.done",
        &format!(r#"{{"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{{"type":"message","id":"msg_mock","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"{t}","annotations":[]}}]}}}}"#),
    );
    sse_event(
        &mut s,
        "response.completed",
        &format!(r#"{{"type":"response.completed","sequence_number":4,"response":{{"id":"resp_mock","object":"response","status":"completed","model":"{m}","output":[],"usage":{{"input_tokens":5,"input_tokens_details":{{"cached_tokens":0}},"output_tokens":4,"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":9}}}}}}"#),
    );
    s
}

/// `GET /v1/models` answer in the OpenAI list shape.
pub fn models_json() -> String {
    let ids = [
        "openai/gpt-5.4-pro",
        "openai/gpt-5.3-codex",
        "anthropic/claude-opus-4.6",
        "google/gemini-3.1-pro-preview",
    ];
    let data: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"id":"{id}","object":"model","created":1700000000,"owned_by":"ominigate"}}"#))
        .collect();
    format!(r#"{{"object":"list","data":[{}]}}"#, data.join(","))
}

/// Value of the first top-level-looking `"key": "string"` pair (naive, std only).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(i) = json[from..].find(&needle) {
        let rest = json[from + i + needle.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix(':') {
            let rest = rest.trim_start();
            if let Some(rest) = rest.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = rest.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => return Some(out),
                        '\\' => {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        c => out.push(c),
                    }
                }
                return None;
            }
        }
        from += i + needle.len();
    }
    None
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}
