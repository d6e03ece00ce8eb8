//! A misbehaving chat gateway on 127.0.0.1, for the bridge's worst cases:
//! one thread, non-blocking sockets, any number of connections at once.
//! Each `POST` gets what its [`Script`] says: headers (or never), the
//! opening pieces, then one piece again and again, never finishing; a
//! `GET …/models` gets a model list at once. It tracks which connections
//! are still open, so that a test sees when the bridge lets one go. It
//! stops when dropped, or after 120 s.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the gateway sends on each streamed answer.
#[derive(Clone)]
pub struct Script {
    /// Send the `200 text/event-stream` head at all (`false`: read the
    /// request, then say nothing).
    pub headers: bool,
    /// Raw SSE bytes sent once after the head, e.g. one delta.
    pub opening: Vec<String>,
    /// Raw SSE bytes sent every [`Script::every`], forever: a comment, an
    /// empty `data:` line, a chunk that says nothing.
    pub filler: String,
    pub every: Duration,
}

struct Conn {
    stream: TcpStream,
    request: Vec<u8>,
    /// When the request was read whole: streaming since then.
    streaming: bool,
    next: Instant,
}

pub struct BadGateway {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl BadGateway {
    pub fn start(script: Script) -> BadGateway {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, o, r) = (stop.clone(), open.clone(), requests.clone());
        let thread = std::thread::spawn(move || run(listener, &script, &s, &o, &r));
        BadGateway {
            addr,
            stop,
            open,
            requests,
            thread: Some(thread),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.addr.port())
    }

    /// Connections from the bridge still open.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Requests read whole so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Wait up to `limit` for `done(self)`; whether it came.
    pub fn wait_for(&self, limit: Duration, done: impl Fn(&BadGateway) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while !done(self) {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for BadGateway {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    listener: TcpListener,
    script: &Script,
    stop: &AtomicBool,
    open: &AtomicUsize,
    requests: &AtomicUsize,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut conns: Vec<Conn> = Vec::new();
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(true);
            let _ = stream.set_nodelay(true);
            open.fetch_add(1, Ordering::SeqCst);
            conns.push(Conn {
                stream,
                request: Vec::new(),
                streaming: false,
                next: Instant::now(),
            });
        }
        conns.retain_mut(|c| {
            let alive = step(c, script, requests);
            if !alive {
                open.fetch_sub(1, Ordering::SeqCst);
            }
            alive
        });
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One turn for one connection; `false` once the peer is gone.
fn step(c: &mut Conn, script: &Script, requests: &AtomicUsize) -> bool {
    let mut buf = [0u8; 16 << 10];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) if !c.streaming => c.request.extend_from_slice(&buf[..n]),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
    }
    if !c.streaming {
        let Some(head_end) = find(&c.request, b"\r\n\r\n") else {
            return true;
        };
        let head = String::from_utf8_lossy(&c.request[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if c.request.len() < head_end + 4 + length {
            return true;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        c.streaming = true;
        if head.starts_with("get ") {
            let body = r#"{"object":"list","data":[{"id":"m","object":"model"}]}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            return send(&mut c.stream, &reply);
        }
        if !script.headers {
            return true;
        }
        let mut out = String::from("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
        script.opening.iter().for_each(|p| out.push_str(p));
        c.next = Instant::now() + script.every;
        return send(&mut c.stream, &out);
    }
    if script.headers && Instant::now() >= c.next {
        c.next = Instant::now() + script.every;
        return send(&mut c.stream, &script.filler);
    }
    true
}

/// Write all of `text` (blocking briefly if the socket is full); `false`
/// when the peer is gone.
fn send(stream: &mut TcpStream, text: &str) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let ok = stream.write_all(text.as_bytes()).is_ok();
    let _ = stream.set_nonblocking(true);
    ok
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
