//! Streams the raw input of a custom tool call while its `{"input": "…"}`
//! arguments arrive in fragments: each fragment yields the newly decoded part
//! of the string, so `response.custom_tool_call_input.delta` can follow the
//! model. Arguments of any other shape stop the streaming (the `.done` item
//! still carries the whole input).

/// How far the arguments have been read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Before the opening quote of the `input` value.
    #[default]
    Prefix,
    /// Inside the string, at byte `pos` of the arguments.
    InString,
    /// After the closing quote, or given up on an unexpected shape.
    Stopped,
}

#[derive(Debug, Default)]
pub(crate) struct InputStream {
    state: Scan,
    pos: usize,
    /// Everything yielded so far.
    pub emitted: String,
}

impl InputStream {
    /// Reads `arguments` (all fragments so far) from where it stopped and
    /// returns the newly decoded input text.
    pub(crate) fn advance(&mut self, arguments: &str) -> String {
        let start = self.emitted.len();
        if self.state == Scan::Prefix {
            match prefix_end(arguments) {
                Prefix::Need => return String::new(),
                Prefix::Bail => {
                    self.state = Scan::Stopped;
                    return String::new();
                }
                Prefix::At(pos) => {
                    self.state = Scan::InString;
                    self.pos = pos;
                }
            }
        }
        while self.state == Scan::InString {
            let rest = &arguments[self.pos..];
            let Some(stop) = rest.find(['"', '\\']) else {
                self.emitted.push_str(rest);
                self.pos = arguments.len();
                break;
            };
            self.emitted.push_str(&rest[..stop]);
            self.pos += stop;
            let rest = &arguments[self.pos..];
            if rest.starts_with('"') {
                self.state = Scan::Stopped;
                break;
            }
            let Some(len) = escape_len(rest) else { break };
            // `get`: a backslash before a non-ASCII character is no JSON
            // escape, and its length is no char boundary.
            let decoded = rest
                .get(..len)
                .and_then(|escape| serde_json::from_str::<String>(&format!("\"{escape}\"")).ok());
            match decoded {
                Some(text) => {
                    self.emitted.push_str(&text);
                    self.pos += len;
                }
                None => self.state = Scan::Stopped,
            }
        }
        self.emitted[start..].to_owned()
    }
}

enum Prefix {
    Need,
    Bail,
    At(usize),
}

/// Matches `{ "input" : "` (with any JSON whitespace) at the start.
fn prefix_end(arguments: &str) -> Prefix {
    let mut pos = 0;
    for token in ["{", "\"input\"", ":", "\""] {
        pos += arguments[pos..].len()
            - arguments[pos..]
                .trim_start_matches([' ', '\t', '\n', '\r'])
                .len();
        let rest = &arguments[pos..];
        if rest.starts_with(token) {
            pos += token.len();
        } else if token.starts_with(rest) {
            return Prefix::Need;
        } else {
            return Prefix::Bail;
        }
    }
    Prefix::At(pos)
}

/// The length of the escape at the start of `rest` (which starts with `\`),
/// or `None` when more bytes are needed. A high surrogate takes its low half
/// along, so the pair decodes as one character.
fn escape_len(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    match bytes.get(1)? {
        b'u' => {
            let hex = rest.get(2..6)?;
            let high = u16::from_str_radix(hex, 16).is_ok_and(|u| (0xD800..0xDC00).contains(&u));
            if high {
                if rest.len() < 12 {
                    // A lone high surrogate followed by something else still
                    // fails to decode once the next bytes are there.
                    return if rest.len() >= 7 && !rest[6..].starts_with('\\') {
                        Some(6)
                    } else {
                        None
                    };
                }
                Some(12)
            } else {
                Some(6)
            }
        }
        _ => Some(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(fragments: &[&str]) -> (Vec<String>, String) {
        let mut input = InputStream::default();
        let mut args = String::new();
        let mut deltas = Vec::new();
        for f in fragments {
            args.push_str(f);
            let d = input.advance(&args);
            if !d.is_empty() {
                deltas.push(d);
            }
        }
        (deltas, input.emitted)
    }

    #[test]
    fn decodes_across_fragments() {
        let (deltas, all) = stream(&[
            "{\"in",
            "put\": \"*** Begin",
            " Patch\\",
            "n+é\\u00e9\\ud83d",
            "\\ude00 x\"}",
        ]);
        assert_eq!(all, "*** Begin Patch\n+éé😀 x");
        assert_eq!(deltas, vec!["*** Begin", " Patch", "\n+éé", "😀 x"]);
    }

    #[test]
    fn a_bad_escape_stops_without_panicking() {
        assert_eq!(stream(&["{\"input\":\"a\\é b\"}"]).1, "a");
        assert_eq!(stream(&["{\"input\":\"a\\", "é\"}"]).1, "a");
        assert_eq!(stream(&["{\"input\":\"a\\u12é4\"}"]).1, "a");
        assert_eq!(stream(&["{\"input\":\"a\\ud83dé\"}"]).1, "a");
    }

    #[test]
    fn other_shapes_stop_streaming() {
        assert_eq!(stream(&["{\"path\": \"x\", \"input\": \"y\"}"]).1, "");
        assert_eq!(stream(&["*** Begin Patch"]).1, "");
    }

    #[test]
    fn every_split_gives_the_same_text() {
        let args = "{ \"input\" : \"a\\\"b\\\\c\\u0041\\ud83d\\ude00\\n\" }";
        for cut in 0..=args.len() {
            if !args.is_char_boundary(cut) {
                continue;
            }
            let (_, all) = stream(&[&args[..cut], &args[cut..]]);
            assert_eq!(all, "a\"b\\cA😀\n", "cut at {cut}");
        }
    }
}
