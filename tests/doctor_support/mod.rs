//! Helpers for the doctor tests: running doctor in a sandbox, a fake
//! `codex`, and a loopback HTTP server that answers as told.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Sandbox, assert_no_canary_in_text};

/// What one doctor run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// The sandbox's pretend `/etc/codex/config.toml` and working directory.
pub fn system_config(sb: &Sandbox) -> PathBuf {
    sb.dir.path().join("etc-codex-config.toml")
}

pub fn work_dir(sb: &Sandbox) -> PathBuf {
    let dir = sb.dir.path().join("work");
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

/// Run `doctor args…` in the sandbox (HOME, PATH, cwd, system config all
/// inside it) with extra environment; checks the key never shows.
pub fn doctor_env(sb: &Sandbox, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Run {
    let mut cmd = sb.cmd();
    cmd.env("OMINIGATE_CODEX_SYSTEM_CONFIG", system_config(sb))
        .current_dir(work_dir(sb))
        .arg("doctor")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("run doctor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_canary_in_text(&run.stdout);
    assert_no_canary_in_text(&run.stderr);
    run
}

pub fn doctor(sb: &Sandbox, args: &[&str]) -> Run {
    doctor_env(sb, args, &[], &[])
}

/// `doctor --json --offline args…`, parsed.
pub fn report(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["--json", "--offline"];
    all.extend_from_slice(args);
    doctor(sb, &all).json()
}

/// One check of a JSON report.
pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

pub fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["status"].as_str().unwrap_or_default()
}

/// A check's summary, details and remediation as one text.
pub fn text(report: &Value, id: &str) -> String {
    let c = check(report, id);
    let mut out = c["summary"].as_str().unwrap_or_default().to_string();
    for key in ["details", "remediation"] {
        for line in c[key].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(line.as_str().unwrap_or_default());
        }
    }
    out
}

/// Assert a check's status, showing the check when it differs.
#[track_caller]
pub fn assert_status(report: &Value, id: &str, want: &str) {
    assert_eq!(status(report, id), want, "{id}:\n{:#}", check(report, id));
}

/// A fake `codex` in the sandbox's PATH: `--version` prints `version`;
/// `--profile ominigate debug prompt-input` prints `stderr` and exits with
/// `exit`, after recording its CODEX_HOME and that home's config.toml.
pub fn fake_codex(sb: &Sandbox, version_line: &str, stderr: &str, exit: i32) -> PathBuf {
    let path = sb.dir.path().join("bin/codex");
    let log = sb.dir.path().join("codex-log");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then echo '{version_line}'; exit 0; fi\n\
         if [ \"$1 $2 $3 $4\" = '--profile ominigate debug prompt-input' ]; then\n\
           echo \"CODEX_HOME=$CODEX_HOME\" > '{log}'\n\
           /bin/cat \"$CODEX_HOME/config.toml\" >> '{log}' 2>/dev/null\n\
           printf '%s\\n' '{stderr}' | /bin/sed \"s#HOME#$CODEX_HOME#g\" >&2\n\
           exit {exit}\n\
         fi\n\
         echo \"unexpected: $*\" >&2; exit 64\n",
        log = log.display(),
        stderr = stderr.replace('\'', "'\\''"),
    );
    std::fs::write(&path, script).expect("write fake codex");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// What the fake codex recorded (empty when it was not run).
pub fn codex_log(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.dir.path().join("codex-log")).unwrap_or_default()
}

/// Every file under `dir` with its bytes and mode, for "doctor writes nothing".
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                out.insert(p.clone(), (Vec::new(), meta.permissions().mode()));
                out.extend(tree(&p));
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(p, (bytes, meta.permissions().mode()));
            }
        }
    }
    out
}

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
/// at most 32 connections and stops after 60 s or when dropped.
pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, stopping) = (requests.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut workers = Vec::new();
            while !stopping.load(Ordering::SeqCst)
                && Instant::now() < deadline
                && workers.len() < 32
            {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (h, r, s) = (handler.clone(), reqs.clone(), stopping.clone());
                        workers.push(std::thread::spawn(move || serve(stream, &*h, &r, &s)));
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
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>, stop: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
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
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len.min(1 << 20)];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let answer = handler(&request);
    if let Ok(mut l) = log.lock() {
        l.push(request);
    }
    let mut stream = stream;
    match answer {
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
