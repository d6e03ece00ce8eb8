//! The history (`input` items) -> chat `messages`.
//!
//! - `instructions` and the `developer`/`system` messages that open the
//!   history become ONE leading `system` message. One Codex adds later (a
//!   changed sandbox's `<permissions instructions>`, a `<collaboration_mode>`)
//!   stays where it is, as a `user` message: folded into the first message it
//!   would rewrite the prompt's start, and the gateway's prompt cache would
//!   miss the whole history (measured in docs/bridge.md), and as a `system`
//!   message there some chat templates refuse it ("System message must be at
//!   the beginning") or a gateway moves it to the front all the same. The
//!   gateway sees roles `system`, `user`, `assistant`, `tool`;
//! - text parts become strings, images `image_url` parts;
//! - consecutive `function_call`/`custom_tool_call` items become one assistant
//!   message with `tool_calls`, directly followed by one `tool` message per
//!   call: its output, or a placeholder when Codex recorded none. An output
//!   whose call is not in the history is dropped (a `tool` message without its
//!   call is rejected by gateways);
//! - a `reasoning` item's text becomes `reasoning_content` of the next
//!   assistant message.
//!
//! Memory: the history comes as the raw text of each item
//! ([`RawValue`], borrowed from the request body). Each item is parsed
//! when it is read and dropped after; the messages are written out as JSON
//! text as they are made. A `serde_json::Value` of a whole history took
//! about 20 times its text (a one-letter message is an object, a map and
//! three strings), and the messages as values ten times more.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::tools::{TOOL_SEARCH, ToolMap};

/// The input item that declares tools (read with the request's `tools`).
pub(crate) const ADDITIONAL_TOOLS: &str = "additional_tools";
/// Codex's answer to a `tool_search_call`: the tools it found (declared to
/// the gateway with the request's `tools`, and listed in the `tool` message).
pub(crate) const SEARCH_OUTPUT: &str = "tool_search_output";
/// A call of Codex's client-side tool search.
const SEARCH_CALL: &str = "tool_search_call";

/// What the gateway gets when Codex recorded no output for a call.
pub(crate) const NO_OUTPUT: &str =
    "No output was recorded for this tool call (it was interrupted or aborted).";

/// The assistant message being assembled.
#[derive(Default)]
struct Assistant {
    content: Option<String>,
    reasoning: Option<String>,
    calls: Vec<Value>,
    /// `(call id, output)` of each call, for the `tool` messages after it.
    results: Vec<(String, Output)>,
}

/// Builds the chat `messages`.
pub(crate) struct Messages<'a> {
    map: &'a ToolMap,
    /// The messages so far, as a JSON array's text (without its `]`).
    out: &'a mut Vec<u8>,
    /// Messages in `out`; the system message counts once written.
    written: usize,
    system: Vec<String>,
    /// Set at the first item that is not a `developer`/`system` message:
    /// from there on such messages stay in place.
    started: bool,
    assistant: Option<Assistant>,
    reasoning: Vec<String>,
    /// Output text per input index of a call, assigned before the walk.
    outputs: HashMap<usize, Output>,
    /// Generated ids for calls without one, by input index.
    fallback_ids: HashMap<usize, String>,
}

impl<'a> Messages<'a> {
    /// Appends the chat `messages` array for `instructions` and `input` to
    /// `out`, as JSON text.
    pub(crate) fn write(
        instructions: Option<&str>,
        input: &[&RawValue],
        map: &'a ToolMap,
        dropped: &mut Vec<String>,
        out: &'a mut Vec<u8>,
    ) {
        out.push(b'[');
        let mut this = Messages {
            map,
            out,
            written: 0,
            system: Vec::new(),
            started: false,
            assistant: None,
            reasoning: Vec::new(),
            outputs: HashMap::new(),
            fallback_ids: HashMap::new(),
        };
        if let Some(text) = instructions.filter(|t| !t.is_empty()) {
            this.system.push(text.to_owned());
        }
        this.pair_outputs(input, dropped);
        for (index, raw) in input.iter().enumerate() {
            this.item(index, &parse(raw), dropped);
        }
        this.flush();
        this.write_system();
        this.out.push(b']');
    }

    /// The leading system message, once: before the first other message
    /// (the `developer`/`system` messages that join it all come first), or
    /// at the end.
    fn write_system(&mut self) {
        if self.system.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.system).join("\n\n");
        self.push(&json!({"role": "system", "content": text}));
    }

    /// Writes `message` after those before it.
    fn emit(&mut self, message: Value) {
        self.write_system();
        self.push(&message);
    }

    fn push(&mut self, message: &Value) {
        if self.written > 0 {
            self.out.push(b',');
        }
        // Writing a `Value` into a `Vec` cannot fail (its keys are strings).
        let _ = serde_json::to_writer(&mut *self.out, message);
        self.written += 1;
    }

    /// Assigns every output to its call (in order, per call id), wherever it
    /// stands in the history. Outputs without a call are dropped.
    fn pair_outputs(&mut self, input: &[&RawValue], dropped: &mut Vec<String>) {
        let mut by_id: HashMap<String, VecDeque<usize>> = HashMap::new();
        let mut calls = Vec::new();
        for (index, raw) in input.iter().enumerate() {
            let head = Head::of(raw);
            if is_output(head.kind()) {
                by_id
                    .entry(head.call_id().to_owned())
                    .or_default()
                    .push_back(index);
            } else if is_call(head.kind()) {
                calls.push((index, head.call_id().to_owned()));
            }
        }
        for (index, id) in calls {
            if id.is_empty() {
                self.fallback_ids
                    .insert(index, format!("call_bridge_{index}"));
                continue;
            }
            if let Some(output) = by_id.get_mut(&id).and_then(VecDeque::pop_front) {
                let output = parse(input[output]);
                let read = match kind(&output) {
                    SEARCH_OUTPUT => Output::found(&output, self.map),
                    _ => Output::read(output.get("output")),
                };
                self.outputs.insert(index, read);
            }
        }
        let mut orphans: Vec<(usize, String)> = by_id
            .into_iter()
            .flat_map(|(id, left)| left.into_iter().map(move |index| (index, id.clone())))
            .collect();
        orphans.sort_unstable();
        dropped.extend(orphans.into_iter().map(|(_, id)| format!("output {id}")));
    }

    fn item(&mut self, index: usize, item: &Value, dropped: &mut Vec<String>) {
        let role = item.get("role").and_then(Value::as_str);
        let instruction = kind(item) == "message" && matches!(role, Some("system" | "developer"));
        if !instruction && kind(item) != ADDITIONAL_TOOLS {
            self.started = true;
        }
        match kind(item) {
            "message" => self.message(item, dropped),
            "function_call" | "custom_tool_call" | SEARCH_CALL => self.call(index, item),
            // Placed right after their calls; orphans were listed already.
            "function_call_output"
            | "custom_tool_call_output"
            | SEARCH_OUTPUT
            | ADDITIONAL_TOOLS => {}
            "reasoning" => {
                self.flush();
                let text = reasoning_text(item);
                if !text.is_empty() {
                    self.reasoning.push(text);
                }
            }
            other => dropped.push(format!("item {other}")),
        }
    }

    fn message(&mut self, item: &Value, dropped: &mut Vec<String>) {
        let role = item.get("role").and_then(Value::as_str).unwrap_or("user");
        let content = item.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" if !self.started => {
                let text = plain_text(content);
                if !text.is_empty() {
                    self.system.push(text);
                }
            }
            "system" | "developer" => {
                self.flush();
                let text = plain_text(content);
                if !text.is_empty() {
                    self.emit(json!({"role": "user", "content": text}));
                }
            }
            "assistant" => {
                let text = plain_text(content);
                if self.assistant.is_some() {
                    self.flush();
                }
                self.assistant = Some(Assistant {
                    content: Some(text).filter(|t| !t.is_empty()),
                    reasoning: self.take_reasoning(),
                    ..Assistant::default()
                });
            }
            _ => {
                self.flush();
                self.reasoning.clear();
                let content = user_content(content, dropped);
                if content.as_str() == Some("") || content.as_array().is_some_and(Vec::is_empty) {
                    // Gateways refuse empty user messages.
                    return;
                }
                self.emit(json!({"role": "user", "content": content}));
            }
        }
    }

    /// A call joins the pending assistant message (its text, or the calls
    /// right before it).
    fn call(&mut self, index: usize, item: &Value) {
        if self.assistant.is_none() {
            self.assistant = Some(Assistant {
                reasoning: self.take_reasoning(),
                ..Assistant::default()
            });
        }
        let call_id = match self.fallback_ids.get(&index) {
            Some(id) => id.clone(),
            None => item
                .get("call_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        };
        let name = match kind(item) {
            SEARCH_CALL => TOOL_SEARCH,
            _ => item.get("name").and_then(Value::as_str).unwrap_or(""),
        };
        let namespace = item.get("namespace").and_then(Value::as_str);
        let arguments = if kind(item) == "custom_tool_call" {
            let input = item.get("input").and_then(Value::as_str).unwrap_or("");
            json!({ "input": input }).to_string()
        } else {
            match item.get("arguments") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => "{}".to_owned(),
                Some(other) => other.to_string(),
            }
        };
        let call = json!({
            "id": call_id,
            "type": "function",
            "function": {"name": self.map.chat_name(namespace, name), "arguments": arguments},
        });
        let output = self.outputs.remove(&index).unwrap_or_else(|| Output {
            text: NO_OUTPUT.to_owned(),
            images: Vec::new(),
        });
        let assistant = self.assistant.get_or_insert_with(Assistant::default);
        assistant.calls.push(call);
        assistant.results.push((call_id, output));
    }

    fn take_reasoning(&mut self) -> Option<String> {
        if self.reasoning.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.reasoning).join("\n\n"))
        }
    }

    /// Emits the pending assistant message, then one `tool` message per call.
    fn flush(&mut self) {
        let Some(assistant) = self.assistant.take() else {
            return;
        };
        if assistant.content.is_none() && assistant.calls.is_empty() {
            // Nothing a gateway accepts as an assistant turn (reasoning alone).
            return;
        }
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert(
            "content".into(),
            assistant.content.map_or(Value::Null, Value::String),
        );
        if let Some(reasoning) = assistant.reasoning {
            message.insert("reasoning_content".into(), Value::String(reasoning));
        }
        if !assistant.calls.is_empty() {
            message.insert("tool_calls".into(), Value::Array(assistant.calls));
        }
        self.emit(Value::Object(message));
        let mut images = Vec::new();
        for (call_id, output) in assistant.results {
            if !output.images.is_empty() {
                let note = format!("The tool call {call_id} returned these images:");
                images.push(json!({"type": "text", "text": note}));
                images.extend(output.images);
            }
            self.emit(json!({"role": "tool", "tool_call_id": call_id, "content": output.text}));
        }
        if !images.is_empty() {
            self.emit(json!({"role": "user", "content": images}));
        }
    }
}

fn is_call(kind: &str) -> bool {
    matches!(kind, "function_call" | "custom_tool_call" | SEARCH_CALL)
}

fn is_output(kind: &str) -> bool {
    matches!(
        kind,
        "function_call_output" | "custom_tool_call_output" | SEARCH_OUTPUT
    )
}

/// An item of the history, parsed whole (`null` if it cannot be: the body
/// it came from was valid JSON, so only a nesting deeper than the parser
/// takes).
fn parse(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// What the walk over the whole history needs of an item: its kind and
/// call id, parsed without the rest (whose text is skipped, not kept).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Head {
    #[serde(rename = "type")]
    kind: Option<Value>,
    role: Option<IgnoredAny>,
    call_id: Option<Value>,
}

impl Head {
    /// The head of `raw`; an empty one for an item that is not an object.
    pub(crate) fn of(raw: &RawValue) -> Head {
        serde_json::from_str(raw.get()).unwrap_or_default()
    }

    /// The item's type, as [`kind`] says it.
    pub(crate) fn kind(&self) -> &str {
        match self.kind.as_ref().and_then(Value::as_str) {
            Some(kind) => kind,
            None if self.role.is_some() => "message",
            None => "",
        }
    }

    fn call_id(&self) -> &str {
        self.call_id.as_ref().and_then(Value::as_str).unwrap_or("")
    }
}

pub(crate) fn kind(item: &Value) -> &str {
    match item.get("type").and_then(Value::as_str) {
        Some(kind) => kind,
        // An "easy" input message has a role and no type.
        None if item.get("role").is_some() => "message",
        None => "",
    }
}

/// All text of a content value (a string or text parts), joined by newlines.
fn plain_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(part_text)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn part_text(part: &Value) -> Option<String> {
    match part.get("type").and_then(Value::as_str) {
        Some("input_text" | "output_text" | "text" | "summary_text" | "reasoning_text") => {
            part.get("text").and_then(Value::as_str).map(str::to_owned)
        }
        Some("refusal") => part
            .get("refusal")
            .and_then(Value::as_str)
            .map(str::to_owned),
        None => part.as_str().map(str::to_owned),
        _ => None,
    }
}

/// A user message's content: a string, or parts when it holds images.
fn user_content(content: &Value, dropped: &mut Vec<String>) -> Value {
    let Value::Array(parts) = content else {
        return Value::String(plain_text(content));
    };
    let has_image = parts
        .iter()
        .any(|p| p.get("type").and_then(Value::as_str) == Some("input_image"));
    if !has_image {
        for part in parts {
            if part_text(part).is_none() {
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                dropped.push(format!("part {kind}"));
            }
        }
        return Value::String(plain_text(content));
    }
    let mut out = Vec::new();
    for part in parts {
        if let Some(text) = part_text(part) {
            out.push(json!({"type": "text", "text": text}));
        } else if let Some(image) = image_part(part) {
            out.push(image);
        } else {
            let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
            dropped.push(format!("part {kind}"));
        }
    }
    Value::Array(out)
}

/// An `input_image` part as a chat `image_url` part.
fn image_part(part: &Value) -> Option<Value> {
    if part.get("type").and_then(Value::as_str) != Some("input_image") {
        return None;
    }
    let url = match part.get("image_url")? {
        Value::String(url) => url.as_str(),
        other => other.get("url").and_then(Value::as_str)?,
    };
    let mut image = json!({"url": url});
    // Chat takes `auto`, `low` and `high`; Codex's `view_image` writes
    // `original` (full resolution), which is `high` there. Another value is
    // left out (the gateway's default, `auto`).
    let detail = match part.get("detail").and_then(Value::as_str) {
        Some(detail @ ("auto" | "low" | "high")) => Some(detail),
        Some("original") => Some("high"),
        _ => None,
    };
    if let Some(detail) = detail {
        image["detail"] = detail.into();
    }
    Some(json!({"type": "image_url", "image_url": image}))
}

/// A tool's output for the gateway: text for the `tool` message, and the
/// images it returned (`view_image`), which chat allows only in user messages.
#[derive(Debug, Default)]
struct Output {
    text: String,
    images: Vec<Value>,
}

impl Output {
    fn read(output: Option<&Value>) -> Output {
        let mut out = Output::default();
        out.add(output);
        out
    }

    /// A tool search's result: the tools it found, by the names the
    /// gateway calls them (they are declared in this request).
    fn found(output: &Value, map: &ToolMap) -> Output {
        let mut names = Vec::new();
        for tool in output
            .get("tools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or("");
            match tool.get("tools").and_then(Value::as_array) {
                Some(inner) => names.extend(inner.iter().filter_map(|t| {
                    let inner_name = t.get("name").and_then(Value::as_str)?;
                    Some(map.chat_name(Some(name), inner_name))
                })),
                None if !name.is_empty() => names.push(map.chat_name(None, name)),
                None => {}
            }
        }
        let text = if names.is_empty() {
            "The search found no tools.".to_owned()
        } else {
            format!(
                "The search found these tools, which can be called now: {}.",
                names.join(", ")
            )
        };
        Output {
            text,
            images: Vec::new(),
        }
    }

    fn add(&mut self, output: Option<&Value>) {
        match output {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => self.push_text(text),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Some(text) = part_text(item) {
                        self.push_text(&text);
                    } else if let Some(image) = image_part(item) {
                        self.images.push(image);
                        let note = format!(
                            "[image {}: attached in the next user message]",
                            self.images.len()
                        );
                        self.push_text(&note);
                    } else {
                        self.push_text(&item.to_string());
                    }
                }
            }
            Some(Value::Object(obj)) => match obj.get("content") {
                Some(content) => self.add(Some(content)),
                None => self.push_text(&Value::Object(obj.clone()).to_string()),
            },
            Some(other) => self.push_text(&other.to_string()),
        }
    }

    fn push_text(&mut self, text: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(text);
    }
}

/// The readable text of a `reasoning` item: its content, else its summary.
fn reasoning_text(item: &Value) -> String {
    let content = item.get("content").map(plain_text).unwrap_or_default();
    if !content.is_empty() {
        return content;
    }
    item.get("summary").map(plain_text).unwrap_or_default()
}
