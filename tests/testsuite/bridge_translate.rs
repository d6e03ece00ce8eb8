//! The bridge's translation, case by case: every directory under
//! `tests/bridge_cases/` holds inputs and the expected outputs, as files a
//! reviewer can read.
//!
//! | input             | expected       | translated by                          |
//! |-------------------|----------------|----------------------------------------|
//! | `request.json`    | `chat.json`    | `request_to_chat` (the chat body, or   |
//! | (`models.json`)   |                |  which models reason, when given),     |
//! |                   | `summary.json` |  `{"request_error": …}`), its summary  |
//! | `chunks.sse`      | `events.sse`   | `StreamTranslator` (tools and model    |
//! |                   |                |  from `request.json` when present)     |
//! | `completion.json` | `response.json`| `chat_to_response`                     |
//! | `upstream.json`   | `answer.txt`   | `upstream_error` (`{"status", "body",`|
//! |                   |                |  `"retry_after"?}`, read at 01:00 UTC, |
//! |                   |                |  7 Dec 2026)                            |
//!
//! `BLESS=1 cargo test --test testsuite bridge_translate::` rewrites the expected files
//! from what the code produces; review the diff before committing it.
//!
//! The proptests check that any split of a case's `chunks.sse` yields the same
//! bytes, and that arbitrary bytes never panic the translator.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::api::{
    NoModels, RetryAfter, StreamTranslator, ToolMap, UpstreamError, chat_to_response,
    request_to_chat, upstream_error,
};
use crate::harness::golden::{Golden, case_dirs};
use proptest::prelude::*;
use serde_json::Value;

const RESPONSE_ID: &str = "resp_test";
const ENV_KEY: &str = "OMINIGATE_API_KEY";

fn cases() -> Vec<PathBuf> {
    case_dirs(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bridge_cases"))
}

/// The time `upstream.json`'s `retry_after` is read at: Mon, 07 Dec 2026
/// 01:00:00 GMT.
fn httpdate_now() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_605_200)
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("serializable");
    text.push('\n');
    text
}

/// What the catalogue says of the case's models: `models.json`,
/// `{"reasons": {"slug": true|false}}`; without it, nothing.
fn case_models(dir: &Path) -> impl Fn(&str) -> Option<bool> {
    let known: std::collections::HashMap<String, bool> = fs::read(dir.join("models.json"))
        .ok()
        .map(|text| {
            let value: Value = serde_json::from_slice(&text).expect("models.json is JSON");
            serde_json::from_value(value["reasons"].clone()).expect("models.json has reasons")
        })
        .unwrap_or_default();
    move |slug: &str| known.get(slug).copied()
}

/// The tools and model a case's stream is translated with.
fn stream_setup(dir: &Path) -> (ToolMap, String) {
    match fs::read(dir.join("request.json")) {
        Ok(body) => match request_to_chat(&body, &case_models(dir)) {
            Ok(t) => (t.tools, t.summary.model),
            Err(_) => (ToolMap::default(), "test-model".to_owned()),
        },
        Err(_) => (ToolMap::default(), "test-model".to_owned()),
    }
}

/// Runs a stream through the translator, fed in the given pieces.
fn translate_stream(tools: ToolMap, model: &str, pieces: &[&[u8]]) -> Vec<u8> {
    let mut translator = StreamTranslator::new(tools, model, RESPONSE_ID);
    let mut out = translator.created();
    for piece in pieces {
        out.extend(translator.push(piece));
    }
    let finish = translator.finish();
    out.extend(finish.tail);
    out
}

/// Every output of one case, by expected file name.
fn outputs(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    if let Ok(body) = fs::read(dir.join("request.json")) {
        match request_to_chat(&body, &case_models(dir)) {
            Ok(t) => {
                out.push(("chat.json", pretty(&t.chat_json()).into_bytes()));
                let summary = serde_json::json!({
                    "model": t.summary.model,
                    "items": t.summary.items,
                    "tools": t.summary.tools,
                    "stream": t.summary.stream,
                    "dropped": t.summary.dropped,
                    "chat_tools": t.tools.len(),
                });
                out.push(("summary.json", pretty(&summary).into_bytes()));
            }
            Err(e) => {
                let v = serde_json::json!({"request_error": e.to_string()});
                out.push(("chat.json", pretty(&v).into_bytes()));
            }
        }
    }
    if let Ok(chunks) = fs::read(dir.join("chunks.sse")) {
        let (tools, model) = stream_setup(dir);
        out.push(("events.sse", translate_stream(tools, &model, &[&chunks])));
    }
    if let Ok(body) = fs::read(dir.join("completion.json")) {
        let (tools, _) = stream_setup(dir);
        let value = match chat_to_response(&body, &tools, RESPONSE_ID) {
            Ok(v) => v,
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
        out.push(("response.json", pretty(&value).into_bytes()));
    }
    if let Ok(text) = fs::read(dir.join("upstream.json")) {
        let spec: Value = serde_json::from_slice(&text).expect("upstream.json is JSON");
        let status = spec["status"].as_u64().expect("upstream.json has status") as u16;
        let body = match &spec["body"] {
            Value::String(raw) => raw.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        // `retry_after`: the answer's Retry-After header, read at `NOW`.
        let now = httpdate_now();
        let retry_after = spec["retry_after"]
            .as_str()
            .map(|value| RetryAfter { value, now });
        let answer = match upstream_error(status, &body, ENV_KEY, retry_after) {
            UpstreamError::Http { status, body } => {
                format!("HTTP {status}\n{}\n", String::from_utf8_lossy(&body))
            }
            UpstreamError::Failed { sse } => {
                format!(
                    "HTTP 200 text/event-stream\n{}",
                    String::from_utf8_lossy(&sse)
                )
            }
        };
        out.push(("answer.txt", answer.into_bytes()));
    }
    out
}

#[test]
fn cases_match_expected_files() {
    let mut golden = Golden::new();
    for dir in cases() {
        let outs = outputs(&dir);
        assert!(!outs.is_empty(), "{} has no input file", dir.display());
        for (name, actual) in outs {
            golden.check(&dir.join(name), &actual);
        }
    }
    golden.finish();
}

/// The ranges between sorted cut `points` of `0..len` (empty ones included:
/// an empty read is a case too).
fn pieces(len: usize, mut points: Vec<usize>) -> Vec<std::ops::Range<usize>> {
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points {
        out.push(last..p);
        last = p;
    }
    out.push(last..len);
    out
}

/// Every case's upstream stream, with its tools and model.
fn streams() -> Vec<(String, ToolMap, String, Vec<u8>)> {
    cases()
        .into_iter()
        .filter_map(|dir| {
            let chunks = fs::read(dir.join("chunks.sse")).ok()?;
            let (tools, model) = stream_setup(&dir);
            let name = dir.file_name()?.to_string_lossy().into_owned();
            Some((name, tools, model, chunks))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split of a case's stream into pieces gives the same events.
    #[test]
    fn any_split_gives_the_same_events(cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        for (name, tools, model, chunks) in streams() {
            let whole = translate_stream(tools.clone(), &model, &[&chunks]);
            let points = cuts.iter().map(|i| i.index(chunks.len() + 1)).collect();
            let pieces: Vec<&[u8]> = pieces(chunks.len(), points).into_iter().map(|r| &chunks[r]).collect();
            let split = translate_stream(tools, &model, &pieces);
            prop_assert!(whole == split, "case {name}: a split changed the events");
        }
    }

    /// Arbitrary bytes, alone or after a valid prefix, never panic, and the
    /// output is always whole SSE events.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), prefix in 0usize..4) {
        let prefixes: [&[u8]; 4] = [
            b"",
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n",
            b"data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n",
            b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        ];
        let out = translate_stream(ToolMap::default(), "m", &[prefixes[prefix], &bytes]);
        prop_assert!(out.ends_with(b"\n\n"));
        let text = String::from_utf8(out).expect("events are UTF-8");
        let mut kinds = Vec::new();
        for event in text.split_terminator("\n\n") {
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).expect("data line");
            let value: Value = serde_json::from_str(data).expect("event data is JSON");
            prop_assert!(value["type"].is_string());
            kinds.push(value["type"].as_str().unwrap_or_default().to_owned());
        }
        // Exactly one terminal event, and it is the last.
        let terminal = |k: &String| k == "response.completed" || k == "response.failed";
        prop_assert_eq!(kinds.iter().filter(|k| terminal(k)).count(), 1, "{:?}", kinds);
        prop_assert!(kinds.last().is_some_and(terminal), "{:?}", kinds);
    }

    /// Arbitrary request bodies never panic the request translation.
    #[test]
    fn arbitrary_requests_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = request_to_chat(&bytes, &NoModels);
        let _ = chat_to_response(&bytes, &ToolMap::default(), RESPONSE_ID);
        let _ = upstream_error(401, &bytes, ENV_KEY, None);
    }
}

/// One arbitrary Responses input item, from a small pool of call ids so that
/// calls, outputs, duplicates and orphans all occur.
fn item_strategy() -> impl Strategy<Value = Value> {
    use serde_json::json;
    let id = prop::sample::select(vec!["call_1", "call_2", "call_3", ""]);
    let name = prop::sample::select(vec![
        "exec_command",
        "apply_patch",
        "close_agent",
        "gone tool",
    ]);
    prop_oneof![
        Just(json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "u"}]})),
        Just(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]})),
        Just(json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]})),
        Just(json!({"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "r"}]})),
        (id.clone(), name.clone()).prop_map(|(id, name)| json!({"type": "function_call", "call_id": id, "name": name, "arguments": "{}"})),
        (id.clone(), name).prop_map(|(id, name)| json!({"type": "custom_tool_call", "call_id": id, "name": name, "input": "x"})),
        id.clone().prop_map(|id| json!({"type": "function_call_output", "call_id": id, "output": "o"})),
        id.prop_map(|id| json!({"type": "custom_tool_call_output", "call_id": id, "output": "o"})),
        Just(json!({"type": "web_search_call", "action": {"type": "search"}})),
        Just(json!({"type": "something_new"})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the history, the gateway gets what chat APIs accept: roles
    /// system/user/assistant/tool; one system message, first; every assistant
    /// `tool_calls` message directly followed by exactly one `tool` message
    /// per call, in order, with its id; no `tool` message anywhere else; valid
    /// function names.
    #[test]
    fn any_history_gives_a_valid_chat_conversation(items in prop::collection::vec(item_strategy(), 0..24)) {
        let tools = serde_json::json!([
            {"type": "function", "name": "exec_command"},
            {"type": "custom", "name": "apply_patch"},
            {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "close_agent"}]}
        ]);
        let body = serde_json::json!({"model": "m", "stream": true, "input": items, "tools": tools});
        let translated = request_to_chat(body.to_string().as_bytes(), &NoModels).expect("translates");
        let messages = translated.chat_json()["messages"].as_array().expect("messages").clone();
        let mut expected_tool_ids: Vec<String> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            let role = m["role"].as_str().expect("role");
            prop_assert!(["system", "user", "assistant", "tool"].contains(&role), "role {role}");
            if role == "system" {
                prop_assert_eq!(i, 0, "system message not first");
            }
            if role == "tool" {
                prop_assert!(!expected_tool_ids.is_empty(), "tool message without its call at {i}: {messages:?}");
                let id = expected_tool_ids.remove(0);
                prop_assert_eq!(m["tool_call_id"].as_str(), Some(id.as_str()));
                continue;
            }
            prop_assert!(expected_tool_ids.is_empty(), "unanswered calls before message {i}: {messages:?}");
            if let Some(calls) = m.get("tool_calls").and_then(Value::as_array) {
                prop_assert_eq!(role, "assistant");
                prop_assert!(!calls.is_empty());
                for call in calls {
                    let id = call["id"].as_str().expect("call id");
                    prop_assert!(!id.is_empty(), "empty tool call id");
                    let name = call["function"]["name"].as_str().expect("name");
                    prop_assert!(
                        (1..=64).contains(&name.len())
                            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                        "invalid name {name}"
                    );
                    expected_tool_ids.push(id.to_owned());
                }
            }
        }
        prop_assert!(expected_tool_ids.is_empty(), "unanswered calls at the end");
    }

    /// A tool call's id, name and arguments survive any fragmentation, empty
    /// and null fragments included: the `.done` item has the first id and
    /// name and all the arguments, once.
    #[test]
    fn tool_call_fragments_accumulate(
        cuts in prop::collection::vec(0usize..40, 0..8),
        noise in prop::collection::vec(0u8..3, 8),
    ) {
        use serde_json::json;
        let arguments = r#"{"cmd":"echo \"héllo\" && ls -la","workdir":"/tmp"}"#;
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(arguments.len())).filter(|&c| arguments.is_char_boundary(c)).collect();
        points.dedup();
        let pieces: Vec<&str> = pieces(arguments.len(), points).into_iter().map(|r| &arguments[r]).collect();
        let mut stream = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            let function = match (i, noise[i % noise.len()]) {
                (0, _) => json!({"name": "exec_command", "arguments": piece}),
                (_, 0) => json!({"name": "", "arguments": piece}),
                (_, 1) => json!({"name": null, "arguments": piece}),
                _ => json!({"arguments": piece}),
            };
            let id = match (i, noise[(i + 3) % noise.len()]) {
                (0, _) => json!("call_first"),
                (_, 0) => json!(""),
                (_, 1) => Value::Null,
                _ => json!("call_other"),
            };
            let chunk = json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": id, "function": function}]}}]});
            stream.push_str(&format!("data: {chunk}\n\n"));
        }
        stream.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n");
        let out = String::from_utf8(translate_stream(ToolMap::default(), "m", &[stream.as_bytes()])).expect("utf-8");
        let done: Vec<Value> = out
            .split_terminator("\n\n")
            .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
            .map(|d| serde_json::from_str::<Value>(d).expect("json"))
            .filter(|e| e["type"] == "response.output_item.done")
            .collect();
        prop_assert_eq!(done.len(), 1);
        let item = &done[0]["item"];
        prop_assert_eq!(item["call_id"].as_str(), Some("call_first"));
        prop_assert_eq!(item["name"].as_str(), Some("exec_command"));
        prop_assert_eq!(item["arguments"].as_str(), Some(arguments));
        prop_assert!(out.contains("response.completed"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary argument fragments of a freeform tool's call (bad escapes,
    /// cut escapes, non-ASCII after a backslash, other shapes) never panic,
    /// and the `.done` input is what the whole arguments give.
    #[test]
    fn custom_tool_arguments_never_panic(
        prefix in prop::sample::select(vec![r#"{"input":""#, r#"{ "input" : ""#, r#"{"in"#, "", "*** Begin Patch"]),
        atoms in prop::collection::vec(
            prop::sample::select(vec!["a", "\\", "\\n", "\\\"", "\\u00e9", "\\ud83d", "\\ude00", "\\u12", "é", "😀", "\"", "}", " ", "u"]),
            0..20,
        ),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let arguments = format!("{prefix}{}", atoms.concat());
        let points = cuts.iter().map(|i| i.index(arguments.len() + 1)).filter(|&p| arguments.is_char_boundary(p)).collect();
        let fragments: Vec<&str> = pieces(arguments.len(), points).into_iter().map(|r| &arguments[r]).collect();
        use serde_json::json;
        let body = json!({"model": "m", "stream": true, "input": "x", "tools": [{"type": "custom", "name": "apply_patch"}]});
        let translated = request_to_chat(body.to_string().as_bytes(), &NoModels).expect("translates");
        let mut stream = String::new();
        for (i, fragment) in fragments.iter().enumerate() {
            let call = if i == 0 {
                json!({"index": 0, "id": "call_p", "function": {"name": "apply_patch", "arguments": fragment}})
            } else {
                json!({"index": 0, "function": {"arguments": fragment}})
            };
            let chunk = json!({"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]});
            stream.push_str(&format!("data: {chunk}\n\n"));
        }
        stream.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
        let out = translate_stream(translated.tools, "m", &[stream.as_bytes()]);
        let out = String::from_utf8(out).expect("utf-8");
        {
            let done = out
                .split_terminator("\n\n")
                .filter_map(|e| e.lines().find_map(|l| l.strip_prefix("data: ")))
                .map(|d| serde_json::from_str::<Value>(d).expect("json"))
                .find(|e| e["type"] == "response.output_item.done")
                .expect("a done item");
            let input = done["item"]["input"].as_str().expect("input").to_owned();
            let expected = match serde_json::from_str::<Value>(&arguments) {
                Ok(Value::Object(map)) if map.get("input").is_some_and(Value::is_string) => map["input"].as_str().unwrap_or_default().to_owned(),
                _ => input.clone(),
            };
            prop_assert_eq!(input, expected);
        }
    }
}

/// A JSON leaf of any type, biased to the values chunks hold.
fn leaf() -> impl Strategy<Value = Value> {
    use serde_json::json;
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(u64::MAX)),
        Just(json!(1.5)),
        prop::sample::select(vec![
            "",
            "apply_patch",
            "exec_command",
            "multi_agent_v1__close_agent",
            "stop",
            "tool_calls",
            "length",
            "error",
            "[DONE]"
        ])
        .prop_map(|s| json!(s)),
        prop::string::string_regex(r#"(\{|\}|"|\\|é|😀|a|input|:){0,8}"#)
            .expect("regex")
            .prop_map(Value::String),
        Just(json!({"input": "x"})),
        Just(json!([1, "a"])),
    ]
}

fn chunk_strategy() -> impl Strategy<Value = Value> {
    use serde_json::json;
    let call = (leaf(), leaf(), leaf(), leaf()).prop_map(|(index, id, name, arguments)| {
        json!({"index": index, "id": id, "function": {"name": name, "arguments": arguments}})
    });
    (
        leaf(),
        leaf(),
        leaf(),
        prop::collection::vec(call, 0..3),
        leaf(),
        prop::option::of(leaf()),
        prop::option::of(leaf()),
    )
        .prop_map(|(index, content, reasoning, calls, finish, usage, error)| {
            let mut chunk = json!({"choices": [{"index": index, "delta": {"content": content, "reasoning_content": reasoning, "tool_calls": calls}, "finish_reason": finish}]});
            if let Some(usage) = usage {
                chunk["usage"] = usage;
            }
            if let Some(error) = error {
                chunk["error"] = error;
            }
            chunk
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Chunks of the right outline with values of any type (with a custom and
    /// a namespace tool declared) never panic, and every event is JSON.
    #[test]
    fn chunks_of_any_types_never_panic(chunks in prop::collection::vec(chunk_strategy(), 0..8), done in any::<bool>()) {
        use serde_json::json;
        let body = json!({"model": "m", "stream": true, "input": "x", "tools": [
            {"type": "function", "name": "exec_command"},
            {"type": "custom", "name": "apply_patch"},
            {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "close_agent"}]}
        ]});
        let translated = request_to_chat(body.to_string().as_bytes(), &NoModels).expect("translates");
        let mut stream = String::new();
        for chunk in &chunks {
            stream.push_str(&format!("data: {chunk}\n\n"));
        }
        if done {
            stream.push_str("data: [DONE]\n\n");
        }
        let out = translate_stream(translated.tools.clone(), "m", &[stream.as_bytes()]);
        let text = String::from_utf8(out).expect("events are UTF-8");
        let mut call_ids = std::collections::HashSet::new();
        for event in text.split_terminator("\n\n") {
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).expect("data line");
            let value: Value = serde_json::from_str(data).expect("event data is JSON");
            prop_assert!(value["type"].is_string());
            if value["type"] == "response.output_item.done" {
                let item = &value["item"];
                if item["type"] != "message" && item["type"] != "reasoning" {
                    prop_assert!(!item["call_id"].as_str().unwrap_or("").is_empty(), "empty call_id: {item}");
                    prop_assert!(!item["name"].as_str().unwrap_or("").is_empty(), "empty name: {item}");
                    let call_id = item["call_id"].as_str().unwrap_or("").to_owned();
                    prop_assert!(call_ids.insert(call_id), "call_id used twice: {item}");
                }
            }
        }
        let completion = json!({"choices": [{"message": chunks.first().map(|c| c["choices"][0]["delta"].clone()).unwrap_or(Value::Null), "finish_reason": "stop"}]});
        let _ = chat_to_response(completion.to_string().as_bytes(), &translated.tools, RESPONSE_ID);
    }
}
