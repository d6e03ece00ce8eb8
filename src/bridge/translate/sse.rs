//! Server-sent events: an incremental decoder for the gateway's stream and the
//! encoder for the events Codex reads.
//!
//! The decoder follows the WHATWG event-stream rules that matter here: lines end
//! in CRLF, LF or CR (a CRLF split across two reads is one line end), `data:`
//! with or without the one optional space, several `data:` lines joined by LF,
//! comment lines (`:`) and other fields ignored, a blank line ends an event.
//! Its output depends only on the bytes, never on how they were split.

use serde_json::Value;

/// An event larger than this is not a chat chunk: the stream is refused
/// instead of buffering without bound.
pub(crate) const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// Decodes the `data` payloads of an SSE stream, fed in pieces.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    /// The current, not yet terminated line.
    line: Vec<u8>,
    /// The `data` lines of the event being read, joined by LF.
    data: Vec<u8>,
    /// Whether any `data` field was seen for the current event.
    has_data: bool,
    /// The previous read ended in CR: a LF starting this one belongs to it.
    after_cr: bool,
    /// Set once an event grew beyond [`MAX_EVENT_BYTES`].
    overflow: bool,
}

/// One decoded item of the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// The `data` of one complete event.
    Data(String),
    /// The stream sent an event too large to hold.
    Overflow,
}

impl Decoder {
    /// Feeds `bytes`; every event completed by them is appended to `out`.
    pub(crate) fn push(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        if self.overflow || bytes.is_empty() {
            // An empty read must not forget a CR that ended the last one.
            return;
        }
        let mut rest = bytes;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..end]);
            self.end_line(out);
            if self.overflow {
                return;
            }
            if rest[end] == b'\r' {
                match rest.get(end + 1) {
                    Some(b'\n') => rest = &rest[end + 2..],
                    Some(_) => rest = &rest[end + 1..],
                    None => {
                        self.after_cr = true;
                        rest = &[];
                    }
                }
            } else {
                rest = &rest[end + 1..];
            }
        }
        self.line.extend_from_slice(rest);
        if self.line.len() + self.data.len() > MAX_EVENT_BYTES {
            self.fail(out);
        }
    }

    /// The stream ended: a last event not followed by a blank line still
    /// counts (some gateways close right after `data: [DONE]`).
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) {
        if self.overflow {
            return;
        }
        if !self.line.is_empty() {
            self.end_line(out);
        }
        self.dispatch(out);
    }

    fn fail(&mut self, out: &mut Vec<Frame>) {
        self.overflow = true;
        self.line = Vec::new();
        self.data = Vec::new();
        out.push(Frame::Overflow);
    }

    fn end_line(&mut self, out: &mut Vec<Frame>) {
        if self.line.is_empty() {
            self.dispatch(out);
            return;
        }
        // The line's buffer is kept for the next line (cleared, not taken).
        let line = &self.line;
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &b""[..]),
        };
        // A comment (`:` first) has an empty field; `event`, `id`, `retry`
        // and unknown fields carry nothing for chat.
        if field == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            }
            self.has_data = true;
            self.data.extend_from_slice(value);
        }
        self.line.clear();
        if self.data.len() > MAX_EVENT_BYTES {
            self.fail(out);
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Frame>) {
        if self.has_data {
            let data = std::mem::take(&mut self.data);
            self.has_data = false;
            out.push(Frame::Data(match String::from_utf8(data) {
                Ok(text) => text,
                Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
            }));
        }
    }
}

/// Appends one Responses event: `event: TYPE`, `data: JSON`, blank line.
pub(crate) fn write_event(out: &mut Vec<u8>, event: &Value) {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Serializing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, event);
    out.extend_from_slice(b"\n\n");
}

/// A delta event, written without building a `Value`: deltas are most of a
/// stream's events.
pub(crate) struct DeltaEvent<'a> {
    pub kind: &'a str,
    pub sequence: u64,
    pub item_id: &'a str,
    pub output_index: usize,
    /// `("content_index", 0)`, `("summary_index", 0)`, or none.
    pub index: Option<(&'static str, usize)>,
    pub delta: &'a str,
}

impl DeltaEvent<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "event: {}\ndata: {{\"type\":\"{}\",\"sequence_number\":{},\"item_id\":",
            self.kind, self.kind, self.sequence
        );
        let _ = serde_json::to_writer(&mut *out, self.item_id);
        let _ = write!(out, ",\"output_index\":{}", self.output_index);
        if let Some((name, index)) = self.index {
            let _ = write!(out, ",\"{name}\":{index}");
        }
        out.extend_from_slice(b",\"delta\":");
        let _ = serde_json::to_writer(&mut *out, self.delta);
        out.extend_from_slice(b"}\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.push(chunk, &mut out);
        }
        decoder.finish(&mut out);
        out
    }

    fn data(text: &str) -> Frame {
        Frame::Data(text.to_owned())
    }

    #[test]
    fn line_ends_and_fields() {
        let frames = decode(&[b"data: a\r\n\r\ndata:b\n\ndata: c\r\rdata: d\ndata: e\n\n"]);
        assert_eq!(frames, vec![data("a"), data("b"), data("c"), data("d\ne")]);
    }

    #[test]
    fn crlf_split_across_reads_is_one_line_end() {
        let frames = decode(&[b"data: a\r", b"\n", b"\r", b"\ndata: b\r", b"\r"]);
        assert_eq!(frames, vec![data("a"), data("b")]);
        // An empty read between CR and LF changes nothing.
        let frames = decode(&[b"data: a\r", b"", b"\ndata: b\r\n\r\n"]);
        assert_eq!(frames, vec![data("a\nb")]);
    }

    #[test]
    fn comments_and_other_fields_are_ignored() {
        let frames = decode(&[b": keep-alive\n\nevent: x\nid: 3\nretry: 10\ndata: a\n\n"]);
        assert_eq!(frames, vec![data("a")]);
    }

    #[test]
    fn last_event_without_blank_line_counts_at_eof() {
        assert_eq!(decode(&[b"data: [DONE]"]), vec![data("[DONE]")]);
        assert_eq!(decode(&[b"data: [DONE]\n"]), vec![data("[DONE]")]);
    }

    #[test]
    fn empty_data_is_an_event_and_no_data_is_none() {
        assert_eq!(decode(&[b"data\n\nevent: x\n\n"]), vec![data("")]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(decode(&[b"data: \xff\n\n"]), vec![data("\u{fffd}")]);
    }

    #[test]
    fn delta_event_is_the_same_json_as_a_value_event() {
        let mut direct = Vec::new();
        DeltaEvent {
            kind: "response.output_text.delta",
            sequence: 7,
            item_id: "msg_\"x\"_0",
            output_index: 2,
            index: Some(("content_index", 0)),
            delta: "a\n\u{1}é\"",
        }
        .write(&mut direct);
        let text = String::from_utf8(direct).unwrap();
        let data = text
            .strip_prefix("event: response.output_text.delta\ndata: ")
            .unwrap();
        let data = data.strip_suffix("\n\n").unwrap();
        let value: Value = serde_json::from_str(data).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"type": "response.output_text.delta", "sequence_number": 7, "item_id": "msg_\"x\"_0", "output_index": 2, "content_index": 0, "delta": "a\n\u{1}é\""})
        );
    }

    #[test]
    fn huge_event_is_refused_once() {
        let mut decoder = Decoder::default();
        let mut out = Vec::new();
        let block = vec![b'x'; 1024 * 1024];
        decoder.push(b"data: ", &mut out);
        for _ in 0..40 {
            decoder.push(&block, &mut out);
        }
        decoder.push(b"\n\n", &mut out);
        decoder.finish(&mut out);
        assert_eq!(out, vec![Frame::Overflow]);
    }
}
