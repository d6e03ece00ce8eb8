//! `ominigate-codex uninstall`: OminiGate is gone and Codex works (the edit
//! is [`crate::edit::uninstall`]).

use std::time::Duration;

use anyhow::Result;

use crate::cli::UninstallArgs;
use crate::codex::binary::Codex;
use crate::edit::uninstall::{UndoError, plan};
use crate::edit::{Files, RecordOrder, Workspace, finish};
use crate::error::refused;
use crate::fs;
use crate::paths::{self, CodexHome};
use crate::report::Ui;
use crate::setup::{self, Setup};
use crate::spec;

/// Why uninstall stopped, as the user should read it.
fn undo_error(work: &Workspace, e: UndoError) -> anyhow::Error {
    match e {
        UndoError::Shape(e) => return work.shape_error(e),
        UndoError::References(places) => refused(format!(
            "the ominigate provider is still selected by settings install did not write; removing it would break them:\n{}",
            places.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
        ))
        .help("point those at another provider first, or pass --force to remove the provider anyway"),
        UndoError::NotOurs(what) => refused(format!(
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
    // Doctor's walk of the files Codex reads, for the Codex on PATH; read
    // and let go before the edit reads them, so a large config is not held
    // twice.
    let elsewhere = {
        let inp = Setup::of_process(home, Codex::detect(None, None));
        // Comments are the user's words: a pasted key must not reach the
        // screen. Registering the key of the provider doctor resolves is
        // enough: every line `finish` prints goes through the one filter.
        inp.secrets();
        setup::provider_references(&inp, spec::PROVIDER_ID)
    };
    let files = Files::read(home)?;
    let mut work = files.open()?;
    let undone = plan(&mut work.docs, args.force, &elsewhere).map_err(|e| undo_error(&work, e))?;
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
