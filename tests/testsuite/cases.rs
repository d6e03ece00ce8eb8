//! Config transformations as directories a reviewer reads, one a case,
//! under `tests/testsuite/cases/<name>/`:
//!
//! - `in/`: the Codex home before (absent: no Codex home);
//! - `cmd`: the commands, run in order in one sandbox, one a line
//!   (`ominigate-codex ARGS…`, split on spaces; `--codex-home` is added);
//!   each must exit 0;
//! - `out/`: every file of the Codex home after, byte for byte;
//! - `output`: what each command printed (stdout, then stderr), the
//!   sandbox's path shown as `[ROOT]`.
//!
//! `BLESS=1 cargo test --test testsuite cases::` rewrites `out/` and
//! `output` from what the binary does; review the diff before committing it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::golden::{Golden, case_dirs};
use crate::harness::{Sandbox, cases_dir};

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Run one case; its results go to `golden`.
fn run(dir: &Path, golden: &mut Golden) {
    let sb = Sandbox::new();
    for rel in files(&dir.join("in")) {
        let to = sb.codex_home().join(&rel);
        fs::create_dir_all(to.parent().expect("parent")).expect("create dir");
        fs::copy(dir.join("in").join(&rel), &to).expect("copy input");
    }
    let cmd = fs::read_to_string(dir.join("cmd"))
        .unwrap_or_else(|e| panic!("{}/cmd: {e}", dir.display()));
    let root = sb.root().display().to_string();
    let mut output = String::new();
    for line in cmd.lines().filter(|l| !l.trim().is_empty()) {
        let args: Vec<&str> = line.split(' ').filter(|a| !a.is_empty()).collect();
        assert_eq!(
            args.first(),
            Some(&"ominigate-codex"),
            "{}/cmd: {line:?}",
            dir.display()
        );
        let out = sb.exec(&args[1..], &[]);
        assert_eq!(out.code, 0, "{}: {line}\n{}", dir.display(), out.text());
        output.push_str(&format!("$ {line}\n{}", out.all().replace(&root, "[ROOT]")));
    }
    golden.check(&dir.join("output"), output.as_bytes());
    let produced = files(&sb.codex_home());
    for rel in &produced {
        let bytes = fs::read(sb.codex_home().join(rel)).expect("read result");
        golden.check(&dir.join("out").join(rel), &bytes);
    }
    for rel in files(&dir.join("out")) {
        if !produced.contains(&rel) {
            golden.unexpected(&dir.join("out").join(rel));
        }
    }
    sb.assert_no_canary_in_files();
}

#[test]
fn case_directories() {
    let mut golden = Golden::new();
    let dirs = case_dirs(&cases_dir());
    assert!(!dirs.is_empty(), "no cases under {}", cases_dir().display());
    for dir in dirs {
        run(&dir, &mut golden);
    }
    golden.finish();
}
