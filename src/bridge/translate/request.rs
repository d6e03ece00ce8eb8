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

use std::fmt;

use serde_json::{Map, Value, json};

use super::messages::{self, ADDITIONAL_TOOLS, Messages, SEARCH_OUTPUT};
use super::tools::{self, ToolMap};

/// The translated request.
#[derive(Debug, Clone)]
pub struct Translated {
    /// The chat-completions request body to POST upstream.
    pub chat: Value,
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
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| RequestError::new(format!("the request body is not valid JSON: {e}")))?;
    let Value::Object(request) = request else {
        return Err(RequestError::new("the request body is not a JSON object"));
    };
    let model = match request.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        _ => return Err(RequestError::new("the request has no `model`")),
    };
    let stream = request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let single;
    let input: &[Value] = match request.get("input") {
        None | Some(Value::Null) => &[],
        Some(Value::String(text)) => {
            single = [json!({"type": "message", "role": "user", "content": text})];
            &single
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(RequestError::new(
                "`input` must be a string or an array of items",
            ));
        }
    };
    // Tools come from `tools`, from `additional_tools` items (which some
    // of Codex's own model slugs use instead), and from the results of
    // Codex's tool search (`tool_search_output`: the deferred tools it
    // found, callable from then on).
    let declared: Vec<&Value> = request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            input
                .iter()
                .filter(|item| matches!(messages::kind(item), ADDITIONAL_TOOLS | SEARCH_OUTPUT))
                .filter_map(|item| item.get("tools").and_then(Value::as_array))
                .flatten(),
        )
        .collect();
    let chat_tools = tools::translate_tools(declared.iter().copied());
    let mut dropped = chat_tools.dropped;
    let map = chat_tools.map;
    // Stateless: an earlier response cannot be looked up. Codex sends the
    // whole history instead and never sets this over HTTP.
    if request
        .get("previous_response_id")
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
    {
        dropped.push("field previous_response_id".to_owned());
    }
    let instructions = request.get("instructions").and_then(Value::as_str);
    let messages = Messages::build(instructions, input, &map, &mut dropped);

    let mut chat = Map::new();
    chat.insert("model".into(), Value::String(model.clone()));
    chat.insert("messages".into(), Value::Array(messages));
    chat.insert("stream".into(), Value::Bool(stream));
    if stream {
        chat.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if !chat_tools.tools.is_empty() {
        chat.insert("tools".into(), Value::Array(chat_tools.tools));
        if let Some(choice) = request
            .get("tool_choice")
            .and_then(|c| tool_choice(c, &map))
        {
            chat.insert("tool_choice".into(), choice);
        }
        if let Some(parallel) = request
            .get("parallel_tool_calls")
            .filter(|v| v.is_boolean())
        {
            chat.insert("parallel_tool_calls".into(), parallel.clone());
        }
    }
    // OpenAI's current name: `max_tokens` is deprecated there and refused by
    // its reasoning models (the `openai/…` slugs a gateway forwards).
    if let Some(max) = request.get("max_output_tokens").filter(|v| v.is_u64()) {
        chat.insert("max_completion_tokens".into(), max.clone());
    }
    if let Some(effort) = reasoning_effort(&request, &model, models) {
        chat.insert("reasoning_effort".into(), effort);
    }
    for key in ["temperature", "top_p"] {
        if let Some(value) = request.get(key).filter(|v| v.is_number()) {
            chat.insert(key.into(), value.clone());
        }
    }
    if let Some(format) = request
        .get("text")
        .and_then(|t| t.get("format"))
        .and_then(response_format)
    {
        chat.insert("response_format".into(), format);
    }
    passed_options(&request, &mut chat);

    Ok(Translated {
        chat: Value::Object(chat),
        tools: map,
        summary: RequestSummary {
            model,
            items: input.len(),
            tools: declared.len(),
            stream,
            dropped,
        },
    })
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
