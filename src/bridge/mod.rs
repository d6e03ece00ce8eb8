//! The Responses-to-chat bridge: current Codex (Responses API only) in front of
//! a gateway that serves only `POST /v1/chat/completions`.
//!
//! [`translate`] is the pure translation layer (no IO, no clock, no threads).

pub mod translate;
