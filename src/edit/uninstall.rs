//! `uninstall`'s edit: OminiGate is gone and Codex works.
//!
//! Blocks install created go, giving back the text they took; blocks that
//! were there before install (adopted) go too, whole: restoring their old
//! values would hand back what Codex refuses (`wire_api = "chat"`) or a
//! half-removed OminiGate. What the user had added inside any removed block
//! is named, one line each, and the files are in the backups. Top-level
//! keys `--default` replaced get their previous values back. Pure: no IO.

use toml_edit::DocumentMut;

use super::Docs;
use super::marks::{
    PROFILE_COMMENT, PROFILE_FILE_COMMENT, PROFILE_KEYS, PROVIDER_COMMENT, PROVIDER_KEYS,
    profile_file_is_ours, record_or_marker,
};
use super::state::Record;
use crate::paths::{CONFIG, PROFILE_FILE};
use crate::spec;
use crate::toml::blocks::{self, Addition, BlockPath, EditError, PROFILE, PROVIDER};

/// Why uninstall stops and writes nothing.
#[derive(Debug)]
pub enum UndoError {
    /// A key this tool edits has the wrong type.
    Shape(EditError),
    /// Settings install did not write still select the provider, each as
    /// `file:line (`line`)` or a key path in config.toml (`--force` goes on).
    References(Vec<String>),
    /// A block or file install did not write (no record, no marker;
    /// `--force` removes it).
    NotOurs(String),
}

impl From<EditError> for UndoError {
    fn from(e: EditError) -> UndoError {
        UndoError::Shape(e)
    }
}

/// What uninstall did, for the report.
#[derive(Debug, Default)]
pub struct Undone {
    pub notes: Vec<String>,
    /// The files (config.toml, the profile file) whose removed blocks held
    /// what the user had added: their backup is the only copy left.
    pub additions_in: Vec<&'static str>,
    /// Blocks that were in config.toml before install were removed.
    pub adopted: bool,
}

impl Undone {
    /// One line for the removal, and one per addition under it.
    fn removed(&mut self, what: String, found: Vec<Addition>, file: &'static str) {
        if found.is_empty() {
            self.notes.push(what);
            return;
        }
        self.notes
            .push(format!("{what}, with what you had added in it:"));
        self.notes.extend(found.iter().map(|a| format!("  {a}")));
        if !self.additions_in.contains(&file) {
            self.additions_in.push(file);
        }
    }
}

/// Why a block goes, for its note; `None` when it stays.
fn reason(record: &Option<Record>, present: bool, force: bool) -> Option<&'static str> {
    match record {
        Some(Record::Created) => Some(""),
        Some(Record::Updated { .. }) => Some(", which you had before install"),
        None if present && force => Some(" (not written by ominigate-codex; --force)"),
        None => None,
    }
}

/// Remove one block per its record; `None` with the block present is the user's.
fn undo_block(
    doc: &mut DocumentMut,
    (at, comment, known): (BlockPath, &str, &[&str]),
    record: Option<Record>,
    force: bool,
    out: &mut Undone,
) -> Result<(), UndoError> {
    let present = blocks::get_block(doc, at)?.is_some();
    let Some(why) = reason(&record, present, force) else {
        return match present {
            true => Err(UndoError::NotOurs(format!("[{at}] in config.toml"))),
            false => Ok(()),
        };
    };
    if let Some(found) = blocks::drop_block(doc, at, known, comment)? {
        out.adopted |= matches!(record, Some(Record::Updated { .. }));
        out.removed(format!("removed [{at}]{why}"), found, CONFIG);
    }
    Ok(())
}

/// Remove a top-level `key = "value"` that install did not write, if there.
fn drop_selector(doc: &mut DocumentMut, (key, value): (&str, &str), why: &str, out: &mut Undone) {
    if blocks::get_str(doc.as_table(), key) == Some(value) {
        let found = blocks::drop_root_key(doc, key).unwrap_or_default();
        out.adopted = true;
        out.removed(
            format!("removed top-level `{key} = \"{value}\"`{why}"),
            found,
            CONFIG,
        );
    }
}

/// Edit `docs` to undo install. Pure: no IO. `elsewhere` are the settings
/// in the other files Codex reads that select the provider (the caller
/// finds them: doctor's `provider_references`).
pub fn plan(docs: &mut Docs, force: bool, elsewhere: &[String]) -> Result<Undone, UndoError> {
    let mut out = Undone::default();
    let provider = record_or_marker(
        &docs.config,
        PROVIDER,
        PROVIDER_COMMENT,
        &docs.state.provider,
    );
    let profile_table = record_or_marker(
        &docs.config,
        PROFILE,
        PROFILE_COMMENT,
        &docs.state.profile_table,
    );
    let ours_default = docs.state.defaults.is_some();
    check_references(
        docs,
        ours_default,
        profile_table.is_some(),
        elsewhere,
        force,
    )?;
    defaults(docs, ours_default, &mut out)?;
    config_blocks(docs, provider, profile_table, force, &mut out)?;
    profile_file(docs, force, &mut out)?;
    docs.state.bridge_upstream = None;
    if let Some(note) = super::catalog::remove(docs) {
        out.notes.push(note);
    }
    Ok(out)
}

/// Step 1: references install did not make would dangle once the provider
/// goes; without `--force`, stop on them.
fn check_references(
    docs: &Docs,
    ours_default: bool,
    ours_profile_table: bool,
    elsewhere: &[String],
    force: bool,
) -> Result<(), UndoError> {
    let mut foreign: Vec<String> = blocks::references(&docs.config, spec::PROVIDER_ID)
        .into_iter()
        .filter(|r| !(r == "model_provider" && ours_default))
        .filter(|r| !(r == "profiles.ominigate.model_provider" && ours_profile_table))
        .map(|r| format!("`{r}` in config.toml"))
        .collect();
    foreign.extend(elsewhere.iter().cloned());
    if !foreign.is_empty() && !force {
        return Err(UndoError::References(foreign));
    }
    Ok(())
}

/// Step 2: the top-level `model_provider` and `model` `--default` set.
fn defaults(docs: &mut Docs, ours_default: bool, out: &mut Undone) -> Result<(), UndoError> {
    if let Some(note) = docs.restore_defaults()? {
        out.notes.push(note.into());
    }
    if ours_default {
        // Still "ominigate": it was before install --default, nothing to put back.
        let why = ", which you had before install";
        drop_selector(
            &mut docs.config,
            ("model_provider", spec::PROVIDER_ID),
            why,
            out,
        );
    }
    Ok(())
}

/// Step 3: the profile table and the provider block in config.toml, and a
/// `profile = "ominigate"` that selects the table.
fn config_blocks(
    docs: &mut Docs,
    provider: Option<Record>,
    profile_table: Option<Record>,
    force: bool,
    out: &mut Undone,
) -> Result<(), UndoError> {
    // Reverse order of install: the profile table was added after the provider.
    let profile = (PROFILE, PROFILE_COMMENT, &PROFILE_KEYS[..]);
    undo_block(&mut docs.config, profile, profile_table, force, out)?;
    let block = (PROVIDER, PROVIDER_COMMENT, &PROVIDER_KEYS[..]);
    undo_block(&mut docs.config, block, provider, force, out)?;
    docs.state.provider = None;
    docs.state.profile_table = None;
    let why = ": it selects the profile uninstall removes";
    drop_selector(&mut docs.config, ("profile", spec::PROFILE_NAME), why, out);
    Ok(())
}

/// Step 4: the profile file, when install wrote it (or `--force`); one
/// that selects the provider and is not install's stops the run.
fn profile_file(docs: &mut Docs, force: bool, out: &mut Undone) -> Result<(), UndoError> {
    if let Some(doc) = &docs.profile {
        let ours = profile_file_is_ours(doc, &docs.state);
        let record = match docs.state.profile_file.take() {
            None if ours => Some(Record::Created),
            r => r,
        };
        match reason(&record, true, force) {
            Some(why) => {
                let found =
                    blocks::additions(doc.as_table(), "", &PROFILE_KEYS, PROFILE_FILE_COMMENT);
                docs.profile = None;
                out.removed(format!("removed {PROFILE_FILE}{why}"), found, PROFILE_FILE);
            }
            None if blocks::get_str(doc.as_table(), "model_provider")
                == Some(spec::PROVIDER_ID) =>
            {
                return Err(UndoError::NotOurs(PROFILE_FILE.to_string()));
            }
            None => {}
        }
    }
    docs.state.profile_file = None;
    Ok(())
}
