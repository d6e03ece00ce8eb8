//! The edit layer: the files install, uninstall and `use` change, and the
//! edits themselves. Commands call it; it calls no command.
//!
//! - [`workspace`]: the files read once ([`Loaded`], [`Files`]) and the
//!   documents being edited ([`Workspace`], [`Docs`]), rendered back as the
//!   changes to commit, like cargo's `LocalManifest`.
//! - [`install`] and [`uninstall`]: the edits, pure (no IO), each a few
//!   named steps.
//! - [`marks`]: how a block or file is recognised as install's.
//! - [`state`]: install's record of what it did.
//! - [`catalog`]: the model catalogue beside the profile.
//! - [`finish()`]: print the diffs or commit, and report.

pub mod catalog;
pub mod finish;
pub mod install;
pub mod marks;
pub mod state;
pub mod uninstall;
pub mod workspace;

pub use finish::finish;
pub use workspace::{Docs, Files, Loaded, RecordOrder, Workspace, not_installed};
