//! Issue 15, the rows of the fault matrix found by an adversarial pass:
//! the key echoed by a hostile gateway or held in the config, a user's
//! last-second edit, growth past the size limit, hard links, extended
//! attributes and ACLs, ownership when root runs the tool, stale temporary
//! files, and output a terminal can trust.
//!
//! Each row asserts the outcome, and the whole Codex home: bytes, mode,
//! owner, inode, mtime and xattrs (ACLs included) of every file (see
//! `harness::tree`); every run checks that the canary key is in no output
//! and no file.

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::Path;

use crate::harness::server::{self, Server};
use crate::harness::*;

const BACKUP: &str = "config.toml.ominigate.bak";

/// No run of 8 or more consecutive characters of `key`, in any case.
#[track_caller]
fn assert_no_key_run(key: &str, text: &str) {
    let lower = text.to_lowercase();
    let chars: Vec<char> = key.to_lowercase().chars().collect();
    for w in chars.windows(8) {
        let w: String = w.iter().collect();
        assert!(!lower.contains(&w), "{w:?} of the key is shown:\n{text}");
    }
}

/// The root-only rows (marked `#[ignore]`, run by `.ci/run` as root) fail
/// rather than pass when run otherwise.
fn needs_root_with_setpriv() {
    assert_eq!(
        Privilege::get(),
        Privilege::RootWithSetpriv,
        "this row needs root with setpriv"
    );
}

/// Run `args` as nobody (root with setpriv; as is for a user): exit
/// `code`, nothing changed.
fn nobody_untouched(sb: &Sandbox, args: &[&str], code: i32) -> Out {
    let before = sb.tree();
    let out = sb.run_unprivileged(args).expect("setpriv");
    out.assert_code(code);
    assert_same_tree(&before, &sb.tree());
    out
}

// --- 1. the key echoed by the gateway ---------------------------------------

/// What a hostile gateway sends back: the key whole, cut at several
/// lengths from either end, upper-cased, and embedded in a word.
fn echoes() -> Vec<String> {
    let k = CANARY;
    let n = k.len();
    vec![
        k.to_string(),
        k[..n - 1].to_string(),
        k[..15].to_string(),
        k[..8].to_string(),
        k[n - 8..].to_string(),
        k[3..n - 3].to_string(),
        k.to_uppercase(),
        k[..n - 1].to_uppercase(),
        format!("xx{}yy", &k[2..n - 2]),
    ]
}

fn sandbox_on(server: &Server, era: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    sb.expect(
        &[
            "install",
            "--codex-version",
            era,
            "--base-url",
            &server.base_url(),
        ],
        OK,
    );
    // Install stays offline (see `Sandbox`); the commands below ask the server.
    sb.online();
    sb
}

/// Every command that shows what the gateway said, in every form.
fn echo_runs(sb: &Sandbox) -> Vec<Out> {
    let runs: [&[&str]; 6] = [
        &["doctor", "--codex-version", "0.169.0"],
        &["doctor", "--codex-version", "0.169.0", "--json"],
        &["models"],
        &["models", "--json"],
        &["models", "--live"],
        &[
            "use",
            "--codex-version",
            "0.169.0",
            "--dry-run",
            "openai/gpt-5.3-codex",
        ],
    ];
    runs.iter().map(|args| sb.output(args)).collect()
}

#[test]
fn a_key_echoed_in_an_error_message_is_masked_however_it_is_cut() {
    for echo in echoes() {
        // 185 filler characters: cutting at 200 before masking would leave
        // most of the key.
        let message = format!("{}{echo}", "x".repeat(185));
        let body = serde_json::json!({"error": {"message": message}}).to_string();
        let server = Server::start(move |_| server::reply(401, &body));
        let sb = sandbox_on(&server, "0.169.0");
        let before = sb.tree();
        for out in echo_runs(&sb) {
            assert_no_key_run(CANARY, &format!("{}{}", out.stdout, out.stderr));
        }
        assert_same_tree(&before, &sb.tree());
    }
}

#[test]
fn a_key_echoed_as_a_model_id_is_masked_in_every_listing() {
    let ids: Vec<String> = echoes()
        .into_iter()
        .map(|e| format!("vendor/{e}"))
        .chain(["openai/gpt-5.3-codex".to_string()])
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let body = server::models_body(&refs);
    let server = Server::start(move |r| match r.path.as_str() {
        "/v1/models" => server::reply(200, &body),
        _ => server::reply(400, &format!("{{\"error\": \"no model {CANARY}\"}}")),
    });
    let sb = sandbox_on(&server, "0.169.0");
    for out in echo_runs(&sb) {
        assert_no_key_run(CANARY, &format!("{}{}", out.stdout, out.stderr));
    }
    let listed = sb.expect(&["models", "--json"], OK).stdout;
    assert!(listed.contains("vendor/sk-o…"), "{listed}");
}

// --- 2. the key in the config and in flags -----------------------------------

/// Another key than the canary: it is in the user's config, so the
/// canary scan of every file would (rightly) object to the canary there.
const HELD: &str = "sk-omg-HELDKEY-4b2d9e7f1a3c";

#[test]
fn dry_run_diffs_mask_the_key_the_config_holds() {
    let config = format!(
        "[model_providers.ominigate]\nname = \"OminiGate\"\nbase_url = \"https://api.ominigate.ai/v1\"\n\
         env_key = \"OMINIGATE_API_KEY\"\n# my key: {HELD}\nexperimental_bearer_token = \"{HELD}\"\n\
         wire_api = \"chat\"\n\n[profiles.ominigate]\nmodel = \"x/y\"\nmodel_provider = \"ominigate\"\n"
    );
    for args in [
        vec!["install", "--codex-version", "0.169.0", "--dry-run"],
        vec!["uninstall", "--dry-run", "--force"],
        vec![
            "use",
            "--codex-version",
            "0.94.0",
            "--offline",
            "--dry-run",
            "a/b",
        ],
    ] {
        let sb = Sandbox::new();
        sb.write_config(&config);
        let before = sb.tree();
        let out = sb.run_env(&args, &[("OMINIGATE_API_KEY", HELD)]);
        out.assert_code(OK);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(text.contains("@@"), "{args:?}: no diff\n{text}");
        assert_no_key_run(HELD, &text);
        assert!(text.contains("sk-o…1a3c"), "{args:?}: not masked\n{text}");
        assert_same_tree(&before, &sb.tree());
    }
}

#[test]
fn an_env_key_that_looks_like_a_key_is_refused_without_echo() {
    for value in [
        CANARY,
        HELD,
        "sk-proj-0123456789abcdefABCDEF",
        &CANARY.to_uppercase(),
    ] {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let before = sb.tree();
        let out = sb.output(&["install", "--codex-version", "0.169.0", "--env-key", value]);
        out.assert_code(USAGE)
            .assert_stderr_has("not an environment variable name")
            .assert_stderr_has("looks like an API key");
        assert_no_key_run(value, &format!("{}{}", out.stdout, out.stderr));
        assert_same_tree(&before, &sb.tree());
    }
}

// --- 3. the last check, right before the rename ----------------------------

/// Change config.toml at `before-rename:config.toml` (its replacement
/// written and synced, the backup already in place): the run refuses,
/// puts back every file and backup it wrote, and keeps the edit. The Codex
/// home is then what it was before the run, with the edited config.toml.
fn edit_before_rename(setup: impl Fn(&Sandbox), args: &[&str], edit: impl Fn(&Sandbox)) {
    let sb = Sandbox::new();
    setup(&sb);
    let mut expected = sb.tree();
    let paused = sb.spawn_paused(args, "before-rename:config.toml");
    edit(&sb);
    let config = Path::new("codex/config.toml");
    expected.insert(config.into(), sb.tree()[config].clone());
    let out = paused.resume(&sb);
    out.assert_code(REFUSED)
        .assert_stderr_has("config.toml changed on disk")
        .assert_stderr_has("nothing was written");
    assert_same_tree(&expected, &sb.tree());
    assert_no_temps(sb.root());
}

#[test]
fn an_edit_after_the_last_read_but_before_the_rename_is_kept() {
    for era in ERAS {
        let fresh = |sb: &Sandbox| sb.write_config(RICH);
        // (Without install's backup: a backup put back is the same bytes
        // in a new file, see below.)
        let installed = |sb: &Sandbox| {
            sb.write_config(RICH);
            sb.install(era);
            std::fs::remove_file(sb.backup()).unwrap();
        };
        // Codex appends a project.
        edit_before_rename(fresh, &install_args(era), |sb| {
            append(&sb.config(), CODEX_EDIT)
        });
        edit_before_rename(installed, &["uninstall"], |sb| {
            append(&sb.config(), CODEX_EDIT)
        });
        // Another editor replaces the file with the same bytes (new inode).
        edit_before_rename(fresh, &install_args(era), |sb| {
            let tmp = sb.codex_home().join("editor.tmp");
            std::fs::write(&tmp, RICH).unwrap();
            std::fs::rename(&tmp, sb.config()).unwrap();
        });
    }
    // `use` rewrites config.toml on the releases with the profile table.
    edit_before_rename(
        |sb: &Sandbox| {
            sb.write_config(RICH);
            sb.install("0.94.0");
            std::fs::remove_file(sb.backup()).unwrap();
        },
        &["use", "--codex-version", "0.94.0", "--offline", "a/b"],
        |sb| append(&sb.config(), CODEX_EDIT),
    );
    // A backup from an earlier run, overwritten by the refused one, gets
    // its bytes and mode back.
    let sb = Sandbox::new();
    sb.write_config(RICH);
    sb.install("0.169.0");
    let backup = (sb.read(sb.backup()), mode(&sb.backup()));
    let paused = sb.spawn_paused(&["uninstall"], "before-rename:config.toml");
    append(&sb.config(), CODEX_EDIT);
    paused.resume(&sb).assert_code(REFUSED);
    assert_eq!((sb.read(sb.backup()), mode(&sb.backup())), backup);
}

#[test]
fn an_edit_that_keeps_size_inode_and_mtime_is_caught_by_the_bytes() {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    let mut expected = sb.tree();
    let paused = sb.spawn_paused(&install_args("0.169.0"), "before-rename:config.toml");
    // Same length, same file, and its modification time put back.
    let meta = std::fs::metadata(sb.config()).unwrap();
    let edited = RICH.replace("gpt-5", "gpt-6");
    assert_eq!(edited.len(), RICH.len());
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(sb.config())
        .unwrap();
    std::io::Write::write_all(&mut &f, edited.as_bytes()).unwrap();
    f.set_modified(meta.modified().unwrap()).unwrap();
    drop(f);
    let after = std::fs::metadata(sb.config()).unwrap();
    assert_eq!(
        (after.ino(), after.len(), after.mtime(), after.mtime_nsec()),
        (meta.ino(), meta.len(), meta.mtime(), meta.mtime_nsec())
    );
    let config = Path::new("codex/config.toml");
    expected.insert(config.into(), sb.tree()[config].clone());
    paused
        .resume(&sb)
        .assert_code(REFUSED)
        .assert_stderr_has("config.toml changed on disk");
    assert_same_tree(&expected, &sb.tree());
    assert!(!sb.backup().exists() && !sb.state_file().exists());
}

// --- 5. growth past the size limit ------------------------------------------

#[test]
fn an_install_that_would_grow_a_config_past_16_mib_is_refused() {
    let limit = 16 * 1024 * 1024;
    let mut config = RICH.to_string();
    let line = format!("# {}\n", "p".repeat(78));
    while config.len() + line.len() <= limit - 64 {
        config.push_str(&line);
    }
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(&config);
        let before = sb.tree();
        sb.expect(&install_args(era), REFUSED)
            .assert_stderr_has("over the 16 MiB")
            .assert_stderr_has("nothing was written");
        assert_same_tree(&before, &sb.tree());
    }
    // Just under the limit after the edit: installed, and undone.
    let sb = Sandbox::new();
    let small = &config[..config.len() - 4096];
    sb.write_config(small);
    sb.install("0.169.0");
    assert!(sb.read_config().len() as u64 <= limit as u64);
    let doctor = sb.output(&["doctor", "--offline", "--codex-version", "0.169.0"]);
    assert!(!doctor.stdout.contains("MiB"), "{}", doctor.stdout);
    sb.uninstall();
    assert_eq!(sb.read_config(), small.as_bytes());
}

// --- 7. hard links ----------------------------------------------------------

#[test]
fn a_hard_linked_config_is_refused_and_force_breaks_the_link() {
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        let other = sb.root().join("dotfiles-config.toml");
        std::fs::hard_link(sb.config(), &other).unwrap();
        let before = sb.tree();
        sb.expect(&install_args(era), REFUSED)
            .assert_stderr_has("has 2 names (hard links)")
            .assert_stderr_has("--force");
        assert_same_tree(&before, &sb.tree());
        // Reached through a symlink: the final file is the one checked.
        let link = sb.root().join("link.toml");
        std::fs::rename(sb.config(), &link).unwrap();
        symlink(&link, sb.config()).unwrap();
        let before = sb.tree();
        sb.expect(&install_args(era), REFUSED)
            .assert_stderr_has("hard links");
        assert_same_tree(&before, &sb.tree());
        // --force: written, with a warning; the other name keeps the old.
        let mut args = install_args(era);
        args.push("--force");
        sb.expect(&args, OK)
            .assert_stderr_has("warning:")
            .assert_stderr_has("broke the link");
        assert_eq!(std::fs::read(&other).unwrap(), RICH.as_bytes());
        assert!(
            std::fs::read_to_string(&link)
                .unwrap()
                .contains("[model_providers.ominigate]")
        );
        assert_eq!(std::fs::metadata(&link).unwrap().nlink(), 1);
        sb.uninstall();
        assert_eq!(std::fs::read(&link).unwrap(), RICH.as_bytes());
    }
}

// --- 8. extended attributes and ACLs ----------------------------------------

/// A POSIX ACL as the kernel stores it in `system.posix_acl_access`:
/// owner rw, user `uid` r, owning group none, mask r, others none; that is
/// `rw-r-----+`, whose group bits are the mask, not the group's access.
fn acl(uid: u32) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 4, uid),
        (0x04, 0, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

const ACL: &str = "system.posix_acl_access";

/// Give `path` a user xattr and the ACL above; panics (fails the test)
/// where the file system has neither: the row must not pass unseen.
fn tag(path: &Path) {
    xattr::set(path, "user.origin", b"dotfiles")
        .expect("needs a file system with user xattrs for the temp dir");
    xattr::set(path, ACL, &acl(4242))
        .expect("needs a file system with POSIX ACLs for the temp dir");
    assert_eq!(mode(path), 0o640, "the ACL mask shows as the group bits");
}

#[track_caller]
fn assert_tagged(path: &Path) {
    let x = xattrs(path);
    assert!(
        x.contains(&("user.origin".to_string(), b"dotfiles".to_vec())),
        "{}: {x:?}",
        path.display()
    );
    assert_eq!(
        xattr::get(path, ACL).unwrap(),
        Some(acl(4242)),
        "{}",
        path.display()
    );
    assert_eq!(mode(path), 0o640, "{}", path.display());
}

#[test]
fn xattrs_and_acls_survive_install_use_and_uninstall() {
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        tag(&sb.config());
        sb.install(era);
        assert_tagged(&sb.config());
        // The backup holds the same bytes: it gets the same access.
        assert_tagged(&sb.codex_home().join(BACKUP));
        if era == "0.94.0" {
            sb.expect(&["use", "--codex-version", era, "--offline", "a/b"], OK);
            assert_tagged(&sb.config());
        }
        sb.uninstall();
        assert_tagged(&sb.config());
        assert_eq!(sb.read_config(), RICH.as_bytes());
    }
}

#[test]
fn a_file_without_an_acl_gets_none_from_the_directorys_default_acl() {
    // A default ACL on the Codex home would give the replacement an ACL
    // the file never had.
    let sb = Sandbox::new();
    sb.write_config(RICH);
    set_mode(&sb.config(), 0o600);
    let mut default = acl(4242);
    // Same entries, as the directory's default ACL (inherited by new files).
    default[4 + 8 * 3 + 2] = 7; // mask rwx
    xattr::set(sb.codex_home(), "system.posix_acl_default", &default)
        .expect("needs a file system with POSIX ACLs for the temp dir");
    sb.install("0.169.0");
    assert_eq!(xattr::get(sb.config(), ACL).unwrap(), None);
    assert_eq!(mode(&sb.config()), 0o600);
    sb.uninstall();
    assert_eq!(xattr::get(sb.config(), ACL).unwrap(), None);
    assert_eq!(mode(&sb.config()), 0o600);
}

#[test]
#[ignore = "needs root with setpriv: bash .ci/run runs it as root (cargo test --test testsuite -- --ignored hardening::)"]
fn an_xattr_that_cannot_be_copied_refuses_before_anything_is_written() {
    // security.* may be read by anyone but set only with CAP_SYS_ADMIN:
    // nobody cannot give it to the replacement, so nobody is refused.
    needs_root_with_setpriv();
    let sb = Sandbox::new();
    sb.write_config(RICH);
    sb.give_to_nobody();
    xattr::set(sb.config(), "security.ominigate-test", b"label")
        .expect("needs a file system with security xattrs for the temp dir");
    nobody_untouched(&sb, &install_args("0.169.0"), REFUSED)
        .assert_stderr_has("security.ominigate-test");
}

// --- 9. ownership when root runs it -----------------------------------------

#[test]
#[ignore = "needs root with setpriv: bash .ci/run runs it as root (cargo test --test testsuite -- --ignored hardening::)"]
fn root_gives_new_files_to_the_owner_of_the_codex_home() {
    needs_root_with_setpriv();
    for era in ERAS {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        sb.give_to_nobody();
        sb.install(era);
        for entry in std::fs::read_dir(sb.codex_home()).unwrap() {
            let meta = entry.as_ref().unwrap().metadata().unwrap();
            assert_eq!(
                (meta.uid(), meta.gid()),
                (NOBODY, NOBODY),
                "{era}: {:?} is not the home owner's",
                entry.unwrap().path()
            );
        }
        // And the user can undo it themselves.
        sb.run_unprivileged(&["uninstall"])
            .expect("setpriv")
            .assert_code(OK);
        assert_eq!(sb.read_config(), RICH.as_bytes());
    }
}

#[test]
#[ignore = "needs root with setpriv: bash .ci/run runs it as root (cargo test --test testsuite -- --ignored hardening::)"]
fn a_group_the_user_is_not_in_is_refused_before_anything_is_written() {
    needs_root_with_setpriv();
    let sb = Sandbox::new();
    sb.write_config(RICH);
    sb.give_to_nobody();
    // nobody's file, root's group: nobody may write it, not chgrp it.
    std::os::unix::fs::chown(sb.config(), Some(NOBODY), Some(0)).unwrap();
    set_mode(&sb.config(), 0o664);
    nobody_untouched(&sb, &install_args("0.169.0"), REFUSED)
        .assert_stderr_has("group 0, which you are not in")
        .assert_stderr_has("chgrp");
}

#[test]
fn a_symlink_into_a_read_only_directory_leaves_no_backup() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.codex_home()).unwrap();
    let store = sb.root().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("config.toml"), RICH).unwrap();
    symlink("../store/config.toml", sb.config()).unwrap();
    // The file is the user's and writable; its directory is not.
    match Privilege::get() {
        Privilege::User => set_mode(&store, 0o555),
        Privilege::RootWithSetpriv => {
            sb.give_to_nobody();
            std::os::unix::fs::lchown(&store, Some(0), Some(0)).unwrap();
            set_mode(&store, 0o755);
        }
        Privilege::RootOnly => panic!("needs setpriv (util-linux) to drop root"),
    }
    nobody_untouched(&sb, &install_args("0.169.0"), FAILURE)
        .assert_stderr_has("cannot create files in");
    assert!(!sb.backup().exists());
    set_mode(&store, 0o755);
}

#[test]
fn root_is_refused_a_file_without_write_bits() {
    for file_mode in [0o444, 0o400, 0o000] {
        let sb = Sandbox::new();
        sb.write_config(RICH);
        set_mode(&sb.config(), file_mode);
        let before = sb.tree();
        sb.expect(&install_args("0.169.0"), REFUSED)
            .assert_stderr_has("is read-only")
            .assert_stderr_has("chmod u+w");
        assert_same_tree(&before, &sb.tree());
    }
}

// --- 10. stale temporary files ------------------------------------------------

#[test]
fn every_run_that_writes_removes_stale_temporary_files_of_every_managed_file() {
    let names = [
        ".config.toml.ominigate-tmp.999999",
        ".ominigate.config.toml.ominigate-tmp.999998",
        ".ominigate-codex.state.json.ominigate-tmp.999997",
        ".config.toml.ominigate.bak.ominigate-tmp.999996",
    ];
    let debris = |sb: &Sandbox| {
        for n in names {
            std::fs::write(sb.codex_home().join(n), "left by a killed run").unwrap();
        }
    };
    // An uninstall with nothing to do.
    let sb = Sandbox::new();
    sb.write_config(RICH);
    debris(&sb);
    let out = sb.expect(&["uninstall"], OK);
    out.assert_stdout_has("nothing to remove");
    for n in names {
        out.assert_stdout_has(&format!("removed {}", sb.codex_home().join(n).display()));
    }
    assert_eq!(sb.read_config(), RICH.as_bytes());
    // An install with nothing to do, and a `use` that does not write the
    // profile file (0.94: the profile is in config.toml).
    sb.install("0.94.0");
    debris(&sb);
    sb.install("0.94.0")
        .assert_stdout_has("already installed")
        .assert_stdout_has("left by an interrupted run");
    debris(&sb);
    sb.expect(
        &["use", "--codex-version", "0.94.0", "--offline", "a/b"],
        OK,
    )
    .assert_stdout_has("left by an interrupted run");
    // A dry run writes nothing, debris included.
    debris(&sb);
    let out = sb.run_env(&["uninstall", "--dry-run"], &[]);
    out.assert_code(OK);
    assert_eq!(temps_under(sb.root()).len(), names.len());
}

// --- 11. output a terminal can trust ------------------------------------------

const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J";

#[track_caller]
fn assert_printable(text: &str) {
    assert!(
        !text.contains(['\u{1b}', '\u{7}']),
        "a control character reached the terminal:\n{text:?}"
    );
}

#[test]
fn control_characters_from_the_config_and_the_gateway_are_escaped() {
    let id = format!("x/{HOSTILE}");
    let body = server::models_body(&[&id, "openai/gpt-5.3-codex"]);
    let server = Server::start(move |r| match r.path.as_str() {
        "/v1/models" => server::reply(200, &body),
        _ => server::reply(
            400,
            &serde_json::json!({"error": {"message": HOSTILE}}).to_string(),
        ),
    });
    let sb = sandbox_on(&server, "0.169.0");
    // A model value with the same bytes, in the profile file.
    let profile = std::fs::read_to_string(sb.profile_file()).unwrap();
    let model = toml_edit::Value::from(HOSTILE).to_string();
    let edited: String = profile
        .lines()
        .map(|l| match l.starts_with("model =") {
            true => format!("model = {model}\n"),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(sb.profile_file(), edited).unwrap();
    for args in [
        vec!["doctor", "--codex-version", "0.169.0"],
        vec!["doctor", "--codex-version", "0.169.0", "--json"],
        vec!["status", "--codex-version", "0.169.0"],
        vec!["models"],
        vec!["models", "--json"],
    ] {
        let out = sb.output(&args);
        assert_printable(&out.stdout);
        assert_printable(&out.stderr);
        assert!(
            out.stdout.contains("\\u{1b}") || out.stdout.contains("\\u001b"),
            "{args:?}: the value is not shown escaped\n{}",
            out.stdout
        );
    }
}

#[test]
fn models_with_invisible_characters_are_refused_and_echoed_short() {
    let long = format!("{}\u{202e}", "m".repeat(150));
    for model in [
        "a\u{2028}b",
        "a\u{2029}b",
        "gpt\u{202e}orp-5",
        "gpt\u{2066}x",
        "g\u{200b}pt",
        "g\u{feff}pt",
        "g\u{200d}pt",
        HOSTILE,
        &long,
    ] {
        for args in [
            vec!["install", "--codex-version", "0.169.0", "--model", model],
            vec!["use", "--codex-version", "0.169.0", "--offline", model],
        ] {
            let sb = Sandbox::new();
            sb.write_config(RICH);
            let before = sb.tree();
            let out = sb.output(&args);
            out.assert_code(USAGE).assert_stderr_has("not a model id");
            assert_printable(&out.stderr);
            let echoed = out.stderr.lines().next().unwrap_or_default();
            assert!(
                !echoed.contains(|c: char| matches!(c, '\u{2028}'..='\u{202e}' | '\u{200b}'..='\u{200f}' | '\u{2066}'..='\u{2069}' | '\u{feff}')),
                "{echoed:?}"
            );
            assert!(
                !echoed.contains(&"m".repeat(81)),
                "more than 80 characters echoed: {echoed}"
            );
            assert_same_tree(&before, &sb.tree());
        }
    }
}

#[test]
fn an_error_writing_stdout_says_it_is_stdout() {
    let sb = Sandbox::new();
    sb.write_config(RICH);
    for args in [
        vec!["models", "--offline"],
        vec!["status"],
        vec!["install", "--codex-version", "0.169.0", "--dry-run"],
        vec!["man"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("needs /dev/full");
        let mut cmd = sb.std_cmd();
        cmd.args(&args).stdout(full);
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(FAILURE), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to stdout"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("No space left on device"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(sb.read_config(), RICH.as_bytes());
}

#[test]
fn a_pre_release_codex_version_sorts_before_its_release() {
    // 0.134.0-alpha.1 comes before 0.134.0: the profile goes where 0.133
    // reads it, [profiles.ominigate] in config.toml.
    let sb = Sandbox::new();
    sb.write_config(RICH);
    sb.expect(&["install", "--codex-version", "0.134.0-alpha.1"], OK)
        .assert_stdout_has("Codex 0.134.0-alpha.1");
    let config = String::from_utf8(sb.read_config()).unwrap();
    assert!(config.contains("[profiles.ominigate]"), "{config}");
    assert!(!sb.profile_file().exists());
    sb.uninstall();
    assert_eq!(sb.read_config(), RICH.as_bytes());
    let sb = Sandbox::new();
    sb.expect(&["install", "--codex-version", "0.134.0-alpha..1"], USAGE)
        .assert_stderr_has("not a version");
}

#[test]
fn escaping_keeps_the_line_endings_of_a_crlf_dry_run_diff() {
    // Only a CR that is not part of a CRLF is escaped: a diff of a CRLF
    // file stays a diff of that file.
    let sb = Sandbox::new();
    sb.write_config(RICH.replace('\n', "\r\n"));
    let out = sb.expect(&["install", "--codex-version", "0.169.0", "--dry-run"], OK);
    assert!(
        out.stdout.contains("+requires_openai_auth = false\r\n"),
        "{:?}",
        out.stdout
    );
    assert!(!out.stdout.contains("\\r"), "{:?}", out.stdout);
}

#[test]
fn a_key_pasted_into_any_argument_is_masked_in_the_usage_error() {
    // clap quotes the value it rejects; that message is filtered too.
    let sb = Sandbox::new();
    for args in [
        vec!["install", "--codex-version", CANARY],
        vec!["doctor", "--timeout", CANARY],
        vec!["install", CANARY],
        vec![CANARY],
    ] {
        let out = sb.output(&args);
        out.assert_code(USAGE);
        assert_no_key_run(CANARY, &out.stderr);
        assert!(out.stderr.contains("sk-o…"), "{}", out.stderr);
    }
}
