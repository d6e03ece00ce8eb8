//! `ominigate-codex uninstall`: undo exactly what install did.

use std::time::Duration;

use anyhow::Result;
use toml_edit::DocumentMut;

use super::install::{PROFILE_COMMENT, PROVIDER_COMMENT, profile_file_is_ours, record_or_marker};
use super::{Docs, Files, RecordOrder, finish};
use crate::blocks::{self, BlockPath, EditError, PROFILE, PROVIDER};
use crate::cli::UninstallArgs;
use crate::config_file;
use crate::error::refused;
use crate::paths::{CodexHome, PROFILE_FILE};
use crate::report::Ui;
use crate::spec;
use crate::state::Record;

/// Why uninstall will not go on without `--force`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Settings install did not write still select the provider.
    References(Vec<String>),
    /// A block or file install did not write (no record, no marker).
    NotOurs(String),
}

/// Undo one block per its record; `None` with the block present is the user's.
fn undo_block(
    doc: &mut DocumentMut,
    at: BlockPath,
    comment: &str,
    record: Option<Record>,
    force: bool,
    notes: &mut Vec<String>,
) -> Result<Result<(), Refusal>, EditError> {
    let present = blocks::get_block(doc, at)?.is_some();
    match record {
        Some(Record::Created) => {
            let removed = blocks::remove_block(doc, at, comment)?;
            if removed {
                notes.push(format!("removed [{at}]"));
            }
        }
        Some(Record::Updated { previous }) => {
            let restored = !previous.is_empty() && blocks::restore_block(doc, at, &previous)?;
            if restored {
                notes.push(format!("restored your previous values in [{at}]"));
            }
        }
        None if present && force => {
            blocks::remove_block(doc, at, comment)?;
            notes.push(format!(
                "removed [{at}] (not written by ominigate-codex; --force)"
            ));
        }
        None if present => return Ok(Err(Refusal::NotOurs(format!("[{at}] in config.toml")))),
        None => {}
    }
    Ok(Ok(()))
}

/// Edit `docs` to undo install. Pure: no IO.
pub fn plan(docs: &mut Docs, force: bool) -> Result<Result<Vec<String>, Refusal>, EditError> {
    let mut notes = Vec::new();
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
    let foreign: Vec<String> = blocks::references(&docs.config, spec::PROVIDER_ID)
        .into_iter()
        .filter(|r| !(r == "model_provider" && ours_default))
        .filter(|r| !(r == "profiles.ominigate.model_provider" && profile_table.is_some()))
        .collect();
    if !foreign.is_empty() && !force {
        return Ok(Err(Refusal::References(foreign)));
    }

    if let Some(note) = docs.restore_defaults()? {
        notes.push(note.into());
    }
    // Reverse order of install: the profile table was added after the provider.
    if let Err(r) = undo_block(
        &mut docs.config,
        PROFILE,
        PROFILE_COMMENT,
        profile_table,
        force,
        &mut notes,
    )? {
        return Ok(Err(r));
    }
    if let Err(r) = undo_block(
        &mut docs.config,
        PROVIDER,
        PROVIDER_COMMENT,
        provider,
        force,
        &mut notes,
    )? {
        return Ok(Err(r));
    }
    docs.state.provider = None;
    docs.state.profile_table = None;

    if let Some(doc) = &mut docs.profile {
        let ours = profile_file_is_ours(doc, &docs.state);
        match docs.state.profile_file.take() {
            Some(Record::Updated { previous }) => {
                blocks::restore_keys(doc.as_table_mut(), &previous)?;
                notes.push(format!("restored your previous values in {PROFILE_FILE}"));
            }
            _ if ours || force => {
                docs.profile = None;
                notes.push(format!("removed {PROFILE_FILE}"));
            }
            _ if blocks::get_str(doc.as_table(), "model_provider") == Some(spec::PROVIDER_ID) => {
                return Ok(Err(Refusal::NotOurs(PROFILE_FILE.to_string())));
            }
            _ => {}
        }
    }
    docs.state.profile_file = None;
    docs.state.bridge_upstream = None;
    Ok(Ok(notes))
}

fn refusal_error(r: Refusal) -> anyhow::Error {
    match r {
        Refusal::References(keys) => refused(format!(
            "config.toml still selects the ominigate provider in {}, which install did not write; removing the provider would break them",
            keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
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
        .then(|| config_file::lock(&home.dir, Duration::from_secs(10)))
        .transpose()?;
    let files = Files::read(home)?;
    let mut work = files.open()?;
    let notes = plan(&mut work.docs, args.force)
        .map_err(|e| work.shape_error(e))?
        .map_err(refusal_error)?;
    // The record goes last (see install).
    if !finish(
        &work.changes(RecordOrder::Last),
        &notes,
        args.dry_run,
        args.force,
        ui,
    )? {
        ui.info(format_args!(
            "nothing to remove: OminiGate is not installed in {}",
            home.dir.display()
        ))?;
    }
    Ok(())
}
