//! `ominigate-codex doctor`: find out why Codex does or does not reach
//! OminiGate, and print the fix. Reads everything, writes nothing: the
//! checks are [`crate::checks`]; this prints their report, as text or JSON.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Result;

use crate::checks::check::{self, Status};
use crate::checks::{Reach, render, run_checks};
use crate::cli::DoctorArgs;
use crate::error::{Kind, Silent};
use crate::paths::CodexHome;
use crate::report::{Level, Ui};
use crate::setup::Setup;
use crate::shown;

pub fn run(home: &CodexHome, args: &DoctorArgs, ui: &mut Ui<'_>) -> Result<()> {
    let inp = Setup::of_process(home, args.codex.detect());
    let secrets = inp.secrets();
    let reach = match args.net.offline() {
        true => Reach::Offline,
        false => Reach::Gateway,
    };
    let mut checks = run_checks(&inp, reach, Duration::from_secs(args.net.timeout));
    check::sanitize_all(&mut checks, &secrets);
    let report = render::Report {
        home: shown::value(&format!("{} ({})", home.dir.display(), home.source)).into_owned(),
        codex_version: inp.codex.version().map(|v| v.to_string()),
        me: shown::value(&home.ominigate_codex()).into_owned(),
        checks,
    };
    if args.json {
        writeln!(ui.out_styled(), "{}", render::json(&report))?;
    } else {
        let style = render::Style {
            verbose: ui.level >= Level::Verbose,
            ..render::Style::detect(
                std::io::stdout().is_terminal(),
                std::env::var("NO_COLOR").ok().as_deref(),
            )
        };
        write!(ui.out_styled(), "{}", render::human(&report, style))?;
    }
    if check::overall(&report.checks) == Status::Fail {
        return Err(Silent(Kind::Failure).into());
    }
    Ok(())
}
