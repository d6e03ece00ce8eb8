//! `completions` and `man`: generated from the clap definition, so they
//! never drift from the real command line.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

pub const BIN: &str = "ominigate-codex";

/// Print the completion script for `shell`. Rendered in memory first:
/// clap_complete panics when its writer fails (a closed pipe).
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// Print the man page (roff) of the command and each subcommand.
pub fn man(out: &mut dyn Write) -> Result<()> {
    // The page names the version alone, not how this copy was installed.
    let cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{BIN}-{}", sub.get_name());
        let sub = sub.clone().name(name.clone()).bin_name(name);
        clap_mangen::Man::new(sub).render(out)?;
    }
    Ok(())
}
