//! A non-streamed chat completion (`stream: false`) -> a Response object,
//! with the same items the stream would have produced.

use serde_json::{Value, json};

use super::cut::Cut;
use super::errors;
use super::items::{self, Call};
use super::request::RequestError;
use super::tools::ToolMap;

/// Translates a chat-completion body into a complete Response object: the
/// answer read, its reasoning, text and calls become output items (a cut
/// answer's calls a note instead), then the response around them.
pub fn chat_to_response(
    chat_body: &[u8],
    tools: &ToolMap,
    response_id: &str,
) -> Result<Value, RequestError> {
    let chat = read_answer(chat_body)?;
    let choice = first_choice(&chat)?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    let cut = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .and_then(Cut::from_finish_reason);
    let calls = read_calls(message, response_id)?;
    let mut output = Output {
        items: Vec::new(),
        response_id,
    };
    if let Some(text) = first_text(message, &["reasoning_content", "reasoning"]) {
        output.push("rs", |id| items::reasoning(id, text, true));
    }
    let mut text = first_text(message, &["content", "refusal"]).map(str::to_owned);
    match cut {
        // A cut answer's calls may be cut too: none is run, the note says so.
        Some(cut) => {
            let names: Vec<&str> = calls.iter().map(|c| tools.codex_name(&c.name)).collect();
            let note = cut.note(&names, text.is_some());
            text.get_or_insert_with(String::new).push_str(&note);
            output.push("msg", |id| {
                items::message(id, text.as_deref().unwrap_or(""), true)
            });
        }
        None => {
            if let Some(text) = &text {
                output.push("msg", |id| items::message(id, text, true));
            }
            output.calls(calls, tools);
        }
    }
    let model = chat.get("model").and_then(Value::as_str).unwrap_or("");
    let mut response = items::finished_response(response_id, model, cut, output.items);
    if let Some((usage, reasoning)) = chat.get("usage").and_then(items::parse_usage) {
        response["usage"] = items::usage_json(&usage, reasoning);
    }
    Ok(response)
}

/// The answer as JSON; an `error` object in it is an error.
fn read_answer(chat_body: &[u8]) -> Result<Value, RequestError> {
    let chat: Value = serde_json::from_slice(chat_body)
        .map_err(|e| RequestError::new(format!("the gateway's answer is not valid JSON: {e}")))?;
    if let Some(error) = chat.get("error").filter(|e| !e.is_null()) {
        let failure = errors::classify(error, None);
        return Err(RequestError::new(format!(
            "the gateway reported an error: {}",
            failure.message
        )));
    }
    Ok(chat)
}

fn first_choice(chat: &Value) -> Result<&Value, RequestError> {
    chat.get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| RequestError::new("the gateway's answer has no `choices`"))
}

/// One tool call of the answer, as the gateway sent it.
struct ChatCall {
    /// The gateway's id, else `call_<response_id>_<position>`.
    id: String,
    name: String,
    arguments: String,
}

/// The answer's `tool_calls` (or legacy `function_call`, one call without
/// an id); a call without a name is an error.
fn read_calls(message: &Value, response_id: &str) -> Result<Vec<ChatCall>, RequestError> {
    let legacy = message
        .get("function_call")
        .filter(|f| f.is_object())
        .map(|f| vec![json!({"function": f})]);
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .cloned()
        .or(legacy);
    let mut out = Vec::new();
    for (position, call) in calls.into_iter().flatten().enumerate() {
        let function = call.get("function").unwrap_or(&Value::Null);
        let name = function.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            return Err(RequestError::new(format!(
                "the gateway's answer has tool call #{position} without a function name"
            )));
        }
        let arguments = match function.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "{}".to_owned(),
            Some(other) => other.to_string(),
        };
        let id = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{response_id}_{position}"),
        };
        out.push(ChatCall {
            id,
            name: name.to_owned(),
            arguments,
        });
    }
    Ok(out)
}

/// The output items being built, with ids `<prefix>_<response_id>_<n>`.
struct Output<'a> {
    items: Vec<Value>,
    response_id: &'a str,
}

impl Output<'_> {
    fn push(&mut self, prefix: &str, item: impl FnOnce(&str) -> Value) {
        let id = format!("{prefix}_{}_{}", self.response_id, self.items.len());
        self.items.push(item(&id));
    }

    /// The calls, each with a call id unique in the answer.
    fn calls(&mut self, calls: Vec<ChatCall>, tools: &ToolMap) {
        for call in calls {
            let call_id = items::unique_call_id(call.id, |id| {
                self.items
                    .iter()
                    .any(|item| item["call_id"].as_str() == Some(id))
            });
            let item = Call {
                id: "",
                call_id: &call_id,
                chat_name: &call.name,
                arguments: &call.arguments,
            };
            let prefix = item.prefix(tools);
            self.push(prefix, |id| Call { id, ..item }.item(tools, true));
        }
    }
}

/// The first of `keys` that holds a non-empty string.
fn first_text<'a>(message: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|key| message.get(*key).and_then(Value::as_str))
        .find(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_calls_with_the_same_id_get_distinct_call_ids() {
        let body = json!({"choices": [{"index": 0, "message": {"tool_calls": [
            {"id": "call_1", "function": {"name": "f", "arguments": "{}"}},
            {"id": "call_1", "function": {"name": "g", "arguments": "{}"}}
        ]}, "finish_reason": "tool_calls"}]});
        let response =
            chat_to_response(body.to_string().as_bytes(), &ToolMap::default(), "resp_1").unwrap();
        let ids: Vec<&str> = response["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|item| item["call_id"].as_str())
            .collect();
        assert_eq!(ids, ["call_1", "call_1_1"]);
    }
}
