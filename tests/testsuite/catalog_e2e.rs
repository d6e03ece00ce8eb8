//! Real Codex (0.133.0 and the newest given) with the model catalogue,
//! through `ominigate-codex codex exec` against the scripted chat-only
//! gateway, whose `/v1/models` lists a 1M-token and a 200k-token model
//! (harness/chat_gateway.rs `MODELS`): no fallback warning, `apply_patch`
//! offered, compaction at the model's real window (after `models
//! --refresh`, and after an install with the key, which reads the list
//! itself), metadata from Codex's own entries without the live list, none left after uninstall; and the
//! built-in template kept in step with the real binaries.
//!
//! `#[ignore]`d like the other real-Codex suites; run in a loopback-only
//! network namespace:
//!
//! ```sh
//! OMINIGATE_E2E_CODEX="…/0.133.0/codex …/0.171.0/codex" \
//!   unshare -rn sh -c 'ip link set lo up && exec cargo test --test testsuite -- --ignored catalog_e2e::'
//! ```

use serde_json::{Value, json};

use crate::bridge_e2e::{Run, exec_options, install, ominigate_codex_codex, releases, v};
use crate::harness::Sandbox;
use crate::harness::api::run_with_timeout;
use crate::harness::chat_gateway::{
    Call, ChatGateway, Turn, messages, text_stream, tool_calls_stream, usage_and_done,
};
use crate::harness::real_codex::Codex;

const FILE: &str = "ominigate-models.json";
const FALLBACK_WARNING: &str = "Model metadata for";
const DONE: &str = "All done with the catalogue.";
const SUMMARY: &str = "Summary: the user asked to run a command; it printed catalogue-e2e.";

/// The names of the tools a chat request offers.
fn tools(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str().map(String::from))
        .collect()
}

/// The request offers `apply_patch` (a function tool, from the bridge).
fn offers_apply_patch(body: &Value) -> Result<(), String> {
    let names = tools(body);
    match names.iter().any(|n| n == "apply_patch") {
        true => Ok(()),
        false => Err(format!("no apply_patch tool: {names:?}")),
    }
}

/// `ominigate-codex codex exec -m MODEL PROMPT` in the sandbox.
fn exec(sb: &Sandbox, c: &Codex, model: &str, prompt: &str) -> Run {
    let mut args = vec!["exec".to_string(), "-m".into(), model.into()];
    args.extend(exec_options());
    args.push(prompt.into());
    ominigate_codex_codex(sb, c, &args)
}

/// Codex exited 0, printed `printed`, and never fell back.
fn assert_known(c: &Codex, run: &Run, printed: &str, gw: &ChatGateway) {
    let ctx = || {
        format!(
            "codex {}:\n{}\n--- gateway checks failed\n{:?}",
            v(c),
            run.all(),
            gw.failures()
        )
    };
    assert_eq!(run.code, Some(0), "{}", ctx());
    assert!(run.stdout.contains(printed), "{}", ctx());
    assert!(
        !run.stdout.contains(FALLBACK_WARNING) && !run.stderr.contains(FALLBACK_WARNING),
        "fallback metadata: {}",
        ctx()
    );
    assert_eq!(gw.failures(), Vec::<String>::new(), "{}", ctx());
}

/// An `exec_command` call whose usage says `prompt` tokens.
fn call_at(prompt_tokens: u64) -> Turn {
    let args = json!({"cmd": "echo catalogue-e2e"}).to_string();
    let call = Call {
        id: "call_catalogue_1",
        name: "exec_command",
        arguments: &args,
    };
    let mut stream = tool_calls_stream(None, &[call], 64);
    stream.truncate(stream.len() - 2);
    stream.extend(usage_and_done(prompt_tokens, 20));
    Turn::stream(stream).expect(offers_apply_patch)
}

/// A request that asks for Codex's compaction summary.
fn is_compaction(body: &Value) -> bool {
    let last = messages(body).pop().unwrap_or_default();
    let text = last.to_string().to_lowercase();
    text.contains("summary") || text.contains("compact")
}

/// Install offline (the sandbox's default), then read the gateway's list
/// with `models --refresh`.
fn install_and_refresh(sb: &Sandbox, c: &Codex, gw: &ChatGateway) {
    install(sb, c, gw, &[]);
    sb.online();
    let path = c.path.to_string_lossy().into_owned();
    let out = sb.run(&["models", "--refresh", "--codex", &path], 0);
    assert!(out.contains("model metadata for"), "{out}");
}

/// Install with the key against the gateway: install itself reads the list.
fn install_online(sb: &Sandbox, c: &Codex, gw: &ChatGateway) {
    sb.online();
    install(sb, c, gw, &[]);
}

/// Install, read the gateway's list into the catalogue, and run
/// `ominigate-codex codex exec -m MODEL` against `turns`: Codex answers
/// [`DONE`] and never falls back. The sandbox, and how many chat requests
/// the gateway got.
fn refreshed_run(c: &Codex, turns: Vec<Turn>, model: &str) -> (Sandbox, usize) {
    run_after(c, turns, model, install_and_refresh)
}

/// [`refreshed_run`], with `setup` putting the catalogue in place.
fn run_after(
    c: &Codex,
    turns: Vec<Turn>,
    model: &str,
    setup: fn(&Sandbox, &Codex, &ChatGateway),
) -> (Sandbox, usize) {
    let sb = Sandbox::new();
    let gw = ChatGateway::start(turns);
    setup(&sb, c, &gw);
    let run = exec(&sb, c, model, "run the command");
    assert_known(c, &run, DONE, &gw);
    sb.assert_no_canary_in_files_but_codex_snapshots();
    (sb, gw.chat_bodies().len())
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn the_live_lists_metadata_reaches_codex() {
    for c in releases() {
        let turns = vec![Turn::stream(text_stream(DONE)).expect(offers_apply_patch)];
        let (sb, chats) = refreshed_run(&c, turns, "anthropic/claude-opus-4.6");
        assert_eq!(chats, 1, "{}", v(&c));
        window_from_gateway(&c, &sb, "anthropic/claude-opus-4.6");
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_200k_model_compacts_before_the_gateway_would_refuse() {
    for c in releases() {
        let (_, chats) = refreshed_run(&c, compacts_at_190k(), "anthropic/claude-opus-4.6");
        assert_eq!(chats, 3, "{}", v(&c));
    }
}

/// 190k used of 200k: Codex compacts (at 90%, 180k) before it asks again,
/// then goes on (three chat requests).
fn compacts_at_190k() -> Vec<Turn> {
    let compaction = |b: &Value| match is_compaction(b) {
        true => Ok(()),
        false => Err(format!(
            "not a compaction request: {}",
            messages(b).last().cloned().unwrap_or_default()
        )),
    };
    vec![
        call_at(190_000),
        Turn::stream(text_stream(SUMMARY)).expect(compaction),
        Turn::stream(text_stream(DONE)),
    ]
}

/// The catalogue's window for `slug` came from the gateway.
fn window_from_gateway(c: &Codex, sb: &Sandbox, slug: &str) {
    let catalog: Value =
        serde_json::from_slice(&sb.read(sb.codex_home().join(FILE)).unwrap()).unwrap();
    let windows = &catalog["ominigate_codex"]["windows"];
    assert_eq!(windows[slug], "gateway", "{}", v(c));
}

/// `ominigate-codex install` with the key reads the gateway's list itself:
/// no `models --refresh`, and Codex compacts a 200k model at 190k.
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn install_with_the_key_gives_codex_the_real_window() {
    for c in releases() {
        let model = "anthropic/claude-opus-4.6";
        let (sb, chats) = run_after(&c, compacts_at_190k(), model, install_online);
        assert_eq!(chats, 3, "{}", v(&c));
        window_from_gateway(&c, &sb, model);
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn a_1m_model_does_not_compact_at_300k() {
    for c in releases() {
        let no_compaction = |b: &Value| match is_compaction(b) {
            true => Err("compacted at 300k of 1M".to_string()),
            false => Ok(()),
        };
        let turns = vec![
            call_at(300_000),
            Turn::stream(text_stream(DONE)).expect(no_compaction),
        ];
        let (_, chats) = refreshed_run(&c, turns, "openai/gpt-5.4-pro");
        assert_eq!(chats, 2, "{}", v(&c));
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn without_the_key_the_default_model_still_has_metadata() {
    for c in releases() {
        let sb = Sandbox::new();
        // Online, so that the missing key is why the list is not read.
        sb.online();
        let gw = ChatGateway::start(vec![
            Turn::stream(text_stream(DONE)).expect(offers_apply_patch),
        ]);
        let codex = c.path.to_string_lossy().into_owned();
        let url = gw.base_url();
        let out = sb.exec(
            &["install", "--codex", &codex, "--base-url", &url],
            &[("OMINIGATE_API_KEY", None)],
        );
        assert_eq!(out.code, 0, "{}", out.all());
        assert!(out.stdout.contains("models --refresh"), "{}", out.stdout);
        let run = exec(&sb, &c, "openai/gpt-5.4-pro", "say done");
        assert_known(&c, &run, DONE, &gw);
    }
}

#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn uninstall_leaves_no_metadata() {
    for c in releases() {
        let sb = Sandbox::new();
        sb.write_config("# mine\n");
        let gw = ChatGateway::start(Vec::new());
        install_and_refresh(&sb, &c, &gw);
        sb.run(&["uninstall"], 0);
        assert!(sb.read(sb.codex_home().join(FILE)).is_none(), "{}", v(&c));
        assert_eq!(sb.read_config(), b"# mine\n");
        // Codex lists its own models again.
        let mut cmd = std::process::Command::new(&c.path);
        cmd.args(["debug", "models"])
            .env_clear()
            .env("HOME", sb.dir.path().join("home"))
            .env("CODEX_HOME", sb.codex_home());
        let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(30)).unwrap();
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{listed}");
        assert!(!listed.contains("anthropic/claude-opus-4.6"), "{listed}");
    }
}

/// The entry of the built-in template (for when no Codex binary can be
/// asked) is the real binaries' `gpt-5.5`, prompt and all.
#[test]
#[ignore = "needs real Codex: set OMINIGATE_E2E_CODEX, run in `unshare -rn` with --ignored"]
fn the_builtin_template_matches_the_real_codex() {
    let builtin = crate::harness::api::builtin_template();
    let e = &builtin.models[0];
    for c in releases() {
        let mut cmd = std::process::Command::new(&c.path);
        let home = tempfile::tempdir().unwrap();
        cmd.args(["debug", "models", "--bundled"])
            .env_clear()
            .env("HOME", home.path())
            .env("CODEX_HOME", home.path());
        let out = run_with_timeout(&mut cmd, std::time::Duration::from_secs(30)).unwrap();
        let bundled: Value = serde_json::from_slice(&out.stdout).unwrap();
        let real = bundled["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["slug"] == e.slug)
            .unwrap_or_else(|| panic!("codex {} has no {}", v(&c), e.slug));
        assert_eq!(
            real["base_instructions"],
            json!(e.base_instructions),
            "{}",
            v(&c)
        );
        assert_eq!(
            real["supported_reasoning_levels"],
            serde_json::to_value(&e.supported_reasoning_levels).unwrap(),
            "{}",
            v(&c)
        );
        assert_eq!(
            real["truncation_policy"],
            serde_json::to_value(&e.truncation_policy).unwrap()
        );
    }
}
