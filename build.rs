//! Records how this binary is being built, for `--version` (src/installed.rs).
//!
//! `cargo package` writes `Cargo.toml.orig` beside the normalized manifest,
//! so a build from a packaged crate (crates.io, `cargo install`) finds it
//! and a build from a source checkout does not. The release workflow sets
//! `OMINIGATE_CODEX_BUILT_AS=release` for the archives it publishes.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=OMINIGATE_CODEX_BUILT_AS");
    let built_as = match std::env::var("OMINIGATE_CODEX_BUILT_AS").as_deref() {
        Ok("release") => "release",
        _ if std::path::Path::new("Cargo.toml.orig").exists() => "crate",
        _ => "source",
    };
    // Under another name than the input: `cargo test` puts this in the
    // tests' environment, and a cargo the tests run must not see it as
    // OMINIGATE_CODEX_BUILT_AS, or it would rebuild every time.
    println!("cargo::rustc-env=OMINIGATE_CODEX_BUILD_KIND={built_as}");
}
