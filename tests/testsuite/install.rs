//! CLI tests of install and uninstall: shapes, styles, eras, flags.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{CANARY, ERAS, Sandbox};

#[test]
fn missing_codex_home_is_created_0700_and_config_0600() {
    let sb = Sandbox::new();
    let out = sb.install("0.169.0");
    assert!(out.contains("wrote"), "{out}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sb.codex_home()), 0o700);
    assert_eq!(mode(&sb.config()), 0o600);
    assert_eq!(mode(&sb.profile_file()), 0o600);
    sb.uninstall();
    assert!(!sb.config().exists(), "there was no config.toml");
}

#[test]
fn existing_permissions_are_kept() {
    for m in [0o600, 0o644, 0o640] {
        let sb = Sandbox::new();
        sb.write_config("a = 1\n");
        std::fs::set_permissions(sb.config(), std::fs::Permissions::from_mode(m)).unwrap();
        sb.install("0.133.0");
        assert_eq!(
            std::fs::metadata(sb.config()).unwrap().permissions().mode() & 0o777,
            m
        );
    }
}

#[test]
fn symlinked_config_is_written_through_and_the_link_kept() {
    let sb = Sandbox::new();
    let dotfiles = sb.dir.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("codex.toml"), "a = 1\n").unwrap();
    std::fs::create_dir_all(sb.codex_home()).unwrap();
    std::os::unix::fs::symlink("../dotfiles/codex.toml", sb.config()).unwrap();
    sb.install("0.169.0");
    assert!(
        std::fs::symlink_metadata(sb.config())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let target = std::fs::read_to_string(dotfiles.join("codex.toml")).unwrap();
    assert!(target.contains("[model_providers.ominigate]"));
    assert!(sb.codex_home().join("config.toml.ominigate.bak").exists());
    assert!(
        !dotfiles.join("codex.toml.ominigate.bak").exists(),
        "backups stay out of the dotfiles repo"
    );
    sb.uninstall();
    assert!(
        std::fs::symlink_metadata(sb.config())
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(dotfiles.join("codex.toml")).unwrap(),
        "a = 1\n"
    );
}

#[test]
fn eras_write_what_each_codex_accepts() {
    let sb = Sandbox::new();
    sb.install("0.94.0");
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("wire_api = \"chat\""));
    assert!(text.contains("[profiles.ominigate]"));

    // Upgrading Codex and installing again moves the profile into its file.
    let out = sb.install("0.169.0");
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("wire_api = \"responses\""), "{text}");
    assert!(!text.contains("[profiles.ominigate]"), "{text}");
    assert!(out.contains("moved [profiles.ominigate]"), "{out}");
    assert!(sb.profile_file().exists());

    // And back: an older Codex reads the table, the file install made goes.
    sb.install("0.133.0");
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("[profiles.ominigate]"));
    assert!(!sb.profile_file().exists());
    sb.uninstall();
    assert!(!sb.config().exists(), "there was no config.toml");
}

#[test]
fn legacy_guide_block_is_migrated_keeping_the_users_model() {
    let guide = "model = \"gpt-5\"\nprofile = \"ominigate\"\n\n[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://api.ominigate.ai/v1\"\nenv_key = \"OMINIGATE_API_KEY\"\nwire_api = \"chat\"\nrequires_openai_auth = false\nrequest_max_retries = 4\nstream_max_retries = 10\nstream_idle_timeout_ms = 300000\n[profiles.ominigate]\nmodel = \"anthropic/claude-opus-4.6\" # my pick\nmodel_provider = \"ominigate\"\nmodel_reasoning_effort = \"high\"\n";
    let sb = Sandbox::new();
    sb.write_config(guide);
    let out = sb.install("0.169.0");
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("wire_api = \"responses\""), "{text}");
    assert!(!text.contains("profiles.ominigate"), "{text}");
    assert!(!text.contains("profile = \"ominigate\""), "{text}");
    assert!(
        text.starts_with("model = \"gpt-5\"\n\n[model_providers.ominigate]\nname"),
        "{text}"
    );
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    assert!(
        profile.contains("model = \"anthropic/claude-opus-4.6\""),
        "{profile}"
    );
    assert!(
        profile.contains("model_reasoning_effort = \"high\""),
        "{profile}"
    );
    assert!(
        out.contains("updated [model_providers.ominigate] in config.toml: wire_api"),
        "{out}"
    );

    // The user's blocks were there before install: uninstall removes them
    // whole (their old `wire_api = "chat"` is what Codex 0.95+ refuses),
    // and the selector with them; the rest is as it was.
    let out = sb.uninstall();
    assert_eq!(
        String::from_utf8(sb.read_config()).unwrap(),
        "model = \"gpt-5\"\n"
    );
    assert!(!sb.profile_file().exists());
    assert!(
        out.contains("  extra key `model_reasoning_effort`"),
        "{out}"
    );
    assert!(out.contains("  comment `# my pick`"), "{out}");
}

#[test]
fn existing_block_in_any_shape_is_updated_in_place_and_removed_whole() {
    for (input, clean) in [
        (
            "[model_providers.ominigate]\nname = \"Mine\" # keep\nbase_url = \"https://eu.ominigate.ai/v1\"\nwire_api = \"chat\"\nextra = 1\n",
            "",
        ),
        (
            "model_providers.ominigate.base_url = \"https://eu.ominigate.ai/v1\"\nmodel_providers.ominigate.wire_api = \"chat\"\n[tui]\nx = 1\n",
            "[tui]\nx = 1\n",
        ),
        (
            "model_providers = { ominigate = { base_url = \"https://eu.ominigate.ai/v1\", wire_api = \"chat\" }, other = { name = \"o\" } }\n",
            "model_providers = { other = { name = \"o\" } }\n",
        ),
        (
            "[model_providers]\nominigate = { base_url = \"https://eu.ominigate.ai/v1\", wire_api = \"chat\" }\n",
            "[model_providers]\n",
        ),
    ] {
        let sb = Sandbox::new();
        sb.write_config(input);
        sb.install("0.133.0");
        let text = String::from_utf8(sb.read_config()).unwrap();
        assert!(
            text.contains("https://eu.ominigate.ai/v1"),
            "existing base_url kept: {text}"
        );
        assert!(text.contains("\"responses\""), "{text}");
        assert_eq!(
            text.matches("ominigate]").count()
                + text.matches("ominigate =").count()
                + text.matches("ominigate.base_url").count(),
            text.matches("ominigate]").count()
                + text.matches("ominigate =").count()
                + text.matches("ominigate.base_url").count()
        );
        assert!(
            !text.contains("# OminiGate provider, added"),
            "no second block: {text}"
        );
        let out = sb.uninstall();
        assert_eq!(String::from_utf8(sb.read_config()).unwrap(), clean, "{out}");
        assert!(out.contains("which you had before install"), "{out}");
    }
}

#[test]
fn wrong_types_are_refused_with_nothing_written() {
    for (input, key) in [
        ("model_providers = \"x\"\n", "`model_providers` is a string"),
        (
            "[model_providers]\nominigate = 1\n",
            "`model_providers.ominigate` is an integer",
        ),
        ("profiles = [1]\n", "`profiles` is an array"),
        ("model_provider = 3\n", "`model_provider` is an integer"),
        ("[profile]\nx = 1\n", "`profile` is a table"),
    ] {
        let sb = Sandbox::new();
        sb.write_config(input);
        let out = sb.run(&["install", "--codex-version", "0.133.0"], 3);
        assert!(out.contains(key), "{out}");
        assert!(out.contains("help:"), "{out}");
        assert_eq!(sb.read_config(), input.as_bytes());
        assert!(!sb.codex_home().join("config.toml.ominigate.bak").exists());
    }
}

#[test]
fn default_round_trip_restores_previous_values() {
    let input = "model_provider = \"openrouter\" # mine\nmodel = 'gpt-5'\n\n[model_providers.openrouter]\nname = \"OR\"\n";
    let sb = Sandbox::new();
    sb.write_config(input);
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--default",
            "--model",
            "google/gemini-3.1-pro-preview",
        ],
        0,
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        text.starts_with(
            "model_provider = \"ominigate\" # mine\nmodel = \"google/gemini-3.1-pro-preview\"\n"
        ),
        "{text}"
    );
    // A later model switch keeps plain `codex` in step.
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--model",
            "openai/gpt-5.3-codex",
        ],
        0,
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("model = \"openai/gpt-5.3-codex\""), "{text}");
    sb.uninstall();
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), input);
}

#[test]
fn no_default_puts_back_exactly_what_default_replaced() {
    let input = "model_provider = \"openrouter\" # mine\nmodel = 'gpt-5'\n\n[model_providers.openrouter]\nname = \"OR\"\n";
    let sb = Sandbox::new();
    sb.write_config(input);
    sb.install("0.169.0");
    let plain = sb.read_config();
    let out = sb.run(&["install", "--codex-version", "0.169.0", "--default"], 0);
    assert!(out.contains("plain `codex` now uses OminiGate"), "{out}");
    assert_ne!(sb.read_config(), plain);
    let out = sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--no-default",
            "--dry-run",
        ],
        0,
    );
    assert!(
        out.contains("+model_provider = \"openrouter\" # mine"),
        "{out}"
    );
    let out = sb.run(
        &["install", "--codex-version", "0.169.0", "--no-default"],
        0,
    );
    assert!(
        out.contains("plain `codex` no longer uses OminiGate: restored your previous"),
        "{out}"
    );
    assert_eq!(
        String::from_utf8(sb.read_config()).unwrap(),
        String::from_utf8(plain).unwrap()
    );
    let state =
        std::fs::read_to_string(sb.codex_home().join("ominigate-codex.state.json")).unwrap();
    assert!(!state.contains("defaults"), "{state}");
    // Again: nothing to do, the file is not touched.
    let mtime = std::fs::metadata(sb.config()).unwrap().modified().unwrap();
    let out = sb.run(
        &["install", "--codex-version", "0.169.0", "--no-default"],
        0,
    );
    assert!(
        out.contains("already installed: nothing to change"),
        "{out}"
    );
    assert_eq!(
        std::fs::metadata(sb.config()).unwrap().modified().unwrap(),
        mtime
    );
    // On again, then uninstall: the original, byte for byte.
    sb.run(&["install", "--codex-version", "0.169.0", "--default"], 0);
    sb.uninstall();
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), input);
    sb.assert_no_canary_in_files();
}

#[test]
fn no_default_removes_keys_that_were_absent_in_every_era() {
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config("# mine\na = 1\n");
        sb.install(era);
        let plain = sb.read_config();
        sb.run(&["install", "--codex-version", era, "--default"], 0);
        let on = String::from_utf8(sb.read_config()).unwrap();
        assert!(on.contains("model_provider = \"ominigate\""), "{era}: {on}");
        sb.run(&["install", "--codex-version", era, "--no-default"], 0);
        assert_eq!(sb.read_config(), plain, "{era}");
    }
}

#[test]
fn no_default_conflicts_with_default_and_refuses_a_hand_written_default() {
    let sb = Sandbox::new();
    let out = sb.run(&["install", "--default", "--no-default"], 2);
    assert!(out.contains("cannot be used with"), "{out}");
    let input = format!(
        "model_provider = \"ominigate\"\n\n{}",
        "[model_providers.ominigate]\nname = \"O\"\n"
    );
    sb.write_config(&input);
    let out = sb.run(
        &["install", "--codex-version", "0.169.0", "--no-default"],
        4,
    );
    assert!(out.contains("install did not put it there"), "{out}");
    assert!(out.contains("help: edit that line"), "{out}");
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), input);
    assert!(!sb.profile_file().exists());
}

#[test]
fn dry_run_writes_nothing_and_prints_a_diff() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    let out = sb.run(&["install", "--codex-version", "0.169.0", "--dry-run"], 0);
    assert!(out.contains("+[model_providers.ominigate]"), "{out}");
    assert!(out.contains("--- /dev/null"), "the new profile file: {out}");
    assert!(out.contains("dry run: nothing was written"));
    assert_eq!(
        std::fs::read_dir(sb.codex_home()).unwrap().count(),
        1,
        "only config.toml"
    );
    sb.install("0.169.0");
    let installed = sb.read_config();
    let out = sb.run(&["uninstall", "--dry-run"], 0);
    assert!(out.contains("-[model_providers.ominigate]"), "{out}");
    assert_eq!(sb.read_config(), installed);
}

#[test]
fn dry_run_on_a_missing_home_creates_nothing() {
    let sb = Sandbox::new();
    sb.run(&["install", "--dry-run"], 0);
    assert!(!sb.codex_home().exists());
}

#[test]
fn chat_on_new_codex_is_refused_quoting_codex_unless_forced() {
    let sb = Sandbox::new();
    let out = sb.run(
        &["install", "--codex-version", "0.95.0", "--wire-api", "chat"],
        2,
    );
    assert!(out.contains("is no longer supported"), "{out}");
    assert!(!sb.codex_home().exists());
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.95.0",
            "--wire-api",
            "chat",
            "--force",
        ],
        0,
    );
    assert!(
        String::from_utf8(sb.read_config())
            .unwrap()
            .contains("wire_api = \"chat\"")
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let sb = Sandbox::new();
    for args in [
        &["install", "--base-url", "http://api.ominigate.ai/v1"][..],
        &["install", "--base-url", "file:///etc/passwd"],
        &["install", "--base-url", "https://u:p@host/v1"],
        &["install", "--env-key", "BAD NAME"],
        &["install", "--env-key", "../x"],
        &["install", "--model", "a\nb"],
        &["install", "--codex-version", "1.2"],
        &["install", "--wire-api", "grpc"],
    ] {
        let out = sb.run(args, 2);
        assert!(out.contains("error"), "{out}");
    }
    assert!(!sb.codex_home().exists());
}

#[test]
fn a_password_in_the_base_url_is_never_repeated() {
    let sb = Sandbox::new();
    for url in [
        "https://alice:hunter2pw@host/v1",
        "http://alice:hunter2pw@example.com/v1",
        "https://alice:hunter2pw@host/v 1",
        "https://alice:hunter2pw@host:0/v1",
        "https://alice:a/hunter2pw@host/v1",
    ] {
        let out = sb.run(
            &["install", "--codex-version", "0.169.0", "--base-url", url],
            2,
        );
        assert!(out.contains("error: the base URL"), "{out}");
        assert!(!out.contains("hunter2pw"), "{url}: {out}");
        assert!(!out.contains("alice"), "{url}: {out}");
    }
    assert!(!sb.codex_home().exists());
}

#[test]
fn loopback_http_and_flags_are_written() {
    let sb = Sandbox::new();
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--base-url",
            "http://127.0.0.1:9/v1/",
            "--env-key",
            "MY_KEY",
            "--model",
            "anthropic/claude-opus-4.6",
        ],
        0,
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        text.contains("base_url = \"http://127.0.0.1:9/v1\""),
        "{text}"
    );
    assert!(text.contains("env_key = \"MY_KEY\""));
    assert!(
        std::fs::read_to_string(sb.profile_file())
            .unwrap()
            .contains("anthropic/claude-opus-4.6")
    );
}

#[test]
fn uninstall_with_nothing_installed_touches_nothing() {
    let sb = Sandbox::new();
    assert!(sb.uninstall().contains("nothing to remove"));
    sb.write_config("a = 1\n");
    let out = sb.uninstall();
    assert!(out.contains("nothing to remove"), "{out}");
    assert_eq!(std::fs::read_dir(sb.codex_home()).unwrap().count(), 1);
}

#[test]
fn uninstall_refuses_to_break_references_it_did_not_make() {
    let sb = Sandbox::new();
    sb.write_config("[profiles.work]\nmodel_provider = \"ominigate\"\n");
    sb.install("0.133.0");
    let before = sb.read_config();
    let out = sb.run(&["uninstall"], 4);
    assert!(out.contains("profiles.work.model_provider"), "{out}");
    assert_eq!(sb.read_config(), before);
    sb.run(&["uninstall", "--force"], 0);
    assert_eq!(
        String::from_utf8(sb.read_config()).unwrap(),
        "[profiles.work]\nmodel_provider = \"ominigate\"\n"
    );
}

#[test]
fn uninstall_leaves_hand_written_blocks_unless_forced() {
    let block = "[model_providers.ominigate]\nname = \"OminiGate\"\n";
    let sb = Sandbox::new();
    sb.write_config(block);
    let out = sb.run(&["uninstall"], 4);
    assert!(out.contains("not written by ominigate-codex"), "{out}");
    sb.run(&["uninstall", "--force"], 0);
    assert_eq!(sb.read_config(), b"");
}

#[test]
fn uninstall_without_the_state_file_recognises_its_own_blocks() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    sb.install("0.169.0");
    std::fs::remove_file(sb.codex_home().join("ominigate-codex.state.json")).unwrap();
    sb.uninstall();
    assert_eq!(sb.read_config(), b"a = 1\n");
    assert!(!sb.profile_file().exists());
}

#[test]
fn codex_version_comes_from_the_binary_on_path_or_is_assumed() {
    let sb = Sandbox::new();
    let out = sb.run(&["install", "--dry-run"], 0);
    assert!(out.contains("No Codex found on PATH"), "{out}");
    let fake = sb.dir.path().join("bin/codex");
    std::fs::write(&fake, "#!/bin/sh\necho 'codex-cli 0.94.0'\n").unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sb.run(&["install"], 0);
    assert!(out.contains("Codex 0.94.0 (from `"), "{out}");
    assert!(
        String::from_utf8(sb.read_config())
            .unwrap()
            .contains("wire_api = \"chat\"")
    );
    std::fs::write(&fake, "#!/bin/sh\necho 'garbage'\n").unwrap();
    let out = sb.run(&["install", "--codex", fake.to_str().unwrap()], 1);
    assert!(out.contains("--codex-version"), "{out}");
}

#[test]
fn next_steps_say_whether_the_key_is_set_never_what_it_is() {
    let sb = Sandbox::new();
    let out = sb.install("0.169.0");
    assert!(
        out.contains("OMINIGATE_API_KEY is set in this shell: yes"),
        "{out}"
    );
    assert!(out.contains("~/.bashrc"));
    assert!(out.contains("codex exec --profile ominigate"));
    let out = String::from_utf8(
        sb.cmd()
            .env_remove("OMINIGATE_API_KEY")
            .env("OPENAI_API_KEY", "x")
            .args(["install", "--codex-version", "0.169.0"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(out.contains("is set in this shell: no"), "{out}");
    assert!(out.contains("unset OPENAI_API_KEY"), "{out}");
    assert!(!out.contains(CANARY));
    sb.assert_no_canary_in_files();
}

#[test]
fn codex_home_comes_from_the_environment_when_no_flag() {
    let sb = Sandbox::new();
    let out = sb
        .std_cmd_without_codex_home()
        .env("CODEX_HOME", sb.codex_home())
        .args(["install", "--codex-version", "0.169.0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(sb.config().exists());
    let out = sb
        .std_cmd_without_codex_home()
        .args(["install", "--codex-version", "0.169.0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(sb.root().join("home/.codex/config.toml").exists());
}

#[test]
fn help_has_examples_and_version_works() {
    let sb = Sandbox::new();
    for sub in [
        &["--help"][..],
        &["install", "--help"],
        &["uninstall", "--help"],
    ] {
        let out = sb.run(sub, 0);
        assert!(out.contains("Examples:"), "{sub:?}: {out}");
    }
    assert!(sb.run(&["--version"], 0).starts_with("ominigate-codex "));
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = sb.run(&["completions", shell], 0);
        assert!(out.contains("ominigate-codex"), "{shell}");
        assert!(out.contains("codex-version"), "{shell}: flags are listed");
    }
    let man = sb.run(&["man"], 0);
    assert!(man.contains(".TH ominigate-codex"), "{man}");
    assert!(
        man.contains(".TH ominigate-codex-install"),
        "subcommand pages too"
    );
    assert!(man.contains("\\-\\-dry\\-run"), "{man}");
    sb.run(&["completions", "tcsh"], 2);
}

/// Issue 21: the examples are under EXAMPLES (not clap_mangen's EXTRA), and
/// every `ominigate-codex-SUB(1)` the main page names is a page `man --dir`
/// writes.
#[test]
fn man_pages_named_by_the_main_page_are_written_with_their_examples() {
    let sb = Sandbox::new();
    let printed = sb.run(&["man"], 0);
    assert!(!printed.contains(".SH EXTRA"), "{printed}");
    let dir = sb.root().join("man1");
    let out = sb.run(&["man", "--dir", dir.to_str().unwrap()], 0);
    let main = std::fs::read_to_string(dir.join("ominigate-codex.1")).expect("main page");
    let named: Vec<String> = main
        .lines()
        .filter_map(|l| l.strip_prefix("ominigate\\-codex\\-"))
        .filter_map(|l| l.strip_suffix("(1)"))
        .map(|sub| format!("ominigate-codex-{}.1", sub.replace("\\-", "-")))
        .collect();
    assert!(
        named.contains(&"ominigate-codex-install.1".to_string()),
        "{main}"
    );
    let mut written = names(&dir);
    written.retain(|n| n != "ominigate-codex.1");
    let mut named = named;
    named.sort();
    assert_eq!(
        written, named,
        "a page for each subcommand the main page names"
    );
    for name in written.iter().chain([&"ominigate-codex.1".to_string()]) {
        let page = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(page.contains(".SH EXAMPLES"), "{name}:\n{page}");
        assert!(!page.contains(".SH EXTRA"), "{name}:\n{page}");
        assert!(printed.contains(&page), "{name}: printed by `man` too");
        assert!(
            out.contains(&format!("wrote {}", dir.join(name).display())),
            "{out}"
        );
    }
}

#[test]
fn errors_have_no_colour_codes_when_piped() {
    let sb = Sandbox::new();
    sb.write_config("a = = 1\n");
    for envs in [&[][..], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")][..]] {
        let out = sb
            .cmd()
            .envs(envs.iter().copied())
            .args(["install", "--codex-version", "0.169.0"])
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.starts_with("error: "), "{err:?}");
        assert!(err.contains("\nhelp: "), "{err:?}");
        assert!(!err.contains('\u{1b}'), "{err:?}");
    }
    let out = sb
        .cmd()
        .env("CLICOLOR_FORCE", "1")
        .args(["install", "--codex-version", "0.169.0"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stderr).unwrap().contains("\u{1b}["),
        "colour when forced"
    );
}

#[test]
fn quiet_prints_only_results_and_verbose_adds_details() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    assert_eq!(
        sb.run(&["--quiet", "install", "--codex-version", "0.169.0"], 0),
        ""
    );
    let diff = sb.run(&["uninstall", "-q", "--dry-run"], 0);
    assert!(diff.starts_with("--- "), "the diff is the result: {diff}");
    assert!(!diff.contains("dry run:"), "{diff}");
    let out = sb.run(
        &["-v", "install", "--codex-version", "0.169.0", "--default"],
        0,
    );
    assert!(out.contains("updated the record"), "{out}");
    let out = sb.run(&["-v", "uninstall"], 0);
    assert!(out.contains("install's record"), "{out}");
    let out = sb.run(&["install", "--verbose", "--codex-version", "0.133.0"], 0);
    assert!(
        out.contains("layout: profile as [profiles.ominigate] in config.toml"),
        "{out}"
    );
    sb.run(&["-q", "-v", "install"], 2);
}

#[test]
fn a_key_pasted_as_env_key_is_refused_and_never_copied() {
    let input =
        format!("[model_providers.ominigate]\nenv_key = \"{CANARY}\"\nwire_api = \"chat\"\n");
    let sb = Sandbox::new();
    sb.write_config(&input);
    for args in [
        &["install", "--codex-version", "0.169.0"][..],
        &["install", "--dry-run"],
        &["install", "--env-key", "OMINIGATE_API_KEY"],
    ] {
        let out = sb.run(args, 3);
        assert!(out.contains("must name an environment variable"), "{out}");
        assert!(out.contains("env_key = \"OMINIGATE_API_KEY\""), "{out}");
    }
    assert_eq!(sb.read_config(), input.as_bytes());
    assert_eq!(
        std::fs::read_dir(sb.codex_home()).unwrap().count(),
        1,
        "no record, no backup"
    );
}

// --- issue 11: legacy shapes, adopted blocks, install checking its result ---

#[test]
fn migration_carries_every_comment_and_key_into_the_profile_file() {
    let shapes = crate::harness::legacy_shapes();
    for (name, input, _) in &shapes {
        let sb = Sandbox::new();
        sb.write_config(input);
        sb.install("0.169.0");
        let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
        let config = String::from_utf8(sb.read_config()).unwrap();
        assert!(!config.contains("profiles"), "{name}: {config}");
        if name.starts_with("legacy table") {
            let header = profile.find("# from the guide").expect(&profile);
            let above = profile
                .find(
                    "# I prefer opus for refactors\nmodel = \"anthropic/claude-opus-4.6\" # opus\n",
                )
                .expect(&profile);
            assert!(header < above, "{profile}");
            assert!(
                profile.contains("model_reasoning_effort = \"high\""),
                "{profile}"
            );
        }
        if name.starts_with("dotted") {
            assert!(profile.contains("# my profile\nmodel = "), "{profile}");
            assert!(
                profile.contains("model_provider = \"ominigate\" # the gateway"),
                "{profile}"
            );
        }
    }
}

#[test]
fn uninstall_names_what_the_user_added_inside_the_blocks() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    sb.install("0.133.0");
    let mut text = String::from_utf8(sb.read_config()).unwrap();
    text = text.replace(
        "request_max_retries = 4\n",
        "request_max_retries = 4\n# my note\nextra_header = \"x\"\n",
    );
    text.push_str("\n[model_providers.ominigate.query_params]\napi-version = \"2025-01-01\"\n");
    sb.write_config(&text);
    let out = sb.uninstall();
    assert_eq!(sb.read_config(), b"a = 1\n", "{out}");
    for line in [
        "    extra key `extra_header`",
        "    comment `# my note`",
        "    sub-table [model_providers.ominigate.query_params]",
    ] {
        assert!(out.all().lines().any(|l| l == line), "{line:?} in:\n{out}");
    }
    let backup = sb.codex_home().join("config.toml.ominigate.bak");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), text);
    assert!(
        out.contains(&format!(
            "the file as it was before this uninstall, with them, is in {}",
            backup.display()
        )),
        "{out}"
    );
}

/// Issue 21: with a Codex home that is not `~/.codex`, the commands the
/// next steps print work as printed: `codex` run through `sh` gets that
/// home (`CODEX_HOME=DIR codex …`, quoted), and every `ominigate-codex`
/// names it. With `--codex-home`, and with `$CODEX_HOME` set for the one
/// command.
#[test]
fn next_steps_work_as_printed_for_a_home_that_is_not_the_default() {
    let sb = Sandbox::new();
    let log = sb.root().join("codex-ran");
    let fake = sb.root().join("bin/codex");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$CODEX_HOME\" >> '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spaced = sb.root().join("my codex");
    let by_flag = sb
        .cmd()
        .args(["install", "--codex-version", "0.169.0"])
        .output();
    let mut by_env = sb.std_cmd_without_codex_home();
    by_env
        .env("CODEX_HOME", &spaced)
        .args(["install", "--codex-version", "0.169.0"]);
    for (home, output) in [
        (sb.codex_home(), by_flag.unwrap()),
        (spaced, by_env.output().unwrap()),
    ] {
        let _ = std::fs::remove_file(&log);
        let out = crate::harness::Out::from(output);
        out.assert_code(0);
        let steps = &out.stdout[out.stdout.find("Next steps:").expect("next steps")..];
        let codex_lines: Vec<&str> = steps
            .lines()
            .map(str::trim)
            .filter(|l| l.contains("codex --profile") || l.contains("codex exec"))
            .collect();
        assert_eq!(codex_lines.len(), 2, "{steps}");
        for line in &codex_lines {
            let ran = std::process::Command::new(crate::harness::tool("sh"))
                .env_clear()
                .env("PATH", sb.root().join("bin"))
                .env("HOME", sb.root().join("home"))
                .args(["-c", line])
                .status()
                .unwrap();
            assert!(ran.success(), "{line}");
        }
        let want = format!("{}\n", home.display()).repeat(2);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), want, "{steps}");
        let quoted = match home.display().to_string() {
            h if h.contains(' ') => format!("'{h}'"),
            h => h,
        };
        for line in steps.lines().filter(|l| l.contains("ominigate-codex ")) {
            assert!(
                line.contains(&format!("ominigate-codex --codex-home {quoted} ")),
                "{line}\n{steps}"
            );
        }
        assert!(
            steps.contains("Check everything with: ominigate-codex --codex-home"),
            "{steps}"
        );
    }
}

#[test]
fn install_warns_about_what_codex_will_refuse_and_still_exits_0() {
    let sb = Sandbox::new();
    sb.write_config("[model_providers.openai]\nname = \"OpenAI\"\nwire_api = \"chat\"\n");
    let out = sb.exec(&["install", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("warning: "), "{out:?}");
    assert!(out.stderr.contains("config.toml:3"), "{out:?}");
    assert!(out.stderr.contains("is no longer supported"), "{out:?}");
    assert!(out.stderr.contains("fix: "), "{out:?}");
    let steps = &out.stdout[out.stdout.find("Next steps:").expect("next steps")..];
    assert!(
        steps.starts_with(&format!(
            "Next steps:\n  1. Run `ominigate-codex --codex-home {} doctor`",
            sb.codex_home().display()
        )),
        "{steps}"
    );
    assert!(!steps.contains("Start Codex"), "{steps}");

    let healthy = Sandbox::new();
    healthy.write_config("a = 1\n");
    let out = healthy.exec(&["install", "--codex-version", "0.169.0"], &[]);
    assert_eq!(out.code, 0);
    assert!(!out.stderr.contains("warning"), "{out:?}");
    assert!(out.stdout.contains("Start Codex 0.169.0"), "{out:?}");
}

#[test]
fn install_without_codex_says_so_first_and_how_to_get_it() {
    let sb = Sandbox::new();
    let out = sb.exec(&["install"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with(&format!(
            "No Codex found on PATH; writing the layout for the newest Codex known ({})\n",
            crate::harness::api::NEWEST_KNOWN
        )),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("Writing for no Codex"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Next steps:\n  1. Install Codex: npm i -g @openai/codex\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn uninstall_refuses_when_another_file_codex_reads_selects_the_provider() {
    let sb = Sandbox::new();
    let work = sb.work_dir();
    let user = format!(
        "[projects.{:?}]\ntrust_level = \"trusted\"\n",
        work.display().to_string()
    );
    sb.write_config(&user);
    sb.install("0.169.0");
    let installed = sb.read_config();

    let profile = sb.codex_home().join("work.config.toml");
    std::fs::write(&profile, "model = \"m\"\nmodel_provider = \"ominigate\"\n").unwrap();
    let out = sb.run(&["uninstall"], 4);
    assert!(out.contains(&format!("{}:2", profile.display())), "{out}");
    assert_eq!(sb.read_config(), installed);
    std::fs::remove_file(&profile).unwrap();

    let project = work.join(".codex/config.toml");
    std::fs::create_dir_all(project.parent().unwrap()).unwrap();
    std::fs::write(&project, "# team\nmodel_provider = \"ominigate\"\n").unwrap();
    let out = sb.run(&["uninstall"], 4);
    assert!(out.contains(&format!("{}:2", project.display())), "{out}");
    assert_eq!(sb.read_config(), installed);
    sb.run(&["uninstall", "--force"], 0);
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), user);
}

#[test]
fn a_key_in_a_removed_comment_is_not_printed() {
    let sb = Sandbox::new();
    sb.write_config(format!(
        "[model_providers.ominigate]\n# key was {CANARY}\nwire_api = \"chat\"\n"
    ));
    sb.install("0.169.0");
    let out = sb.uninstall();
    assert!(out.contains("    comment `# key was sk-o…"), "{out}");
    assert_eq!(sb.read_config(), b"");
}

// ---------------------------------------------------------------- --bridge

fn state_json(sb: &Sandbox) -> serde_json::Value {
    let path = sb.codex_home().join("ominigate-codex.state.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn bridge_switches_back_and_forth_and_uninstall_removes_it_all() {
    // The user's own provider block, its URL as a literal string with a comment.
    let input = "model = \"gpt-5\"\n\n[model_providers.ominigate]\nname = \"Mine\"\nbase_url = 'https://eu.ominigate.ai/v1' # EU\n";
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(input);
        sb.install(era);
        let direct = sb.read_config();

        let out = sb.run(&["install", "--codex-version", era, "--bridge"], 0);
        let text = String::from_utf8(sb.read_config()).unwrap();
        assert!(
            text.contains("base_url = \"http://127.0.0.1:8741/v1\" # EU"),
            "{era}: {text}"
        );
        assert!(text.contains("wire_api = \"responses\""), "{era}: {text}");
        assert_eq!(
            state_json(&sb)["bridge_upstream"],
            "https://eu.ominigate.ai/v1"
        );
        assert!(
            out.contains("which forwards to https://eu.ominigate.ai/v1"),
            "{out}"
        );
        let home = sb.codex_home().display().to_string();
        assert!(
            out.contains(&format!(
                "\n       ominigate-codex --codex-home {home} bridge\n"
            )),
            "{out}"
        );
        assert!(out.contains("bridge --print-service systemd"), "{out}");
        assert!(
            out.contains(&format!("ominigate-codex --codex-home {home} codex\n")),
            "{out}"
        );

        let again = sb.run(&["install", "--codex-version", era, "--bridge"], 0);
        assert!(again.contains("already installed"), "{again}");
        assert_eq!(sb.read_config(), text.as_bytes());

        // Back to direct with --direct: byte for byte the direct setup,
        // record gone.
        let out = sb.run(&["install", "--codex-version", era, "--direct"], 0);
        assert!(
            out.contains(
                "switched back from the bridge: Codex calls https://eu.ominigate.ai/v1 directly"
            ),
            "{out}"
        );
        assert_eq!(
            String::from_utf8(sb.read_config()).unwrap(),
            String::from_utf8(direct.clone()).unwrap(),
            "{era}"
        );
        assert!(state_json(&sb).get("bridge_upstream").is_none());

        // Bridge on another port, then uninstall: the user's block was
        // there before install, so it goes whole; the rest as it was.
        sb.run(
            &[
                "install",
                "--codex-version",
                era,
                "--bridge",
                "--bridge-port",
                "9999",
            ],
            0,
        );
        assert!(
            String::from_utf8(sb.read_config())
                .unwrap()
                .contains("\"http://127.0.0.1:9999/v1\"")
        );
        sb.uninstall();
        assert_eq!(
            String::from_utf8(sb.read_config()).unwrap(),
            "model = \"gpt-5\"\n",
            "{era}"
        );
        crate::harness::assert_no_ominigate(&sb, era);
        sb.assert_no_canary_in_files();
    }
}

#[test]
fn bridge_upstream_comes_from_the_flag_then_the_record_then_base_url() {
    let sb = Sandbox::new();
    sb.run(&["install", "--codex-version", "0.169.0", "--bridge"], 0);
    assert_eq!(
        state_json(&sb)["bridge_upstream"],
        "https://api.ominigate.ai/v1"
    );
    // A new upstream with the bridge kept: only the record changes.
    let out = sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--bridge",
            "--base-url",
            "https://gw.example/v1/",
        ],
        0,
    );
    assert!(
        out.contains("the bridge now forwards to https://gw.example/v1 (restart it"),
        "{out}"
    );
    assert_eq!(state_json(&sb)["bridge_upstream"], "https://gw.example/v1");
    // `use` keeps the bridge.
    sb.run(
        &[
            "use",
            "openai/gpt-5.3-codex",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(text.contains("\"http://127.0.0.1:8741/v1\""), "{text}");
    assert_eq!(state_json(&sb)["bridge_upstream"], "https://gw.example/v1");
    // --direct with --base-url wins over the record.
    let out = sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--direct",
            "--base-url",
            "https://other.example/v1",
        ],
        0,
    );
    assert!(
        out.contains(
            "switched back from the bridge: Codex calls https://other.example/v1 directly"
        ),
        "{out}"
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        text.contains("base_url = \"https://other.example/v1\""),
        "{text}"
    );
    assert!(state_json(&sb).get("bridge_upstream").is_none());
    sb.uninstall();
    assert!(!sb.config().exists() || sb.read_config().is_empty());

    // base_url pointed elsewhere by hand since --bridge: install keeps it,
    // and forgets the record.
    sb.install_bridge("0.169.0", 8741, "https://gw.example/v1");
    let text = String::from_utf8(sb.read_config())
        .unwrap()
        .replace("http://127.0.0.1:8741/v1", "https://mine.example/v1");
    sb.write_config(&text);
    sb.install("0.169.0");
    assert_eq!(String::from_utf8(sb.read_config()).unwrap(), text);
    assert!(state_json(&sb).get("bridge_upstream").is_none());
}

/// Issue 21: an install without `--bridge` keeps the bridge `install
/// --bridge` set up (`--no-default` printed `switched back from the bridge`,
/// and Codex then looped on `Reconnecting…` on a chat-only gateway); with
/// `--base-url` that is the gateway it forwards to; only `--direct` goes back.
#[test]
fn a_later_install_keeps_the_bridge_until_direct() {
    let sb = Sandbox::new();
    sb.install_bridge("0.169.0", 9000, "https://gw.example/v1");
    let bridged = sb.read_config();
    for flags in [&["--no-default"][..], &[], &["--model", "x/y"]] {
        let mut args = vec!["install", "--codex-version", "0.169.0"];
        args.extend_from_slice(flags);
        let out = sb.run(&args, 0);
        assert!(!out.contains("switched back"), "{flags:?}: {out}");
        assert!(
            out.contains("keeping the bridge install --bridge set up (http://127.0.0.1:9000/v1); --direct calls the gateway itself"),
            "{flags:?}: {out}"
        );
        assert!(
            out.contains("bridge --listen 127.0.0.1:9000"),
            "{flags:?}: {out}"
        );
        let text = String::from_utf8(sb.read_config()).unwrap();
        assert!(
            text.contains("base_url = \"http://127.0.0.1:9000/v1\""),
            "{flags:?}: {text}"
        );
        assert_eq!(state_json(&sb)["bridge_upstream"], "https://gw.example/v1");
    }
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--model",
            "openai/gpt-5.4-pro",
        ],
        0,
    );
    assert_eq!(
        sb.read_config(),
        bridged,
        "the same bridge setup, byte for byte"
    );
    let out = sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--base-url",
            "https://gw2.example/v1",
        ],
        0,
    );
    assert!(
        out.contains("the bridge now forwards to https://gw2.example/v1")
            || out.contains("which forwards to https://gw2.example/v1"),
        "{out}"
    );
    assert_eq!(state_json(&sb)["bridge_upstream"], "https://gw2.example/v1");
    let out = sb.run(&["install", "--codex-version", "0.169.0", "--direct"], 0);
    assert!(
        out.contains("switched back from the bridge: Codex calls https://gw2.example/v1 directly"),
        "{out}"
    );
    assert!(state_json(&sb).get("bridge_upstream").is_none());
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.169.0",
            "--direct",
            "--bridge",
        ],
        2,
    );

    // Codex 0.94 speaks chat by default, but to the bridge it speaks
    // the Responses API, kept too; chat needs --direct.
    let sb = Sandbox::new();
    sb.run(&["install", "--codex-version", "0.94.0", "--bridge"], 0);
    let bridged = sb.read_config();
    sb.run(&["install", "--codex-version", "0.94.0"], 0);
    assert_eq!(
        sb.read_config(),
        bridged,
        "still the bridge, with responses"
    );
    let out = sb.run(
        &["install", "--codex-version", "0.94.0", "--wire-api", "chat"],
        2,
    );
    assert!(out.contains("add --direct"), "{out}");
    assert_eq!(sb.read_config(), bridged);
    sb.run(
        &[
            "install",
            "--codex-version",
            "0.94.0",
            "--direct",
            "--wire-api",
            "chat",
        ],
        0,
    );
    let text = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        text.contains("wire_api = \"chat\"") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

/// The names of the files in `dir`, sorted.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Issue 21: install then uninstall on a Codex home with no config.toml
/// leaves no file: no config.toml (it left a 0-byte one), no backup of a
/// file that did not exist, no record; the real run says it removes the
/// record, as the dry run's diff shows. What the user then added stays,
/// with its backup.
#[test]
fn install_then_uninstall_on_a_home_without_config_leaves_no_file() {
    for era in ERAS {
        let sb = Sandbox::new();
        std::fs::create_dir(sb.codex_home()).unwrap();
        sb.install(era);
        let state = sb.state_file().display().to_string();
        let dry = sb.run(&["uninstall", "--dry-run"], 0);
        assert!(dry.contains(&format!("--- {state}\n")), "{era}: {dry}");
        let out = sb.uninstall();
        assert!(
            out.stdout
                .contains(&format!("removed {state}, install's record\n")),
            "{era}: {out}"
        );
        assert!(
            out.stdout
                .contains(&format!("removed {}\n", sb.config().display())),
            "{era}: {out}"
        );
        assert!(!out.stdout.contains("backup"), "{era}: {out}");
        assert_eq!(names(&sb.codex_home()), Vec::<String>::new(), "{era}");
    }
    // An empty config.toml of the user's stays, byte for byte.
    let sb = Sandbox::new();
    sb.write_config("");
    sb.install("0.169.0");
    sb.uninstall();
    assert_eq!(sb.read_config(), b"");
    // What the user added to the files install created stays, or is in
    // a backup.
    let sb = Sandbox::new();
    sb.install("0.169.0");
    crate::harness::append(&sb.config(), "# mine\n[tui]\nnotifications = true\n");
    crate::harness::append(&sb.profile_file(), "approval_policy = \"never\"\n");
    sb.uninstall();
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(
        config.contains("# mine\n[tui]\nnotifications = true\n"),
        "{config}"
    );
    assert!(!config.contains("ominigate"), "{config}");
    assert_eq!(
        names(&sb.codex_home()),
        [
            "config.toml",
            "config.toml.ominigate.bak",
            "ominigate.config.toml.ominigate.bak"
        ]
    );
}

/// On a home with no config, a second run that rewrites what install
/// created (install again with other flags, `use`) backs the file up;
/// uninstall removes that backup with the file, as it holds nothing of the
/// user's: nothing is left. A backup of the user's own file stays.
#[test]
fn uninstall_after_a_rewrite_leaves_no_backup_of_a_created_file() {
    for era in ERAS {
        let rewrites: [&[&str]; 3] = [
            &["install", "--codex-version", era, "--default"],
            &["install", "--codex-version", era, "--model", "v/other"],
            &["use", "v/other", "--offline", "--codex-version", era],
        ];
        for rewrite in rewrites {
            let sb = Sandbox::new();
            std::fs::create_dir(sb.codex_home()).unwrap();
            sb.install(era);
            sb.run(rewrite, 0);
            let out = sb.uninstall();
            assert_eq!(
                names(&sb.codex_home()),
                Vec::<String>::new(),
                "{era} {rewrite:?}: {out}"
            );
            assert!(!out.stdout.contains("kept a copy"), "{era}: {out}");
        }
    }
    // The user's own config keeps its backup.
    let sb = Sandbox::new();
    sb.write_config("# mine\n");
    sb.install("0.169.0");
    sb.run(
        &["use", "v/other", "--offline", "--codex-version", "0.169.0"],
        0,
    );
    sb.uninstall();
    assert_eq!(sb.read_config(), b"# mine\n");
    assert!(names(&sb.codex_home()).contains(&"config.toml.ominigate.bak".to_string()));
}

#[test]
fn bridge_refuses_to_forward_to_itself_and_chat() {
    let sb = Sandbox::new();
    sb.write_config("# mine\n");
    for (args, says) in [
        (
            vec!["--bridge", "--base-url", "http://127.0.0.1:8741/v1"],
            "is the bridge itself (port 8741 on this machine)",
        ),
        (
            vec![
                "--bridge",
                "--bridge-port",
                "9000",
                "--base-url",
                "http://localhost:9000/v1",
            ],
            "is the bridge itself (port 9000",
        ),
        (
            vec!["--bridge", "--wire-api", "chat"],
            "--bridge serves the Responses API",
        ),
        (vec!["--bridge-port", "9000"], "--bridge"),
        (vec!["--bridge", "--bridge-port", "0"], "0"),
        (
            vec!["--bridge", "--base-url", "http://gw.example/v1"],
            "plain http to another machine",
        ),
    ] {
        let mut all = vec!["install", "--codex-version", "0.169.0"];
        all.extend(args);
        let out = sb.run(&all, 2);
        assert!(out.contains(says), "{all:?}: {out}");
        assert_eq!(sb.read_config(), b"# mine\n");
        assert!(!sb.profile_file().exists());
    }
    // The provider already points at the bridge and nothing records the
    // gateway: refused, asking for --base-url.
    let input =
        "[model_providers.ominigate]\nname = \"x\"\nbase_url = \"http://127.0.0.1:8741/v1\"\n";
    sb.write_config(input);
    let out = sb.run(&["install", "--codex-version", "0.169.0", "--bridge"], 4);
    assert!(out.contains("the provider's base_url"), "{out}");
    assert!(out.contains("--base-url"), "{out}");
    assert_eq!(sb.read_config(), input.as_bytes());
}

#[test]
fn use_checks_its_result_too() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    sb.install("0.169.0");
    let mut text = String::from_utf8(sb.read_config()).unwrap();
    text.push_str("\n[model_providers.other]\nname = \"o\"\nwire_api = \"chat\"\n");
    sb.write_config(&text);
    let args = [
        "use",
        "anthropic/claude-opus-4.6",
        "--offline",
        "--codex-version",
        "0.169.0",
    ];
    let out = sb.exec(&args, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("warning: provider.fields"), "{out:?}");
    assert!(out.stderr.contains("wire_api = \"chat\""), "{out:?}");
}

#[test]
fn use_names_other_files_that_select_the_provider() {
    let sb = Sandbox::new();
    sb.install("0.169.0");
    let work = sb.codex_home().join("work.config.toml");
    std::fs::write(&work, "model_provider = \"ominigate\"\nmodel = \"m\"\n").unwrap();
    let out = sb.run(
        &[
            "use",
            "openai/gpt-5.3-codex",
            "--offline",
            "--codex-version",
            "0.169.0",
        ],
        0,
    );
    assert!(
        out.contains(&format!(
            "note: {}:1 (`model_provider = \"ominigate\"`) also selects the ominigate provider",
            work.display()
        )),
        "{out}"
    );
}
