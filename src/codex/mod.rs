//! Which Codex the user has, and what that release accepts.
//!
//! [`version`]: release numbers and the config layout of each era;
//! [`binary`]: finding the binary, asking its version, running it.

pub mod binary;
pub mod version;
