//! A scripted chat-completions-only gateway, as OminiGate's guide describes
//! it: `POST /v1/chat/completions` answers from a script of turns, `POST
//! /v1/responses` is 404, `GET /v1/models` lists models. Every request is
//! recorded; a turn's checks on the request it answers are recorded as
//! failures (and answered 418, so the client fails too).
//!
//! Streams go out with `Transfer-Encoding: chunked`, one HTTP chunk per
//! scripted piece, flushed one by one, so a cut stream (no terminating
//! chunk) is a real cut. Listens on 127.0.0.1 only; stops by itself after
//! 64 connections or 180 s, or when dropped.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::server::{Request, read_request};

/// What `GET /v1/models` lists, OpenRouter style: a 1M-token model and a
/// 200k one, both reasoning.
pub const MODELS: &str = r#"{"object": "list", "data": [
    {"id": "openai/gpt-5.4-pro", "object": "model", "context_length": 1000000,
     "supported_parameters": ["tools", "reasoning"],
     "architecture": {"input_modalities": ["text", "image"]}},
    {"id": "anthropic/claude-opus-4.6", "object": "model", "context_length": 200000,
     "top_provider": {"context_length": 200000},
     "supported_parameters": ["tools", "reasoning"],
     "architecture": {"input_modalities": ["text", "image"]}}
]}"#;

/// A check on the chat request a turn answers: `Err(why)` fails the test.
pub type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

/// How one turn answers.
pub enum Reply {
    /// `200 text/event-stream`: these pieces, each one HTTP chunk.
    Stream(Vec<String>),
    /// An error status before any stream, with this JSON body.
    Error { status: u16, body: String },
    /// `200 text/event-stream`: these pieces, then the connection drops
    /// without the terminating chunk.
    Cut(Vec<String>),
}

/// One scripted answer to one `POST /v1/chat/completions`.
pub struct Turn {
    checks: Vec<Check>,
    reply: Reply,
    /// Extra headers of an error answer (`Retry-After`).
    headers: Vec<(String, String)>,
}

impl Turn {
    fn new(reply: Reply) -> Turn {
        Turn {
            checks: Vec::new(),
            reply,
            headers: Vec::new(),
        }
    }

    pub fn stream(pieces: Vec<String>) -> Turn {
        Turn::new(Reply::Stream(pieces))
    }

    pub fn error(status: u16, body: Value) -> Turn {
        Turn::new(Reply::Error {
            status,
            body: body.to_string(),
        })
    }

    /// Send this header with an error answer.
    pub fn header(mut self, name: &str, value: &str) -> Turn {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// `200 application/json`: one whole completion, as a gateway that
    /// ignores `stream: true` answers.
    pub fn completion(body: Value) -> Turn {
        Turn::new(Reply::Error {
            status: 200,
            body: body.to_string(),
        })
    }

    pub fn cut(pieces: Vec<String>) -> Turn {
        Turn::new(Reply::Cut(pieces))
    }

    /// Check the request this turn answers.
    pub fn expect(
        mut self,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Turn {
        self.checks.push(Box::new(check));
        self
    }
}

/// What the gateway saw.
#[derive(Default)]
struct Log {
    requests: Vec<Request>,
    /// When each request was read, in order.
    times: Vec<Instant>,
    failures: Vec<String>,
}

pub struct ChatGateway {
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// Connections served before the gateway stops by itself.
const MAX_CONNECTIONS: usize = 64;
const LIFETIME: Duration = Duration::from_secs(180);

impl ChatGateway {
    pub fn start(turns: Vec<Turn>) -> ChatGateway {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let script = Arc::new(Mutex::new(VecDeque::from(turns)));
        let (log2, stopping) = (log.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let deadline = Instant::now() + LIFETIME;
            let mut workers = Vec::new();
            while !stopping.load(Ordering::SeqCst)
                && Instant::now() < deadline
                && workers.len() < MAX_CONNECTIONS
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (l, s) = (log2.clone(), script.clone());
                        workers.push(std::thread::spawn(move || serve(stream, &l, &s)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        ChatGateway {
            addr,
            log,
            stop,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.addr.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log
            .lock()
            .map(|l| l.requests.clone())
            .unwrap_or_default()
    }

    /// The bodies of the `POST /v1/chat/completions` requests, in order.
    pub fn chat_bodies(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.method == "POST" && r.path.split('?').next() == Some("/v1/chat/completions")
            })
            .map(|r| {
                serde_json::from_str(&r.body)
                    .unwrap_or_else(|e| panic!("the gateway got a body that is not JSON ({e})"))
            })
            .collect()
    }

    /// When each chat request arrived, in order.
    pub fn chat_times(&self) -> Vec<Instant> {
        self.log
            .lock()
            .map(|l| {
                l.requests
                    .iter()
                    .zip(&l.times)
                    .filter(|(r, _)| r.method == "POST" && r.path == "/v1/chat/completions")
                    .map(|(_, t)| *t)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The checks that failed, and requests beyond the script.
    pub fn failures(&self) -> Vec<String> {
        self.log
            .lock()
            .map(|l| l.failures.clone())
            .unwrap_or_default()
    }
}

impl Drop for ChatGateway {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

fn serve(stream: TcpStream, log: &Mutex<Log>, script: &Mutex<VecDeque<Turn>>) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let at = Instant::now();
    let mut headers = Vec::new();
    let _ = stream.set_nodelay(true);
    let route = (
        request.method.as_str(),
        request.path.split('?').next().unwrap_or_default(),
    );
    let mut failures = Vec::new();
    let reply = match route {
        ("GET", "/v1/models") => Reply::Error {
            status: 200,
            body: MODELS.to_string(),
        },
        ("POST", "/v1/chat/completions") => {
            let turn = script.lock().ok().and_then(|mut s| s.pop_front());
            match (turn, serde_json::from_str::<Value>(&request.body)) {
                (None, _) => {
                    failures.push("a chat request beyond the script".to_string());
                    error_reply(500, "the scripted gateway has no turn left")
                }
                (Some(_), Err(e)) => {
                    failures.push(format!("a chat request body that is not JSON: {e}"));
                    error_reply(400, "not JSON")
                }
                (Some(turn), Ok(body)) => {
                    let n = log.lock().map(|l| chats(&l.requests)).unwrap_or(0) + 1;
                    let bad: Vec<String> = turn
                        .checks
                        .iter()
                        .filter_map(|c| c(&body).err())
                        .map(|why| format!("chat request {n}: {why}"))
                        .collect();
                    if bad.is_empty() {
                        headers = turn.headers;
                        turn.reply
                    } else {
                        let reply = error_reply(418, &bad.join("; "));
                        failures.extend(bad);
                        reply
                    }
                }
            }
        }
        _ => error_reply(404, &format!("no route for {} {}", route.0, route.1)),
    };
    if let Ok(mut l) = log.lock() {
        l.requests.push(request);
        l.times.push(at);
        l.failures.extend(failures);
    }
    answer(stream, reply, &headers);
}

fn chats(requests: &[Request]) -> usize {
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/chat/completions")
        .count()
}

fn error_reply(status: u16, message: &str) -> Reply {
    Reply::Error {
        status,
        body: json!({"error": {"message": message, "type": "invalid_request_error"}}).to_string(),
    }
}

fn answer(mut stream: TcpStream, reply: Reply, headers: &[(String, String)]) {
    let (pieces, finish) = match reply {
        Reply::Error { status, body } => {
            let extra: String = headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect();
            let head = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n{extra}Connection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
            return;
        }
        Reply::Stream(pieces) => (pieces, true),
        Reply::Cut(pieces) => (pieces, false),
    };
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for piece in pieces {
        let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
        if stream.write_all(chunk.as_bytes()).is_err() || stream.flush().is_err() {
            return;
        }
        // Separate reads on the other side: fragments stay fragments.
        std::thread::sleep(Duration::from_millis(2));
    }
    if finish {
        let _ = stream.write_all(b"0\r\n\r\n");
        let _ = stream.flush();
    } else {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

// --- building chat streams ----------------------------------------------------

/// One `data:` line of a chat completion chunk.
pub fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1,
        "model": "openai/gpt-5.4-pro",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

/// The final usage chunk and `[DONE]`.
pub fn usage_and_done(prompt: u64, completion: u64) -> Vec<String> {
    let u = json!({"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": 1,
        "model": "openai/gpt-5.4-pro", "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion}});
    vec![format!("data: {u}\n\n"), "data: [DONE]\n\n".to_string()]
}

/// A streamed text answer, a few characters per delta.
pub fn text_stream(text: &str) -> Vec<String> {
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    out.extend(pieces(text, 7).map(|p| chunk(json!({"content": p}), None)));
    out.push(chunk(json!({}), Some("stop")));
    out.extend(usage_and_done(12, 5));
    out
}

/// `reasoning_content` deltas, then a text answer.
pub fn reasoning_then_text(reasoning: &str, text: &str) -> Vec<String> {
    let mut out = vec![chunk(json!({"role": "assistant", "content": null}), None)];
    out.extend(pieces(reasoning, 9).map(|p| chunk(json!({"reasoning_content": p}), None)));
    out.extend(text_stream(text).into_iter().skip(1));
    out
}

/// A scripted tool call: `(id, name, arguments JSON text)`.
pub struct Call<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub arguments: &'a str,
}

/// Tool calls streamed the way gateways do: keyed by `index`, the `id` and
/// `name` in the first piece only, the arguments in fragments of `frag`
/// bytes, interleaved when there are several; `reasoning` first if given.
pub fn tool_calls_stream(reasoning: Option<&str>, calls: &[Call], frag: usize) -> Vec<String> {
    let mut out = vec![chunk(json!({"role": "assistant", "content": null}), None)];
    if let Some(r) = reasoning {
        out.extend(pieces(r, 9).map(|p| chunk(json!({"reasoning_content": p}), None)));
    }
    for (i, c) in calls.iter().enumerate() {
        out.push(chunk(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                "function": {"name": c.name, "arguments": ""}}]}),
            None,
        ));
    }
    let frags: Vec<Vec<&str>> = calls
        .iter()
        .map(|c| pieces(c.arguments, frag).collect())
        .collect();
    let most = frags.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..most {
        for (i, f) in frags.iter().enumerate() {
            if let Some(p) = f.get(k) {
                out.push(chunk(
                    json!({"tool_calls": [{"index": i, "function": {"arguments": p}}]}),
                    None,
                ));
            }
        }
    }
    out.push(chunk(json!({}), Some("tool_calls")));
    out.extend(usage_and_done(40, 20));
    out
}

/// `text` in pieces of at most `n` bytes, on character boundaries.
fn pieces(text: &str, n: usize) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = n.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

/// Split each SSE piece in two at an arbitrary point, so a `data:` line
/// arrives across two reads.
pub fn split_lines(stream: Vec<String>) -> Vec<String> {
    stream
        .into_iter()
        .flat_map(|p| {
            let mut mid = p.len() / 3;
            while !p.is_char_boundary(mid) {
                mid += 1;
            }
            let (a, b) = p.split_at(mid);
            [a.to_string(), b.to_string()]
        })
        .filter(|p| !p.is_empty())
        .collect()
}

// --- checks on chat requests -------------------------------------------------

/// The messages of a chat request.
pub fn messages(body: &Value) -> Vec<Value> {
    body["messages"].as_array().cloned().unwrap_or_default()
}

/// Gateways reject a chat request unless every assistant message with
/// `tool_calls` is followed by one `tool` message per call, and roles are
/// the four chat knows. `Err` says what is wrong.
pub fn well_formed(body: &Value) -> Result<(), String> {
    let msgs = messages(body);
    if msgs.is_empty() {
        return Err("no messages".into());
    }
    for (i, m) in msgs.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        if !["system", "user", "assistant", "tool"].contains(&role) {
            return Err(format!("message {i} has role {role:?}"));
        }
        if role == "tool" {
            let id = m["tool_call_id"].as_str().unwrap_or_default();
            let answered = msgs[..i].iter().rev().find(|p| p["role"] != "tool");
            let declared = answered
                .and_then(|p| p["tool_calls"].as_array())
                .is_some_and(|calls| calls.iter().any(|c| c["id"].as_str() == Some(id)));
            if id.is_empty() || !declared {
                return Err(format!(
                    "message {i}: tool message {id:?} does not follow its tool_calls"
                ));
            }
        }
        if let Some(calls) = m["tool_calls"].as_array() {
            for c in calls {
                let id = c["id"].as_str().unwrap_or_default();
                let name = c["function"]["name"].as_str().unwrap_or_default();
                if id.is_empty() || name.is_empty() {
                    return Err(format!(
                        "message {i}: a tool call with a blank id or name: {c}"
                    ));
                }
                let answered = msgs[i + 1..]
                    .iter()
                    .take_while(|n| n["role"] == "tool")
                    .any(|n| n["tool_call_id"].as_str() == Some(id));
                if !answered {
                    return Err(format!("message {i}: tool call {id} has no tool message"));
                }
            }
        }
    }
    if body["stream"] != true {
        return Err(format!("stream is {}", body["stream"]));
    }
    Ok(())
}
