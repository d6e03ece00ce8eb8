//! Conventions every subcommand follows: quiet exit on a closed pipe.

mod support;

use std::process::{Output, Stdio};

use support::{Sandbox, assert_no_canary_in_text};

/// Run `args` with stdout a pipe whose reader is already gone, so the
/// first write fails with EPIPE: `ominigate-codex man | head -1` without
/// the race (a reader that reads first may get the whole output before
/// closing, and then nothing is tested).
fn into_closed_pipe(sb: &Sandbox, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = sb
        .std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run");
    assert_no_canary_in_text(&String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let sb = Sandbox::new();
    for args in [
        &["man"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["--help"],
        &["doctor", "--offline"],
        &["doctor", "--offline", "--json"],
        &["install", "--codex-version", "0.169.0", "--dry-run"],
    ] {
        let out = into_closed_pipe(&sb, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn a_closed_pipe_does_not_stop_install_half_way() {
    let sb = Sandbox::new();
    let out = into_closed_pipe(&sb, &["install", "--codex-version", "0.169.0"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(config.contains("[model_providers.ominigate]"), "{config}");
    assert!(sb.profile_file().exists());
    sb.assert_no_canary_in_files();
}
