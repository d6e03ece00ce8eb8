//! Real Codex through `ominigate-codex bridge` to a scripted gateway that
//! serves chat completions only (harness/chat_gateway.rs), as
//! OminiGate's guide describes it: every case of issue 13's "Proof", on
//! Codex 0.133.0 and the newest release `OMINIGATE_E2E_CODEX` names.
//!
//! Like tests/e2e.rs these are `#[ignore]`d (a plain `cargo test` lists
//! them as ignored) and run only in a loopback-only network namespace:
//!
//! ```sh
//! OMINIGATE_E2E_CODEX="…/0.133.0/codex …/0.171.0/codex" \
//!   unshare -rn sh -c 'ip link set lo up && exec cargo test --test testsuite -- --ignored bridge_e2e::'
//! ```
//!
//! Codex gets the canary key; it must reach the gateway (the bridge
//! forwards the caller's header) and nowhere else: not the bridge's output,
//! not Codex's, not a file.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::api::{PROFILE_FILES, Version, run_with_timeout};
use crate::harness::chat_gateway::{
    Call, ChatGateway, Turn, chunk, messages, reasoning_then_text, split_lines, text_stream,
    tool_calls_stream, usage_and_done, well_formed,
};
use crate::harness::real_codex::{Codex, binaries};
use crate::harness::{CANARY, Sandbox, assert_no_canary_in_text};
use serde_json::{Value, json};

const MODEL: &str = "openai/gpt-5.4-pro";
const REPLY: &str = "Hello from the chat-only gateway, through the bridge.";
const FINAL: &str = "The command printed bridge-e2e-42; all done.";

/// Codex 0.133.0 (the last with profile tables, and freeform `apply_patch`
/// for any slug) and the newest release given.
pub(crate) fn releases() -> Vec<Codex> {
    let all = binaries();
    let old = Version::new(0, 133, 0);
    let newest = all.iter().map(|c| c.version).max().expect("a binary");
    crate::harness::needs(
        (newest >= PROFILE_FILES).then_some(()),
        "a Codex release newer than 0.133 in OMINIGATE_E2E_CODEX",
    );
    let picked: Vec<Codex> = all
        .into_iter()
        .filter(|c| c.version == old || c.version == newest)
        .collect();
    crate::harness::needs(
        (picked.len() == 2).then_some(()),
        "Codex 0.133.0 in OMINIGATE_E2E_CODEX",
    );
    picked
}

fn codex_133() -> Codex {
    releases()
        .into_iter()
        .find(|c| c.version == Version::new(0, 133, 0))
        .expect("0.133.0")
}

pub(crate) fn v(c: &Codex) -> String {
    let Version {
        major,
        minor,
        patch,
        ..
    } = c.version;
    format!("{major}.{minor}.{patch}")
}

// --- the bridge as a process ---------------------------------------------------

/// `ominigate-codex bridge` running in the sandbox; killed when dropped.
struct Bridge {
    child: Child,
    url: String,
    out: Option<mpsc::Receiver<String>>,
}

impl Bridge {
    /// Start `ominigate-codex bridge ARGS` and wait (10 s at most) for its
    /// first line, `listening on http://127.0.0.1:PORT/v1`.
    fn start(sb: &Sandbox, args: &[&str]) -> Bridge {
        let mut child = sb
            .std_cmd()
            .arg("bridge")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the bridge");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (first_tx, first_rx) = mpsc::channel();
        let (out_tx, out_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = first_tx.send(first.clone());
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            let mut err = String::new();
            let _ = stderr.read_to_string(&mut err);
            let _ = out_tx.send(format!("{first}{rest}{err}"));
        });
        let first = first_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_default();
        let mut bridge = Bridge {
            child,
            url: String::new(),
            out: Some(out_rx),
        };
        match first.trim().strip_prefix("listening on ") {
            Some(url) if url.starts_with("http://127.0.0.1:") && url.ends_with("/v1") => {
                bridge.url = url.to_string();
                bridge
            }
            _ => {
                let out = bridge.stop();
                panic!("the bridge did not say `listening on http://127.0.0.1:PORT/v1`:\n{out}")
            }
        }
    }

    /// Stop it; everything it printed (stdout and stderr), checked for the
    /// canary.
    fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let out = self
            .out
            .take()
            .and_then(|rx| rx.recv_timeout(Duration::from_secs(10)).ok())
            .unwrap_or_default();
        assert_no_canary_in_text(&out);
        out
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// --- real Codex ----------------------------------------------------------------

/// What one Codex run did.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    took: Duration,
}

impl Run {
    pub(crate) fn all(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.took, self.stdout, self.stderr
        )
    }
}

/// The environment real Codex runs with: the sandbox's HOME and Codex
/// home, the canary key, a PATH for the commands it runs.
fn codex_env(cmd: &mut Command, sb: &Sandbox) {
    cmd.env_clear()
        .env("HOME", sb.dir.path().join("home"))
        .env("CODEX_HOME", sb.codex_home())
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", sb.dir.path().join("bin").display()),
        )
        .env("OMINIGATE_API_KEY", CANARY)
        .current_dir(sb.work_dir());
}

/// The `codex exec` options every run uses: no analytics or plugin sync,
/// no sandbox (the loopback-only namespace is the fence; Codex's own
/// sandbox needs privileges the namespace lacks), no git repository.
pub(crate) fn exec_options() -> Vec<String> {
    let mut args: Vec<String> = ["--disable", "plugins", "-c", "analytics.enabled=false"]
        .map(String::from)
        .to_vec();
    // Codex's own OpenAI provider points nowhere real.
    args.extend([
        "-c".into(),
        "openai_base_url=\"http://127.0.0.1:9/v1\"".into(),
    ]);
    args.extend(
        [
            "--skip-git-repo-check",
            "--dangerously-bypass-approvals-and-sandbox",
        ]
        .map(String::from),
    );
    args
}

/// Run `cmd` (90 s at most) and check its output for the canary.
fn run(mut cmd: Command, what: &str) -> Run {
    let start = Instant::now();
    let out = run_with_timeout(&mut cmd, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let run = Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    };
    assert_no_canary_in_text(&run.stdout);
    assert_no_canary_in_text(&run.stderr);
    run
}

/// `codex exec --profile ominigate` with the provider pointed at `base_url`
/// (as `ominigate-codex codex` does), or as installed when `None`.
fn codex_exec(sb: &Sandbox, c: &Codex, base_url: Option<&str>, prompt: &str) -> Run {
    codex_exec_with(sb, c, base_url, &[], prompt, &[])
}

/// [`codex_exec`] with `extra` options before the prompt and more
/// variables (`env`) in Codex's environment.
fn codex_exec_with(
    sb: &Sandbox,
    c: &Codex,
    base_url: Option<&str>,
    extra: &[&str],
    prompt: &str,
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = Command::new(&c.path);
    codex_env(&mut cmd, sb);
    cmd.envs(env.iter().copied());
    cmd.args(["exec", "--profile", "ominigate"]);
    cmd.args(extra);
    if let Some(url) = base_url {
        cmd.arg("-c")
            .arg(format!("model_providers.ominigate.base_url=\"{url}\""));
    }
    cmd.args(exec_options()).arg(prompt);
    run(cmd, &format!("codex {}", v(c)))
}

/// Install for `c` with the gateway as the provider's `base_url`.
pub(crate) fn install(sb: &Sandbox, c: &Codex, gw: &ChatGateway, extra: &[&str]) {
    let codex = c.path.to_string_lossy().into_owned();
    let url = gw.base_url();
    let mut args = vec!["install", "--codex", &codex, "--base-url", &url];
    args.extend_from_slice(extra);
    sb.run(&args, 0);
}

/// A sandbox with OminiGate installed (provider at the gateway), a bridge
/// in front of the gateway, and Codex run through it.
struct Case {
    sb: Sandbox,
    gw: ChatGateway,
    bridge: Bridge,
    /// The bridge's output, once stopped.
    log: String,
}

impl Case {
    fn new(c: &Codex, turns: Vec<Turn>) -> Case {
        Case::new_with(c, turns, |_| {})
    }

    /// [`Case::new`], with `prepare` run on the sandbox after the install
    /// and before the bridge starts.
    fn new_with(c: &Codex, turns: Vec<Turn>, prepare: impl FnOnce(&Sandbox)) -> Case {
        let sb = Sandbox::new();
        let gw = ChatGateway::start(turns);
        install(&sb, c, &gw, &[]);
        prepare(&sb);
        let upstream = gw.base_url();
        let bridge = Bridge::start(&sb, &["--listen", "127.0.0.1:0", "--upstream", &upstream]);
        Case {
            sb,
            gw,
            bridge,
            log: String::new(),
        }
    }

    fn exec(&self, c: &Codex, prompt: &str) -> Run {
        codex_exec(&self.sb, c, Some(&self.bridge.url), prompt)
    }

    fn exec_with(&self, c: &Codex, extra: &[&str], prompt: &str) -> Run {
        codex_exec_with(&self.sb, c, Some(&self.bridge.url), extra, prompt, &[])
    }

    /// Stop the bridge (once) and describe what happened: Codex's output,
    /// the bridge's log, the gateway's requests.
    fn context(&mut self, c: &Codex, run: &Run) -> String {
        if self.bridge.out.is_some() {
            self.log = self.bridge.stop();
        }
        let requests: Vec<String> = self
            .gw
            .requests()
            .iter()
            .map(|r| format!("{} {} ({} bytes)", r.method, r.path, r.body.len()))
            .collect();
        format!(
            "codex {}:\n{}\n--- bridge\n{}\n--- gateway got\n{}\n--- gateway checks failed\n{:?}",
            v(c),
            run.all(),
            self.log,
            requests.join("\n"),
            self.gw.failures()
        )
    }

    /// Codex succeeded and printed `printed`.
    fn assert_ok(&mut self, c: &Codex, run: &Run, printed: &str) {
        if run.code != Some(0) || !run.stdout.contains(printed) {
            panic!(
                "expected exit 0 and {printed:?} on stdout; {}",
                self.context(c, run)
            );
        }
    }

    /// Codex failed, and said `said` (stdout or stderr).
    fn assert_failed(&mut self, c: &Codex, run: &Run, said: &str) {
        if run.code == Some(0) || !(run.stdout.contains(said) || run.stderr.contains(said)) {
            panic!(
                "expected a failure saying {said:?}; {}",
                self.context(c, run)
            );
        }
    }

    /// Stop the bridge; check the gateway's checks, the key's whereabouts
    /// and the request count. Returns the chat bodies and the bridge's log.
    fn finish(mut self, c: &Codex, run: &Run, chats: usize) -> (Vec<Value>, String) {
        let ctx = self.context(c, run);
        assert_eq!(self.gw.failures(), Vec::<String>::new(), "{ctx}");
        let bodies = self.gw.chat_bodies();
        assert_eq!(bodies.len(), chats, "chat requests; {ctx}");
        for r in self.gw.requests() {
            // The caller's header reaches the gateway, and nothing else does.
            if r.method == "POST" {
                assert_eq!(
                    r.headers.get("authorization").map(String::as_str),
                    Some(&*format!("Bearer {CANARY}")),
                    "{ctx}"
                );
                assert!(!r.body.contains(CANARY), "the key in a request body; {ctx}");
            }
            assert_ne!(
                r.path, "/v1/responses",
                "the bridge sent Responses on; {ctx}"
            );
        }
        self.sb.assert_no_canary_in_files_but_codex_snapshots();
        (bodies, self.log)
    }
}

// --- request checks --------------------------------------------------------------

/// The chat request is well formed, for the profile's model, and carries
/// Codex's system prompt and the user's prompt.
fn first_request(prompt: &'static str) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |body: &Value| {
        well_formed(body)?;
        if body["model"] != MODEL {
            return Err(format!("model {}", body["model"]));
        }
        let msgs = messages(body);
        let system = msgs.iter().any(|m| {
            m["role"] == "system" && m["content"].as_str().is_some_and(|t| t.len() > 1000)
        });
        if !system {
            return Err("no system message with Codex's prompt".into());
        }
        let user = msgs
            .iter()
            .any(|m| m["role"] == "user" && text_of(m).contains(prompt));
        if !user {
            return Err(format!("no user message with {prompt:?}"));
        }
        let tools = tool_names(body);
        if !tools.iter().any(|t| t == "exec_command") {
            return Err(format!("no exec_command tool: {tools:?}"));
        }
        Ok(())
    }
}

/// A message's text, whether a string or parts.
fn text_of(m: &Value) -> String {
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["function"]["name"].as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// The assistant message that made the call `id`, and the tool message
/// answering it.
fn call_and_output(body: &Value, id: &str) -> Result<(Value, Value), String> {
    let msgs = messages(body);
    let call = msgs
        .iter()
        .find(|m| {
            m["role"] == "assistant"
                && m["tool_calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["id"] == id))
        })
        .ok_or(format!("no assistant message calls {id}"))?;
    let output = msgs
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == id)
        .ok_or(format!("no tool message for {id}"))?;
    Ok((call.clone(), output.clone()))
}

/// The next request carries the call `id` (to `name`) and its output,
/// which contains `printed`.
fn answered(
    id: &'static str,
    name: &'static str,
    printed: &'static str,
) -> impl Fn(&Value) -> Result<(), String> + Send + Sync {
    move |body: &Value| {
        well_formed(body)?;
        let (call, output) = call_and_output(body, id)?;
        let named = call["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["id"] == id && c["function"]["name"] == name);
        if !named {
            return Err(format!("call {id} is not to {name}: {call}"));
        }
        if !text_of(&output).contains(printed) {
            return Err(format!("the output of {id} lacks {printed:?}: {output}"));
        }
        Ok(())
    }
}

fn exec_call<'a>(id: &'a str, cmd: &'a str) -> (String, &'a str) {
    (json!({"cmd": cmd}).to_string(), id)
}

/// The multi-turn session: an `exec_command` call streamed in 5-byte
/// fragments (its `data:` lines split across reads too), Codex runs it, the
/// next request carries the output under the same id, then a final answer.
fn exec_session(prompt: &'static str) -> Vec<Turn> {
    let (args, id) = exec_call("call_e2e_exec_1", "echo bridge-e2e-$((6*7))");
    let call = Call {
        id,
        name: "exec_command",
        arguments: &args,
    };
    vec![
        Turn::stream(split_lines(tool_calls_stream(None, &[call], 5)))
            .expect(first_request(prompt)),
        Turn::stream(text_stream(FINAL)).expect(answered(
            "call_e2e_exec_1",
            "exec_command",
            "bridge-e2e-42",
        )),
    ]
}

fn assert_ok(c: &Codex, run: &Run, printed: &str) {
    assert_eq!(run.code, Some(0), "codex {}:\n{}", v(c), run.all());
    assert!(
        run.stdout.contains(printed),
        "codex {} did not print {printed:?}:\n{}",
        v(c),
        run.all()
    );
}

/// Codex, through the bridge to a gateway answering `turns`, succeeds on
/// `prompt` and prints `printed` after `chats` chat requests. Returns the
/// chat bodies and the bridge's log.
fn session(
    c: &Codex,
    turns: Vec<Turn>,
    prompt: &str,
    printed: &str,
    chats: usize,
) -> (Vec<Value>, String) {
    let mut case = Case::new(c, turns);
    let run = case.exec(c, prompt);
    case.assert_ok(c, &run, printed);
    case.finish(c, &run, chats)
}

// --- the cases -------------------------------------------------------------------

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_plain_answer() {
    for c in releases() {
        let (bodies, log) = session(
            &c,
            vec![Turn::stream(split_lines(text_stream(REPLY))).expect(first_request("say hi"))],
            "say hi",
            REPLY,
            1,
        );
        assert_eq!(bodies[0]["stream_options"]["include_usage"], true);
        // One log line per request: the model, never message content.
        assert!(log.contains(MODEL), "codex {}: bridge log:\n{log}", v(&c));
        assert!(!log.contains("say hi"), "the bridge logged content:\n{log}");
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_gateway_that_ignores_stream_true_is_answered_all_the_same() {
    for c in releases() {
        let completion = serde_json::json!({
            "id": "chatcmpl-whole", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}
        });
        let (_, log) = session(&c, vec![Turn::completion(completion)], "say hi", REPLY, 1);
        assert!(
            log.contains("one JSON completion for a stream"),
            "codex {}: bridge log:\n{log}",
            v(&c)
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_command_call_in_fragments_runs_and_its_output_comes_back() {
    for c in releases() {
        session(
            &c,
            exec_session("run the command"),
            "run the command",
            FINAL,
            2,
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn two_parallel_calls() {
    for c in releases() {
        let (a, id_a) = exec_call("call_e2e_par_a", "echo first-$((1+1))");
        let (b, id_b) = exec_call("call_e2e_par_b", "echo second-$((2+1))");
        let calls = [
            Call {
                id: id_a,
                name: "exec_command",
                arguments: &a,
            },
            Call {
                id: id_b,
                name: "exec_command",
                arguments: &b,
            },
        ];
        let both = |body: &Value| -> Result<(), String> {
            answered("call_e2e_par_a", "exec_command", "first-2")(body)?;
            answered("call_e2e_par_b", "exec_command", "second-3")(body)?;
            // Both calls in ONE assistant message, then their outputs.
            let (call, _) = call_and_output(body, "call_e2e_par_a")?;
            let n = call["tool_calls"].as_array().map_or(0, Vec::len);
            if n != 2 {
                return Err(format!("{n} calls in the assistant message: {call}"));
            }
            Ok(())
        };
        session(
            &c,
            vec![
                Turn::stream(tool_calls_stream(None, &calls, 4)).expect(first_request("run both")),
                Turn::stream(text_stream(FINAL)).expect(both),
            ],
            "run both",
            FINAL,
            2,
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_freeform_apply_patch_changes_a_file() {
    // Codex 0.133 declares the freeform (custom) apply_patch tool even for
    // OminiGate's slugs; 0.171 does not.
    let c = codex_133();
    let patch =
        "*** Begin Patch\n*** Add File: greeting.txt\n+hello through the bridge\n*** End Patch\n";
    let args = json!({"input": patch}).to_string();
    let call = Call {
        id: "call_e2e_patch",
        name: "apply_patch",
        arguments: &args,
    };
    let declared = |body: &Value| -> Result<(), String> {
        let tool = body["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["function"]["name"] == "apply_patch")
            .ok_or("no apply_patch tool")?;
        let props = &tool["function"]["parameters"]["properties"];
        if props["input"]["type"] != "string" {
            return Err(format!("apply_patch is not one string `input`: {tool}"));
        }
        Ok(())
    };
    let applied = |body: &Value| -> Result<(), String> {
        well_formed(body)?;
        let (_, output) = call_and_output(body, "call_e2e_patch")?;
        let text = text_of(&output);
        if text.contains("incompatible payload") || text.contains("failed") {
            return Err(format!("the patch did not apply: {output}"));
        }
        Ok(())
    };
    let mut case = Case::new(
        &c,
        vec![
            Turn::stream(tool_calls_stream(None, &[call], 6))
                .expect(first_request("add the file"))
                .expect(declared),
            Turn::stream(text_stream(FINAL)).expect(applied),
        ],
    );
    let run = case.exec(&c, "add the file");
    case.assert_ok(&c, &run, FINAL);
    let file = case.sb.work_dir().join("greeting.txt");
    let got = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", file.display(), run.all()));
    assert_eq!(got, "hello through the bridge\n");
    case.finish(&c, &run, 2);
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn reasoning_content_is_carried_back() {
    const THOUGHT: &str = "The user wants the answer; first I run echo to check the shell.";
    for c in releases() {
        let (args, id) = exec_call("call_e2e_think", "echo thought-$((3*3))");
        let call = Call {
            id,
            name: "exec_command",
            arguments: &args,
        };
        let carried = |body: &Value| -> Result<(), String> {
            answered("call_e2e_think", "exec_command", "thought-9")(body)?;
            let (call, _) = call_and_output(body, "call_e2e_think")?;
            match call["reasoning_content"].as_str() {
                Some(r) if r.contains(THOUGHT) => Ok(()),
                _ => Err(format!("no reasoning_content on the call: {call}")),
            }
        };
        session(
            &c,
            vec![
                Turn::stream(tool_calls_stream(Some(THOUGHT), &[call], 7))
                    .expect(first_request("think first")),
                Turn::stream(reasoning_then_text("Done thinking.", FINAL)).expect(carried),
            ],
            "think first",
            FINAL,
            2,
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_rejected_key_is_shown_at_once() {
    const SAID: &str =
        "Incorrect API key provided: sk-omg-***. You can find your key at ominigate.";
    for c in releases() {
        let mut case = Case::new(
            &c,
            vec![Turn::error(
                401,
                json!({"error": {"message": SAID, "type": "invalid_request_error",
                    "code": "invalid_api_key"}}),
            )],
        );
        // With the installed retry settings (stream_max_retries = 10), a
        // retried 401 takes minutes; shown at once, it takes seconds.
        let run = case.exec(&c, "hi");
        case.assert_failed(&c, &run, SAID);
        let all = run.all();
        assert!(all.contains("OMINIGATE_API_KEY"), "codex {}:\n{all}", v(&c));
        assert!(
            !all.contains("Reconnecting"),
            "codex {} retried:\n{all}",
            v(&c)
        );
        // Not a speed target: retried, it would take minutes (about 2.5
        // with stream_max_retries = 10); the bound is far from both.
        assert!(
            run.took < Duration::from_secs(30),
            "codex {}:\n{all}",
            v(&c)
        );
        case.finish(&c, &run, 1);
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn rate_limits_and_server_errors_are_retried() {
    for c in releases() {
        session(
            &c,
            vec![
                Turn::error(
                    429,
                    json!({"error": {"message": "Rate limit reached for openai/gpt-5.4-pro. Please try again in 1s.",
                        "type": "rate_limit_error", "code": "rate_limit_exceeded"}}),
                ),
                Turn::error(
                    500,
                    json!({"error": {"message": "upstream provider error", "type": "server_error"}}),
                ),
                Turn::stream(text_stream(REPLY)).expect(first_request("hi")),
            ],
            "hi",
            REPLY,
            3,
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_stream_cut_midway_is_recovered() {
    for c in releases() {
        let partial: Vec<String> = text_stream("This answer is cut off in the middle of")
            .into_iter()
            .take(4)
            .collect();
        session(
            &c,
            vec![
                Turn::cut(partial).expect(first_request("hi")),
                Turn::stream(text_stream(REPLY)).expect(first_request("hi")),
            ],
            "hi",
            REPLY,
            2,
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_context_length_error_is_reported_as_such() {
    for c in releases() {
        let mut case = Case::new(
            &c,
            vec![Turn::error(
                400,
                json!({"error": {"message": "This model's maximum context length is 8192 tokens. However, your messages resulted in 24210 tokens. Please reduce the length of the messages.",
                    "type": "invalid_request_error", "param": "messages",
                    "code": "context_length_exceeded"}}),
            )],
        );
        let run = case.exec(&c, "hi");
        case.assert_failed(&c, &run, "ran out of room in the model's context window");
        case.finish(&c, &run, 1);
    }
}

/// Issue 19: the gateway's reasoning reaches Codex as a reasoning summary,
/// which `codex exec` prints by default (raw reasoning it hides unless
/// `show_raw_agent_reasoning` is set).
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn reasoning_is_shown() {
    const THOUGHT: &str = "Weighing how to greet the user back before answering.";
    for c in releases() {
        let mut case = Case::new(
            &c,
            vec![Turn::stream(reasoning_then_text(THOUGHT, REPLY)).expect(first_request("hi"))],
        );
        let run = case.exec(&c, "hi");
        case.assert_ok(&c, &run, REPLY);
        if !run.stderr.contains(THOUGHT) {
            panic!("the reasoning was not shown; {}", case.context(&c, &run));
        }
        case.finish(&c, &run, 1);
    }
}

/// The model catalogue install wrote, with the profile's model said to
/// reason and to take a verbosity (Codex sends either only when its
/// metadata says so).
fn catalogue_says_the_model_reasons(sb: &Sandbox) {
    let path = sb.codex_home().join("ominigate-models.json");
    let text = std::fs::read_to_string(&path).expect("install wrote the catalogue");
    let mut catalogue: Value = serde_json::from_str(&text).expect("JSON");
    for entry in catalogue["models"].as_array_mut().expect("models") {
        if entry["slug"] == MODEL {
            entry["supported_reasoning_levels"] = json!([
                {"effort": "low", "description": "fast"},
                {"effort": "medium", "description": "balanced"},
                {"effort": "high", "description": "deep"}
            ]);
            entry["default_reasoning_level"] = json!("medium");
            entry["support_verbosity"] = json!(true);
            entry["default_verbosity"] = json!("medium");
        }
    }
    std::fs::write(&path, catalogue.to_string()).expect("write the catalogue");
}

/// Issue 19: `model_reasoning_effort` and `model_verbosity` reach the
/// gateway as `reasoning_effort` and `verbosity`, for a model the
/// catalogue (which Codex and the bridge both read) says reasons.
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn effort_and_verbosity_reach_the_gateway() {
    for c in releases() {
        let options = move |body: &Value| -> Result<(), String> {
            first_request("hi")(body)?;
            if body["reasoning_effort"] != "high" {
                return Err(format!("reasoning_effort {}", body["reasoning_effort"]));
            }
            if body["verbosity"] != "low" {
                return Err(format!("verbosity {}", body["verbosity"]));
            }
            Ok(())
        };
        let turns = vec![Turn::stream(text_stream(REPLY)).expect(options)];
        let mut case = Case::new_with(&c, turns, catalogue_says_the_model_reasons);
        let extra = [
            "-c",
            "model_reasoning_effort=\"high\"",
            "-c",
            "model_verbosity=\"low\"",
        ];
        let run = case.exec_with(&c, &extra, "hi");
        case.assert_ok(&c, &run, REPLY);
        case.finish(&c, &run, 1);
    }
}

/// Issue 19: an answer the gateway's output limit cut (`finish_reason:
/// "length"`) is not shown as complete: the user reads that it was cut,
/// and the tool call it was writing is not run.
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_cut_answer_is_reported_and_its_call_not_run() {
    const PARTIAL: &str = "First I create the marker file";
    for c in releases() {
        let call = json!({"tool_calls": [{"index": 0, "id": "call_cut", "type": "function",
            "function": {"name": "exec_command", "arguments": "{\"cmd\": \"touch cut-call-ran\"}"}}]});
        let mut stream = vec![
            chunk(json!({"role": "assistant", "content": PARTIAL}), None),
            chunk(call, None),
            chunk(json!({}), Some("length")),
        ];
        stream.extend(usage_and_done(30, 64));
        let mut case = Case::new(&c, vec![Turn::stream(stream).expect(first_request("hi"))]);
        let run = case.exec(&c, "hi");
        case.assert_ok(&c, &run, "output limit cut this answer short");
        let all = run.all();
        assert!(all.contains(PARTIAL), "codex {}:\n{all}", v(&c));
        assert!(
            all.contains("`exec_command`) was not run"),
            "codex {}:\n{all}",
            v(&c)
        );
        assert!(
            !case.sb.work_dir().join("cut-call-ran").exists(),
            "codex {} ran the cut call:\n{all}",
            v(&c)
        );
        case.finish(&c, &run, 1);
    }
}

/// Issue 19: a 429's `Retry-After` reaches Codex in the words its parser
/// reads, so its next attempt waits as asked: not before 2 s (Codex's own
/// backoff starts at about 0.2 s).
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn retry_after_is_honoured() {
    for c in releases() {
        let mut case = Case::new(
            &c,
            vec![
                Turn::error(
                    429,
                    json!({"error": {"message": "Too many requests", "type": "rate_limit_error"}}),
                )
                .header("Retry-After", "2"),
                Turn::stream(text_stream(REPLY)).expect(first_request("hi")),
            ],
        );
        let run = case.exec(&c, "hi");
        case.assert_ok(&c, &run, REPLY);
        let times = case.gw.chat_times();
        let ctx = case.context(&c, &run);
        assert_eq!(times.len(), 2, "{ctx}");
        let waited = times[1].duration_since(times[0]);
        assert!(
            waited >= Duration::from_secs(2),
            "retried after {waited:?}; {ctx}"
        );
        case.finish(&c, &run, 2);
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn the_providers_headers_and_query_reach_the_gateway() {
    for c in releases() {
        let mut case = Case::new(&c, vec![Turn::stream(split_lines(text_stream(REPLY)))]);
        // The user's own provider settings, in the table install wrote.
        let config = case.sb.codex_home().join("config.toml");
        let text = std::fs::read_to_string(&config).expect("config.toml");
        let table = "[model_providers.ominigate]\n";
        assert!(text.contains(table), "{text}");
        let mine = "http_headers = { \"X-Team\" = \"blue\" }\n\
                    env_http_headers = { \"X-Env-Team\" = \"OMG_TEAM\" }\n\
                    query_params = { \"api-version\" = \"2026-01\" }\n";
        std::fs::write(&config, text.replacen(table, &format!("{table}{mine}"), 1)).unwrap();
        let url = case.bridge.url.clone();
        let run = codex_exec_with(
            &case.sb,
            &c,
            Some(&url),
            &[],
            "say hi",
            &[("OMG_TEAM", "green")],
        );
        case.assert_ok(&c, &run, REPLY);
        let chat = case
            .gw
            .requests()
            .into_iter()
            .find(|r| r.method == "POST")
            .expect("a chat request");
        let ctx = format!("codex {}: {} {:?}", v(&c), chat.path, chat.headers);
        assert_eq!(
            chat.path, "/v1/chat/completions?api-version=2026-01",
            "{ctx}"
        );
        assert_eq!(
            chat.headers.get("x-team").map(String::as_str),
            Some("blue"),
            "{ctx}"
        );
        assert_eq!(
            chat.headers.get("x-env-team").map(String::as_str),
            Some("green"),
            "{ctx}"
        );
        // Nothing else of Codex's: its telemetry, session and thread ids.
        let expected = [
            "authorization",
            "x-team",
            "x-env-team",
            "content-type",
            "content-length",
            "accept",
            "user-agent",
            "host",
        ];
        for name in chat.headers.keys() {
            assert!(expected.contains(&name.as_str()), "{name} went on; {ctx}");
        }
        case.finish(&c, &run, 1);
    }
}

/// `ominigate-codex codex ARGS` in the sandbox, with real Codex as `codex`
/// on PATH.
pub(crate) fn ominigate_codex_codex(sb: &Sandbox, c: &Codex, args: &[String]) -> Run {
    let link = sb.dir.path().join("bin/codex");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&c.path, &link).expect("codex on PATH");
    let mut cmd = sb.std_cmd();
    cmd.env(
        "PATH",
        format!("{}:/usr/bin:/bin", sb.dir.path().join("bin").display()),
    )
    .env("CODEX_HOME", sb.codex_home())
    .arg("codex")
    .args(args);
    run(cmd, &format!("ominigate-codex codex (codex {})", v(c)))
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn the_same_session_through_ominigate_codex_codex() {
    for c in releases() {
        let sb = Sandbox::new();
        let gw = ChatGateway::start(exec_session("run the command"));
        install(&sb, &c, &gw, &[]);
        let mut args = vec!["exec".to_string()];
        args.extend(exec_options());
        args.push("run the command".into());
        let run = ominigate_codex_codex(&sb, &c, &args);
        assert_ok(&c, &run, FINAL);
        assert_eq!(gw.failures(), Vec::<String>::new(), "{}", run.all());
        assert_eq!(gw.chat_bodies().len(), 2, "{}", run.all());
        sb.assert_no_canary_in_files_but_codex_snapshots();
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn ominigate_codex_codex_with_options_before_exec_goes_through_the_bridge() {
    // `--model` before `exec`, a `-c` after it: Codex 0.133 dropped the
    // bridge's `-c` when it stood before `exec`, and called the gateway's
    // /responses (404 here) directly.
    for c in releases() {
        let sb = Sandbox::new();
        let gw = ChatGateway::start(vec![
            Turn::stream(split_lines(text_stream(REPLY))).expect(first_request("say hi")),
        ]);
        install(&sb, &c, &gw, &[]);
        let mut args: Vec<String> = ["--model", MODEL, "exec"].map(String::from).to_vec();
        args.extend(exec_options());
        args.push("say hi".into());
        let run = ominigate_codex_codex(&sb, &c, &args);
        assert_ok(&c, &run, REPLY);
        assert_eq!(gw.failures(), Vec::<String>::new(), "{}", run.all());
        assert_eq!(gw.chat_bodies().len(), 1, "{}", run.all());
        assert!(
            gw.requests().iter().all(|r| r.path != "/v1/responses"),
            "codex {} bypassed the bridge",
            v(&c)
        );
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn install_bridge_then_bridge_then_codex_profile() {
    for c in releases() {
        let sb = Sandbox::new();
        let gw = ChatGateway::start(exec_session("run the command"));
        let port = crate::harness::unused_port().to_string();
        install(&sb, &c, &gw, &["--bridge", "--bridge-port", &port]);
        let local = format!("http://127.0.0.1:{port}/v1");
        let written = String::from_utf8(sb.read_config()).expect("utf-8")
            + &std::fs::read_to_string(sb.profile_file()).unwrap_or_default();
        assert!(written.contains(&local), "codex {}:\n{written}", v(&c));
        assert!(!written.contains(&gw.base_url()), "{written}");
        // The bridge's upstream is the one install recorded.
        let listen = format!("127.0.0.1:{port}");
        let mut bridge = Bridge::start(&sb, &["--listen", &listen]);
        assert_eq!(bridge.url, local);
        let run = codex_exec(&sb, &c, None, "run the command");
        let log = bridge.stop();
        assert_ok(&c, &run, FINAL);
        assert_eq!(gw.failures(), Vec::<String>::new(), "{}\n{log}", run.all());
        assert_eq!(gw.chat_bodies().len(), 2, "{}\n{log}", run.all());
        sb.assert_no_canary_in_files_but_codex_snapshots();
        // And back to direct with --direct, exactly.
        sb.run(
            &[
                "install",
                "--codex",
                &c.path.to_string_lossy(),
                "--direct",
                "--base-url",
                &gw.base_url(),
            ],
            0,
        );
        let written = String::from_utf8(sb.read_config()).expect("utf-8");
        assert!(!written.contains(&local), "{written}");
    }
}

// --- the scripted gateway itself (no Codex needed) ---------------------------------

/// The gateway answers as scripted: 404 on `/responses`, its turns in
/// order with chunked streams, a cut without the last chunk, and checks
/// that fail are recorded.
#[test]
fn the_scripted_gateway_serves_its_script() {
    let gw = ChatGateway::start(vec![
        Turn::stream(text_stream("abc")).expect(well_formed),
        Turn::error(429, json!({"error": {"message": "slow down"}})),
        Turn::cut(text_stream("partial").into_iter().take(2).collect()),
        Turn::stream(text_stream("x")).expect(|_| Err("scripted refusal".into())),
    ]);
    let post = |path: &str, body: &Value| {
        ureq::post(&format!("{}{path}", gw.base_url()))
            .config()
            .http_status_as_error(false)
            .build()
            .header("content-type", "application/json")
            .send(body.to_string())
    };
    let chat = json!({"model": MODEL, "stream": true,
        "messages": [{"role": "user", "content": "hi"}]});
    let r = post("/responses", &json!({"model": MODEL})).expect("responses");
    assert_eq!(r.status(), 404);

    let mut r = post("/chat/completions", &chat).expect("turn 1");
    assert_eq!(r.status(), 200);
    let body = r.body_mut().read_to_string().expect("stream");
    assert!(body.contains("\"content\":\"abc\"") && body.ends_with("data: [DONE]\n\n"));

    let r = post("/chat/completions", &chat).expect("turn 2");
    assert_eq!(r.status(), 429);

    let mut r = post("/chat/completions", &chat).expect("turn 3");
    assert_eq!(r.status(), 200);
    assert!(
        r.body_mut().read_to_string().is_err(),
        "a cut stream is an error"
    );

    let r = post("/chat/completions", &chat).expect("turn 4");
    assert_eq!(r.status(), 418);
    let r = post("/chat/completions", &chat).expect("beyond");
    assert_eq!(r.status(), 500);
    assert_eq!(
        gw.failures(),
        vec![
            "chat request 4: scripted refusal".to_string(),
            "a chat request beyond the script".to_string()
        ]
    );
    assert_eq!(gw.chat_bodies().len(), 5);
    assert!(
        well_formed(&json!({"stream": true, "messages": [
        {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "f"}}]},
        {"role": "user", "content": "x"}]}))
        .is_err()
    );
}

/// Without the model catalogue, as before `install` wrote one: Codex
/// uses its bundled metadata (0.133 runs this slug as gpt-5.4, which defers
/// the multi-agent tools behind `tool_search`).
fn without_the_catalogue(sb: &Sandbox) {
    let config = sb.config();
    let text = std::fs::read_to_string(&config).expect("install wrote config.toml");
    let kept: String = text
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("model_catalog_json"))
        .collect();
    assert_ne!(kept, text, "no model_catalog_json in {}", config.display());
    std::fs::write(&config, kept).expect("write config.toml");
}

/// Issue 19: Codex 0.133's client-side `tool_search` reaches the gateway
/// as a function, a call to it comes back as a `tool_search_call` that
/// Codex runs, and the deferred tools it finds (the multi-agent tools) are
/// declared, callable, in the next request.
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn deferred_tools_stay_reachable_through_tool_search() {
    let c = codex_133();
    let offered = |body: &Value| -> Result<(), String> {
        let tools = tool_names(body);
        match tools.iter().any(|t| t == "tool_search") {
            true => Ok(()),
            false => Err(format!("no tool_search: {tools:?}")),
        }
    };
    let found = |body: &Value| -> Result<(), String> {
        well_formed(body)?;
        let (_, output) = call_and_output(body, "call_search")?;
        let tools = tool_names(body);
        let spawn = tools.iter().find(|t| t.contains("spawn_agent"));
        match spawn {
            Some(name) if text_of(&output).contains(name.as_str()) => Ok(()),
            _ => Err(format!(
                "no spawn_agent found and declared: {tools:?}; {output}"
            )),
        }
    };
    let search = Call {
        id: "call_search",
        name: "tool_search",
        arguments: r#"{"query":"spawn a sub-agent","limit":4}"#,
    };
    let turns = vec![
        Turn::stream(tool_calls_stream(None, &[search], 9)).expect(offered),
        Turn::stream(text_stream(REPLY)).expect(found),
    ];
    let mut case = Case::new_with(&c, turns, without_the_catalogue);
    let run = case.exec(&c, "start a helper agent");
    case.assert_ok(&c, &run, REPLY);
    case.finish(&c, &run, 2);
}
