//! The pure translation between the OpenAI Responses API (what Codex speaks)
//! and chat completions (what the gateway serves).
//!
//! - [`request_to_chat`]: a Responses request body -> a chat request body,
//!   plus the [`ToolMap`] that maps chat function names back to Codex's tools
//!   and a [`RequestSummary`] for the log (with what was not translated). A
//!   [`RequestError`] is answered as 400 with [`RequestError::body`].
//! - [`StreamTranslator`]: the gateway's chat SSE stream -> Responses SSE
//!   events, fed bytes split anywhere: `created`, `push`…, then `finish` when
//!   the gateway closed, or `interrupted` when reading it failed.
//! - [`chat_to_response`]: a non-streamed chat answer -> a Response object.
//! - [`upstream_error`], [`failed_event`]: errors in the form Codex handles
//!   (a rate limit's wait, from [`RetryAfter`] or the body, in Codex's words).
//!
//! Modules: `request` (+ `tools`, `messages`) for the request; `sse` (framing), `chunk`
//! (reading one chunk), `custom_input` (streaming a freeform call's input) and
//! `stream` for the stream; `items` builds the output items both the stream
//! and `response` use; `errors` maps failures.
//!
//! Nothing here does IO, reads a clock or panics on any input; ids are derived
//! from the `response_id` the caller passes, so output is deterministic.

mod chunk;
mod custom_input;
mod cut;
mod errors;
mod items;
mod messages;
mod request;
mod response;
mod retry;
mod sse;
mod stream;
mod tools;

pub use errors::{UpstreamError, failed_event, upstream_error};
pub use request::{Models, NoModels, RequestError, RequestSummary, Translated, request_to_chat};
pub use response::chat_to_response;
pub use retry::RetryAfter;
pub use stream::{Finish, StreamTranslator, Usage};
pub use tools::{ToolKind, ToolMap, ToolTarget};
