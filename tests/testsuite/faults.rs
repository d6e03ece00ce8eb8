//! Issue 6, the rows about what the user's files and flags may hold:
//! invalid TOML and bytes, empty files, wrong types, huge and deeply nested
//! files, hostile names and values, base URLs, and the canary key.
//!
//! Each test asserts the outcome (exit code, and the file, line and column
//! where they apply) and that nothing was lost: the Codex home is the same
//! tree as before (bytes, modes, inodes, mtimes), so no backup, no state and
//! no temporary file was written for a refused file. Every run checks that
//! the canary key is in no output and no file (see `harness`).

use crate::harness::*;

/// Run `args` against a Codex home holding `config`, expect `code`, and
/// prove nothing under the sandbox changed.
#[track_caller]
fn refused_untouched(config: &[u8], args: &[&str], code: i32) -> (Sandbox, Out) {
    let sb = Sandbox::new();
    sb.write_config(config);
    let before = sb.tree();
    let out = sb.expect(args, code);
    assert_same_tree(&before, &sb.tree());
    (sb, out)
}

// --- invalid TOML, duplicate keys and tables, non-UTF-8, NUL bytes ---------

/// (what, bytes, line:col of the error)
const BAD_FILES: &[(&str, &[u8], &str)] = &[
    ("invalid TOML", b"a = 1\nb = = 2\n", "2:5"),
    (
        "unclosed table header",
        b"[mcp_servers.x\ncommand = \"y\"\n",
        "1:15",
    ),
    ("duplicate key", b"a = 1\nb = 2\na = 3\n", "3:1"),
    ("duplicate table", b"[t]\nx = 1\n\n[t]\ny = 2\n", "4:2"),
    (
        "table redefining a dotted key",
        b"a.b = 1\n[a]\nc = 2\n",
        "2:2",
    ),
    ("non-UTF-8 byte", b"a = 1\nb = \"caf\xe9\"\n", "2:9"),
    ("truncated UTF-8 sequence", b"# \xc3", "1:3"),
    ("NUL byte in a string", b"a = 1\nb = \"x\0y\"\n", "2:7"),
    ("NUL byte in a comment", b"# hi\0there\n", "1:5"),
    ("lone carriage return", b"x = 1\r2\n", "1:7"),
    ("invalid TOML, CRLF file", b"a = 1\r\nb = = 2\r\n", "2:5"),
    ("invalid TOML after a BOM", b"\xef\xbb\xbfa = = 1\n", "1:5"),
];

#[test]
fn invalid_files_are_refused_with_path_line_and_column_and_left_untouched() {
    for (what, bytes, at) in BAD_FILES {
        for era in ERAS {
            let (sb, out) = refused_untouched(bytes, &install_args(era), INVALID_CONFIG);
            let at = format!("{}:{at}: ", sb.config().display());
            out.assert_stderr_has(&at)
                .assert_stderr_has("Nothing was written");
            assert!(!sb.backup().exists(), "{what}: backup written");
        }
        let (sb, out) = refused_untouched(bytes, &["uninstall"], INVALID_CONFIG);
        out.assert_stderr_has(&format!("{}:{at}: ", sb.config().display()));
    }
}

#[test]
fn invalid_profile_file_is_refused_naming_it() {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    std::fs::write(sb.profile_file(), "model = \"x\"\nmodel = \"y\"\n").unwrap();
    let before = sb.tree();
    sb.expect(&install_args("0.169.0"), INVALID_CONFIG)
        .assert_stderr_has(&format!("{}:2:1: ", sb.profile_file().display()));
    assert_same_tree(&before, &sb.tree());
}

#[test]
fn parse_errors_quote_a_short_printable_excerpt_of_the_line() {
    // A control character must not reach the terminal raw, and a huge line
    // must not be copied whole into the message.
    let (_, out) = refused_untouched(
        b"# title \x1b[2J\x1b]0;pwned\x07\n",
        &install_args("0.169.0"),
        INVALID_CONFIG,
    );
    assert!(
        !out.stderr.contains('\x1b') && !out.stderr.contains('\x07'),
        "raw control characters in the message: {:?}",
        out.stderr
    );
    let long = format!("a = [{}x]\n", "1, ".repeat(70_000));
    let (_, out) = refused_untouched(long.as_bytes(), &install_args("0.169.0"), INVALID_CONFIG);
    out.assert_stderr_has(":1:210006: ");
    assert!(
        out.stderr.len() < 2_000,
        "{} bytes of error",
        out.stderr.len()
    );
    assert!(out.stderr.contains("…, 1, ") && out.stderr.contains("1, x]"));
}

#[test]
fn a_file_toml_edit_would_reorder_is_refused_not_rewritten() {
    // toml_edit writes the dotted keys of one table together; a file that
    // has them apart cannot be edited without moving the user's lines.
    let text = "profiles.fast.model = \"o3\"\nk = 1\nprofiles.fast.effort = \"high\"\n";
    for era in ERAS {
        let (sb, out) = refused_untouched(text.as_bytes(), &install_args(era), INVALID_CONFIG);
        out.assert_stderr_has(&format!(
            "{}: toml_edit cannot write this file back unchanged",
            sb.config().display()
        ))
        .assert_stderr_has("Nothing was written");
    }
}

// --- wrong types ------------------------------------------------------------

/// (config, key named in the error, type named in the error)
const WRONG_TYPES: &[(&str, &str, &str)] = &[
    ("model_providers = \"x\"\n", "`model_providers`", "a string"),
    (
        "model_providers = [1, 2]\n",
        "`model_providers`",
        "an array",
    ),
    (
        "[[model_providers]]\nname = \"x\"\n",
        "`model_providers`",
        "an array of tables",
    ),
    (
        "[model_providers]\nominigate = 3\n",
        "`model_providers.ominigate`",
        "an integer",
    ),
    (
        "model_providers = { ominigate = \"x\" }\n",
        "`model_providers.ominigate`",
        "a string",
    ),
    (
        "[[model_providers.ominigate]]\nname = \"x\"\n",
        "`model_providers.ominigate`",
        "an array of tables",
    ),
    ("profiles = 1\n", "`profiles`", "an integer"),
    ("profiles = 2024-01-01\n", "`profiles`", "a date-time"),
    (
        "[profiles]\nominigate = true\n",
        "`profiles.ominigate`",
        "a boolean",
    ),
    (
        "profiles.ominigate = 1.5\n",
        "`profiles.ominigate`",
        "a float",
    ),
    (
        "[[profiles.ominigate]]\nmodel = \"x\"\n",
        "`profiles.ominigate`",
        "an array of tables",
    ),
    ("profile = 1\n", "`profile`", "an integer"),
    ("[profile]\nname = \"x\"\n", "`profile`", "a table"),
    ("model_provider = true\n", "`model_provider`", "a boolean"),
    (
        "model_provider = [\"ominigate\"]\n",
        "`model_provider`",
        "an array",
    ),
    (
        "model_provider = { id = \"ominigate\" }\n",
        "`model_provider`",
        "an inline table",
    ),
];

#[test]
fn wrong_types_are_refused_naming_key_and_type_and_nothing_is_written() {
    for (config, key, found) in WRONG_TYPES {
        let config = format!("# mine\n{config}");
        for era in ERAS {
            let (sb, out) =
                refused_untouched(config.as_bytes(), &install_args(era), INVALID_CONFIG);
            out.assert_stderr_has(&sb.config().display().to_string())
                .assert_stderr_has(key)
                .assert_stderr_has(&format!("is {found}"));
        }
        let (_, out) = refused_untouched(config.as_bytes(), &["uninstall"], INVALID_CONFIG);
        out.assert_stderr_has(key);
        let (_, out) = refused_untouched(
            config.as_bytes(),
            &["install", "--codex-version", "0.169.0", "--dry-run"],
            INVALID_CONFIG,
        );
        out.assert_stderr_has(key);
    }
}

#[test]
fn wrong_types_in_the_profile_file_are_refused_naming_it() {
    for (profile, key) in [
        ("model = 1\n", "`model`"),
        ("[model_provider]\n", "`model_provider`"),
    ] {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        std::fs::write(sb.profile_file(), profile).unwrap();
        let before = sb.tree();
        sb.expect(&install_args("0.169.0"), INVALID_CONFIG)
            .assert_stderr_has(&sb.profile_file().display().to_string())
            .assert_stderr_has(key);
        assert_same_tree(&before, &sb.tree());
    }
}

// --- size cap and deep nesting ----------------------------------------------

#[test]
fn a_file_over_16_mib_is_refused_without_being_parsed() {
    let mut big = b"# padding\n".repeat(16 * 1024 * 1024 / 10);
    big.extend(std::iter::repeat_n(b'#', 16 * 1024 * 1024 + 1 - big.len()));
    assert_eq!(big.len(), 16 * 1024 * 1024 + 1);
    for args in [install_args("0.169.0"), vec!["uninstall"]] {
        let (sb, out) = refused_untouched(&big, &args, REFUSED);
        out.assert_stderr_has(&sb.config().display().to_string())
            .assert_stderr_has("16777217 bytes, over the 16 MiB");
    }
}

#[test]
fn deep_nesting_is_refused_cleanly_not_a_stack_overflow() {
    let n = 100_000;
    let deep: Vec<(&str, String)> = vec![
        (
            "arrays",
            format!("a = {}{}\n", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "inline tables",
            format!("a = {}1{}\n", "{ b = ".repeat(n), " }".repeat(n)),
        ),
        ("dotted key", format!("{} = 1\n", vec!["k"; n].join("."))),
        (
            "table header",
            format!("[{}]\nx = 1\n", vec!["k"; n].join(".")),
        ),
        (
            "mixed",
            format!("a = {}{}\n", "[{ b = ".repeat(n / 2), " }]".repeat(n / 2)),
        ),
    ];
    for (what, text) in &deep {
        let (_, out) = refused_untouched(text.as_bytes(), &install_args("0.169.0"), INVALID_CONFIG);
        assert!(
            out.stderr.contains("recursion") || out.stderr.contains("recurse"),
            "{what}: {}",
            out.stderr
        );
        assert!(
            out.stderr.len() < 2_000,
            "{what}: {} bytes",
            out.stderr.len()
        );
    }
}

// --- hostile names and values -----------------------------------------------

const HOSTILE_ENV_KEYS: &[&str] = &[
    "..",
    "../../etc/passwd",
    "A/B",
    "/tmp/x",
    "MY KEY",
    " OMINIGATE_API_KEY",
    "OMINIGATE_API_KEY ",
    "KEY\"; rm -rf ~; \"",
    "KEY'",
    "KEY\nOTHER",
    "KEY\r",
    "KEY=VALUE",
    "1KEY",
    "KÉY",
    "",
    "$HOME",
];

#[test]
fn hostile_env_var_names_are_refused_before_anything_is_created() {
    let long = "K".repeat(129);
    let mut keys: Vec<&str> = HOSTILE_ENV_KEYS.to_vec();
    keys.push(&long);
    for key in keys {
        for era in ERAS {
            let sb = Sandbox::new();
            let before = sb.tree();
            let out = sb.expect(
                &["install", "--codex-version", era, "--env-key", key],
                USAGE,
            );
            out.assert_stderr_has("--env-key")
                .assert_stderr_has("not an environment variable name");
            assert_same_tree(&before, &sb.tree());
            assert!(!sb.codex_home().exists(), "{key:?}: Codex home created");
        }
    }
}

#[test]
fn the_longest_valid_env_var_name_is_written_as_is() {
    let key = format!("K{}", "_".repeat(127));
    let sb = Sandbox::new();
    sb.expect(
        &["install", "--codex-version", "0.169.0", "--env-key", &key],
        OK,
    )
    .assert_stdout_has(&format!("export {key}="));
    let doc: toml_edit::DocumentMut = String::from_utf8(sb.read_config())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        doc["model_providers"]["ominigate"]["env_key"].as_str(),
        Some(&*key)
    );
}

/// (A NUL byte cannot be passed in an argument at all.)
const HOSTILE_MODELS_REFUSED: &[&str] = &[
    "",
    " ",
    " gpt",
    "gpt ",
    "gpt\n[model_providers.evil]",
    "gpt\r",
    "a\u{1b}[31m",
    "\t",
];

#[test]
fn hostile_models_are_refused() {
    let long = "m".repeat(201);
    let mut models: Vec<&str> = HOSTILE_MODELS_REFUSED.to_vec();
    models.push(&long);
    for model in models {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let before = sb.tree();
        sb.expect(
            &["install", "--codex-version", "0.169.0", "--model", model],
            USAGE,
        )
        .assert_stderr_has("--model")
        .assert_stderr_has("not a model id");
        assert_same_tree(&before, &sb.tree());
    }
}

/// Models that are odd but one line: written escaped, read back identical,
/// and never used as a path.
const ODD_MODELS: &[&str] = &[
    "..",
    "../../../../tmp/evil",
    "/etc/passwd",
    "openai/gpt-5.4-pro",
    "my model",
    "quote\"d",
    "single'quoted",
    "'''",
    "\"\"\"",
    "back\\slash",
    "\\u0000",
    "# not a comment",
    "] [profiles.x]",
    "模型/ünïcödé-🚀",
];

#[test]
fn odd_models_are_escaped_and_never_become_paths() {
    let long = "m".repeat(200);
    let mut models: Vec<&str> = ODD_MODELS.to_vec();
    models.push(&long);
    for model in models {
        for era in ERAS {
            let sb = Sandbox::new();
            sb.write_config(RICH);
            sb.expect(&["install", "--codex-version", era, "--model", model], OK);
            let (file, doc_model) = if era == "0.169.0" {
                let text = String::from_utf8(sb.read(sb.profile_file()).unwrap()).unwrap();
                let doc: toml_edit::DocumentMut = text.parse().unwrap();
                (text.clone(), doc["model"].as_str().map(str::to_string))
            } else {
                let text = String::from_utf8(sb.read_config()).unwrap();
                let doc: toml_edit::DocumentMut = text.parse().unwrap();
                (
                    text.clone(),
                    doc["profiles"]["ominigate"]["model"]
                        .as_str()
                        .map(str::to_string),
                )
            };
            assert_eq!(doc_model.as_deref(), Some(model), "{era}:\n{file}");
            // Only the files the tool owns, all inside the Codex home.
            let names: Vec<String> = sb.tree().keys().map(|p| p.display().to_string()).collect();
            let mut expected = vec![
                "bin",
                "codex",
                "codex/config.toml",
                "codex/config.toml.ominigate.bak",
                "codex/ominigate-codex.state.json",
                "home",
                "work",
            ];
            if era == "0.169.0" {
                expected.push("codex/ominigate.config.toml");
            }
            if era != "0.94.0" {
                expected.push("codex/ominigate-models.json");
                let catalog = sb
                    .read(sb.codex_home().join("ominigate-models.json"))
                    .unwrap();
                let v: serde_json::Value = serde_json::from_slice(&catalog).unwrap();
                assert_eq!(v["models"][0]["slug"], model, "{era}");
            }
            expected.sort();
            assert_eq!(names, expected, "{model:?} {era}");
            sb.uninstall();
            assert_eq!(sb.read_config(), RICH.as_bytes());
        }
    }
}

// --- base URLs --------------------------------------------------------------

/// (url, what the message must say)
const BAD_URLS: &[(&str, &str)] = &[
    (
        "http://api.ominigate.ai/v1",
        "plain http to another machine",
    ),
    ("http://10.0.0.7:8080/v1", "plain http to another machine"),
    (
        "http://127.0.0.1.evil.example/v1",
        "plain http to another machine",
    ),
    (
        "http://localhost.evil.example/v1",
        "plain http to another machine",
    ),
    ("HTTP://example.com/v1", "plain http to another machine"),
    ("file:///etc/passwd", "must start with https://"),
    ("file://localhost/etc/passwd", "must start with https://"),
    ("ftp://api.ominigate.ai/v1", "must start with https://"),
    ("javascript:alert(1)", "must start with https://"),
    ("api.ominigate.ai/v1", "must start with https://"),
    ("https://", "has no host"),
    ("https:///v1", "has no host"),
    ("https://:443/v1", "has no host"),
    ("http://[]/v1", "has no host"),
    (
        "https://user:pass@api.ominigate.ai/v1",
        "user name or password",
    ),
    ("https://user@api.ominigate.ai/v1", "user name or password"),
    ("https://@api.ominigate.ai/v1", "user name or password"),
    ("http://x@127.0.0.1/v1", "user name or password"),
    (" https://api.ominigate.ai/v1", "white space"),
    ("https://api.ominigate.ai/v1 ", "white space"),
    ("https://api.ominigate.ai /v1", "white space"),
    ("https://api.ominigate.ai/v1\n", "white space"),
    ("https://api.ominigate.ai/\tv1", "white space"),
    ("https://api.ominigate.ai/v1?key=1", "query or fragment"),
    ("https://api.ominigate.ai/v1#x", "query or fragment"),
    ("https://api.ominigate.ai:0/v1", "invalid port"),
    ("https://api.ominigate.ai:65536/v1", "invalid port"),
    ("https://api.ominigate.ai:x/v1", "invalid port"),
    ("", "empty"),
];

#[test]
fn bad_base_urls_are_refused_with_a_clear_message() {
    for (url, why) in BAD_URLS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let before = sb.tree();
        sb.expect(
            &["install", "--codex-version", "0.169.0", "--base-url", url],
            USAGE,
        )
        .assert_stderr_has(why)
        .assert_stderr_has("--base-url");
        assert_same_tree(&before, &sb.tree());
    }
}

#[test]
fn https_anywhere_and_http_to_loopback_are_accepted() {
    for (url, written) in [
        ("https://gw.example.com/v1/", "https://gw.example.com/v1"),
        (
            "https://gw.example.com:8443/v1",
            "https://gw.example.com:8443/v1",
        ),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("http://localhost/v1", "http://localhost/v1"),
        ("http://[::1]:9/v1", "http://[::1]:9/v1"),
    ] {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        sb.expect(
            &["install", "--codex-version", "0.169.0", "--base-url", url],
            OK,
        );
        let doc: toml_edit::DocumentMut = String::from_utf8(sb.read_config())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            doc["model_providers"]["ominigate"]["base_url"].as_str(),
            Some(written)
        );
    }
}

#[test]
fn a_key_pasted_into_a_base_url_is_not_echoed() {
    for url in [
        format!("https://{CANARY}@api.ominigate.ai/v1"),
        format!("https://user:{CANARY}@api.ominigate.ai/v1"),
        format!("http://x:{CANARY}@127.0.0.1/v1"),
    ] {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let before = sb.tree();
        // `expect` fails if the canary is in the output.
        sb.expect(
            &["install", "--codex-version", "0.169.0", "--base-url", &url],
            USAGE,
        )
        .assert_stderr_has("user name or password");
        assert_same_tree(&before, &sb.tree());
    }
}

// --- the canary key ---------------------------------------------------------

#[test]
fn the_key_is_in_no_file_no_output_and_no_dry_run_diff() {
    // Every run in this suite checks the canary; this one goes through every
    // command and flag that prints or writes, in every era.
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let dry = sb.expect(
            &["install", "--codex-version", era, "--dry-run", "--default"],
            OK,
        );
        dry.assert_stdout_has("+[model_providers.ominigate]")
            .assert_stdout_has("dry run: nothing was written");
        sb.expect(&["install", "--codex-version", era, "--default"], OK)
            .assert_stdout_has("OMINIGATE_API_KEY is set in this shell: yes")
            .assert_stdout_has("export OMINIGATE_API_KEY=\"sk-omg-…\"");
        sb.expect(
            &[
                "install",
                "--codex-version",
                era,
                "--model",
                "x/y",
                "--base-url",
                "https://gw.example.com/v1",
            ],
            OK,
        );
        sb.expect(&["uninstall", "--dry-run"], OK)
            .assert_stdout_has("-[model_providers.ominigate]");
        sb.uninstall();
        assert_eq!(sb.read_config(), RICH.as_bytes());
        // The key named by --env-key is never printed either.
        let mut cmd = sb.std_cmd();
        cmd.args([
            "install",
            "--codex-version",
            era,
            "--env-key",
            "MY_GATEWAY_KEY",
        ])
        .env("MY_GATEWAY_KEY", CANARY)
        .env("OPENAI_API_KEY", CANARY);
        let out = assert_cmd::Command::from_std(cmd)
            .timeout(RUN_TIMEOUT)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(!text.contains(CANARY), "{text}");
        assert!(
            text.contains("MY_GATEWAY_KEY is set in this shell: yes"),
            "{text}"
        );
        assert!(text.contains("unset OPENAI_API_KEY"), "{text}");
        assert_no_canary_under(sb.root());
        assert_no_temps(sb.root());
    }
}
