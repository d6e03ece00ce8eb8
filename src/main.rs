use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ominigate_codex::{cli::Cli, error, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
