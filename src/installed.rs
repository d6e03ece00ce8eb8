//! How this binary was installed, for `--version`, so a bug report can say
//! which: npm's launcher (`bin/ominigate-codex.js`) sets
//! `OMINIGATE_CODEX_INSTALLER=npm` when it runs the binary; otherwise
//! build.rs recorded whether it was built from a packaged crate (`cargo
//! install`), by the release workflow, or from a source checkout.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

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

/// Where a binary is that may go away, so that a login service running it
/// would stop starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// A cargo build directory (one of its parents holds `CACHEDIR.TAG`):
    /// `cargo clean` removes it.
    Build,
    /// npm's cache, where `npx` runs packages from: npm prunes it.
    NpmCache,
}

/// Whether `path` (or the file it links to) is in a build or cache
/// directory.
pub fn transient(path: &Path) -> Option<Transient> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    [path, real.as_path()].into_iter().find_map(|p| {
        if p.components()
            .any(|c| matches!(c.as_os_str().to_str(), Some("_npx" | ".npm")))
        {
            Some(Transient::NpmCache)
        } else if p
            .ancestors()
            .skip(1)
            .any(|d| d.join("CACHEDIR.TAG").is_file())
        {
            Some(Transient::Build)
        } else {
            None
        }
    })
}

/// The binary a login service should run (`bridge --print-service`): the
/// first `ominigate-codex` on `path_var` that is not in a build or cache
/// directory, else `current` (this binary), with why it may not last.
pub fn service_binary(path_var: Option<&OsStr>, current: PathBuf) -> (PathBuf, Option<Transient>) {
    match crate::fs::on_path(BIN, path_var).find(|p| transient(p).is_none()) {
        Some(lasting) => (lasting, None),
        None => {
            let why = transient(&current);
            (current, why)
        }
    }
}

/// The warning for a service that would run `path`, which may go away.
pub fn transient_warning(path: &Path, why: Transient) -> String {
    let (place, gone) = match why {
        Transient::Build => ("a cargo build directory", "`cargo clean` removes it"),
        Transient::NpmCache => ("npm's cache (npx)", "npm prunes it"),
    };
    format!(
        "{} is in {place}: the service stops starting once {gone}, and no `{BIN}` is on PATH. \
         Install it for good (`npm i -g {BIN}` or `cargo install {BIN}`), then print the service again",
        path.display()
    )
}

/// The installed command's name.
const BIN: &str = "ominigate-codex";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_npm_cache_directories_do_not_last() {
        let dir = tempfile::tempdir().unwrap();
        let exe = |rel: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p
        };
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/CACHEDIR.TAG"), "").unwrap();
        let built = exe("target/release/ominigate-codex");
        let npx = exe("home/.npm/_npx/1a2b/node_modules/.bin/ominigate-codex");
        let global = exe("usr/local/bin/ominigate-codex");
        assert_eq!(transient(&built), Some(Transient::Build));
        assert_eq!(transient(&npx), Some(Transient::NpmCache));
        assert_eq!(transient(&global), None);
        let linked = dir.path().join("home/bin/ominigate-codex");
        std::fs::create_dir_all(linked.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&built, &linked).unwrap();
        assert_eq!(
            transient(&linked),
            Some(Transient::Build),
            "a link into target/"
        );

        // npx puts its cache's .bin on PATH: skipped for a lasting one.
        let path = std::env::join_paths([npx.parent().unwrap(), global.parent().unwrap()]).unwrap();
        assert_eq!(
            service_binary(Some(&path), built.clone()),
            (global.clone(), None)
        );
        let path = std::env::join_paths([npx.parent().unwrap()]).unwrap();
        assert_eq!(
            service_binary(Some(&path), npx.clone()),
            (npx.clone(), Some(Transient::NpmCache))
        );
        assert_eq!(
            service_binary(None, built.clone()),
            (built, Some(Transient::Build))
        );
    }

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
