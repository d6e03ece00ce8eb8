//! install then uninstall gives the user's config back byte for byte, in
//! every text style (BOM, CRLF, mixed endings, no final newline) and on a
//! large generated config; and install keeps every original line.

#[allow(dead_code)] // parse_size is for the bench and the example
#[path = "../../benches/support/gen_config.rs"]
mod gen_config;

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn run(home: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("ominigate-codex")
        .expect("binary built")
        .env("HOME", home.join("home"))
        .env("CODEX_HOME", home.join("codex"))
        .env_remove("OMINIGATE_CODEX_FAILPOINT")
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn round_trip(original: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let codex = dir.path().join("codex");
    fs::create_dir_all(&codex).expect("codex home");
    let config = codex.join("config.toml");
    fs::write(&config, original).expect("write config");

    run(dir.path(), &["install", "--codex-version", "0.169.0"]);
    let installed = fs::read_to_string(&config).expect("config");
    assert!(
        installed.contains("[model_providers.ominigate]"),
        "{installed}"
    );
    let body = original.trim_start_matches('\u{feff}');
    for line in body.split_inclusive('\n') {
        assert!(installed.contains(line), "lost line {line:?}");
    }
    assert!(codex.join("ominigate.config.toml").exists());

    let again = run(dir.path(), &["install", "--codex-version", "0.169.0"]);
    assert!(again.contains("already installed"), "{again}");
    assert_eq!(fs::read_to_string(&config).expect("config"), installed);

    run(dir.path(), &["uninstall"]);
    assert_eq!(
        fs::read(&config).expect("config"),
        original.as_bytes(),
        "after uninstall"
    );
    assert!(!codex.join("ominigate.config.toml").exists());
    assert!(!codex.join("ominigate-codex.state.json").exists());
}

#[test]
fn every_text_style_survives_install_and_uninstall() {
    for original in [
        "",
        "model = \"gpt-5.5\"\n",
        "model = \"gpt-5.5\"",
        "\u{feff}model = \"gpt-5.5\"\r\n[projects.\"/p\"]\r\ntrust_level = \"trusted\"\r\n",
        "a = 1\r\nb = 2\n\r\n# end",
        "# only a comment\n",
        "[model_providers.other]\nname = \"x\"\n\n\n# trailing\n",
    ] {
        round_trip(original);
    }
}

#[test]
fn a_large_generated_config_survives_install_and_uninstall() {
    let text = gen_config::generate(200 << 10);
    round_trip(&text);
    round_trip(&text.replace('\n', "\r\n"));
}
