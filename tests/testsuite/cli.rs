//! Conventions every subcommand follows: a quiet exit on a closed pipe,
//! never a prompt, and the documented deterministic examples (tests/cmd/*.toml,
//! run by trycmd with an empty environment but for the values below).

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{CANARY, Sandbox, assert_no_canary_in_text};

/// Each case runs in an empty environment (`inherit = false`) with only
/// these: no real HOME, no CODEX_HOME, no `codex` on PATH, the canary key,
/// no request to a gateway (`OMINIGATE_CODEX_OFFLINE`, as in the sandbox).
#[test]
fn cmd_cases() {
    trycmd::TestCases::new()
        .default_bin_name("ominigate-codex")
        .env("HOME", "/nonexistent/home")
        .env("PATH", "/nonexistent/bin")
        .env("SHELL", "/bin/bash")
        .env("OMINIGATE_API_KEY", CANARY)
        .env("OMINIGATE_CODEX_OFFLINE", "1")
        .env(
            "OMINIGATE_CODEX_SYSTEM_CONFIG",
            "/nonexistent/etc-codex-config.toml",
        )
        .case("tests/cmd/*.toml");
}

/// The expected outputs are exact (no `...` elision), so the canary
/// cannot hide in them; and each case really clears the environment.
#[test]
fn cmd_cases_are_exact_and_hermetic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/cmd") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read");
        assert_no_canary_in_text(&text);
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => {
                cases += 1;
                assert!(
                    text.contains("[env]\ninherit = false\n"),
                    "{}",
                    path.display()
                );
                let out = path.with_extension("stdout");
                assert!(out.exists(), "{} has no expected output", path.display());
            }
            Some("stdout" | "stderr") => {
                // clap's own mark for an argument taken many times is not an elision.
                let text = text.replace("]...", "]");
                assert!(!text.contains("..."), "{}: no elision", path.display());
                assert!(!text.contains("[..]"), "{}: no elision", path.display());
            }
            _ => {}
        }
    }
    assert!(cases >= 13, "{cases} cases");
}

/// The command reference shows what the `models --offline` case prints,
/// verbatim.
#[test]
fn documented_examples_are_the_tested_outputs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let usage = std::fs::read_to_string(root.join("docs/usage.md")).expect("docs/usage.md");
    let out =
        std::fs::read_to_string(root.join("tests/cmd/models-offline.stdout")).expect("case output");
    assert!(
        usage.contains(&format!("$ ominigate-codex models --offline\n{out}```")),
        "docs/usage.md lacks the output of tests/cmd/models-offline:\n{out}"
    );
}

/// Issue 21: docs/bridge.md tells Codex's failure on a chat-only gateway as
/// measured with 0.171.0 (ten reconnects, then the 404, minutes later) and
/// that doctor tells it at once; docs/doctor.md says its probes are real,
/// possibly billed requests with the key, with the limits doctor sends
/// (read from its source), and names --offline.
#[test]
fn docs_tell_codexs_failure_and_doctors_probes_as_they_are() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect(p);
    let flat = |p: &str| read(p).split_whitespace().collect::<Vec<_>>().join(" ");
    let bridge = flat("docs/bridge.md");
    for said in [
        "`Reconnecting… 1/10`",
        "up to `10/10`",
        "ERROR: unexpected status 404 Not Found",
        "/v1/responses`",
        "after about 208 s",
        "`ominigate-codex doctor` tells the same in about a second",
    ] {
        assert!(
            bridge.contains(said),
            "docs/bridge.md does not say {said:?}"
        );
    }
    assert!(!bridge.contains("up to `9/10`"), "the old, wrong count");
    let doctor = flat("docs/doctor.md");
    let source = read("src/checks/endpoint.rs");
    for (sent, documented) in [
        ("\"max_output_tokens\": 16", "`max_output_tokens: 16`"),
        ("\"max_tokens\": 1", "`max_tokens: 1`"),
    ] {
        assert!(source.contains(sent), "doctor no longer sends {sent}");
        assert!(
            doctor.contains(documented),
            "docs/doctor.md lacks {documented}"
        );
    }
    assert!(
        doctor.contains("The gateway may bill those few tokens"),
        "{doctor}"
    );
    assert!(
        doctor.contains("`ominigate-codex doctor --offline`"),
        "{doctor}"
    );
}

/// The GitHub anchor of a Markdown heading: lower case, letters, digits,
/// `-` and `_` kept, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown page's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut found = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            fence = !fence;
        } else if !fence && line.starts_with('#') {
            found.push(anchor(line.trim_start_matches('#')));
        }
    }
    found
}

/// The README opens with the npm line, links every page of docs/, and no
/// relative link in the README or docs/ points at a missing file or
/// heading.
#[test]
fn readme_and_docs_links_resolve() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let first_block = readme.split("```sh\n").nth(1).expect("a sh block");
    assert!(
        first_block.starts_with("npx ominigate-codex install "),
        "{first_block}"
    );
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            readme.contains(&format!("](docs/{name})")),
            "README does not link docs/{name}"
        );
        pages.push(path);
    }
    assert_eq!(
        anchor("Why not just paste the guide's block?"),
        "why-not-just-paste-the-guides-block"
    );
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("page");
        for link in text.split("](").skip(1) {
            let target = link.split(')').next().expect("link");
            if target.contains("://") {
                continue;
            }
            let (file, heading) = target.split_once('#').unwrap_or((target, ""));
            let file = match file {
                "" => page.clone(),
                file => page.parent().expect("dir").join(file),
            };
            assert!(
                file.exists(),
                "{}: link to missing {target}",
                page.display()
            );
            if !heading.is_empty() {
                let there = std::fs::read_to_string(&file).expect("linked page");
                assert!(
                    anchors(&there).iter().any(|a| a == heading),
                    "{}: link to missing heading {target}",
                    page.display()
                );
            }
        }
    }
}

/// Run `args` with stdin an open pipe nobody writes to: a prompt would
/// wait for ever, so the run must end on its own.
fn with_silent_stdin(sb: &Sandbox, args: &[&str]) -> Output {
    let mut child = sb
        .std_cmd()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdin = child.stdin.take();
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{args:?} waited for input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    let out = child.wait_with_output().expect("output");
    assert_no_canary_in_text(&String::from_utf8_lossy(&out.stdout));
    assert_no_canary_in_text(&String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn nothing_ever_prompts() {
    let sb = Sandbox::new();
    sb.write_config("model_provider = \"openai\"\n");
    for (args, code) in [
        (
            &["install", "--codex-version", "0.169.0", "--default"][..],
            0,
        ),
        (&["use", "openai/gpt-5.3-codex", "--offline"], 0),
        (&["install", "--no-default"], 0),
        (&["status"], 0),
        (&["models", "--offline"], 0),
        (&["doctor", "--offline"], 0),
        (&["uninstall", "--dry-run"], 0),
        (&["uninstall"], 0),
        (&["uninstall"], 0),
    ] {
        let out = with_silent_stdin(&sb, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(sb.read_config(), b"model_provider = \"openai\"\n");
}

/// Run `args` with stdout a pipe whose reader is already gone, so the
/// first write fails with EPIPE: `ominigate-codex man | head -1` without
/// the race (a reader that reads first may get the whole output before
/// closing, and then nothing is tested).
fn into_closed_pipe(sb: &Sandbox, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = sb
        .std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_no_canary_in_text(&String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let sb = Sandbox::new();
    for args in [
        &["man"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["--help"],
        &["doctor", "--offline"],
        &["doctor", "--offline", "--json"],
        &["install", "--codex-version", "0.169.0", "--dry-run"],
        &["status"],
        &["status", "--json"],
        &["models", "--offline"],
    ] {
        let out = into_closed_pipe(&sb, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn a_closed_pipe_does_not_stop_install_half_way() {
    let sb = Sandbox::new();
    let out = into_closed_pipe(&sb, &["install", "--codex-version", "0.169.0"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(config.contains("[model_providers.ominigate]"), "{config}");
    assert!(sb.profile_file().exists());
    sb.assert_no_canary_in_files();
}

/// `--version` (and `-V`) says how the binary was installed: built from
/// this checkout here, npm when its launcher says so, nothing else from
/// the variable. (A packaged crate says cargo: npm.rs.)
#[test]
fn version_says_how_it_was_installed() {
    let sb = Sandbox::new();
    let version = env!("CARGO_PKG_VERSION");
    for (installer, how) in [
        (None, "built from source"),
        (Some("npm"), "installed with npm"),
        (Some("something else"), "built from source"),
    ] {
        for flag in ["--version", "-V"] {
            let out = sb.exec(&[flag], &[("OMINIGATE_CODEX_INSTALLER", installer)]);
            assert_eq!(out.code, 0, "{out:?}");
            assert_eq!(out.stdout, format!("ominigate-codex {version} ({how})\n"));
        }
    }
}

/// Issue 21: `bridge --print-service` runs the `ominigate-codex` on PATH;
/// with none there, this binary, which lives in a cargo build directory
/// (`cargo clean` removes it): said on stderr, with how to install it for
/// good.
#[test]
fn print_service_prefers_the_binary_on_path_and_warns_about_a_build_dir() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let out = sb.exec(&["bridge", "--print-service", "systemd"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let built = crate::harness::bin().canonicalize().unwrap();
    assert!(
        out.stdout
            .contains(&format!("ExecStart=\"{}\" ", built.display())),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.starts_with(&format!(
            "warning: {} is in a cargo build directory: the service stops starting once `cargo clean` removes it",
            built.display()
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("`npm i -g ominigate-codex` or `cargo install ominigate-codex`"),
        "{}",
        out.stderr
    );

    let installed = sb.root().join("bin/ominigate-codex");
    std::fs::write(&installed, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = sb.exec(&["bridge", "--print-service", "launchd"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("<string>{}</string>", installed.display())),
        "{}",
        out.stdout
    );
    assert_eq!(out.stderr, "", "no warning for the one on PATH");
}
