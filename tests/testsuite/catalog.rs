//! CLI tests of the model catalogue (`ominigate-models.json`): install
//! writes it and points the profile at it where each Codex era reads it,
//! `--dry-run` names it, uninstall removes it, `use` adds the model's
//! entry, `models --refresh` reads the windows from a loopback gateway,
//! `models` and doctor's `model.metadata` report it. The key (CANARY)
//! shows nowhere.

use serde_json::Value;

use crate::harness::server::{Answer, Server, reply};
use crate::harness::{CANARY, ERAS, Sandbox};

const FILE: &str = "ominigate-models.json";

/// An OpenRouter-style list: windows, reasoning, modalities.
const LIST: &str = r#"{"data": [
    {"id": "anthropic/claude-opus-4.6", "context_length": 200000,
     "top_provider": {"context_length": 200000},
     "supported_parameters": ["tools", "reasoning"],
     "architecture": {"input_modalities": ["text", "image"]}},
    {"id": "openai/gpt-5.4-pro", "context_length": 1050000, "supported_parameters": ["reasoning"]},
    {"id": "x/plain", "max_input_tokens": 32768, "supported_parameters": ["tools"]}
]}"#;

fn gateway(body: &'static str) -> Server {
    Server::start(move |r| match r.path.as_str() {
        "/v1/models" => reply(200, body),
        _ => reply(404, "{}"),
    })
}

fn catalogue(sb: &Sandbox) -> Option<Value> {
    let bytes = sb.read(sb.codex_home().join(FILE))?;
    Some(serde_json::from_slice(&bytes).expect("the catalogue is JSON"))
}

fn entry<'a>(c: &'a Value, slug: &str) -> &'a Value {
    c["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["slug"] == slug)
        .unwrap_or_else(|| panic!("no entry {slug} in {c}"))
}

fn slugs(c: &Value) -> Vec<String> {
    c["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn install_points_each_era_at_the_catalogue_and_uninstall_takes_both_away() {
    for era in ERAS {
        let sb = Sandbox::new();
        let out = sb.expect(&["install", "--codex-version", era], 0);
        let config = String::from_utf8(sb.read_config()).unwrap();
        let profile = sb
            .read(sb.profile_file())
            .map(|b| String::from_utf8(b).unwrap());
        let pointer = "model_catalog_json = \"ominigate-models.json\"\n";
        match era {
            "0.94.0" => {
                assert!(catalogue(&sb).is_none(), "{era}");
                assert!(!config.contains("model_catalog_json"), "{config}");
                assert!(
                    out.stdout.contains("reads no model catalogue"),
                    "{}",
                    out.stdout
                );
            }
            "0.133.0" => {
                assert!(
                    config.contains(&format!("model_provider = \"ominigate\"\n{pointer}")),
                    "{config}"
                );
                assert!(profile.is_none());
            }
            _ => {
                assert!(profile.unwrap().ends_with(pointer));
                assert!(!config.contains("model_catalog_json"), "{config}");
            }
        }
        if era != "0.94.0" {
            let c = catalogue(&sb).unwrap();
            assert_eq!(
                slugs(&c),
                [
                    "openai/gpt-5.4-pro",
                    "openai/gpt-5.3-codex",
                    "anthropic/claude-opus-4.6",
                    "google/gemini-3.1-pro-preview"
                ]
            );
            let e = entry(&c, "anthropic/claude-opus-4.6");
            assert_eq!(e["apply_patch_tool_type"], "freeform");
            assert_eq!(e["context_window"], 272_000, "unknown: the fallback's");
            assert!(e["base_instructions"].as_str().unwrap().len() > 1000);
            assert_eq!(
                c["ominigate_codex"]["windows"]["anthropic/claude-opus-4.6"],
                "unknown"
            );
            assert!(
                out.stdout.contains("context window unknown for"),
                "{}",
                out.stdout
            );
            assert!(out.stdout.contains("models --refresh"), "{}", out.stdout);
        }
        sb.expect(&["uninstall"], 0);
        assert!(
            catalogue(&sb).is_none(),
            "{era}: uninstall leaves no metadata"
        );
        assert!(
            sb.read(sb.config())
                .is_none_or(|b| !String::from_utf8_lossy(&b).contains("model_catalog_json"))
        );
    }
}

#[test]
fn dry_runs_name_the_catalogue_and_write_nothing() {
    let sb = Sandbox::new();
    let out = sb.expect(&["install", "--codex-version", "0.169.0", "--dry-run"], 0);
    assert!(
        out.stdout.contains(&format!(
            "would write {}: model metadata for openai/gpt-5.4-pro, openai/gpt-5.3-codex, anthropic/claude-opus-4.6, google/gemini-3.1-pro-preview\n",
            sb.codex_home().join(FILE).display()
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("+model_catalog_json = \"ominigate-models.json\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("base_instructions"), "no JSON diff");
    assert!(catalogue(&sb).is_none());
    sb.expect(&["install", "--codex-version", "0.169.0"], 0);
    let out = sb.expect(&["uninstall", "--dry-run"], 0);
    assert!(
        out.stdout.contains(&format!(
            "would remove {}\n",
            sb.codex_home().join(FILE).display()
        )),
        "{}",
        out.stdout
    );
    assert!(catalogue(&sb).is_some());
}

#[test]
fn use_adds_the_models_entry_and_keeps_the_others_in_place() {
    let sb = Sandbox::new();
    sb.expect(&["install", "--codex-version", "0.169.0"], 0);
    let before = sb.read(sb.codex_home().join(FILE)).unwrap();
    // A listed model: the catalogue does not change.
    sb.expect(
        &[
            "use",
            "anthropic/claude-opus-4.6",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    assert_eq!(sb.read(sb.codex_home().join(FILE)).unwrap(), before);
    sb.expect(
        &[
            "use",
            "deepseek/deepseek-v4",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    let c = catalogue(&sb).unwrap();
    assert_eq!(slugs(&c).len(), 5);
    assert_eq!(slugs(&c)[4], "deepseek/deepseek-v4");
    assert_eq!(entry(&c, "deepseek/deepseek-v4")["context_window"], 272_000);
}

#[test]
fn refresh_reads_windows_reasoning_and_modalities_from_the_gateway() {
    let server = gateway(LIST);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let out = sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    sb.assert_no_canary(&out);
    let c = catalogue(&sb).unwrap();
    let opus = entry(&c, "anthropic/claude-opus-4.6");
    assert_eq!(opus["context_window"], 200_000);
    assert_eq!(opus["max_context_window"], 200_000);
    let efforts: Vec<&str> = opus["supported_reasoning_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["effort"].as_str().unwrap())
        .collect();
    assert_eq!(efforts, ["low", "medium", "high"]);
    assert_eq!(
        opus["input_modalities"],
        serde_json::json!(["text", "image"])
    );
    let plain = entry(&c, "x/plain");
    assert_eq!(plain["context_window"], 32_768);
    assert_eq!(plain["supported_reasoning_levels"], serde_json::json!([]));
    assert_eq!(entry(&c, "openai/gpt-5.4-pro")["context_window"], 1_050_000);
    assert_eq!(c["ominigate_codex"]["windows"]["x/plain"], "gateway");
    assert_eq!(
        c["ominigate_codex"]["windows"]["openai/gpt-5.3-codex"],
        "unknown"
    );
    assert!(
        out.stdout.contains("not in OminiGate's list"),
        "{}",
        out.stdout
    );
    // The list shows what Codex now knows of each model.
    assert!(
        out.stdout
            .contains("  anthropic/claude-opus-4.6      200k window, reasons      recommended\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  x/plain                        32768 window, no effort"),
        "{}",
        out.stdout
    );
    // --json: one JSON object on stdout, the refresh quiet.
    let json = sb.expect(
        &[
            "models",
            "--refresh",
            "--json",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    let v: Value = serde_json::from_str(&json.stdout).expect("only JSON on stdout");
    assert_eq!(v["live"]["models"][0]["context_window"], 200_000);
    // The same list again: nothing to write.
    let again = sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );
    // An install offline keeps what the gateway said.
    sb.expect(&["install", "--codex-version", "0.169.0", "--offline"], 0);
    assert_eq!(
        entry(&catalogue(&sb).unwrap(), "x/plain")["context_window"],
        32_768
    );
    let json = sb.expect(
        &[
            "models",
            "--json",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["recommended"][2]["context_window"], 200_000);
    assert_eq!(v["recommended"][2]["reasons"], true);
    assert_eq!(v["recommended"][2]["metadata"], "catalogue");
    assert_eq!(v["recommended"][1]["window_unknown"], true);
    sb.assert_no_canary_in_files();
}

/// The guide's four, in the order install writes them.
const GUIDE: [&str; 4] = [
    "openai/gpt-5.4-pro",
    "openai/gpt-5.3-codex",
    "anthropic/claude-opus-4.6",
    "google/gemini-3.1-pro-preview",
];

#[test]
fn install_reads_the_live_list_with_the_key_and_writes_its_windows() {
    let server = gateway(LIST);
    let url = server.base_url();
    let install = ["install", "--codex-version", "0.169.0", "--base-url", &url];
    // --dry-run reads it too, to name what it would write.
    let sb = Sandbox::new();
    sb.online();
    let dry: Vec<&str> = install.iter().copied().chain(["--dry-run"]).collect();
    let out = sb.expect(&dry, 0);
    assert!(
        out.stdout
            .contains(&format!("{}, x/plain\n", GUIDE.join(", "))),
        "{}",
        out.stdout
    );
    assert!(catalogue(&sb).is_none());

    let out = sb.expect(&install, 0);
    let c = catalogue(&sb).unwrap();
    assert_eq!(slugs(&c)[..4], GUIDE);
    assert_eq!(slugs(&c)[4..], ["x/plain"]);
    let opus = entry(&c, "anthropic/claude-opus-4.6");
    assert_eq!(opus["context_window"], 200_000);
    assert_eq!(
        opus["input_modalities"],
        serde_json::json!(["text", "image"])
    );
    assert_eq!(entry(&c, "openai/gpt-5.4-pro")["context_window"], 1_050_000);
    assert_eq!(entry(&c, "x/plain")["context_window"], 32_768);
    assert_eq!(c["ominigate_codex"]["windows"]["x/plain"], "gateway");
    assert!(
        out.stdout.contains("not in OminiGate's list, so their context window is unknown (Codex's fallback, 272,000 tokens, is used): google/gemini-3.1-pro-preview, openai/gpt-5.3-codex"),
        "{}",
        out.stdout
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "the dry run and the install: {reqs:?}");
    for r in &reqs {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/v1/models"));
        assert_eq!(r.headers["authorization"], format!("Bearer {CANARY}"));
    }
    // The install read it: nothing left for a refresh.
    let again = sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    assert!(
        again.stdout.contains("nothing to change"),
        "{}",
        again.stdout
    );

    // A list that changed: the next install rewrites the catalogue.
    let changed = gateway(r#"{"data": [{"id": "new/one", "context_length": 64000}]}"#);
    let url = changed.base_url();
    sb.expect(
        &["install", "--codex-version", "0.169.0", "--base-url", &url],
        0,
    );
    let c = catalogue(&sb).unwrap();
    assert_eq!(entry(&c, "new/one")["context_window"], 64_000);
    assert_eq!(
        c["ominigate_codex"]["windows"]["anthropic/claude-opus-4.6"],
        "unknown"
    );
    sb.assert_no_canary_in_files();
}

#[test]
fn install_through_a_bridge_reads_the_list_of_the_gateway_it_forwards_to() {
    let upstream = gateway(LIST);
    let sb = Sandbox::new();
    sb.online();
    sb.expect(
        &[
            "install",
            "--codex-version",
            "0.171.0",
            "--bridge",
            "--bridge-port",
            "1",
            "--base-url",
            &upstream.base_url(),
        ],
        0,
    );
    assert_eq!(upstream.requests().len(), 1);
    let c = catalogue(&sb).unwrap();
    assert_eq!(entry(&c, "x/plain")["context_window"], 32_768);
}

/// Install against `server` with `extra` flags and `env`: the catalogue
/// holds the guide's four with unknown windows, and the output says so.
fn install_without_the_list(
    sb: &Sandbox,
    server: &Server,
    extra: &[&str],
    env: &[(&str, Option<&str>)],
) -> String {
    let url = server.base_url();
    let mut args = vec!["install", "--codex-version", "0.169.0", "--base-url", &url];
    args.extend_from_slice(extra);
    let out = sb.exec(&args, env);
    sb.assert_no_canary(&out);
    assert_eq!(out.code, 0, "{args:?}: {out}");
    let c = catalogue(sb).unwrap();
    assert_eq!(slugs(&c), GUIDE, "{args:?}");
    for slug in GUIDE {
        assert_eq!(c["ominigate_codex"]["windows"][slug], "unknown", "{slug}");
    }
    let mut sorted = GUIDE;
    sorted.sort();
    let sorted = sorted.join(", ");
    assert!(
        out.stdout.contains(&format!(
            "context window unknown for {sorted}: Codex's fallback (272,000 tokens) is used until `{} models --refresh` reads OminiGate's list (needs OMINIGATE_API_KEY)",
            sb.me()
        )),
        "{args:?}: {}",
        out.stdout
    );
    out.all()
}

#[test]
fn install_without_the_list_still_writes_the_guides_models_and_says_so() {
    // Offline (the flag, or OMINIGATE_CODEX_OFFLINE, which every sandbox
    // run gets unless `online`), or without the key: the gateway is not asked.
    let server = gateway(LIST);
    install_without_the_list(&Sandbox::new(), &server, &[], &[]);
    let sb = Sandbox::new();
    sb.online();
    install_without_the_list(&sb, &server, &["--offline"], &[]);
    let sb = Sandbox::new();
    sb.online();
    install_without_the_list(&sb, &server, &[], &[("OMINIGATE_API_KEY", None)]);
    let sb = Sandbox::new();
    sb.online();
    let offline = [("OMINIGATE_CODEX_OFFLINE", Some("yes"))];
    let out = install_without_the_list(&sb, &server, &[], &offline);
    assert!(!out.contains("could not read"), "{out}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // OMINIGATE_CODEX_OFFLINE=false asks as usual.
    let online = [("OMINIGATE_CODEX_OFFLINE", Some("false"))];
    let out = sb.exec(&["install", "--codex-version", "0.169.0"], &online);
    assert_eq!(out.code, 0, "{out}");
    assert_eq!(server.requests().len(), 1);

    // A gateway that fails, echoing the key, or does not answer in time:
    // the install goes on and says why.
    let failing = Server::start(|r| {
        let auth = r.headers["authorization"].clone();
        reply(
            500,
            &format!(r#"{{"error": {{"message": "upstream broke for {auth}"}}}}"#),
        )
    });
    let sb = Sandbox::new();
    sb.online();
    let out = install_without_the_list(&sb, &failing, &[], &[]);
    assert!(
        out.contains(&format!(
            "could not read OminiGate's live model list, so the catalogue is written without it: {}/models answered 500: upstream broke for Bearer sk-o",
            failing.base_url()
        )),
        "{out}"
    );
    let silent = Server::start(|_| Answer::Hang);
    let sb = Sandbox::new();
    sb.online();
    let out = install_without_the_list(&sb, &silent, &["--timeout", "1"], &[]);
    assert!(out.contains("no answer within 1 s"), "{out}");
}

#[test]
fn refresh_without_the_list_fails_and_writes_nothing() {
    let server = gateway(LIST);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let before = sb.tree();
    let out = sb.exec(
        &["models", "--refresh", "--codex-version", "0.169.0"],
        &[("OMINIGATE_API_KEY", None)],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("OMINIGATE_API_KEY is not set"),
        "{}",
        out.stderr
    );
    assert_eq!(sb.tree(), before);
    let empty = Sandbox::new();
    empty.online();
    let out = empty.exec(&["models", "--refresh", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not installed"), "{}", out.stderr);
    let old = Sandbox::new();
    old.expect(&["install", "--codex-version", "0.94.0"], 0);
    old.online();
    let out = old.exec(&["models", "--refresh", "--codex-version", "0.94.0"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("reads no model catalogue"),
        "{}",
        out.stderr
    );
}

/// doctor's check `id` (run with `args`), as JSON.
fn doctor_check(sb: &Sandbox, args: &[&str], id: &str) -> Value {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let out = sb.exec(&all, &[]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} check: {v:#}"))
        .clone()
}

/// doctor's check `id` (run with `args`): (status, summary).
fn status_of(sb: &Sandbox, args: &[&str], id: &str) -> (String, String) {
    let c = doctor_check(sb, args, id);
    (
        c["status"].as_str().unwrap().to_string(),
        c["summary"].as_str().unwrap().to_string(),
    )
}

/// doctor's `model.metadata`, offline: (status, summary).
fn metadata(sb: &Sandbox, era: &str) -> (String, String) {
    status_of(sb, &["--offline", "--codex-version", era], "model.metadata")
}

#[test]
fn doctor_says_when_codex_falls_back_and_fails_on_a_catalogue_that_does_not_load() {
    let sb = Sandbox::new();
    sb.expect(&["install", "--codex-version", "0.169.0"], 0);
    let (status, summary) = metadata(&sb, "0.169.0");
    assert_eq!(status, "ok", "{summary}");
    assert!(
        summary.starts_with("openai/gpt-5.4-pro: entry `openai/gpt-5.4-pro`"),
        "{summary}"
    );
    // A model set by hand, with no entry: fallback.
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    std::fs::write(
        sb.profile_file(),
        profile.replace("openai/gpt-5.4-pro", "my/own"),
    )
    .unwrap();
    let (status, summary) = metadata(&sb, "0.169.0");
    assert_eq!(
        (status.as_str(), summary.as_str()),
        (
            "warn",
            "my/own has no entry in the model catalogue: Codex uses its fallback metadata (a 272k window, no apply_patch)"
        )
    );
    // A catalogue Codex cannot load.
    std::fs::write(sb.codex_home().join(FILE), "{\"models\": [}").unwrap();
    let (status, summary) = metadata(&sb, "0.169.0");
    assert_eq!(status, "fail", "{summary}");
    assert!(summary.contains("does not load"), "{summary}");
    // No catalogue at all (a profile written by hand).
    std::fs::write(
        sb.profile_file(),
        "model = \"my/own\"\nmodel_provider = \"ominigate\"\n",
    )
    .unwrap();
    let (status, summary) = metadata(&sb, "0.169.0");
    assert_eq!(status, "warn", "{summary}");
    assert!(
        summary.starts_with("Codex uses its fallback metadata for my/own"),
        "{summary}"
    );
    // With --default, plain `codex` runs without the profile's catalogue: said.
    let default = Sandbox::new();
    default.expect(&["install", "--codex-version", "0.169.0", "--default"], 0);
    let c = doctor_check(
        &default,
        &["--offline", "--codex-version", "0.169.0"],
        "model.metadata",
    );
    assert_eq!(c["status"], "ok", "{c}");
    assert!(
        c["details"].to_string().contains(
            "plain `codex` (install --default) runs openai/gpt-5.4-pro without the catalogue"
        ),
        "{c}"
    );
    // 0.94 has none to check.
    let old = Sandbox::new();
    old.expect(&["install", "--codex-version", "0.94.0"], 0);
    assert_eq!(metadata(&old, "0.94.0").0, "skip");
}

/// Installed for 0.169.0 against a gateway serving LIST (returned, to keep
/// it running), the catalogue refreshed from it.
fn refreshed(sb: &Sandbox) -> Server {
    let first = gateway(LIST);
    let url = first.base_url();
    sb.expect(
        &["install", "--codex-version", "0.169.0", "--base-url", &url],
        0,
    );
    // The install stays offline (see `Sandbox`): the refresh reads the list.
    sb.online();
    sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    first
}

#[test]
fn doctor_says_when_the_live_list_changed_since_the_refresh() {
    let sb = Sandbox::new();
    let _first = refreshed(&sb);
    let models = |sb: &Sandbox| status_of(sb, &["--codex-version", "0.169.0"], "endpoint.models");
    assert_eq!(models(&sb).0, "ok", "the same list: {:?}", models(&sb));
    // The same gateway now lists one more model.
    let changed = gateway(
        r#"{"data": [{"id": "openai/gpt-5.4-pro", "context_length": 1050000}, {"id": "new/one"}]}"#,
    );
    let url = changed.base_url();
    // Offline, so that the catalogue keeps the first list (an install that
    // reads the list rebuilds it, see `install_reads_the_live_list…`).
    sb.expect(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--base-url",
            &url,
            "--offline",
        ],
        0,
    );
    let (status, summary) = models(&sb);
    assert_eq!(status, "warn", "{summary}");
    assert!(
        summary.contains("the list changed since the model catalogue was built"),
        "{summary}"
    );
    sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    assert_eq!(models(&sb).0, "ok");
    sb.assert_no_canary_in_files();
}

#[test]
fn a_long_live_list_is_capped_and_use_adds_any_other() {
    let data: Vec<Value> = (0..130)
        .map(|i| serde_json::json!({"id": format!("v/m-{i:03}"), "context_length": 64_000}))
        .chain([serde_json::json!({"id": "bad\u{202e}id"})])
        .collect();
    let body: &'static str = Box::leak(
        serde_json::json!({ "data": data })
            .to_string()
            .into_boxed_str(),
    );
    let server = gateway(body);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let out = sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    assert!(
        out.stdout
            .contains("31 more models of the gateway's list have no entry (at most 100 get one"),
        "{}",
        out.stdout
    );
    let c = catalogue(&sb).unwrap();
    let all = slugs(&c);
    assert_eq!(all.len(), 104, "the guide's four and 100 listed");
    assert_eq!(all[4], "v/m-000");
    assert_eq!(all[103], "v/m-099");
    assert!(!all.iter().any(|s| s.contains('\u{202e}')));
    // Refreshing again does not grow it; `use` adds its model.
    sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    assert_eq!(slugs(&catalogue(&sb).unwrap()).len(), 104);
    sb.expect(&["use", "v/m-120", "--codex-version", "0.169.0"], 0);
    let c = catalogue(&sb).unwrap();
    assert_eq!(slugs(&c).len(), 105);
    assert_eq!(entry(&c, "v/m-120")["context_window"], 64_000);
}

/// A fake `codex` 0.171.0 on the sandbox's PATH: `debug models --bundled`
/// runs `bundled` (shell), `debug models -c …` runs `load`.
fn fake_codex(sb: &Sandbox, bundled: &str, load: &str) {
    use std::os::unix::fs::PermissionsExt;
    let template = sb.dir.path().join("bundled.json");
    let entries = crate::harness::api::builtin_template();
    std::fs::write(&template, serde_json::to_string(&entries).unwrap()).unwrap();
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then echo 'codex-cli 0.171.0'; exit 0; fi\n\
         if [ \"$1 $2 $3\" = 'debug models --bundled' ]; then {bundled}; fi\n\
         if [ \"$1 $2 $3\" = 'debug models -c' ]; then {load}; fi\n\
         if [ \"$1 $2 $3 $4\" = '--profile ominigate debug prompt-input' ]; then exit 0; fi\n\
         echo \"unexpected: $*\" >&2; exit 64\n"
    )
    .replace("TEMPLATE", &template.display().to_string());
    let path = sb.dir.path().join("bin/codex");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_catalogue_codex_refuses_is_not_written() {
    let sb = Sandbox::new();
    sb.write_config("# mine\n");
    fake_codex(
        &sb,
        "/bin/cat TEMPLATE; exit 0",
        "echo 'Error: failed to load model catalog: unknown variant `freeform`' >&2; exit 1",
    );
    let before = sb.tree();
    let out = sb.exec(&["install"], &[]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("does not load the model catalogue ominigate-codex made for it: it exited with status 1: Error: failed to load model catalog"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    // The command it names works on this home as printed.
    let doctor = format!("run `{} doctor`", sb.me());
    assert!(out.stderr.contains(&doctor), "{doctor}: {}", out.stderr);
    assert_eq!(sb.tree(), before, "nothing written");
    // One that loads a catalogue but not the models it was given: refused too.
    fake_codex(
        &sb,
        "/bin/cat TEMPLATE; exit 0",
        "/bin/cat TEMPLATE; echo; exit 0",
    );
    let out = sb.exec(&["install"], &[]);
    assert_eq!(out.code, 1, "it lists only its own model: {}", out.all());
    assert!(
        out.stderr.contains("it does not list openai/gpt-5.4-pro"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_codex_that_cannot_list_its_models_gets_no_catalogue() {
    let sb = Sandbox::new();
    fake_codex(
        &sb,
        "echo 'error: unrecognized subcommand' >&2; exit 2",
        "exit 2",
    );
    let out = sb.expect(&["install"], 0);
    assert!(
        out.stdout.contains("no model catalogue: `")
            && out.stdout.contains("debug models --bundled` gave no model list (it exited with status 2: error: unrecognized subcommand)"),
        "{}",
        out.stdout
    );
    assert!(catalogue(&sb).is_none());
    let profile = String::from_utf8(sb.read(sb.profile_file()).unwrap()).unwrap();
    assert!(!profile.contains("model_catalog_json"), "{profile}");
}

/// Every command the catalogue's checks and errors print names the Codex
/// home, so it works as printed: doctor's fix for a model with no entry and
/// for a list that changed, and `models --refresh`'s help when the list is
/// not available.
#[test]
fn the_catalogues_fixes_name_the_codex_home() {
    let sb = Sandbox::new();
    let _first = refreshed(&sb);
    // The gateway now lists another model.
    let server = gateway(r#"{"data": [{"id": "new/one"}]}"#);
    let url = server.base_url();
    // Offline: the catalogue keeps the list it was refreshed from.
    sb.expect(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--base-url",
            &url,
            "--offline",
        ],
        0,
    );
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    std::fs::write(
        sb.profile_file(),
        profile.replace("openai/gpt-5.4-pro", "my/own"),
    )
    .unwrap();
    let me = sb.me();
    let c = doctor_check(&sb, &["--codex-version", "0.169.0"], "model.metadata");
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(
        c["remediation"][0],
        format!("{me} use my/own   (adds its entry)"),
        "{c}"
    );
    let c = doctor_check(&sb, &["--codex-version", "0.169.0"], "endpoint.models");
    assert_eq!(c["status"], "warn", "{c}");
    assert_eq!(c["remediation"][0], format!("{me} models --refresh"), "{c}");
    drop(server);
    let out = sb.run(&["models", "--refresh", "--codex-version", "0.169.0"], 1);
    assert!(
        out.contains(&format!("check base_url with `{me} doctor`")),
        "{out}"
    );
}

/// After `install --bridge`, the live list comes from the gateway install
/// recorded, which the bridge forwards `/models` to: `models --refresh`
/// works whether the bridge runs or not (it asked the bridge's port, and
/// failed while it was down; `models` and `use`: models.rs).
#[test]
fn the_live_list_after_install_bridge_comes_from_the_recorded_gateway() {
    let server = gateway(LIST);
    let sb = Sandbox::new();
    // A port nothing listens on: the bridge is not running.
    let port = crate::harness::unused_port();
    sb.install_bridge("0.169.0", port, &server.base_url());
    // Install stays offline (see `Sandbox`): the refresh reads the list.
    sb.online();
    sb.expect(&["models", "--refresh", "--codex-version", "0.169.0"], 0);
    let cat = catalogue(&sb).unwrap();
    let opus = cat["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["slug"] == "anthropic/claude-opus-4.6")
        .unwrap()
        .clone();
    assert_eq!(opus["context_window"], 200000, "{opus}");
    let out = sb.run(&["models", "--codex-version", "0.169.0"], 0);
    assert!(out.contains("x/plain"), "{out}");
    sb.assert_no_canary_in_files();
}

/// `models` on Codex 0.94, which reads no catalogue, does not send the user
/// to `install` for one (install writes none for 0.94).
#[test]
fn models_on_0_94_does_not_promise_a_catalogue() {
    let sb = Sandbox::new();
    sb.expect(&["install", "--codex-version", "0.94.0"], 0);
    let out = sb.run(&["models", "--offline", "--codex-version", "0.94.0"], 0);
    assert!(!out.contains("writes one"), "{out}");
    assert!(
        out.contains("No model catalogue: Codex 0.94.0 reads none (`model_catalog_json` came with 0.95), so it uses its fallback metadata (272k window) for these\n"),
        "{out}"
    );
}
