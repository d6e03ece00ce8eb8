//! `ominigate-codex bridge` and `ominigate-codex codex` as a user runs them,
//! against a loopback fake chat gateway (harness/server.rs). Real
//! Codex through the bridge is tests/e2e.rs's business; here the fake
//! `codex` is a script.
//!
//! Every server listens on 127.0.0.1 and stops by itself: the gateway
//! when dropped (or after 60 s), the bridge when killed by its guard.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, ChildStdout, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::server::{Answer, Request, Server, models_body, reply};
use crate::harness::{CANARY, Sandbox, assert_no_canary_in_text};

/// A bridge process, killed when dropped.
struct Bridge {
    child: Child,
    port: u16,
    stdout: BufReader<ChildStdout>,
    first_line: String,
    stderr: std::path::PathBuf,
}

impl Bridge {
    fn start(sb: &Sandbox, upstream: &str, extra: &[&str]) -> Bridge {
        Bridge::start_with_env(sb, upstream, extra, &[])
    }

    fn start_with_env(
        sb: &Sandbox,
        upstream: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Bridge {
        Bridge::start_with(sb, upstream, extra, |cmd| {
            cmd.envs(env.iter().copied());
        })
    }

    /// [`Bridge::start`], the command changed by `change` first.
    fn start_with(
        sb: &Sandbox,
        upstream: &str,
        extra: &[&str],
        change: impl FnOnce(&mut std::process::Command),
    ) -> Bridge {
        let stderr = sb.dir.path().join("bridge-stderr");
        let mut cmd = sb.std_cmd();
        // SIGHUP as a terminal leaves it, whatever this test run inherited
        // (under `nohup` it is ignored, and so the bridge would keep it):
        // `change` may set it otherwise after this.
        // SAFETY: signal() is async-signal-safe; the closure allocates nothing.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::signal(libc::SIGHUP, libc::SIG_DFL);
                Ok(())
            });
        }
        change(&mut cmd);
        let mut child = cmd
            .args(["bridge", "--listen", "127.0.0.1:0", "--upstream", upstream])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start the bridge");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).expect("first line");
        let port = first_line
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/v1\n"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("first line: {first_line:?}")
            });
        Bridge {
            child,
            port,
            stdout,
            first_line,
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The log once it holds `text` (a line written as a stream ends), or
    /// after 5 s.
    fn log_once(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.log().contains(text) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.log()
    }

    /// Send `signal` and wait (at most 20 s) for the exit code.
    fn stop_with(&mut self, signal: &str) -> Option<i32> {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the bridge did not stop within 20 s of {signal}");
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One raw HTTP/1.1 exchange (`Connection: close`), for what an HTTP
/// client would not send: a foreign `Host`, a body it never sends.
fn raw(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request.as_bytes()).expect("send");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A Responses request as Codex sends it, trimmed.
fn responses_request() -> String {
    serde_json::json!({
        "model": "openai/gpt-5.4-pro",
        "stream": true,
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "be brief"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
        ],
        "tools": [{"type": "function", "name": "exec_command", "description": "run", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "store": false
    })
    .to_string()
}

/// A chat stream saying "Hello" in `n` pieces, then stop, usage, [DONE].
fn chat_chunks(n: usize) -> Vec<String> {
    let mut chunks: Vec<String> = (0..n)
        .map(|i| {
            let piece = if i == 0 { "Hel" } else { "lo" };
            serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]})
                .to_string()
        })
        .collect();
    chunks.push(
        serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            .to_string(),
    );
    chunks.push(
        serde_json::json!({"id": "c1", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
            .to_string(),
    );
    chunks.push("[DONE]".to_string());
    chunks
}

/// POST a Responses request with the canary key; status and body.
fn post_responses(bridge: &Bridge) -> (u16, String) {
    post(bridge, responses_request(), Some(CANARY))
}

/// [`post_responses`], and how long the answer took to end.
fn timed_post(bridge: &Bridge) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = post_responses(bridge);
    (status, body, started.elapsed())
}

/// A gateway that streams `chunks`, then a chunk without content every
/// 50 ms for 10 s on a connection it keeps open.
fn keep_alive_gateway(mut chunks: Vec<String>) -> Server {
    chunks.extend((0..200).map(|_| r#"{"choices":[]}"#.to_string()));
    Server::start(move |_: &Request| Answer::Stream {
        chunks: chunks.clone(),
        delay: Duration::from_millis(50),
    })
}

/// The provider's `stream_idle_timeout_ms` at 300 ms, for the tests of
/// what the bridge gives up on (the bridge reads it from the config).
fn with_idle_300_ms(sb: &Sandbox) {
    sb.write_config(
        "[model_providers.ominigate]\nbase_url = \"https://gw.example/v1\"\nstream_idle_timeout_ms = 300\n",
    );
}

/// A gateway that says "Hello" at once to every request, and a bridge
/// (with `extra` arguments) in front of it.
fn hello_bridge(sb: &Sandbox, extra: &[&str]) -> (Server, Bridge) {
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(1),
        delay: Duration::ZERO,
    });
    let bridge = Bridge::start(sb, &gateway.base_url(), extra);
    (gateway, bridge)
}

/// POST `body` to the bridge's /v1/responses (with `key`, if any).
fn post(bridge: &Bridge, body: String, key: Option<&str>) -> (u16, String) {
    let mut request = agent()
        .post(bridge.url("/v1/responses"))
        .header("Content-Type", "application/json")
        .header("Accept", "text/event-stream");
    if let Some(key) = key {
        request = request.header("Authorization", format!("Bearer {key}"));
    }
    let mut r = request.send(body).expect("request");
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (status, body)
}

fn assert_clean(bridge: &Bridge, outputs: &[&str]) {
    assert_no_canary_in_text(&bridge.log());
    assert_no_canary_in_text(&bridge.first_line);
    for o in outputs {
        assert_no_canary_in_text(o);
    }
}

#[test]
fn prints_its_address_first_and_answers_health_locally() {
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let mut r = agent().get(bridge.url("/health")).call().expect("health");
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value =
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "service": "ominigate-codex bridge", "upstream": "https://gw.example/v1"})
    );
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // A WebSocket attempt is sent to plain HTTP; other paths are not served.
    for (path, status) in [("/v1/responses", 426), ("/v1/chat/completions", 404)] {
        let r = agent().get(bridge.url(path)).call().expect(path);
        assert_eq!(r.status().as_u16(), status, "{path}");
    }
    let log = bridge.log();
    assert!(log.contains("GET /health -> 200"), "{log}");
    assert!(log.contains("GET /v1/responses -> 426"), "{log}");
}

#[test]
fn refuses_to_listen_beyond_this_machine() {
    let sb = Sandbox::new();
    for addr in ["0.0.0.0:0", "192.0.2.1:8741", "[::]:0", "gw.example:80"] {
        let out = sb.exec(&["bridge", "--listen", addr], &[]);
        assert_eq!(out.code, 2, "{addr}: {out:?}");
        assert!(out.stdout.is_empty(), "{addr}: {out:?}");
    }
    let out = sb.exec(&["bridge", "--upstream", "http://gw.example/v1"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("plain http"), "{out:?}");
}

#[test]
fn never_forwards_to_itself() {
    let sb = Sandbox::new();
    sb.write_config("[model_providers.ominigate]\nbase_url = \"http://127.0.0.1:8741/v1\"\n");
    let out = sb.exec(&["bridge"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is the bridge itself"), "{out:?}");
    assert!(
        out.stderr.contains("install --bridge --base-url"),
        "{out:?}"
    );
    let out = sb.exec(
        &[
            "bridge",
            "--listen",
            "127.0.0.1:9",
            "--upstream",
            "http://localhost:9/v1",
        ],
        &[],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("fix --upstream"), "{out:?}");
}

#[test]
fn a_damaged_state_file_stops_only_what_needs_it() {
    let sb = Sandbox::new();
    sb.write_config("[model_providers.ominigate]\nbase_url = \"http://127.0.0.1:8741/v1\"\n");
    let state = sb.codex_home().join("ominigate-codex.state.json");
    std::fs::write(&state, "{\"schema\": 1, \"bridge_upstream\": ").unwrap();
    // Without --upstream the recorded gateway is needed: say which file.
    let out = sb.exec(&["bridge"], &[]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("ominigate-codex.state.json is damaged"),
        "{out:?}"
    );
    assert!(out.stderr.contains("--upstream URL"), "{out:?}");
    // `codex` has no --upstream: the message names what works for it too.
    assert!(
        out.stderr.contains("install --bridge --base-url URL"),
        "{out:?}"
    );
    // With it, as that message advises, the state does not matter.
    let gateway = Server::start(|_: &Request| reply(200, &models_body(&["m"])));
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    assert!(bridge.first_line.starts_with("listening on"));
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "{\"schema\": 1, \"bridge_upstream\": "
    );
}

#[test]
fn refuses_foreign_host_names_and_sends_no_cors_headers() {
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let port = bridge.port;
    let refused = ["evil.example", "evil.example:80", "127.0.0.1.nip.io", ""];
    let allowed = [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]".into(),
    ];
    let cases = refused
        .map(|h| (h.to_string(), "", "HTTP/1.1 403"))
        .into_iter()
        .chain(allowed.map(|h| (h, "", "HTTP/1.1 200")))
        // A page in a browser: the Host is right, the Origin tells.
        .chain([
            (
                format!("127.0.0.1:{port}"),
                "Origin: http://evil.example\r\n",
                "HTTP/1.1 403",
            ),
            (
                format!("127.0.0.1:{port}"),
                "Origin: null\r\n",
                "HTTP/1.1 403",
            ),
            (
                format!("127.0.0.1:{port}"),
                "Origin: http://localhost:3000\r\n",
                "HTTP/1.1 200",
            ),
            // Compressed bodies are not read.
            (
                format!("127.0.0.1:{port}"),
                "Content-Encoding: zstd\r\n",
                "HTTP/1.1 415",
            ),
        ]);
    for (host, extra, status) in cases {
        let answer = raw(
            port,
            &format!("GET /health HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
        );
        assert!(answer.starts_with(status), "{host}: {answer}");
        assert!(
            !answer.to_ascii_lowercase().contains("access-control"),
            "{answer}"
        );
    }
}

#[test]
fn bodies_over_64_mib_get_413_before_they_are_read() {
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let answer = raw(
        bridge.port,
        &format!(
            "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{{",
            (64 << 20) + 1
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 64 MiB"), "{answer}");
}

#[test]
fn a_client_that_stalls_mid_body_gets_408_after_the_idle_limit() {
    let sb = Sandbox::new();
    with_idle_300_ms(&sb);
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let started = Instant::now();
    // 100 bytes announced, 1 sent, the connection left open.
    let answer = raw(
        bridge.port,
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("nothing for 300 ms"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_body_that_is_not_a_responses_request_gets_400_and_no_upstream_request() {
    let gateway = Server::start(|_: &Request| reply(500, "{}"));
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post(&bridge, "{not json".into(), None);
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(gateway.requests().is_empty());
    let log = bridge.log();
    assert!(log.contains("-> 400 (not a Responses request)"), "{log}");
}

#[test]
fn a_gateway_cannot_serve_a_web_page_from_the_bridges_address() {
    // A page served from 127.0.0.1:PORT could script the bridge as its own
    // origin, so the model list always goes out as JSON, never sniffed.
    let gateway = Server::start(|_: &Request| Answer::Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<script>fetch('/v1/models')</script>".into(),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let answer = raw(
        bridge.port,
        &format!(
            "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            bridge.port
        ),
    );
    let head = answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{answer}");
    assert!(head.contains("content-type: application/json"), "{answer}");
    assert!(!head.contains("text/html"), "{answer}");
    assert!(head.contains("x-content-type-options: nosniff"), "{answer}");
}

#[test]
fn a_redirect_from_the_gateway_is_never_followed() {
    let elsewhere = Server::start(|_: &Request| reply(200, &models_body(&["m"])));
    let target = elsewhere.base_url();
    let gateway = Server::start(move |req: &Request| Answer::Reply {
        status: 307,
        headers: vec![("Location".into(), format!("{target}{}", &req.path[3..]))],
        body: String::new(),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("redirect (HTTP 307)"), "{body}");
    let mut models = agent()
        .get(bridge.url("/v1/models"))
        .header("Authorization", format!("Bearer {CANARY}"))
        .call()
        .expect("models");
    assert_eq!(models.status().as_u16(), 502);
    let listed = models.body_mut().read_to_string().unwrap_or_default();
    assert!(listed.contains("never follows one"), "{listed}");
    assert_eq!(gateway.requests().len(), 2);
    assert!(
        elsewhere.requests().is_empty(),
        "the key went to the redirect target"
    );
    assert_clean(&bridge, &[&body]);
}

#[test]
fn models_are_forwarded_with_the_callers_key_which_is_never_shown() {
    let gateway = Server::start(|req: &Request| match req.path.as_str() {
        "/v1/models"
            if req.headers.get("authorization").map(String::as_str)
                == Some(&format!("Bearer {CANARY}")) =>
        {
            reply(200, &models_body(&["openai/gpt-5.4-pro", "m2"]))
        }
        // A gateway that echoes the key it refused.
        _ => {
            let auth = req
                .headers
                .get("authorization")
                .cloned()
                .unwrap_or_default();
            reply(
                401,
                &format!(r#"{{"error":{{"message":"bad key {auth}"}}}}"#),
            )
        }
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let models = |key: &str| {
        let mut r = agent()
            .get(bridge.url("/v1/models"))
            .header("Authorization", format!("Bearer {key}"))
            .call()
            .expect("models");
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, body) = models(CANARY);
    assert_eq!(status, 200);
    assert!(body.contains("\"m2\""), "{body}");
    let (status, refused) = models(&format!("{CANARY}-old"));
    assert_eq!(status, 401);
    assert!(
        refused.contains("bad key Bearer sk-o\u{2026}-old"),
        "{refused}"
    );

    let seen = gateway.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/v1/models");
    assert_eq!(
        seen[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {CANARY}").as_str())
    );
    let log = bridge.log();
    assert!(log.contains("GET /v1/models -> 200"), "{log}");
    assert!(log.contains("GET /v1/models -> 401"), "{log}");
    assert_clean(&bridge, &[&body, &refused]);
}

#[test]
fn a_text_stream_is_translated_and_logged_without_content() {
    let gateway = Server::start(|req: &Request| match req.path.as_str() {
        "/v1/chat/completions" => Answer::Stream {
            chunks: chat_chunks(3),
            delay: Duration::ZERO,
        },
        _ => reply(404, "{}"),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("response.created"), "{body}");
    assert!(body.contains("response.completed"), "{body}");
    let seen = gateway.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {CANARY}").as_str())
    );
    let chat: serde_json::Value = serde_json::from_str(&seen[0].body).expect("chat JSON");
    assert_eq!(chat["model"], "openai/gpt-5.4-pro");
    let log = bridge.log();
    let line = log
        .lines()
        .find(|l| l.contains("POST /v1/responses"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains("model=openai/gpt-5.4-pro"), "{line}");
    assert!(
        line.contains("items=2") && line.contains("tools=1"),
        "{line}"
    );
    assert!(line.contains("200 completed"), "{line}");
    assert!(line.contains("in=11 out=7 total=18"), "{line}");
    // Never the content.
    assert!(!log.contains("be brief") && !log.contains("Hello"), "{log}");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn a_key_the_gateway_echoes_with_status_200_never_reaches_codex() {
    // An error object inside a 200 stream, a chunk that is not JSON, and a
    // 200 `stream: false` answer holding an error: each repeats the key.
    let gateway = Server::start(|req: &Request| {
        let chat: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        let said = |text: &str| req.body.contains(text);
        let echo = format!("invalid api key {CANARY}");
        if chat["stream"] == false {
            let body = serde_json::json!({"error": {"message": echo}}).to_string();
            return reply(200, &body);
        }
        let chunk = if said("\"broken\"") {
            format!("<html>{echo}</html>")
        } else {
            serde_json::json!({"error": {"message": echo, "code": "invalid_api_key"}}).to_string()
        };
        Answer::Stream {
            chunks: vec![chunk],
            delay: Duration::ZERO,
        }
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (_, in_stream) = post_responses(&bridge);
    assert!(in_stream.contains("response.failed"), "{in_stream}");
    assert!(
        in_stream.contains("invalid api key sk-o\u{2026}7b3d"),
        "{in_stream}"
    );
    let broken = responses_request().replace("\"hi\"", "\"broken\"");
    let (_, not_json) = post(&bridge, broken, Some(CANARY));
    assert!(not_json.contains("malformed"), "{not_json}");
    let whole = responses_request().replace("\"stream\":true", "\"stream\":false");
    let (_, complete) = post(&bridge, whole, Some(CANARY));
    assert!(complete.contains("invalid api key"), "{complete}");
    assert_clean(&bridge, &[&in_stream, &not_json, &complete]);
}

#[test]
fn a_gateway_that_ignores_stream_true_still_gets_its_answer_through() {
    // Asked for a stream, it answers one JSON completion.
    let gateway = Server::start(|_: &Request| {
        reply(
            200,
            &serde_json::to_string_pretty(&serde_json::json!({
                "id": "c1", "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
            }))
            .unwrap(),
        )
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("event: response.created"), "{body}");
    assert!(body.contains("\"delta\":\"Hello\""), "{body}");
    assert!(body.contains("event: response.completed"), "{body}");
    assert!(body.contains("\"total_tokens\":4"), "{body}");
    let log = bridge.log();
    assert!(log.contains("one JSON completion for a stream"), "{log}");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn stream_false_gets_a_response_object() {
    let gateway = Server::start(|req: &Request| {
        let chat: serde_json::Value = serde_json::from_str(&req.body).unwrap_or_default();
        match chat["stream"].as_bool() {
            Some(true) => reply(500, "{}"),
            _ => reply(
                200,
                &serde_json::json!({
                    "id": "c1", "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
                })
                .to_string(),
            ),
        }
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let request = responses_request().replace("\"stream\":true", "\"stream\":false");
    let (status, text) = post(&bridge, request, None);
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&text).expect("a JSON Response");
    assert_eq!(v["status"], "completed", "{v}");
    assert!(text.contains("Hello"), "{v}");
    let log = bridge.log();
    assert!(log.contains("stream=false -> 200 (upstream 200)"), "{log}");
}

#[test]
fn the_log_masks_the_key_and_escapes_control_characters_whatever_the_client_sends() {
    let sb = Sandbox::new();
    let (_gateway, bridge) = hello_bridge(&sb, &[]);
    let model = format!("x/{CANARY}\u{1b}[2J");
    let mut body: serde_json::Value = serde_json::from_str(&responses_request()).unwrap();
    body["model"] = serde_json::json!(model);
    let (status, _) = post(&bridge, body.to_string(), None);
    assert_eq!(status, 200);
    let log = bridge.log();
    assert!(log.contains("POST /v1/responses model=x/"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
    assert_clean(&bridge, &[]);
}

#[test]
fn a_rejected_key_comes_back_at_once_in_the_form_codex_shows() {
    let gateway = Server::start(|_: &Request| {
        reply(
            401,
            &format!(r#"{{"error":{{"message":"Invalid API key {CANARY}"}}}}"#),
        )
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post_responses(&bridge);
    // Codex shows a 400's message at once; a 401 it retries for minutes.
    assert_eq!(status, 400, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("Invalid API key"), "{message}");
    assert!(message.contains("OMINIGATE_API_KEY"), "{message}");
    let log = bridge.log();
    assert!(log.contains("(upstream 401)"), "{log}");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn a_silent_gateway_is_given_up_after_stream_idle_timeout_ms() {
    let gateway = Server::start(|req: &Request| match req.body.contains("\"hang\"") {
        // No answer at all.
        true => Answer::Hang,
        // Headers, then nothing for 2 s.
        false => Answer::Stream {
            chunks: chat_chunks(1),
            delay: Duration::from_secs(2),
        },
    });
    let sb = Sandbox::new();
    with_idle_300_ms(&sb);
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let started = Instant::now();
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("response.completed"), "{body}");
    // Codex shows the failure while it reconnects: the cause, not a guess.
    assert!(body.contains("response.failed"), "{body}");
    assert!(
        body.contains("no data for 300 ms (stream_idle_timeout_ms)"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    let hang = responses_request().replace("\"hi\"", "\"hang\"");
    let (status, body) = post(&bridge, hang, None);
    assert_eq!(status, 502);
    assert!(body.contains("no answer within 300 ms"), "{body}");
    assert!(body.contains(&gateway.base_url()), "{body}");
    let log = bridge.log();
    assert!(
        log.contains("no data for 300 ms (stream_idle_timeout_ms)"),
        "{log}"
    );
    assert!(log.contains("502 (no answer from the gateway)"), "{log}");
}

#[test]
fn codex_going_away_cancels_the_upstream_request() {
    // 200 pieces, one every 50 ms: 10 s unless the bridge lets go.
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(200),
        delay: Duration::from_millis(50),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let body = responses_request();
    let mut s = TcpStream::connect(("127.0.0.1", bridge.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CANARY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut first = [0u8; 512];
    let n = s.read(&mut first).expect("the stream starts");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let left = Instant::now();
    drop(s);
    while gateway.broken_streams() == 0 && left.elapsed() < Duration::from_secs(8) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        gateway.broken_streams(),
        1,
        "the upstream stream was not cut"
    );
    assert!(
        left.elapsed() < Duration::from_secs(3),
        "{:?}",
        left.elapsed()
    );
    let log = bridge.log_once("cancelled (client left)");
    assert!(log.contains("cancelled (client left)"), "{log}");
}

#[test]
fn the_answer_ends_when_the_gateway_finished_even_if_its_connection_stays_open() {
    // `[DONE]`, then keep-alive chunks for 10 s on a connection that stays
    // open: the answer must end with the `[DONE]`, and the upstream be let go.
    let gateway = keep_alive_gateway(chat_chunks(1));
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body, took) = timed_post(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("response.completed"), "{body}");
    assert!(
        took < Duration::from_secs(4),
        "the answer stayed open {took:?} after the gateway finished"
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while gateway.broken_streams() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(gateway.broken_streams(), 1, "the upstream was not let go");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn keep_alives_after_finish_reason_do_not_hold_the_answer() {
    // `finish_reason`, then neither usage nor `[DONE]`: chunks without
    // content every 50 ms for 10 s. The answer ends 2 s after the finish.
    let mut chunks = chat_chunks(1);
    chunks.truncate(chunks.len() - 2);
    let gateway = keep_alive_gateway(chunks);
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body, took) = timed_post(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("response.completed"), "{body}");
    assert!(body.contains("\"Hel\""), "{body}");
    assert!(
        took < Duration::from_secs(5),
        "the answer stayed open {took:?} after finish_reason"
    );
    assert_clean(&bridge, &[&body]);
}

#[test]
fn a_bug_in_a_worker_ends_that_answer_in_failed_and_the_bridge_goes_on() {
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(3),
        delay: Duration::from_millis(30),
    });
    let sb = Sandbox::new();
    let env = [("OMINIGATE_CODEX_FAILPOINT", "bridge-panic")];
    let bridge = Bridge::start_with_env(&sb, &gateway.base_url(), &[], &env);
    for _ in 0..2 {
        let (status, body) = post_responses(&bridge);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("response.created"), "{body}");
        assert!(body.contains("response.failed"), "{body}");
        assert!(body.contains("internal error"), "{body}");
        assert!(!body.contains("response.completed"), "{body}");
        assert_clean(&bridge, &[&body]);
    }
    let health = agent().get(bridge.url("/health")).call().expect("health");
    assert_eq!(health.status().as_u16(), 200);
    let log = bridge.log();
    assert_eq!(log.matches("-> 200 internal error").count(), 2, "{log}");
}

#[test]
fn sixty_four_streams_at_once_all_complete() {
    const N: usize = 64;
    // The gateway holds every answer until all 64 requests are in at
    // once: a bridge that served fewer at a time would never get there.
    let arrived = Arc::new(AtomicUsize::new(0));
    let seen = arrived.clone();
    let gateway = Server::start(move |_: &Request| {
        seen.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.load(Ordering::SeqCst) < N && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        Answer::Stream {
            chunks: chat_chunks(20),
            delay: Duration::from_millis(5),
        }
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &["-q"]);
    let bridge = &bridge;
    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N).map(|_| s.spawn(|| post_responses(bridge))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(arrived.load(Ordering::SeqCst), N);
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(body.contains("response.completed"), "{body}");
    }
    // -q: no request log.
    assert_eq!(bridge.log(), "");
}

#[test]
fn sigterm_lets_a_running_stream_finish_then_exits_0() {
    let sb = Sandbox::new();
    // 40 pieces, 50 ms apart: about 2 s, within the 5 s of grace.
    let (_gateway, mut bridge, streaming) = streaming(&sb, 40);
    let port = bridge.port;
    assert_eq!(bridge.stop_with("-TERM"), Some(0));
    let body = streaming.join().unwrap();
    assert!(body.contains("response.completed"), "{body}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still accepting after SIGTERM"
    );
    let mut rest = String::new();
    let _ = bridge.stdout.read_to_string(&mut rest);
    assert_eq!(rest, "", "only the address goes to stdout");
}

#[test]
fn sigint_stops_an_idle_bridge_with_0() {
    let sb = Sandbox::new();
    let mut bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    assert_eq!(bridge.stop_with("-INT"), Some(0));
}

#[test]
fn print_service_names_this_binary_and_the_address() {
    let sb = Sandbox::new();
    let out = sb.exec(&["bridge", "--print-service", "systemd"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("[Service]\nExecStart=\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("\"bridge\" \"--listen\" \"127.0.0.1:8741\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("systemctl --user enable --now"),
        "{}",
        out.stdout
    );
    // The command in its comment prints this unit again, for this Codex
    // home (it printed one for ~/.codex).
    assert!(
        out.stdout.contains(&format!(
            "#   {} bridge --listen 127.0.0.1:8741 --print-service systemd > ~/.config/systemd/user/ominigate-codex-bridge.service\n",
            sb.me()
        )),
        "{}",
        out.stdout
    );
    let out = sb.exec(
        &[
            "bridge",
            "--print-service",
            "launchd",
            "--listen",
            "127.0.0.1:9000",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("<?xml"), "{}", out.stdout);
    assert!(
        out.stdout.contains("<string>127.0.0.1:9000</string>"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("launchctl bootstrap"), "{}", out.stdout);
}

/// A fake `codex` that records its arguments and CODEX_HOME, asks the
/// bridge named in `-c …base_url=` for /health (bash's /dev/tcp), and exits
/// with `exit`.
fn fake_codex(sb: &Sandbox, version: &str, exit: i32) -> std::path::PathBuf {
    let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    fake_codex_sending(sb, version, exit, health)
}

/// [`fake_codex`] sending `request` to the bridge instead; the first line
/// of the answer goes to its log, the whole answer to `codex-answer`.
fn fake_codex_sending(sb: &Sandbox, version: &str, exit: i32, request: &str) -> std::path::PathBuf {
    let path = sb.dir.path().join("bin/codex");
    let log = sb.dir.path().join("codex-log");
    let sent = sb.dir.path().join("codex-request");
    let answer = sb.dir.path().join("codex-answer");
    std::fs::write(&sent, request).expect("write the request");
    let script = format!(
        r#"#!/bin/bash
if [ "$1" = --version ]; then echo 'codex-cli {version}'; exit 0; fi
{{
  echo "CODEX_HOME=$CODEX_HOME"
  for a in "$@"; do echo "ARG=$a"; done
  port=$(printf '%s\n' "$@" | sed -n 's#^model_providers.ominigate.base_url="http://127.0.0.1:\([0-9]*\)/v1"$#\1#p')
  if [ -n "$port" ]; then
    echo "PORT=$port"
    exec 3<>/dev/tcp/127.0.0.1/$port
    cat '{sent}' >&3
    timeout 10 cat <&3 > '{answer}'
    head -1 '{answer}'
  fi
}} > '{log}' 2>&1
exit {exit}
"#,
        log = log.display(),
        sent = sent.display(),
        answer = answer.display(),
    );
    std::fs::write(&path, script).expect("write fake codex");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn installed(sb: &Sandbox) {
    sb.write_config(
        "[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://gw.example/v1\"\nenv_key = \"OMINIGATE_API_KEY\"\nwire_api = \"responses\"\n",
    );
    std::fs::write(
        sb.profile_file(),
        "model = \"openai/gpt-5.4-pro\"\nmodel_provider = \"ominigate\"\n",
    )
    .expect("profile");
}

/// The fake codex needs these tools besides itself.
fn with_tools(sb: &Sandbox) {
    for tool in ["bash", "sed", "head", "cat", "timeout", "sleep", "touch"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| std::path::Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        let _ = std::os::unix::fs::symlink(found, sb.dir.path().join("bin").join(tool));
    }
}

#[test]
fn codex_runs_through_a_live_private_bridge_and_exits_with_its_status() {
    let sb = Sandbox::new();
    installed(&sb);
    with_tools(&sb);
    fake_codex(&sb, "0.171.0", 7);
    let out = sb.exec(&["codex", "exec", "--model", "m", "hi there"], &[]);
    assert_eq!(out.code, 7, "{out:?}");
    let log = std::fs::read_to_string(sb.dir.path().join("codex-log")).expect("codex ran");
    let args: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("ARG=")).collect();
    // After `exec`: Codex 0.133 drops a `-c` given before it when exec has one.
    assert_eq!(args[..4], ["exec", "--profile", "ominigate", "-c"], "{log}");
    assert!(
        args[4].starts_with("model_providers.ominigate.base_url=\"http://127.0.0.1:"),
        "{log}"
    );
    assert_eq!(args[5..], ["--model", "m", "hi there"], "{log}");
    assert!(
        log.contains(&format!("CODEX_HOME={}", sb.codex_home().display())),
        "{log}"
    );
    assert!(
        log.contains("HTTP/1.1 200"),
        "the bridge did not answer: {log}"
    );
    // Stopped with Codex.
    let port: u16 = log
        .lines()
        .find_map(|l| l.strip_prefix("PORT="))
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());

    fake_codex(&sb, "0.171.0", 0);
    assert_eq!(sb.exec(&["codex"], &[]).code, 0);
}

#[test]
fn a_bridge_bug_under_codex_ends_the_answer_in_failed_without_writing_on_codexs_screen() {
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(3),
        delay: Duration::from_millis(20),
    });
    let sb = Sandbox::new();
    installed(&sb);
    let config = String::from_utf8(sb.read_config()).expect("utf-8");
    sb.write_config(config.replace("https://gw.example/v1", &gateway.base_url()));
    with_tools(&sb);
    let body = responses_request();
    let request = format!(
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CANARY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    fake_codex_sending(&sb, "0.171.0", 0, &request);
    let out = sb.exec(
        &["codex", "exec", "hi"],
        &[("OMINIGATE_CODEX_FAILPOINT", Some("bridge-panic"))],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let answer = std::fs::read_to_string(sb.dir.path().join("codex-answer")).expect("answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("bridge_internal_error"), "{answer}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(!out.stderr.contains("failpoint"), "{}", out.stderr);
    for text in [&out.stdout, &out.stderr, &answer] {
        assert_no_canary_in_text(text);
    }
}

#[test]
fn codex_0_94_runs_directly_with_the_profile_after_exec() {
    let sb = Sandbox::new();
    installed(&sb);
    with_tools(&sb);
    fake_codex(&sb, "0.94.0", 3);
    let out = sb.exec(&["codex", "exec", "hi"], &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("Codex 0.94.0 speaks chat completions itself"),
        "{out:?}"
    );
    assert_eq!(out.stdout, "", "stdout is Codex's");
    let log = std::fs::read_to_string(sb.dir.path().join("codex-log")).expect("codex ran");
    let args: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("ARG=")).collect();
    assert_eq!(args, ["exec", "--profile", "ominigate", "hi"], "{log}");
}

#[test]
fn codex_without_codex_or_without_install_says_what_to_do() {
    let sb = Sandbox::new();
    let out = sb.exec(&["codex", "exec", "hi"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("no `codex` found on PATH"), "{out:?}");
    with_tools(&sb);
    fake_codex(&sb, "0.171.0", 0);
    let out = sb.exec(&["codex", "exec", "hi"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!("`{} install`", sb.me())),
        "{out:?}"
    );
    assert!(!sb.dir.path().join("codex-log").exists());
}

/// A fake `codex` that waits for a signal and exits with 40 + its number
/// (SIGINT: 42, SIGTERM: 55), after writing `ready` once its traps are set.
fn signalled_codex(sb: &Sandbox) {
    let path = sb.dir.path().join("bin/codex");
    let ready = sb.dir.path().join("ready");
    let script = format!(
        "#!/bin/bash\n\
         if [ \"$1\" = --version ]; then echo 'codex-cli 0.171.0'; exit 0; fi\n\
         trap 'exit 42' INT\n\
         trap 'exit 55' TERM\n\
         touch '{ready}'\n\
         sleep 20 &\n\
         wait $!\n\
         exit 1\n",
        ready = ready.display()
    );
    std::fs::write(&path, script).expect("write fake codex");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Run `codex` in a process group of its own, wait until the fake Codex is
/// ready, send `signal` to `target` (`-PGID`: the whole group, as a
/// terminal's Ctrl-C does; `PID`: this process only), return the exit code.
fn codex_signalled(signal: &str, whole_group: bool) -> Option<i32> {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    installed(&sb);
    with_tools(&sb);
    signalled_codex(&sb);
    let mut child = sb
        .std_cmd()
        .args(["codex", "exec", "hi"])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sb.dir.path().join("ready").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = child.id().to_string();
    let target = if whole_group { format!("-{pid}") } else { pid };
    let sent = std::process::Command::new("kill")
        .args([signal, "--", &target])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("`codex` did not exit within 20 s of {signal}");
}

#[test]
fn ctrl_c_is_codexs_to_handle_and_its_status_comes_back() {
    // Ctrl-C reaches the whole foreground group: Codex decides (here it
    // exits 42); ominigate-codex must not die of it first.
    assert_eq!(codex_signalled("-INT", true), Some(42));
}

#[test]
fn sigterm_to_ominigate_codex_is_passed_on_to_codex() {
    assert_eq!(codex_signalled("-TERM", false), Some(55));
}

/// A raw client that sends a streamed Responses request and reads until
/// `until` shows in what came back (at most 10 s); the socket, still open.
fn raw_stream_until(port: u16, until: &str) -> TcpStream {
    let body = responses_request();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CANARY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(until) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => panic!("no {until:?} in {}", String::from_utf8_lossy(&seen)),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    s
}

fn one_delta() -> Vec<String> {
    let delta = serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": null}]});
    vec![format!("data: {delta}\n\n")]
}

#[test]
fn a_client_that_leaves_mid_stream_frees_the_upstream_whatever_the_gateway_sends() {
    use crate::harness::bad_gateway::{BadGateway, Script};
    let role = serde_json::json!({"choices": [{"index": 0, "delta": {"role": "assistant"}}]});
    let usage = serde_json::json!({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
    // Each of these translates to nothing: the bridge has nothing to write
    // to the client, and must still notice that it left.
    for filler in [
        ": keep-alive\n\n".to_string(),
        "data:\n\n".to_string(),
        format!("data: {role}\n\n"),
        format!("data: {usage}\n\n"),
    ] {
        let gateway = BadGateway::start(Script {
            headers: true,
            opening: one_delta(),
            filler: filler.clone(),
            every: Duration::from_millis(50),
        });
        let sb = Sandbox::new();
        let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
        let client = raw_stream_until(bridge.port, "\"Hel\"");
        assert_eq!(gateway.open(), 1);
        drop(client);
        // Within 1 s by design; 5 s here for a loaded machine, against the
        // 300 s idle limit the gateway's filler keeps from firing.
        let freed = gateway.wait_for(Duration::from_secs(5), |g| g.open() == 0);
        assert!(freed, "{filler:?}: the upstream stayed open");
        let log = bridge.log_once("cancelled (client left)");
        assert!(log.contains("cancelled (client left)"), "{log}");
        assert_clean(&bridge, &[]);
    }
}

#[test]
fn a_client_that_leaves_before_the_gateways_headers_frees_the_upstream() {
    use crate::harness::bad_gateway::{BadGateway, Script};
    let gateway = BadGateway::start(Script {
        headers: false,
        opening: Vec::new(),
        filler: String::new(),
        every: Duration::from_secs(1),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let body = responses_request();
    let mut s = TcpStream::connect(("127.0.0.1", bridge.port)).expect("connect");
    write!(
        s,
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    assert!(gateway.wait_for(Duration::from_secs(10), |g| g.requests() == 1));
    drop(s);
    let freed = gateway.wait_for(Duration::from_secs(5), |g| g.open() == 0);
    assert!(freed, "the upstream request outlived its client");
    let log = bridge.log_once("-> cancelled (client left)");
    assert!(log.contains("-> cancelled (client left)"), "{log}");
}

#[test]
fn the_257th_concurrent_stream_is_answered() {
    use crate::harness::bad_gateway::{BadGateway, Script};
    const N: usize = 257;
    let gateway = BadGateway::start(Script {
        headers: true,
        opening: one_delta(),
        filler: ": keep-alive\n\n".to_string(),
        every: Duration::from_millis(500),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &["-q"]);
    // Each stream is open (its first delta read) before the next starts;
    // the 257th must get its delta too, not wait for a free thread.
    let clients: Vec<TcpStream> = (0..N)
        .map(|_| raw_stream_until(bridge.port, "\"Hel\""))
        .collect();
    assert_eq!(gateway.open(), N);
    let models = agent()
        .get(bridge.url("/v1/models"))
        .call()
        .expect("models");
    assert_eq!(models.status().as_u16(), 200);
    drop(clients);
    assert!(gateway.wait_for(Duration::from_secs(10), |g| g.open() <= 1));
}

/// `text` with every character JSON-escaped (`\u0073\u006b…`).
fn json_escaped(text: &str) -> String {
    text.chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect()
}

/// `body` as its reader sees it: a JSON body decoded (escapes resolved).
fn decoded(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .map_or_else(|_| body.to_string(), |v| v.to_string())
}

#[test]
fn a_key_the_gateway_echoes_json_escaped_is_masked_once_decoded() {
    let escaped = json_escaped(CANARY);
    let echo = escaped.clone();
    let gateway = Server::start(move |req: &Request| match req.path.as_str() {
        "/v1/models" => reply(
            200,
            &format!(r#"{{"object":"list","data":[{{"id":"m {echo}","object":"model"}}]}}"#),
        ),
        _ if req.body.contains("\"bad\"") => reply(
            400,
            &format!(r#"{{"error":{{"message":"bad request from {echo}"}}}}"#),
        ),
        _ => reply(
            401,
            &format!(r#"{{"error":{{"message":"Invalid API key {echo}"}}}}"#),
        ),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, refused) = post_responses(&bridge);
    assert_eq!(status, 400, "{refused}");
    assert!(decoded(&refused).contains("Invalid API key"), "{refused}");
    let bad = responses_request().replace("\"hi\"", "\"bad\"");
    let (status, bad) = post(&bridge, bad, Some(CANARY));
    assert_eq!(status, 400, "{bad}");
    assert!(decoded(&bad).contains("bad request from"), "{bad}");
    let mut r = agent()
        .get(bridge.url("/v1/models"))
        .header("Authorization", format!("Bearer {CANARY}"))
        .call()
        .expect("models");
    let models = r.body_mut().read_to_string().unwrap();
    assert!(decoded(&models).contains("\"m "), "{models}");
    for body in [&refused, &bad, &models] {
        assert!(!body.contains(&escaped), "{body}");
        assert_no_canary_in_text(&decoded(body));
    }
    assert_clean(&bridge, &[&refused, &bad, &models]);
}

#[test]
fn stream_false_answered_with_a_stream_still_gets_a_response_object() {
    // Issue 21: doctor's `stream: false` probe through the bridge, to a
    // gateway that always streams, blamed the gateway (502, not JSON).
    let sse: String = chat_chunks(2)
        .iter()
        .map(|c| format!("data: {c}\n\n"))
        .collect();
    let failing = format!(
        "data: {}\n\ndata: {}\n\n",
        chat_chunks(1)[0],
        serde_json::json!({"error": {"message": "the model fell over", "code": "server_error"}})
    );
    let gateway = Server::start(move |req: &Request| Answer::Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/event-stream".into())],
        body: match req.body.contains("\"fail\"") {
            true => failing.clone(),
            false => sse.clone(),
        },
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let request = responses_request().replace("\"stream\":true", "\"stream\":false");
    let (status, text) = post(&bridge, request.clone(), Some(CANARY));
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("a JSON Response");
    assert_eq!(v["object"], "response", "{v}");
    assert_eq!(v["status"], "completed", "{v}");
    assert_eq!(v["output"][0]["content"][0]["text"], "Hello", "{v}");
    assert_eq!(v["usage"]["total_tokens"], 18, "{v}");
    let log = bridge.log();
    assert!(
        log.contains("stream=false -> 200 (upstream 200, a stream for stream: false)"),
        "{log}"
    );

    let (status, failed) = post(&bridge, request.replace("\"hi\"", "\"fail\""), Some(CANARY));
    assert_eq!(status, 502, "{failed}");
    assert!(failed.contains("the model fell over"), "{failed}");
    assert_clean(&bridge, &[&text, &failed]);
}

/// A listener on 127.0.0.1 that answers whatever comes with `answer` and
/// closes, for `n` connections (or 30 s); its port.
fn raw_answerer(answer: &'static [u8], n: usize) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < n && Instant::now() < deadline {
            let Ok((mut s, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            served += 1;
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer);
        }
    });
    port
}

#[test]
fn the_gateways_failures_are_named_for_what_they_are() {
    let sb = Sandbox::new();
    // Through a bridge to `upstream`, a 502 that says `said` (not
    // `not_said`), logged with `why`.
    let named = |upstream: String, said: &str, not_said: &str, why: &str| {
        let bridge = Bridge::start(&sb, &upstream, &[]);
        let (status, body) = post_responses(&bridge);
        assert_eq!(status, 502, "{body}");
        assert!(body.contains(said) && !body.contains(not_said), "{body}");
        let log = bridge.log();
        assert!(log.contains(&format!("502 ({why})")), "{log}");
    };
    // An https URL on a port that speaks plain HTTP.
    let plain = raw_answerer(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 1);
    let upstream = format!("https://127.0.0.1:{plain}/v1");
    named(
        upstream,
        "TLS handshake",
        "no answer within",
        "TLS handshake with the gateway failed",
    );
    // Something that is not HTTP at all.
    let ssh = raw_answerer(b"SSH-2.0-OpenSSH_9.6\r\n", 1);
    let upstream = format!("http://127.0.0.1:{ssh}/v1");
    named(
        upstream,
        "not HTTP/1.1",
        "could not reach",
        "the gateway's answer is not HTTP",
    );

    // A stream the gateway ends with its own error.
    let mut chunks = chat_chunks(1);
    chunks.truncate(1);
    chunks.push(r#"{"error":{"message":"overloaded","code":"server_error"}}"#.to_string());
    let gateway = Server::start(move |_: &Request| Answer::Stream {
        chunks: chunks.clone(),
        delay: Duration::from_millis(1),
    });
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("response.failed"), "{body}");
    let log = bridge.log();
    assert!(log.contains("-> 200 ended in response.failed"), "{log}");
    assert!(!log.contains("without finishing"), "{log}");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn a_bad_upstream_is_named_by_the_flag_that_gave_it() {
    let sb = Sandbox::new();
    let out = sb.exec(&["bridge", "--upstream", "ftp://gw.example/v1"], &[]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--upstream: "), "{out:?}");
    assert!(!out.stderr.contains("--base-url"), "{out:?}");
}

#[test]
fn models_passes_on_only_real_final_statuses() {
    for (upstream, expected) in [
        (101, 502),
        (999, 502),
        (600, 502),
        (204, 502),
        (200, 200),
        (404, 404),
        (503, 503),
    ] {
        let gateway = Server::start(move |_: &Request| reply(upstream, r#"{"data":[]}"#));
        let sb = Sandbox::new();
        let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
        let r = agent()
            .get(bridge.url("/v1/models"))
            .call()
            .expect("models");
        assert_eq!(r.status().as_u16(), expected, "upstream {upstream}");
    }
}

#[test]
fn host_and_origin_are_parsed_strictly() {
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let port = bridge.port;
    let get = |target: &str, headers: &str| {
        raw(
            port,
            &format!("GET {target} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n"),
        )
    };
    let host = format!("Host: 127.0.0.1:{port}\r\n");
    let cases = [
        // RFC 9112 §3.2: a request with more than one Host is a 400.
        ("/health", format!("{host}Host: evil.example\r\n"), "400"),
        ("/health", format!("{host}{host}"), "400"),
        // An absolute-form target names the host; it must be this one.
        ("http://evil.example/health", host.clone(), "403"),
        ("http://evil.example:80/health", host.clone(), "403"),
        ("ftp://127.0.0.1/health", host.clone(), "403"),
        (
            &*format!("http://127.0.0.1:{port}/health"),
            host.clone(),
            "200",
        ),
        // The port is digits, nothing else.
        ("/health", "Host: localhost:evil.com\r\n".into(), "403"),
        ("/health", "Host: 127.0.0.1:80@evil.com\r\n".into(), "403"),
        ("/health", "Host: 127.0.0.1:\r\n".into(), "403"),
        ("/health", "Host: [::1]:8x\r\n".into(), "403"),
        ("/health", "Host: 127.0.0.1:99999\r\n".into(), "403"),
        // An Origin is http or https, a loopback authority, and one only.
        (
            "/health",
            format!("{host}Origin: vscode-webview://localhost\r\n"),
            "403",
        ),
        (
            "/health",
            format!("{host}Origin: file://localhost\r\n"),
            "403",
        ),
        (
            "/health",
            format!("{host}Origin: http://localhost:evil.com\r\n"),
            "403",
        ),
        (
            "/health",
            format!("{host}Origin: http://localhost/x\r\n"),
            "403",
        ),
        (
            "/health",
            format!("{host}Origin: http://localhost:3000\r\nOrigin: http://evil.example\r\n"),
            "403",
        ),
        (
            "/health",
            format!("{host}Origin: https://127.0.0.1:3000\r\n"),
            "200",
        ),
        ("/health", format!("{host}Origin: HTTP://[::1]\r\n"), "200"),
    ];
    for (target, headers, status) in cases {
        let answer = get(target, &headers);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{target} {headers:?}: {answer}"
        );
    }
}

#[test]
fn the_log_masks_the_callers_own_key_and_keeps_one_line_per_request() {
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(1),
        delay: Duration::ZERO,
    });
    let sb = Sandbox::new();
    // -v logs what was not translated: tool names from the body.
    let bridge = Bridge::start(&sb, &gateway.base_url(), &["-v"]);
    // Not the bridge's own variable: only Authorization tells the key.
    let key = "sk-caller-7d1e99a04b2c58f3";
    let mut body: serde_json::Value = serde_json::from_str(&responses_request()).unwrap();
    body["model"] = serde_json::json!(format!("m/{key}"));
    body["tools"].as_array_mut().unwrap().push(
        serde_json::json!({"type": "local_shell", "name": format!("t{key}\nbridge: forged\t")}),
    );
    body["input"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"type": format!("x{key}\r\nbridge: forged")}));
    let (status, _) = post(&bridge, body.to_string(), Some(key));
    assert_eq!(status, 200);
    let log = bridge.log();
    assert!(log.contains("not translated"), "{log}");
    assert!(log.contains("model=m/"), "{log}");
    assert!(!log.contains(key), "{log}");
    assert!(!log.contains(&key[3..19]), "{log}");
    assert!(!log.contains("\nbridge: forged"), "{log}");
    assert!(log.lines().all(|l| l.starts_with("bridge: ")), "{log}");
    assert_clean(&bridge, &[]);
}

#[test]
fn a_body_trickled_faster_than_the_idle_limit_still_gets_408_at_the_body_deadline() {
    let sb = Sandbox::new();
    // 300 ms idle: the whole body must come within 3 s (10 × idle).
    with_idle_300_ms(&sb);
    let bridge = Bridge::start(&sb, "https://gw.example/v1", &[]);
    let mut s = TcpStream::connect(("127.0.0.1", bridge.port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n")
        .unwrap();
    // One byte every 100 ms (well within the idle limit), for up to 15 s.
    let mut writer = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..150 {
            if writer.write_all(b" ").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 3 s"), "{answer}");
    drop(s);
    trickle.join().unwrap();
}

#[test]
fn a_body_that_is_not_declared_json_gets_415_before_it_is_read() {
    // A page may POST text/plain (or a typeless Blob) without a preflight.
    let sb = Sandbox::new();
    let (gateway, bridge) = hello_bridge(&sb, &[]);
    let body = responses_request();
    let send = |content_type: &str| {
        raw(
            bridge.port,
            &format!(
                "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    };
    for refused in [
        "Content-Type: text/plain\r\n",
        "Content-Type: text/plain;charset=UTF-8\r\n",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        "Content-Type: multipart/form-data; boundary=x\r\n",
        "Content-Type: application/jsonx\r\n",
        "",
        "Content-Type: application/json\r\nContent-Type: text/plain\r\n",
    ] {
        let answer = send(refused);
        assert!(answer.starts_with("HTTP/1.1 415"), "{refused:?}: {answer}");
        assert!(answer.contains("application/json"), "{answer}");
    }
    assert!(gateway.requests().is_empty());
    for accepted in [
        "Content-Type: application/json\r\n",
        "Content-Type: Application/JSON; charset=utf-8\r\n",
    ] {
        let answer = send(accepted);
        assert!(answer.starts_with("HTTP/1.1 200"), "{accepted:?}: {answer}");
    }
}

#[test]
fn large_bodies_share_one_budget_and_the_one_that_does_not_fit_gets_503() {
    let sb = Sandbox::new();
    let (_gateway, bridge) = hello_bridge(&sb, &[]);
    let head = |len: usize| {
        format!(
            "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    // 64 MiB announced and held (of the 96 MiB budget), the body stalled.
    let mut holder = TcpStream::connect(("127.0.0.1", bridge.port)).expect("connect");
    holder.write_all(head(64 << 20).as_bytes()).unwrap();
    holder.write_all(b"{").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // 40 MiB more do not fit: refused (after the wait), in a form Codex retries.
    let answer = raw(bridge.port, &format!("{}{{", head(40 << 20)));
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("the bridge is busy"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    // A small request still fits.
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 200, "{body}");
    // When the holder leaves, its share comes back: 40 MiB now pass.
    drop(holder);
    let mut big: serde_json::Value = serde_json::from_str(&responses_request()).unwrap();
    big["instructions"] = serde_json::json!("x".repeat(40 << 20));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let (status, _) = post(&bridge, big.to_string(), Some(CANARY));
        if status != 503 || Instant::now() > deadline {
            break status;
        }
    };
    assert_eq!(status, 200);
    assert_clean(&bridge, &[]);
}

/// A bridge streaming an answer of `pieces` pieces, 50 ms apart, to a
/// client on another thread; returns when the gateway has the request.
fn streaming(sb: &Sandbox, pieces: usize) -> (Server, Bridge, std::thread::JoinHandle<String>) {
    let gateway = Server::start(move |_: &Request| Answer::Stream {
        chunks: chat_chunks(pieces),
        delay: Duration::from_millis(50),
    });
    let bridge = Bridge::start(sb, &gateway.base_url(), &[]);
    let streaming = std::thread::spawn({
        let url = bridge.url("/v1/responses");
        move || {
            let mut r = agent()
                .post(url)
                .header("Authorization", format!("Bearer {CANARY}"))
                .header("Content-Type", "application/json")
                .send(responses_request())
                .expect("request");
            r.body_mut().read_to_string().unwrap_or_default()
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while gateway.requests().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    (gateway, bridge, streaming)
}

/// The SSE event types in `body`, in order.
fn event_types(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .map(|v| v["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn sighup_is_a_graceful_stop_like_sigterm() {
    let sb = Sandbox::new();
    // 40 pieces, 50 ms apart: about 2 s, within the 5 s of grace.
    let (_gateway, mut bridge, streaming) = streaming(&sb, 40);
    assert_eq!(bridge.stop_with("-HUP"), Some(0));
    let body = streaming.join().unwrap();
    assert!(body.contains("response.completed"), "{body}");
    assert!(bridge.log().contains("SIGHUP"), "{}", bridge.log());
}

#[test]
fn a_stream_cut_when_the_grace_period_ends_gets_response_failed_and_a_log_line() {
    let sb = Sandbox::new();
    // 200 pieces: about 10 s, beyond the 5 s of grace.
    let (_gateway, mut bridge, streaming) = streaming(&sb, 200);
    assert_eq!(bridge.stop_with("-TERM"), Some(0));
    let body = streaming.join().unwrap();
    let types = event_types(&body);
    assert_eq!(
        types.last().map(String::as_str),
        Some("response.failed"),
        "{body}"
    );
    assert_eq!(types.iter().filter(|t| *t == "response.failed").count(), 1);
    assert!(!types.iter().any(|t| t == "response.completed"), "{body}");
    assert!(body.contains(r#""code":"bridge_stopped""#), "{body}");
    let log = bridge.log();
    assert!(log.contains("grace period over: 1 stream cut"), "{log}");
    assert!(log.contains("200 cut: the bridge stopped"), "{log}");
    assert_clean(&bridge, &[&body]);
}

#[test]
fn a_second_ctrl_c_stops_at_once_and_cuts_what_runs() {
    let sb = Sandbox::new();
    // 200 pieces: about 10 s, beyond the 5 s of grace.
    let (_gateway, mut bridge, streaming) = streaming(&sb, 200);
    let pid = bridge.child.id().to_string();
    let kill = |sig: &str| {
        let sent = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
    };
    kill("-INT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !bridge.log().contains("again to stop at once") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(bridge.stop_with("-INT"), Some(0));
    let body = streaming.join().unwrap();
    let types = event_types(&body);
    assert_eq!(
        types.last().map(String::as_str),
        Some("response.failed"),
        "{body}"
    );
    let log = bridge.log();
    assert!(log.contains("SIGINT again: stopping now"), "{log}");
    assert!(log.contains("1 stream cut"), "{log}");
}

#[test]
fn codex_gets_the_bridge_right_after_exec_even_after_top_level_options() {
    let sb = Sandbox::new();
    installed(&sb);
    with_tools(&sb);
    fake_codex(&sb, "0.171.0", 0);
    let out = sb.exec(&["codex", "--model", "m", "exec", "-c", "x=1", "hi"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let log = std::fs::read_to_string(sb.dir.path().join("codex-log")).expect("codex ran");
    let args: Vec<&str> = log.lines().filter_map(|l| l.strip_prefix("ARG=")).collect();
    // Before `exec`, Codex 0.133 drops it when exec has a -c of its own.
    assert_eq!(
        args[..6],
        ["--model", "m", "exec", "--profile", "ominigate", "-c"],
        "{log}"
    );
    assert!(
        args[6].starts_with("model_providers.ominigate.base_url=\"http://127.0.0.1:"),
        "{log}"
    );
    assert_eq!(args[7..], ["-c", "x=1", "hi"], "{log}");
}

#[test]
fn codex_refuses_a_users_own_base_url_that_would_bypass_the_bridge() {
    let sb = Sandbox::new();
    installed(&sb);
    with_tools(&sb);
    fake_codex(&sb, "0.171.0", 0);
    for flag in [
        &[
            "exec",
            "-c",
            "model_providers.ominigate.base_url=\"https://gw.example/v1\"",
            "hi",
        ][..],
        &[
            "--config=model_providers.ominigate={base_url=\"x\"}",
            "exec",
            "hi",
        ],
    ] {
        let mut argv = vec!["codex"];
        argv.extend_from_slice(flag);
        let out = sb.exec(&argv, &[]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("past the bridge"), "{out:?}");
        assert!(out.stderr.contains("drop that -c"), "{out:?}");
        assert!(
            !sb.dir.path().join("codex-log").exists(),
            "Codex ran: {out:?}"
        );
    }
}

#[test]
fn under_nohup_sighup_is_left_ignored() {
    use std::os::unix::process::CommandExt;
    let sb = Sandbox::new();
    let mut bridge = Bridge::start_with(&sb, "https://gw.example/v1", &[], |cmd| {
        // SAFETY: signal() is async-signal-safe; the closure allocates nothing.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
    });
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &bridge.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    std::thread::sleep(Duration::from_millis(300));
    let r = agent()
        .get(bridge.url("/health"))
        .call()
        .expect("still serving");
    assert_eq!(r.status().as_u16(), 200);
    assert!(!bridge.log().contains("SIGHUP"), "{}", bridge.log());
    assert_eq!(bridge.stop_with("-TERM"), Some(0));
}

#[test]
fn the_providers_headers_and_query_reach_the_gateway_and_codexs_own_do_not() {
    let gateway = Server::start(|req: &Request| match req.method.as_str() {
        "GET" => reply(200, &models_body(&["m"])),
        _ => Answer::Stream {
            chunks: chat_chunks(1),
            delay: Duration::from_millis(1),
        },
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    // As Codex sends them with `http_headers`, `env_http_headers` and
    // `query_params` set, plus what a browser or a proxy would add.
    let headers = [
        ("Authorization", format!("Bearer {CANARY}")),
        ("X-Team", "blue".to_string()),
        ("Api-Key", "azure-style".to_string()),
        ("OpenAI-Organization", "org-1".to_string()),
        ("Connection", "keep-alive, X-Hop".to_string()),
        ("X-Hop", "hop".to_string()),
        ("Keep-Alive", "timeout=5".to_string()),
        ("Cookie", "session=1".to_string()),
        ("Origin", "http://localhost:1".to_string()),
        ("Referer", "http://localhost:1/".to_string()),
        ("Sec-Fetch-Mode", "cors".to_string()),
        ("X-Forwarded-For", "10.0.0.1".to_string()),
        ("Accept-Encoding", "zstd, gzip".to_string()),
        ("User-Agent", "codex_cli_rs/0.171.0".to_string()),
        ("originator", "codex_exec".to_string()),
        ("session-id", "s-1".to_string()),
        ("session_id", "s-1".to_string()),
        ("thread-id", "t-1".to_string()),
        ("x-client-request-id", "r-1".to_string()),
        ("x-codex-turn-metadata", "{}".to_string()),
        ("x-codex-window-id", "w-1".to_string()),
        ("x-openai-subagent", "review".to_string()),
        ("version", "0.133.0".to_string()),
    ];
    let url = bridge.url("/v1/responses?api-version=2026-01&team=blue%20sky");
    let request = agent().post(url).header("Content-Type", "application/json");
    let mut r = with_headers(request, &headers)
        .send(responses_request())
        .expect("post");
    let body = r.body_mut().read_to_string().unwrap();
    assert!(body.contains("response.completed"), "{body}");
    let request = agent().get(bridge.url("/v1/models?client_version=0.171.0"));
    let mut r = with_headers(request, &headers).call().expect("models");
    let models = r.body_mut().read_to_string().unwrap();
    assert!(models.contains("\"m\""), "{models}");

    let seen = gateway.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].path,
        "/v1/chat/completions?api-version=2026-01&team=blue%20sky"
    );
    assert_eq!(seen[1].path, "/v1/models?client_version=0.171.0");
    for r in &seen {
        let h = &r.headers;
        let get = |name: &str| h.get(name).map(String::as_str);
        assert_eq!(get("authorization"), Some(&*format!("Bearer {CANARY}")));
        assert_eq!(get("x-team"), Some("blue"), "{h:?}");
        assert_eq!(get("api-key"), Some("azure-style"), "{h:?}");
        assert_eq!(get("openai-organization"), Some("org-1"), "{h:?}");
        assert!(
            get("user-agent").is_some_and(|ua| ua.starts_with("ominigate-codex/")),
            "{h:?}"
        );
        for name in [
            "x-hop",
            "keep-alive",
            "cookie",
            "origin",
            "referer",
            "sec-fetch-mode",
            "x-forwarded-for",
            "accept-encoding",
            "originator",
            "session-id",
            "session_id",
            "thread-id",
            "x-client-request-id",
            "x-codex-turn-metadata",
            "x-codex-window-id",
            "x-openai-subagent",
            "version",
        ] {
            assert_eq!(get(name), None, "{name} went on: {h:?}");
        }
    }
    assert_clean(&bridge, &[&body, &models]);
}

fn with_headers<B>(
    mut request: ureq::RequestBuilder<B>,
    headers: &[(&str, String)],
) -> ureq::RequestBuilder<B> {
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    request
}

/// A proxy on 127.0.0.1 for one connection: `converse` talks to the
/// bridge and returns what it got; the proxy refuses to go further, so
/// nothing leaves this machine. Its address, and the conversation.
fn fake_proxy(
    converse: fn(&mut TcpStream) -> Vec<u8>,
) -> (std::net::SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("a proxy request");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        converse(&mut s)
    });
    (addr, seen)
}

/// Through a bridge to `https://gw.example/v1` with `env`: a 502, and what
/// the proxy got (never the key: it goes through the tunnel only).
fn through_proxy(env: &[(&str, String)], proxy: std::thread::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let sb = Sandbox::new();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bridge = Bridge::start_with_env(&sb, "https://gw.example/v1", &[], &env);
    let (status, body) = post_responses(&bridge);
    assert_eq!(status, 502, "{body}");
    let got = proxy.join().expect("the proxy");
    assert_no_canary_in_text(&String::from_utf8_lossy(&got));
    assert_clean(&bridge, &[&body]);
    got
}

#[test]
fn a_gateway_elsewhere_is_reached_through_the_environments_proxy() {
    let (addr, proxy) = fake_proxy(|s| {
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        buf[..n].to_vec()
    });
    let env = [
        ("HTTPS_PROXY", format!("http://{addr}")),
        ("NO_PROXY", "localhost".to_string()),
    ];
    let got = String::from_utf8(through_proxy(&env, proxy)).unwrap();
    assert!(
        got.starts_with("CONNECT gw.example:443 HTTP/1.1\r\n"),
        "{got}"
    );
}

#[test]
fn a_socks5_proxy_from_the_environment_is_used_too() {
    let (addr, proxy) = fake_proxy(|s| {
        // Greeting: version 5, the methods; answer: no authentication.
        let mut greeting = [0u8; 2];
        let _ = s.read_exact(&mut greeting);
        let mut methods = vec![0u8; greeting[1] as usize];
        let _ = s.read_exact(&mut methods);
        let _ = s.write_all(&[5, 0]);
        // The request: CONNECT to a domain name; answer: general failure.
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap_or(0);
        let _ = s.write_all(&[5, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
        [&greeting[..], &buf[..n]].concat()
    });
    let got = through_proxy(&[("ALL_PROXY", format!("socks5h://{addr}"))], proxy);
    let mut request = vec![5, 1, 0, 3, 10];
    request.extend_from_slice(b"gw.example");
    request.extend_from_slice(&443u16.to_be_bytes());
    assert_eq!(got[0], 5, "{got:?}");
    assert!(got.ends_with(&request), "{got:?}");
}

#[test]
fn hostile_streams_end_in_exactly_one_terminal_event_without_the_key() {
    let key = json_escaped(CANARY);
    let delta = |text: &str| {
        format!(
            "data: {}\n\n",
            serde_json::json!({"choices": [{"index": 0, "delta": {"content": text}}]})
        )
    };
    let stop = "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    let streams: Vec<String> = vec![
        // Comments, empty data lines, CRLF, a line split in two reads'
        // worth, then a proper end.
        format!(
            ": hi\r\n\r\ndata:\n\n{}{}{stop}data: [DONE]\n\n",
            delta("a"),
            delta("b")
        ),
        // A giant tool-call index, then the end.
        format!(
            "{}data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":18446744073709551615,\"id\":\"c\",\"function\":{{\"name\":\"exec_command\",\"arguments\":\"{{}}\"}}}}]}}}}]}}\n\n{stop}data: [DONE]\n\n",
            delta("x")
        ),
        // The gateway's error in the stream, echoing the key escaped.
        format!(
            "{}data: {{\"error\":{{\"message\":\"bad key {key}\"}}}}\n\n",
            delta("y")
        ),
        // Cut in the middle of an event.
        format!("{}data: {{\"choices\":[{{\"ind", delta("z")),
        // Not an event stream at all.
        "<html>nope</html>".to_string(),
    ];
    let bodies = streams.clone();
    let next = Arc::new(AtomicUsize::new(0));
    let gateway = Server::start(move |_: &Request| Answer::Reply {
        status: 200,
        headers: vec![("Content-Type".into(), "text/event-stream".into())],
        body: bodies[next.fetch_add(1, Ordering::SeqCst) % bodies.len()].clone(),
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    for stream in &streams {
        let (status, body) = post_responses(&bridge);
        assert_eq!(status, 200, "{stream:?}: {body}");
        let events: Vec<serde_json::Value> = body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).expect("each event is JSON"))
            .collect();
        let terminal = events
            .iter()
            .filter(|e| {
                matches!(
                    e["type"].as_str(),
                    Some("response.completed" | "response.failed" | "response.incomplete")
                )
            })
            .count();
        assert_eq!(terminal, 1, "{stream:?}: {body}");
        let last = events
            .last()
            .and_then(|e| e["type"].as_str())
            .unwrap_or_default();
        let terminal_last = matches!(
            last,
            "response.completed" | "response.failed" | "response.incomplete"
        );
        assert!(terminal_last, "{stream:?}: ends on {last}: {body}");
        for e in &events {
            assert_no_canary_in_text(&e.to_string());
        }
    }
    assert_clean(&bridge, &[]);
}

/// Issue 19: the bridge reads the model catalogue beside the profile when
/// it starts, and sends `reasoning_effort` only where the model reasons; a
/// model the catalogue does not list gets it as Codex sent it.
#[test]
fn reasoning_effort_goes_only_to_models_that_reason() {
    let entry = |slug: &str, levels: serde_json::Value| {
        serde_json::json!({"slug": slug, "display_name": slug, "supported_reasoning_levels": levels,
            "shell_type": "shell_command", "visibility": "list", "supported_in_api": true,
            "priority": 1, "support_verbosity": true,
            "truncation_policy": {"mode": "tokens", "limit": 10000},
            "experimental_supported_tools": [], "base_instructions": "a long prompt"})
    };
    let catalogue = serde_json::json!({"models": [
        entry("vendor/thinker", serde_json::json!([{"effort": "high", "description": "deep"}])),
        entry("vendor/plain", serde_json::json!([])),
    ]});
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.codex_home()).unwrap();
    std::fs::write(
        sb.codex_home().join("ominigate-models.json"),
        catalogue.to_string(),
    )
    .unwrap();
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(2),
        delay: Duration::ZERO,
    });
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    for model in ["vendor/thinker", "vendor/plain", "vendor/unlisted"] {
        let body = serde_json::json!({"model": model, "stream": true, "input": "hi",
            "reasoning": {"effort": "high"}, "text": {"verbosity": "low"}});
        let (status, answer) = post(&bridge, body.to_string(), Some(CANARY));
        assert_eq!(status, 200, "{model}: {answer}");
    }
    let sent: Vec<serde_json::Value> = gateway
        .requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).expect("JSON"))
        .collect();
    let efforts: Vec<&serde_json::Value> = sent.iter().map(|b| &b["reasoning_effort"]).collect();
    assert_eq!(
        efforts,
        [
            &serde_json::json!("high"),
            &serde_json::Value::Null,
            &serde_json::json!("high")
        ],
        "{sent:?}"
    );
    assert!(sent.iter().all(|b| b["verbosity"] == "low"), "{sent:?}");
}

/// A running bridge reads the catalogue again when it changes: after
/// `models --refresh` says a model reasons, its `reasoning_effort` reaches
/// the gateway without restarting the bridge (it was dropped until then).
#[test]
fn a_changed_catalogue_reaches_a_running_bridge() {
    let entry = |levels: serde_json::Value| {
        serde_json::json!({"models": [{"slug": "vendor/m", "display_name": "m",
            "supported_reasoning_levels": levels, "shell_type": "shell_command",
            "visibility": "list", "supported_in_api": true, "priority": 1,
            "support_verbosity": true, "truncation_policy": {"mode": "tokens", "limit": 10000},
            "experimental_supported_tools": [], "base_instructions": "a long prompt"}]})
        .to_string()
    };
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.codex_home()).unwrap();
    let file = sb.codex_home().join("ominigate-models.json");
    std::fs::write(&file, entry(serde_json::json!([]))).unwrap();
    let gateway = Server::start(|_: &Request| Answer::Stream {
        chunks: chat_chunks(2),
        delay: Duration::ZERO,
    });
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let ask = || {
        let body = serde_json::json!({"model": "vendor/m", "stream": true, "input": "hi",
            "reasoning": {"effort": "high"}});
        let (status, answer) = post(&bridge, body.to_string(), Some(CANARY));
        assert_eq!(status, 200, "{answer}");
    };
    ask();
    std::fs::write(
        &file,
        entry(serde_json::json!([{"effort": "high", "description": "deep"}, {"effort": "low", "description": "quick"}])),
    )
    .unwrap();
    ask();
    let efforts: Vec<serde_json::Value> = gateway
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_str::<serde_json::Value>(&r.body).expect("JSON")["reasoning_effort"]
                .clone()
        })
        .collect();
    assert_eq!(
        efforts,
        [serde_json::Value::Null, serde_json::json!("high")],
        "{efforts:?}"
    );
}

/// Issue 19: a gateway that sends no usage gets none estimated, and the
/// log says so once, not once a request.
#[test]
fn a_gateway_without_usage_is_logged_once() {
    let mut chunks = chat_chunks(2);
    chunks.retain(|c| !c.contains("usage"));
    let gateway = Server::start(move |_: &Request| Answer::Stream {
        chunks: chunks.clone(),
        delay: Duration::ZERO,
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    for _ in 0..2 {
        let (status, answer) = post_responses(&bridge);
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("response.completed"), "{answer}");
        assert!(!answer.contains("\"usage\""), "{answer}");
    }
    let log = bridge.log();
    assert_eq!(log.matches("sent no token usage").count(), 1, "{log}");
}

/// Issue 20, finding 4: a gateway that sends more than 1,024 tool calls in
/// one chunk gets one `response.failed`, the answer's last event (it got
/// nine, with deltas between them).
#[test]
fn more_than_1024_calls_in_one_chunk_end_in_one_failed_event() {
    let calls: Vec<serde_json::Value> = (0..1100)
        .map(|i| {
            serde_json::json!({"index": i, "id": format!("c{i}"), "type": "function",
            "function": {"name": "exec_command", "arguments": "{}"}})
        })
        .collect();
    let chunks = vec![
        serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": calls}}]})
            .to_string(),
        serde_json::json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
            .to_string(),
        "[DONE]".to_string(),
    ];
    let gateway = Server::start(move |_: &Request| Answer::Stream {
        chunks: chunks.clone(),
        delay: Duration::ZERO,
    });
    let sb = Sandbox::new();
    let bridge = Bridge::start(&sb, &gateway.base_url(), &[]);
    let (status, answer) = post_responses(&bridge);
    assert_eq!(status, 200, "{answer}");
    let events: Vec<&str> = answer
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events.iter().filter(|e| **e == "response.failed").count(),
        1
    );
    assert_eq!(events.last(), Some(&"response.failed"), "{events:?}");
    assert!(answer.contains("more than 1024 tool calls"));
}
