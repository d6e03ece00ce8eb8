//! The invalid corpus (`../shared/corpus/codex-configs-invalid`): install
//! refuses each file naming file, line and column, and changes nothing;
//! TOML 1.1 files are edited like any other. (The valid corpus's round trip
//! is in `round_trip.rs`.)

use toml_edit::DocumentMut;

use crate::harness::{Sandbox, corpus_files};
use crate::round_trip::check_blocks;

#[test]
#[ignore = "needs ../shared/corpus"]
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
            check_blocks(&sb, "0.169.0", &file.display().to_string());
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
