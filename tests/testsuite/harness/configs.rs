//! Configs the tests start from: the guide's block, a rich config, the six
//! legacy shapes, and the real corpus in `../shared/corpus`.

use std::path::{Path, PathBuf};

use super::Sandbox;

/// The guide's block, verbatim (seeds/000_b1ba9e105b5c726e.txt), comment line included.
pub const GUIDE: &str = r#"# ~/.codex/config.toml
[model_providers.ominigate]
name = "OminiGate"
base_url = "https://api.ominigate.ai/v1"
env_key = "OMINIGATE_API_KEY"
wire_api = "chat"
requires_openai_auth = false
request_max_retries = 4
stream_max_retries = 10
stream_idle_timeout_ms = 300000
[profiles.ominigate]
model = "openai/gpt-5.4-pro"
model_provider = "ominigate"
"#;

/// A config with a bit of everything that must survive: comments, a BOM-free
/// LF file, MCP servers, projects with Windows paths, arrays of tables,
/// non-ASCII text and an existing provider and profile of the user's.
pub const RICH: &str = r#"# my codex config — keep this comment
model = "gpt-5"   # the default
approval_policy = "on-request"

[mcp_servers.docs]
command = "npx"
args = ["-y", "@docs/mcp"]

[projects."C:\\Users\\zoë\\src"]
trust_level = "trusted"

[model_providers.azure]
name = "Azure"
base_url = "https://example.openai.azure.com/openai"

[profiles.fast]
model = "o4-mini"

[[hooks]]
event = "start"
run = "echo hi"

[[hooks]]
event = "stop"
run = "echo bye" # last line
"#;

/// What Codex does to config.toml while it runs: trusts a project.
pub const CODEX_EDIT: &str = "\n[projects.\"/home/u/new\"]\ntrust_level = \"trusted\"\n";

/// `../shared/corpus/<name>` from the repository root.
pub fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(name)
}

/// The `.toml` files of a corpus directory, sorted. The tests that read it
/// are `#[ignore = "needs ../shared/corpus"]` (a plain clone has no
/// `../shared`); asked for without it, they fail (see [`super::needs`]).
/// CI keeps `shared/` beside the repository and runs them.
pub fn corpus_files(name: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(name);
    let what = format!(
        "the corpus {} (CI keeps shared/ beside the repo)",
        dir.display()
    );
    let mut files: Vec<PathBuf> = super::needs(std::fs::read_dir(&dir).ok(), &what)
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// `tests/testsuite/cases/`: the case directories (see `cases.rs`).
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testsuite/cases")
}

/// The six shapes a user of the guide starts from (issue 11), by name and
/// case directory (`cases/shape-<slug>-<era>/`).
const LEGACY_SHAPES: [(&str, &str); 6] = [
    ("guide verbatim", "guide-verbatim"),
    ("guide with BOM and CRLF", "guide-with-bom-and-crlf"),
    ("legacy table with user keys", "legacy-table-with-user-keys"),
    ("top-level selector", "top-level-selector"),
    ("dotted profile keys", "dotted-profile-keys"),
    (
        "legacy table with BOM and CRLF",
        "legacy-table-with-bom-and-crlf",
    ),
];

/// The six legacy shapes: the name, the config, and what uninstall leaves
/// after install (no OminiGate, every other line as it was), read from
/// their case directories, where a reviewer sees them.
pub fn legacy_shapes() -> Vec<(&'static str, String, String)> {
    let read = |slug: &str, file: &str| {
        let path = cases_dir().join(format!("shape-{slug}-0.169.0")).join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    LEGACY_SHAPES
        .iter()
        .map(|(name, slug)| {
            (
                *name,
                read(slug, "in/config.toml"),
                read(slug, "out/config.toml"),
            )
        })
        .collect()
}

/// What uninstall must leave (issue 11): no `ominigate` provider, no
/// profile (table, dotted keys or file), no selector, no top-level
/// `model_provider = "ominigate"`, no record; a config that parses.
#[track_caller]
pub fn assert_no_ominigate(sb: &Sandbox, what: &str) {
    let text = String::from_utf8(sb.read_config()).expect("utf-8");
    let doc: toml_edit::DocumentMut = text
        .trim_start_matches('\u{feff}')
        .parse()
        .unwrap_or_else(|e| panic!("{what}: uninstall left invalid TOML: {e}\n{text}"));
    let has = |a: &str| doc.get(a).and_then(|t| t.get("ominigate")).is_some();
    assert!(!has("model_providers"), "{what}: provider left\n{text}");
    assert!(!has("profiles"), "{what}: profile left\n{text}");
    for key in ["profile", "model_provider"] {
        assert_ne!(
            doc.get(key).and_then(|v| v.as_str()),
            Some("ominigate"),
            "{what}: top-level {key} left\n{text}"
        );
    }
    assert!(!sb.profile_file().exists(), "{what}: profile file left");
    assert!(
        !sb.codex_home().join("ominigate-codex.state.json").exists(),
        "{what}: record left"
    );
}
