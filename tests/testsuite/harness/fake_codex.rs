//! A fake `codex` on the sandbox's PATH, and what it recorded.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::Sandbox;

/// A fake `codex` in the sandbox's PATH: `--version` prints `version`;
/// `--profile ominigate debug prompt-input` prints `stderr` and exits with
/// `exit`, after recording its CODEX_HOME and that home's config.toml.
pub fn fake_codex(sb: &Sandbox, version_line: &str, stderr: &str, exit: i32) -> PathBuf {
    let path = sb.dir.path().join("bin/codex");
    let log = sb.dir.path().join("codex-log");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --version ]; then echo '{version_line}'; exit 0; fi\n\
         if [ \"$1 $2 $3 $4\" = '--profile ominigate debug prompt-input' ]; then\n\
           echo \"CODEX_HOME=$CODEX_HOME\" > '{log}'\n\
           /bin/cat \"$CODEX_HOME/config.toml\" >> '{log}' 2>/dev/null\n\
           printf '%s\\n' '{stderr}' | /bin/sed \"s#HOME#$CODEX_HOME#g\" >&2\n\
           exit {exit}\n\
         fi\n\
         echo \"unexpected: $*\" >&2; exit 64\n",
        log = log.display(),
        stderr = stderr.replace('\'', "'\\''"),
    );
    std::fs::write(&path, script).expect("write fake codex");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// What the fake codex recorded (empty when it was not run).
pub fn codex_log(sb: &Sandbox) -> String {
    std::fs::read_to_string(sb.dir.path().join("codex-log")).unwrap_or_default()
}
