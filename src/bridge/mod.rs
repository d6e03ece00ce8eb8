//! The Responses-to-chat bridge: current Codex (Responses API only) in front of
//! a gateway that serves only `POST /v1/chat/completions`.
//!
//! A request goes down a pipeline, each stage using only the ones below it:
//! - [`server`] serves Codex on loopback: listens, checks each request,
//!   routes it ([`launch`]: set up as the user's config asks);
//! - `exchange` runs one request Codex makes of the gateway: translate,
//!   ask, pass the answer back as it comes;
//! - `upstream` talks to the gateway (`quiet`: its connections, which a
//!   paused answer keeps from waking the bridge);
//! - [`translate`] is the pure translation layer (no IO, no clock, no threads).
//!
//! Below them all: `shared` (the [`shared::Config`], the state every stage
//! reads, the log), [`models`] (the model catalogue, followed as it
//! changes), [`budget`] (how much request body it holds at once)
//! and `http` (the answers' body and builders).

pub mod budget;
mod exchange;
mod http;
pub mod launch;
pub mod models;
mod quiet;
pub mod server;
pub mod service;
pub mod shared;
pub mod translate;
mod upstream;
