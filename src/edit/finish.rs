//! Finishing a run that changes files: say what it does, then print the
//! diffs (dry run) or commit the changes and name what was written.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::fs::{self, FileWrite};
use crate::paths;
use crate::report::{Ui, unified_diff, warning};

/// Say what the run does (`notes`), then print diffs (dry run) or commit
/// the changes (`force`: break hard links, see [`fs::commit`]).
/// A real run first removes what crashed runs left beside every file it
/// manages. Returns whether any user-visible file changed.
pub fn finish(
    changes: &[FileWrite],
    notes: &[String],
    dry_run: bool,
    force: bool,
    ui: &mut Ui,
) -> Result<bool> {
    if !dry_run {
        remove_stale_temps(changes, ui)?;
    }
    let visible: Vec<&FileWrite> = changes
        .iter()
        .filter(|c| !c.is_noop() && (c.backup || is_catalog(c)))
        .collect();
    if !visible.is_empty() {
        for note in notes {
            ui.info(format_args!("  {note}"))?;
        }
    }
    for c in changes
        .iter()
        .filter(|c| !c.is_noop() && c.before.target != c.before.path)
    {
        ui.detail(format_args!(
            "{} is a symlink: writing through to {}",
            c.before.path.display(),
            c.before.target.display()
        ))?;
    }
    if dry_run {
        show_diffs(changes, !visible.is_empty(), ui)?;
    } else {
        commit(changes, &visible, force, ui)?;
    }
    Ok(!visible.is_empty())
}

/// Remove what crashed runs left beside every file the run manages.
fn remove_stale_temps(changes: &[FileWrite], ui: &mut Ui) -> Result<()> {
    let mut managed: Vec<PathBuf> = Vec::new();
    for c in changes {
        managed.push(c.before.path.clone());
        managed.push(paths::backup_of(&c.before.path));
    }
    let managed: Vec<&Path> = managed.iter().map(PathBuf::as_path).collect();
    for p in fs::remove_stale_temps_of(&managed) {
        ui.info(format_args!(
            "removed {}, left by an interrupted run",
            p.display()
        ))?;
    }
    Ok(())
}

/// The model catalogue: generated, so kept without a backup, and shown
/// in a dry run as what it would hold, not as a diff of its JSON.
fn is_catalog(c: &FileWrite) -> bool {
    c.before
        .path
        .file_name()
        .is_some_and(|n| n == crate::catalog::FILE_NAME)
}

/// A dry run's line for the catalogue.
fn catalog_summary(c: &FileWrite) -> String {
    let path = c.before.path.display();
    let parsed = c
        .after
        .as_deref()
        .and_then(|b| crate::catalog::Catalog::parse(b, &c.before.path).ok());
    match parsed {
        None => format!("would remove {path}\n"),
        Some(cat) => {
            let slugs: Vec<&str> = cat.models.iter().map(|e| e.slug.as_str()).collect();
            let verb = if c.before.bytes.is_some() {
                "rewrite"
            } else {
                "write"
            };
            format!(
                "would {verb} {path}: model metadata for {}\n",
                slugs.join(", ")
            )
        }
    }
}

/// A dry run: the diff of each change; `visible`: a user-visible file
/// would change.
fn show_diffs(changes: &[FileWrite], visible: bool, ui: &mut Ui) -> Result<()> {
    for c in changes.iter().filter(|c| !c.is_noop()) {
        if is_catalog(c) {
            write!(ui.out(), "{}", catalog_summary(c))?;
            continue;
        }
        let diff = unified_diff(
            &c.before.path,
            c.before.bytes.as_deref(),
            c.after.as_deref(),
        );
        write!(ui.out(), "{diff}")?;
    }
    if visible {
        ui.info("dry run: nothing was written")?;
    }
    Ok(())
}

/// Commit the changes and name what was written, removed and kept; the
/// record and the pre-install copy (not in `visible`) quietly.
fn commit(changes: &[FileWrite], visible: &[&FileWrite], force: bool, ui: &mut Ui) -> Result<()> {
    let done = fs::commit(changes, force)?;
    for (p, names) in &done.broken_links {
        warning(&format!(
            "{} had {names} names (hard links); --force broke the link: this name has the new content, the other names keep the old one",
            p.display()
        ));
    }
    let shown = |p: &PathBuf| visible.iter().any(|c| &c.before.path == p);
    for p in done.written.iter().filter(|p| shown(p)) {
        ui.info(format_args!("wrote {}", p.display()))?;
    }
    for p in done.deleted.iter().filter(|p| shown(p)) {
        ui.info(format_args!("removed {}", p.display()))?;
    }
    for p in &done.backups {
        ui.info(format_args!(
            "backup of the previous version: {}",
            p.display()
        ))?;
    }
    for p in done
        .written
        .iter()
        .chain(&done.deleted)
        .filter(|p| !shown(p))
    {
        if p.to_string_lossy().ends_with(paths::BACKUP_SUFFIX) {
            ui.info(format_args!(
                "removed {}, a backup of a file install created",
                p.display()
            ))?;
        } else if p.file_name().is_some_and(|n| n == paths::STATE_FILE) {
            // Its removal is said, as the dry run's diff shows it.
            match done.deleted.contains(p) {
                true => ui.info(format_args!("removed {}, install's record", p.display()))?,
                false => ui.detail(format_args!("updated the record {}", p.display()))?,
            }
        } else {
            ui.info(format_args!(
                "kept a copy of the file as it was before install: {}",
                p.display()
            ))?;
        }
    }
    Ok(())
}
