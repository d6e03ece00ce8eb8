//! A non-streamed chat completion (`stream: false`) -> a Response object,
//! with the same items the stream would have produced.

use serde_json::{Value, json};

use super::errors;
use super::items::{self, Call};
use super::request::RequestError;
use super::tools::ToolMap;

/// Translates a chat-completion body into a complete Response object.
pub fn chat_to_response(
    chat_body: &[u8],
    tools: &ToolMap,
    response_id: &str,
) -> Result<Value, RequestError> {
    let chat: Value = serde_json::from_slice(chat_body)
        .map_err(|e| RequestError::new(format!("the gateway's answer is not valid JSON: {e}")))?;
    if let Some(error) = chat.get("error").filter(|e| !e.is_null()) {
        let failure = errors::classify(error, None);
        return Err(RequestError::new(format!(
            "the gateway reported an error: {}",
            failure.message
        )));
    }
    let choice = chat
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| RequestError::new("the gateway's answer has no `choices`"))?;
    let message = choice.get("message").unwrap_or(&Value::Null);
    let model = chat.get("model").and_then(Value::as_str).unwrap_or("");

    let mut output = Vec::new();
    if let Some(text) = first_text(message, &["reasoning_content", "reasoning"]) {
        let id = format!("rs_{response_id}_{}", output.len());
        output.push(items::reasoning(&id, text, true));
    }
    if let Some(text) = first_text(message, &["content", "refusal"]) {
        let id = format!("msg_{response_id}_{}", output.len());
        output.push(items::message(&id, text, true));
    }
    // A legacy `function_call` is one tool call without an id.
    let legacy = message
        .get("function_call")
        .filter(|f| f.is_object())
        .map(|f| vec![json!({"function": f})]);
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .cloned()
        .or(legacy);
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
        let base = match call.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => format!("call_{response_id}_{position}"),
        };
        let call_id = items::unique_call_id(base, |id| {
            output
                .iter()
                .any(|item| item["call_id"].as_str() == Some(id))
        });
        let probe = Call {
            id: "",
            call_id: "",
            chat_name: name,
            arguments: "",
        };
        let prefix = if probe.is_custom(tools) { "ctc" } else { "fc" };
        let id = format!("{prefix}_{response_id}_{}", output.len());
        let item = Call {
            id: &id,
            call_id: &call_id,
            chat_name: name,
            arguments: &arguments,
        }
        .item(tools, true);
        output.push(item);
    }

    let finish = choice.get("finish_reason").and_then(Value::as_str);
    let incomplete = match finish {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    };
    let status = if incomplete.is_some() {
        "incomplete"
    } else {
        "completed"
    };
    let mut response = items::response(response_id, model, status, output);
    if let Some(reason) = incomplete {
        response["incomplete_details"] = json!({"reason": reason});
    }
    if let Some((usage, reasoning)) = chat.get("usage").and_then(items::parse_usage) {
        response["usage"] = items::usage_json(&usage, reasoning);
    }
    Ok(response)
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
