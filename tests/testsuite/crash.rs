//! Issue 6, the rows about time: the file changing on disk while the tool
//! works, two runs at once, and the process killed at every point of the
//! write. Made deterministic with the failpoints in `src/fs.rs`:
//! `OMINIGATE_CODEX_FAILPOINT=<point>[:<file>]` aborts the process there,
//! `pause:<point>[:<file>]` stops it there until the test lets it go on.

use std::path::PathBuf;
use std::time::Duration;

use crate::harness::*;

const STATE: &str = "ominigate-codex.state.json";
const PROFILE: &str = "ominigate.config.toml";
const BACKUP: &str = "config.toml.ominigate.bak";

// --- the file changes on disk between read and write -------------------------

/// Pause a run at `point`, let `change` act on the sandbox, resume: the run
/// must refuse, keep what `change` did, and write nothing of its own.
fn changed_on_disk(
    setup: impl Fn(&Sandbox),
    args: &[&str],
    point: &str,
    change: impl Fn(&Sandbox),
    changed: &str,
) {
    let sb = Sandbox::new();
    setup(&sb);
    let paused = sb.spawn_paused(args, point);
    change(&sb);
    let expected = sb.tree();
    let out = paused.resume(&sb);
    out.assert_code(REFUSED)
        .assert_stderr_has(&format!("{changed} changed on disk"))
        .assert_stderr_has("nothing was written");
    assert_same_tree(&expected, &sb.tree());
    assert_no_temps(sb.root());
}

#[test]
fn a_config_changed_after_it_was_read_is_not_clobbered() {
    for era in ERAS {
        let setup = |sb: &Sandbox| sb.write_config(RICH);
        // Codex appends a project.
        changed_on_disk(
            setup,
            &install_args(era),
            "before-commit",
            |sb| append(&sb.config(), CODEX_EDIT),
            "config.toml",
        );
        // Another editor replaces the file (new inode, same name).
        changed_on_disk(
            setup,
            &install_args(era),
            "before-commit",
            |sb| {
                let tmp = sb.codex_home().join("editor.tmp");
                std::fs::write(&tmp, format!("{RICH}# edited\n")).unwrap();
                std::fs::rename(&tmp, sb.config()).unwrap();
            },
            "config.toml",
        );
        // The user deletes it.
        changed_on_disk(
            setup,
            &install_args(era),
            "before-commit",
            |sb| std::fs::remove_file(sb.config()).unwrap(),
            "config.toml",
        );
        // It becomes a symlink to a file with the same bytes.
        changed_on_disk(
            setup,
            &install_args(era),
            "before-commit",
            |sb| {
                let real = sb.root().join("real.toml");
                std::fs::write(&real, RICH).unwrap();
                std::fs::remove_file(sb.config()).unwrap();
                std::os::unix::fs::symlink(&real, sb.config()).unwrap();
            },
            "config.toml",
        );
        // A config.toml appears where there was none.
        changed_on_disk(
            |sb: &Sandbox| std::fs::create_dir_all(sb.codex_home()).unwrap(),
            &install_args(era),
            "before-commit",
            |sb| std::fs::write(sb.config(), "model = \"mine\"\n").unwrap(),
            "config.toml",
        );
    }
}

#[test]
fn a_change_during_uninstall_is_not_clobbered() {
    for era in ERAS {
        let setup = |sb: &Sandbox| {
            sb.write_config(RICH);
            sb.install(era);
        };
        changed_on_disk(
            setup,
            &["uninstall"],
            "before-commit",
            |sb| append(&sb.config(), CODEX_EDIT),
            "config.toml",
        );
    }
    // The profile file (Codex 0.134+) is watched the same way.
    changed_on_disk(
        |sb: &Sandbox| {
            sb.write_config(RICH);
            sb.install("0.169.0");
        },
        &["uninstall"],
        "before-commit",
        |sb| append(&sb.profile_file(), "model_reasoning_effort = \"high\"\n"),
        PROFILE,
    );
    changed_on_disk(
        |sb: &Sandbox| sb.write_config(RICH),
        &install_args("0.169.0"),
        "before-commit",
        |sb| std::fs::write(sb.profile_file(), "model = \"mine\"\n").unwrap(),
        PROFILE,
    );
}

#[test]
fn a_change_while_the_first_file_is_being_written_is_not_clobbered() {
    // The check is repeated right before each file: a config.toml changed
    // after the run wrote its first file is still caught, and the first
    // file is put back.
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let before = sb.tree();
        let paused = sb.spawn_paused(&install_args(era), &format!("between-files:{STATE}"));
        append(&sb.config(), CODEX_EDIT);
        let out = paused.resume(&sb);
        out.assert_code(REFUSED)
            .assert_stderr_has("config.toml changed on disk");
        let after = sb.tree();
        assert_eq!(
            sb.read_config(),
            format!("{RICH}{CODEX_EDIT}").as_bytes(),
            "{era}: Codex's edit was lost"
        );
        assert!(
            !sb.state_file().exists(),
            "{era}: the state file was not rolled back"
        );
        assert!(!sb.backup().exists() && !sb.profile_file().exists());
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>()
        );
        assert_no_temps(sb.root());
    }
}

// --- two runs at once -------------------------------------------------------

/// The files after a plain sequential run of `args` on RICH.
fn reference(args: &[&[&str]]) -> Vec<Option<String>> {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    for a in args {
        sb.expect(a, OK);
    }
    outcome(&sb)
}

/// config.toml, the profile file and the state file (`None`: absent), as
/// text so that a failed comparison is readable.
fn outcome(sb: &Sandbox) -> Vec<Option<String>> {
    [sb.config(), sb.profile_file(), sb.state_file()]
        .iter()
        .map(|p| sb.read(p).map(|b| String::from_utf8_lossy(&b).into_owned()))
        .collect()
}

#[test]
fn a_second_run_waits_for_the_first_one_lock() {
    for era in ERAS {
        let install = install_args(era);
        let installed = reference(&[&install]);
        let original = reference(&[]);

        // Two installs: the second waits on the lock, then finds it done.
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let mut first = sb.spawn_paused(&install, "before-commit");
        let second = sb.spawn(&install);
        std::thread::sleep(Duration::from_millis(300));
        assert!(first.is_running());
        let mut second = second;
        assert!(
            second.try_wait().unwrap().is_none(),
            "{era}: the second install did not wait for the lock"
        );
        first.resume(&sb).assert_code(OK);
        sb.wait(second)
            .assert_code(OK)
            .assert_stdout_has("already installed");
        assert_eq!(outcome(&sb), installed, "{era}");

        // install racing uninstall: uninstall waits, then removes it all.
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let first = sb.spawn_paused(&install, "before-commit");
        let mut second = sb.spawn(&["uninstall"]);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            second.try_wait().unwrap().is_none(),
            "{era}: uninstall did not wait for the lock"
        );
        first.resume(&sb).assert_code(OK);
        sb.wait(second).assert_code(OK);
        assert_eq!(outcome(&sb), original, "{era}");
        assert_no_temps(sb.root());

        // uninstall racing install: install waits, then installs.
        let sb = Sandbox::new();
        sb.write_config(RICH);
        sb.install(era);
        let first = sb.spawn_paused(&["uninstall"], "before-commit");
        let second = sb.spawn(&install);
        first.resume(&sb).assert_code(OK);
        sb.wait(second).assert_code(OK);
        assert_eq!(outcome(&sb), installed, "{era}");
    }
}

#[test]
fn many_installs_and_uninstalls_at_once_end_in_a_valid_state() {
    for era in ERAS {
        let installed = reference(&[&install_args(era)]);
        let original = reference(&[]);
        let sb = Sandbox::new();
        sb.write_config(RICH);
        for round in 0..3 {
            let children: Vec<_> = (0..8)
                .map(|i| {
                    if (i + round) % 2 == 0 {
                        sb.spawn(&install_args(era))
                    } else {
                        sb.spawn(&["uninstall"])
                    }
                })
                .collect();
            for child in children {
                sb.wait(child).assert_code(OK);
            }
            let now = outcome(&sb);
            assert!(
                now == installed || now == original,
                "{era} round {round}: not a valid outcome: {now:#?}"
            );
            assert_no_temps(sb.root());
        }
        sb.uninstall();
        assert_eq!(sb.read_config(), RICH.as_bytes());
    }
}

// --- the process killed at every point of the write ---------------------------

/// Every point at which a run of `args` can die, for a sandbox in the state
/// `setup` leaves. Each one must be reached (the run must abort).
fn kill_points(era: &str, uninstall: bool) -> Vec<String> {
    let mut files = vec![STATE, "config.toml"];
    if era == "0.169.0" {
        files.push(PROFILE);
    }
    let mut points = vec!["before-commit".to_string()];
    for f in &files {
        let deleted = uninstall && *f != "config.toml";
        if !deleted {
            points.push(format!("before-rename:{f}"));
        }
        points.push(format!("between-files:{f}"));
    }
    // The backup of config.toml is written (renamed) before config.toml.
    points.push(format!("before-rename:{BACKUP}"));
    points
}

/// Kill a run of `args` at `point`; check what is left: every file old or
/// new, never partial; at most the one temporary file of the interrupted
/// write; then the next run finishes the job and cleans up.
fn crash_and_recover(era: &str, uninstall: bool, point: &str) {
    let args: Vec<&str> = if uninstall {
        vec!["uninstall"]
    } else {
        install_args(era)
    };
    let old = if uninstall {
        reference(&[&install_args(era)])
    } else {
        reference(&[])
    };
    let new = if uninstall {
        reference(&[&install_args(era), &["uninstall"]])
    } else {
        reference(&[&install_args(era)])
    };

    let sb = Sandbox::new();
    sb.write_config(RICH);
    if uninstall {
        sb.install(era);
    }
    let out = sb.run_env(&args, &[("OMINIGATE_CODEX_FAILPOINT", point)]);
    assert_eq!(
        out.signal,
        Some(6),
        "{era} {args:?} never reached {point}\n{}",
        out.text()
    );

    let now = outcome(&sb);
    let names = ["config.toml", PROFILE, STATE];
    for (i, name) in names.iter().enumerate() {
        assert!(
            now[i] == old[i] || now[i] == new[i],
            "{era} {args:?} killed at {point}: {name} is neither old nor new: {:?}",
            now[i]
        );
    }
    // The record is written before what it records and removed after.
    let state_new = now[2] == new[2];
    let files_new = now[0] == new[0] && now[1] == new[1];
    let files_old = now[0] == old[0] && now[1] == old[1];
    if uninstall {
        assert!(
            !state_new || files_new,
            "{era} {point}: state removed before the files"
        );
    } else {
        assert!(
            state_new || files_old,
            "{era} {point}: files written before the state"
        );
    }
    if let Some(b) = sb.read(sb.backup()) {
        assert!(
            Some(String::from_utf8_lossy(&b).into_owned()) == old[0] || b == RICH.as_bytes(),
            "{point}: the backup is partial"
        );
    }
    let temps = temps_under(sb.root());
    if point.starts_with("before-rename") {
        // The crash left the temporary file of the interrupted write.
        assert_eq!(temps.len(), 1, "{point}: {temps:?}");
        let file = point.trim_start_matches("before-rename:");
        let name = temps[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!(".{file}.ominigate-tmp.")),
            "{name}"
        );
    } else {
        assert!(temps.is_empty(), "{point}: {temps:?}");
    }

    // The next run of the same command completes it and removes the debris.
    sb.expect(&args, OK);
    assert_eq!(outcome(&sb), new, "{era} {args:?} after a crash at {point}");
    assert_no_temps(sb.root());
    if !uninstall {
        sb.install(era).assert_stdout_has("already installed");
        sb.uninstall();
    }
    assert_eq!(
        sb.read_config(),
        RICH.as_bytes(),
        "{era} {args:?}: crash at {point} then recovery lost the original"
    );
    assert!(!sb.state_file().exists() && !sb.profile_file().exists());
}

#[test]
fn install_killed_at_any_point_leaves_old_or_new_files_and_recovers() {
    for era in ERAS {
        for point in kill_points(era, false) {
            crash_and_recover(era, false, &point);
        }
    }
}

#[test]
fn uninstall_killed_at_any_point_leaves_old_or_new_files_and_recovers() {
    for era in ERAS {
        for point in kill_points(era, true) {
            crash_and_recover(era, true, &point);
        }
    }
}

#[test]
fn a_stale_temporary_file_with_this_pid_does_not_block_a_write() {
    // A crashed run's temp file named for a pid that is reused later.
    let sb = Sandbox::new();
    sb.write_config(RICH);
    let child = sb.spawn_paused(&install_args("0.169.0"), "before-commit");
    let pid = child.pid();
    for name in ["config.toml", STATE, BACKUP, PROFILE] {
        let stale: PathBuf = sb.codex_home().join(format!(".{name}.ominigate-tmp.{pid}"));
        std::fs::write(stale, "debris of a crashed run").unwrap();
    }
    child.resume(&sb).assert_code(OK);
    assert_no_temps(sb.root());
    assert_eq!(outcome(&sb), reference(&[&install_args("0.169.0")]));
}

#[test]
fn install_recognises_its_own_blocks_when_the_state_file_is_lost() {
    // config.toml synced by a dotfiles repo to a machine without the state
    // file, or the state file deleted: the blocks carry install's comment,
    // so install and then uninstall still know them as install's.
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        sb.install(era);
        let installed = outcome(&sb);
        std::fs::remove_file(sb.state_file()).unwrap();
        sb.install(era).assert_stdout_has("already installed");
        assert_eq!(outcome(&sb)[..2], installed[..2], "{era}");
        sb.uninstall();
        assert_eq!(outcome(&sb), reference(&[]), "{era}");
    }
}
