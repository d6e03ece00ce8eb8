//! Issue 6, the rows about the file system: what `config.toml` is (a
//! directory, a FIFO, symlinks of every kind), what may not be written
//! (read-only file, directory or Codex home, a full disk), and the
//! permission bits and owner of what is written.
//!
//! Mode bits do not bind root, so the permission cases run as `nobody`
//! through `setpriv` when the suite runs as root (see `Sandbox::
//! run_unprivileged`); root itself is checked against a read-only mount.

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;
use std::process::Command;

use crate::harness::*;

fn mkfifo(path: &Path) {
    let ok = Command::new(tool("mkfifo"))
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", path.display());
}

// --- what config.toml is ----------------------------------------------------

#[test]
fn a_directory_is_refused_and_left_alone() {
    for args in [
        install_args("0.169.0"),
        install_args("0.94.0"),
        vec!["uninstall"],
    ] {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.config()).unwrap();
        std::fs::write(sb.config().join("inside"), "x").unwrap();
        let before = sb.tree();
        sb.expect(&args, REFUSED)
            .assert_stderr_has(&format!("{} is a directory", sb.config().display()));
        assert_same_tree(&before, &sb.tree());
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    // Nobody ever writes to these FIFOs: opening one for reading would hang
    // until the run's timeout fails the test.
    for (file, args) in [
        ("config.toml", install_args("0.169.0")),
        ("config.toml", vec!["uninstall"]),
        ("ominigate.config.toml", install_args("0.169.0")),
        ("ominigate-codex.state.json", install_args("0.133.0")),
    ] {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.codex_home()).unwrap();
        if file != "config.toml" {
            sb.write_config(RICH);
        }
        let fifo = sb.codex_home().join(file);
        mkfifo(&fifo);
        let before = sb.tree();
        sb.expect(&args, REFUSED)
            .assert_stderr_has(&format!("{} is not a regular file", fifo.display()));
        assert_same_tree(&before, &sb.tree());
    }
}

#[test]
fn a_symlink_loop_is_refused() {
    for make in [
        // config.toml -> config.toml
        &|sb: &Sandbox| symlink("config.toml", sb.config()).unwrap() as (),
        // config.toml -> a -> b -> config.toml
        &|sb: &Sandbox| {
            symlink("a", sb.config()).unwrap();
            symlink("b", sb.codex_home().join("a")).unwrap();
            symlink(sb.config(), sb.codex_home().join("b")).unwrap();
        },
    ] as [&dyn Fn(&Sandbox); 2]
    {
        for args in [install_args("0.169.0"), vec!["uninstall"]] {
            let sb = Sandbox::new();
            std::fs::create_dir_all(sb.codex_home()).unwrap();
            make(&sb);
            let before = sb.tree();
            sb.expect(&args, REFUSED)
                .assert_stderr_has(&format!("{} is a symlink loop", sb.config().display()));
            assert_same_tree(&before, &sb.tree());
        }
    }
}

/// A dotfiles layout: `codex/config.toml` is a symlink (chain) into
/// `dotfiles/`. Install writes through to the final file, keeps every link,
/// keeps the file's mode; uninstall gives the file back byte for byte.
fn write_through(links: &[(&str, &str)], real: &str) {
    for era in ERAS {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.codex_home()).unwrap();
        std::fs::create_dir_all(sb.root().join("dotfiles/codex")).unwrap();
        std::fs::create_dir_all(sb.root().join("links")).unwrap();
        let real_path = sb.root().join(real);
        std::fs::write(&real_path, RICH).unwrap();
        set_mode(&real_path, 0o640);
        for (link, target) in links {
            symlink(target, sb.root().join(link)).unwrap();
        }
        let link_targets = |sb: &Sandbox| -> Vec<_> {
            links
                .iter()
                .map(|(l, _)| std::fs::read_link(sb.root().join(l)).unwrap())
                .collect()
        };
        let kept = link_targets(&sb);

        sb.install(era);
        assert_eq!(link_targets(&sb), kept, "links replaced");
        let installed = std::fs::read_to_string(&real_path).unwrap();
        assert!(installed.starts_with(RICH), "{installed}");
        assert!(installed.contains("[model_providers.ominigate]"));
        assert_eq!(mode(&real_path), 0o640);
        // The backup sits beside the link the user knows.
        assert_eq!(sb.read(sb.backup()).as_deref(), Some(RICH.as_bytes()));
        assert!(!std::fs::symlink_metadata(sb.backup()).unwrap().is_symlink());
        sb.install(era).assert_stdout_has("already installed");

        sb.uninstall();
        assert_eq!(link_targets(&sb), kept, "links replaced");
        assert_eq!(std::fs::read(&real_path).unwrap(), RICH.as_bytes(), "{era}");
        assert_eq!(mode(&real_path), 0o640);
        assert!(!sb.state_file().exists() && !sb.profile_file().exists());
    }
}

#[test]
fn a_relative_symlink_is_written_through() {
    write_through(
        &[("codex/config.toml", "../dotfiles/codex/config.toml")],
        "dotfiles/codex/config.toml",
    );
}

#[test]
fn an_absolute_symlink_is_written_through() {
    // Absolute targets depend on the sandbox path: built per sandbox.
    for era in ERAS {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.codex_home()).unwrap();
        std::fs::create_dir_all(sb.root().join("dotfiles")).unwrap();
        let real = sb.root().join("dotfiles/config.toml");
        std::fs::write(&real, RICH).unwrap();
        symlink(&real, sb.config()).unwrap();
        sb.install(era);
        assert_eq!(std::fs::read_link(sb.config()).unwrap(), real);
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("[model_providers.ominigate]")
        );
        sb.uninstall();
        assert_eq!(std::fs::read_link(sb.config()).unwrap(), real);
        assert_eq!(std::fs::read(&real).unwrap(), RICH.as_bytes());
    }
}

#[test]
fn a_symlink_chain_is_written_through_to_the_last_target() {
    // Each relative link is relative to its own directory.
    write_through(
        &[
            ("codex/config.toml", "../links/one"),
            ("links/one", "two"),
            ("links/two", "../dotfiles/codex/../codex/real.toml"),
        ],
        "dotfiles/codex/real.toml",
    );
}

#[test]
fn a_dangling_symlink_creates_its_target_and_keeps_the_link() {
    for era in ERAS {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.codex_home()).unwrap();
        std::fs::create_dir_all(sb.root().join("dotfiles")).unwrap();
        symlink("../dotfiles/config.toml", sb.config()).unwrap();
        sb.install(era);
        let real = sb.root().join("dotfiles/config.toml");
        assert_eq!(
            std::fs::read_link(sb.config()).unwrap(),
            Path::new("../dotfiles/config.toml")
        );
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("[model_providers.ominigate]")
        );
        assert_eq!(mode(&real), 0o600, "a new file is 0600");
        assert!(!sb.backup().exists(), "nothing to back up");
        sb.uninstall();
        // The file did not exist: uninstall leaves it empty, link in place.
        assert_eq!(std::fs::read(&real).unwrap(), b"");
        assert!(std::fs::symlink_metadata(sb.config()).unwrap().is_symlink());
    }
}

#[test]
fn a_dangling_symlink_into_a_missing_directory_fails_and_writes_nothing() {
    for era in ERAS {
        let sb = Sandbox::new();
        std::fs::create_dir_all(sb.codex_home()).unwrap();
        symlink("../no/such/dir/config.toml", sb.config()).unwrap();
        let before = sb.tree();
        sb.expect(&install_args(era), FAILURE)
            .assert_stderr_has(&format!("cannot write {}", sb.config().display()));
        // The state file written before config.toml was rolled back.
        assert_same_tree(&before, &sb.tree());
    }
}

// --- what may not be written --------------------------------------------------

/// Run `args` as an unprivileged user against a sandbox that `setup`
/// prepared (as the sandbox owner), expecting `code` and no change at all.
/// Returns `None` when only root is available (mode bits do not bind it).
fn unprivileged_untouched(
    setup: impl Fn(&Sandbox),
    args: &[&str],
    code: i32,
) -> Option<(Sandbox, Out)> {
    let sb = Sandbox::new();
    setup(&sb);
    if Privilege::get() == Privilege::RootWithSetpriv {
        sb.give_to_nobody();
    }
    let before = sb.tree();
    let out = sb.run_unprivileged(args)?;
    out.assert_code(code);
    assert_same_tree(&before, &sb.tree());
    Some((sb, out))
}

fn config_with_mode(sb: &Sandbox, file_mode: u32, dir_mode: u32) {
    sb.write_config(RICH);
    set_mode(&sb.config(), file_mode);
    set_mode(&sb.codex_home(), dir_mode);
}

#[test]
fn a_read_only_config_is_refused() {
    for era in ERAS {
        for file_mode in [0o444, 0o400, 0o440] {
            let setup = |sb: &Sandbox| config_with_mode(sb, file_mode, 0o700);
            match unprivileged_untouched(setup, &install_args(era), REFUSED) {
                Some((sb, out)) => {
                    out.assert_stderr_has(&format!("{} is read-only", sb.config().display()));
                }
                None => {
                    // Root without setpriv: root is refused a file without
                    // write bits too (issue 15), as the README promises.
                    let sb = Sandbox::new();
                    config_with_mode(&sb, file_mode, 0o700);
                    let before = sb.tree();
                    sb.expect(&install_args(era), REFUSED)
                        .assert_stderr_has("is read-only");
                    assert_same_tree(&before, &sb.tree());
                }
            }
        }
    }
}

#[test]
fn a_read_only_profile_file_is_refused_on_uninstall() {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    if Privilege::get() == Privilege::RootWithSetpriv {
        sb.give_to_nobody();
    }
    if sb.run_unprivileged(&install_args("0.169.0")).is_none() {
        return; // root only: nothing binds; covered by the read-only mount test
    }
    set_mode(&sb.profile_file(), 0o400);
    let before = sb.tree();
    sb.run_unprivileged(&["uninstall"])
        .unwrap()
        .assert_code(REFUSED)
        .assert_stderr_has(&format!("{} is read-only", sb.profile_file().display()));
    assert_same_tree(&before, &sb.tree());
}

#[test]
fn a_read_only_codex_home_fails_cleanly() {
    for era in ERAS {
        // The lock is taken on the directory itself, so the first file
        // write (the record) fails: nothing written, nothing left behind.
        let setup = |sb: &Sandbox| config_with_mode(sb, 0o600, 0o500);
        if let Some((sb, out)) = unprivileged_untouched(setup, &install_args(era), FAILURE) {
            out.assert_stderr_has(&format!(
                "cannot write {}",
                sb.codex_home().join("ominigate-codex.state.json").display()
            ))
            .assert_stderr_has("Permission denied");
        }
    }
}

#[test]
fn a_codex_home_that_cannot_be_created_fails_cleanly() {
    // --codex-home under a directory nobody may write to.
    let setup = |sb: &Sandbox| set_mode(sb.root(), 0o555);
    let out = unprivileged_untouched(setup, &install_args("0.169.0"), FAILURE);
    if let Some((sb, out)) = out {
        out.assert_stderr_has(&format!("cannot create {}", sb.codex_home().display()));
        assert!(!sb.codex_home().exists());
        set_mode(sb.root(), 0o755);
    }
}

#[test]
#[ignore = "needs root that may mount a tmpfs; run as root with --ignored"]
fn a_config_on_a_read_only_mount_is_refused_even_for_root() {
    // Root ignores mode bits but not a read-only file system: a config.toml
    // symlinked into one (home-manager links it into /nix/store) is refused
    // before anything is written, backup and state included.
    let sb = Sandbox::new();
    let fs = mount_tmpfs(&sb.root().join("store"), "size=1m,mode=0755");
    std::fs::write(sb.root().join("store/config.toml"), RICH).unwrap();
    fs.remount("ro");
    std::fs::create_dir_all(sb.codex_home()).unwrap();
    symlink("../store/config.toml", sb.config()).unwrap();
    let before = sb.tree();
    for era in ERAS {
        sb.expect(&install_args(era), REFUSED)
            .assert_stderr_has(&format!("{} is read-only", sb.config().display()));
        assert_same_tree(&before, &sb.tree());
    }
    // A read-only Codex home: the files in it are refused as read-only.
    let sb = Sandbox::new();
    let fs = mount_tmpfs(&sb.codex_home(), "size=1m,mode=0700");
    std::fs::write(sb.config(), RICH).unwrap();
    fs.remount("ro");
    let before = sb.tree();
    sb.expect(&install_args("0.169.0"), REFUSED)
        .assert_stderr_has("is read-only")
        .assert_stderr_has("Read-only file system");
    assert_same_tree(&before, &sb.tree());
}

/// Fill `dir` (a small tmpfs) until at most `free` bytes are left.
fn fill(dir: &Path, free: u64) {
    let stat = Command::new(tool("df"))
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    let avail: u64 = String::from_utf8_lossy(&stat.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df output");
    if avail > free {
        std::fs::write(dir.join("filler"), vec![0u8; (avail - free) as usize]).unwrap();
    }
}

/// A full disk: the backup or the new file cannot be written. Nothing
/// changes, nothing is left behind, the error says what failed.
fn disk_full_case(sb: &Sandbox, era: &str, run: impl Fn(&Sandbox) -> Out) {
    let before = sb.tree();
    let out = run(sb);
    out.assert_code(FAILURE).assert_stderr_has("cannot write");
    assert!(
        out.stderr.contains("No space left on device") || out.stderr.contains("File too large"),
        "{era}: {}",
        out.stderr
    );
    assert_same_tree(&before, &sb.tree());
    assert_no_temps(sb.root());
}

/// A small tmpfs at `dir`, for the tests marked as needing root: asked for
/// where it cannot be mounted, they fail.
fn mount_tmpfs(dir: &Path, options: &str) -> Tmpfs {
    let mounted = (euid() == 0).then(|| Tmpfs::mount(dir, options)).flatten();
    crate::harness::needs(mounted, "root that may mount a tmpfs")
}

#[test]
#[ignore = "needs root that may mount a tmpfs; run as root with --ignored"]
fn a_full_disk_fails_cleanly_tmpfs() {
    // Without root, see a_full_disk_fails_cleanly_file_size_limit.
    let big = format!("{RICH}# {}\n", "x".repeat(40 * 1024));
    for era in ERAS {
        let sb = Sandbox::new();
        let _fs = mount_tmpfs(&sb.codex_home(), "size=256k,mode=0700");
        sb.write_config(&big);
        std::fs::write(sb.codex_home().join(".ominigate-codex.lock"), "").unwrap();
        // Room for the small state file but not for the backup.
        fill(&sb.codex_home(), 16 * 1024);
        disk_full_case(&sb, era, |sb| sb.output(&install_args(era)));
    }
}

#[test]
fn a_full_disk_fails_cleanly_file_size_limit() {
    // Files larger than RLIMIT_FSIZE fail with EFBIG, like a full disk; with
    // SIGXFSZ ignored the write returns the error instead of killing.
    let big = format!("{RICH}# {}\n", "x".repeat(40 * 1024));
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(&big);
        disk_full_case(&sb, era, |sb| {
            let mut cmd = Command::new(tool("sh"));
            cmd.arg("-c")
                .arg("trap '' XFSZ; exec \"$0\" --fsize=20000 -- \"$@\"")
                .arg(tool("prlimit"))
                .arg(bin())
                .arg("--codex-home")
                .arg(sb.codex_home())
                .args(install_args(era));
            sb.env(&mut cmd);
            let out = assert_cmd::Command::from_std(cmd)
                .timeout(RUN_TIMEOUT)
                .output()
                .unwrap();
            let out = Out::from(out);
            sb.assert_no_canary(&out);
            out
        });
    }
}

// --- permission bits and owner ----------------------------------------------

#[test]
fn permission_bits_are_kept_and_new_files_are_0600() {
    for era in ERAS {
        for file_mode in [0o600, 0o644, 0o640] {
            let sb = Sandbox::new();
            sb.write_config(RICH);
            set_mode(&sb.config(), file_mode);
            sb.install(era);
            assert_eq!(mode(&sb.config()), file_mode, "{era}");
            assert_eq!(
                mode(&sb.backup()),
                file_mode,
                "the backup is as private as the file"
            );
            assert_eq!(mode(&sb.state_file()), 0o600);
            if era == "0.169.0" {
                assert_eq!(mode(&sb.profile_file()), 0o600);
            }
            sb.uninstall();
            assert_eq!(mode(&sb.config()), file_mode, "{era}");
            assert_eq!(sb.read_config(), RICH.as_bytes());
        }
    }
}

#[test]
fn a_new_codex_home_is_0700_and_a_new_config_0600() {
    for era in ERAS {
        let sb = Sandbox::new();
        // Missing parents are created 0700 too, whatever the umask.
        let home = sb.root().join("a/b/codex");
        let mut cmd = Command::new(tool("sh"));
        cmd.arg("-c")
            .arg("umask 000; exec \"$0\" \"$@\"")
            .arg(bin())
            .arg("--codex-home")
            .arg(&home)
            .args(install_args(era));
        sb.env(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for dir in ["a", "a/b", "a/b/codex"] {
            assert_eq!(mode(&sb.root().join(dir)), 0o700, "{dir}");
        }
        for file in ["config.toml", "ominigate-codex.state.json"] {
            assert_eq!(mode(&home.join(file)), 0o600, "{file}");
        }
        if era == "0.169.0" {
            assert_eq!(mode(&home.join("ominigate.config.toml")), 0o600);
        }
        assert_no_canary_under(sb.root());
    }
}

#[test]
#[ignore = "needs root (to give a file to another user); run as root with --ignored"]
fn the_owner_is_kept_when_root_edits_a_users_file() {
    crate::harness::needs(
        (euid() == 0).then_some(()),
        "root, to give a file to another user",
    );
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        set_mode(&sb.config(), 0o640);
        std::os::unix::fs::chown(sb.config(), Some(NOBODY), Some(NOBODY)).unwrap();
        sb.install(era);
        let meta = std::fs::metadata(sb.config()).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), mode(&sb.config())),
            (NOBODY, NOBODY, 0o640)
        );
        sb.uninstall();
        let meta = std::fs::metadata(sb.config()).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), mode(&sb.config())),
            (NOBODY, NOBODY, 0o640)
        );
        assert_eq!(sb.read_config(), RICH.as_bytes());
    }
}

#[test]
fn an_unprivileged_user_installs_and_uninstalls_in_their_own_home() {
    // The positive control for the refusals above: the same runs as
    // nobody succeed when the files are nobody's.
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        set_mode(&sb.config(), 0o644);
        if Privilege::get() == Privilege::RootWithSetpriv {
            sb.give_to_nobody();
        }
        let Some(out) = sb.run_unprivileged(&install_args(era)) else {
            return;
        };
        out.assert_code(OK);
        sb.run_unprivileged(&["uninstall"]).unwrap().assert_code(OK);
        assert_eq!(sb.read_config(), RICH.as_bytes());
        assert_eq!(mode(&sb.config()), 0o644);
    }
}
