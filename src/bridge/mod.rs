//! The Responses-to-chat bridge: current Codex (Responses API only) in front of
//! a gateway that serves only `POST /v1/chat/completions`.
//!
//! [`translate`] is the pure translation layer (no IO, no clock, no threads).
//! [`server`] serves Codex on loopback ([`launch`]: set up as the user's
//! config asks; [`budget`]: how much request body it holds at once);
//! [`responses`] and [`upstream`] talk to the gateway.

pub mod budget;
pub mod launch;
pub mod responses;
pub mod server;
pub mod service;
pub mod translate;
pub mod upstream;
