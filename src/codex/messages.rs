//! Codex's own words (measured, see codex-compat.md): the texts install
//! quotes when it refuses, and doctor looks for in what Codex printed.

/// Codex's refusal of `wire_api = "chat"` (0.95.0 on), whole.
pub const CODEX_CHAT_ERROR: &str = "`wire_api = \"chat\"` is no longer supported. How to fix: set `wire_api = \"responses\"` in your provider config.";

/// The first sentence of [`CODEX_CHAT_ERROR`]: what doctor looks for in
/// Codex's output.
pub const CHAT_REMOVED_MSG: &str = "`wire_api = \"chat\"` is no longer supported.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentence_doctor_looks_for_is_the_one_codex_prints() {
        assert!(CODEX_CHAT_ERROR.starts_with(CHAT_REMOVED_MSG));
    }
}
