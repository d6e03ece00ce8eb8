//! How this binary was installed, for `--version`, so a bug report can say
//! which: npm's launcher (`bin/ominigate-codex.js`) sets
//! `OMINIGATE_CODEX_INSTALLER=npm` when it runs the binary; otherwise
//! build.rs recorded whether it was built from a packaged crate (`cargo
//! install`), by the release workflow, or from a source checkout.

/// The variable npm's launcher sets for the binary it runs.
pub const INSTALLER_VAR: &str = "OMINIGATE_CODEX_INSTALLER";

/// What build.rs recorded: `crate`, `release` or `source`.
const BUILT_AS: &str = env!("OMINIGATE_CODEX_BUILD_KIND");

/// `0.1.0 (installed with npm)`: what `--version` prints after the name.
pub fn version() -> String {
    let installer = std::env::var_os(INSTALLER_VAR);
    let how = how(installer.as_deref().and_then(|v| v.to_str()), BUILT_AS);
    format!("{} ({how})", env!("CARGO_PKG_VERSION"))
}

/// The launcher's word wins; any other value of the variable is ignored.
fn how(installer: Option<&str>, built_as: &str) -> &'static str {
    match (installer, built_as) {
        (Some("npm"), _) => "installed with npm",
        (_, "crate") => "installed with cargo",
        (_, "release") => "release archive",
        _ => "built from source",
    }
}

#[cfg(test)]
mod tests {
    use super::how;

    #[test]
    fn npm_launcher_wins_over_the_build() {
        for built in ["crate", "release", "source"] {
            assert_eq!(how(Some("npm"), built), "installed with npm");
        }
    }

    #[test]
    fn the_build_decides_otherwise() {
        assert_eq!(how(None, "crate"), "installed with cargo");
        assert_eq!(how(None, "release"), "release archive");
        assert_eq!(how(None, "source"), "built from source");
        assert_eq!(how(Some("brew"), "source"), "built from source");
        assert_eq!(how(Some(""), "crate"), "installed with cargo");
    }
}
