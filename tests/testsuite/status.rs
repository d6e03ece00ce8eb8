//! CLI tests of `status`: what it says for nothing installed, for each
//! Codex era (found on PATH like install and doctor find it), for
//! `--default`, a missing key and a legacy profile table; the JSON; and
//! that it writes nothing. The API key (support::CANARY) never shows.

use crate::harness::fake_codex::fake_codex;
use crate::harness::server::{Server, reply};
use crate::harness::{ERAS, Sandbox, tree};

/// The line of `text` that starts with `label`.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
}

#[test]
fn nothing_installed() {
    let sb = Sandbox::new();
    let out = sb.exec(&["status"], &[("OMINIGATE_API_KEY", None)]);
    assert_eq!(out.code, 0, "{out:?}");
    let t = &out.stdout;
    assert_eq!(
        line(t, "Codex:"),
        format!(
            "Codex:      none found on PATH; using the rules of {}, the newest known",
            crate::harness::api::NEWEST_KNOWN
        )
    );
    assert_eq!(
        line(t, "Installed:"),
        format!("Installed:  no: run `{} install`", sb.me())
    );
    assert!(line(t, "  provider:").contains("no [model_providers.ominigate]"));
    assert!(
        line(t, "  profile:").contains("no ominigate.config.toml"),
        "{t}"
    );
    assert_eq!(
        line(t, "API key:"),
        "API key:    OMINIGATE_API_KEY is set: no"
    );
    assert!(
        line(t, "Default:").starts_with("Default:    no: plain `codex` uses openai"),
        "{t}"
    );
    assert!(t.contains("  fail  provider.present: "), "{t}");
    assert!(!sb.codex_home().exists(), "status writes nothing");
    assert_eq!(out.stderr, "");
}

#[test]
fn installed_in_each_era_with_codex_found_on_path() {
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config("# mine\n");
        sb.install(era);
        let codex = fake_codex(&sb, &format!("codex-cli {era}"), "", 0);
        let before = tree(&sb.codex_home());
        let out = sb.exec(&["status"], &[]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            tree(&sb.codex_home()),
            before,
            "{era}: status writes nothing"
        );
        let t = &out.stdout;
        assert_eq!(
            line(t, "Codex:"),
            format!("Codex:      {era} (`{} --version`)", codex.display())
        );
        assert_eq!(line(t, "Installed:"), "Installed:  yes", "{t}");
        let config = sb.config().display().to_string();
        assert_eq!(
            line(t, "  provider:"),
            format!(
                "  provider: [model_providers.ominigate] at {config}:4 (a [table]), base_url https://api.ominigate.ai/v1"
            ),
            "{era}"
        );
        let profile = line(t, "  profile:");
        if era == "0.169.0" {
            assert_eq!(
                profile,
                format!(
                    "  profile:  {}, where Codex {era} reads it",
                    sb.profile_file().display()
                )
            );
        } else {
            assert!(
                profile.starts_with(&format!("  profile:  {config}:")),
                "{profile}"
            );
        }
        assert_eq!(
            line(t, "Model:"),
            format!(
                "Model:      openai/gpt-5.4-pro (`{} --profile ominigate`)",
                sb.codex_cmd()
            )
        );
        assert_eq!(
            line(t, "API key:"),
            "API key:    OMINIGATE_API_KEY is set: yes"
        );
        assert!(line(t, "Checks:").starts_with("Checks:     "), "{t}");
        assert!(!t.contains("  fail  "), "{era}: {t}");

        let v = sb.exec(&["status", "--json"], &[]).json();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["installed"], true);
        assert_eq!(v["codex"]["version"], era);
        assert_eq!(v["codex"]["source"], "binary");
        assert_eq!(
            v["profile"]["layout"],
            if era == "0.169.0" { "file" } else { "table" }
        );
        assert_eq!(v["model"], "openai/gpt-5.4-pro");
        assert_eq!(v["key"]["set"], true);
        assert_eq!(v["key"]["name"], "OMINIGATE_API_KEY");
        assert_eq!(v["default"]["ominigate"], false);
        assert_eq!(v["checks"]["fail"], 0);
        sb.assert_no_canary_in_files();
    }
}

#[test]
fn default_and_its_undo_are_shown() {
    let sb = Sandbox::new();
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--default",
            "--model",
            "x/y",
        ],
        0,
    );
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert_eq!(
        line(&out.stdout, "Default:"),
        format!(
            "Default:    yes: plain `codex` uses OminiGate (x/y); `{} install --no-default` puts back your previous settings",
            sb.me()
        )
    );
    assert_eq!(
        line(&out.stdout, "Codex:"),
        "Codex:      0.169.0 (from --codex-version)"
    );
    let v = sb.exec(&["status", "--json"], &[]).json();
    assert_eq!(v["default"]["ominigate"], true);
    assert_eq!(v["default"]["recorded"], true);
    assert_eq!(v["default"]["model"], "x/y");
    sb.run(
        &["install", "--codex-version", "0.169.0", "--no-default"],
        0,
    );
    let v = sb.exec(&["status", "--json"], &[]).json();
    assert_eq!(v["default"]["ominigate"], false);
    assert_eq!(v["default"]["recorded"], false);
    assert_eq!(v["default"]["provider"], "openai");
}

#[test]
fn a_legacy_profile_table_on_new_codex_is_called_out() {
    let sb = Sandbox::new();
    sb.write_config(
        "[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://u:pw@api.ominigate.ai/v1\"\nenv_key = \"OMINIGATE_API_KEY\"\n\n[profiles.ominigate]\nmodel = \"m\"\nmodel_provider = \"ominigate\"\n",
    );
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 0);
    let t = &out.stdout;
    assert!(line(t, "Installed:").contains("partly"), "{t}");
    assert!(
        line(t, "  profile:").contains("legacy [profiles.ominigate] at ")
            && t.contains(&format!("`{} install` moves it", sb.me())),
        "{t}"
    );
    assert!(
        line(t, "Model:").starts_with(&format!(
            "Model:      none: `{} --profile ominigate` stops: --profile `ominigate` cannot be used",
            sb.codex_cmd()
        )),
        "{t}"
    );
    assert!(
        line(t, "  provider:").contains("base_url https://…@api.ominigate.ai/v1"),
        "{t}"
    );
    assert!(!t.contains("u:pw"), "{t}");
}

#[test]
fn a_config_that_does_not_load_is_reported_not_fatal() {
    let sb = Sandbox::new();
    sb.write_config("a = = 1\n");
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("  fail  config.parse: "),
        "{}",
        out.stdout
    );
    let v = sb
        .exec(&["status", "--json", "--codex-version", "0.169.0"], &[])
        .json();
    assert_eq!(v["checks"]["overall"], "fail");
    assert_eq!(v["checks"]["problems"][0]["id"], "config.parse");
}

#[test]
fn a_bridge_shows_with_the_gateway_it_forwards_to() {
    let sb = Sandbox::new();
    sb.install_bridge("0.169.0", 8741, "https://gw.example/v1");
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert!(
        out.stdout.contains(
            "base_url http://127.0.0.1:8741/v1 (the bridge, forwarding to https://gw.example/v1)\n"
        ),
        "{}",
        out.stdout
    );
    let v = sb
        .exec(&["status", "--json", "--codex-version", "0.169.0"], &[])
        .json();
    assert_eq!(v["provider"]["bridge_upstream"], "https://gw.example/v1");
    // Back to direct: no bridge.
    sb.run(&["install", "--codex-version", "0.169.0", "--direct"], 0);
    let v = sb
        .exec(&["status", "--json", "--codex-version", "0.169.0"], &[])
        .json();
    assert_eq!(v["provider"]["base_url"], "https://gw.example/v1");
    assert!(v["provider"]["bridge_upstream"].is_null());
}

/// "Is the key set" has one answer: a variable of white space only is not
/// set, for install's next steps, status and doctor alike (install said
/// yes, status no, and doctor warned it was set with spaces around it).
#[test]
fn a_key_of_white_space_is_not_set_for_any_command() {
    let sb = Sandbox::new();
    let blank = [("OMINIGATE_API_KEY", Some("  \t"))];
    let install = sb.exec(&["install", "--codex-version", "0.169.0"], &blank);
    assert_eq!(install.code, 0, "{install:?}");
    assert!(
        install
            .stdout
            .contains("OMINIGATE_API_KEY is set in this shell: no"),
        "{install:?}"
    );
    let status = sb.exec(&["status", "--codex-version", "0.169.0"], &blank);
    assert_eq!(
        line(&status.stdout, "API key:"),
        "API key:    OMINIGATE_API_KEY is set: no"
    );
    let doctor = sb.exec(
        &[
            "doctor",
            "--json",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        &blank,
    );
    let report = doctor.json();
    let key = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "env.key"))
        .unwrap_or_else(|| panic!("no env.key in {report}"));
    assert_eq!(key["status"], "fail", "{key}");
    assert!(
        key["summary"]
            .as_str()
            .is_some_and(|s| s.contains("set but empty")),
        "{key}"
    );
}

/// Issue 21: status asks the bridge `install --bridge` set up for its
/// `/health` on loopback (no key, nothing else): down, it is a failing
/// check, never "all checks pass"; up, it is ok.
#[test]
fn the_installed_bridge_down_is_a_failure_and_up_is_ok() {
    let port = crate::harness::unused_port();
    let sb = Sandbox::new();
    sb.install_bridge("0.169.0", port, "https://gw.example/v1");
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let t = &out.stdout;
    assert!(
        t.contains(&format!(
            "\n  fail  bridge.reachable: the bridge is not running: nothing answers on 127.0.0.1:{port}"
        )),
        "{t}"
    );
    assert!(line(t, "Checks:").contains(" 1 failed, "), "{t}");
    let v = sb
        .exec(&["status", "--json", "--codex-version", "0.169.0"], &[])
        .json();
    assert_eq!(v["checks"]["overall"], "fail", "{v:#}");

    let server = Server::start(|r| match r.path.as_str() {
        "/health" => reply(
            200,
            r#"{"status":"ok","service":"ominigate-codex bridge","upstream":"https://gw.example/v1"}"#,
        ),
        _ => reply(500, "{}"),
    });
    let sb = Sandbox::new();
    sb.install_bridge("0.169.0", server.addr.port(), "https://gw.example/v1");
    let out = sb.exec(&["status", "--codex-version", "0.169.0"], &[]);
    assert!(!out.stdout.contains("bridge.reachable"), "{}", out.stdout);
    assert!(
        line(&out.stdout, "Checks:").contains(" 0 failed, "),
        "{}",
        out.stdout
    );
    let asked = server.requests();
    assert!(!asked.is_empty());
    for r in asked {
        assert_eq!(r.path, "/health", "only /health");
        assert!(!r.headers.contains_key("authorization"), "no key");
    }
}
