//! CLI tests of `models` (the guide's four, the live list from a loopback
//! server, the safety rules of the request) and `use MODEL` (the switch in
//! place for each Codex era, `--default` following, `--dry-run`, the live
//! list warning). The API key (support::CANARY) never shows anywhere.

use crate::harness::server::{Answer, Server, models_body, reply};
use crate::harness::{CANARY, ERAS, Sandbox};

const RECOMMENDED: [&str; 4] = [
    "openai/gpt-5.4-pro",
    "openai/gpt-5.3-codex",
    "anthropic/claude-opus-4.6",
    "google/gemini-3.1-pro-preview",
];

/// A server whose model list is `ids` (and 404 elsewhere).
fn catalogue(ids: &'static [&'static str]) -> Server {
    Server::start(move |r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/v1/models") => reply(200, &models_body(ids)),
        _ => reply(404, "{}"),
    })
}

/// OminiGate installed for Codex 0.169.0 against `server`.
#[test]
fn offline_lists_the_guides_four_with_their_notes() {
    let sb = Sandbox::new();
    let out = sb.exec(&["models", "--offline"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "Recommended (the OminiGate guide's picks):");
    for (line, id) in lines[1..5].iter().zip(RECOMMENDED) {
        assert!(line.starts_with(&format!("  {id} ")), "{line}");
    }
    assert!(
        out.stdout
            .contains("Best for complex refactors and multi-file edits.")
    );
    assert!(out.stdout.contains("Strong at long-context code review."));
    assert!(out.stdout.contains("\nLive list: skipped, --offline\n"));
    assert!(
        out.stdout.ends_with(&format!(
            "No `ominigate` profile on OminiGate here yet: {} install --model MODEL\n",
            sb.me()
        )),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "");
    assert!(!sb.codex_home().exists(), "models writes nothing");

    let v = sb.exec(&["models", "--offline", "--json"], &[]).json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["live"]["status"], "skipped");
    assert_eq!(v["live"]["message"], "--offline");
    assert_eq!(v["live"]["url"], "https://api.ominigate.ai/v1/models");
    let ids: Vec<&str> = v["recommended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, RECOMMENDED);
    assert!(
        v["recommended"][0]["note"]
            .as_str()
            .unwrap()
            .starts_with("Top-tier OpenAI")
    );
    assert!(v["profile_model"].is_null());
}

#[test]
fn without_the_key_the_live_list_is_skipped_unless_live_is_asked() {
    let sb = Sandbox::new();
    sb.online();
    let unset = [("OMINIGATE_API_KEY", None)];
    let out = sb.exec(&["models"], &unset);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("Live list: skipped, OMINIGATE_API_KEY is not set\n"),
        "{}",
        out.stdout
    );
    let out = sb.exec(&["models", "--live"], &unset);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with("Recommended"),
        "the list is still printed"
    );
    assert!(
        out.stderr.starts_with(
            "error: the live model list is not available: OMINIGATE_API_KEY is not set\nhelp: "
        ),
        "{}",
        out.stderr
    );
    assert_eq!(sb.exec(&["models", "--live", "--offline"], &[]).code, 2);
}

#[test]
fn live_and_refresh_name_the_variable_that_keeps_them_offline() {
    // The sandbox runs with OMINIGATE_CODEX_OFFLINE set (see `Sandbox`).
    let sb = Sandbox::new();
    let before = sb.tree();
    for flag in ["--refresh", "--live"] {
        let out = sb.exec(&["models", flag], &[("OMINIGATE_CODEX_OFFLINE", Some("1"))]);
        assert_eq!(out.code, 2, "{flag}: {}", out.all());
        assert!(
            out.stderr.starts_with(&format!(
                "error: {flag} asks the gateway, and OMINIGATE_CODEX_OFFLINE is set: nothing may call out\n"
            )),
            "{flag}: {}",
            out.stderr
        );
        let unset = format!("`env -u OMINIGATE_CODEX_OFFLINE {} models {flag}`", sb.me());
        assert!(out.stderr.contains(&unset), "{unset}: {}", out.stderr);
        assert!(!out.stderr.contains("'--offline'"), "{}", out.stderr);
    }
    assert_eq!(sb.tree(), before, "nothing written");
    // Set to a false value, it keeps nothing offline.
    let out = sb.exec(
        &["models", "--live"],
        &[
            ("OMINIGATE_CODEX_OFFLINE", Some("off")),
            ("OMINIGATE_API_KEY", None),
        ],
    );
    assert!(
        out.stderr.contains("OMINIGATE_API_KEY is not set"),
        "{}",
        out.all()
    );
}

#[test]
fn live_list_marks_recommended_and_the_models_in_use() {
    let server = catalogue(&[
        "openai/gpt-5.3-codex",
        "anthropic/claude-opus-4.6",
        "meta/llama-4",
        "openai/gpt-5.4-pro",
    ]);
    let sb = Sandbox::installed_at(
        "0.169.0",
        &server.base_url(),
        &["--model", "openai/gpt-5.3-codex", "--default"],
    );
    let out = sb.exec(&["models"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let live = format!("Live from {}/models (4 models):\n", server.base_url());
    assert!(out.stdout.contains(&live), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("  openai/gpt-5.3-codex           272k? window, no effort   recommended, profile, default\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("  meta/llama-4                   fallback metadata\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Recommended but not listed live: google/gemini-3.1-pro-preview\n")
    );
    assert!(
        out.stdout.contains("tool-use loops. [profile, default]\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with(&format!(
            "`{} --profile ominigate` uses openai/gpt-5.3-codex, and so does plain `codex`. Switch with: {} use MODEL\n",
            sb.codex_cmd(),
            sb.me()
        )
        ),
        "{}",
        out.stdout
    );
    // The request: GET /v1/models with the key, once.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/models");
    assert_eq!(reqs[0].headers["authorization"], format!("Bearer {CANARY}"));

    let v = sb.exec(&["models", "--json", "--live"], &[]).json();
    assert_eq!(v["live"]["status"], "ok");
    assert_eq!(v["profile_model"], "openai/gpt-5.3-codex");
    assert_eq!(v["default_model"], "openai/gpt-5.3-codex");
    let models = v["live"]["models"].as_array().unwrap();
    assert_eq!(models.len(), 4);
    assert_eq!(models[0]["id"], "anthropic/claude-opus-4.6", "sorted");
    let llama = models.iter().find(|m| m["id"] == "meta/llama-4").unwrap();
    assert_eq!(llama["recommended"], false);
    assert_eq!(v["recommended"][3]["live"], false);
    assert_eq!(v["recommended"][1]["live"], true);
    sb.assert_no_canary_in_files();
}

#[test]
fn a_profile_model_the_gateway_does_not_list_is_pointed_out() {
    let server = catalogue(&["openai/gpt-5.4-pro"]);
    let sb = Sandbox::installed_at(
        "0.169.0",
        &server.base_url(),
        &["--model", "my/retired-model"],
    );
    let out = sb.exec(&["models"], &[]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("The profile's model my/retired-model is not listed live"),
        "{}",
        out.stdout
    );
}

#[test]
fn gateway_failures_are_explained_and_only_fail_with_live() {
    let cases: [(Answer, &str); 4] = [
        (
            reply(401, "{\"error\":{\"message\":\"invalid key\"}}"),
            "OminiGate rejected the key in OMINIGATE_API_KEY",
        ),
        (reply(500, "oops"), "answered 500: oops"),
        (reply(200, "<html>hi</html>"), "but not with a model list"),
        (Answer::Hang, "no answer within 1 s"),
    ];
    for (answer, says) in cases {
        let answer = std::sync::Mutex::new(Some(answer));
        let server = Server::start(move |_| {
            answer
                .lock()
                .unwrap()
                .take()
                .unwrap_or_else(|| reply(500, "again"))
        });
        let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
        let out = sb.exec(&["models", "--timeout", "1"], &[]);
        assert_eq!(out.code, 0, "{says}: {out:?}");
        assert!(
            out.stdout.contains("Live list: not available: "),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains(says), "{says}: {}", out.stdout);
        assert!(out.stdout.starts_with("Recommended"));
        let v = sb.exec(&["models", "--json", "--timeout", "1"], &[]).json();
        assert_eq!(v["live"]["status"], "error");
        let out = sb.exec(&["models", "--live", "--timeout", "1"], &[]);
        assert_eq!(out.code, 1, "{says}");
        assert!(
            out.stderr.contains("the live model list is not available"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn the_key_goes_nowhere_but_a_safe_base_url() {
    // A redirect is reported, not followed.
    let server = Server::start(|r| match r.path.as_str() {
        "/v1/models" => Answer::Reply {
            status: 302,
            headers: vec![(
                "Location".into(),
                "https://elsewhere.example/v1/models?k=1".into(),
            )],
            body: String::new(),
        },
        _ => reply(404, "{}"),
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let out = sb.exec(&["models"], &[]);
    assert!(
        out.stdout
            .contains("redirects (302) to https://elsewhere.example/v1/models…; not followed"),
        "{}",
        out.stdout
    );
    assert_eq!(server.requests().len(), 1);

    // Plain http to another machine, written by hand: not sent at all.
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let config = String::from_utf8(sb.read_config())
        .unwrap()
        .replace("https://api.ominigate.ai/v1", "http://gateway.example/v1");
    sb.write_config(config);
    sb.online();
    let out = sb.exec(&["models", "--timeout", "1"], &[]);
    assert!(
        out.stdout
            .contains("cannot reach http://gateway.example/v1/models: not sent: "),
        "{}",
        out.stdout
    );
}

#[test]
fn what_a_server_echoes_is_never_printed_with_the_key() {
    let server = Server::start(|r| {
        let echoed = r.headers["authorization"]
            .trim_start_matches("Bearer ")
            .to_string();
        let ids = [echoed.as_str(), "openai/gpt-5.4-pro"];
        reply(200, &models_body(&ids))
    });
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    for args in [&["models"][..], &["models", "--json"]] {
        let out = sb.exec(args, &[]);
        assert_eq!(out.code, 0);
        assert!(out.stdout.contains("sk-o…"), "masked: {}", out.stdout);
    }
}

#[test]
fn use_switches_the_profile_in_place_in_every_era() {
    for era in ERAS {
        let sb = Sandbox::new();
        let original = "# my settings\nmodel = \"gpt-5\" # keep\n";
        sb.write_config(original);
        sb.install(era);
        // A comment of the user's inside the profile survives the switch.
        let path = match era {
            "0.169.0" => sb.profile_file(),
            _ => sb.config(),
        };
        let before = std::fs::read_to_string(&path).unwrap().replace(
            "model_provider = \"ominigate\"",
            "model_provider = \"ominigate\" # the gateway",
        );
        std::fs::write(&path, &before).unwrap();
        let use_opus = || {
            sb.run(
                &[
                    "use",
                    "anthropic/claude-opus-4.6",
                    "--codex-version",
                    era,
                    "--offline",
                ],
                0,
            )
        };
        let out = use_opus();
        assert!(
            out.contains(&format!(
                "`{} --profile ominigate` now uses anthropic/claude-opus-4.6",
                sb.codex_cmd()
            )),
            "{era}: {out}"
        );
        let after = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            after,
            before.replace(
                "model = \"openai/gpt-5.4-pro\"",
                "model = \"anthropic/claude-opus-4.6\""
            ),
            "{era}: only the model line changes"
        );
        // Again: nothing to do, the file is not touched.
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        let out = use_opus();
        assert!(
            out.contains("already uses anthropic/claude-opus-4.6: nothing to change"),
            "{out}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), mtime);
        // uninstall still gives back the original, byte for byte.
        if era != "0.169.0" {
            let t = String::from_utf8(sb.read_config())
                .unwrap()
                .replace(" # the gateway", "");
            sb.write_config(t);
        }
        sb.uninstall();
        assert_eq!(
            String::from_utf8(sb.read_config()).unwrap(),
            original,
            "{era}"
        );
        assert!(!sb.profile_file().exists());
        sb.assert_no_canary_in_files();
    }
}

#[test]
fn use_moves_plain_codex_too_when_default_is_installed() {
    let sb = Sandbox::new();
    let original = "model_provider = \"openai\"\nmodel = \"gpt-5\"\n";
    sb.write_config(original);
    sb.run(&["install", "--codex-version", "0.169.0", "--default"], 0);
    let out = sb.run(
        &[
            "use",
            "openai/gpt-5.3-codex",
            "--codex-version",
            "0.169.0",
            "--offline",
        ],
        0,
    );
    assert!(
        out.contains(&format!(
            "`{0} --profile ominigate` and plain `{0}` now use openai/gpt-5.3-codex",
            sb.codex_cmd()
        )),
        "{out}"
    );
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        config.starts_with("model_provider = \"ominigate\"\nmodel = \"openai/gpt-5.3-codex\"\n"),
        "{config}"
    );
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    assert!(
        profile.contains("model = \"openai/gpt-5.3-codex\""),
        "{profile}"
    );
    sb.uninstall();
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), original);
}

#[test]
fn use_dry_run_prints_the_diff_and_writes_nothing() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let before = std::fs::read(sb.profile_file()).unwrap();
    let out = sb.run(
        &[
            "use",
            "google/gemini-3.1-pro-preview",
            "--dry-run",
            "--offline",
        ],
        0,
    );
    assert!(
        out.contains(
            "-model = \"openai/gpt-5.4-pro\"\n+model = \"google/gemini-3.1-pro-preview\"\n"
        ),
        "{out}"
    );
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert_eq!(std::fs::read(sb.profile_file()).unwrap(), before);
    let quiet = sb.run(
        &[
            "-q",
            "use",
            "google/gemini-3.1-pro-preview",
            "--dry-run",
            "--offline",
        ],
        0,
    );
    assert!(quiet.starts_with("--- "), "only the diff: {quiet}");
}

#[test]
fn use_refuses_when_ominigate_is_not_installed() {
    let sb = Sandbox::new();
    let out = sb.exec(&["use", "openai/gpt-5.3-codex"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("error: OminiGate is not installed in "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "help: run `{} install --model openai/gpt-5.3-codex` first",
            sb.me()
        )),
        "{}",
        out.stderr
    );
    assert!(!sb.codex_home().exists());
    let original = "model = \"gpt-5\"\n[model_providers.other]\nname = \"x\"\n";
    sb.write_config(original);
    let out = sb.exec(&["use", "openai/gpt-5.3-codex"], &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no [model_providers.ominigate] in config.toml"),
        "{}",
        out.stderr
    );
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), original);
    assert_eq!(std::fs::read_dir(sb.codex_home()).unwrap().count(), 1);
    // A model id that is not one is a usage error.
    assert_eq!(sb.exec(&["use", " spaced "], &[]).code, 2);
}

#[test]
fn use_warns_when_the_live_list_lacks_the_model_and_switches_anyway() {
    let server = catalogue(&["openai/gpt-5.4-pro", "openai/gpt-5.3-codex-mini"]);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let out = sb.exec(&["use", "openai/gpt-5.3-codex"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "warning: openai/gpt-5.3-codex is not among the 2 models {}/models lists",
            server.base_url()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("listed and close: openai/gpt-5.3-codex-mini"),
        "{}",
        out.stderr
    );
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    assert!(
        profile.contains("model = \"openai/gpt-5.3-codex\""),
        "{profile}"
    );
    // Listed: no warning. --offline: not asked.
    let asked = server.requests().len();
    let out = sb.exec(&["use", "openai/gpt-5.4-pro"], &[]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(server.requests().len(), asked + 1);
    sb.exec(&["use", "x/y", "--offline"], &[]);
    assert_eq!(server.requests().len(), asked + 1);
}

#[test]
fn use_says_when_the_live_list_cannot_be_had_and_switches() {
    let server = Server::start(|_| Answer::Hang);
    let sb = Sandbox::installed_at("0.169.0", &server.base_url(), &[]);
    let out = sb.exec(&["use", "x/y", "--timeout", "1"], &[]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout
            .contains("could not check x/y against the live list: ")
            && out.stdout.contains("no answer within 1 s"),
        "{}",
        out.stdout
    );
    assert!(
        std::fs::read_to_string(sb.profile_file())
            .unwrap()
            .contains("model = \"x/y\"")
    );
}

#[test]
fn use_keeps_the_wire_protocol_the_config_has() {
    let sb = Sandbox::new();
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.94.0",
            "--wire-api",
            "responses",
        ],
        0,
    );
    sb.run(&["use", "x/y", "--codex-version", "0.94.0", "--offline"], 0);
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(config.contains("wire_api = \"responses\""), "{config}");
    assert!(config.contains("model = \"x/y\""), "{config}");
}

/// `install --bridge`: `models` and `use` ask the list of the gateway
/// install recorded (the bridge forwards GET /v1/models there as it is),
/// with the key, so they work while the bridge is not running; the
/// provider stays on the bridge.
#[test]
fn models_and_use_work_with_a_bridge_that_is_not_running() {
    let gateway = catalogue(&["openai/gpt-5.4-pro", "openai/gpt-5.3-codex"]);
    // A port nothing listens on: the bridge is not running.
    let port = crate::harness::unused_port();
    let sb = Sandbox::new();
    sb.install_bridge("0.171.0", port, &gateway.base_url());
    // Install stays offline (see `Sandbox`); models and use ask the gateway.
    sb.online();
    let v = sb
        .exec(
            &["models", "--json", "--live", "--codex-version", "0.171.0"],
            &[],
        )
        .json();
    assert_eq!(v["live"]["status"], "ok", "{v:#}");
    assert_eq!(v["live"]["url"], format!("{}/models", gateway.base_url()));
    assert_eq!(v["live"]["models"].as_array().unwrap().len(), 2);

    let out = sb.exec(
        &["use", "openai/gpt-5.3-codex", "--codex-version", "0.171.0"],
        &[],
    );
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        config.contains(&format!("base_url = \"http://127.0.0.1:{port}/v1\"")),
        "{config}"
    );

    let reqs = gateway.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in &reqs {
        assert_eq!(r.path, "/v1/models");
        assert_eq!(r.headers["authorization"], format!("Bearer {CANARY}"));
    }
    sb.assert_no_canary_in_files();
}

/// A config that does not load: the gateway is not asked, and the doctor
/// it points at is the one for this Codex home (issue 21).
#[test]
fn a_config_that_does_not_load_points_at_doctor_for_this_home() {
    let sb = Sandbox::new();
    sb.write_config("a = = 1\n");
    sb.online();
    let out = sb.exec(&["models"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "Live list: skipped, {} does not load (see `{} doctor`)\n",
            sb.config().display(),
            sb.me()
        )),
        "{}",
        out.stdout
    );
}
