//! The bridge: current Codex (Responses API) on a chat-completions-only
//! gateway. [`server`] serves Codex on loopback; [`upstream`] talks to the
//! gateway.

pub mod server;
pub mod upstream;
