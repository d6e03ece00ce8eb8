//! One upstream chat chunk, read into just what the translation needs.
//!
//! The common shape is read by typed deserialization (strings borrowed where
//! they have no escapes, unknown fields skipped), which is the hot path of a
//! stream. A chunk of an unusual but sensible shape (arguments as an object,
//! `reasoning` as an object, an index as a string) falls back to a lenient
//! walk over a `Value`, so it is never refused for its types alone.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

/// What one chunk says.
#[derive(Debug, Default)]
pub(crate) struct Chunk<'a> {
    /// An `error` object (or string) in the stream.
    pub error: Option<Value>,
    pub usage: Option<Value>,
    /// The first choice (`index` 0); others are ignored.
    pub choice: Option<Choice<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    /// Some gateways put a whole `message` in the last chunk. (Rare fields
    /// are boxed: a smaller `Choice` is cheaper to move on every chunk.)
    #[serde(default, borrow)]
    message: Option<Box<Delta<'a>>>,
    #[serde(default, borrow)]
    pub finish_reason: Option<Cow<'a, str>>,
}

impl<'a> Choice<'a> {
    /// The delta (or message) of this choice.
    pub(crate) fn delta(&self) -> Option<&Delta<'a>> {
        self.delta.as_ref().or(self.message.as_deref())
    }

    /// Whether this choice is a whole `message` rather than a delta.
    pub(crate) fn is_whole_message(&self) -> bool {
        self.delta.is_none() && self.message.is_some()
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(default, borrow)]
    pub content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    /// OpenRouter's name for `reasoning_content`.
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    /// What the model says when it refuses: shown as text.
    #[serde(default, borrow)]
    refusal: Option<Box<Cow<'a, str>>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<CallPiece<'a>>>,
    /// The legacy single `function_call` (before `tool_calls`).
    #[serde(default, borrow)]
    function_call: Option<Box<FunctionPiece<'a>>>,
}

impl<'a> Delta<'a> {
    pub(crate) fn reasoning(&self) -> Option<&str> {
        self.reasoning_content
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.reasoning.as_deref())
    }

    /// The answer text: `content`, else a `refusal`.
    pub(crate) fn text(&self) -> Option<&str> {
        self.content
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.refusal.as_deref().map(|r| &**r))
    }

    /// The tool-call fragments; a legacy `function_call` is call 0.
    pub(crate) fn calls(&self) -> Vec<CallPiece<'a>> {
        let mut calls: Vec<CallPiece<'a>> = self.tool_calls.iter().flatten().cloned().collect();
        if let Some(function) = &self.function_call {
            calls.push(CallPiece {
                index: Some(0),
                id: None,
                function: Some((**function).clone()),
            });
        }
        calls
    }
}

/// One fragment of a tool call.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct CallPiece<'a> {
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub function: Option<FunctionPiece<'a>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct FunctionPiece<'a> {
    #[serde(default, borrow)]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub arguments: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    usage: Option<Value>,
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
}

/// Reads one chunk; `Err` only when `data` is not JSON at all.
pub(crate) fn parse(data: &str) -> Result<Chunk<'_>, serde_json::Error> {
    match serde_json::from_str::<Typed>(data) {
        Ok(typed) => Ok(Chunk {
            error: typed.error.filter(|e| !e.is_null()),
            usage: typed.usage.filter(|u| !u.is_null()),
            choice: typed
                .choices
                .into_iter()
                .flatten()
                .find(|c| c.index.unwrap_or(0) == 0),
        }),
        Err(_) => serde_json::from_str::<Value>(data).map(|v| lenient(&v)),
    }
}

/// The same reading over a `Value` of any shape.
fn lenient(chunk: &Value) -> Chunk<'static> {
    let text = |v: Option<&Value>| -> Option<Cow<'static, str>> {
        match v? {
            Value::String(s) => Some(Cow::Owned(s.clone())),
            Value::Null => None,
            // Some gateways send arguments (or reasoning) as an object.
            other => Some(Cow::Owned(other.to_string())),
        }
    };
    let number = |v: Option<&Value>| match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let string = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| Cow::Owned(s.to_owned()));
    let function = |f: &Value| FunctionPiece {
        name: text(f.get("name")),
        arguments: text(f.get("arguments")),
    };
    let delta = |d: &Value| Delta {
        content: string(d.get("content")),
        reasoning_content: string(d.get("reasoning_content")),
        reasoning: string(d.get("reasoning")),
        refusal: string(d.get("refusal")).map(Box::new),
        tool_calls: d.get("tool_calls").and_then(Value::as_array).map(|calls| {
            calls
                .iter()
                .map(|call| CallPiece {
                    index: number(call.get("index")),
                    id: text(call.get("id")),
                    function: call.get("function").filter(|f| f.is_object()).map(function),
                })
                .collect()
        }),
        function_call: d
            .get("function_call")
            .filter(|f| f.is_object())
            .map(|f| Box::new(function(f))),
    };
    let choice = chunk
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| {
            choices
                .iter()
                .find(|c| number(c.get("index")).unwrap_or(0) == 0)
        })
        .map(|c| Choice {
            index: Some(0),
            delta: c.get("delta").filter(|d| d.is_object()).map(delta),
            message: c
                .get("message")
                .filter(|d| d.is_object())
                .map(|d| Box::new(delta(d))),
            finish_reason: c
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(|s| Cow::Owned(s.to_owned())),
        });
    Chunk {
        error: chunk.get("error").filter(|e| !e.is_null()).cloned(),
        usage: chunk.get("usage").filter(|u| !u.is_null()).cloned(),
        choice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_lenient_readings_agree() {
        let common = r#"{"id":"x","choices":[{"index":0,"delta":{"content":"a\"b","tool_calls":[{"index":1,"id":"c","function":{"name":"f","arguments":"{\"k\":1}"}}]},"finish_reason":"stop","logprobs":null}],"usage":null}"#;
        let odd = r#"{"choices":[{"index":"0","delta":{"content":"a\"b","tool_calls":[{"index":1,"id":"c","function":{"name":"f","arguments":{"k":1}}}]},"finish_reason":"stop"}]}"#;
        for data in [common, odd] {
            let chunk = parse(data).unwrap();
            assert!(chunk.usage.is_none());
            let choice = chunk.choice.unwrap();
            assert_eq!(choice.finish_reason.as_deref(), Some("stop"));
            let delta = choice.delta().unwrap();
            assert_eq!(delta.content.as_deref(), Some("a\"b"));
            let call = &delta.calls()[0];
            assert_eq!(call.index, Some(1));
            let function = call.function.as_ref().unwrap();
            assert_eq!(function.arguments.as_deref(), Some("{\"k\":1}"));
        }
    }

    #[test]
    fn picks_choice_zero_and_rejects_only_non_json() {
        let chunk = parse(r#"{"choices":[{"index":1,"delta":{"content":"no"}},{"index":0,"delta":{"content":"yes"}}]}"#).unwrap();
        assert_eq!(
            chunk.choice.unwrap().delta().unwrap().content.as_deref(),
            Some("yes")
        );
        assert!(parse("{\"choices\": 5}").unwrap().choice.is_none());
        assert!(parse("[1, 2]").unwrap().choice.is_none());
        assert!(parse("not json").is_err());
    }
}
