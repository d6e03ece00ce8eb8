//! A loopback HTTP server for tests: answers as told, records requests.
//! Tests may only talk to servers they start on 127.0.0.1.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request the test server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// How the server answers a request.
pub enum Answer {
    Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request, then say nothing until the server stops.
    Hang,
    /// `200 text/event-stream`: each chunk as `data: CHUNK` with `delay`
    /// before it, the body ending when the connection closes. Stops early
    /// when the server stops or the client is gone (counted, see
    /// [`Server::broken_streams`]).
    Stream {
        chunks: Vec<String>,
        delay: Duration,
    },
}

pub fn reply(status: u16, body: &str) -> Answer {
    Answer::Reply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

type Handler = dyn Fn(&Request) -> Answer + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 that answers with `handler`. It accepts
/// at most 128 connections and stops after 60 s or when dropped.
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    broken: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let broken = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stopping, cut) = (requests.clone(), stop.clone(), broken.clone());
        let accept = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut workers = Vec::new();
            while !stopping.load(Ordering::SeqCst)
                && Instant::now() < deadline
                && workers.len() < 128
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (h, r, s, c) =
                            (handler.clone(), reqs.clone(), stopping.clone(), cut.clone());
                        workers.push(std::thread::spawn(move || serve(stream, &*h, &r, &s, &c)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            stopping.store(true, Ordering::SeqCst);
            for w in workers {
                let _ = w.join();
            }
        });
        Server {
            addr,
            requests,
            stop,
            broken,
            accept: Some(accept),
        }
    }

    /// The base URL Codex would use: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// How many [`Answer::Stream`]s stopped because the client went away.
    pub fn broken_streams(&self) -> usize {
        self.broken.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

/// Read one request from `stream` (5 s read timeout; bodies by
/// `Content-Length` or chunked, up to 64 MiB). `None` when the peer sent
/// nothing usable.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    const LIMIT: usize = 64 << 20;
    let mut body = Vec::new();
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if size == 0 || body.len() + size > LIMIT {
                let mut end = String::new();
                let _ = reader.read_line(&mut end);
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..]).ok()?;
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).ok()?;
        }
    } else {
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        body = vec![0; len.min(LIMIT)];
        let _ = reader.read_exact(&mut body);
    }
    Some(Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve(
    stream: TcpStream,
    handler: &Handler,
    log: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
    broken: &AtomicUsize,
) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let answer = handler(&request);
    if let Ok(mut l) = log.lock() {
        l.push(request);
    }
    let mut stream = stream;
    match answer {
        Answer::Stream { chunks, delay } => {
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes());
            for chunk in chunks {
                std::thread::sleep(delay);
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let sent = stream
                    .write_all(format!("data: {chunk}\n\n").as_bytes())
                    .and_then(|()| stream.flush());
                if sent.is_err() {
                    broken.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
        }
        Answer::Hang => {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Answer::Reply {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("Content-Type: application/json\r\n");
            }
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
    }
}

/// A model list in OpenAI's format.
pub fn models_body(ids: &[&str]) -> String {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "object": "model"}))
        .collect();
    serde_json::json!({"object": "list", "data": data}).to_string()
}
