//! The gateway's chat-completions stream -> the Responses events Codex reads.
//!
//! - `response.created` first ([`StreamTranslator::created`]);
//! - per output item `response.output_item.added`, its deltas, then
//!   `response.output_item.done` with the complete item (what Codex acts on);
//! - tool calls are keyed by the chat `index`; the first non-empty `id` and
//!   `name` stay, later fragments only add arguments; a call without an `id`
//!   gets `call_<response_id>_<index>`;
//! - `response.completed` with `usage` only once the gateway finished (a
//!   `finish_reason`, or `data: [DONE]`);
//! - anything else (a cut stream, a malformed chunk, an error object) ends in
//!   `response.failed` naming the cause, and never in `completed`.
//!
//! Events are produced per complete upstream SSE event, so the output does not
//! depend on how the bytes were split.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::chunk::{self, CallPiece, Delta};
use super::custom_input::InputStream;
use super::cut::Cut;
use super::errors::{self, StreamFailure};
use super::items::{self, Call};
use super::sse::{self, Frame};
use super::tools::{ToolKind, ToolMap};
use crate::shown::Secrets;

/// At most this many tool calls in one answer; a gateway sending more (an
/// endless run of new indexes) gets `response.failed`, not unbounded memory.
pub(crate) const MAX_CALLS: usize = 1024;

/// The most bytes read from one upstream stream. Codex's longest answers
/// are a few MB of SSE; beyond this the gateway is not answering, and the
/// text and items held for the `.done` events would grow without bound.
pub(crate) const MAX_STREAM_BYTES: usize = 256 << 20;

/// Token counts of one response, for the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: Option<u64>,
}

/// What is left when the upstream closed.
#[derive(Debug)]
pub struct Finish {
    /// The remaining events: `.done` items and `response.completed`, or
    /// `response.failed` when the upstream did not finish.
    pub tail: Vec<u8>,
    /// True when `response.completed` was emitted (now or earlier).
    pub completed: bool,
    pub usage: Option<Usage>,
    /// The answer completed without the gateway sending any usage: Codex
    /// got none (no estimate is made); the caller says so in its log.
    pub no_usage: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading chunks.
    Streaming,
    /// `finish_reason` seen: items are closed, waiting for usage and `[DONE]`.
    Finished,
    /// `response.completed` sent.
    Completed,
    /// `response.failed` sent.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    Text,
    Reasoning,
}

/// The text or reasoning item being streamed.
#[derive(Debug)]
struct Open {
    kind: OpenKind,
    output_index: usize,
    id: String,
    text: String,
}

/// One tool call being accumulated.
#[derive(Debug)]
struct CallState {
    /// The chat `index` it is keyed by.
    index: u64,
    upstream_id: String,
    chat_name: String,
    arguments: String,
    /// Set once `output_item.added` was sent (needs a name).
    added: Option<Added>,
    input: InputStream,
}

#[derive(Debug)]
struct Added {
    output_index: usize,
    id: String,
    call_id: String,
    kind: ToolKind,
}

/// Translates one upstream chat stream into Responses SSE bytes.
#[derive(Debug)]
pub struct StreamTranslator {
    tools: ToolMap,
    model: String,
    response_id: String,
    decoder: sse::Decoder,
    phase: Phase,
    sequence: u64,
    next_output: usize,
    open: Option<Open>,
    calls: Vec<CallState>,
    output: Vec<Value>,
    usage: Option<(Usage, Option<u64>)>,
    /// Set by `finish_reason` `length` or `content_filter`.
    cut: Option<Cut>,
    bytes_seen: usize,
    events_seen: usize,
    /// Blanked out of every failure message (the gateway's words).
    secret: Secrets,
    /// [`MAX_STREAM_BYTES`], smaller in tests.
    limit: usize,
}

impl StreamTranslator {
    pub fn new(tools: ToolMap, model: &str, response_id: &str) -> Self {
        StreamTranslator {
            tools,
            model: model.to_owned(),
            response_id: response_id.to_owned(),
            decoder: sse::Decoder::default(),
            phase: Phase::Streaming,
            sequence: 0,
            next_output: 0,
            open: None,
            calls: Vec::new(),
            output: Vec::new(),
            usage: None,
            cut: None,
            bytes_seen: 0,
            events_seen: 0,
            secret: Secrets::default(),
            limit: MAX_STREAM_BYTES,
        }
    }

    /// Never repeat `secret` (the caller's key) in a failure: a gateway's
    /// error may echo it, and Codex shows and logs what it gets.
    pub fn hide(&mut self, secret: &str) {
        self.secret = Secrets::new([secret]);
    }

    /// The SSE bytes of `response.created`; send them first.
    pub fn created(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let response = items::response(&self.response_id, &self.model, "in_progress", Vec::new());
        self.emit(
            &mut out,
            json!({"type": "response.created", "response": response}),
        );
        out
    }

    /// Feeds upstream bytes (split anywhere); returns the events they complete.
    pub fn push(&mut self, upstream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.push_into(upstream, &mut out);
        out
    }

    /// [`StreamTranslator::push`], appending the events to `out`.
    pub fn push_into(&mut self, upstream: &[u8], out: &mut Vec<u8>) {
        if self.is_over() {
            return;
        }
        self.bytes_seen = self.bytes_seen.saturating_add(upstream.len());
        if self.bytes_seen > self.limit {
            let message = format!(
                "the gateway's answer went on beyond {} MiB",
                self.limit >> 20
            );
            self.fail(out, &StreamFailure::new(errors::MALFORMED, message));
            return;
        }
        let mut frames = Vec::new();
        self.decoder.push(upstream, &mut frames);
        self.frames(frames, out);
    }

    /// The gateway answered the stream request with one JSON completion
    /// (it ignores `stream: true`): read as a stream of that one chunk (its
    /// `message` is the whole answer), then `[DONE]`. Call
    /// [`StreamTranslator::finish`] after it, as after a stream.
    pub fn push_completion(&mut self, body: &[u8]) -> Vec<u8> {
        // One `data:` line: compact JSON has no line break.
        let line = match serde_json::from_slice::<Value>(body) {
            Ok(value) => value.to_string(),
            Err(_) => String::from_utf8_lossy(body).replace(['\r', '\n'], " "),
        };
        let mut out = self.push(format!("data: {line}\n\n").as_bytes());
        out.extend(self.push(b"data: [DONE]\n\n"));
        out
    }

    /// The upstream closed: completes the response if the gateway finished,
    /// else fails it.
    pub fn finish(mut self) -> Finish {
        let mut tail = Vec::new();
        if !self.is_over() {
            let mut frames = Vec::new();
            self.decoder.finish(&mut frames);
            // An event the stream did not terminate counts only when whole
            // (`data: [DONE]` right before closing); a partial one was cut.
            let (whole, cut): (Vec<_>, Vec<_>) = frames.into_iter().partition(|f| match f {
                Frame::Data(data) => {
                    let data = data.trim();
                    data == "[DONE]" || serde_json::from_str::<Value>(data).is_ok()
                }
                Frame::Overflow => true,
            });
            self.frames(whole, &mut tail);
            if !cut.is_empty() && !self.is_over() {
                let message = format!(
                    "the gateway's stream ended in the middle of an event after {} bytes",
                    self.bytes_seen
                );
                self.incomplete(&mut tail, message);
            }
        }
        if self.phase == Phase::Streaming {
            let message = if self.bytes_seen == 0 {
                "the gateway closed the stream without sending anything".to_owned()
            } else if self.events_seen == 0 {
                format!(
                    "the gateway's answer is not an event stream ({} bytes without a `data:` event)",
                    self.bytes_seen
                )
            } else {
                format!(
                    "the gateway's stream ended before the answer finished (no finish_reason, no [DONE]) after {} bytes",
                    self.bytes_seen
                )
            };
            self.incomplete(&mut tail, message);
        }
        self.end(tail)
    }

    /// Reading the upstream failed (`cause`: a timeout, a reset): completes
    /// the response if the gateway had already finished, else fails it with
    /// the cause. A partial event left in the buffer is dropped.
    pub fn interrupted(mut self, cause: &str) -> Finish {
        let mut tail = Vec::new();
        if self.phase == Phase::Streaming {
            let message = format!(
                "reading the gateway's stream failed after {} bytes: {cause}",
                self.bytes_seen
            );
            self.incomplete(&mut tail, message);
        }
        self.end(tail)
    }

    /// The answer is ended by the bridge, not the gateway (it stops): a
    /// `response.failed` with `code` and `message`, unless the gateway had
    /// finished it (then it completes).
    pub fn stopped(mut self, code: &str, message: &str) -> Finish {
        let mut tail = Vec::new();
        if self.phase == Phase::Streaming {
            self.fail(&mut tail, &StreamFailure::new(code, message));
        }
        self.end(tail)
    }

    /// Completes a finished answer and reports the outcome.
    fn end(mut self, mut tail: Vec<u8>) -> Finish {
        if self.phase == Phase::Finished {
            self.complete(&mut tail);
        }
        let completed = self.phase == Phase::Completed;
        Finish {
            tail,
            completed,
            usage: self.usage.map(|(u, _)| u),
            no_usage: completed && self.usage.is_none(),
        }
    }

    /// Whether the answer has ended (`response.completed` or
    /// `response.failed` sent): nothing the gateway sends after counts, so
    /// the caller stops reading it.
    pub fn is_over(&self) -> bool {
        matches!(self.phase, Phase::Completed | Phase::Failed)
    }

    /// Whether the gateway has said the answer is done (`finish_reason`)
    /// and only its usage and `[DONE]` are awaited.
    pub fn is_finishing(&self) -> bool {
        self.phase == Phase::Finished
    }

    fn frames(&mut self, frames: Vec<Frame>, out: &mut Vec<u8>) {
        for frame in frames {
            if self.is_over() {
                return;
            }
            match frame {
                Frame::Overflow => self.fail(
                    out,
                    &StreamFailure::new(
                        errors::MALFORMED,
                        format!(
                            "the gateway sent an event larger than {} bytes",
                            sse::MAX_EVENT_BYTES
                        ),
                    ),
                ),
                Frame::Data(data) => self.data(&data, out),
            }
        }
    }

    fn data(&mut self, data: &str, out: &mut Vec<u8>) {
        self.events_seen += 1;
        let trimmed = data.trim();
        if trimmed.is_empty() {
            return;
        }
        if trimmed == "[DONE]" {
            if self.phase == Phase::Streaming {
                self.close_items(out);
            }
            if self.phase == Phase::Finished {
                self.complete(out);
            }
            return;
        }
        let chunk = match chunk::parse(trimmed) {
            Ok(chunk) => chunk,
            Err(err) => {
                let shown: String = trimmed.chars().take(200).collect();
                return self.fail(
                    out,
                    &StreamFailure::new(
                        errors::MALFORMED,
                        format!("the gateway sent a malformed stream chunk ({err}): {shown}"),
                    ),
                );
            }
        };
        if let Some(error) = &chunk.error {
            return self.fail(out, &errors::classify(error, None));
        }
        if let Some(usage) = chunk.usage.as_ref().and_then(items::parse_usage) {
            self.usage = Some(usage);
        }
        let Some(choice) = chunk.choice else { return };
        if self.phase != Phase::Streaming {
            return;
        }
        // A whole `message` after deltas repeats what they said (some
        // gateways end a stream so): its text and calls would come twice.
        let repeated =
            choice.is_whole_message() && (self.next_output > 0 || !self.calls.is_empty());
        if let Some(delta) = choice.delta().filter(|_| !repeated) {
            self.delta(delta, choice.is_whole_message(), out);
            if self.is_over() {
                return;
            }
        }
        if let Some(reason) = choice.finish_reason.as_deref() {
            if reason == "error" {
                let message = "the gateway ended the answer with finish_reason \"error\"";
                return self.fail(out, &StreamFailure::new(errors::UPSTREAM, message));
            }
            self.cut = Cut::from_finish_reason(reason);
            self.close_items(out);
        }
    }

    /// `whole`: a whole message, whose calls are whole too: each one is its
    /// own call even without `index` or `id`.
    fn delta(&mut self, delta: &Delta<'_>, whole: bool, out: &mut Vec<u8>) {
        if let Some(text) = delta.reasoning().filter(|s| !s.is_empty()) {
            self.text_delta(OpenKind::Reasoning, text, out);
        }
        if let Some(text) = delta.text().filter(|s| !s.is_empty()) {
            self.text_delta(OpenKind::Text, text, out);
        }
        for (position, mut call) in delta.calls().into_iter().enumerate() {
            if whole && call.index.is_none() {
                call.index = Some(position as u64);
            }
            self.call_delta(&call, position, out);
            if self.is_over() {
                return;
            }
        }
    }

    fn text_delta(&mut self, kind: OpenKind, text: &str, out: &mut Vec<u8>) {
        if self.is_over() {
            return;
        }
        if self.open.as_ref().is_some_and(|o| o.kind != kind) {
            self.close_open(out);
        }
        if self.open.is_none() {
            let output_index = self.take_output_index();
            let (prefix, item) = match kind {
                OpenKind::Text => ("msg", items::message as fn(&str, &str, bool) -> Value),
                OpenKind::Reasoning => ("rs", items::reasoning as fn(&str, &str, bool) -> Value),
            };
            let id = format!("{prefix}_{}_{output_index}", self.response_id);
            let added = item(&id, "", false);
            self.emit(
                out,
                json!({"type": "response.output_item.added", "output_index": output_index, "item": added}),
            );
            if kind == OpenKind::Reasoning {
                self.summary_part("added", &id, output_index, "", out);
            }
            self.open = Some(Open {
                kind,
                output_index,
                id,
                text: String::new(),
            });
        }
        let Some(open) = self.open.as_mut() else {
            return;
        };
        open.text.push_str(text);
        // Reasoning streams as summary text, which Codex shows by default.
        let (kind_name, index) = match kind {
            OpenKind::Text => ("response.output_text.delta", "content_index"),
            OpenKind::Reasoning => ("response.reasoning_summary_text.delta", "summary_index"),
        };
        let delta = sse::DeltaEvent {
            kind: kind_name,
            sequence: self.sequence,
            item_id: &open.id,
            output_index: open.output_index,
            index: Some((index, 0)),
            delta: text,
        };
        delta.write(out);
        self.sequence += 1;
    }

    /// `response.reasoning_summary_part.added` or `.done` (`stage`) of the
    /// reasoning item's one summary part.
    fn summary_part(
        &mut self,
        stage: &str,
        id: &str,
        output_index: usize,
        text: &str,
        out: &mut Vec<u8>,
    ) {
        let event = json!({
            "type": format!("response.reasoning_summary_part.{stage}"),
            "item_id": id,
            "output_index": output_index,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": text},
        });
        self.emit(out, event);
    }

    fn call_delta(&mut self, call: &CallPiece<'_>, position: usize, out: &mut Vec<u8>) {
        self.close_open(out);
        let id = call.id.as_deref().unwrap_or("");
        let function = call.function.as_ref();
        let name = function.and_then(|f| f.name.as_deref()).unwrap_or("");
        let arguments = function.and_then(|f| f.arguments.as_deref()).unwrap_or("");
        let index = match call.index {
            Some(index) => index,
            // Without `index`: a new id starts a new call, else the last one
            // (or the position in this chunk) continues.
            None => match self
                .calls
                .iter()
                .find(|c| !id.is_empty() && c.upstream_id == id)
            {
                Some(c) => c.index,
                None if !id.is_empty() || self.calls.is_empty() => self.fresh_index(position),
                None => self.calls.last().map_or(0, |c| c.index),
            },
        };
        // The latest call with this index. Another id with a name at the
        // same index is another call: Ollama, and Gemini behind some
        // converters, stream every parallel call as `index: 0`; merged, two
        // calls would become one with `{…}{…}` as its arguments.
        let found = self.calls.iter().rposition(|c| c.index == index);
        let found = found.filter(|&slot| {
            let known = &self.calls[slot].upstream_id;
            id.is_empty() || name.is_empty() || known.is_empty() || known == id
        });
        let slot = match found {
            Some(slot) => slot,
            None => {
                if self.calls.len() >= MAX_CALLS {
                    let message =
                        format!("the gateway sent more than {MAX_CALLS} tool calls in one answer");
                    return self.fail(out, &StreamFailure::new(errors::MALFORMED, message));
                }
                self.calls.push(CallState {
                    index,
                    upstream_id: String::new(),
                    chat_name: String::new(),
                    arguments: String::new(),
                    added: None,
                    input: InputStream::default(),
                });
                self.calls.len() - 1
            }
        };
        let state = &mut self.calls[slot];
        if state.upstream_id.is_empty() {
            state.upstream_id = id.to_owned();
        }
        if state.chat_name.is_empty() {
            state.chat_name = name.to_owned();
        }
        state.arguments.push_str(arguments);
        if state.added.is_none() {
            if state.chat_name.is_empty() {
                return;
            }
            self.add_call(slot, out);
            // Everything buffered so far goes out as the first delta.
            self.call_progress(slot, None, out);
        } else {
            self.call_progress(slot, Some(arguments), out);
        }
    }

    /// Sends `output_item.added` for a call whose name is known.
    fn add_call(&mut self, slot: usize, out: &mut Vec<u8>) {
        let output_index = self.take_output_index();
        let state = &self.calls[slot];
        let base = if state.upstream_id.is_empty() {
            format!("call_{}_{}", self.response_id, state.index)
        } else {
            state.upstream_id.clone()
        };
        let call_id = items::unique_call_id(base, |call_id| {
            self.calls
                .iter()
                .any(|c| c.added.as_ref().is_some_and(|a| a.call_id == call_id))
        });
        let probe = Call {
            id: "",
            call_id: "",
            chat_name: &state.chat_name,
            arguments: "",
        };
        let kind = probe.kind(&self.tools);
        let id = format!(
            "{}_{}_{output_index}",
            probe.prefix(&self.tools),
            self.response_id
        );
        let item = Call {
            id: &id,
            call_id: &call_id,
            chat_name: &state.chat_name,
            arguments: "",
        }
        .item(&self.tools, false);
        self.emit(
            out,
            json!({"type": "response.output_item.added", "output_index": output_index, "item": item}),
        );
        self.calls[slot].added = Some(Added {
            output_index,
            id,
            call_id,
            kind,
        });
    }

    /// The delta event for newly arrived arguments of an added call
    /// (`None`: all arguments so far).
    fn call_progress(&mut self, slot: usize, new_arguments: Option<&str>, out: &mut Vec<u8>) {
        if self.is_over() {
            return;
        }
        let state = &mut self.calls[slot];
        let Some(added) = &state.added else { return };
        let decoded;
        let (kind, delta) = match added.kind {
            ToolKind::Custom => {
                decoded = state.input.advance(&state.arguments);
                ("response.custom_tool_call_input.delta", decoded.as_str())
            }
            ToolKind::Function => {
                let new = new_arguments.unwrap_or(&state.arguments);
                ("response.function_call_arguments.delta", new)
            }
            // A search's arguments are an object, sent whole with `.done`.
            ToolKind::ToolSearch => return,
        };
        if delta.is_empty() {
            return;
        }
        let event = sse::DeltaEvent {
            kind,
            sequence: self.sequence,
            item_id: &added.id,
            output_index: added.output_index,
            index: None,
            delta,
        };
        event.write(out);
        self.sequence += 1;
    }

    fn close_open(&mut self, out: &mut Vec<u8>) {
        let Some(open) = self.open.take() else { return };
        let item = match open.kind {
            OpenKind::Text => items::message(&open.id, &open.text, true),
            OpenKind::Reasoning => {
                let event = json!({
                    "type": "response.reasoning_summary_text.done",
                    "item_id": open.id,
                    "output_index": open.output_index,
                    "summary_index": 0,
                    "text": open.text,
                });
                self.emit(out, event);
                self.summary_part("done", &open.id, open.output_index, &open.text, out);
                items::reasoning(&open.id, &open.text, true)
            }
        };
        self.done(open.output_index, item, out);
    }

    fn done(&mut self, output_index: usize, item: Value, out: &mut Vec<u8>) {
        self.emit(
            out,
            json!({"type": "response.output_item.done", "output_index": output_index, "item": item}),
        );
        self.output.push(item);
    }

    /// The gateway finished: every item gets its `.done`; a cut answer
    /// ends in a note, and its calls are not run (see [`super::cut`]).
    fn close_items(&mut self, out: &mut Vec<u8>) {
        if let Some(cut) = self.cut {
            let calls = std::mem::take(&mut self.calls);
            let names: Vec<&str> = calls
                .iter()
                .filter(|c| c.added.is_some())
                .map(|c| self.tools.codex_name(&c.chat_name))
                .collect();
            let after_text = self.open.as_ref().is_some_and(|o| o.kind == OpenKind::Text);
            let note = cut.note(&names, after_text);
            self.text_delta(OpenKind::Text, &note, out);
        }
        self.close_open(out);
        if let Some(call) = self.calls.iter().find(|c| c.added.is_none()) {
            let message = format!(
                "the gateway sent tool call #{} without a function name",
                call.index
            );
            return self.fail(out, &StreamFailure::new(errors::MALFORMED, message));
        }
        let mut calls = std::mem::take(&mut self.calls);
        calls.sort_by_key(|c| c.added.as_ref().map_or(0, |a| a.output_index));
        for call in &mut calls {
            let Some(added) = &call.added else { continue };
            if added.kind == ToolKind::Custom {
                let input = items::custom_input(&call.arguments);
                if let Some(rest) = input
                    .strip_prefix(call.input.emitted.as_str())
                    .filter(|r| !r.is_empty())
                {
                    let event = json!({
                        "type": "response.custom_tool_call_input.delta",
                        "item_id": added.id,
                        "output_index": added.output_index,
                        "delta": rest,
                    });
                    self.emit(out, event);
                }
            }
            let item = Call {
                id: &added.id,
                call_id: &added.call_id,
                chat_name: &call.chat_name,
                arguments: &call.arguments,
            }
            .item(&self.tools, true);
            self.done(added.output_index, item, out);
        }
        self.phase = Phase::Finished;
    }

    fn complete(&mut self, out: &mut Vec<u8>) {
        let output = std::mem::take(&mut self.output);
        let mut response =
            items::finished_response(&self.response_id, &self.model, self.cut, output);
        if let Some((usage, reasoning)) = &self.usage {
            response["usage"] = items::usage_json(usage, *reasoning);
        }
        self.emit(
            out,
            json!({"type": "response.completed", "response": response}),
        );
        self.phase = Phase::Completed;
    }

    /// The gateway's stream ended (or broke) before the answer did.
    fn incomplete(&mut self, out: &mut Vec<u8>, message: String) {
        self.fail(out, &StreamFailure::new(errors::STREAM_INCOMPLETE, message));
    }

    fn fail(&mut self, out: &mut Vec<u8>, failure: &StreamFailure) {
        // The one key filter (`shown`): the key whole, or any run of 8 or
        // more of its characters in any case, so a message cut mid-key
        // still hides what is left of it.
        let hidden;
        let failure = match self.secret.redact(&failure.message) {
            Cow::Owned(message) => {
                hidden = StreamFailure {
                    code: failure.code.clone(),
                    message,
                };
                &hidden
            }
            Cow::Borrowed(_) => failure,
        };
        let event = errors::failed_json(&self.response_id, &self.model, failure);
        self.emit(out, event);
        self.phase = Phase::Failed;
        self.open = None;
        self.calls.clear();
    }

    /// A chat index no call has yet, for a call the gateway sent without
    /// one: after the highest, or (that being `u64::MAX`) the lowest free.
    fn fresh_index(&self, position: usize) -> u64 {
        let Some(max) = self.calls.iter().map(|c| c.index).max() else {
            return position as u64;
        };
        max.checked_add(1).unwrap_or_else(|| {
            (0..u64::MAX)
                .find(|i| self.calls.iter().all(|c| c.index != *i))
                .unwrap_or(0)
        })
    }

    fn take_output_index(&mut self) -> usize {
        let index = self.next_output;
        self.next_output += 1;
        index
    }

    /// Writes one event with the next `sequence_number`; nothing once the
    /// answer is over: the terminal event (`response.completed` or
    /// `response.failed`) is always the last one, whatever comes after.
    /// (The two delta writers, `text_delta` and `call_progress`, check the
    /// same.)
    fn emit(&mut self, out: &mut Vec<u8>, mut event: Value) {
        if self.is_over() {
            return;
        }
        if let Some(map) = event.as_object_mut() {
            map.insert("sequence_number".into(), self.sequence.into());
        }
        self.sequence += 1;
        sse::write_event(out, &event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n";
    const STOP: &[u8] =
        b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";

    fn translator() -> StreamTranslator {
        let mut t = StreamTranslator::new(ToolMap::default(), "m", "resp_1");
        t.created();
        t
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn interrupted_before_the_end_fails_with_the_cause() {
        let mut t = translator();
        t.push(TEXT);
        let finish = t.interrupted("no data for 300 s (stream_idle_timeout_ms)");
        assert!(!finish.completed);
        let tail = text(&finish.tail);
        assert!(tail.contains("response.failed"), "{tail}");
        assert!(tail.contains("no data for 300 s"), "{tail}");
        assert!(!tail.contains("output_item.done"), "{tail}");
    }

    /// A malformed chunk is quoted cut at 200 characters: the key crossing
    /// the cut must not leave its first characters in the failure, in any
    /// case (issue 15's rule: redact runs of 8+, whatever the cut).
    #[test]
    fn a_key_cut_by_the_quote_or_upper_cased_is_still_hidden() {
        const KEY: &str = "sk-omg-CANARY-5e1f0c9a7b3d";
        for (filler, key) in [(177, KEY.to_string()), (10, KEY.to_uppercase())] {
            let mut t = translator();
            t.hide(KEY);
            let chunk = format!("data: {{not json {} {key}}}\n\n", "x".repeat(filler));
            let events = text(&t.push(chunk.as_bytes()));
            assert!(events.contains("response.failed"), "{events}");
            assert!(
                events.contains("sk-o"),
                "the cut keeps part of the key, masked: {events}"
            );
            let lower = events.to_lowercase();
            for run in KEY.to_lowercase().as_bytes().windows(8) {
                let run = std::str::from_utf8(run).unwrap();
                assert!(!lower.contains(run), "{run:?} of the key in {events}");
            }
        }
    }

    #[test]
    fn stopped_mid_answer_fails_with_the_bridges_code_and_after_finish_completes() {
        let mut t = translator();
        t.push(TEXT);
        let finish = t.stopped("bridge_stopped", "the bridge stopped");
        assert!(!finish.completed);
        let tail = text(&finish.tail);
        assert!(tail.contains("response.failed"), "{tail}");
        assert!(tail.contains("\"code\":\"bridge_stopped\""), "{tail}");
        let mut t = translator();
        t.push(TEXT);
        t.push(STOP);
        assert!(t.stopped("bridge_stopped", "x").completed);
    }

    #[test]
    fn interrupted_after_finish_reason_completes() {
        let mut t = translator();
        t.push(TEXT);
        let events = text(&t.push(STOP));
        assert!(events.contains("response.output_item.done"), "{events}");
        let finish = t.interrupted("connection reset");
        assert!(finish.completed);
        assert!(text(&finish.tail).contains("response.completed"));
    }

    #[test]
    fn a_completed_answer_without_usage_is_flagged_and_gets_none() {
        let mut t = translator();
        t.push(TEXT);
        let mut events = t.push(STOP);
        let finish = t.finish();
        assert!(finish.completed && finish.no_usage && finish.usage.is_none());
        events.extend(finish.tail);
        assert!(!text(&events).contains("\"usage\""), "{}", text(&events));
        let mut t = translator();
        t.push(TEXT);
        t.push(
            b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n",
        );
        t.push(STOP);
        let finish = t.finish();
        assert!(finish.completed && !finish.no_usage);
    }

    #[test]
    fn done_completes_during_push_and_later_bytes_are_ignored() {
        let mut t = translator();
        t.push(TEXT);
        let events = text(&t.push(b"data: [DONE]\n\n"));
        assert!(events.contains("response.completed"), "{events}");
        assert!(t.push(TEXT).is_empty());
        let finish = t.finish();
        assert!(finish.completed);
        assert!(finish.tail.is_empty());
    }

    /// The `.done` function calls of a whole stream: (call_id, name, arguments).
    fn done_calls(stream: &[u8]) -> (Vec<(String, String, String)>, String) {
        let mut t = translator();
        let mut events = t.push(stream);
        events.extend(t.finish().tail);
        let events = text(&events);
        let calls = events
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .filter(|v| v["type"] == "response.output_item.done")
            .map(|v| {
                let item = &v["item"];
                let s = |k: &str| item[k].as_str().unwrap_or_default().to_owned();
                (s("call_id"), s("name"), s("arguments"))
            })
            .collect();
        (calls, events)
    }

    fn call_chunk(call: &str) -> String {
        format!("data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{call}]}}}}]}}\n\n")
    }

    #[test]
    fn an_index_at_u64_max_then_a_call_without_index_neither_panics_nor_merges() {
        let mut stream = call_chunk(
            r#"{"index":18446744073709551615,"id":"a","function":{"name":"f","arguments":"{\"x\":1}"}}"#,
        );
        stream += &call_chunk(r#"{"id":"b","function":{"name":"g","arguments":"{\"y\":2}"}}"#);
        stream += "data: [DONE]\n\n";
        let (calls, events) = done_calls(stream.as_bytes());
        assert_eq!(calls.len(), 2, "{events}");
        assert_eq!(calls[0], ("a".into(), "f".into(), "{\"x\":1}".into()));
        assert_eq!(calls[1], ("b".into(), "g".into(), "{\"y\":2}".into()));
    }

    #[test]
    fn parallel_calls_that_all_say_index_0_stay_apart() {
        // Ollama, and Gemini behind some converters, stream every parallel
        // call with `index: 0`, each with its own id.
        let mut stream = String::new();
        for (id, city) in [("call_a", "Paris"), ("call_b", "Rome")] {
            stream += &call_chunk(&format!(
                r#"{{"index":0,"id":"{id}","type":"function","function":{{"name":"f","arguments":""}}}}"#
            ));
            stream += &call_chunk(r#"{"index":0,"function":{"arguments":"{\"city\":"}}"#);
            stream += &call_chunk(&format!(
                r#"{{"index":0,"function":{{"arguments":"\"{city}\"}}"}}}}"#
            ));
        }
        stream += "data: [DONE]\n\n";
        let (calls, events) = done_calls(stream.as_bytes());
        assert_eq!(
            calls,
            vec![
                ("call_a".into(), "f".into(), "{\"city\":\"Paris\"}".into()),
                ("call_b".into(), "f".into(), "{\"city\":\"Rome\"}".into()),
            ],
            "{events}"
        );
    }

    #[test]
    fn two_calls_with_the_same_upstream_id_get_distinct_call_ids() {
        let mut stream =
            call_chunk(r#"{"index":0,"id":"call_1","function":{"name":"f","arguments":"{}"}}"#);
        stream +=
            &call_chunk(r#"{"index":1,"id":"call_1","function":{"name":"g","arguments":"{}"}}"#);
        stream += "data: [DONE]\n\n";
        let (calls, events) = done_calls(stream.as_bytes());
        assert_eq!(calls.len(), 2, "{events}");
        assert_eq!(calls[0].0, "call_1");
        assert!(!calls[1].0.is_empty() && calls[1].0 != "call_1", "{events}");
    }

    #[test]
    fn endless_tool_indexes_end_in_failed() {
        let mut t = translator();
        let mut events = Vec::new();
        for i in 0..(MAX_CALLS as u64 + 10) {
            events.extend(
                t.push(
                    call_chunk(&format!(
                        r#"{{"index":{i},"function":{{"name":"f","arguments":"{{}}"}}}}"#
                    ))
                    .as_bytes(),
                ),
            );
        }
        let events = text(&events);
        assert!(t.is_over());
        assert!(events.contains("response.failed"));
        assert!(events.contains(&format!("more than {MAX_CALLS} tool calls")));
        assert_eq!(
            events.matches("event: response.output_item.added").count(),
            MAX_CALLS
        );
    }

    /// Issue 20, finding 4: more calls than the limit in one chunk gave
    /// several `response.failed` with deltas between them.
    #[test]
    fn too_many_calls_in_one_chunk_end_in_one_failed_and_nothing_after() {
        let calls: Vec<String> = (0..MAX_CALLS + 50)
            .map(|i| {
                format!(
                    r#"{{"index":{i},"id":"c{i}","function":{{"name":"f","arguments":"{{}}"}}}}"#
                )
            })
            .collect();
        let mut t = translator();
        let mut events = t.push(call_chunk(&calls.join(",")).as_bytes());
        events.extend(t.push(TEXT));
        events.extend(t.push(STOP));
        events.extend(t.finish().tail);
        let events = text(&events);
        assert_eq!(events.matches("event: response.failed").count(), 1);
        let last = events.trim_end().rsplit("\n\n").next().unwrap_or_default();
        assert!(last.starts_with("event: response.failed"), "{last}");
    }

    #[test]
    fn a_whole_message_after_the_deltas_does_not_repeat_them() {
        let mut t = translator();
        let mut events = t.push(TEXT);
        events.extend(t.push(
            b"data: {\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
        ));
        let events = text(&events);
        assert_eq!(
            events.matches("event: response.output_text.delta").count(),
            1,
            "{events}"
        );
        assert!(events.contains("\"text\":\"Hi\""), "{events}");
        assert!(!events.contains("HiHi"), "{events}");
        // A stream that is one whole message still gets its text.
        let mut t = translator();
        let events = text(&t.push(
            b"data: {\"choices\":[{\"index\":0,\"message\":{\"content\":\"Hi\"},\"finish_reason\":\"stop\"}]}\n\n",
        ));
        assert!(events.contains("\"text\":\"Hi\""), "{events}");
    }

    #[test]
    fn an_endless_answer_ends_in_failed_at_the_limit() {
        let mut t = translator();
        t.limit = 4 << 20;
        let mut events = Vec::new();
        let mut pushed = 0;
        while !t.is_over() && pushed < 8 << 20 {
            events.extend(t.push(TEXT));
            pushed += TEXT.len();
        }
        assert!(t.is_over(), "still reading after {pushed} bytes");
        assert!(pushed <= (4 << 20) + TEXT.len());
        let finish = t.finish();
        assert!(!finish.completed);
        assert!(text(&events).contains("went on beyond 4 MiB"));
    }

    #[test]
    fn a_whole_completion_reads_as_a_stream() {
        let completion = br#"{
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
    "role": "assistant", "content": "Hi",
    "tool_calls": [
      {"type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}},
      {"type": "function", "function": {"name": "g", "arguments": "{\"b\":2}"}}
    ]}}],
  "usage": {"prompt_tokens": 3, "completion_tokens": 2}
}"#;
        let mut t = translator();
        let mut events = t.push_completion(completion);
        let finish = t.finish();
        assert!(finish.completed);
        events.extend(finish.tail);
        let events = text(&events);
        assert!(
            events.contains("event: response.output_text.delta"),
            "{events}"
        );
        assert!(events.contains("\"text\":\"Hi\""), "{events}");
        assert!(events.contains("\"total_tokens\":5"), "{events}");
        let (calls, _) = done_calls(completion_as_stream(completion).as_bytes());
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert_eq!(calls[1].1, "f");
        assert_eq!(calls[1].2, "{\"a\":1}");
        assert_eq!(calls[2].1, "g");
        assert_eq!(calls[2].2, "{\"b\":2}");
        assert_ne!(calls[1].0, calls[2].0);
    }

    fn completion_as_stream(body: &[u8]) -> String {
        let value: Value = serde_json::from_slice(body).unwrap();
        format!("data: {value}\n\ndata: [DONE]\n\n")
    }

    #[test]
    fn failed_event_is_one_parseable_event() {
        let bytes = errors::failed_event("context_length_exceeded", "too long");
        let text = text(&bytes);
        let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
        let value: Value = serde_json::from_str(data).unwrap();
        assert_eq!(value["type"], "response.failed");
        assert_eq!(
            value["response"]["error"]["code"],
            "context_length_exceeded"
        );
        assert_eq!(value["response"]["error"]["message"], "too long");
        assert!(text.ends_with("\n\n"));
    }
}
