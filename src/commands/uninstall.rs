//! `ominigate-codex uninstall`: OminiGate is gone and Codex works.
//!
//! Blocks install created go, giving back the text they took; blocks that
//! were there before install (adopted) go too, whole: restoring their old
//! values would hand back what Codex refuses (`wire_api = "chat"`) or a
//! half-removed OminiGate. What the user had added inside any removed block
//! is named, one line each, and the files are in the backups. Top-level
//! keys `--default` replaced get their previous values back.

use std::time::Duration;

use anyhow::Result;
use toml_edit::DocumentMut;

use super::install::{
    PROFILE_COMMENT, PROFILE_FILE_COMMENT, PROFILE_KEYS, PROVIDER_COMMENT, PROVIDER_KEYS,
    profile_file_is_ours, record_or_marker,
};
use super::{Docs, Files, RecordOrder, finish};
use crate::cli::UninstallArgs;
use crate::codex::binary::Codex;
use crate::error::refused;
use crate::fs;
use crate::paths::{self, CONFIG, CodexHome, PROFILE_FILE};
use crate::report::Ui;
use crate::setup::{self, Setup};
use crate::spec;
use crate::state::Record;
use crate::toml::blocks::{self, Addition, BlockPath, EditError, PROFILE, PROVIDER};

/// Why uninstall will not go on without `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Settings install did not write still select the provider, each as
    /// `file:line (`line`)` or a key path in config.toml.
    References(Vec<String>),
    /// A block or file install did not write (no record, no marker).
    NotOurs(String),
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
) -> Result<Result<(), Refusal>, EditError> {
    let present = blocks::get_block(doc, at)?.is_some();
    let Some(why) = reason(&record, present, force) else {
        return Ok(match present {
            true => Err(Refusal::NotOurs(format!("[{at}] in config.toml"))),
            false => Ok(()),
        });
    };
    if let Some(found) = blocks::drop_block(doc, at, known, comment)? {
        out.adopted |= matches!(record, Some(Record::Updated { .. }));
        out.removed(format!("removed [{at}]{why}"), found, CONFIG);
    }
    Ok(Ok(()))
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
/// in the other files Codex reads that select the provider (see
/// [`setup::provider_references`]).
pub fn plan(
    docs: &mut Docs,
    force: bool,
    elsewhere: &[String],
) -> Result<Result<Undone, Refusal>, EditError> {
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

    // References install did not make would dangle once the provider goes.
    let ours_default = docs.state.defaults.is_some();
    let mut foreign: Vec<String> = blocks::references(&docs.config, spec::PROVIDER_ID)
        .into_iter()
        .filter(|r| !(r == "model_provider" && ours_default))
        .filter(|r| !(r == "profiles.ominigate.model_provider" && profile_table.is_some()))
        .map(|r| format!("`{r}` in config.toml"))
        .collect();
    foreign.extend(elsewhere.iter().cloned());
    if !foreign.is_empty() && !force {
        return Ok(Err(Refusal::References(foreign)));
    }

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
            &mut out,
        );
    }
    // Reverse order of install: the profile table was added after the provider.
    let profile = (PROFILE, PROFILE_COMMENT, &PROFILE_KEYS[..]);
    if let Err(r) = undo_block(&mut docs.config, profile, profile_table, force, &mut out)? {
        return Ok(Err(r));
    }
    let block = (PROVIDER, PROVIDER_COMMENT, &PROVIDER_KEYS[..]);
    if let Err(r) = undo_block(&mut docs.config, block, provider, force, &mut out)? {
        return Ok(Err(r));
    }
    docs.state.provider = None;
    docs.state.profile_table = None;
    let why = ": it selects the profile uninstall removes";
    drop_selector(
        &mut docs.config,
        ("profile", spec::PROFILE_NAME),
        why,
        &mut out,
    );

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
                return Ok(Err(Refusal::NotOurs(PROFILE_FILE.to_string())));
            }
            None => {}
        }
    }
    docs.state.profile_file = None;
    docs.state.bridge_upstream = None;
    Ok(Ok(out))
}

fn refusal_error(r: Refusal) -> anyhow::Error {
    match r {
        Refusal::References(places) => refused(format!(
            "the ominigate provider is still selected by settings install did not write; removing it would break them:\n{}",
            places.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
        ))
        .help("point those at another provider first, or pass --force to remove the provider anyway"),
        Refusal::NotOurs(what) => refused(format!(
            "{what} was not written by ominigate-codex (no record of it), so uninstall leaves it alone"
        ))
        .help("remove it by hand, or pass --force to let uninstall remove it"),
    }
    .into()
}

pub fn run(home: &CodexHome, args: &UninstallArgs, ui: &mut Ui) -> Result<()> {
    ui.info(format_args!(
        "Codex home: {} ({})",
        home.dir.display(),
        home.source
    ))?;
    if !home.dir.is_dir() {
        ui.info(format_args!(
            "nothing to remove: {} does not exist",
            home.dir.display()
        ))?;
        return Ok(());
    }
    let _lock = (!args.dry_run)
        .then(|| fs::lock(&home.dir, Duration::from_secs(10)))
        .transpose()?;
    let files = Files::read(home)?;
    let mut work = files.open()?;
    // Doctor's walk of the files Codex reads, for the Codex on PATH.
    let inp = Setup::of_process(home, Codex::detect(None, None));
    let elsewhere = setup::provider_references(&inp, spec::PROVIDER_ID);
    let undone = plan(&mut work.docs, args.force, &elsewhere)
        .map_err(|e| work.shape_error(e))?
        .map_err(refusal_error)?;
    // Comments are the user's words: a pasted key must not reach the
    // screen. Registering the key of the provider doctor resolves is
    // enough: every line `finish` prints goes through the one filter.
    inp.secrets();
    // The record goes last (see install).
    if !finish(
        &work.changes(RecordOrder::Last),
        &undone.notes,
        args.dry_run,
        args.force,
        ui,
    )? {
        ui.info(format_args!(
            "nothing to remove: OminiGate is not installed in {}",
            home.dir.display()
        ))?;
        return Ok(());
    }
    if args.dry_run {
        return Ok(());
    }
    for file in &undone.additions_in {
        ui.info(format_args!(
            "the file as it was before this uninstall, with them, is in {}",
            paths::backup_of(&home.dir.join(file)).display()
        ))?;
    }
    if undone.adopted {
        let copy = paths::pre_install_of(&home.config());
        match copy.is_file() {
            true => ui.info(format_args!(
                "config.toml as it was before install, with the OminiGate blocks you had, is in {}",
                copy.display()
            ))?,
            false => ui.info(format_args!(
                "config.toml as it was before this uninstall, with the OminiGate blocks you had, is in {}",
                paths::backup_of(&home.config()).display()
            ))?,
        }
    }
    Ok(())
}
