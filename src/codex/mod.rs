//! Which Codex the user has, and what that release accepts.
//!
//! [`version`]: release numbers and the config layout of each era;
//! [`binary`]: finding the binary, asking its version, running it;
//! [`messages`]: Codex's own refusal texts; [`args`]: where `ominigate-codex
//! codex` puts its arguments among the user's.

pub mod args;
pub mod binary;
pub mod messages;
pub mod models;
pub mod version;
