//! CLI tests of `doctor`: every check in each state, the guide's three
//! troubleshooting cases, every Codex error string of codex-compat.md, every
//! TOML shape, the gateway checks against a loopback server, exit codes and
//! the JSON schema. The API key (support::CANARY) never shows anywhere.

use std::time::{Duration, Instant};

use crate::harness::doctor::*;
use crate::harness::fake_codex::*;
use crate::harness::server::*;
use crate::harness::{CANARY, GUIDE, Sandbox, tree};

const IDS: [&str; 14] = [
    "codex.binary",
    "codex.accepts_config",
    "config.parse",
    "provider.present",
    "provider.fields",
    "profile.location",
    "profile.fields",
    "resolution",
    "model.metadata",
    "env.key",
    "env.openai_conflict",
    "bridge.reachable",
    "endpoint.models",
    "endpoint.wire",
];

/// The guide's block, pasted verbatim into config.toml.
const PROVIDER: &str = r#"[model_providers.ominigate]
name = "OminiGate"
base_url = "https://api.ominigate.ai/v1"
env_key = "OMINIGATE_API_KEY"
wire_api = "responses"
requires_openai_auth = false
request_max_retries = 4
stream_max_retries = 10
stream_idle_timeout_ms = 300000
"#;

const PROFILE: &str = "model = \"openai/gpt-5.4-pro\"\nmodel_provider = \"ominigate\"\n";

fn new_layout(sb: &Sandbox, config: &str) {
    sb.write_config(config);
    std::fs::write(sb.profile_file(), PROFILE).unwrap();
}

fn config_path(sb: &Sandbox) -> String {
    sb.config().display().to_string()
}

// ---------------------------------------------------------------- whole runs

#[test]
fn installed_config_passes_every_offline_check_in_every_era() {
    for era in crate::harness::ERAS {
        let sb = Sandbox::new();
        sb.install(era);
        let r = report(&sb, &["--codex-version", era]);
        assert_eq!(r["overall"], "ok", "{era}: {r:#}");
        for id in IDS[2..10].iter().filter(|id| **id != "model.metadata") {
            assert_status(&r, id, "ok");
        }
        let metadata = if era == "0.94.0" { "skip" } else { "ok" };
        assert_status(&r, "model.metadata", metadata);
        assert_status(&r, "codex.binary", "skip");
        assert_status(&r, "codex.accepts_config", "skip");
        assert_status(&r, "endpoint.models", "skip");
        assert!(
            text(&r, "resolution")
                .contains("`codex --profile ominigate` → ominigate (openai/gpt-5.4-pro)")
        );
        assert!(
            text(&r, "env.key").contains("OMINIGATE_API_KEY is set (sk-o…7b3d)"),
            "{}",
            text(&r, "env.key")
        );
    }
}

#[test]
fn json_schema_and_order() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["codex_version"], "0.169.0");
    let obj = r.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["checks", "codex_version", "overall", "schema_version"]
    );
    let checks = r["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, IDS);
    for c in checks {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["details", "id", "remediation", "status", "summary"]);
        assert!(["ok", "warn", "fail", "skip"].contains(&c["status"].as_str().unwrap()));
        assert!(c["details"].is_array() && c["remediation"].is_array());
        assert!(!c["summary"].as_str().unwrap().is_empty());
    }
    // No binary and no flag: codex_version is null, the newest rules apply.
    let r = report(&sb, &[]);
    assert!(r["codex_version"].is_null());
    assert_status(&r, "codex.binary", "warn");
}

#[test]
fn every_warn_or_fail_has_a_remediation() {
    let sb = Sandbox::new();
    sb.write_config(format!(
        "profile = \"ominigate\"\n{GUIDE}[model_providers.x]\nname = \"x\"\nwire_api = \"chat\"\n"
    ));
    let r = doctor_env(
        &sb,
        &["--json", "--offline", "--codex-version", "0.169.0"],
        &[("OPENAI_API_KEY", "sk-openai-SECRET-0123456789")],
        &["OMINIGATE_API_KEY"],
    )
    .json();
    assert_eq!(r["overall"], "fail");
    for c in r["checks"].as_array().unwrap() {
        if c["status"] == "warn" || c["status"] == "fail" {
            assert!(!c["remediation"].as_array().unwrap().is_empty(), "{c:#}");
        }
    }
}

#[test]
fn exit_codes() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    assert_eq!(
        doctor(&sb, &["--offline", "--codex-version", "0.169.0"]).code,
        0
    );
    // A warning alone (no codex on PATH) is still exit 0.
    let run = doctor(&sb, &["--offline"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("[!!] codex.binary"));
    let run = doctor_env(
        &sb,
        &["--offline", "--codex-version", "0.169.0"],
        &[],
        &["OMINIGATE_API_KEY"],
    );
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, "", "a failing check prints no error: line");
    for bad in [
        vec!["--codex", "/x", "--codex-version", "0.1.0"],
        vec!["--timeout", "0"],
        vec!["--timeout", "x"],
        vec!["--codex-version", "1.2"],
        vec!["--bogus"],
    ] {
        let run = doctor(&sb, &bad);
        assert_eq!(run.code, 2, "{bad:?}: {}", run.stderr);
    }
}

#[test]
fn human_output_is_grouped_ascii_with_fixes_and_one_summary_line() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    std::fs::remove_file(sb.profile_file()).unwrap();
    let run = doctor(&sb, &["--offline", "--codex-version", "0.169.0"]);
    assert_eq!(run.code, 1);
    let out = &run.stdout;
    assert!(
        !out.contains('\x1b') && !out.contains('✓'),
        "not a terminal: ASCII, no colour\n{out}"
    );
    for group in ["\nCodex\n", "\nConfig\n", "\nEnvironment\n", "\nGateway\n"] {
        assert!(out.contains(group), "{group:?}\n{out}");
    }
    assert!(out.contains("  [ok] provider.present"), "{out}");
    assert!(out.contains("  [xx] profile.location"), "{out}");
    assert!(out.contains("  [--] endpoint.models"), "{out}");
    assert!(
        out.contains(&format!("       fix: run `{} install`", sb.me())),
        "{out}"
    );
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("5 ok, 0 warnings, 2 failed, 7 skipped"),
        "{last}"
    );
    assert_eq!(out.lines().filter(|l| l.contains(" ok, ")).count(), 1);
    // --verbose also shows the details of passing checks.
    let verbose = sb
        .cmd()
        .env("OMINIGATE_CODEX_SYSTEM_CONFIG", sb.system_config())
        .current_dir(sb.work_dir())
        .args([
            "--verbose",
            "doctor",
            "--offline",
            "--codex-version",
            "0.169.0",
        ])
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    assert!(verbose.contains("precedence, highest first"), "{verbose}");
}

#[test]
fn doctor_writes_nothing() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    fake_codex(&sb, "codex-cli 0.169.0", "", 0);
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => reply(200, &models_body(&["openai/gpt-5.4-pro"])),
        _ => reply(200, "{}"),
    });
    let url = server.base_url();
    let ours = |sb: &Sandbox| {
        [sb.codex_home(), sb.root().join("home"), sb.work_dir()].map(|dir| tree(&dir))
    };
    sb.run(
        &["install", "--codex-version", "0.169.0", "--base-url", &url],
        0,
    );
    let before = ours(&sb);
    let run = doctor(&sb, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(ours(&sb), before);
    // Codex ran, on a scratch copy of the config that is gone now.
    let log = codex_log(&sb);
    let scratch = log
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("CODEX_HOME=");
    assert_ne!(scratch, sb.codex_home().display().to_string());
    assert!(!std::path::Path::new(scratch).exists());
    assert!(
        log.contains(&url),
        "the scratch copy holds the config: {log}"
    );
    // Even a missing Codex home is not created.
    let empty = Sandbox::new();
    doctor(&empty, &["--offline"]);
    assert!(!empty.codex_home().exists());
}

// ---------------------------------------------------------------- codex.*

#[test]
fn codex_binary_ok_warn_fail_skip() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let r = report(&sb, &[]);
    assert_status(&r, "codex.binary", "warn");
    assert!(text(&r, "codex.binary").contains("npm i -g @openai/codex"));

    let path = fake_codex(&sb, "codex-cli 0.169.0", "", 0);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.binary", "ok");
    assert!(text(&r, "codex.binary").contains(&format!("Codex 0.169.0 at {}", path.display())));
    assert_eq!(r["codex_version"], "0.169.0");

    let r = report(&sb, &["--codex-version", "0.94.0"]);
    assert_status(&r, "codex.binary", "skip");
    assert_eq!(r["codex_version"], "0.94.0");

    fake_codex(&sb, "not codex", "", 0);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.binary", "fail");
    assert!(text(&r, "codex.binary").contains("does not answer `--version` like Codex"));

    // --codex PATH names a binary off the PATH.
    let other = sb.dir.path().join("codex-0.133");
    std::fs::write(&other, "#!/bin/sh\necho 'codex-cli 0.133.0'\n").unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let r = report(&sb, &["--codex", other.to_str().unwrap()]);
    assert_status(&r, "codex.binary", "ok");
    assert_eq!(r["codex_version"], "0.133.0");
}

#[test]
fn accepts_config_ok_when_codex_loads_it() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    fake_codex(&sb, "codex-cli 0.169.0", "", 0);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.accepts_config", "ok");
    assert!(text(&r, "codex.accepts_config").contains("--profile ominigate debug prompt-input"));
}

#[test]
fn accepts_config_fails_quoting_codex_with_the_real_home_and_the_fix() {
    let sb = Sandbox::new();
    sb.write_config(GUIDE);
    let codex_says = "Error: --profile `ominigate` cannot be used while HOME/config.toml contains legacy `profile = \"ominigate\"` or `[profiles.ominigate]` config; move those settings into HOME/ominigate.config.toml and remove the legacy profile selector/table.";
    fake_codex(&sb, "codex-cli 0.169.0", codex_says, 1);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.accepts_config", "fail");
    let t = text(&r, "codex.accepts_config");
    assert!(
        t.contains(&format!(
            "cannot be used while {}/config.toml",
            sb.codex_home().display()
        )),
        "{t}"
    );
    assert!(t.contains("exited with 1"), "{t}");
    assert!(
        t.contains(&format!(
            "run `{} install`: it moves the legacy profile",
            sb.me()
        )),
        "{t}"
    );

    let chat = "Error: HOME/config.toml:6:12: `wire_api = \"chat\"` is no longer supported.\nHow to fix: set `wire_api = \"responses\"` in your provider config.";
    fake_codex(&sb, "codex-cli 0.133.0", chat, 1);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.accepts_config", "fail");
    let t = text(&r, "codex.accepts_config");
    assert!(
        t.contains(&format!("{}/config.toml:6:12", sb.codex_home().display())),
        "{t}"
    );
    assert!(
        t.contains("wire_api = \"responses\"") && t.contains("npm i -g @openai/codex@0.94.0"),
        "{t}"
    );
}

#[test]
fn accepts_config_skips_without_a_binary_old_codex_or_a_flag() {
    let sb = Sandbox::new();
    sb.install("0.94.0");
    let r = report(&sb, &[]);
    assert_status(&r, "codex.accepts_config", "skip");
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "codex.accepts_config", "skip");
    fake_codex(&sb, "codex-cli 0.94.0", "", 1);
    let r = report(&sb, &[]);
    assert_status(&r, "codex.accepts_config", "skip");
    assert!(text(&r, "codex.accepts_config").contains("has no `debug prompt-input`"));
    assert_eq!(codex_log(&sb), "", "0.94 was not asked");
}

/// With the real Codex binaries that scripts/fetch-codex.sh caches (in
/// `$OMINIGATE_CODEX_CACHE`, else `~/.cache/ominigate-codex/codex`).
/// `codex debug prompt-input` makes no network request.
#[test]
#[ignore = "needs real Codex 0.133.0 and 0.169.0 cached by scripts/fetch-codex.sh; run with --ignored"]
fn real_codex_binaries() {
    let cache = std::env::var_os("OMINIGATE_CODEX_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::Path::new(&h).join(".cache/ominigate-codex/codex"))
        });
    let cache = crate::harness::needs(cache, "OMINIGATE_CODEX_CACHE or HOME");
    for era in ["0.133.0", "0.169.0"] {
        let bin = cache.join(era).join("codex");
        let bin = crate::harness::needs(
            bin.is_file().then_some(bin),
            &format!(
                "real Codex {era} at {} (bash scripts/fetch-codex.sh {era})",
                cache.join(era).join("codex").display()
            ),
        );
        let sb = Sandbox::new();
        sb.install(era);
        let r = report(&sb, &["--codex", bin.to_str().unwrap()]);
        assert_status(&r, "codex.accepts_config", "ok");
        assert_eq!(r["overall"], "ok", "{r:#}");

        let sb = Sandbox::new();
        sb.write_config(GUIDE);
        let r = report(&sb, &["--codex", bin.to_str().unwrap()]);
        assert_status(&r, "codex.accepts_config", "fail");
        let t = text(&r, "codex.accepts_config");
        let want = if era == "0.133.0" {
            "`wire_api = \"chat\"` is no longer supported."
        } else {
            "--profile `ominigate` cannot be used while"
        };
        assert!(t.contains(want), "{era}: {t}");
        assert!(
            t.contains(&sb.config().display().to_string()),
            "{era}: names the real file: {t}"
        );
    }
}

// ---------------------------------------------------------------- config.parse

#[test]
fn config_parse_ok_warn_fail() {
    let sb = Sandbox::new();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "config.parse", "warn");
    assert!(text(&r, "config.parse").contains("does not exist"));
    assert_status(&r, "provider.present", "fail");

    sb.write_config("[tui]\nnotifications = true\n\nbad = = 1\n");
    let run = doctor(&sb, &["--json", "--offline", "--codex-version", "0.169.0"]);
    assert_eq!(run.code, 1);
    let r = run.json();
    assert_status(&r, "config.parse", "fail");
    let t = text(&r, "config.parse");
    assert!(
        t.contains(&format!("{}:4:7: invalid TOML", config_path(&sb))),
        "{t}"
    );
    assert!(t.contains("    4 | bad = = 1"), "{t}");
    for id in [
        "provider.present",
        "provider.fields",
        "profile.location",
        "profile.fields",
        "resolution",
    ] {
        assert_status(&r, id, "skip");
    }

    sb.write_config("a = 1\nmodel_providers = \"x\"\n");
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "config.parse", "fail");
    assert!(text(&r, "config.parse").contains(&format!(
        "{}:2: `model_providers` is a string, but it must be a table",
        config_path(&sb)
    )));

    sb.write_config(b"a = \"\xff\"\n");
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "config.parse", "fail");
    assert!(text(&r, "config.parse").contains("not valid UTF-8"));

    // A broken profile file counts on 0.134+.
    new_layout(&sb, PROVIDER);
    std::fs::write(sb.profile_file(), "model = \n").unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "config.parse", "fail");
    assert!(text(&r, "config.parse").contains("ominigate.config.toml:1:"));
}

// ---------------------------------------------------------------- shapes

#[test]
fn every_toml_shape_is_read_with_its_line() {
    let shapes = [
        ("standard", format!("model = \"gpt-5\"\n\n{PROVIDER}"), 3, "a [table]", 7),
        (
            "dotted",
            "model = \"gpt-5\"\nmodel_providers.ominigate.name = \"OminiGate\"\nmodel_providers.ominigate.base_url = \"https://api.ominigate.ai/v1\"\nmodel_providers.ominigate.env_key = \"OMINIGATE_API_KEY\"\nmodel_providers.ominigate.wire_api = \"chat\"\n".to_string(),
            2,
            "dotted keys",
            5,
        ),
        (
            "inline",
            "model = \"gpt-5\"\n\nmodel_providers = { ominigate = { name = \"OminiGate\", base_url = \"https://api.ominigate.ai/v1\", env_key = \"OMINIGATE_API_KEY\", wire_api = \"chat\" } }\n".to_string(),
            3,
            "an inline table",
            3,
        ),
    ];
    for (name, config, block_line, shape, wire_line) in shapes {
        let sb = Sandbox::new();
        new_layout(&sb, &config);
        let r = report(&sb, &["--codex-version", "0.169.0"]);
        assert_status(&r, "provider.present", "ok");
        let present = text(&r, "provider.present");
        assert!(
            present.contains(&format!("{}:{block_line} ({shape})", config_path(&sb))),
            "{name}: {present}"
        );
        if name == "standard" {
            assert_ok_but_fallback_metadata(&r);
        } else {
            // chat on 0.169, in this shape, named by its line
            assert_status(&r, "provider.fields", "fail");
            let f = text(&r, "provider.fields");
            assert!(
                f.contains(&format!("{}:{wire_line} (`", config_path(&sb))),
                "{name}: {f}"
            );
            // ... and fine on 0.94
            let r = report(&sb, &["--codex-version", "0.94.0"]);
            assert_status(&r, "provider.fields", "ok");
        }
    }
}

// ---------------------------------------------------------------- provider.*

#[test]
fn provider_present_fails_with_codexs_words_when_selected_but_missing() {
    let sb = Sandbox::new();
    sb.write_config("model_provider = \"ominigate\"\nmodel = \"openai/gpt-5.4-pro\"\n");
    std::fs::write(sb.profile_file(), PROFILE).unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "provider.present", "fail");
    let t = text(&r, "provider.present");
    assert!(t.contains("Model provider `ominigate` not found"), "{t}");
    assert!(
        t.contains(&format!("{}:1 selects it", config_path(&sb))),
        "{t}"
    );
    assert!(t.contains(&format!("{} install", sb.me())), "{t}");
    assert_status(&r, "provider.fields", "skip");
    assert_status(&r, "resolution", "fail");
    assert!(text(&r, "resolution").contains("Model provider `ominigate` not found"));
}

#[test]
fn provider_block_in_the_profile_file_or_the_system_config() {
    let sb = Sandbox::new();
    sb.write_config("[tui]\nx = 1\n");
    std::fs::write(sb.profile_file(), format!("{PROFILE}{PROVIDER}")).unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "provider.present", "ok");
    assert!(text(&r, "provider.present").contains("only `codex --profile ominigate` sees it"));
    assert_ok_but_fallback_metadata(&r);
    // Before 0.134 the profile file is not read.
    let r = report(&sb, &["--codex-version", "0.133.0"]);
    assert_status(&r, "provider.present", "fail");
    assert!(text(&r, "provider.present").contains("does not read that file"));

    let sb = Sandbox::new();
    new_layout(&sb, "");
    std::fs::write(sb.system_config(), PROVIDER).unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "provider.present", "ok");
    assert!(text(&r, "provider.present").contains(&sb.system_config().display().to_string()));
}

#[test]
fn provider_fields_each_problem_with_its_line_and_fix() {
    let cases: [(&str, &str, &str, &str); 9] = [
        (
            "base_url = \"https://api.ominigate.ai/v1\"",
            "base_url = \"http://api.ominigate.ai/v1\"",
            "fail",
            "plain http to another machine",
        ),
        (
            "env_key = \"OMINIGATE_API_KEY\"\n",
            "",
            "fail",
            "env_key is not set",
        ),
        (
            "name = \"OminiGate\"\n",
            "",
            "fail",
            "provider name must not be empty",
        ),
        (
            "wire_api = \"responses\"",
            "wire_api = \"foo\"",
            "fail",
            "wire_api is `foo`; Codex expects `responses`",
        ),
        (
            "request_max_retries = 4",
            "request_max_retries = -1",
            "fail",
            "invalid value: integer `-1`, expected u64",
        ),
        (
            "request_max_retries = 4",
            "request_max_retries = \"4\"",
            "fail",
            "request_max_retries is a string",
        ),
        (
            "request_max_retries = 4",
            "request_max_retries = 0",
            "warn",
            "no retries",
        ),
        (
            "stream_idle_timeout_ms = 300000",
            "stream_idle_timeout_ms = 500",
            "warn",
            "cut off",
        ),
        (
            "requires_openai_auth = false",
            "requires_openai_auth = true",
            "warn",
            "OpenAI login",
        ),
    ];
    for (from, to, want, says) in cases {
        let sb = Sandbox::new();
        new_layout(&sb, &PROVIDER.replace(from, to));
        let r = report(&sb, &["--codex-version", "0.169.0"]);
        assert_status(&r, "provider.fields", want);
        let t = text(&r, "provider.fields");
        assert!(t.contains(says), "{to}: {t}");
        assert!(
            !check(&r, "provider.fields")["remediation"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        if !to.is_empty() {
            // The fix names the line that holds the key.
            let line = PROVIDER
                .replace(from, to)
                .lines()
                .position(|l| l.starts_with(to.split(' ').next().unwrap()))
                .unwrap()
                + 1;
            assert!(
                t.contains(&format!("{}:{line} (`", config_path(&sb))),
                "{to}: {t}"
            );
        }
    }
    // Differences from the recommended values are listed, not failed.
    let sb = Sandbox::new();
    new_layout(
        &sb,
        &PROVIDER.replace("stream_max_retries = 10", "stream_max_retries = 3"),
    );
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "provider.fields", "ok");
    assert!(
        text(&r, "provider.fields").contains("stream_max_retries = 3 (the guide recommends 10)")
    );
}

#[test]
fn env_key_holding_the_key_itself_is_masked() {
    let sb = Sandbox::new();
    let in_config = "sk-omg-INCONFIG-0123456789abcdef";
    new_layout(
        &sb,
        &PROVIDER.replace(
            "env_key = \"OMINIGATE_API_KEY\"",
            &format!("env_key = \"{in_config}\""),
        ),
    );
    let run = doctor(&sb, &["--offline", "--codex-version", "0.169.0"]);
    assert!(!run.stdout.contains(in_config), "{}", run.stdout);
    assert!(
        run.stdout.contains("looks like an API key (sk-o…cdef)"),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 1);
}

#[test]
fn chat_in_any_provider_block_breaks_every_run_from_0_95() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let mut config = String::from_utf8(sb.read_config()).unwrap();
    config.push_str("\n[model_providers.other]\nname = \"Other\"\nbase_url = \"https://other.example/v1\"\nwire_api = \"chat\"\n");
    sb.write_config(&config);
    let line = config
        .lines()
        .position(|l| l == "wire_api = \"chat\"")
        .unwrap()
        + 1;
    for era in ["0.95.0", "0.133.0", "0.169.0"] {
        let r = report(&sb, &["--codex-version", era]);
        assert_status(&r, "provider.fields", "fail");
        let t = text(&r, "provider.fields");
        assert!(
            t.contains(&format!(
                "{}:{line} (`wire_api = \"chat\"`)",
                config_path(&sb)
            )),
            "{t}"
        );
        assert!(t.contains("[model_providers.other] uses chat"), "{t}");
        assert!(
            t.contains("`wire_api = \"chat\"` is no longer supported."),
            "{t}"
        );
        assert_status(&r, "resolution", "fail");
        assert!(
            text(&r, "resolution").contains("plain `codex` → Codex refuses to start"),
            "{}",
            text(&r, "resolution")
        );
    }
    let r = report(&sb, &["--codex-version", "0.94.0"]);
    assert_status(&r, "provider.fields", "ok");
}

// ---------------------------------------------------------------- profile.*

#[test]
fn guide_block_on_each_era() {
    let sb = Sandbox::new();
    sb.write_config(GUIDE);
    // 0.94: exactly what the guide was written for.
    let r = report(&sb, &["--codex-version", "0.94.0"]);
    assert_eq!(r["overall"], "ok", "{r:#}");
    assert!(text(&r, "resolution").contains("codex exec --profile ominigate"));

    // 0.133: chat refused, by every run; the profile table is right.
    let r = report(&sb, &["--codex-version", "0.133.0"]);
    assert_status(&r, "provider.fields", "fail");
    assert!(text(&r, "provider.fields").contains(&format!(
        "{}:6 (`wire_api = \"chat\"`): set `wire_api = \"responses\"`",
        config_path(&sb)
    )));
    assert!(text(&r, "provider.fields").contains("npm i -g @openai/codex@0.94.0"));
    assert_status(&r, "profile.location", "ok");

    // 0.169: the legacy table too.
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "profile.location", "fail");
    let t = text(&r, "profile.location");
    assert!(t.contains(&format!(
        "--profile `ominigate` cannot be used while {} contains legacy `profile = \"ominigate\"` or `[profiles.ominigate]` config; move those settings into {}",
        config_path(&sb),
        sb.profile_file().display()
    )), "{t}");
    assert!(
        t.contains(&format!(
            "{}:11: legacy [profiles.ominigate]",
            config_path(&sb)
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "run `{} install`: it moves [profiles.ominigate]",
            sb.me()
        )),
        "{t}"
    );
    assert!(
        !t.contains("silently"),
        "Codex refuses before it could fall back: {t}"
    );
    assert_status(&r, "profile.fields", "skip");
    let res = text(&r, "resolution");
    assert!(
        res.contains("`codex --profile ominigate` → Codex refuses to start"),
        "{res}"
    );
}

#[test]
fn legacy_profile_selector_breaks_every_run_on_0_134() {
    let sb = Sandbox::new();
    new_layout(&sb, &format!("profile = \"ominigate\"\n{PROVIDER}"));
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "profile.location", "fail");
    let t = text(&r, "profile.location");
    assert!(t.contains("legacy `profile = \"ominigate\"` config is no longer supported; use `--profile ominigate` with `ominigate.config.toml` instead"), "{t}");
    assert!(
        t.contains(&format!(
            "{}:1: delete the line `profile = \"ominigate\"`",
            config_path(&sb)
        )),
        "{t}"
    );
    assert!(t.contains(&format!("{} install --default", sb.me())), "{t}");
    let res = text(&r, "resolution");
    assert!(
        res.contains("plain `codex` → Codex refuses to start"),
        "{res}"
    );
    // Up to 0.133 it is a valid default-profile selector.
    sb.write_config(format!(
        "profile = \"ominigate\"\n{PROVIDER}[profiles.ominigate]\n{PROFILE}"
    ));
    let r = report(&sb, &["--codex-version", "0.133.0"]);
    assert_ok_but_fallback_metadata(&r);
    assert!(text(&r, "resolution").contains("plain `codex` → ominigate (openai/gpt-5.4-pro)"));
}

/// The guide's "Codex keeps calling api.openai.com instead of OminiGate".
#[test]
fn guide_keeps_calling_openai() {
    // 0.134+: no profile file, so --profile silently falls back to OpenAI.
    let sb = Sandbox::new();
    sb.install("0.169.0");
    std::fs::remove_file(sb.profile_file()).unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "profile.location", "fail");
    let t = text(&r, "profile.location");
    assert!(
        t.contains("silently runs on the defaults") && t.contains("keeps calling api.openai.com"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "or create {} with model = \"openai/gpt-5.4-pro\" and model_provider = \"ominigate\"",
            sb.profile_file().display()
        )),
        "{t}"
    );
    assert_status(&r, "resolution", "fail");
    let res = text(&r, "resolution");
    assert!(
        res.contains("`codex --profile ominigate` → openai"),
        "{res}"
    );

    // A profile that selects another provider.
    let sb = Sandbox::new();
    new_layout(&sb, PROVIDER);
    std::fs::write(
        sb.profile_file(),
        "model = \"gpt-5\"\nmodel_provider = \"openai\"\n",
    )
    .unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "profile.fields", "fail");
    assert!(text(&r, "profile.fields").contains(&format!(
        "{}:2 (`model_provider = \"openai\"`): set `model_provider = \"ominigate\"`",
        sb.profile_file().display()
    )));
    assert_status(&r, "resolution", "fail");
}

#[test]
fn profile_missing_up_to_0_133_is_profile_not_found() {
    let sb = Sandbox::new();
    new_layout(&sb, PROVIDER);
    let r = report(&sb, &["--codex-version", "0.133.0"]);
    assert_status(&r, "profile.location", "fail");
    let t = text(&r, "profile.location");
    assert!(t.contains("config profile `ominigate` not found"), "{t}");
    assert!(t.contains("it is for Codex 0.134+"), "{t}");
    assert_status(&r, "profile.fields", "skip");
    assert!(text(&r, "resolution").contains("config profile `ominigate` not found"));
}

#[test]
fn profile_fields_ok_warn_fail_skip() {
    let sb = Sandbox::new();
    new_layout(&sb, PROVIDER);
    assert_status(
        &report(&sb, &["--codex-version", "0.169.0"]),
        "profile.fields",
        "ok",
    );

    // model inherited from config.toml: a warning naming where to add it.
    new_layout(
        &sb,
        &format!("model = \"openai/gpt-5.3-codex\"\n{PROVIDER}"),
    );
    std::fs::write(sb.profile_file(), "model_provider = \"ominigate\"\n").unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "profile.fields", "warn");
    let t = text(&r, "profile.fields");
    assert!(
        t.contains(&format!(
            "\"openai/gpt-5.3-codex\" is inherited (from {}:1)",
            config_path(&sb)
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "add `model = \"openai/gpt-5.4-pro\"` to {}",
            sb.profile_file().display()
        )),
        "{t}"
    );

    // No model anywhere.
    new_layout(&sb, PROVIDER);
    std::fs::write(sb.profile_file(), "model_provider = \"ominigate\"\n").unwrap();
    assert_status(
        &report(&sb, &["--codex-version", "0.169.0"]),
        "profile.fields",
        "fail",
    );

    // Wrong type in the table era.
    sb.write_config(format!(
        "{PROVIDER}[profiles.ominigate]\nmodel = 5\nmodel_provider = \"ominigate\"\n"
    ));
    let r = report(&sb, &["--codex-version", "0.133.0"]);
    assert_status(&r, "profile.fields", "fail");
    assert!(text(&r, "profile.fields").contains("model is an integer"));

    // Skip when there is no profile where Codex reads it.
    std::fs::remove_file(sb.profile_file()).unwrap();
    assert_status(
        &report(&sb, &["--codex-version", "0.169.0"]),
        "profile.fields",
        "skip",
    );
}

// ---------------------------------------------------------------- resolution

#[test]
fn resolution_walks_trusted_project_configs_and_the_system_config() {
    let sb = Sandbox::new();
    sb.run(&["install", "--codex-version", "0.169.0", "--default"], 0);
    let work = sb.work_dir();
    std::fs::create_dir_all(work.join(".codex")).unwrap();
    std::fs::write(
        work.join(".codex/config.toml"),
        "model_provider = \"openai\"\nmodel = \"gpt-5\"\n",
    )
    .unwrap();

    // Untrusted: ignored.
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert!(
        text(&r, "resolution").contains("plain `codex` → ominigate (openai/gpt-5.4-pro)"),
        "{}",
        text(&r, "resolution")
    );
    assert!(text(&r, "config.parse").contains("is not a trusted project"));

    // Trusted in the user config: it wins over config.toml for plain codex,
    // but the profile file still wins for --profile.
    let mut config = String::from_utf8(sb.read_config()).unwrap();
    config.push_str(&format!(
        "\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
        work.display()
    ));
    sb.write_config(&config);
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    let t = text(&r, "resolution");
    assert!(t.contains("plain `codex` → openai (gpt-5)"), "{t}");
    assert!(
        t.contains("`codex --profile ominigate` → ominigate (openai/gpt-5.4-pro)"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "model_provider comes from the trusted project config {}/.codex/config.toml",
            work.display()
        )),
        "{t}"
    );
    assert_status(&r, "resolution", "ok");

    // The system config is the lowest layer.
    let sb = Sandbox::new();
    sb.install("0.169.0");
    std::fs::write(
        sb.system_config(),
        "model_provider = \"ominigate\"\nmodel = \"anthropic/claude-opus-4.6\"\n",
    )
    .unwrap();
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    let t = text(&r, "resolution");
    assert!(
        t.contains("plain `codex` → ominigate (anthropic/claude-opus-4.6)"),
        "{t}"
    );
    assert!(
        t.contains(&format!("(from {}:1)", sb.system_config().display())),
        "{t}"
    );
}

// ---------------------------------------------------------------- env.*

/// The guide's "Codex complains that OMINIGATE_API_KEY is missing".
#[test]
fn guide_key_missing() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let unset = ["OMINIGATE_API_KEY"];
    let r = doctor_env(
        &sb,
        &["--json", "--offline", "--codex-version", "0.169.0"],
        &[],
        &unset,
    )
    .json();
    assert_status(&r, "env.key", "fail");
    let t = text(&r, "env.key");
    assert!(
        t.contains("Missing environment variable: `OMINIGATE_API_KEY`."),
        "{t}"
    );
    assert!(
        t.contains("add this line to ~/.bashrc, with your key: export OMINIGATE_API_KEY="),
        "{t}"
    );
    assert!(
        check(&r, "endpoint.models")["summary"]
            .as_str()
            .unwrap()
            .contains("--offline")
    );

    // Exported in ~/.bashrc but not in this shell: relaunch from a new shell.
    let rc = sb.dir.path().join("home/.bashrc");
    std::fs::write(
        &rc,
        format!("# mine\nalias ll='ls -l'\nexport OMINIGATE_API_KEY=\"{CANARY}\"\n"),
    )
    .unwrap();
    let run = doctor_env(
        &sb,
        &["--offline", "--codex-version", "0.169.0"],
        &[],
        &unset,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains(&format!("set in {}:3, but not in this shell", rc.display())),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "open a new terminal (or `source {}`)",
            rc.display()
        )),
        "{}",
        run.stdout
    );

    // Empty, placeholder, white space.
    for (value, want, says) in [
        ("", "fail", "set but empty"),
        ("sk-omg-your-api-key", "fail", "placeholder"),
        (&format!("{CANARY}\n") as &str, "warn", "white space"),
    ] {
        let r = doctor_env(
            &sb,
            &["--json", "--offline", "--codex-version", "0.169.0"],
            &[("OMINIGATE_API_KEY", value)],
            &[],
        )
        .json();
        assert_status(&r, "env.key", want);
        assert!(
            text(&r, "env.key").contains(says),
            "{value:?}: {}",
            text(&r, "env.key")
        );
    }
}

#[test]
fn env_key_follows_the_configured_variable() {
    let sb = Sandbox::new();
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--env-key",
            "MY_GATEWAY_KEY",
        ],
        0,
    );
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "env.key", "fail");
    assert!(text(&r, "env.key").contains("Missing environment variable: `MY_GATEWAY_KEY`."));
    let r = doctor_env(
        &sb,
        &["--json", "--offline", "--codex-version", "0.169.0"],
        &[("MY_GATEWAY_KEY", CANARY)],
        &[],
    )
    .json();
    assert_status(&r, "env.key", "ok");
    assert!(text(&r, "env.key").contains("MY_GATEWAY_KEY is set (sk-o…7b3d)"));
}

/// A key too short to show any of is counted, in one pair of brackets
/// (issue 21: it was `is set (…(11 characters))`).
#[test]
fn a_short_key_is_counted_in_one_pair_of_brackets() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let out = doctor_env(
        &sb,
        &["--offline", "--codex-version", "0.169.0"],
        &[("OMINIGATE_API_KEY", "short-key-1")],
        &[],
    );
    assert!(
        out.stdout
            .contains("OMINIGATE_API_KEY is set (11 characters, not shown)"),
        "{out}"
    );
    assert!(!out.stdout.contains("short-key"), "{out}");
}

#[test]
fn openai_variables_are_a_warning_with_the_unset_line() {
    let sb = Sandbox::new();
    sb.install("0.94.0");
    let openai_key = "sk-openai-SECRET-0123456789abcdef";
    let r = report(&sb, &["--codex-version", "0.94.0"]);
    assert_status(&r, "env.openai_conflict", "ok");
    let run = doctor_env(
        &sb,
        &["--json", "--offline", "--codex-version", "0.94.0"],
        &[
            ("OPENAI_API_KEY", openai_key),
            ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
        ],
        &[],
    );
    assert!(!run.stdout.contains(openai_key));
    let r = run.json();
    assert_status(&r, "env.openai_conflict", "warn");
    let t = text(&r, "env.openai_conflict");
    assert!(t.contains("unset OPENAI_API_KEY OPENAI_BASE_URL"), "{t}");
    assert!(t.contains("Codex 0.94.0 sends plain `codex`"), "{t}");
    assert_eq!(run.code, 0, "a warning is not a failure");
}

// ---------------------------------------------------------------- endpoint.*

/// Install for `era` pointing at `server`; returns the sandbox.
fn online(sb: &Sandbox, era: &str, timeout: &str) -> (i32, serde_json::Value) {
    let run = doctor(
        sb,
        &["--json", "--codex-version", era, "--timeout", timeout],
    );
    (run.code, run.json())
}

#[test]
fn endpoints_ok_send_the_key_and_the_profile_model() {
    let server = Server::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/models") => reply(
            200,
            &models_body(&["anthropic/claude-opus-4.6", "openai/gpt-5.4-pro"]),
        ),
        ("POST", "/v1/responses") => reply(200, "{\"id\":\"resp_1\",\"output\":[]}"),
        _ => reply(404, "{}"),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (code, r) = online(&sb, "0.169.0", "5");
    assert_eq!(code, 0, "{r:#}");
    assert_status(&r, "endpoint.models", "ok");
    assert!(text(&r, "endpoint.models").contains("openai/gpt-5.4-pro is among the 2 models"));
    assert_status(&r, "endpoint.wire", "ok");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for req in &reqs {
        assert_eq!(
            req.headers.get("authorization").map(String::as_str),
            Some(format!("Bearer {CANARY}").as_str())
        );
    }
    let post = reqs.iter().find(|r| r.method == "POST").unwrap();
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["model"], "openai/gpt-5.4-pro");
    assert!(body["input"].is_string(), "Responses format: {body}");
}

#[test]
fn chat_codex_probes_chat_completions() {
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => reply(200, &models_body(&["openai/gpt-5.4-pro"])),
        "/v1/chat/completions" => reply(200, "{\"choices\":[]}"),
        _ => reply(404, "{}"),
    });
    let sb = Sandbox::installed_at("0.94.0", &server.base_url(), &[]);
    let (code, r) = online(&sb, "0.94.0", "5");
    assert_eq!(code, 0, "{r:#}");
    assert_status(&r, "endpoint.wire", "ok");
    let post = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path, "/v1/chat/completions");
    let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    assert_eq!(body["messages"][0]["role"], "user");
}

#[test]
fn endpoint_models_warns_when_the_model_is_not_listed() {
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => reply(
            200,
            &models_body(&["openai/gpt-5.4-pro-2026", "google/gemini-3.1-pro-preview"]),
        ),
        _ => reply(400, "{\"error\":{\"message\":\"bad probe\"}}"),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (code, r) = online(&sb, "0.169.0", "5");
    assert_eq!(code, 0);
    assert_status(&r, "endpoint.models", "warn");
    let t = text(&r, "endpoint.models");
    assert!(
        t.contains("listed and close: openai/gpt-5.4-pro-2026"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "{}:2: set model = \"openai/gpt-5.4-pro-2026\"",
            sb.profile_file().display()
        )),
        "{t}"
    );
    // 400 to the probe: the endpoint exists.
    assert_status(&r, "endpoint.wire", "ok");
    assert!(text(&r, "endpoint.wire").contains("bad probe"));
}

#[test]
fn endpoint_401_and_403_are_explained_and_an_echoed_key_is_masked() {
    for (status, says) in [(401, "OminiGate rejected the key"), (403, "not allowed")] {
        let server = Server::start(move |r| {
            // A server that echoes the Authorization header back.
            let auth = r.headers.get("authorization").cloned().unwrap_or_default();
            reply(
                status,
                &format!("{{\"error\":{{\"message\":\"invalid token {auth}\"}}}}"),
            )
        });
        let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
        let (code, r) = online(&sb, "0.169.0", "5");
        assert_eq!(code, 1);
        for id in ["endpoint.models", "endpoint.wire"] {
            assert_status(&r, id, "fail");
            let t = text(&r, id);
            assert!(t.contains(says), "{t}");
            assert!(
                t.contains("invalid token Bearer sk-o…7b3d"),
                "echo is masked: {t}"
            );
        }
        assert!(text(&r, "endpoint.models").contains("OminiGate dashboard"));
    }
}

#[test]
fn endpoint_models_404_means_a_wrong_base_url() {
    let server = Server::start(|_| reply(404, "not here"));
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (_, r) = online(&sb, "0.169.0", "5");
    assert_status(&r, "endpoint.models", "fail");
    let t = text(&r, "endpoint.models");
    assert!(t.contains("base_url is probably wrong"), "{t}");
    assert!(
        t.contains(&format!("{}:4 (`base_url = ", config_path(&sb))),
        "{t}"
    );
    // Both wire endpoints missing: the same diagnosis for endpoint.wire.
    assert_status(&r, "endpoint.wire", "fail");
    let t = text(&r, "endpoint.wire");
    assert!(t.contains("nothing there"), "{t}");
    assert!(
        t.contains("/v1/chat/completions answered 404 too: base_url is probably wrong"),
        "{t}"
    );
}

/// The guide's "I get 404 Not Found on every request", per Codex era.
#[test]
fn guide_404_on_every_request() {
    let chat_only = |r: &Request| match r.path.as_str() {
        "/v1/models" => reply(200, &models_body(&["openai/gpt-5.4-pro"])),
        "/v1/chat/completions" => reply(200, "{\"choices\":[]}"),
        _ => reply(404, "{\"error\":{\"message\":\"Not Found\"}}"),
    };
    // New Codex only speaks Responses: pin 0.94.0 or wait for OminiGate.
    let server = Server::start(chat_only);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (code, r) = online(&sb, "0.169.0", "5");
    assert_eq!(code, 1);
    assert_status(&r, "endpoint.wire", "fail");
    let t = text(&r, "endpoint.wire");
    assert!(
        t.contains("this gateway serves chat completions only"),
        "{t}"
    );
    assert!(t.contains("404 Not Found on every request"), "{t}");
    assert!(
        t.contains("Codex 0.169.0 speaks only the Responses API"),
        "{t}"
    );
    let me = sb.me();
    assert!(t.contains(&format!("`{me} codex`")), "{t}");
    assert!(
        t.contains(&format!("`{me} install --bridge`, then `{me} bridge`")),
        "{t}"
    );
    assert!(t.contains("--print-service"), "{t}");
    assert!(t.contains("npm i -g @openai/codex@0.94.0"), "{t}");

    // Codex 0.94 with wire_api = "responses": switch to chat, at this line.
    let server = Server::start(chat_only);
    let sb = Sandbox::installed_at("0.94.0", &server.base_url(), &["--wire-api", "responses"]);
    let (_, r) = online(&sb, "0.94.0", "5");
    assert_status(&r, "endpoint.wire", "fail");
    let t = text(&r, "endpoint.wire");
    assert!(
        t.contains(&format!(
            "{}:6 (`wire_api = \"responses\"`): set wire_api = \"chat\"",
            config_path(&sb)
        )),
        "{t}"
    );

    // chat forced onto 0.169: the probe goes to /responses, what Codex calls once fixed.
    let server = Server::start(chat_only);
    let sb = Sandbox::installed_at(
        "0.169.0",
        &server.base_url(),
        &["--wire-api", "chat", "--force"],
    );
    let (_, r) = online(&sb, "0.169.0", "5");
    let t = text(&r, "endpoint.wire");
    assert!(
        t.contains("wire_api = \"chat\" cannot work with Codex 0.169.0"),
        "{t}"
    );
    assert!(server.requests().iter().any(|r| r.path == "/v1/responses"));

    // A 404 about the model is about the model.
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => reply(200, &models_body(&["openai/gpt-5.4-pro"])),
        _ => reply(
            404,
            "{\"error\":{\"message\":\"The model `x` does not exist\",\"code\":\"model_not_found\"}}",
        ),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (_, r) = online(&sb, "0.169.0", "5");
    assert!(text(&r, "endpoint.wire").contains("404 about the model"));
}

#[test]
fn endpoint_hang_ends_at_the_timeout() {
    let server = Server::start(|_| Answer::Hang);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let start = Instant::now();
    let (code, r) = online(&sb, "0.169.0", "1");
    let took = start.elapsed();
    assert_eq!(code, 1);
    assert!(
        took < Duration::from_secs(8),
        "both requests at once, 1 s each: {took:?}"
    );
    for id in ["endpoint.models", "endpoint.wire"] {
        assert_status(&r, id, "fail");
        let t = text(&r, id);
        assert!(
            t.contains("no answer within 1 s") && t.contains("--timeout"),
            "{t}"
        );
    }
}

#[test]
fn redirects_are_reported_and_never_followed() {
    let other = Server::start(|_| reply(200, &models_body(&["openai/gpt-5.4-pro"])));
    let target = format!("http://localhost:{}/v1/models", other.addr.port());
    let server = Server::start(move |_| Answer::Reply {
        status: 302,
        headers: vec![("Location".into(), target.clone())],
        body: String::new(),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (code, r) = online(&sb, "0.169.0", "5");
    assert_eq!(code, 1);
    assert_status(&r, "endpoint.models", "fail");
    let t = text(&r, "endpoint.models");
    assert!(
        t.contains(&format!(
            "redirects (302) to http://localhost:{}/v1/models",
            other.addr.port()
        )),
        "{t}"
    );
    assert!(
        t.contains("another host") && t.contains("not followed"),
        "{t}"
    );
    assert!(
        other.requests().is_empty(),
        "the key went to the redirect target"
    );
}

#[test]
fn endpoints_skip_offline_without_a_key_or_with_unsafe_http() {
    let server = Server::start(|_| reply(200, "{}"));
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let r = report(&sb, &["--codex-version", "0.169.0"]);
    assert_status(&r, "endpoint.models", "skip");
    assert_status(&r, "endpoint.wire", "skip");
    let r = doctor_env(
        &sb,
        &["--json", "--codex-version", "0.169.0"],
        &[],
        &["OMINIGATE_API_KEY"],
    )
    .json();
    assert_status(&r, "endpoint.models", "skip");
    assert!(text(&r, "endpoint.models").contains("OMINIGATE_API_KEY is not set"));
    // A config that does not load: nothing to ask the gateway about.
    let good = sb.read_config();
    sb.write_config("x = = 1\n");
    let r = doctor(&sb, &["--json", "--codex-version", "0.169.0"]).json();
    assert_status(&r, "endpoint.wire", "skip");
    assert_eq!(
        check(&r, "endpoint.wire")["summary"],
        format!(
            "cannot check: {} does not load (see config.parse)",
            config_path(&sb)
        )
    );
    sb.write_config(good);
    // Plain http to another machine: never sent.
    let config = String::from_utf8(sb.read_config())
        .unwrap()
        .replace(&server.base_url(), "http://gateway.example/v1");
    sb.write_config(config);
    let r = doctor(&sb, &["--json", "--codex-version", "0.169.0"]).json();
    assert_status(&r, "endpoint.models", "skip");
    assert!(text(&r, "endpoint.models").contains("not sending the key"));
    assert_status(&r, "provider.fields", "fail");
    assert!(server.requests().is_empty());
}

#[test]
fn server_errors_and_rate_limits() {
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => reply(503, "{\"error\":{\"message\":\"upstream down\"}}"),
        _ => reply(429, "{\"error\":{\"message\":\"slow down\"}}"),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let (_, r) = online(&sb, "0.169.0", "5");
    assert_status(&r, "endpoint.models", "fail");
    assert!(text(&r, "endpoint.models").contains("upstream down"));
    assert_status(&r, "endpoint.wire", "warn");
    assert!(text(&r, "endpoint.wire").contains("rate limited"));
}

/// `/responses` 404 or 405 with chat completions answering is a chat-only
/// gateway; with nothing at chat completions either, a wrong base_url.
#[test]
fn endpoint_wire_tells_chat_only_from_nothing_there() {
    for (responses, chat, chat_only) in [
        (405, 200, true),
        (404, 400, true),
        (405, 401, true),
        (405, 404, false),
        (404, 405, false),
        (404, 500, false),
    ] {
        let server = Server::start(move |r| match r.path.as_str() {
            "/v1/models" => reply(200, &models_body(&["openai/gpt-5.4-pro"])),
            "/v1/responses" => reply(responses, "{}"),
            "/v1/chat/completions" => reply(chat, "{}"),
            _ => reply(404, "{}"),
        });
        let sb = Sandbox::installed_at("0.171.0", &server.base_url(), &[]);
        let (code, r) = online(&sb, "0.171.0", "5");
        assert_eq!(code, 1);
        assert_status(&r, "endpoint.wire", "fail");
        let t = text(&r, "endpoint.wire");
        let case = format!("{responses}/{chat}:\n{t}");
        assert_eq!(
            t.contains("serves chat completions only"),
            chat_only,
            "{case}"
        );
        assert_eq!(
            t.contains(&format!("`{} codex`", sb.me())),
            chat_only,
            "{case}"
        );
        assert_eq!(
            t.contains(&format!("`{} install --bridge`", sb.me())),
            chat_only,
            "{case}"
        );
        assert_eq!(t.contains("nothing there"), !chat_only, "{case}");
        assert_eq!(
            t.contains("base_url is probably wrong"),
            !chat_only,
            "{case}"
        );
        // A local gateway install --bridge did not set up is not asked for /health.
        assert_status(&r, "bridge.reachable", "skip");
        assert!(server.requests().iter().all(|r| r.path != "/health"));
    }
}

const UPSTREAM: &str = "https://gw.example/v1";

/// A stand-in for the bridge on `127.0.0.1:PORT`: `/health` as the bridge
/// answers it, forwarding to `upstream`, and `/v1/models` answered `models`.
fn fake_bridge(upstream: &'static str, models: (u16, String)) -> Server {
    Server::start(move |r| {
        match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/health") => reply(
            200,
            &serde_json::json!({"status": "ok", "service": "ominigate-codex bridge", "upstream": upstream})
                .to_string(),
        ),
        ("GET", "/v1/models") => reply(models.0, &models.1),
        ("POST", "/v1/responses") => reply(200, "{\"id\":\"resp_1\",\"output\":[]}"),
        _ => reply(404, "{}"),
    }
    })
}

/// `install --bridge --bridge-port PORT --base-url UPSTREAM`.
fn bridged(port: u16) -> Sandbox {
    let sb = Sandbox::new();
    sb.install_bridge("0.171.0", port, UPSTREAM);
    // Install stays offline (see `Sandbox`); the checks ask the server.
    sb.online();
    sb
}

#[test]
fn bridge_reachable_ok_through_a_running_bridge() {
    let server = fake_bridge(UPSTREAM, (200, models_body(&["openai/gpt-5.4-pro"])));
    let sb = bridged(server.addr.port());
    let (code, r) = online(&sb, "0.171.0", "5");
    assert_eq!(code, 0, "{r:#}");
    assert_status(&r, "bridge.reachable", "ok");
    let t = text(&r, "bridge.reachable");
    assert!(
        t.contains(&format!(
            "the bridge on 127.0.0.1:{} is up (forwarding to {UPSTREAM}) and reaches it: 1 model listed",
            server.addr.port()
        )),
        "{t}"
    );
    assert_status(&r, "endpoint.models", "ok");
    assert_status(&r, "endpoint.wire", "ok");
    let reqs = server.requests();
    let health = reqs
        .iter()
        .find(|r| r.path == "/health")
        .expect("asked /health");
    assert!(
        !health.headers.contains_key("authorization"),
        "/health needs no key"
    );
    let models = reqs.iter().filter(|r| r.path == "/v1/models");
    for m in models {
        assert_eq!(
            m.headers.get("authorization").map(String::as_str),
            Some(format!("Bearer {CANARY}").as_str())
        );
    }
    // --offline: nothing asked.
    let before = server.requests().len();
    let r = report(&sb, &["--codex-version", "0.171.0"]);
    assert_status(&r, "bridge.reachable", "skip");
    assert_eq!(server.requests().len(), before);
    // No key: listening is checked, the upstream is not.
    let r = doctor_env(
        &sb,
        &["--json", "--codex-version", "0.171.0"],
        &[],
        &["OMINIGATE_API_KEY"],
    )
    .json();
    assert_status(&r, "bridge.reachable", "ok");
    assert!(text(&r, "bridge.reachable").contains("OMINIGATE_API_KEY is not set"));
    sb.assert_no_canary_in_files();
}

#[test]
fn bridge_reachable_fails_when_it_cannot_reach_its_upstream() {
    let server = fake_bridge(
        UPSTREAM,
        (
            502,
            "{\"error\":{\"message\":\"upstream https://gw.example/v1: connection refused\"}}"
                .into(),
        ),
    );
    let sb = bridged(server.addr.port());
    let (code, r) = online(&sb, "0.171.0", "5");
    assert_eq!(code, 1);
    assert_status(&r, "bridge.reachable", "fail");
    let t = text(&r, "bridge.reachable");
    assert!(t.contains("cannot reach its upstream"), "{t}");
    assert!(
        t.contains("the bridge says: upstream https://gw.example/v1: connection refused"),
        "{t}"
    );
    assert!(
        t.contains("install --bridge --base-url <gateway URL>"),
        "{t}"
    );
}

#[test]
fn bridge_reachable_warns_when_the_running_bridge_forwards_elsewhere() {
    let server = fake_bridge(
        "https://old.example/v1",
        (200, models_body(&["openai/gpt-5.4-pro"])),
    );
    let sb = bridged(server.addr.port());
    let (_, r) = online(&sb, "0.171.0", "5");
    assert_status(&r, "bridge.reachable", "warn");
    let t = text(&r, "bridge.reachable");
    assert!(
        t.contains(&format!(
            "the running bridge forwards to https://old.example/v1, but install --bridge recorded {UPSTREAM}"
        )),
        "{t}"
    );
    assert!(t.contains("restart the bridge"), "{t}");
}

#[test]
fn bridge_reachable_fails_when_nothing_or_something_else_listens() {
    // A port nothing listens on.
    let port = crate::harness::unused_port();
    let sb = bridged(port);
    let (code, r) = online(&sb, "0.171.0", "5");
    assert_eq!(code, 1);
    assert_status(&r, "bridge.reachable", "fail");
    let t = text(&r, "bridge.reachable");
    assert!(
        t.contains(&format!(
            "the bridge is not running: nothing answers on 127.0.0.1:{port}"
        )),
        "{t}"
    );
    let me = format!("ominigate-codex --codex-home {}", sb.codex_home().display());
    assert!(
        t.contains(&format!("`{me} bridge --listen 127.0.0.1:{port}`")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "`{me} bridge --listen 127.0.0.1:{port} --print-service systemd`"
        )),
        "{t}"
    );
    assert!(t.contains(&format!("`{me} codex`")), "{t}");
    for id in ["endpoint.models", "endpoint.wire"] {
        assert_status(&r, id, "fail");
        assert!(
            text(&r, id).contains("see bridge.reachable"),
            "{}",
            text(&r, id)
        );
    }

    // Something that is not the bridge.
    let server = Server::start(|_| reply(404, "not found"));
    let sb = bridged(server.addr.port());
    let (_, r) = online(&sb, "0.171.0", "5");
    assert_status(&r, "bridge.reachable", "fail");
    let t = text(&r, "bridge.reachable");
    assert!(t.contains("something else answers on 127.0.0.1:"), "{t}");
    assert!(t.contains("--bridge-port"), "{t}");
}

#[test]
fn bridge_reachable_skips_a_direct_provider() {
    let sb = Sandbox::new();
    sb.install("0.171.0");
    let r = doctor_env(
        &sb,
        &["--json", "--codex-version", "0.171.0", "--timeout", "1"],
        &[],
        &["OMINIGATE_API_KEY"],
    )
    .json();
    assert_status(&r, "bridge.reachable", "skip");
    assert_eq!(
        check(&r, "bridge.reachable")["summary"],
        "no bridge: the provider calls https://api.ominigate.ai/v1 directly"
    );
}
