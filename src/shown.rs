//! What may be shown: the one place every output path goes through.
//!
//! - Secrets (the API key, OPENAI_API_KEY, the value of the env var the
//!   provider names) are replaced by their masked form wherever they
//!   appear, whole or as any run of [`MIN_RUN`] or more consecutive
//!   characters of them, in any case: a server that echoes the key cut
//!   short, upper-cased or embedded in a model id is caught too.
//! - Control characters, bidi overrides, zero-width characters and line
//!   separators are escaped (`\u{1b}`), so that no config value or server
//!   answer can drive the terminal or forge a line.
//!
//! [`Ui`](crate::report::Ui) passes everything it writes through
//! [`redact`], line by line, and escapes it (except the styles the tool
//! itself emits); errors and warnings go through the same functions. The
//! secrets are registered once per process with [`protect`] as soon as a
//! command knows them.

use std::borrow::Cow;
use std::sync::RwLock;

/// A run of this many consecutive characters of a secret is masked.
pub const MIN_RUN: usize = 8;
/// Secrets shorter than this are too common to replace blindly.
const MIN_SECRET: usize = 4;

/// Values that must never be printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// Each secret as given (for its mask) and lower-cased, char by char.
    values: Vec<(String, Vec<char>)>,
}

/// `c` lower-cased to one character (the comparison is per character).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

impl Secrets {
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Secrets {
        let mut s = Secrets::default();
        for v in values {
            s.add(v.as_ref());
        }
        s
    }

    /// Add `value` (and its trimmed form) unless already known or too short.
    pub fn add(&mut self, value: &str) {
        for v in [value, value.trim()] {
            let folded: Vec<char> = v.chars().map(fold).collect();
            if folded.len() >= MIN_SECRET && !self.values.iter().any(|(o, _)| o == v) {
                self.values.push((v.to_string(), folded));
            }
        }
        // Longest first: a value holding another is masked whole.
        self.values.sort_by_key(|(_, f)| std::cmp::Reverse(f.len()));
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The longest run at the start of `text` (lower-cased) that is part of
    /// a secret, and that secret; `None` below [`MIN_RUN`] characters (or
    /// below the whole secret, for one shorter than that).
    fn run_at(&self, text: &[char]) -> Option<(usize, &str)> {
        let first = *text.first()?;
        let mut best: Option<(usize, &str)> = None;
        for (original, secret) in &self.values {
            let need = secret.len().min(MIN_RUN);
            for start in 0..secret.len() {
                if secret[start] != first {
                    continue;
                }
                let len = secret[start..]
                    .iter()
                    .zip(text)
                    .take_while(|(a, b)| a == b)
                    .count();
                if len >= need && best.is_none_or(|(l, _)| len > l) {
                    best = Some((len, original));
                }
            }
        }
        best
    }

    /// `text` with every occurrence of a secret, and every run of
    /// [`MIN_RUN`] or more of its characters in any case, masked.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.values.is_empty() || text.is_empty() {
            return Cow::Borrowed(text);
        }
        let chars: Vec<char> = text.chars().collect();
        let folded: Vec<char> = chars.iter().copied().map(fold).collect();
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut i = 0;
        while i < chars.len() {
            match self.run_at(&folded[i..]) {
                Some((len, secret)) => {
                    out.push_str(&mask(secret));
                    changed = true;
                    i += len;
                }
                None => {
                    out.push(chars[i]);
                    i += 1;
                }
            }
        }
        match changed {
            true => Cow::Owned(out),
            false => Cow::Borrowed(text),
        }
    }
}

/// A secret shown safely: its first 4 and last 4 characters (`sk-o…1234`),
/// or only `…` with its length when it is too short to hide most of it.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() < 20 {
        return format!("…({} characters)", chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A secret as an aside in brackets (`is set (sk-o…1234)`): [`mask`], but
/// a secret too short to show any of is only counted (`is set (11
/// characters, not shown)`), never `(…(11 characters))`.
pub fn mask_aside(secret: &str) -> String {
    match mask(secret) {
        m if m.starts_with('…') => format!("{} characters, not shown", secret.chars().count()),
        m => m,
    }
}

static REGISTERED: RwLock<Secrets> = RwLock::new(Secrets { values: Vec::new() });

/// Never show `value` in this process, from now on.
pub fn protect(value: &str) {
    if let Ok(mut s) = REGISTERED.write() {
        s.add(value);
    }
}

/// Never show the value of the environment variable `name`, if set.
pub fn protect_env(name: &str) {
    if let Some(v) = std::env::var_os(name) {
        protect(&v.to_string_lossy());
    }
}

/// Protect what is known before any config is read: the values of
/// `OMINIGATE_API_KEY` and `OPENAI_API_KEY`. Each command adds the value of
/// the variable its provider names.
pub fn protect_defaults() {
    for name in [crate::spec::ENV_KEY, "OPENAI_API_KEY"] {
        protect_env(name);
    }
}

/// The secrets registered so far.
pub fn secrets() -> Secrets {
    REGISTERED.read().map(|s| s.clone()).unwrap_or_default()
}

/// [`Secrets::redact`] with every registered secret.
pub fn redact(text: &str) -> Cow<'_, str> {
    match REGISTERED.read() {
        Ok(s) => match s.redact(text) {
            Cow::Owned(o) => Cow::Owned(o),
            Cow::Borrowed(_) => Cow::Borrowed(text),
        },
        Err(_) => Cow::Borrowed(text),
    }
}

/// Characters that must not reach a terminal raw: control characters, and
/// the invisible ones that reorder or hide text (bidi overrides and
/// isolates, zero-width characters, line and paragraph separators).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every unsafe character escaped, except those `keep` allows
/// (given the character and the one after it).
fn escape_where(text: &str, keep: impl Fn(char, Option<char>) -> bool) -> Cow<'_, str> {
    let mut chars = text.chars().peekable();
    let mut out: Option<String> = None;
    let mut at = 0;
    while let Some(c) = chars.next() {
        let escape = is_unsafe(c) && !keep(c, chars.peek().copied());
        match (&mut out, escape) {
            (None, true) => {
                let mut o = String::with_capacity(text.len() + 8);
                o.push_str(&text[..at]);
                o.extend(c.escape_default());
                out = Some(o);
            }
            (Some(o), true) => o.extend(c.escape_default()),
            (Some(o), false) => o.push(c),
            (None, false) => {}
        }
        at += c.len_utf8();
    }
    match out {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(text),
    }
}

/// One value (a model id, a server's message) as it may be shown: every
/// unsafe character escaped, line breaks and tabs included.
pub fn value(text: &str) -> Cow<'_, str> {
    escape_where(text, |_, _| false)
}

/// Text of several lines as it may be shown: unsafe characters escaped
/// except line feeds, tabs, and the CR of a CRLF line ending (a diff of a
/// CRLF file stays a diff of that file).
pub fn text(text: &str) -> Cow<'_, str> {
    escape_where(text, |c, next| {
        c == '\n' || c == '\t' || (c == '\r' && next == Some('\n'))
    })
}

/// At most `max` characters of `text`, `…` where cut.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((at, _)) => Cow::Owned(format!("{}…", &text[..at])),
        None => Cow::Borrowed(text),
    }
}

/// Something that came from the network or a file, as it may be shown:
/// redacted first (so that cutting cannot leave most of a secret), then
/// escaped, then cut to `max` characters.
pub fn untrusted(secrets: &Secrets, text: &str, max: usize) -> String {
    let redacted = secrets.redact(text);
    let escaped = value(&redacted);
    cut(&escaped, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk-omg-CANARY-7f3a9c2e1d";

    #[test]
    fn mask_shows_at_most_eight_characters_of_a_long_key() {
        assert_eq!(mask(KEY), "sk-o…2e1d");
        assert_eq!(mask("short-key"), "…(9 characters)");
        assert_eq!(mask(""), "…(0 characters)");
        assert_eq!(mask(&"é".repeat(20)), "éééé…éééé");
        assert_eq!(mask_aside(KEY), "sk-o…2e1d");
        assert_eq!(mask_aside("short-key"), "9 characters, not shown");
    }

    #[test]
    fn whole_cut_upper_cased_and_embedded_keys_are_masked() {
        let s = Secrets::new([KEY, "ab"]);
        let cases = [
            format!("key {KEY} and again {KEY}; ab"),
            format!("x{}", &KEY[..KEY.len() - 1]),
            format!("{}y", &KEY[1..]),
            KEY.to_uppercase(),
            KEY.to_lowercase(),
            format!("model/{}-pro", &KEY[3..14]),
            format!("…{}", &KEY[KEY.len() - 8..]),
        ];
        for text in &cases {
            let out = s.redact(text);
            let lower = out.to_lowercase();
            for w in KEY
                .to_lowercase()
                .chars()
                .collect::<Vec<_>>()
                .windows(MIN_RUN)
            {
                let w: String = w.iter().collect();
                assert!(!lower.contains(&w), "{text:?} -> {out:?} keeps {w:?}");
            }
            assert!(out.contains("sk-o…2e1d"), "{text:?} -> {out:?}");
        }
        assert_eq!(s.redact("ab and abc"), "ab and abc");
        // Seven characters in a row are not a run.
        assert_eq!(s.redact(&KEY[..7]), &KEY[..7]);
        assert!(matches!(s.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_secrets_are_masked_only_whole() {
        let s = Secrets::new(["abc12"]);
        assert_eq!(
            s.redact("x abc12 y ABC12"),
            "x …(5 characters) y …(5 characters)"
        );
        assert_eq!(s.redact("abc1"), "abc1");
        assert!(Secrets::new(["abc"]).is_empty());
    }

    #[test]
    fn redaction_comes_before_cutting() {
        let s = Secrets::new([KEY]);
        let message = format!("{}{KEY}", "x".repeat(185));
        let shown = untrusted(&s, &message, 200);
        assert!(!shown.contains(&KEY[..MIN_RUN]), "{shown}");
        assert!(shown.ends_with("sk-o…2e1d"), "{shown}");
    }

    #[test]
    fn unsafe_characters_are_escaped() {
        assert_eq!(value("a\u{1b}]0;t\u{7}b"), "a\\u{1b}]0;t\\u{7}b");
        assert_eq!(
            value("a\nb\u{2028}c\u{202e}d\u{200b}"),
            "a\\nb\\u{2028}c\\u{202e}d\\u{200b}"
        );
        assert_eq!(text("a\nb\tc\u{1b}[2J"), "a\nb\tc\\u{1b}[2J");
        assert_eq!(text("a\r\nb\rc"), "a\r\nb\\rc");
        assert_eq!(value("é\u{1b}é"), "é\\u{1b}é");
        assert!(matches!(value("openai/gpt-5.4-pro é"), Cow::Borrowed(_)));
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
