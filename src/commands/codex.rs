//! `ominigate-codex codex [ARGS…]`: run the real Codex through a private
//! bridge, the zero-setup path for a chat-completions-only gateway.
//!
//! The bridge serves on 127.0.0.1 (a free port) in this process; Codex is
//! started as `codex --profile ominigate -c
//! model_providers.ominigate.base_url="http://127.0.0.1:PORT/v1" ARGS…`
//! (those two right after `exec` when there is one: [`args::with_ours`])
//! with stdin, stdout,
//! stderr and the terminal inherited. Ctrl-C reaches Codex
//! (it is in the terminal's foreground group, like this process), which
//! decides what it means; this process only waits for it, stops the
//! bridge, and exits with Codex's status. A `-c` of the user's own that
//! sets the provider's `base_url` is refused: Codex would take it over the
//! bridge's and call the gateway directly ([`args::provider_override`]).

use std::process::{Command, ExitStatus};

use anyhow::Result;

use crate::bridge::launch::{bind, settings};
use crate::cli::CodexArgs;
use crate::codex::args;
use crate::codex::binary::{self, Codex, RunError};
use crate::codex::version::CHAT_REMOVED;
use crate::error::{Failure, Kind, Silent, usage};
use crate::paths::CodexHome;
use crate::report::{Level, Ui, warning};
use crate::setup::{Setup, facts};
use crate::spec;

/// `codex_home_flag`: `--codex-home` was given, so Codex gets it as
/// `CODEX_HOME` and both read the same files.
pub fn run(
    home: &CodexHome,
    codex_home_flag: bool,
    args: &CodexArgs,
    ui: &mut Ui<'_>,
) -> Result<()> {
    let codex = Codex::detect(None, args.codex.as_deref());
    let (binary, version) = runnable(&codex)?;
    let mut cmd = Command::new(binary);
    if codex_home_flag {
        cmd.env("CODEX_HOME", &home.dir);
    }
    let inp = Setup::of_process(home, codex.clone());
    if facts::provider_file(&inp).is_none() {
        return Err(Failure::new(
            Kind::Failure,
            format!(
                "Codex has no `{}` provider in {}",
                spec::PROVIDER_ID,
                home.dir.display()
            ),
        )
        .help(format!("run `{} install` first", home.ominigate_codex()))
        .into());
    }
    if version < CHAT_REMOVED {
        // On stderr: stdout is Codex's (`codex exec … > answer.txt`).
        if ui.level > Level::Quiet {
            eprintln!(
                "Codex {version} speaks chat completions itself: running it directly, without the bridge"
            );
        }
        cmd.args(args::with_ours(None, &args.args));
        let status = run_child(&mut cmd)?;
        return exit_with(status);
    }
    if let Some(value) = args::provider_override(&args.args) {
        return Err(usage(format!(
            "`-c {}` would send Codex past the bridge: under `ominigate-codex codex` the bridge is the provider's base_url",
            args::shown(value.as_ref())
        ))
        .help(
            "drop that -c; the bridge forwards to the gateway `ominigate-codex install --bridge --base-url URL` recorded (or the provider's base_url). To call a gateway directly, run `codex` itself",
        )
        .into());
    }
    through_bridge(&mut cmd, &inp, args, ui.level)
}

/// The Codex binary to run and its version, or why there is none.
fn runnable(codex: &Codex) -> Result<(&std::path::Path, crate::codex::version::Version)> {
    match codex {
        Codex::Binary {
            path,
            answer: Ok(v),
        } => Ok((path, *v)),
        Codex::Binary {
            path,
            answer: Err(e),
        } => Err(Failure::new(
            Kind::Failure,
            format!("cannot run Codex: {}: {e}", path.display()),
        )
        .help("pass the Codex binary with --codex PATH")
        .into()),
        Codex::Flag(_) | Codex::Assumed => Err(Failure::new(
            Kind::Failure,
            "no `codex` found on PATH",
        )
        .help("install Codex (npm install -g @openai/codex), or pass its binary with --codex PATH")
        .into()),
    }
}

/// Run Codex through a private bridge on a free loopback port, stopped
/// when Codex exits; exit with Codex's status.
fn through_bridge(cmd: &mut Command, inp: &Setup, args: &CodexArgs, level: Level) -> Result<()> {
    // Log lines would land in Codex's screen: only with --verbose.
    let level = match level {
        Level::Verbose => Level::Verbose,
        _ => Level::Quiet,
    };
    let config = settings(inp, None, 0, level)?;
    let bridge = bind("127.0.0.1:0".parse()?, config)?.spawn()?;
    cmd.args(args::with_ours(Some(&bridge.base_url()), &args.args));
    // A bug in a bridge thread ends that answer in `response.failed`, which
    // Codex shows; Rust's panic message would land in the middle of Codex's
    // screen. Silent while Codex runs, unless --verbose.
    let quiet_panics = level < Level::Verbose;
    if quiet_panics {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let status = run_child(cmd);
    if quiet_panics {
        // Back to Rust's own hook.
        drop(std::panic::take_hook());
    }
    if let Err(e) = bridge.stop() {
        warning(&format!("the bridge did not stop cleanly: {e}"));
    }
    exit_with(status?)
}

/// Run Codex with the terminal ([`binary::run_attached`]); this command's
/// words when it does not start.
fn run_child(cmd: &mut Command) -> Result<ExitStatus> {
    binary::run_attached(cmd).map_err(|e| match e {
        RunError::Start(e) => Failure::new(
            Kind::Failure,
            format!("cannot start {}: {e}", cmd.get_program().to_string_lossy()),
        )
        .into(),
        e => e.into(),
    })
}

/// Exit as Codex did: its code, or 128 + the signal that ended it.
fn exit_with(status: ExitStatus) -> Result<()> {
    use std::os::unix::process::ExitStatusExt;
    let code = match (status.code(), status.signal()) {
        (Some(0), _) => return Ok(()),
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    };
    Err(Silent(Kind::Exit(u8::try_from(code).unwrap_or(1))).into())
}
