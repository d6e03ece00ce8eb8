//! Shared helpers for the CLI tests: a temp Codex home that never touches
//! the real `~/.codex`, a canary key, and the corpus location.
#![allow(dead_code)]

pub mod chat_gateway;
pub mod fake_codex;
pub mod real_codex;
pub mod server;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

/// Set as the API key in every CLI test; must never appear anywhere.
pub const CANARY: &str = "sk-omg-CANARY-5e1f0c9a7b3d";

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

/// For a test marked `#[ignore = "needs …"]`: such a test runs only when
/// asked for (`cargo test -- --ignored` or `--include-ignored`), and asked
/// for without what it needs it fails, saying what is missing. Without the
/// environment it is reported `ignored`, never `passed`.
#[track_caller]
pub fn needs<T>(have: Option<T>, what: &str) -> T {
    match have {
        Some(t) => t,
        None => panic!(
            "this test needs {what}, which is missing here; it is #[ignore]d by default, \
             so leave out --ignored/--include-ignored where that is expected{}",
            if std::env::var_os("CI").is_some_and(|v| v == "true") {
                " (CI=true: the CI environment must provide it)"
            } else {
                ""
            }
        ),
    }
}

/// The three measured Codex eras.
pub const ERAS: [&str; 3] = ["0.94.0", "0.133.0", "0.169.0"];

/// A temp dir holding `home/` (as $HOME) and `codex/` (as the Codex home).
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("home")).expect("home");
        std::fs::create_dir(dir.path().join("bin")).expect("bin");
        Sandbox { dir }
    }

    pub fn codex_home(&self) -> PathBuf {
        self.dir.path().join("codex")
    }

    pub fn config(&self) -> PathBuf {
        self.codex_home().join("config.toml")
    }

    pub fn profile_file(&self) -> PathBuf {
        self.codex_home().join("ominigate.config.toml")
    }

    /// Write `config.toml` (creating the Codex home).
    pub fn write_config(&self, bytes: impl AsRef<[u8]>) {
        std::fs::create_dir_all(self.codex_home()).expect("codex home");
        std::fs::write(self.config(), bytes).expect("write config");
    }

    pub fn read_config(&self) -> Vec<u8> {
        std::fs::read(self.config()).expect("read config")
    }

    /// The pretend `/etc/codex/config.toml` (absent unless a test writes it).
    pub fn system_config(&self) -> PathBuf {
        self.dir.path().join("etc-codex-config.toml")
    }

    /// The working directory the binary runs in (no `.codex/` above it
    /// that the test did not put there).
    pub fn work_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("work");
        std::fs::create_dir_all(&dir).expect("work dir");
        dir
    }

    /// The binary with a clean environment: HOME in the sandbox, no
    /// CODEX_HOME, no codex on PATH, the canary key set, the system config
    /// and the working directory in the sandbox.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// [`Sandbox::cmd`] as a plain `std` command, for tests that need to
    /// choose where stdout and stdin go.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ominigate-codex"));
        cmd.env_clear()
            .env("HOME", self.dir.path().join("home"))
            .env("PATH", self.dir.path().join("bin"))
            .env("OMINIGATE_API_KEY", CANARY)
            .env("SHELL", "/bin/bash")
            .env("OMINIGATE_CODEX_SYSTEM_CONFIG", self.system_config())
            .current_dir(self.work_dir())
            .arg("--codex-home")
            .arg(self.codex_home());
        cmd
    }

    /// Run `args`, assert the exit code, return stdout + stderr.
    pub fn run(&self, args: &[&str], code: i32) -> String {
        let out = self.cmd().args(args).output().expect("run");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(code), "{args:?}:\n{text}");
        assert_no_canary_in_text(&text);
        text
    }

    /// Run `args` with extra environment (`None`: unset it); stdout,
    /// stderr and the exit code apart, checked for the canary.
    pub fn exec(&self, args: &[&str], env: &[(&str, Option<&str>)]) -> Out {
        let mut cmd = self.cmd();
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let out = cmd.args(args).output().expect("run");
        let out = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_no_canary_in_text(&out.stdout);
        assert_no_canary_in_text(&out.stderr);
        out
    }

    pub fn install(&self, era: &str) -> String {
        self.run(&["install", "--codex-version", era], 0)
    }

    /// `install --bridge --bridge-port PORT --base-url UPSTREAM` for `era`.
    pub fn install_bridge(&self, era: &str, port: u16, upstream: &str) -> String {
        let port = port.to_string();
        self.run(
            &[
                "install",
                "--codex-version",
                era,
                "--bridge",
                "--bridge-port",
                &port,
                "--base-url",
                upstream,
            ],
            0,
        )
    }

    pub fn uninstall(&self) -> String {
        self.run(&["uninstall"], 0)
    }

    /// Every file under the sandbox, checked for the canary.
    pub fn assert_no_canary_in_files(&self) {
        assert_no_canary_under(self.dir.path());
    }

    /// The same after real Codex ran in the sandbox, but for the files Codex
    /// itself writes from its environment: `CODEX_HOME/shell_snapshots/`
    /// holds the exported environment of the shell Codex starts tools in
    /// (the key's variable included). Codex's file, not this tool's.
    pub fn assert_no_canary_in_files_but_codex_snapshots(&self) {
        assert_no_canary_under_but(self.dir.path(), &["shell_snapshots"]);
    }
}

/// What one run printed, and its exit code.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

pub fn assert_no_canary_in_text(text: &str) {
    assert!(
        !text.contains(CANARY),
        "the API key leaked into output:\n{text}"
    );
}

/// No regular file under `dir` holds the canary (FIFOs and the like are
/// not opened; unreadable entries are skipped).
#[track_caller]
pub fn assert_no_canary_under(dir: &Path) {
    assert_no_canary_under_but(dir, &[]);
}

/// [`assert_no_canary_under`], passing over directories named in `skip`.
pub fn assert_no_canary_under_but(dir: &Path, skip: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if !skip.iter().any(|name| entry.file_name() == *name) {
                assert_no_canary_under_but(&path, skip);
            }
        } else if meta.is_file() {
            let bytes = std::fs::read(&path).unwrap_or_default();
            let hit = bytes.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
            assert!(!hit, "the API key leaked into {}", path.display());
        }
    }
}

/// `../shared/corpus/<name>` from the repository root.
pub fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(name)
}

/// The `.toml` files of a corpus directory, sorted. Panics (fails the test)
/// when the corpus is missing: CI has `shared/` beside the repository.
pub fn corpus_files(name: &str) -> Vec<PathBuf> {
    let dir = corpus_dir(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "corpus {} is missing ({e}); CI keeps shared/ beside the repo",
                dir.display()
            )
        })
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Every file under `dir` with its bytes and mode, for "writes nothing".
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.is_dir() {
                out.insert(p.clone(), (Vec::new(), meta.permissions().mode()));
                out.extend(tree(&p));
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(p, (bytes, meta.permissions().mode()));
            }
        }
    }
    out
}

/// A legacy table with the user's own keys and comments around the guide's blocks.
const LEGACY_TABLE: &str = "model = \"gpt-5\" # plain codex\n\n[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://api.ominigate.ai/v1\"\nenv_key = \"OMINIGATE_API_KEY\"\nwire_api = \"chat\"\n\n[profiles.ominigate] # from the guide\n# I prefer opus for refactors\nmodel = \"anthropic/claude-opus-4.6\" # opus\nmodel_provider = \"ominigate\"\nmodel_reasoning_effort = \"high\"\n\n[tui]\nnotifications = true\n";
const LEGACY_TABLE_CLEAN: &str = "model = \"gpt-5\" # plain codex\n\n[tui]\nnotifications = true\n";

/// `text` with a BOM and CRLF line endings.
pub fn bom_crlf(text: &str) -> String {
    format!("\u{feff}{}", text.replace('\n', "\r\n"))
}

/// The six shapes a user of the guide starts from (issue 11): the name,
/// the config, and what uninstall must leave after install (no OminiGate,
/// every other line as it was).
pub fn legacy_shapes() -> Vec<(&'static str, String, String)> {
    vec![
        ("guide verbatim", GUIDE.to_string(), String::new()),
        ("guide with BOM and CRLF", bom_crlf(GUIDE), "\u{feff}".to_string()),
        (
            "legacy table with user keys",
            LEGACY_TABLE.to_string(),
            LEGACY_TABLE_CLEAN.to_string(),
        ),
        (
            "top-level selector",
            "profile = \"ominigate\"\nmodel = \"gpt-5\"\n\n[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://api.ominigate.ai/v1\"\nenv_key = \"OMINIGATE_API_KEY\"\nwire_api = \"chat\"\n\n[profiles.ominigate]\nmodel = \"openai/gpt-5.4-pro\"\nmodel_provider = \"ominigate\"\n\n[projects.\"/src/app\"]\ntrust_level = \"trusted\"\n".to_string(),
            "model = \"gpt-5\"\n\n[projects.\"/src/app\"]\ntrust_level = \"trusted\"\n".to_string(),
        ),
        (
            "dotted profile keys",
            "model = \"gpt-5\"\nmodel_providers.ominigate.name = \"OminiGate\"\nmodel_providers.ominigate.base_url = \"https://api.ominigate.ai/v1\"\nmodel_providers.ominigate.env_key = \"OMINIGATE_API_KEY\"\nmodel_providers.ominigate.wire_api = \"chat\"\n# my profile\nprofiles.ominigate.model = \"openai/gpt-5.4-pro\"\nprofiles.ominigate.model_provider = \"ominigate\" # the gateway\n\n[tui]\nnotifications = true\n".to_string(),
            "model = \"gpt-5\"\n\n[tui]\nnotifications = true\n".to_string(),
        ),
        (
            "legacy table with BOM and CRLF",
            bom_crlf(LEGACY_TABLE),
            bom_crlf(LEGACY_TABLE_CLEAN),
        ),
    ]
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
