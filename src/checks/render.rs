//! The report as people read it (grouped rows, fixes under the failing
//! ones, one summary line) and as programs read it (one JSON object).

use std::fmt::Write as _;

use serde::Serialize;

use super::check::{Check, Status, counts, overall};
use crate::report::SCHEMA_VERSION;

#[derive(Debug, Clone)]
pub struct Report {
    pub home: String,
    /// This tool as the user runs it on this home, for the summary line.
    pub me: String,
    pub codex_version: Option<String>,
    pub checks: Vec<Check>,
}

/// Unicode marks and colour (a terminal without NO_COLOR), or plain ASCII;
/// with `verbose`, the details of passing and skipped checks too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub fancy: bool,
    pub verbose: bool,
}

impl Style {
    /// Fancy only when stdout is a terminal and NO_COLOR is unset or empty.
    pub fn detect(is_terminal: bool, no_color: Option<&str>) -> Style {
        Style {
            fancy: is_terminal && no_color.is_none_or(str::is_empty),
            verbose: false,
        }
    }

    fn mark(self, s: Status) -> String {
        let (fancy, ascii, colour) = match s {
            Status::Ok => ("✓", "[ok]", "32"),
            Status::Warn => ("!", "[!!]", "33"),
            Status::Fail => ("✗", "[xx]", "31"),
            Status::Skip => ("-", "[--]", "2"),
        };
        if self.fancy {
            format!("\x1b[{colour}m{fancy}\x1b[0m")
        } else {
            ascii.to_string()
        }
    }

    /// Text as this style can show it: `→` is `->` in ASCII.
    fn text(self, text: &str) -> String {
        if self.fancy {
            text.to_string()
        } else {
            text.replace('→', "->")
        }
    }

    fn bold(self, text: &str) -> String {
        if self.fancy {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Which group a check id belongs to.
fn group(id: &str) -> &'static str {
    match id.split('.').next().unwrap_or_default() {
        "codex" => "Codex",
        "env" => "Environment",
        "endpoint" | "bridge" => "Gateway",
        _ => "Config",
    }
}

/// A check's details, then its fixes as `fix: …`: the lines under its row.
fn body(c: &Check) -> impl Iterator<Item = String> + '_ {
    c.details
        .iter()
        .cloned()
        .chain(c.remediation.iter().map(|f| format!("fix: {f}")))
}

/// One failing check as other commands print it, in doctor's words:
/// `id: summary`, then the lines doctor shows under its row, indented.
pub fn finding(c: &Check) -> String {
    let mut text = format!("{}: {}", c.id, c.summary);
    for line in body(c) {
        text.push_str("\n  ");
        text.push_str(&line);
    }
    text
}

pub fn human(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Codex home: {}", report.home);
    let mut current = "";
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    let indent = if style.fancy { 4 } else { 7 };
    let pad = " ".repeat(indent);
    for c in &report.checks {
        let g = group(c.id);
        if g != current {
            let _ = writeln!(out, "\n{}", style.bold(g));
            current = g;
        }
        let _ = writeln!(
            out,
            "  {} {:<width$}  {}",
            style.mark(c.status),
            c.id,
            style.text(&c.summary)
        );
        if style.verbose || matches!(c.status, Status::Warn | Status::Fail) {
            for line in body(c) {
                let _ = writeln!(out, "{pad}{}", style.text(&line));
            }
        }
    }
    let (ok, warn, fail, skip) = counts(&report.checks);
    let verdict = match overall(&report.checks) {
        Status::Fail => &format!(
            "fix the failures above, then run `{} doctor` again",
            report.me
        ),
        Status::Warn => "no failures; see the warnings above",
        _ => "no problems found",
    };
    let _ = writeln!(
        out,
        "\n{ok} ok, {warn} warning{}, {fail} failed, {skip} skipped: {verdict}",
        if warn == 1 { "" } else { "s" }
    );
    out
}

#[derive(Serialize)]
struct DoctorJson<'a> {
    schema_version: u32,
    overall: Status,
    codex_version: Option<&'a str>,
    checks: &'a [Check],
}

pub fn json(report: &Report) -> String {
    let doc = DoctorJson {
        schema_version: SCHEMA_VERSION,
        overall: overall(&report.checks),
        codex_version: report.codex_version.as_deref(),
        checks: &report.checks,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            home: "/h (--codex-home)".into(),
            me: "ominigate-codex".into(),
            codex_version: Some("0.169.0".into()),
            checks: vec![
                Check::ok("codex.binary", "Codex 0.169.0 at /bin/codex").detail("hidden when ok"),
                Check::fail("config.parse", "broken")
                    .detail("/h/config.toml:2:5: invalid TOML")
                    .fix("fix line 2"),
                Check::ok("resolution", "`codex` → openai"),
                Check::warn("env.openai_conflict", "OPENAI_API_KEY set")
                    .fix("unset OPENAI_API_KEY"),
                Check::skip("endpoint.models", "skipped: --offline"),
            ],
        }
    }

    #[test]
    fn ascii_rows_are_grouped_with_fixes_under_the_failing_ones() {
        let text = human(&report(), Style::detect(false, None));
        assert!(!text.contains('\x1b'));
        assert!(text.contains("\nCodex\n  [ok] codex.binary"), "{text}");
        assert!(text.contains("\nConfig\n  [xx] config.parse"), "{text}");
        assert!(text.contains("       fix: fix line 2"), "{text}");
        assert!(
            text.contains("\nEnvironment\n  [!!] env.openai_conflict"),
            "{text}"
        );
        assert!(text.contains("\nGateway\n  [--] endpoint.models"), "{text}");
        assert!(!text.contains("hidden when ok"));
        assert!(text.contains("`codex` -> openai"), "{text}");
        assert!(text.ends_with("2 ok, 1 warning, 1 failed, 1 skipped: fix the failures above, then run `ominigate-codex doctor` again\n"), "{text}");
    }

    #[test]
    fn fancy_only_on_a_terminal_without_no_color() {
        assert!(Style::detect(true, None).fancy);
        assert!(Style::detect(true, Some("")).fancy);
        assert!(!Style::detect(true, Some("1")).fancy);
        assert!(!Style::detect(false, None).fancy);
        let text = human(
            &report(),
            Style {
                fancy: true,
                verbose: true,
            },
        );
        assert!(text.contains("    hidden when ok"), "{text}");
        assert!(text.contains("\x1b[32m✓\x1b[0m codex.binary"), "{text}");
        assert!(text.contains("\x1b[31m✗\x1b[0m config.parse"), "{text}");
        assert!(
            text.contains("\x1b[33m!\x1b[0m env.openai_conflict"),
            "{text}"
        );
    }

    #[test]
    fn json_has_the_schema() {
        let v: serde_json::Value = serde_json::from_str(&json(&report())).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["overall"], "fail");
        assert_eq!(v["codex_version"], "0.169.0");
        let first = &v["checks"][0];
        for key in ["id", "status", "summary", "details", "remediation"] {
            assert!(first.get(key).is_some(), "{key}");
        }
        assert_eq!(v["checks"][4]["status"], "skip");
        assert_eq!(v["checks"][2]["summary"], "`codex` → openai");
    }
}
