//! How a block or file is recognised as install's: the comment install
//! puts above what it creates (for when the record is missing), and the
//! keys it writes there (anything else in those blocks is the user's).

use toml_edit::{DocumentMut, Item};

use super::state::{Record, State};
use crate::toml::blocks::BlockPath;

/// The comment above the blocks install creates; also how a block is
/// recognised as ours when the state file is missing.
pub const PROVIDER_COMMENT: &str =
    "OminiGate provider, added by ominigate-codex (`ominigate-codex uninstall` removes it)";
pub const PROFILE_COMMENT: &str =
    "OminiGate profile: `codex --profile ominigate` (added by ominigate-codex)";
pub const PROFILE_FILE_COMMENT: &str =
    "OminiGate profile for Codex 0.134+: `codex --profile ominigate` (written by ominigate-codex)";

/// The keys install writes in `[model_providers.ominigate]` (see
/// [`super::install`]) and in the profile; anything else in those blocks
/// is the user's.
pub const PROVIDER_KEYS: [&str; 8] = [
    "name",
    "base_url",
    "env_key",
    "wire_api",
    "requires_openai_auth",
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
];
pub const PROFILE_KEYS: [&str; 3] = ["model", "model_provider", "model_catalog_json"];

/// The block's record, or `Created` if it carries install's comment.
pub fn record_or_marker(
    doc: &DocumentMut,
    at: BlockPath,
    comment: &str,
    record: &Option<Record>,
) -> Option<Record> {
    if record.is_some() {
        return record.clone();
    }
    let root = doc.as_table();
    let marked = root
        .get(at.parent)
        .and_then(Item::as_table_like)
        .and_then(|p| p.get(at.name))
        .and_then(Item::as_table)
        .and_then(|t| t.decor().prefix())
        .and_then(|p| p.as_str())
        .is_some_and(|p| p.ends_with(&format!("# {comment}\n")));
    marked.then_some(Record::Created)
}

/// A profile file install wrote (by the record, or by its header comment).
pub fn profile_file_is_ours(doc: &DocumentMut, state: &State) -> bool {
    matches!(state.profile_file, Some(Record::Created))
        || (state.profile_file.is_none()
            && doc
                .to_string()
                .starts_with(&format!("# {PROFILE_FILE_COMMENT}\n")))
}
