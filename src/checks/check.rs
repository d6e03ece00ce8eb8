//! One check's result, how results add up, and keeping secrets out of them.

use serde::Serialize;

use crate::shown::{self, Secrets};

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

/// Every string of every check as it may be shown: secrets masked, then
/// unsafe characters escaped (a detail of several lines becomes several
/// details, so that no value can forge a line of its own).
pub fn sanitize_all(checks: &mut [Check], secrets: &Secrets) {
    let clean = |s: &str| shown::value(&secrets.redact(s)).into_owned();
    for c in checks {
        c.summary = clean(&c.summary);
        c.details = c
            .details
            .iter()
            .flat_map(|d| d.split('\n'))
            .map(clean)
            .collect();
        for line in c.remediation.iter_mut() {
            *line = clean(line);
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
    fn sanitize_masks_and_escapes_every_string() {
        let secrets = Secrets::new(["sk-omg-CANARY-7f3a9c2e1d"]);
        let mut checks = vec![
            Check::fail("x", "sk-omg-CANARY-7f3a9c2e1d \u{1b}]0;t\u{7}")
                .detail("d SK-OMG-CANARY-7F3A9C2E1\nsecond line")
                .fix("f omg-CANARY-7f3"),
        ];
        sanitize_all(&mut checks, &secrets);
        let json = serde_json::to_string(&checks).unwrap();
        assert!(!json.to_lowercase().contains("canary"), "{json}");
        assert_eq!(checks[0].summary, "sk-o…2e1d \\u{1b}]0;t\\u{7}");
        assert_eq!(checks[0].details, ["d sk-o…2e1d", "second line"]);
    }
}
