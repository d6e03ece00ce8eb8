//! One check's result, how results add up, and keeping secrets out of them.

use serde::Serialize;

/// A check's outcome. `Skip` means it could not or need not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub remediation: Vec<String>,
}

impl Check {
    pub fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Check {
        Check {
            id,
            status,
            summary: summary.into(),
            details: Vec::new(),
            remediation: Vec::new(),
        }
    }

    pub fn ok(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Ok, summary)
    }

    pub fn warn(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Warn, summary)
    }

    pub fn fail(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Fail, summary)
    }

    pub fn skip(id: &'static str, summary: impl Into<String>) -> Check {
        Check::new(id, Status::Skip, summary)
    }

    pub fn detail(mut self, line: impl Into<String>) -> Check {
        self.details.push(line.into());
        self
    }

    pub fn details(mut self, lines: impl IntoIterator<Item = String>) -> Check {
        self.details.extend(lines);
        self
    }

    /// Add a remediation line (once: a repeated line is dropped).
    pub fn fix(mut self, line: impl Into<String>) -> Check {
        let line = line.into();
        if !self.remediation.contains(&line) {
            self.remediation.push(line);
        }
        self
    }

    pub fn fixes(self, lines: impl IntoIterator<Item = String>) -> Check {
        lines.into_iter().fold(self, Check::fix)
    }

    /// Raise the status to at least `to` (ok < warn < fail; skip is lowest).
    pub fn at_least(mut self, to: Status) -> Check {
        self.status = worst(self.status, to);
        self
    }
}

/// The worse of two statuses (skip < ok < warn < fail).
pub fn worst(a: Status, b: Status) -> Status {
    if rank(b) > rank(a) { b } else { a }
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Skip => 0,
        Status::Ok => 1,
        Status::Warn => 2,
        Status::Fail => 3,
    }
}

/// The report's overall status: `fail` if any check fails, else `warn` if
/// any warns, else `ok` (skipped checks count as ok).
pub fn overall(checks: &[Check]) -> Status {
    let worst = checks.iter().map(|c| rank(c.status)).max().unwrap_or(1);
    match worst {
        3 => Status::Fail,
        2 => Status::Warn,
        _ => Status::Ok,
    }
}

/// How many checks have each status: (ok, warn, fail, skip).
pub fn counts(checks: &[Check]) -> (usize, usize, usize, usize) {
    let n = |s| checks.iter().filter(|c| c.status == s).count();
    (
        n(Status::Ok),
        n(Status::Warn),
        n(Status::Fail),
        n(Status::Skip),
    )
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

/// Replace every occurrence of each secret in `text` by its masked form.
/// Secrets shorter than 4 characters are too common to replace blindly
/// and are never printed by the checks in the first place.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.chars().count() >= 4) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), &mask(s));
        }
    }
    out
}

/// Apply [`redact`] to every string of every check.
pub fn redact_all(checks: &mut [Check], secrets: &[String]) {
    for c in checks {
        c.summary = redact(&c.summary, secrets);
        for line in c.details.iter_mut().chain(c.remediation.iter_mut()) {
            *line = redact(line, secrets);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_is_the_worst_status_and_skip_counts_as_ok() {
        let c = |s| Check::new("x", s, "");
        assert_eq!(overall(&[]), Status::Ok);
        assert_eq!(overall(&[c(Status::Skip)]), Status::Ok);
        assert_eq!(overall(&[c(Status::Ok), c(Status::Skip)]), Status::Ok);
        assert_eq!(overall(&[c(Status::Warn), c(Status::Ok)]), Status::Warn);
        assert_eq!(
            overall(&[c(Status::Warn), c(Status::Fail), c(Status::Skip)]),
            Status::Fail
        );
        assert_eq!(
            counts(&[c(Status::Ok), c(Status::Fail), c(Status::Fail)]),
            (1, 0, 2, 0)
        );
        assert_eq!(c(Status::Ok).at_least(Status::Warn).status, Status::Warn);
        assert_eq!(c(Status::Fail).at_least(Status::Warn).status, Status::Fail);
    }

    #[test]
    fn mask_shows_at_most_eight_characters_of_a_long_key() {
        assert_eq!(mask("sk-omg-CANARY-7f3a9c2e1d"), "sk-o…2e1d");
        assert_eq!(mask("short-key"), "…(9 characters)");
        assert_eq!(mask(""), "…(0 characters)");
        // Characters, not bytes: no panic in the middle of a code point.
        assert_eq!(mask(&"é".repeat(20)), "éééé…éééé");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let secrets = vec!["sk-omg-CANARY-7f3a9c2e1d".to_string(), "ab".to_string()];
        let text = "key sk-omg-CANARY-7f3a9c2e1d and again sk-omg-CANARY-7f3a9c2e1d; ab";
        let out = redact(text, &secrets);
        assert!(!out.contains("CANARY"), "{out}");
        assert_eq!(out.matches("sk-o…2e1d").count(), 2);
        assert!(out.ends_with("; ab"));
        let mut checks = vec![
            Check::fail("x", "sk-omg-CANARY-7f3a9c2e1d")
                .detail("d sk-omg-CANARY-7f3a9c2e1d")
                .fix("f sk-omg-CANARY-7f3a9c2e1d"),
        ];
        redact_all(&mut checks, &secrets);
        let json = serde_json::to_string(&checks).unwrap();
        assert!(!json.contains("CANARY"), "{json}");
    }
}
