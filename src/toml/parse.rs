//! Reading a config's text as TOML, for the edit side ([`parse`]: with its
//! style, refusing what toml_edit cannot write back unchanged) and the read
//! side ([`parse_spanned`]: with line numbers); every error is
//! `path:line:col: message` with the line quoted, and what to do.

use std::path::Path;

use toml_edit::{Document, DocumentMut};

use super::style::Styled;
use crate::error::{Failure, invalid};

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, col)
}

/// The file's bytes as UTF-8, or an error pointing at the first bad byte.
pub fn as_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = e.valid_up_to();
        let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or_default();
        let (line, col) = line_col(prefix, good);
        invalid(format!(
            "{}:{line}:{col}: not valid UTF-8 (byte 0x{:02x})",
            path.display(),
            bytes[good]
        ))
        .help("TOML files must be UTF-8; re-save the file as UTF-8 and run again. Nothing was written.")
    })
}

/// Characters of a line quoted under a parse error.
const QUOTE_WIDTH: usize = 100;

/// `line` as quoted under a parse error: at most [`QUOTE_WIDTH`] characters
/// around column `col` (1-based), `…` where cut, control characters escaped
/// so that a file cannot drive the terminal; and the caret's offset in it.
fn quote_line(line: &str, col: usize) -> (String, usize) {
    let at = col.saturating_sub(1);
    let start = at.saturating_sub(QUOTE_WIDTH / 2);
    let mut out = String::new();
    let mut caret = None;
    if start > 0 {
        out.push('…');
    }
    let mut chars = line.chars().skip(start);
    for (i, c) in chars.by_ref().take(QUOTE_WIDTH).enumerate() {
        if start + i == at {
            caret = Some(out.chars().count());
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let caret = caret.unwrap_or_else(|| out.chars().count());
    if chars.next().is_some() {
        out.push('…');
    }
    (out, caret)
}

/// A parsed config with the style needed to write it back.
pub struct Parsed<'a> {
    pub styled: Styled<'a>,
    pub doc: DocumentMut,
}

/// Parse `text` as TOML; on error, `path:line:col: message` with the line quoted.
pub fn parse<'a>(path: &Path, text: &'a str) -> Result<Parsed<'a>, Failure> {
    let styled = Styled::new(text);
    let doc = parse_spanned(path, styled.normalized())?.into_mut();
    if !styled.same_lines(&doc.to_string()) {
        return Err(invalid(format!(
            "{}: toml_edit cannot write this file back unchanged, so the tool will not edit it",
            path.display()
        ))
        .help("please report this file's shape as a bug; add the blocks by hand meanwhile. Nothing was written."));
    }
    Ok(Parsed { styled, doc })
}

/// Parse normalised text (see [`Styled::normalized`]) keeping every item's
/// byte span, for reporting line numbers; on error, `path:line:col: message`
/// with the line quoted.
pub fn parse_spanned(path: &Path, normalized: &str) -> Result<Document<String>, Failure> {
    Document::parse(normalized.to_string()).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        let (line, col) = line_col(normalized, at);
        let (quoted, at) = quote_line(normalized.lines().nth(line - 1).unwrap_or_default(), col);
        let caret = format!("{}^", " ".repeat(at));
        invalid(format!(
            "{}:{line}:{col}: invalid TOML: {}\n{line:>5} | {quoted}\n      | {caret}",
            path.display(),
            e.message().trim_end()
        ))
        .help(format!(
            "fix line {line} of {} (or move the file aside) and run again. Nothing was written.",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é = 1\nx", 3), (1, 3));
        assert_eq!(line_col("", 0), (1, 1));
    }

    #[test]
    fn parse_error_names_line_and_column_and_quotes_the_line() {
        let err = parse(Path::new("c.toml"), "a = 1\nb = = 2\n")
            .err()
            .expect("invalid");
        assert!(
            err.message.starts_with("c.toml:2:5: invalid TOML"),
            "{}",
            err.message
        );
        assert!(err.message.contains("    2 | b = = 2"), "{}", err.message);
    }

    #[test]
    fn quoted_lines_are_short_and_printable() {
        assert_eq!(quote_line("a = = 1", 5), ("a = = 1".to_string(), 4));
        assert_eq!(
            quote_line("# \u{1b}[2J x", 3),
            ("# \\u{1b}[2J x".to_string(), 2)
        );
        let long = format!("{}x{}", "1".repeat(1000), "2".repeat(1000));
        let (quoted, caret) = quote_line(&long, 1001);
        assert_eq!(quoted.chars().count(), QUOTE_WIDTH + 2);
        assert!(quoted.starts_with("…1") && quoted.ends_with("2…"));
        assert_eq!(quoted.chars().nth(caret), Some('x'));
    }

    #[test]
    fn non_utf8_points_at_the_byte() {
        let err = as_text(Path::new("c.toml"), b"a = 1\nb = \"\xff\"\n").unwrap_err();
        assert!(
            err.message
                .starts_with("c.toml:2:6: not valid UTF-8 (byte 0xff)"),
            "{}",
            err.message
        );
    }
}
