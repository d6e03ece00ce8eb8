//! The pure edit layer: a config's text read as TOML ([`parse`]), toml_edit
//! edits of the OminiGate blocks ([`blocks`]) and the file's text style kept
//! through them ([`style`]). No IO here; [`crate::fs`] reads and writes.

pub mod blocks;
pub mod parse;
pub mod style;
