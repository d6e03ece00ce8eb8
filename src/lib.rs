//! ominigate-codex: make the OpenAI Codex CLI talk to the OminiGate gateway.
//!
//! The binary's `main` only wires [`cli`] to [`run`]; each subcommand is one
//! module under [`commands`]. The edit layer ([`blocks`], [`style`]) is pure
//! and does no IO; [`config_file`] does all file IO.

pub mod blocks;
pub mod cli;
pub mod codex_version;
pub mod commands;
pub mod config_file;
pub mod error;
pub mod installed;
pub mod paths;
pub mod report;
pub mod spec;
pub mod state;
pub mod style;

use std::io::Write;

use cli::{Cli, Command};

/// Run a parsed command line, writing the report to `out`.
pub fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    let home = || paths::CodexHome::from_env(cli.codex_home.as_deref());
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => report::Level::Quiet,
        (_, true) => report::Level::Verbose,
        _ => report::Level::Normal,
    };
    let ui = &mut report::Ui::new(out, level);
    match &cli.command {
        Command::Install(args) => commands::install::run(&home()?, args, ui),
        Command::Uninstall(args) => commands::uninstall::run(&home()?, args, ui),
        Command::Completions { shell } => commands::generate::completions(*shell, out),
        Command::Man => commands::generate::man(out),
        Command::Doctor(args) => commands::doctor::run(&home()?, args, ui),
        Command::Status(args) => commands::status::run(&home()?, args, ui),
        Command::Models(args) => commands::models::run(&home()?, args, ui),
        Command::Use(args) => commands::use_model::run(&home()?, args, ui),
    }
}
