//! The bridge benchmark's two ends (bench/bridge.sh drives them):
//!
//! - `bridge_bench gateway [--deltas N] [--lifetime SECS] [--gap-us G]`: a
//!   fast loopback chat-completions gateway. Every `POST …/chat/completions`
//!   gets a chunked SSE stream of N content deltas (one HTTP chunk each), a
//!   finish chunk, a usage chunk and `[DONE]`; with G, a pause of G µs
//!   after each chunk (as a model emits tokens: each delta then reaches the
//!   bridge alone, one read each, instead of many in one read). Prints
//!   `listening on http://127.0.0.1:PORT/v1`; exits by itself after SECS
//!   (default 900).
//! - `bridge_bench client --url BASE --wire chat|responses [--streams N]
//!   [--runs R] [--deltas D]`: R rounds of N concurrent streams; for each
//!   stream the time to the first text delta and to the end of the stream,
//!   and whether it completed (D deltas, then `[DONE]` or
//!   `response.completed`). Prints one JSON object per round.
//!
//! Only 127.0.0.1: the gateway binds it, the client refuses anything else.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num = |name: &str, default: usize| {
        flag(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| fail(&format!("{name} wants a number, not {v}")))
        })
    };
    match args.first().map(String::as_str) {
        Some("gateway") => gateway(
            num("--deltas", 2000),
            num("--lifetime", 900),
            Duration::from_micros(num("--gap-us", 0) as u64),
        ),
        Some("client") => {
            let url = flag("--url").unwrap_or_else(|| fail("client needs --url"));
            if !url.starts_with("http://127.0.0.1:") {
                fail("the client only talks to http://127.0.0.1:PORT");
            }
            let wire = match flag("--wire").as_deref() {
                Some("chat") => Wire::Chat,
                Some("responses") => Wire::Responses,
                _ => fail("--wire chat|responses"),
            };
            let model = flag("--model").unwrap_or_else(|| "bench/model".into());
            for _ in 0..num("--runs", 1) {
                round(
                    &url,
                    wire,
                    &model,
                    num("--streams", 1),
                    num("--deltas", 2000),
                );
            }
        }
        _ => fail("usage: bridge_bench gateway|client …"),
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("bridge_bench: {msg}");
    std::process::exit(2)
}

// --- gateway -----------------------------------------------------------------------

fn gateway(deltas: usize, lifetime: usize, gap: Duration) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("addr").port();
    println!("listening on http://127.0.0.1:{port}/v1");
    let _ = std::io::stdout().flush();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(lifetime as u64));
        std::process::exit(0);
    });
    // One stream, built once: the gateway should cost next to nothing.
    let stream = chat_stream(deltas);
    let stream: &'static [Vec<u8>] = Box::leak(stream.into_boxed_slice());
    for conn in listener.incoming().flatten() {
        std::thread::spawn(move || serve(conn, stream, gap));
    }
}

fn chat_stream(deltas: usize) -> Vec<Vec<u8>> {
    let chunk = |delta: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\
             \"model\":\"bench/model\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let mut out = vec![chunk("{\"role\":\"assistant\",\"content\":\"\"}", "null")];
    for i in 0..deltas {
        out.push(chunk(&format!("{{\"content\":\"tok{i} \"}}"), "null"));
    }
    out.push(chunk("{}", "\"stop\""));
    out.push(
        "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1,\
         \"model\":\"bench/model\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\
         \"completion_tokens\":2000,\"total_tokens\":2010}}\n\n"
            .to_string(),
    );
    out.push("data: [DONE]\n\n".to_string());
    out.into_iter()
        .map(|e| format!("{:x}\r\n{e}\r\n", e.len()).into_bytes())
        .collect()
}

/// Serve requests on one connection (keep-alive) until it closes.
fn serve(conn: TcpStream, stream: &[Vec<u8>], gap: Duration) {
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.trim().eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len.min(64 << 20)];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let ok = if method == "POST" && path.ends_with("/chat/completions") {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                        Transfer-Encoding: chunked\r\n\r\n";
            out.write_all(head.as_bytes()).is_ok()
                && stream.iter().all(|c| {
                    if !gap.is_zero() {
                        std::thread::sleep(gap);
                    }
                    out.write_all(c).is_ok()
                })
                && out.write_all(b"0\r\n\r\n").is_ok()
        } else if method == "GET" && path.ends_with("/models") {
            let body =
                "{\"object\":\"list\",\"data\":[{\"id\":\"bench/model\",\"object\":\"model\"}]}";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes()).is_ok() && out.write_all(body.as_bytes()).is_ok()
        } else {
            let body = "{\"error\":{\"message\":\"not found\"}}";
            let head = format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes()).is_ok() && out.write_all(body.as_bytes()).is_ok()
        };
        if !ok || out.flush().is_err() {
            return;
        }
    }
}

// --- client ------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Wire {
    Chat,
    Responses,
}

/// One stream's timings, in microseconds from sending the request.
struct Timing {
    head: u128,
    first: Option<u128>,
    total: u128,
    events: usize,
    completed: bool,
}

fn round(url: &str, wire: Wire, model: &str, streams: usize, deltas: usize) {
    let start = Instant::now();
    let handles: Vec<_> = (0..streams)
        .map(|_| {
            let (url, model) = (url.to_string(), model.to_string());
            std::thread::spawn(move || one(&url, wire, &model))
        })
        .collect();
    let timings: Vec<Timing> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|_| fail("a stream panicked")))
        .collect();
    let wall = start.elapsed().as_micros();
    let complete = timings
        .iter()
        .filter(|t| t.completed && t.events == deltas)
        .count();
    let mut first: Vec<u128> = timings.iter().filter_map(|t| t.first).collect();
    let mut head: Vec<u128> = timings.iter().map(|t| t.head).collect();
    head.sort_unstable();
    let mut total: Vec<u128> = timings.iter().map(|t| t.total).collect();
    first.sort_unstable();
    total.sort_unstable();
    let med = |v: &[u128]| v.get(v.len() / 2).copied().unwrap_or(0);
    println!(
        "{{\"streams\":{streams},\"complete\":{complete},\"head_us\":{},\"ttfe_us\":{},\"total_us\":{},\"max_total_us\":{},\"wall_us\":{wall},\"events\":{}}}",
        med(&head),
        med(&first),
        med(&total),
        total.last().copied().unwrap_or(0),
        timings.first().map_or(0, |t| t.events)
    );
}

fn one(base: &str, wire: Wire, model: &str) -> Timing {
    let (path, body) = match wire {
        Wire::Chat => (
            "/chat/completions",
            format!(
                "{{\"model\":\"{model}\",\"stream\":true,\"stream_options\":{{\"include_usage\":true}},\
                 \"messages\":[{{\"role\":\"system\",\"content\":\"You are a benchmark.\"}},\
                 {{\"role\":\"user\",\"content\":\"count\"}}]}}"
            ),
        ),
        Wire::Responses => (
            "/responses",
            format!(
                "{{\"model\":\"{model}\",\"stream\":true,\"store\":false,\"instructions\":\"You are a benchmark.\",\
                 \"input\":[{{\"type\":\"message\",\"role\":\"user\",\"content\":[{{\"type\":\"input_text\",\"text\":\"count\"}}]}}],\
                 \"tools\":[],\"tool_choice\":\"auto\",\"parallel_tool_calls\":true}}"
            ),
        ),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let start = Instant::now();
    let resp = agent
        .post(&format!("{base}{path}"))
        .header("Content-Type", "application/json")
        .header(
            "Authorization",
            "Bearer sk-bench-not-a-key-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e",
        )
        .header("Accept", "text/event-stream")
        .send(body.as_bytes());
    let mut t = Timing {
        head: start.elapsed().as_micros(),
        first: None,
        total: 0,
        events: 0,
        completed: false,
    };
    let Ok(resp) = resp else {
        t.total = start.elapsed().as_micros();
        return t;
    };
    if resp.status() != 200 {
        eprintln!("bridge_bench: {base}{path} answered {}", resp.status());
        t.total = start.elapsed().as_micros();
        return t;
    }
    let reader = BufReader::with_capacity(64 * 1024, resp.into_body().into_reader());
    for line in reader.lines() {
        let Ok(line) = line else { break };
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let delta = match wire {
            Wire::Chat => data.contains("\"tok"),
            Wire::Responses => data.contains("response.output_text.delta"),
        };
        if delta {
            if t.events == 0 {
                t.first = Some(start.elapsed().as_micros());
            }
            t.events += 1;
        } else if match wire {
            Wire::Chat => data.trim() == "[DONE]",
            Wire::Responses => data.contains("\"response.completed\""),
        } {
            t.completed = true;
        }
    }
    t.total = start.elapsed().as_micros();
    t
}
