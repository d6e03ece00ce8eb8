//! Issue 15, items 4 and 6, as rows of the fault matrix: uninstall and the
//! settings it would break in other files Codex reads, and what the user
//! added inside the blocks it removes.
//!
//! Each row asserts the outcome and the exact bytes and modes of every file
//! under the sandbox (see `harness`); every run checks the canary key.

use crate::harness::*;

/// Item 4: on Codex 0.134+ `NAME.config.toml` with `model_provider =
/// "ominigate"` is a profile that selects the provider; uninstall refuses
/// (exit 4), names the file and line, and touches nothing; `--force` goes on.
#[test]
fn another_profile_file_selecting_the_provider_refuses_uninstall() {
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    sb.install("0.169.0");
    let work = sb.codex_home().join("work.config.toml");
    std::fs::write(
        &work,
        "# mine\nmodel = \"m\"\nmodel_provider = \"ominigate\"\n",
    )
    .unwrap();
    let before = sb.tree();
    let out = sb.expect(&["uninstall"], REFUSED);
    out.assert_stderr_has(&format!(
        "{}:3 (`model_provider = \"ominigate\"`)",
        work.display()
    ));
    out.assert_stderr_has("--force");
    assert_same_tree(&before, &sb.tree());

    sb.expect(&["uninstall", "--force"], OK);
    assert_eq!(sb.read_config(), b"a = 1\n");
    assert_eq!(
        std::fs::read(&work).unwrap(),
        b"# mine\nmodel = \"m\"\nmodel_provider = \"ominigate\"\n",
        "the other profile is the user's: left as it is"
    );
}

/// Item 6: what the user added inside a block install wrote goes with the
/// block, each named on a line of its own; the backup holds the file as it
/// was, byte for byte.
#[test]
fn additions_inside_a_removed_block_are_named_and_kept_in_the_backup() {
    // The eras with the profile table in config.toml.
    for era in ERAS.into_iter().filter(|e| *e != "0.169.0") {
        additions_are_named(era);
    }
}

fn additions_are_named(era: &str) {
    let sb = Sandbox::new();
    sb.write_config("a = 1\r\n");
    sb.install(era);
    let installed = String::from_utf8(sb.read_config()).unwrap();
    let edited = installed.replace(
        "[profiles.ominigate]\r\n",
        "[profiles.ominigate] # for work\r\nmodel_reasoning_effort = \"high\"\r\n",
    ) + "\r\n[model_providers.ominigate.http_headers]\r\nX-Team = \"core\"\r\n";
    std::fs::write(sb.config(), &edited).unwrap();
    let out = sb.uninstall();
    assert_eq!(sb.read_config(), b"a = 1\r\n");
    for line in [
        "  removed [profiles.ominigate], with what you had added in it:",
        "    comment `# for work`",
        "    extra key `model_reasoning_effort`",
        "  removed [model_providers.ominigate], with what you had added in it:",
        "    sub-table [model_providers.ominigate.http_headers]",
    ] {
        assert!(
            out.stdout.lines().any(|l| l == line),
            "{line:?} in:\n{}",
            out.text()
        );
    }
    assert_eq!(std::fs::read(sb.backup()).unwrap(), edited.as_bytes());
    out.assert_stdout_has(&format!(
        "the file as it was before this uninstall, with them, is in {}",
        sb.backup().display()
    ));
}

/// Item 6 and item 2 together: a comment holding the key, inside a block
/// uninstall removes, is named masked. The key here is the value of the
/// variable the provider names (not the default one), and appears in none
/// of the output, whole or as a run of 8 of its characters.
#[test]
fn a_removed_comment_holding_the_key_is_named_masked() {
    const KEY: &str = "sk-omg-MINE-3b8e1f6a2c9d";
    let sb = Sandbox::new();
    sb.write_config("a = 1\n");
    sb.expect(
        &[
            "install",
            "--codex-version",
            "0.133.0",
            "--env-key",
            "MY_GATEWAY_KEY",
        ],
        OK,
    );
    let installed = String::from_utf8(sb.read_config()).unwrap();
    let edited = installed.replace(
        "[profiles.ominigate]\n",
        &format!("[profiles.ominigate]\n# my key is {KEY}\n"),
    );
    assert_ne!(edited, installed);
    std::fs::write(sb.config(), &edited).unwrap();
    let out = sb.run_env(&["uninstall"], &[("MY_GATEWAY_KEY", KEY)]);
    out.assert_code(OK);
    out.assert_stdout_has("    comment `# my key is sk-o\u{2026}2c9d`");
    let text = out.text().to_lowercase();
    for run in KEY.to_lowercase().as_bytes().windows(8) {
        let run = std::str::from_utf8(run).unwrap();
        assert!(
            !text.contains(run),
            "{run:?} of the key in:\n{}",
            out.text()
        );
    }
}
