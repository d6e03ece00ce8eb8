//! `completions` and `man`: generated from the clap definition, so they
//! never drift from the real command line.

use std::io::{self, Write};
use std::path::Path;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;

use crate::cli::Cli;
use crate::fs;
use crate::report::Ui;

pub const BIN: &str = "ominigate-codex";

/// Print the completion script for `shell`. Rendered in memory first:
/// clap_complete panics when its writer fails (a closed pipe).
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// The man pages: printed one after the other, or with `dir` written there
/// one file each (`ominigate-codex.1`, `ominigate-codex-install.1`, …, the
/// pages `ominigate-codex(1)` names), each path printed.
pub fn man(dir: Option<&Path>, ui: &mut Ui) -> Result<()> {
    for (name, roff) in man_pages()? {
        match dir {
            None => ui.out_styled().write_all(&roff)?,
            Some(dir) => {
                let path = fs::write_public(dir, &name, &roff)?;
                ui.info(format_args!("wrote {}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// `ominigate-codex(1)` and a page per subcommand, `ominigate-codex-SUB(1)`:
/// file name and roff.
fn man_pages() -> io::Result<Vec<(String, Vec<u8>)>> {
    // The pages name the version alone, not how this copy was installed;
    // `help` needs no page of its own.
    let cmd = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    let mut pages = vec![man_page(cmd.clone())?];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{BIN}-{}", sub.get_name());
        pages.push(man_page(sub.clone().name(name.clone()).bin_name(name))?);
    }
    Ok(pages)
}

/// One page: clap_mangen's sections, with the examples of `after_help`
/// under EXAMPLES (clap_mangen would title them EXTRA).
fn man_page(mut cmd: clap::Command) -> io::Result<(String, Vec<u8>)> {
    cmd.build();
    let man = Man::new(cmd.clone());
    let mut roff = Vec::new();
    man.render_title(&mut roff)?;
    man.render_name_section(&mut roff)?;
    man.render_synopsis_section(&mut roff)?;
    man.render_description_section(&mut roff)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut roff)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut roff)?;
    }
    if let Some(text) = cmd.get_after_help().map(|t| t.to_string()) {
        let body = text
            .strip_prefix("Examples:\n")
            .unwrap_or(&text)
            .to_string();
        let mut extra = Vec::new();
        Man::new(cmd.clone().after_help(body)).render_extra_section(&mut extra)?;
        let extra = String::from_utf8_lossy(&extra).replacen(".SH EXTRA", ".SH EXAMPLES", 1);
        roff.extend_from_slice(extra.as_bytes());
    }
    if cmd.get_version().is_some() {
        man.render_version_section(&mut roff)?;
    }
    Ok((man.get_filename(), roff))
}
