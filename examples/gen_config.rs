//! Write a generated Codex config of about SIZE bytes to stdout or a file:
//!
//!     cargo run --release --example gen_config -- 1M > config.toml
//!     cargo run --release --example gen_config -- 10M /tmp/config.toml
//!
//! SIZE is a byte count or `K` / `M` (1024-based). Used by `bench/run.sh`;
//! the generator itself is shared with `benches/edit.rs`.

#[path = "../benches/support/gen_config.rs"]
mod gen_config;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(size) = args.first().and_then(|s| gen_config::parse_size(s)) else {
        eprintln!("usage: gen_config SIZE [OUT]   (SIZE: bytes, or like 5K, 1M)");
        return ExitCode::from(2);
    };
    let text = gen_config::generate(size);
    let written = match args.get(1) {
        Some(path) => std::fs::write(path, text),
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_config: {e}");
            ExitCode::FAILURE
        }
    }
}
