//! An answer the gateway cut (`finish_reason` `length` or `content_filter`).
//!
//! Measured with real Codex (0.133.0, 0.171.0), `response.incomplete` is no
//! good answer: 0.133 retries it as a broken stream (the same costly request
//! again, `stream_max_retries` times, the partial answer shown each time), and
//! 0.171 retries `content_filter` the same way. So a cut answer is completed
//! (`response.completed` with `status: "incomplete"` and
//! `incomplete_details.reason`, which Codex ignores), with the user told in
//! words: a note ends the answer's text (or is the answer, when the cut came
//! before any text). A tool call the cut may have truncated is never run: the
//! calls of a cut answer get no `output_item.done`, and the note names them.

/// Why the gateway stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// `finish_reason: "length"`: the output token limit.
    Length,
    /// `finish_reason: "content_filter"`.
    ContentFilter,
}

impl Cut {
    /// The cut a `finish_reason` stands for, if any.
    pub(crate) fn from_finish_reason(reason: &str) -> Option<Cut> {
        match reason {
            "length" => Some(Cut::Length),
            "content_filter" => Some(Cut::ContentFilter),
            _ => None,
        }
    }

    /// `incomplete_details.reason` in the Responses API's words.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Cut::Length => "max_output_tokens",
            Cut::ContentFilter => "content_filter",
        }
    }

    /// What the user reads at the end of the cut answer; `calls`: the tools
    /// whose calls were not run. `after_text`: it follows the answer's text.
    pub(crate) fn note(self, calls: &[&str], after_text: bool) -> String {
        let what = match self {
            Cut::Length => {
                "The gateway's output limit cut this answer short (finish_reason \"length\")"
            }
            Cut::ContentFilter => {
                "The gateway's content filter stopped this answer (finish_reason \"content_filter\")"
            }
        };
        let mut note = format!("[{what}.");
        if !calls.is_empty() {
            let names: Vec<String> = calls.iter().map(|n| format!("`{n}`")).collect();
            let (calls, were) = match names.len() {
                1 => ("call", "was"),
                _ => ("calls", "were"),
            };
            note.push_str(&format!(
                " The tool {calls} it was writing ({}) {were} not run.",
                names.join(", ")
            ));
        }
        if self == Cut::Length {
            note.push_str(" Ask to continue, or raise the output limit.");
        }
        note.push(']');
        if after_text {
            note.insert_str(0, "\n\n");
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_cause_and_the_calls_not_run() {
        let note = Cut::Length.note(&["exec_command"], true);
        assert!(
            note.starts_with("\n\n[The gateway's output limit"),
            "{note}"
        );
        assert!(note.contains("(`exec_command`) was not run"), "{note}");
        let note = Cut::ContentFilter.note(&[], false);
        assert!(note.starts_with("[The gateway's content filter"), "{note}");
        assert!(!note.contains("not run"), "{note}");
        assert_eq!(Cut::from_finish_reason("stop"), None);
        assert_eq!(
            Cut::from_finish_reason("length").map(Cut::reason),
            Some("max_output_tokens")
        );
    }
}
