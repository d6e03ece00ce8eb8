//! Every real config in `../shared/corpus`: install for each Codex era,
//! check the blocks, install again (no-op), uninstall (byte for byte back).

use std::path::Path;

use crate::harness::{ERAS, Sandbox, corpus_files};
use toml_edit::DocumentMut;

fn parse(bytes: &[u8]) -> DocumentMut {
    let text = String::from_utf8(bytes.to_vec()).expect("utf-8");
    text.trim_start_matches('\u{feff}')
        .parse()
        .expect("result parses as TOML")
}

/// `needle`'s lines appear in `hay` in the same order.
fn lines_kept_in_order(original: &[u8], installed: &[u8]) -> bool {
    let split =
        |b: &[u8]| -> Vec<Vec<u8>> { b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect() };
    let (old, new) = (split(original), split(installed));
    let mut it = new.iter();
    old.iter()
        .all(|line| it.any(|l| l == line || (l.is_empty() && line.is_empty())))
}

fn check_blocks(sb: &Sandbox, era: &str, file: &Path) {
    let doc = parse(&sb.read_config());
    let provider = doc
        .get("model_providers")
        .and_then(|p| p.get("ominigate"))
        .unwrap_or_else(|| panic!("{}: no provider block for {era}", file.display()));
    let wire = if era == "0.94.0" { "chat" } else { "responses" };
    assert_eq!(
        provider.get("wire_api").and_then(|v| v.as_str()),
        Some(wire)
    );
    assert_eq!(
        provider.get("env_key").and_then(|v| v.as_str()),
        Some("OMINIGATE_API_KEY")
    );
    let table = doc.get("profiles").and_then(|p| p.get("ominigate"));
    if era == "0.169.0" {
        assert!(
            table.is_none(),
            "{}: legacy table left for 0.169",
            file.display()
        );
        let profile = parse(&std::fs::read(sb.profile_file()).expect("profile file"));
        assert_eq!(
            profile.get("model_provider").and_then(|v| v.as_str()),
            Some("ominigate")
        );
        assert!(profile.get("model").and_then(|v| v.as_str()).is_some());
    } else {
        let table =
            table.unwrap_or_else(|| panic!("{}: no profile table for {era}", file.display()));
        assert_eq!(
            table.get("model_provider").and_then(|v| v.as_str()),
            Some("ominigate")
        );
        assert!(!sb.profile_file().exists());
    }
}

#[test]
fn corpus_round_trips_in_every_era() {
    let files = corpus_files("codex-configs");
    assert!(
        files.len() >= 80,
        "expected the 80-file corpus, found {}",
        files.len()
    );
    for file in &files {
        let original = std::fs::read(file).expect("corpus file");
        for era in ERAS {
            let sb = Sandbox::new();
            sb.write_config(&original);
            sb.install(era);
            let installed = sb.read_config();
            check_blocks(&sb, era, file);
            assert!(
                lines_kept_in_order(&original, &installed),
                "{} ({era}): an original line was lost or moved",
                file.display()
            );
            let mtime = std::fs::metadata(sb.config())
                .and_then(|m| m.modified())
                .expect("mtime");
            let again = sb.install(era);
            assert!(
                again.contains("already installed"),
                "{}: {again}",
                file.display()
            );
            assert_eq!(
                sb.read_config(),
                installed,
                "{}: second install changed bytes",
                file.display()
            );
            assert_eq!(
                std::fs::metadata(sb.config())
                    .and_then(|m| m.modified())
                    .expect("mtime"),
                mtime
            );
            sb.uninstall();
            crate::harness::assert_no_ominigate(&sb, &file.display().to_string());
            assert!(
                sb.read_config() == original,
                "{} ({era}): uninstall did not give the original back byte for byte",
                file.display()
            );
            assert!(!sb.profile_file().exists());
            assert!(!sb.codex_home().join("ominigate-codex.state.json").exists());
            sb.assert_no_canary_in_files();
        }
    }
}

#[test]
fn legacy_shapes_leave_no_ominigate_in_every_era() {
    for (name, input, clean) in crate::harness::legacy_shapes() {
        for era in ERAS {
            for default in [false, true] {
                let sb = Sandbox::new();
                sb.write_config(&input);
                let mut args = vec!["install", "--codex-version", era];
                if default {
                    args.push("--default");
                }
                sb.run(&args, 0);
                check_blocks(&sb, era, Path::new(name));
                let again = sb.run(&args, 0);
                assert!(again.contains("already installed"), "{name}: {again}");
                sb.uninstall();
                let what = format!("{name} on {era} (--default: {default})");
                crate::harness::assert_no_ominigate(&sb, &what);
                assert!(
                    sb.read_config() == clean.as_bytes(),
                    "{what}: not the clean file"
                );
                sb.assert_no_canary_in_files();
            }
        }
    }
}

#[test]
fn corpus_default_round_trips() {
    for file in corpus_files("codex-configs") {
        let original = std::fs::read(&file).expect("corpus file");
        let sb = Sandbox::new();
        sb.write_config(&original);
        sb.run(&["install", "--codex-version", "0.169.0", "--default"], 0);
        let doc = parse(&sb.read_config());
        assert_eq!(
            doc.get("model_provider").and_then(|v| v.as_str()),
            Some("ominigate"),
            "{}",
            file.display()
        );
        sb.uninstall();
        assert!(
            sb.read_config() == original,
            "{}: --default not undone byte for byte",
            file.display()
        );
    }
}

/// `install --bridge` on every real config: uninstall gives it back, and
/// install without --bridge returns to the direct setup byte for byte.
#[test]
fn corpus_bridge_round_trips() {
    let era = "0.169.0";
    for file in corpus_files("codex-configs") {
        let original = std::fs::read(&file).expect("corpus file");
        let sb = Sandbox::new();
        sb.write_config(&original);
        sb.run(&["install", "--codex-version", era, "--bridge"], 0);
        let doc = parse(&sb.read_config());
        assert_eq!(
            doc["model_providers"]["ominigate"]["base_url"].as_str(),
            Some("http://127.0.0.1:8741/v1"),
            "{}",
            file.display()
        );
        sb.uninstall();
        assert!(
            sb.read_config() == original,
            "{}: --bridge not undone byte for byte",
            file.display()
        );

        sb.install(era);
        let direct = sb.read_config();
        sb.run(&["install", "--codex-version", era, "--bridge"], 0);
        sb.install(era);
        assert!(
            sb.read_config() == direct,
            "{}: install after --bridge is not the direct setup",
            file.display()
        );
        sb.uninstall();
        assert!(sb.read_config() == original, "{}", file.display());
        assert!(!sb.codex_home().join("ominigate-codex.state.json").exists());
    }
}

#[test]
fn invalid_corpus_is_refused_unless_it_is_toml_1_1() {
    let files = corpus_files("codex-configs-invalid");
    assert!(!files.is_empty());
    for file in files {
        let original = std::fs::read(&file).expect("corpus file");
        let accepted = std::str::from_utf8(&original)
            .ok()
            .and_then(|t| t.parse::<DocumentMut>().ok())
            .is_some();
        let sb = Sandbox::new();
        sb.write_config(&original);
        if accepted {
            // TOML 1.1 (multi-line inline tables, trailing commas): edited like any other.
            sb.install("0.169.0");
            check_blocks(&sb, "0.169.0", &file);
            sb.uninstall();
        } else {
            let out = sb.run(&["install", "--codex-version", "0.169.0"], 3);
            let first = out
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or_default();
            let located = first.contains("config.toml:")
                && first
                    .split(':')
                    .filter(|p| p.parse::<u32>().is_ok())
                    .count()
                    >= 2;
            assert!(
                located,
                "{}: error lacks file:line:col: {out}",
                file.display()
            );
            assert!(out.contains("help:"), "{out}");
            assert!(!sb.codex_home().join("config.toml.ominigate.bak").exists());
            assert!(!sb.profile_file().exists());
        }
        assert!(
            sb.read_config() == original,
            "{}: file changed",
            file.display()
        );
    }
}
