//! The ways users install ominigate-codex, proved offline: the npm packages
//! that scripts/npm-pack.sh makes from the release binary, installed with
//! npm from the tarballs with no registry reachable, and the crate that
//! `cargo package` makes, built with `cargo install --offline`.
//!
//! The npm tests need node, npm and a release build (scripts/npm-pack.sh
//! builds it once; fat LTO takes a minute or two), so they are ignored in a
//! plain `cargo test`. `bash .ci/run` runs them:
//!
//! ```sh
//! cargo test --test testsuite -- --ignored npm::
//! ```

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::harness::{CANARY, assert_no_canary_in_text};
use tempfile::TempDir;

const NAME: &str = "ominigate-codex";
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Every platform the main package names, in its order.
const PLATFORMS: [&str; 4] = ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// This machine as npm names it (`linux-x64`).
fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let cpu = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        cpu => cpu,
    };
    format!("{os}-{cpu}")
}

/// The packed tarballs and two installs of them: `npm install -g` into a
/// prefix of its own, and a project-local `npm install` for npx.
struct Packages {
    dir: PathBuf,
    main: PathBuf,
    platform: PathBuf,
    global: PathBuf,
    local: PathBuf,
}

impl Packages {
    /// `<prefix>/bin/ominigate-codex`: npm's link to the launcher.
    fn shim(&self) -> PathBuf {
        self.global.join("bin").join(NAME)
    }

    /// The binary inside the installed platform package.
    fn binary(&self) -> PathBuf {
        self.global
            .join("lib/node_modules")
            .join(format!("{NAME}-{}", host_platform()))
            .join("bin")
            .join(NAME)
    }
}

/// npm with the registry unreachable: offline, a registry URL on a closed
/// loopback port in case it tried anyway, its cache and HOME (for
/// `.npmrc`) in the test's directory.
fn npm_env<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.env("npm_config_offline", "true")
        .env("npm_config_registry", "http://127.0.0.1:9/")
        .env("npm_config_cache", dir.join("npm-cache"))
        .env("npm_config_update_notifier", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_loglevel", "error")
        .env("HOME", dir.join("npm-home"))
}

fn checked(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Packs once per test run (the release build is reused when it is up to
/// date) and installs the main package and this platform's package.
fn packages() -> &'static Packages {
    static PACKAGES: OnceLock<Packages> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("npm-home")).expect("npm home");
        let out = checked(
            for_a_build(Command::new("bash"))
                .arg(root().join("scripts/npm-pack.sh"))
                .arg("--out")
                .arg(dir.join("tgz")),
        );
        let tarballs: Vec<PathBuf> = String::from_utf8(out.stdout)
            .expect("paths")
            .lines()
            .map(PathBuf::from)
            .collect();
        let main = dir.join("tgz").join(format!("{NAME}-{VERSION}.tgz"));
        let platform = dir
            .join("tgz")
            .join(format!("{NAME}-{}-{VERSION}.tgz", host_platform()));
        assert_eq!(tarballs.first(), Some(&main), "{tarballs:?}");
        assert!(tarballs.contains(&platform), "{tarballs:?}");

        let (global, local) = (dir.join("global"), dir.join("local"));
        for (prefix, global_flag) in [(&global, true), (&local, false)] {
            fs::create_dir_all(prefix).expect("prefix");
            let mut cmd = Command::new("npm");
            cmd.arg("install");
            if global_flag {
                cmd.arg("-g");
            }
            npm_env(&mut cmd, &dir)
                .arg("--prefix")
                .arg(prefix)
                .arg(&main)
                .arg(&platform);
            checked(&mut cmd);
        }
        Packages {
            dir,
            main,
            platform,
            global,
            local,
        }
    })
}

/// A temp HOME with a Codex home in it, the canary key set, and PATH only
/// for node (the launcher's `#!/usr/bin/env node`).
struct Home {
    dir: TempDir,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join(".codex")).expect("codex home");
        Home { dir }
    }

    fn codex_home(&self) -> PathBuf {
        self.dir.path().join(".codex")
    }

    fn cmd(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("CODEX_HOME", self.codex_home())
            .env("OMINIGATE_API_KEY", CANARY)
            // No request to a gateway, as in the sandbox (install reads the
            // live model list with the key set).
            .env("OMINIGATE_CODEX_OFFLINE", "1")
            .env(
                "OMINIGATE_CODEX_SYSTEM_CONFIG",
                self.dir.path().join("no-etc-config.toml"),
            )
            .current_dir(self.dir.path());
        cmd
    }

    /// Run `program args`: see [`outcome`].
    fn run(&self, program: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        outcome(self.cmd(program).args(args))
    }
}

/// Run `cmd`: its exit code, stdout and stderr, checked for the canary.
fn outcome(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_no_canary_in_text(&stdout);
    assert_no_canary_in_text(&stderr);
    (out.status.code(), stdout, stderr)
}

/// Assert that the tarball holds exactly package.json, README.md, LICENSE
/// and the executable `exe`; its package.json.
fn assert_package_files(path: &Path, exe: &str) -> serde_json::Value {
    let list = checked(Command::new("tar").arg("tvzf").arg(path));
    let mut files: Vec<(String, bool)> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|line| {
            let mode = line.split_whitespace().next().expect("mode");
            let name = line.split_whitespace().last().expect("name");
            (name.to_owned(), mode.contains('x'))
        })
        .collect();
    files.sort();
    let mut want = vec![
        ("package/LICENSE".to_owned(), false),
        ("package/README.md".to_owned(), false),
        (format!("package/{exe}"), true),
        ("package/package.json".to_owned(), false),
    ];
    want.sort();
    assert_eq!(files, want, "{}", path.display());
    let json = checked(
        Command::new("tar")
            .arg("xzf")
            .arg(path)
            .arg("-O")
            .arg("package/package.json"),
    );
    serde_json::from_slice(&json.stdout).expect("package.json")
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn packages_hold_only_their_files_at_the_cargo_version() {
    let p = packages();
    let main = assert_package_files(&p.main, "bin/ominigate-codex.js");
    assert_eq!(main["name"], NAME);
    assert_eq!(main["version"], VERSION);
    assert_eq!(main["bin"][NAME], "bin/ominigate-codex.js");
    assert!(
        main.get("dependencies").is_none(),
        "the launcher has no dependencies"
    );
    let optional = main["optionalDependencies"].as_object().expect("optional");
    let names: Vec<&str> = optional.keys().map(String::as_str).collect();
    let mut want: Vec<String> = PLATFORMS.iter().map(|p| format!("{NAME}-{p}")).collect();
    want.sort();
    assert_eq!(names, want);
    assert!(optional.values().all(|v| v == VERSION), "{optional:?}");

    let pkg = assert_package_files(&p.platform, "bin/ominigate-codex");
    let (os, cpu) = host_platform()
        .split_once('-')
        .map(|(o, c)| (o.to_owned(), c.to_owned()))
        .expect("os-cpu");
    assert_eq!(pkg["name"], format!("{NAME}-{}", host_platform()));
    assert_eq!(pkg["version"], VERSION);
    assert_eq!(pkg["os"], serde_json::json!([os]));
    assert_eq!(pkg["cpu"], serde_json::json!([cpu]));
    assert!(
        pkg.get("bin").is_none(),
        "only the main package has the command"
    );
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn version_through_npm_is_the_cargo_version() {
    let p = packages();
    let home = Home::new();
    let (code, out, _) = home.run(&p.shim(), &["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("{NAME} {VERSION} (installed with npm)\n"));
    // The same binary run bare does not claim npm.
    let (code, out, _) = home.run(&p.binary(), &["--version"]);
    assert_eq!(code, Some(0));
    assert!(out.starts_with(&format!("{NAME} {VERSION} (")), "{out}");
    assert!(!out.contains("npm"), "{out}");
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn install_dry_run_through_npm_prints_the_diff_and_writes_nothing() {
    let p = packages();
    let home = Home::new();
    let (code, out, err) = home.run(
        &p.shim(),
        &["install", "--dry-run", "--codex-version", "0.169.0"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("+[model_providers.ominigate]"), "{out}");
    assert!(out.contains("+++ "), "{out}");
    assert_eq!(
        fs::read_dir(home.codex_home()).expect("codex home").count(),
        0,
        "--dry-run wrote something"
    );
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn exit_status_and_output_pass_through_the_launcher() {
    let p = packages();
    let home = Home::new();
    // A bad flag: clap's usage error, exit 2.
    let through = home.run(&p.shim(), &["--no-such-flag"]);
    let bare = home.run(&p.binary(), &["--no-such-flag"]);
    assert_eq!(through.0, Some(2));
    assert_eq!(through, bare);
    // A config that is not TOML: exit 3, nothing written.
    fs::write(home.codex_home().join("config.toml"), "model = \n").expect("config");
    let (code, _, err) = home.run(&p.shim(), &["install", "--codex-version", "0.169.0"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("config.toml"), "{err}");
}

/// Pids of the processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(pid) {
            found.extend(
                entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok()),
            );
        }
    }
    found
}

/// Start `install` through the launcher, stopped at a failpoint (the
/// binary waits on stdin there), send `signal` to the launcher alone, and
/// check that it reached the binary: the binary is gone and the launcher
/// died of the same signal, with the Codex home untouched.
fn signal_reaches_the_binary(signal: &str, number: i32) {
    let p = packages();
    let home = Home::new();
    let mut child = home
        .cmd(&p.shim())
        .args(["install", "--codex-version", "0.169.0"])
        .env("OMINIGATE_CODEX_FAILPOINT", "pause:before-commit")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let launcher = child.id();
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while !line.contains("paused") {
        line.clear();
        let n = stderr.read_line(&mut line).expect("stderr");
        assert!(n > 0, "the binary ended before its failpoint");
    }
    let binaries = children(launcher);
    assert_eq!(
        binaries.len(),
        1,
        "launcher {launcher} children: {binaries:?}"
    );
    let binary = binaries[0];
    let exe = fs::read_link(format!("/proc/{binary}/exe")).expect("exe");
    assert_eq!(exe, fs::canonicalize(p.binary()).expect("binary"));

    checked(
        Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(launcher.to_string()),
    );
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(binary.to_string())
                .status();
            panic!("the launcher did not end on {signal}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        status.signal(),
        Some(number),
        "launcher ended with {status}"
    );
    // The binary ended too (its parent is gone, so init reaps it).
    let start = Instant::now();
    while Path::new(&format!("/proc/{binary}")).exists() {
        let state = fs::read_to_string(format!("/proc/{binary}/stat")).unwrap_or_default();
        if state
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the binary {binary} outlived {signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Only now may the failpoint's read of stdin end: a binary the signal
    // missed would go on and write.
    drop(child.stdin.take());
    assert_eq!(
        fs::read_dir(home.codex_home()).expect("codex home").count(),
        0
    );
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn sigint_reaches_the_binary() {
    signal_reaches_the_binary("INT", 2);
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn sigterm_reaches_the_binary() {
    signal_reaches_the_binary("TERM", 15);
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn npx_runs_the_installed_package() {
    let p = packages();
    let home = Home::new();
    let bare = home.run(&p.binary(), &["--help"]);
    assert_eq!(bare.0, Some(0));
    let npx = |args: &[&str]| {
        let mut npx = home.cmd(Path::new("npx"));
        npm_env(&mut npx, &p.dir)
            .arg("--prefix")
            .arg(&p.local)
            .arg(NAME)
            .args(args);
        outcome(&mut npx)
    };
    let (code, out, err) = npx(&["--help"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, bare.1);
    assert_eq!(npx(&["--no-such-flag"]).0, Some(2));

    // After `npm i -g` (a global prefix set in npm's config, not --prefix,
    // which npx takes for a project), npx finds the global command.
    let mut global = home.cmd(Path::new("npx"));
    npm_env(&mut global, &p.dir)
        .env("npm_config_prefix", &p.global)
        .args([NAME, "--version"]);
    let (code, out, err) = outcome(&mut global);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, format!("{NAME} {VERSION} (installed with npm)\n"));
}

/// Run the installed launcher with node told it is on `platform`.
fn launcher_on(platform: &str) -> (Option<i32>, String, String) {
    let p = packages();
    let home = Home::new();
    let preload = home.dir.path().join("fake-platform.js");
    let (os, cpu) = platform.split_once('-').expect("os-cpu");
    fs::write(
        &preload,
        format!(
            "Object.defineProperty(process, 'platform', {{ value: '{os}' }});\n\
             Object.defineProperty(process, 'arch', {{ value: '{cpu}' }});\n"
        ),
    )
    .expect("preload");
    let launcher = p
        .global
        .join("lib/node_modules")
        .join(NAME)
        .join("bin/ominigate-codex.js");
    outcome(
        home.cmd(Path::new("node"))
            .arg("--require")
            .arg(&preload)
            .arg(launcher)
            .arg("--version"),
    )
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn launcher_on_an_unsupported_platform_lists_the_supported_ones() {
    let (code, out, err) = launcher_on("freebsd-x64");
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out, "");
    assert!(err.contains("no prebuilt binary for freebsd-x64"), "{err}");
    assert!(
        err.contains(&format!("exist for: {}", PLATFORMS.join(", "))),
        "{err}"
    );
    assert!(err.contains("cargo install ominigate-codex"), "{err}");
}

#[test]
#[ignore = "needs node, npm and a release build: cargo test --test testsuite -- --ignored npm::"]
fn launcher_without_its_platform_package_says_which_is_missing() {
    // Supported, but npm installed only this machine's package.
    let other = PLATFORMS
        .iter()
        .find(|p| **p != host_platform())
        .expect("another platform");
    let (code, out, err) = launcher_on(other);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains(&format!("the package {NAME}-{other}")) && err.contains("not installed"),
        "{err}"
    );
    assert!(err.contains("--omit=optional"), "{err}");
}

// --- the crate -------------------------------------------------------------

/// Paths that never belong in the published crate.
fn denied(path: &str) -> bool {
    const PREFIXES: [&str; 11] = [
        "tests/",
        "bench/",
        "benches/",
        "examples/",
        "scripts/",
        "npm/",
        "docs/",
        ".ci/",
        ".github/",
        "target/",
        "shared/",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || path
            .split('/')
            .any(|c| c == ".." || c == "shared" || c == "corpus")
        || path.ends_with("RESULTS.md")
}

/// A command for a build the tests start, without what `cargo test` put in
/// the tests' environment: build.rs's `OMINIGATE_CODEX_BUILD_KIND` (a stale
/// build script would go unnoticed, the value coming from here) and the
/// package's `CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, … (dependencies' build
/// scripts watch some of them, and every build would start over).
fn for_a_build(mut cmd: Command) -> Command {
    cmd.env_remove("OMINIGATE_CODEX_BUILD_KIND")
        .env_remove("OUT_DIR");
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let from_test = [
            "CARGO_MANIFEST_",
            "CARGO_PKG_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_TARGET_TMPDIR",
            "CARGO_PRIMARY_PACKAGE",
        ]
        .iter()
        .any(|p| name.starts_with(p));
        if from_test {
            cmd.env_remove(&*name);
        }
    }
    cmd
}

fn cargo() -> Command {
    for_a_build(Command::new(
        std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
    ))
}

#[test]
fn the_crate_holds_only_what_a_build_needs() {
    let out = checked(cargo().current_dir(root()).args([
        "package",
        "--list",
        "--allow-dirty",
        "--offline",
        "--quiet",
    ]));
    let list = String::from_utf8(out.stdout).expect("list");
    let files: Vec<&str> = list.lines().collect();
    for need in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "README.md",
        "LICENSE",
    ] {
        assert!(files.contains(&need), "{need} missing from:\n{list}");
    }
    for file in &files {
        assert!(!denied(file), "{file} is in the crate:\n{list}");
        // Files cargo generates (Cargo.toml.orig, .cargo_vcs_info.json) are
        // not in the tree; the rest must be small.
        if let Ok(meta) = fs::metadata(root().join(file)) {
            assert!(meta.len() <= 1 << 20, "{file}: {} bytes", meta.len());
        }
    }
    for path in [
        "bench/RESULTS.md",
        "tests/testsuite/cli.rs",
        "../shared/corpus/x.toml",
        "docs/doctor.md",
    ] {
        assert!(denied(path), "the denylist misses {path}");
    }
}

#[test]
#[ignore = "builds the packaged crate with fat LTO (slow): cargo test --test testsuite -- --ignored npm::"]
fn the_packaged_crate_installs_offline_and_says_cargo() {
    checked(
        cargo()
            .current_dir(root())
            // No verify build: it would build the packaged crate in this
            // checkout's target dir, where cargo takes it for the checkout
            // (same package, same relative path) and the checkout's next
            // build says `installed with cargo`. The install below, in a
            // target dir of its own, is the verification.
            .args([
                "package",
                "--no-verify",
                "--allow-dirty",
                "--offline",
                "--quiet",
            ]),
    );
    let meta = checked(cargo().current_dir(root()).args([
        "metadata",
        "--no-deps",
        "--offline",
        "--format-version",
        "1",
    ]));
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).expect("metadata");
    let target = PathBuf::from(meta["target_directory"].as_str().expect("target dir"));
    let krate = target
        .join("package")
        .join(format!("{NAME}-{VERSION}.crate"));
    let tmp = tempfile::tempdir().expect("temp dir");
    checked(
        Command::new("tar")
            .arg("xzf")
            .arg(&krate)
            .arg("-C")
            .arg(tmp.path()),
    );
    let unpacked = tmp.path().join(format!("{NAME}-{VERSION}"));
    for file in ["Cargo.toml.orig", "src/main.rs"] {
        assert!(unpacked.join(file).exists(), "{file} not in the .crate");
    }
    // A .crate holds every file with one fixed old mtime; here, as in the
    // fresh directory `cargo install` builds in, it must all count as new.
    checked(
        Command::new("find")
            .arg(&unpacked)
            .args(["-exec", "touch", "{}", "+"]),
    );
    // A target dir of its own, kept between runs: in the checkout's, cargo
    // would take the unpacked crate (same package, same relative path) for
    // the checkout and reuse the checkout's build and its build.rs output.
    checked(
        cargo()
            .env("CARGO_TARGET_DIR", target.join("packaged-crate"))
            .arg("install")
            .arg("--path")
            .arg(&unpacked)
            // --debug: the proof is that it builds offline and runs; the
            // release profile (fat LTO) would add minutes to every CI run.
            .args(["--offline", "--locked", "--debug", "--quiet", "--root"])
            .arg(tmp.path().join("root")),
    );
    let bin = tmp.path().join("root/bin").join(NAME);
    let home = Home::new();
    let (code, out, _) = home.run(&bin, &["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("{NAME} {VERSION} (installed with cargo)\n"));
    let mode = fs::metadata(&bin).expect("bin").permissions().mode();
    assert!(mode & 0o111 != 0);
}
