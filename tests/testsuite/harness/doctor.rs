//! Doctor's runs and its JSON report, read check by check.

use serde_json::Value;

use super::{Out, Sandbox};

/// Run `doctor args…` in the sandbox with extra environment and variables
/// unset; checks the key never shows.
pub fn doctor_env(sb: &Sandbox, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Out {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let env: Vec<(&str, Option<&str>)> = env
        .iter()
        .map(|(k, v)| (*k, Some(*v)))
        .chain(unset.iter().map(|k| (*k, None)))
        .collect();
    sb.exec(&all, &env)
}

pub fn doctor(sb: &Sandbox, args: &[&str]) -> Out {
    doctor_env(sb, args, &[], &[])
}

/// `doctor --json --offline args…`, parsed.
pub fn report(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["--json", "--offline"];
    all.extend_from_slice(args);
    doctor(sb, &all).json()
}

/// One check of a JSON report.
pub fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

pub fn status<'a>(report: &'a Value, id: &str) -> &'a str {
    check(report, id)["status"].as_str().unwrap_or_default()
}

/// A check's summary, details and remediation as one text.
pub fn text(report: &Value, id: &str) -> String {
    let c = check(report, id);
    let mut out = c["summary"].as_str().unwrap_or_default().to_string();
    for key in ["details", "remediation"] {
        for line in c[key].as_array().into_iter().flatten() {
            out.push('\n');
            out.push_str(line.as_str().unwrap_or_default());
        }
    }
    out
}

/// Assert a check's status, showing the check when it differs.
#[track_caller]
pub fn assert_status(report: &Value, id: &str, want: &str) {
    assert_eq!(status(report, id), want, "{id}:\n{:#}", check(report, id));
}

/// A config written by hand, with no model catalogue: all is well but
/// `model.metadata`, which warns that Codex uses fallback metadata.
#[track_caller]
pub fn assert_ok_but_fallback_metadata(report: &Value) {
    assert_eq!(report["overall"], "warn", "{report:#}");
    assert_status(report, "model.metadata", "warn");
    for c in report["checks"].as_array().expect("checks") {
        if c["id"] != "model.metadata" {
            assert!(c["status"] == "ok" || c["status"] == "skip", "{c:#}");
        }
    }
}
