//! The stream translator against a hostile gateway (issue 20): streams
//! made of SSE comments, empty events, lines cut anywhere, tool-call
//! indexes from 0 to far past any array, `finish_reason`s and `[DONE]`s
//! in any order, errors and broken chunks that echo the caller's key
//! plain, upper-cased or JSON-escaped (`\u0073\u006b…`), and one chunk
//! with more calls than the translator takes. Whatever comes, and however
//! it is split:
//!
//! - exactly one terminal event (`response.completed` or
//!   `response.failed`), and it is the last;
//! - no 8 characters of the key in what Codex gets, once its JSON is
//!   decoded;
//! - the answer's size stays proportional to what the gateway sent (no
//!   event repeats all that came before it): at most 32 times, plus 64
//!   KiB. The bridge holds at most one read's events at a time, so this
//!   bounds its memory per stream.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::harness::CANARY;
use crate::harness::api::{NoModels, StreamTranslator, request_to_chat};

/// The caller's key, as a gateway may write it inside a JSON string.
fn key_forms() -> impl Strategy<Value = String> {
    let escaped: String = CANARY
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    let half: String = CANARY
        .chars()
        .enumerate()
        .map(|(i, c)| match i % 2 {
            0 => format!("\\u{:04X}", c as u32),
            _ => c.to_string(),
        })
        .collect();
    prop::sample::select(vec![
        CANARY.to_string(),
        CANARY.to_uppercase(),
        escaped,
        half,
        format!("Bearer {CANARY}"),
    ])
}

/// A tool call's `index` as a gateway may send it: small, at the limit,
/// far past it, negative, fractional, or beyond any integer type.
fn index() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "0",
        "1",
        "7",
        "1023",
        "1024",
        "4294967295",
        "18446744073709551615",
        "-1",
        "1.5",
        "1e300",
        "340282366920938463463374607431768211456",
        "\"0\"",
        "null",
    ])
    .prop_map(str::to_owned)
}

/// Text with JSON's awkward characters, never a run of the key.
fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex(r#"(x|y| |é|😀|\\\\|\\"|\\n|\\u00e9){0,6}"#).expect("regex")
}

fn data(json: &str) -> String {
    format!("data: {json}\n\n")
}

/// One piece of a hostile stream: its SSE text.
fn piece() -> impl Strategy<Value = String> {
    let comment = prop::sample::select(vec![
        ": keep-alive\n\n",
        ":\n",
        ": ping\r\n\r\n",
        "data:\n\n",
        "data: \n\n",
        "\n\n\n",
        "event: ping\n\n",
        "id: 7\nretry: 10\n\n",
    ])
    .prop_map(str::to_owned);
    let content = text().prop_map(|t| {
        data(&format!(
            r#"{{"choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}"#
        ))
    });
    let reasoning = text().prop_map(|t| {
        data(&format!(
            r#"{{"choices":[{{"index":0,"delta":{{"reasoning_content":"{t}"}}}}]}}"#
        ))
    });
    let call = (index(), any::<bool>(), text()).prop_map(|(i, first, args)| {
        let head = match first {
            true => r#""id":"call_h","type":"function","function":{"name":"exec_command","#,
            false => r#""function":{"#,
        };
        data(&format!(
            r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":{i},{head}"arguments":"{args}"}}}}]}}}}]}}"#
        ))
    });
    let finish = prop::sample::select(vec!["stop", "tool_calls", "length", "content_filter"])
        .prop_map(|r| {
            data(&format!(
                r#"{{"choices":[{{"index":0,"delta":{{}},"finish_reason":"{r}"}}]}}"#
            ))
        });
    let usage = Just(data(
        r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
    ));
    let done = Just(data("[DONE]"));
    let error = (key_forms(), any::<bool>()).prop_map(|(key, event)| {
        let body = format!(
            r#"{{"error":{{"message":"invalid api key {key}","code":"invalid_api_key"}}}}"#
        );
        match event {
            true => format!("event: error\n{}", data(&body)),
            false => data(&body),
        }
    });
    let broken = key_forms().prop_map(|key| data(&format!("{{not json {key}")));
    let many_calls = Just(()).prop_map(|()| {
        let calls: Vec<Value> = (0..1030)
            .map(|i| json!({"index": i, "id": format!("c{i}"), "function": {"name": "exec_command", "arguments": "{}"}}))
            .collect();
        data(&json!({"choices": [{"index": 0, "delta": {"tool_calls": calls}}]}).to_string())
    });
    prop_oneof![
        6 => comment,
        6 => content,
        2 => reasoning,
        6 => call,
        2 => finish,
        1 => usage,
        1 => done,
        2 => error,
        1 => broken,
        1 => many_calls,
    ]
}

/// Every decoded string of every event's JSON, and the event types.
fn decoded(out: &str) -> (Vec<String>, String) {
    let mut types = Vec::new();
    let mut strings = String::new();
    fn walk(v: &Value, into: &mut String) {
        match v {
            Value::String(s) => {
                into.push_str(s);
                into.push('\n');
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, into)),
            Value::Object(o) => o.iter().for_each(|(k, v)| {
                into.push_str(k);
                into.push('\n');
                walk(v, into);
            }),
            _ => {}
        }
    }
    for line in out.lines() {
        if let Some(data) = line.strip_prefix("data: ") {
            let value: Value = serde_json::from_str(data).expect("every event is JSON");
            types.push(value["type"].as_str().unwrap_or_default().to_owned());
            walk(&value, &mut strings);
        }
    }
    (types, strings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_hostile_stream_ends_once_shows_no_key_and_stays_proportional(
        pieces in prop::collection::vec(piece(), 0..24),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..16),
        cut_off in any::<bool>(),
    ) {
        let body = json!({"model": "m", "stream": true, "input": "x",
            "tools": [{"type": "function", "name": "exec_command"}]});
        let translated = request_to_chat(body.to_string().as_bytes(), &NoModels).expect("translates");
        let stream = pieces.concat();
        let bytes = stream.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut t = StreamTranslator::new(translated.tools, "m", "resp_hostile");
        t.hide(CANARY);
        let mut out = t.created();
        let mut from = 0;
        for to in points.into_iter().chain([bytes.len()]) {
            out.extend(t.push(&bytes[from..to]));
            from = to;
        }
        let finish = match cut_off {
            true => t.interrupted("connection reset"),
            false => t.finish(),
        };
        out.extend(finish.tail);
        let out = String::from_utf8(out).expect("events are UTF-8");

        let (types, strings) = decoded(&out);
        let terminal: Vec<usize> = types
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.as_str(), "response.completed" | "response.failed"))
            .map(|(i, _)| i)
            .collect();
        prop_assert_eq!(terminal.len(), 1, "terminal events {:?} in {}", types, out);
        prop_assert_eq!(terminal[0], types.len() - 1, "events after the end: {:?}", types);

        let lower = strings.to_lowercase();
        for run in CANARY.to_lowercase().as_bytes().windows(8) {
            let run = std::str::from_utf8(run).expect("ASCII");
            prop_assert!(!lower.contains(run), "{:?} of the key in {}", run, out);
        }

        prop_assert!(
            out.len() <= 32 * bytes.len() + (64 << 10),
            "{} bytes of events for {} bytes of stream",
            out.len(),
            bytes.len()
        );
    }
}
