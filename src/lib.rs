//! ominigate-codex: make the OpenAI Codex CLI talk to the OminiGate gateway.
//!
//! The binary's `main` only wires [`cli`] to [`run`]; each subcommand is one
//! thin module under [`commands`], over [`setup`] (what is installed where,
//! read once), [`codex`] (which Codex), [`gateway`] (HTTP to the gateway)
//! and [`edit`] (the files a command changes), itself over [`toml`] (pure
//! toml_edit edits and text style) and [`fs`] (all file IO).

pub mod bridge;
pub mod catalog;
pub mod checks;
pub mod cli;
pub mod codex;
pub mod commands;
pub mod edit;
pub mod error;
pub mod fs;
pub mod gateway;
pub mod installed;
pub mod paths;
pub mod report;
pub mod setup;
pub mod shown;
pub mod spec;
pub mod toml;

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
    shown::protect_defaults();
    let mut ui = report::Ui::new(out, level);
    let result = match &cli.command {
        Command::Install(args) => commands::install::run(&home()?, args, &mut ui),
        Command::Uninstall(args) => commands::uninstall::run(&home()?, args, &mut ui),
        Command::Completions { shell } => commands::generate::completions(*shell, ui.out_styled()),
        Command::Man => commands::generate::man(ui.out_styled()),
        Command::Doctor(args) => commands::doctor::run(&home()?, args, &mut ui),
        Command::Status(args) => commands::status::run(&home()?, args, &mut ui),
        Command::Models(args) => commands::models::run(&home()?, args, &mut ui),
        Command::Use(args) => commands::use_model::run(&home()?, args, &mut ui),
        Command::Bridge(args) => commands::bridge::run(&home()?, args, &mut ui),
        Command::Codex(args) => {
            commands::codex::run(&home()?, cli.codex_home.is_some(), args, &mut ui)
        }
    };
    // What was printed goes out before the error is reported.
    let flushed = ui.finish();
    result?;
    Ok(flushed?)
}
