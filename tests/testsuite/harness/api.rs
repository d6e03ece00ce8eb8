//! Every path into the library that the suite uses, in one place: when a
//! library module moves, this is the one file to fix.

pub use ominigate_codex::bridge::translate::{
    NoModels, RetryAfter, StreamTranslator, ToolMap, UpstreamError, chat_to_response,
    request_to_chat, upstream_error,
};
pub use ominigate_codex::codex::binary::{query_binary, run_with_timeout};
pub use ominigate_codex::codex::version::{
    CHAT_REMOVED, Layout, NEWEST_KNOWN, PROFILE_FILES, PROMPT_INPUT, Version,
};
pub use ominigate_codex::commands;
pub use ominigate_codex::edit::state::State;
pub use ominigate_codex::edit::{self, RecordOrder, install, uninstall};
pub use ominigate_codex::error::exit::{FAILURE, INVALID_CONFIG, OK, REFUSED, USAGE};
pub use ominigate_codex::fs::FileWrite;
pub use ominigate_codex::paths::BACKUP_SUFFIX;
pub use ominigate_codex::spec;
pub use ominigate_codex::toml::parse as lib_toml;

/// The built-in template of the model catalogue (see
/// `ominigate_codex::catalog::build`).
pub fn builtin_template() -> ominigate_codex::catalog::Catalog {
    ominigate_codex::catalog::Templates::builtin().entries
}
