//! Real Codex binaries for the end-to-end suites (e2e.rs,
//! bridge_e2e.rs): which ones `OMINIGATE_E2E_CODEX` names, and the
//! guard that they only ever run where the network is loopback alone.

use std::path::PathBuf;

use super::api::{CHAT_REMOVED, Version, query_binary};

/// A real Codex binary and its version.
pub struct Codex {
    pub path: PathBuf,
    pub version: Version,
}

impl Codex {
    /// This release speaks chat completions itself (up to 0.94).
    pub fn chat(&self) -> bool {
        self.version < CHAT_REMOVED
    }

    /// The path Codex posts to for the wire API this release uses.
    pub fn wire_path(&self) -> &'static str {
        if self.chat() {
            "/v1/chat/completions"
        } else {
            "/v1/responses"
        }
    }
}

/// The binaries named by `OMINIGATE_E2E_CODEX`, one per version, oldest
/// first; fails the test when the variable is not set (the test was asked
/// for explicitly) or when the network is not loopback-only.
pub fn binaries() -> Vec<Codex> {
    let list = super::needs(
        std::env::var_os("OMINIGATE_E2E_CODEX"),
        "OMINIGATE_E2E_CODEX (space-separated paths of real Codex binaries; bash .ci/run sets it)",
    );
    assert_isolated();
    let mut found: Vec<Codex> = Vec::new();
    for path in list.to_string_lossy().split_whitespace() {
        let path = PathBuf::from(path);
        let version = query_binary(&path)
            .unwrap_or_else(|e| panic!("{} is not a working Codex: {e}", path.display()));
        if !found.iter().any(|c| c.version == version) {
            found.push(Codex { path, version });
        }
    }
    assert!(!found.is_empty(), "OMINIGATE_E2E_CODEX names no binary");
    found.sort_by_key(|c| c.version);
    found
}

/// Real Codex phones home (analytics, plugin sync, OpenAI model lists) and
/// these suites must only ever talk to 127.0.0.1: they run in a network
/// namespace of their own whose one interface is loopback.
pub fn assert_isolated() {
    let dev = std::fs::read_to_string("/proc/self/net/dev").expect("/proc/self/net/dev");
    let others: Vec<&str> = dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(str::trim)
        .filter(|name| *name != "lo")
        .collect();
    assert!(
        others.is_empty(),
        "the real-Codex suites must run where only loopback exists, but this network has {others:?}; \
         run them as: unshare -rn sh -c 'ip link set lo up && exec cargo test --test testsuite -- --ignored e2e::' \
         (as .ci/run does)"
    );
}
