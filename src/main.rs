use std::io::Write;
use std::process::ExitCode;

use clap::Parser as _;
use ominigate_codex::{cli::Cli, error, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version: clap prints them to stdout.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            let _ = anstream::stderr().write_all(error::render_usage(&e).as_bytes());
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(&cli, &mut out);
    let _ = out.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader closed the pipe (`ominigate-codex man | head -1`).
        Err(err) if error::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let (code, text) = error::render(&err);
            let _ = anstream::stderr().write_all(text.as_bytes());
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
