//! End to end against the real Codex CLI: install, run real Codex against a
//! loopback gateway, check what it sent, uninstall.
//!
//! Needs real Codex binaries: `OMINIGATE_E2E_CODEX` lists their paths
//! (space separated), as `.ci/run` sets it from `scripts/fetch-codex.sh
//! 0.94.0 0.133.0 0.169.0 latest`. The tests are `#[ignore]`d: run them
//! with `--ignored` (in `unshare -rn`), where a missing variable or a
//! missing or broken binary fails them.

use std::process::Command;
use std::time::Duration;

use crate::harness::Sandbox;
use crate::harness::api::{PROFILE_FILES, PROMPT_INPUT, run_with_timeout};
use crate::harness::doctor::doctor_env;
use crate::harness::real_codex::{Codex, binaries};
use crate::harness::server::{Answer, Request, Server, models_body, reply};

/// The key real Codex sends; distinct from the canary our own runs carry.
const KEY: &str = "sk-omg-e2e-test-key-4242";
const REPLY: &str = "hello from the mock gateway";
const MODEL: &str = "openai/gpt-5.4-pro";
/// Real configs from the corpus, without MCP servers Codex would launch.
const SEEDS: [&str; 3] = [
    "017-brunolm-windows-projects.toml",
    "018-brunolm-dotted-example.toml",
    "022-harusys-no-trailing-newline.toml",
];
/// A gateway that answers like OminiGate would: SSE for both wire APIs, a
/// model list, 426 to WebSocket upgrades (so Codex falls back to HTTP).
fn gateway() -> Server {
    Server::start(|r: &Request| {
        let sse = |body: String| Answer::Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "text/event-stream".into())],
            body,
        };
        if r.headers.contains_key("upgrade") {
            return reply(426, "");
        }
        match (
            r.method.as_str(),
            r.path.split('?').next().unwrap_or_default(),
        ) {
            ("GET", "/v1/models") => {
                reply(200, &models_body(&[MODEL, "anthropic/claude-opus-4.6"]))
            }
            ("POST", "/v1/responses") => sse(responses_stream()),
            ("POST", "/v1/chat/completions") => sse(chat_stream()),
            _ => reply(404, "{\"error\":\"not found\"}"),
        }
    })
}

fn responses_stream() -> String {
    let events = [
        serde_json::json!({"type": "response.created", "response": {"id": "resp_1"}}),
        serde_json::json!({"type": "response.output_item.done", "item": {
            "type": "message", "role": "assistant", "id": "msg_1",
            "content": [{"type": "output_text", "text": REPLY}]}}),
        serde_json::json!({"type": "response.completed", "response": {"id": "resp_1", "usage": {
            "input_tokens": 1, "input_tokens_details": null, "output_tokens": 1,
            "output_tokens_details": null, "total_tokens": 2}}}),
    ];
    events
        .iter()
        .map(|e| {
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn chat_stream() -> String {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let c = serde_json::json!({"id": "c1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {c}\n\n")
    };
    chunk(
        serde_json::json!({"role": "assistant", "content": REPLY}),
        None,
    ) + &chunk(serde_json::json!({}), Some("stop"))
        + "data: [DONE]\n\n"
}

/// What one Codex run did.
struct Run {
    code: Option<i32>,
    out: String,
}

/// Run real Codex in the sandbox: its Codex home, a private HOME and
/// working directory, our test key, plain `codex` pointed at `openai`.
fn codex(sb: &Sandbox, c: &Codex, args: &[&str], openai: &Server, key: bool) -> Run {
    let mut cmd = codex_cmd(sb, c);
    // Plain `codex`: 0.94 reads OPENAI_BASE_URL, later releases `-c openai_base_url`.
    cmd.env("OPENAI_BASE_URL", openai.base_url())
        .env("OPENAI_API_KEY", "sk-openai-e2e")
        .arg("exec")
        .arg("-c")
        .arg(format!("openai_base_url=\"{}\"", openai.base_url()));
    if c.version >= PROMPT_INPUT {
        // No background analytics or plugin sync: nothing to wait for.
        cmd.args(["--disable", "plugins", "-c", "analytics.enabled=false"]);
    }
    cmd.args(["--skip-git-repo-check", "--sandbox", "read-only"])
        .args(args);
    if key {
        cmd.env("OMINIGATE_API_KEY", KEY);
    }
    run(cmd, c, args)
}

/// Real Codex with the sandbox's Codex home, a private HOME and working
/// directory, and nothing else from this environment.
fn codex_cmd(sb: &Sandbox, c: &Codex) -> Command {
    let mut cmd = Command::new(&c.path);
    cmd.env_clear()
        .env("HOME", sb.dir.path().join("home"))
        .env("CODEX_HOME", sb.codex_home())
        .env("PATH", "/usr/bin:/bin")
        .current_dir(sb.work_dir());
    cmd
}

/// Run `cmd` (real Codex `c` with `args`) under a time limit.
fn run(mut cmd: Command, c: &Codex, args: &[&str]) -> Run {
    let out = run_with_timeout(&mut cmd, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("codex {} {args:?}: {e}", c.version));
    Run {
        code: out.status.code(),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn exec_profile(sb: &Sandbox, c: &Codex, openai: &Server, extra: &[&str]) -> Run {
    let mut args = vec!["--profile", "ominigate"];
    args.extend_from_slice(extra);
    args.push("hi");
    codex(sb, c, &args, openai, true)
}

/// The POSTs `server` got to `path`.
fn posts(server: &Server, path: &str) -> Vec<Request> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

fn assert_reached(gw: &Server, c: &Codex, run: &Run, model: &str, before: usize) {
    assert_eq!(
        run.code,
        Some(0),
        "codex {} failed:\n{}",
        c.version,
        run.out
    );
    assert!(run.out.contains(REPLY), "codex {}:\n{}", c.version, run.out);
    let got = posts(gw, c.wire_path());
    assert_eq!(
        got.len(),
        before + 1,
        "codex {}: requests {:?}",
        c.version,
        gw.requests()
    );
    let last = got.last().expect("a request");
    assert_eq!(
        last.headers.get("authorization").map(String::as_str),
        Some(&*format!("Bearer {KEY}"))
    );
    let body: serde_json::Value = serde_json::from_str(&last.body).expect("JSON body");
    assert_eq!(body["model"], model, "codex {}", c.version);
}

/// `ominigate-codex install` for `c`, pointed at the gateway, plus `extra`.
/// Returns what it printed.
fn install(sb: &Sandbox, c: &Codex, gw: &Server, extra: &[&str]) -> String {
    let (codex, url) = (codex_arg(c), gw.base_url());
    let mut args = vec!["install", "--codex", &codex, "--base-url", &url];
    args.extend_from_slice(extra);
    sb.run(&args, 0)
}

fn seed(name: &str) -> Vec<u8> {
    std::fs::read(crate::harness::corpus_dir("codex-configs").join(name)).expect("corpus seed")
}

fn codex_arg(c: &Codex) -> String {
    c.path.to_string_lossy().into_owned()
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn install_routes_the_profile_to_the_gateway_and_uninstall_restores() {
    let all = binaries();
    for c in &all {
        for name in SEEDS {
            let (gw, openai) = (gateway(), gateway());
            let sb = Sandbox::new();
            let original = seed(name);
            sb.write_config(&original);
            let out = install(&sb, c, &gw, &[]);
            // Healthy: install's own check (real Codex on 0.133+) is quiet.
            assert!(!out.contains("warning:"), "{} / {name}: {out}", c.version);

            assert_reached(&gw, c, &exec_profile(&sb, c, &openai, &[]), MODEL, 0);
            let other = "anthropic/claude-opus-4.6";
            assert_reached(
                &gw,
                c,
                &exec_profile(&sb, c, &openai, &["--model", other]),
                other,
                1,
            );

            // Plain `codex` still goes to OpenAI: the profile is opt-in.
            let plain = codex(&sb, c, &["hi"], &openai, true);
            assert_eq!(plain.code, Some(0), "{}: {}", c.version, plain.out);
            assert_eq!(
                posts(&gw, c.wire_path()).len(),
                2,
                "{}: plain codex hit the gateway",
                c.version
            );
            assert!(
                !posts(&openai, "/v1/responses").is_empty()
                    || !posts(&openai, "/v1/chat/completions").is_empty()
            );

            sb.uninstall();
            assert!(
                sb.read_config() == original,
                "{} / {name}: not byte for byte",
                c.version
            );
            assert!(!sb.profile_file().exists());
            // And Codex still starts on the restored file.
            let after = codex(&sb, c, &["hi"], &openai, true);
            assert_eq!(after.code, Some(0), "{}: {}", c.version, after.out);
        }
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn default_makes_plain_codex_use_the_gateway() {
    let all = binaries();
    for c in &all {
        let (gw, openai) = (gateway(), gateway());
        let sb = Sandbox::new();
        let original = seed(SEEDS[0]);
        sb.write_config(&original);
        install(&sb, c, &gw, &["--default"]);
        let plain = codex(&sb, c, &["hi"], &openai, true);
        assert_reached(&gw, c, &plain, MODEL, 0);
        assert!(
            posts(&openai, "/v1/responses").is_empty(),
            "{}: went to OpenAI",
            c.version
        );
        sb.uninstall();
        assert!(
            sb.read_config() == original,
            "{}: --default not undone",
            c.version
        );
    }
}

fn doctor_json(sb: &Sandbox, c: &Codex, key: bool) -> serde_json::Value {
    let codex = codex_arg(c);
    let args = ["--json", "--codex", codex.as_str(), "--timeout", "10"];
    let unset: &[&str] = if key { &[] } else { &["OMINIGATE_API_KEY"] };
    let env: &[(&str, &str)] = if key {
        &[("OMINIGATE_API_KEY", KEY)]
    } else {
        &[]
    };
    let run = doctor_env(sb, &args, env, unset);
    assert!(!run.stdout.contains(KEY), "doctor printed the key");
    run.json()
}

fn failing(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn doctor_agrees_with_real_codex() {
    let all = binaries();
    for c in &all {
        let gw = gateway();
        let sb = Sandbox::new();
        sb.write_config(seed(SEEDS[1]));
        install(&sb, c, &gw, &[]);
        let report = doctor_json(&sb, c, true);
        assert_eq!(report["overall"], "ok", "{}: {report:#}", c.version);

        // No key: doctor and Codex agree on what is wrong.
        let report = doctor_json(&sb, c, false);
        assert!(
            failing(&report).contains(&"env.key".to_string()),
            "{}: {report:#}",
            c.version
        );
        let run = codex(&sb, c, &["--profile", "ominigate", "hi"], &gw, false);
        assert_ne!(run.code, Some(0), "{}", c.version);
        assert!(
            run.out.contains("OMINIGATE_API_KEY"),
            "{}: {}",
            c.version,
            run.out
        );

        if c.version >= PROFILE_FILES {
            // A legacy selector breaks every run of new Codex.
            let mut text = String::from_utf8(sb.read_config()).expect("utf-8");
            text.insert_str(0, "profile = \"ominigate\"\n");
            std::fs::write(sb.config(), &text).expect("write");
            let report = doctor_json(&sb, c, true);
            assert!(
                failing(&report).contains(&"profile.location".to_string()),
                "{}: {report:#}",
                c.version
            );
            let run = codex(&sb, c, &["hi"], &gw, true);
            assert_ne!(run.code, Some(0), "{}", c.version);
            assert!(
                run.out.contains("no longer supported"),
                "{}: {}",
                c.version,
                run.out
            );
        }
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn the_guides_block_breaks_new_codex_and_install_repairs_it() {
    let all = binaries();
    for c in &all {
        let (gw, openai) = (gateway(), gateway());
        let sb = Sandbox::new();
        let pasted = crate::harness::GUIDE.replace("https://api.ominigate.ai/v1", &gw.base_url());
        sb.write_config(&pasted);
        let run = exec_profile(&sb, c, &openai, &[]);
        if c.chat() {
            assert_reached(&gw, c, &run, MODEL, 0);
        } else {
            assert_ne!(
                run.code,
                Some(0),
                "{}: the guide's block should break it",
                c.version
            );
            let said = if c.version >= PROFILE_FILES {
                "cannot be used while"
            } else {
                "no longer supported"
            };
            assert!(
                run.out.contains(said) || run.out.contains("no longer supported"),
                "{}: {}",
                c.version,
                run.out
            );
            assert!(posts(&gw, "/v1/chat/completions").is_empty());
            let report = doctor_json(&sb, c, true);
            let fails = failing(&report);
            assert!(
                fails.contains(&"provider.fields".to_string()),
                "{}: {report:#}",
                c.version
            );
            if c.version >= PROMPT_INPUT {
                assert!(
                    fails.contains(&"codex.accepts_config".to_string()),
                    "{}: {report:#}",
                    c.version
                );
            }
            if c.version >= PROFILE_FILES {
                assert!(
                    fails.contains(&"profile.location".to_string()),
                    "{}: {report:#}",
                    c.version
                );
            }
        }
        // install repairs it, whatever the release.
        sb.run(&["install", "--codex", &codex_arg(c)], 0);
        let before = posts(&gw, c.wire_path()).len();
        assert_reached(&gw, c, &exec_profile(&sb, c, &openai, &[]), MODEL, before);
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_deliberately_broken_install_is_caught() {
    let all = binaries();
    for c in all.iter().filter(|c| !c.chat()) {
        let (gw, openai) = (gateway(), gateway());
        let sb = Sandbox::new();
        let out = install(&sb, c, &gw, &["--wire-api", "chat", "--force"]);
        // Install itself says so: Codex's own verdict among its warnings.
        if c.version >= PROMPT_INPUT {
            assert!(
                out.contains("warning: codex.accepts_config: Codex"),
                "{}: {out}",
                c.version
            );
        }
        assert!(
            out.contains("1. Run `ominigate-codex --codex-home "),
            "{out}"
        );
        let run = exec_profile(&sb, c, &openai, &[]);
        assert_ne!(run.code, Some(0), "{}: chat must be refused", c.version);
        assert!(
            run.out.contains("no longer supported"),
            "{}: {}",
            c.version,
            run.out
        );
        assert!(
            gw.requests().iter().all(|r| r.method != "POST"),
            "{}",
            c.version
        );
    }
}

/// Real Codex loads the config in `sb` with plain `codex`: `debug
/// prompt-input` from 0.133 on (nothing is sent), else one `exec` against
/// the mock OpenAI.
fn accepts_plain(sb: &Sandbox, c: &Codex, openai: &Server) -> Run {
    if c.version < PROMPT_INPUT {
        return codex(sb, c, &["hi"], openai, true);
    }
    let args = ["debug", "prompt-input"];
    let mut cmd = codex_cmd(sb, c);
    cmd.args(args);
    run(cmd, c, &args)
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn legacy_shapes_round_trip_to_a_config_real_codex_accepts() {
    let all = binaries();
    for c in &all {
        for (name, input, clean) in crate::harness::legacy_shapes() {
            let (gw, openai) = (gateway(), gateway());
            let sb = Sandbox::new();
            sb.write_config(&input);
            install(&sb, c, &gw, &[]);
            assert_reached(
                &gw,
                c,
                &exec_profile(&sb, c, &openai, &[]),
                &model_of(&input),
                0,
            );
            sb.uninstall();
            assert!(
                sb.read_config() == clean.as_bytes(),
                "{} / {name}: not the clean file",
                c.version
            );
            assert!(!sb.profile_file().exists());
            let run = accepts_plain(&sb, c, &openai);
            assert_eq!(run.code, Some(0), "{} / {name}: {}", c.version, run.out);
        }
    }
}

/// The profile model a legacy shape sets.
fn model_of(input: &str) -> String {
    if input.contains("anthropic/claude-opus-4.6") {
        "anthropic/claude-opus-4.6".into()
    } else {
        MODEL.into()
    }
}
