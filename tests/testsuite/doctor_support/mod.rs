//! Helpers for the doctor tests: running doctor in a sandbox and reading
//! its JSON report. The fake `codex` and the loopback server live in
//! `support`, shared with the other CLI tests.
#![allow(dead_code)]
// Re-exported for the test files that use this module; not every one uses each.
#![allow(unused_imports)]

use std::path::PathBuf;

use serde_json::Value;

pub use crate::support::fake_codex::*;
pub use crate::support::server::*;
pub use crate::support::tree;
use crate::support::{Sandbox, assert_no_canary_in_text};

/// What one doctor run printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// The sandbox's pretend `/etc/codex/config.toml` and working directory.
pub fn system_config(sb: &Sandbox) -> PathBuf {
    sb.system_config()
}

pub fn work_dir(sb: &Sandbox) -> PathBuf {
    sb.work_dir()
}

/// Run `doctor args…` in the sandbox (HOME, PATH, cwd, system config all
/// inside it) with extra environment; checks the key never shows.
pub fn doctor_env(sb: &Sandbox, args: &[&str], env: &[(&str, &str)], unset: &[&str]) -> Run {
    let mut cmd = sb.cmd();
    cmd.arg("doctor").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("run doctor");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_canary_in_text(&run.stdout);
    assert_no_canary_in_text(&run.stderr);
    run
}

pub fn doctor(sb: &Sandbox, args: &[&str]) -> Run {
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
