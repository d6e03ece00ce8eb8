//! Codex's own words (measured, see codex-compat.md): the texts install
//! quotes when it refuses, and doctor looks for in what Codex printed or
//! quotes as what Codex will say.

use std::path::Path;

use crate::paths::PROFILE_FILE;

/// Codex's refusal of `wire_api = "chat"` (0.95.0 on), whole.
pub const CODEX_CHAT_ERROR: &str = "`wire_api = \"chat\"` is no longer supported. How to fix: set `wire_api = \"responses\"` in your provider config.";

/// The first sentence of [`CODEX_CHAT_ERROR`]: what doctor looks for in
/// Codex's output.
pub const CHAT_REMOVED_MSG: &str = "`wire_api = \"chat\"` is no longer supported.";

/// Codex 0.134+ with a top-level `profile = "NAME"`, on every run.
pub fn legacy_selector(name: &str) -> String {
    format!(
        "legacy `profile = \"{name}\"` config is no longer supported; use `--profile {name}` with `{name}.config.toml` instead"
    )
}

/// Codex 0.134+ with `--profile ominigate` and the legacy table or selector.
pub fn legacy_profile(config: &Path, home: &Path) -> String {
    format!(
        "--profile `ominigate` cannot be used while {} contains legacy `profile = \"ominigate\"` or `[profiles.ominigate]` config; move those settings into {} and remove the legacy profile selector/table.",
        config.display(),
        home.join(PROFILE_FILE).display()
    )
}

pub fn provider_not_found(id: &str) -> String {
    format!("Model provider `{id}` not found")
}

pub fn profile_not_found(name: &str) -> String {
    format!("config profile `{name}` not found")
}

pub fn missing_env(name: &str) -> String {
    format!("Missing environment variable: `{name}`.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_doctor_looks_for_is_the_one_codex_prints() {
        assert!(CODEX_CHAT_ERROR.starts_with(CHAT_REMOVED_MSG));
    }
}
