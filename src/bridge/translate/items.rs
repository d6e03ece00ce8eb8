//! The Responses output items and the `response` object, built the same way
//! for the stream and for a non-streamed answer.

use serde_json::{Map, Value, json};

use super::cut::Cut;
use super::tools::{ToolKind, ToolMap};

/// An assistant text message.
pub(crate) fn message(id: &str, text: &str, done: bool) -> Value {
    let content = if done {
        json!([{"type": "output_text", "text": text, "annotations": []}])
    } else {
        json!([])
    };
    json!({
        "type": "message",
        "id": id,
        "status": status(done),
        "role": "assistant",
        "content": content,
    })
}

/// A reasoning item. The gateway's reasoning is its `summary`, which Codex
/// shows by default (raw `content` it shows only with
/// `show_raw_agent_reasoning`), and its `content` as well: Codex sends the
/// item back next turn, and the raw text goes back to the gateway as
/// `reasoning_content` (which some models require).
pub(crate) fn reasoning(id: &str, text: &str, done: bool) -> Value {
    let (summary, content) = if done {
        (
            json!([{"type": "summary_text", "text": text}]),
            json!([{"type": "reasoning_text", "text": text}]),
        )
    } else {
        (json!([]), json!([]))
    };
    json!({"type": "reasoning", "id": id, "summary": summary, "content": content})
}

/// A tool call, as Codex expects it for the tool behind `chat_name`.
pub(crate) struct Call<'a> {
    pub id: &'a str,
    pub call_id: &'a str,
    pub chat_name: &'a str,
    /// The JSON arguments the gateway sent.
    pub arguments: &'a str,
}

impl Call<'_> {
    pub(crate) fn is_custom(&self, tools: &ToolMap) -> bool {
        self.kind(tools) == ToolKind::Custom
    }

    /// How the call goes back to Codex (a function call when the name was
    /// not declared).
    pub(crate) fn kind(&self, tools: &ToolMap) -> ToolKind {
        tools
            .lookup(self.chat_name)
            .map_or(ToolKind::Function, |t| t.kind)
    }

    /// The item id's prefix for this kind of call.
    pub(crate) fn prefix(&self, tools: &ToolMap) -> &'static str {
        match self.kind(tools) {
            ToolKind::Function => "fc",
            ToolKind::Custom => "ctc",
            ToolKind::ToolSearch => "tsc",
        }
    }

    /// The `function_call`, `custom_tool_call` or `tool_search_call` item;
    /// `done` fills in the arguments or the input.
    pub(crate) fn item(&self, tools: &ToolMap, done: bool) -> Value {
        if self.kind(tools) == ToolKind::ToolSearch {
            return self.search_item(done);
        }
        let target = tools.lookup(self.chat_name);
        let name = target.map_or(self.chat_name, |t| t.name.as_str());
        let mut item = Map::new();
        let custom = self.is_custom(tools);
        item.insert(
            "type".into(),
            if custom {
                "custom_tool_call"
            } else {
                "function_call"
            }
            .into(),
        );
        item.insert("id".into(), self.id.into());
        item.insert("status".into(), status(done).into());
        item.insert("call_id".into(), self.call_id.into());
        item.insert("name".into(), name.into());
        if let Some(namespace) = target.and_then(|t| t.namespace.as_deref()) {
            item.insert("namespace".into(), namespace.into());
        }
        let body = if !done {
            String::new()
        } else if custom {
            custom_input(self.arguments)
        } else {
            self.arguments.to_owned()
        };
        item.insert(
            if custom { "input" } else { "arguments" }.into(),
            body.into(),
        );
        Value::Object(item)
    }
}

impl Call<'_> {
    /// A `tool_search_call`: its `arguments` are a JSON object (arguments
    /// that are no object are taken as the query).
    fn search_item(&self, done: bool) -> Value {
        let arguments = match serde_json::from_str::<Value>(self.arguments) {
            Ok(Value::Object(map)) => Value::Object(map),
            _ if !done => json!({}),
            _ => json!({"query": self.arguments}),
        };
        json!({
            "type": "tool_search_call",
            "id": self.id,
            "call_id": self.call_id,
            "status": status(done),
            "execution": "client",
            "arguments": arguments,
        })
    }
}

/// The raw input of a custom tool call from the `{"input": "…"}` arguments
/// the model produced. An object with one other string field gives that
/// string; arguments of another shape (the raw text itself, as a model that
/// read "freeform" may send) are passed on as they are.
pub(crate) fn custom_input(arguments: &str) -> String {
    match serde_json::from_str::<Value>(arguments) {
        Ok(Value::Object(map)) => match (map.get("input"), map.len()) {
            (Some(Value::String(input)), _) => input.clone(),
            (None, 1) => match map.values().next() {
                Some(Value::String(only)) => only.clone(),
                _ => arguments.to_owned(),
            },
            _ => arguments.to_owned(),
        },
        Ok(Value::String(input)) => input,
        _ => arguments.to_owned(),
    }
}

fn status(done: bool) -> &'static str {
    if done { "completed" } else { "in_progress" }
}

/// Token counts, in the Responses shape.
pub(crate) fn usage_json(usage: &super::Usage, reasoning_tokens: Option<u64>) -> Value {
    let mut out = json!({
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    });
    if let Some(cached) = usage.cached_tokens {
        out["input_tokens_details"] = json!({"cached_tokens": cached});
    }
    if let Some(reasoning) = reasoning_tokens {
        out["output_tokens_details"] = json!({"reasoning_tokens": reasoning});
    }
    out
}

/// `base`, or `base_1`, `base_2`, … when `taken`: a call id unique within
/// the answer. Two calls under one id would get their outputs mixed up,
/// and the next request refused by the gateway.
pub(crate) fn unique_call_id(base: String, taken: impl Fn(&str) -> bool) -> String {
    let mut call_id = base.clone();
    let mut n = 0u32;
    while taken(&call_id) {
        n += 1;
        call_id = format!("{base}_{n}");
    }
    call_id
}

/// Reads chat `usage` (`prompt_tokens`, `completion_tokens`, …).
pub(crate) fn parse_usage(usage: &Value) -> Option<(super::Usage, Option<u64>)> {
    let obj = usage.as_object()?;
    // Codex reads the counts as i64: a larger one (a gateway's -1 cast to
    // u64, say) would make response.completed unreadable, and Codex retry.
    let num = |v: Option<&Value>| v.and_then(Value::as_u64).map(|n| n.min(i64::MAX as u64));
    // Cache reads under the names gateways use: OpenAI's details, DeepSeek's
    // `prompt_cache_hit_tokens`, Anthropic's `cache_read_input_tokens`.
    let cached = num(usage.pointer("/prompt_tokens_details/cached_tokens"))
        .or(num(usage.pointer("/input_tokens_details/cached_tokens")))
        .or(num(obj.get("prompt_cache_hit_tokens")))
        .or(num(obj.get("cache_read_input_tokens")));
    let input = match num(obj.get("prompt_tokens")) {
        Some(prompt) => prompt,
        // Anthropic's `input_tokens` leaves out the cache reads and writes;
        // Codex's counts them in.
        None => {
            let cache_write = num(obj.get("cache_creation_input_tokens"));
            let parts = [num(obj.get("cache_read_input_tokens")), cache_write];
            parts
                .into_iter()
                .flatten()
                .fold(num(obj.get("input_tokens"))?, u64::saturating_add)
                .min(i64::MAX as u64)
        }
    };
    let output = num(obj.get("completion_tokens"))
        .or(num(obj.get("output_tokens")))
        .unwrap_or(0);
    let total =
        num(obj.get("total_tokens")).unwrap_or(input.saturating_add(output).min(i64::MAX as u64));
    let reasoning = num(usage.pointer("/completion_tokens_details/reasoning_tokens"));
    Some((
        super::Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: total,
            cached_tokens: cached,
        },
        reasoning,
    ))
}

/// The `response` of `response.completed`: `status: "incomplete"` with
/// `incomplete_details` when the gateway cut the answer.
pub(crate) fn finished_response(
    id: &str,
    model: &str,
    cut: Option<Cut>,
    output: Vec<Value>,
) -> Value {
    let status = if cut.is_some() {
        "incomplete"
    } else {
        "completed"
    };
    let mut response = response(id, model, status, output);
    if let Some(cut) = cut {
        response["incomplete_details"] = json!({"reason": cut.reason()});
    }
    response
}

/// The `response` object of `response.created`/`completed`/`failed`.
pub(crate) fn response(id: &str, model: &str, status: &str, output: Vec<Value>) -> Value {
    json!({
        "id": id,
        "object": "response",
        "status": status,
        "model": model,
        "output": output,
    })
}

#[cfg(test)]
mod tests {
    use super::{custom_input, parse_usage};

    #[test]
    fn usage_counts_fit_codexs_i64() {
        let usage = serde_json::json!({"prompt_tokens": 5, "completion_tokens": u64::MAX, "total_tokens": u64::MAX});
        let (usage, _) = parse_usage(&usage).unwrap();
        assert_eq!(usage.output_tokens, i64::MAX as u64);
        assert_eq!(usage.total_tokens, i64::MAX as u64);
        let usage = serde_json::json!({"prompt_tokens": i64::MAX, "completion_tokens": 9});
        assert_eq!(parse_usage(&usage).unwrap().0.total_tokens, i64::MAX as u64);
    }

    #[test]
    fn cached_tokens_are_read_in_each_gateways_words() {
        use serde_json::json;
        for (usage, input, cached) in [
            (
                json!({"prompt_tokens": 100, "prompt_tokens_details": {"cached_tokens": 60}}),
                100,
                60,
            ),
            (
                json!({"prompt_tokens": 100, "prompt_cache_hit_tokens": 70, "prompt_cache_miss_tokens": 30}),
                100,
                70,
            ),
            (
                json!({"input_tokens": 10, "cache_read_input_tokens": 80, "cache_creation_input_tokens": 10, "output_tokens": 5}),
                100,
                80,
            ),
        ] {
            let (read, _) = parse_usage(&usage).unwrap();
            assert_eq!(
                (read.input_tokens, read.cached_tokens),
                (input, Some(cached)),
                "{usage}"
            );
        }
    }

    #[test]
    fn custom_input_reads_what_models_send() {
        assert_eq!(
            custom_input(r#"{"input":"*** Begin Patch\n"}"#),
            "*** Begin Patch\n"
        );
        assert_eq!(custom_input(r#"{"patch":"p"}"#), "p");
        assert_eq!(
            custom_input("*** Begin Patch\n*** End Patch"),
            "*** Begin Patch\n*** End Patch"
        );
        assert_eq!(custom_input(r#""quoted""#), "quoted");
        assert_eq!(custom_input(r#"{"a":"1","b":"2"}"#), r#"{"a":"1","b":"2"}"#);
        assert_eq!(custom_input(r#"{"input":5}"#), r#"{"input":5}"#);
    }
}
