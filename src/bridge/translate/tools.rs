//! Tools: Responses tool declarations -> chat `function` tools, and the
//! [`ToolMap`] that maps a chat function name back to the tool Codex declared.
//!
//! - `function` tools are rewrapped as they are.
//! - A `custom` (freeform) tool becomes a function with one string parameter
//!   `input`; its grammar goes into the description.
//! - A `namespace` tool's functions are flattened to `NAMESPACE__NAME`; the
//!   namespace `functions` (Codex's `additional_tools` item puts top-level
//!   tools there) adds no prefix, and its calls come back without one.
//! - A `tool_search` tool that Codex runs itself (`execution: "client"`:
//!   it searches its deferred tools) is a function like the others, named
//!   `tool_search`; its calls come back as `tool_search_call` items.
//! - Hosted tools (`web_search`, a server-side `tool_search`,
//!   `image_generation`, …) are dropped: a chat gateway cannot run them.
//!
//! Chat names must match `^[a-zA-Z0-9_-]{1,64}$`. Other characters become `_`;
//! a name that is too long, or taken by an earlier tool, is cut and given a
//! hash suffix of the full original, so the same tool list always yields the
//! same names and the way back is exact.
//!
//! Memory: each declaration is read from its raw text with its
//! `parameters` (a JSON schema, most of its bytes) kept raw, and each chat
//! tool is written out as JSON text at once, the schema copied as it came.
//! As `serde_json::Value`s, a body of small tools took about 60 times its
//! size to translate.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The longest chat function name gateways accept.
pub(crate) const MAX_NAME: usize = 64;

/// How a tool's calls come back to Codex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// `function_call` with JSON `arguments`.
    Function,
    /// `custom_tool_call` with the raw `input`.
    Custom,
    /// `tool_search_call` with the `arguments` as a JSON object (Codex runs
    /// the search and answers with `tool_search_output`).
    ToolSearch,
}

/// The Responses tool behind one chat function name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolTarget {
    pub kind: ToolKind,
    /// The tool's own name, as Codex declared it.
    pub name: String,
    /// The `namespace` tool it belongs to, if any.
    pub namespace: Option<String>,
}

/// Chat function name <-> Responses tool, for one request.
#[derive(Debug, Clone, Default)]
pub struct ToolMap {
    by_chat: HashMap<String, ToolTarget>,
    by_origin: HashMap<(Option<String>, String), String>,
}

impl ToolMap {
    /// The tool a chat function name stands for, if it was declared.
    pub fn lookup(&self, chat_name: &str) -> Option<&ToolTarget> {
        self.by_chat.get(chat_name)
    }

    /// The name Codex knows a chat function by (its own name when it was
    /// not declared).
    pub fn codex_name<'a>(&'a self, chat_name: &'a str) -> &'a str {
        self.lookup(chat_name)
            .map_or(chat_name, |t| t.name.as_str())
    }

    /// The chat name of a declared tool; for a tool not declared in this
    /// request (an old call in the history), its sanitized name.
    pub fn chat_name(&self, namespace: Option<&str>, name: &str) -> String {
        let namespace = namespace.filter(|ns| *ns != TOP_LEVEL_NAMESPACE);
        self.by_origin
            .get(&(namespace.map(str::to_owned), name.to_owned()))
            .cloned()
            .unwrap_or_else(|| flat_name(namespace, name))
    }

    /// How many chat functions the request declares.
    pub fn len(&self) -> usize {
        self.by_chat.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_chat.is_empty()
    }

    /// Registers a tool and returns its unique chat name; `None` when the
    /// same tool was declared already.
    fn insert(&mut self, target: ToolTarget) -> Option<String> {
        let key = (target.namespace.clone(), target.name.clone());
        if self.by_origin.contains_key(&key) {
            return None;
        }
        let mut chat = flat_name(target.namespace.as_deref(), &target.name);
        let mut round = 0u32;
        while self.by_chat.contains_key(&chat) {
            chat = hashed_name(&chat, &key, round);
            round += 1;
        }
        self.by_chat.insert(chat.clone(), target);
        self.by_origin.insert(key, chat.clone());
        Some(chat)
    }
}

/// The chat tools of a request, what they map back to, and what was dropped.
pub(crate) struct ChatTools {
    /// Each chat tool's JSON.
    pub tools: Vec<Box<RawValue>>,
    pub map: ToolMap,
    /// `tool TYPE[:NAME]` for every declaration that was not translated.
    pub dropped: Vec<String>,
}

/// The tool (and function) name of Codex's tool search.
pub(crate) const TOOL_SEARCH: &str = "tool_search";

/// The namespace that stands for top-level tools.
const TOP_LEVEL_NAMESPACE: &str = "functions";

/// Translates the tool declarations of a Responses request (its `tools`, then
/// those of `additional_tools` items), each as its raw JSON text.
pub(crate) fn translate_tools<'a>(tools: impl IntoIterator<Item = &'a RawValue>) -> ChatTools {
    let mut out = ChatTools {
        tools: Vec::new(),
        map: ToolMap::default(),
        dropped: Vec::new(),
    };
    for tool in tools {
        add_tool(&mut out, tool, None);
    }
    out
}

/// What a tool declaration says, its schema and inner tools left raw.
/// Fields of another type than expected read as missing; a declaration
/// that is no object (or names a field twice) as empty.
#[derive(Debug, Default, Deserialize)]
struct Declared<'a> {
    #[serde(rename = "type")]
    kind: Option<Value>,
    name: Option<Value>,
    execution: Option<Value>,
    description: Option<Value>,
    format: Option<Value>,
    #[serde(borrow)]
    parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    tools: Option<&'a RawValue>,
}

impl<'a> Declared<'a> {
    fn of(raw: &'a RawValue) -> Declared<'a> {
        serde_json::from_str(raw.get()).unwrap_or_default()
    }

    fn text(field: &Option<Value>) -> &str {
        field.as_ref().and_then(Value::as_str).unwrap_or("")
    }

    /// A namespace's tools, raw (none unless an array).
    fn inner(&self) -> Vec<&'a RawValue> {
        self.tools
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }

    /// The schema, as it came when it is an object.
    fn schema(&self) -> Option<&'a RawValue> {
        self.parameters
            .filter(|raw| raw.get().trim_start().starts_with('{'))
    }
}

/// A chat tool as written: a function with its schema, raw or built.
#[derive(Serialize)]
struct ChatTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: Function<'a>,
}

#[derive(Serialize)]
struct Function<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    parameters: Schema<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Schema<'a> {
    Raw(&'a RawValue),
    Built(Value),
}

fn add_tool(out: &mut ChatTools, raw: &RawValue, namespace: Option<&str>) {
    let tool = Declared::of(raw);
    let kind = Declared::text(&tool.kind);
    let name = Declared::text(&tool.name);
    let client_search = kind == TOOL_SEARCH
        && tool.execution.as_ref().and_then(Value::as_str) == Some("client")
        && namespace.is_none();
    let name = if client_search && name.is_empty() {
        TOOL_SEARCH
    } else {
        name
    };
    let function = match kind {
        "function" => Some(ToolKind::Function),
        "custom" => Some(ToolKind::Custom),
        TOOL_SEARCH if client_search => Some(ToolKind::ToolSearch),
        _ => None,
    };
    match (function, kind) {
        (Some(function), _) if !name.is_empty() => {
            let target = ToolTarget {
                kind: function,
                name: name.to_owned(),
                namespace: namespace.map(str::to_owned),
            };
            match out.map.insert(target) {
                Some(chat) => out.tools.push(declaration(&tool, &chat, function)),
                // Gateways refuse two functions of one name; the first stays.
                None => out
                    .dropped
                    .push(format!("tool {kind}:{name} (declared twice)")),
            }
        }
        (None, "namespace") if !name.is_empty() && namespace.is_none() => {
            let inner_namespace = (name != TOP_LEVEL_NAMESPACE).then_some(name);
            for inner in tool.inner() {
                add_tool(out, inner, inner_namespace);
            }
        }
        _ => out.dropped.push(if name.is_empty() {
            format!("tool {kind}")
        } else {
            format!("tool {kind}:{name}")
        }),
    }
}

/// The chat `function` tool for a declared tool, named `chat`, as JSON
/// text: a freeform one takes its raw input in one string parameter
/// `input`; another keeps its schema as it came.
fn declaration(tool: &Declared<'_>, chat: &str, kind: ToolKind) -> Box<RawValue> {
    let custom = kind == ToolKind::Custom;
    let description = match custom {
        true => custom_description(tool),
        false => Declared::text(&tool.description).to_owned(),
    };
    let parameters = match (custom, tool.schema()) {
        (true, _) => Schema::Built(json!({
            "type": "object",
            "properties": {"input": {
                "type": "string",
                "description": "The raw input of the tool, exactly as its description specifies."
            }},
            "required": ["input"],
            "additionalProperties": false
        })),
        (false, Some(raw)) => Schema::Raw(raw),
        (false, None) => Schema::Built(json!({"type": "object", "properties": {}})),
    };
    let tool = ChatTool {
        kind: "function",
        function: Function {
            name: chat,
            description: &description,
            parameters,
        },
    };
    // Written from valid JSON and strings: it is JSON.
    serde_json::value::to_raw_value(&tool)
        .unwrap_or_else(|_| RawValue::from_string("{}".to_owned()).expect("{} is JSON"))
}

/// How a freeform tool is called through chat, for its description.
const CALL_AS_FUNCTION: &str = "Here it is called as a function: put the raw input, exactly as it would be written freeform, in its one string parameter `input`.";

/// A custom tool's description, with its input format spelled out.
fn custom_description(tool: &Declared<'_>) -> String {
    let mut text = Declared::text(&tool.description).to_owned();
    let format = tool.format.as_ref();
    let definition = format
        .and_then(|f| f.get("definition"))
        .and_then(Value::as_str);
    if let Some(definition) = definition {
        let syntax = format
            .and_then(|f| f.get("syntax"))
            .and_then(Value::as_str)
            .unwrap_or("grammar");
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&format!(
            "{CALL_AS_FUNCTION} It must match this {syntax} grammar:\n```\n{definition}\n```"
        ));
    } else {
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(CALL_AS_FUNCTION);
    }
    text
}

/// `NAME` or `NAMESPACE__NAME`, made valid; cut with a hash when too long.
pub(crate) fn flat_name(namespace: Option<&str>, name: &str) -> String {
    let joined = match namespace {
        Some(ns) => format!("{ns}__{name}"),
        None => name.to_owned(),
    };
    let clean: String = joined
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        return "tool".to_owned();
    }
    if clean.len() > MAX_NAME || clean != joined {
        // Two different originals must not meet in one sanitized name: a
        // changed or cut name carries a hash of the original.
        let key = (namespace.map(str::to_owned), name.to_owned());
        return hashed_name(&clean, &key, 0);
    }
    clean
}

/// `base` cut to leave room for `_` and 8 hex digits of a hash of the
/// original (and of `round`, to step past a taken name).
fn hashed_name(base: &str, key: &(Option<String>, String), round: u32) -> String {
    let mut hash = Fnv::default();
    if let Some(ns) = &key.0 {
        hash.write(ns.as_bytes());
    }
    hash.write(&[0]);
    hash.write(key.1.as_bytes());
    hash.write(&round.to_le_bytes());
    let suffix = format!("_{:08x}", hash.finish());
    // `base` is ASCII here, so any byte index is a char boundary.
    let keep = base.len().min(MAX_NAME - suffix.len());
    format!("{}{suffix}", &base[..keep])
}

/// FNV-1a, 32 bits: stable across runs and platforms, unlike `DefaultHasher`.
struct Fnv(u32);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0x811c_9dc5)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }

    fn finish(&self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each element of a JSON array, as raw text.
    fn raws(tools: &Value) -> Vec<Box<RawValue>> {
        tools
            .as_array()
            .unwrap()
            .iter()
            .map(|t| serde_json::value::to_raw_value(t).unwrap())
            .collect()
    }

    fn valid(name: &str) -> bool {
        (1..=MAX_NAME).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    #[test]
    fn names_are_valid_and_map_back_exactly() {
        let long = "x".repeat(100);
        let tools = json!([
            {"type": "function", "name": "exec_command", "parameters": {"type": "object"}},
            {"type": "function", "name": "mcp.server/tool name"},
            {"type": "function", "name": long},
            {"type": "namespace", "name": "multi_agent_v1", "tools": [
                {"type": "function", "name": "spawn_agent"},
                {"type": "function", "name": "close_agent"}
            ]},
            {"type": "function", "name": "multi_agent_v1__spawn_agent"},
            {"type": "custom", "name": "apply_patch"},
            {"type": "web_search"},
            {"type": "tool_search", "name": "tool_search"},
            {"type": "function", "name": "exec_command", "description": "again"}
        ]);
        let raw = raws(&tools);
        let out = translate_tools(raw.iter().map(|r| &**r));
        assert_eq!(out.tools.len(), 7);
        assert_eq!(
            out.dropped,
            vec![
                "tool web_search",
                "tool tool_search:tool_search",
                "tool function:exec_command (declared twice)"
            ]
        );
        let chat: Vec<Value> = out
            .tools
            .iter()
            .map(|t| serde_json::from_str(t.get()).unwrap())
            .collect();
        let names: Vec<&str> = chat
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        // The schema goes on as it came.
        assert_eq!(chat[0]["function"]["parameters"], json!({"type": "object"}));
        assert!(names.iter().all(|n| valid(n)), "{names:?}");
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        assert_eq!(names[0], "exec_command");
        assert_eq!(names[3], "multi_agent_v1__spawn_agent");
        assert_eq!(
            out.map.chat_name(Some("functions"), "exec_command"),
            "exec_command"
        );
        let back = out.map.lookup(names[3]).unwrap();
        assert_eq!(back.namespace.as_deref(), Some("multi_agent_v1"));
        assert_eq!(back.name, "spawn_agent");
        let back = out.map.lookup(names[5]).unwrap();
        assert_eq!(
            (back.namespace.as_deref(), back.name.as_str()),
            (None, "multi_agent_v1__spawn_agent")
        );
        assert_eq!(out.map.lookup(names[2]).unwrap().name, long);
        assert_eq!(
            out.map.lookup(names[1]).unwrap().name,
            "mcp.server/tool name"
        );
        assert_eq!(out.map.lookup(names[6]).unwrap().kind, ToolKind::Custom);
        // The same list gives the same names.
        let again = translate_tools(raw.iter().map(|r| &**r));
        let text = |t: &ChatTools| {
            t.tools
                .iter()
                .map(|r| r.get().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(text(&again), text(&out));
    }

    #[test]
    fn flat_name_is_valid_for_odd_input() {
        for (ns, name) in [
            (None, ""),
            (None, "é"),
            (Some(""), ""),
            (Some("a.b"), "c d"),
        ] {
            let flat = flat_name(ns, name);
            assert!(valid(&flat), "{flat}");
        }
    }
}
