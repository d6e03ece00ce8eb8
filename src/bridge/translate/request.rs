//! A Responses request body -> a chat-completions request body: the model,
//! the options chat has (`tool_choice`, `parallel_tool_calls`,
//! `max_output_tokens`, `reasoning.effort` where the model reasons,
//! `temperature`, `top_p`, `text.format`, `text.verbosity`, `service_tier`,
//! `prompt_cache_key`), usage always asked for when streaming, the tools
//! ([`super::tools`]) and the messages ([`super::messages`]).
//!
//! Codex sends the whole history every turn, so this is stateless. What is
//! not translated (unknown items, hosted tools, …) is listed in
//! [`RequestSummary::dropped`] for the log.
//!
//! The steps ([`request_to_chat`]): read the request's fields, its model and
//! its history (`Request::read`: every field but `input` parsed, `input`
//! kept as the raw text of each item), the tools it declares, the
//! messages (`Messages::write`, written as JSON text item by item), the
//! options, and the chat body around them (`encode`). The translation's
//! memory stays within a few times the body (bench/RESULTS.md).

use std::collections::BTreeMap;
use std::fmt;

use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::messages::{self, ADDITIONAL_TOOLS, Messages, SEARCH_OUTPUT};
use super::tools::{self, ToolMap};

/// The translated request.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The chat-completions request body to POST upstream (JSON).
    pub chat: Vec<u8>,
    /// Chat function name -> the Responses tool, for the answer.
    pub tools: ToolMap,
    /// For the one-line request log.
    pub summary: RequestSummary,
}

/// Counts for the request log (no content).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestSummary {
    pub model: String,
    /// Items in `input`.
    pub items: usize,
    /// Tools declared in `tools` and `additional_tools` items (before
    /// flattening or dropping).
    pub tools: usize,
    pub stream: bool,
    /// What was not translated: `item TYPE`, `tool TYPE[:NAME]`,
    /// `output CALL_ID` (an output without its call), `part TYPE`,
    /// `field previous_response_id`.
    pub dropped: Vec<String>,
}

/// A request the bridge cannot translate; `Display` is the message for a
/// 400 `{"error":{"message"}}` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError(String);

impl Translated {
    /// [`Translated::chat`] parsed, for tests and diagnostics.
    pub fn chat_json(&self) -> Value {
        serde_json::from_slice(&self.chat).unwrap_or(Value::Null)
    }
}

impl RequestError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        RequestError(message.into())
    }

    /// The `{"error":{"message"}}` body for this error.
    pub fn body(&self) -> Vec<u8> {
        json!({"error": {"message": self.0, "type": "invalid_request_error"}})
            .to_string()
            .into_bytes()
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RequestError {}

/// What the bridge knows of the models (the catalogue Codex reads too).
pub trait Models {
    /// Whether `slug` reasons, so takes a `reasoning_effort`; `None` when
    /// the model is not known.
    fn reasons(&self, slug: &str) -> Option<bool>;
}

impl<F: Fn(&str) -> Option<bool>> Models for F {
    fn reasons(&self, slug: &str) -> Option<bool> {
        self(slug)
    }
}

/// Knows no model: every option passes as Codex sent it.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModels;

impl Models for NoModels {
    fn reasons(&self, _slug: &str) -> Option<bool> {
        None
    }
}

/// Translates a Responses request body; `models` says which models reason.
pub fn request_to_chat(body: &[u8], models: &dyn Models) -> Result<Translated, RequestError> {
    let Request {
        fields,
        model,
        stream,
        input,
        tools,
    } = Request::read(body)?;
    let single;
    let input: Vec<&RawValue> = match input {
        Input::Items(items) => items,
        Input::Text(text) => {
            single = one_message(&text);
            vec![&*single]
        }
    };
    // Tools come from `tools`, from `additional_tools` items (which some
    // of Codex's own model slugs use instead), and from the results of
    // Codex's tool search (`tool_search_output`: the deferred tools it
    // found, callable from then on).
    let declared: Vec<&RawValue> = tools.into_iter().chain(tools_in_history(&input)).collect();
    let mut chat_tools = tools::translate_tools(declared.iter().copied());
    let mut dropped = std::mem::take(&mut chat_tools.dropped);
    dropped.extend(stateful(&fields));
    let instructions = fields.get("instructions").and_then(Value::as_str);
    // Untouched capacity costs no memory; a body's translation is rarely
    // longer than the body.
    let mut chat = Vec::with_capacity(body.len() + 1024);
    chat.extend_from_slice(b"{\"messages\":");
    Messages::write(
        instructions,
        &input,
        &chat_tools.map,
        &mut dropped,
        &mut chat,
    );
    let core = Core {
        model: &model,
        stream,
    };
    let options = chat_options(&fields, core, &chat_tools.map, models);
    encode(&mut chat, &options, &chat_tools.tools);
    Ok(Translated {
        chat,
        tools: chat_tools.map,
        summary: RequestSummary {
            model,
            items: input.len(),
            tools: declared.len(),
            stream,
            dropped,
        },
    })
}

/// A Responses request as read: its fields but `input` and `tools`
/// parsed, its model, whether it streams, its history, and its tools (the
/// raw text of each; none unless an array).
struct Request<'a> {
    fields: Map<String, Value>,
    model: String,
    stream: bool,
    input: Input<'a>,
    tools: Vec<&'a RawValue>,
}

/// The history: the raw text of each item (borrowed from the body), or
/// the one text `input` may be.
enum Input<'a> {
    Items(Vec<&'a RawValue>),
    Text(String),
}

impl<'a> Request<'a> {
    fn read(body: &'a [u8]) -> Result<Request<'a>, RequestError> {
        let raw: BTreeMap<String, &'a RawValue> = serde_json::from_slice(body).map_err(|e| {
            RequestError::new(match e.classify() {
                serde_json::error::Category::Data => {
                    "the request body is not a JSON object".to_owned()
                }
                _ => format!("the request body is not valid JSON: {e}"),
            })
        })?;
        let mut fields = Map::new();
        let mut input = Input::Items(Vec::new());
        let mut tools = Vec::new();
        for (key, value) in raw {
            if key == "input" {
                input = Input::read(value)?;
            } else if key == "tools" {
                tools = serde_json::from_str(value.get()).unwrap_or_default();
            } else {
                // Valid JSON already: only a nesting too deep fails here.
                let value = serde_json::from_str(value.get()).map_err(|e| {
                    RequestError::new(format!("the request's `{key}` cannot be read: {e}"))
                })?;
                fields.insert(key, value);
            }
        }
        let model = match fields.get("model") {
            Some(Value::String(model)) if !model.is_empty() => model.clone(),
            _ => return Err(RequestError::new("the request has no `model`")),
        };
        let stream = fields
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Request {
            fields,
            model,
            stream,
            input,
            tools,
        })
    }
}

impl<'a> Input<'a> {
    fn read(raw: &'a RawValue) -> Result<Input<'a>, RequestError> {
        let invalid = || RequestError::new("`input` must be a string or an array of items");
        match raw.get().trim_start().as_bytes().first() {
            Some(b'[') => serde_json::from_str(raw.get())
                .map(Input::Items)
                .map_err(|_| invalid()),
            Some(b'"') => serde_json::from_str(raw.get())
                .map(Input::Text)
                .map_err(|_| invalid()),
            Some(b'n') => Ok(Input::Items(Vec::new())),
            _ => Err(invalid()),
        }
    }
}

/// Stateless: an earlier response cannot be looked up. Codex sends the
/// whole history instead and never sets `previous_response_id` over HTTP;
/// when set, it is listed as not translated.
fn stateful(fields: &Map<String, Value>) -> Option<String> {
    fields
        .get("previous_response_id")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        .then(|| "field previous_response_id".to_owned())
}

/// A text `input`: one user message.
fn one_message(text: &str) -> Box<RawValue> {
    let item = json!({"type": "message", "role": "user", "content": text});
    // A `Value` written out is valid JSON.
    RawValue::from_string(item.to_string())
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"))
}

/// The tools the history declares: in `additional_tools` items and in the
/// results of Codex's tool search, each as its raw text (only these items
/// are read past their head).
fn tools_in_history<'a>(input: &[&'a RawValue]) -> Vec<&'a RawValue> {
    #[derive(serde::Deserialize)]
    struct Declaring<'a> {
        #[serde(borrow)]
        tools: Option<Vec<&'a RawValue>>,
    }
    input
        .iter()
        .filter(|raw| {
            matches!(
                messages::Head::of(raw).kind(),
                ADDITIONAL_TOOLS | SEARCH_OUTPUT
            )
        })
        .filter_map(|raw| serde_json::from_str::<Declaring<'a>>(raw.get()).ok())
        .flat_map(|item| item.tools.unwrap_or_default())
        .collect()
}

/// What every chat request has: the model and whether it streams.
#[derive(Clone, Copy)]
struct Core<'a> {
    model: &'a str,
    stream: bool,
}

/// The chat fields besides the messages and the tools: the model,
/// streaming, how to call the tools (`tools` and `map`), and the options
/// chat shares with Responses.
fn chat_options(
    fields: &Map<String, Value>,
    core: Core<'_>,
    map: &ToolMap,
    models: &dyn Models,
) -> Map<String, Value> {
    let mut chat = Map::new();
    chat.insert("model".into(), Value::String(core.model.to_owned()));
    chat.insert("stream".into(), Value::Bool(core.stream));
    if core.stream {
        chat.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if !map.is_empty() {
        if let Some(choice) = fields.get("tool_choice").and_then(|c| tool_choice(c, map)) {
            chat.insert("tool_choice".into(), choice);
        }
        if let Some(parallel) = fields.get("parallel_tool_calls").filter(|v| v.is_boolean()) {
            chat.insert("parallel_tool_calls".into(), parallel.clone());
        }
    }
    // OpenAI's current name: `max_tokens` is deprecated there and refused by
    // its reasoning models (the `openai/…` slugs a gateway forwards).
    if let Some(max) = fields.get("max_output_tokens").filter(|v| v.is_u64()) {
        chat.insert("max_completion_tokens".into(), max.clone());
    }
    if let Some(effort) = reasoning_effort(fields, core.model, models) {
        chat.insert("reasoning_effort".into(), effort);
    }
    for key in ["temperature", "top_p"] {
        if let Some(value) = fields.get(key).filter(|v| v.is_number()) {
            chat.insert(key.into(), value.clone());
        }
    }
    if let Some(format) = fields
        .get("text")
        .and_then(|t| t.get("format"))
        .and_then(response_format)
    {
        chat.insert("response_format".into(), format);
    }
    passed_options(fields, &mut chat);
    chat
}

/// Closes the chat body in `chat` (its `{"messages":[…]` written): the
/// other fields, the tools (each chat tool's JSON, when there are any),
/// then `}`.
fn encode(chat: &mut Vec<u8>, fields: &Map<String, Value>, tools: &[Box<RawValue>]) {
    let at = chat.len();
    // Writing a `Value` into a `Vec` cannot fail (its keys are strings).
    let _ = serde_json::to_writer(&mut *chat, fields);
    // `{"model":…}` after the messages: its `{` becomes the `,` between
    // them (there is always a model).
    chat[at] = b',';
    if tools.is_empty() {
        return;
    }
    chat.pop();
    chat.extend_from_slice(b",\"tools\":[");
    for (i, tool) in tools.iter().enumerate() {
        if i > 0 {
            chat.push(b',');
        }
        chat.extend_from_slice(tool.get().as_bytes());
    }
    chat.extend_from_slice(b"]}");
}

/// `reasoning.effort` as `reasoning_effort`, unless the catalogue knows the
/// model does not reason: such a model's gateway may refuse the field
/// (Codex sends an effort for any model it has no metadata for). A model
/// the catalogue does not know gets it as Codex sent it.
fn reasoning_effort(
    request: &Map<String, Value>,
    model: &str,
    models: &dyn Models,
) -> Option<Value> {
    let effort = request
        .get("reasoning")
        .and_then(|r| r.get("effort"))
        .filter(|v| v.is_string())?;
    (models.reasons(model) != Some(false)).then(|| effort.clone())
}

/// The options chat has under the same meaning:
/// - `text.verbosity` -> `verbosity` (`low`/`medium`/`high`, OpenAI's chat
///   name for it);
/// - `service_tier` as it is;
/// - `prompt_cache_key` as it is: Codex sets it to the thread id, OpenAI's
///   and Mistral's chat completions take it to route a conversation to the
///   same prompt cache, and OpenAI-compatible gateways ignore fields they
///   do not know (the bridge sends `stream_options` the same way).
fn passed_options(request: &Map<String, Value>, chat: &mut Map<String, Value>) {
    let verbosity = request.get("text").and_then(|t| t.get("verbosity"));
    let options = [
        ("verbosity", verbosity),
        ("service_tier", request.get("service_tier")),
        ("prompt_cache_key", request.get("prompt_cache_key")),
    ];
    for (key, value) in options {
        if let Some(value) = value.filter(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
            chat.insert(key.into(), value.clone());
        }
    }
}

/// `tool_choice`: the strings pass, a named tool is renamed, hosted ones
/// fall back to `auto`.
fn tool_choice(choice: &Value, map: &ToolMap) -> Option<Value> {
    match choice {
        Value::String(s) if ["auto", "none", "required"].contains(&s.as_str()) => {
            Some(choice.clone())
        }
        Value::Object(obj) => {
            let kind = obj.get("type").and_then(Value::as_str)?;
            let name = obj.get("name").and_then(Value::as_str);
            match (kind, name) {
                ("function" | "custom", Some(name)) => {
                    let namespace = obj.get("namespace").and_then(Value::as_str);
                    let chat = map.chat_name(namespace, name);
                    map.lookup(&chat)
                        .map(|_| json!({"type": "function", "function": {"name": chat}}))
                }
                _ => Some(Value::String("auto".into())),
            }
        }
        _ => None,
    }
}

/// `text.format` -> `response_format`.
fn response_format(format: &Value) -> Option<Value> {
    match format.get("type").and_then(Value::as_str)? {
        "json_schema" => {
            let mut schema = Map::new();
            for key in ["name", "schema", "strict", "description"] {
                if let Some(value) = format.get(key) {
                    schema.insert(key.into(), value.clone());
                }
            }
            Some(json!({"type": "json_schema", "json_schema": Value::Object(schema)}))
        }
        "json_object" => Some(json!({"type": "json_object"})),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(body: &str) -> Result<Value, RequestError> {
        request_to_chat(body.as_bytes(), &NoModels).map(|t| t.chat_json())
    }

    #[test]
    fn deep_nesting_is_refused_or_dropped_never_a_crash() {
        let deep = |n| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for field in ["text", "reasoning"] {
            let body = format!(r#"{{"model":"m","{field}":{}}}"#, deep(200_000));
            let e = chat(&body).unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}` cannot be read")), "{e}");
        }
        // A tool too deep to read is dropped like one of no known type.
        let body = format!(r#"{{"model":"m","tools":{}}}"#, deep(200_000));
        let t = request_to_chat(body.as_bytes(), &NoModels).unwrap();
        assert_eq!(t.summary.dropped, ["tool "]);
        // An item too deep to read is dropped like an unknown one.
        let body = format!(r#"{{"model":"m","input":[{},"x"]}}"#, deep(200_000));
        let t = request_to_chat(body.as_bytes(), &NoModels).unwrap();
        assert_eq!(t.summary.items, 2);
        assert_eq!(t.summary.dropped, ["item ", "item "]);
        let e = chat(&format!(r#"{{"model":"m","input":{}}}"#, deep(200_000)));
        assert!(e.is_ok_and(|c| c["messages"] == json!([])));
    }

    #[test]
    fn the_chat_body_is_one_json_object_with_the_messages_first() {
        let t = request_to_chat(
            br#"{"model":"m","stream":true,"instructions":"be brief","input":"hi"}"#,
            &NoModels,
        )
        .unwrap();
        let text = String::from_utf8(t.chat.clone()).unwrap();
        assert!(text.starts_with(r#"{"messages":[{"#), "{text}");
        assert_eq!(
            t.chat_json(),
            json!({
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "hi"}
                ],
                "model": "m",
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
        for (body, says) in [
            ("[1]", "not a JSON object"),
            ("{", "not valid JSON"),
            (r#"{"model":"m","input":5}"#, "`input` must be"),
            (r#"{"input":[]}"#, "no `model`"),
        ] {
            let e = request_to_chat(body.as_bytes(), &NoModels).unwrap_err();
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
    }
}
