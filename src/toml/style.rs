//! The file's text style: UTF-8 BOM, line endings and final newline.
//!
//! toml_edit drops a BOM, turns CRLF into LF and always ends with a newline.
//! Rather than patching each of those after the fact, [`Styled::restore`]
//! diffs the normalised input against toml_edit's output line by line and
//! rebuilds the file from the *original* bytes of every unchanged line, so
//! each line that the edit did not touch keeps its exact terminator (CRLF,
//! LF or, for a last line, none). Inserted lines get the file's dominant line
//! ending. No quadratic step: the diff trims the common prefix and suffix
//! first and the edits are a handful of small hunks.

use std::borrow::Cow;

use similar::{Algorithm, DiffOp, capture_diff_slices};

const BOM: &str = "\u{feff}";

/// A file's text split into what toml_edit sees and how to write it back.
#[derive(Debug, Clone)]
pub struct Styled<'a> {
    bom: bool,
    /// The text after the BOM, each line with its own terminator (`\r\n`,
    /// `\n` or, for a last line, none).
    body: &'a str,
    /// Line ending for new lines: the one most lines use (LF on a tie).
    eol: &'static str,
    /// What toml_edit parses: BOM removed, every CRLF line ending made LF.
    /// Borrowed from the body when it has no CRLF: no copy of the file.
    normalized: Cow<'a, str>,
}

impl<'a> Styled<'a> {
    pub fn new(raw: &'a str) -> Self {
        let (bom, body) = match raw.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (mut crlf, mut lf) = (0, 0);
        for line in body.split_inclusive('\n') {
            if line.ends_with("\r\n") {
                crlf += 1;
            } else if line.ends_with('\n') {
                lf += 1;
            }
        }
        let normalized = if crlf == 0 {
            Cow::Borrowed(body)
        } else {
            let mut text = String::with_capacity(body.len());
            for line in body.split_inclusive('\n') {
                text.push_str(content(line));
                if line.ends_with('\n') {
                    text.push('\n');
                }
            }
            Cow::Owned(text)
        };
        Styled {
            bom,
            body,
            eol: if crlf > lf { "\r\n" } else { "\n" },
            normalized,
        }
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// True when the text is empty or ends with a line terminator.
    pub fn has_final_newline(&self) -> bool {
        self.body.is_empty() || self.body.ends_with('\n')
    }

    /// True when `rendered` is the same lines as the normalised input; toml_edit
    /// may only have added a final newline the file did not have.
    pub fn same_lines(&self, rendered: &str) -> bool {
        rendered == self.normalized
            || (!self.has_final_newline()
                && rendered.len() == self.normalized.len() + 1
                && rendered.starts_with(&*self.normalized)
                && rendered.ends_with('\n'))
    }

    /// Rebuild the file from `rendered` (toml_edit's output for the edited
    /// document), keeping the original bytes of every line the edit did not
    /// change, the BOM and the presence or absence of a final newline.
    pub fn restore(&self, rendered: &str) -> String {
        let raw_lines: Vec<&str> = self.body.split_inclusive('\n').collect();
        let old: Vec<&str> = raw_lines.iter().map(|l| content(l)).collect();
        let new: Vec<&str> = rendered.split_inclusive('\n').map(content).collect();
        let mut out = String::with_capacity(rendered.len() + old.len() + BOM.len());
        if self.bom {
            out.push_str(BOM);
        }
        // Every emitted line gets a terminator; the original's own where the
        // line is unchanged. The final one is settled after the loop.
        let mut push = |line: &str, term: &str| {
            out.push_str(line);
            out.push_str(if term.is_empty() { self.eol } else { term });
        };
        let (mut next_old, mut next_new) = (0, 0);
        let end = (old.len(), new.len());
        for (j, k) in align(&old, &new).into_iter().chain([end]) {
            // Between two kept lines: new lines replace old ones, each
            // keeping the ending of the line it replaces (so that undoing
            // the edit gives the same bytes back); extra new lines get the
            // file's line ending.
            for (i, line) in new[next_new..k].iter().enumerate() {
                let replaced = (next_old + i < j).then(|| ending(raw_lines[next_old + i]));
                push(line, replaced.unwrap_or_default());
            }
            if let Some(raw) = raw_lines.get(j).filter(|_| (j, k) != end) {
                push(content(raw), ending(raw));
            }
            (next_old, next_new) = (j + 1, k + 1);
        }
        if !self.has_final_newline() {
            let cut = out
                .strip_suffix("\r\n")
                .or_else(|| out.strip_suffix('\n'))
                .map_or(out.len(), str::len);
            out.truncate(cut.max(usize::from(self.bom) * BOM.len()));
        }
        out
    }
}

/// The pairs (old line, new line) kept unchanged, in order. Where a kept
/// line has identical neighbours on either side that the edit did not keep
/// (blank lines, mostly), the pair moves to the first of them: ties between
/// identical lines are always settled the same way, so an edit and its
/// inverse keep the same original lines, and with them their endings.
fn align(old: &[&str], new: &[&str]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = capture_diff_slices(Algorithm::Myers, old, new)
        .into_iter()
        .filter_map(|op| match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => Some((0..len).map(move |i| (old_index + i, new_index + i))),
            _ => None,
        })
        .flatten()
        .collect();
    let (mut next_old, mut next_new) = (0, 0);
    for (j, k) in &mut pairs {
        while *j > next_old && old[*j - 1] == old[*j] {
            *j -= 1;
        }
        while *k > next_new && new[*k - 1] == new[*k] {
            *k -= 1;
        }
        (next_old, next_new) = (*j + 1, *k + 1);
    }
    pairs
}

/// A line's terminator: `\r\n`, `\n` or none.
fn ending(line: &str) -> &str {
    &line[content(line).len()..]
}

/// A line without its terminator (`\r\n` or `\n`).
fn content(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replace the normalised text's line `at` (0-based) by `with` lines.
    fn edit(s: &Styled, at: usize, remove: usize, with: &[&str]) -> String {
        let mut lines: Vec<String> = s.normalized().lines().map(String::from).collect();
        lines.splice(at..at + remove, with.iter().map(|l| l.to_string()));
        let mut r = lines.join("\n");
        r.push('\n');
        r
    }

    #[test]
    fn unchanged_text_is_byte_identical() {
        for raw in [
            "",
            "a = 1",
            "a = 1\n",
            "a = 1\r\nb = 2\r\n",
            "a = 1\r\nb = 2",
            "\u{feff}a = 1\r\n",
            "a = 1\r\nb = 2\nc = 3\r\n",
            "\n\n",
            "\u{feff}",
        ] {
            let s = Styled::new(raw);
            let rendered = format!(
                "{}{}",
                s.normalized(),
                if raw.ends_with('\n') || raw.trim_start_matches('\u{feff}').is_empty() {
                    ""
                } else {
                    "\n"
                }
            );
            assert!(s.same_lines(&rendered), "{raw:?}");
            assert_eq!(s.restore(&rendered), raw, "{raw:?}");
        }
    }

    #[test]
    fn inserted_lines_take_the_dominant_line_ending() {
        let s = Styled::new("a = 1\r\nb = 2\r\n");
        assert_eq!(
            s.restore(&edit(&s, 2, 0, &["", "c = 3"])),
            "a = 1\r\nb = 2\r\n\r\nc = 3\r\n"
        );
        let s = Styled::new("a = 1\r\nb = 2\nc = 3\n");
        assert_eq!(
            s.restore(&edit(&s, 1, 0, &["x = 0"])),
            "a = 1\r\nx = 0\nb = 2\nc = 3\n"
        );
    }

    #[test]
    fn missing_final_newline_and_bom_are_kept() {
        let s = Styled::new("\u{feff}a = 1");
        let installed = s.restore(&edit(&s, 1, 0, &["[t]", "x = 1"]));
        assert_eq!(installed, "\u{feff}a = 1\n[t]\nx = 1");
        let s2 = Styled::new(&installed);
        assert_eq!(s2.restore(&edit(&s2, 1, 2, &[])), "\u{feff}a = 1");
    }

    #[test]
    fn a_changed_line_keeps_its_own_line_ending() {
        // LF dominates, but the line the edit changes was CRLF.
        let raw = "a = { x = 1 }\r\nb = 2\nc = 3\n";
        let s = Styled::new(raw);
        let installed = s.restore("a = { x = 1, y = 2 }\nb = 2\nc = 3\n");
        assert_eq!(installed, "a = { x = 1, y = 2 }\r\nb = 2\nc = 3\n");
        let s2 = Styled::new(&installed);
        assert_eq!(s2.restore("a = { x = 1 }\nb = 2\nc = 3\n"), raw);
    }

    #[test]
    fn mixed_endings_survive_a_round_trip() {
        let raw = "a = 1\r\nb = 2\n\r\nc = 3";
        let s = Styled::new(raw);
        let installed = s.restore(&edit(&s, 4, 0, &["[t]", "x = 1"]));
        let s2 = Styled::new(&installed);
        assert_eq!(s2.restore(&edit(&s2, 4, 2, &[])), raw);
    }

    #[test]
    fn identical_blank_lines_keep_their_own_endings_through_a_round_trip() {
        // The proptest case: a LF line then a CRLF blank line; install
        // changes line 1 and appends after two blank lines.
        let raw = "a = { x = 1 }\n\r\n";
        let s = Styled::new(raw);
        let installed = s.restore("a = { x = 1, y = 2 }\n\n\n# c\n[t]\n");
        assert_eq!(installed, "a = { x = 1, y = 2 }\n\r\n\n# c\n[t]\n");
        let s2 = Styled::new(&installed);
        assert_eq!(s2.restore("a = { x = 1 }\n\n"), raw);
    }

    #[test]
    fn deleting_everything_keeps_an_empty_file_empty() {
        let s = Styled::new("[t]\r\nx = 1\r\n");
        assert_eq!(s.restore(""), "");
    }
}
