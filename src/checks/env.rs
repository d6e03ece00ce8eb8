//! `env.key` and `env.openai_conflict`. The key's value is never shown:
//! only whether it is set and its masked form.

use std::path::{Path, PathBuf};

use super::check::Check;
use crate::codex::messages;
use crate::codex::version::PROMPT_INPUT;
use crate::fs;
use crate::report::shell_setup;
use crate::setup::Setup;
use crate::setup::facts::{self, Key, env_key_name};
use crate::shown::mask_aside;

pub const KEY: &str = "env.key";
pub const CONFLICT: &str = "env.openai_conflict";

/// Shell startup files that may export the key, relative to `$HOME`.
const RC_FILES: [&str; 8] = [
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".config/fish/config.fish",
];

/// 1-based lines of `text` that set `name`: `export NAME=…`, `NAME=…`,
/// or fish's `set -gx NAME …`. Comments are ignored.
pub fn exports(text: &str, name: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim();
            if line.starts_with('#') {
                return false;
            }
            let posix = line.strip_prefix("export ").unwrap_or(line).trim_start();
            if posix
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('='))
            {
                return true;
            }
            let mut words = line.split_whitespace();
            words.next() == Some("set") && words.find(|w| !w.starts_with('-')) == Some(name)
        })
        .map(|(i, _)| i + 1)
        .collect()
}

/// `file:line` of every startup file line under `home` that sets `name`.
pub fn find_exports(home: Option<&Path>, name: &str) -> Vec<String> {
    let Some(home) = home else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for rel in RC_FILES {
        let path: PathBuf = home.join(rel);
        let Ok(snap) = fs::read(&path) else {
            continue;
        };
        let Some(bytes) = snap.bytes else { continue };
        let text = String::from_utf8_lossy(&bytes);
        for line in exports(&text, name) {
            found.push(format!("{}:{line}", path.display()));
        }
    }
    found
}

pub fn key_check(inp: &Setup) -> Check {
    let name = env_key_name(inp);
    let home = inp.env.get("HOME").filter(|h| !h.is_empty()).map(Path::new);
    match facts::key(&inp.env, &name) {
        Key::Placeholder(v) => Check::fail(
            KEY,
            format!("{name} is still the guide's placeholder ({})", mask_aside(v)),
        )
        .detail("OminiGate answers 401 to it")
        .fix(format!(
            "put your real key in it: create one in the OminiGate dashboard, then `export {name}=\"<your key>\"`"
        )),
        Key::Padded(v) => Check::warn(
            KEY,
            format!("{name} is set ({}) but has spaces or a line break around it", mask_aside(v.trim())),
        )
        .detail("the gateway compares the key exactly and will likely answer 401")
        .fix(format!("set it again without the white space: `export {name}=\"<your key>\"`")),
        Key::Set(v) => Check::ok(KEY, format!("{name} is set ({})", mask_aside(v))),
        state => {
            let what = if state == Key::Blank { "set but empty" } else { "not set" };
            let mut c = Check::fail(KEY, format!("{name} is {what} in this shell")).detail(
                format!("Codex says: {}", messages::missing_env(&name)),
            );
            let found = find_exports(home, &name);
            if found.is_empty() {
                let (rc, line) = shell_setup(inp.env.get("SHELL"), &name);
                c = c
                    .detail("no shell startup file sets it")
                    .fix(format!("add this line to {rc}, with your key: {line}"))
                    .fix("then open a new terminal (or run the same line in this one) and launch Codex from it");
            } else {
                c = c
                    .detail(format!(
                        "set in {}, but not in this shell: Codex reads env vars from the shell that launched it",
                        found.join(", ")
                    ))
                    .fix(format!(
                        "open a new terminal (or `source {}`) and launch Codex from it",
                        found[0].rsplit_once(':').map_or(found[0].as_str(), |(f, _)| f)
                    ));
            }
            c
        }
    }
}

pub fn conflict_check(inp: &Setup) -> Check {
    let key_name = env_key_name(inp);
    let set: Vec<&str> = ["OPENAI_API_KEY", "OPENAI_BASE_URL"]
        .into_iter()
        .filter(|k| *k != key_name && inp.env.get(k).is_some())
        .collect();
    if set.is_empty() {
        return Check::ok(CONFLICT, "OPENAI_API_KEY and OPENAI_BASE_URL are not set");
    }
    let v = inp.codex.effective();
    let mut c = Check::warn(CONFLICT, format!("{} set in this shell", set.join(" and ")))
        .detail("the guide: a lingering OPENAI_API_KEY or OPENAI_BASE_URL can clash with the profile when switching between OminiGate and OpenAI");
    if set.contains(&"OPENAI_BASE_URL") {
        c = c.detail(if v < PROMPT_INPUT {
            format!("Codex {v} sends plain `codex` (the OpenAI provider) to OPENAI_BASE_URL")
        } else {
            format!(
                "Codex {v} ignores OPENAI_BASE_URL, but older releases and other tools honour it"
            )
        });
    }
    c = c.fix(format!("unset {}", set.join(" ")));
    let home = inp.env.get("HOME").filter(|h| !h.is_empty()).map(Path::new);
    let lines: Vec<String> = set.iter().flat_map(|k| find_exports(home, k)).collect();
    if !lines.is_empty() {
        c = c.fix(format!(
            "and delete the lines that set them: {}",
            lines.join(", ")
        ));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_found_in_posix_and_fish_syntax() {
        let text = "# export K=old\nexport K=\"x\"\nK=y\nexport KEY2=z\n  set -gx K v\nset -x OTHER K\necho K=1\n";
        assert_eq!(exports(text, "K"), [2, 3, 5]);
        assert_eq!(exports("", "K"), Vec::<usize>::new());
    }
}
