//! Codex's command line as `ominigate-codex codex` builds it: where the
//! profile and the bridge's `-c` go among the user's arguments
//! ([`with_ours`]), and which of the user's `-c` would undo the bridge
//! ([`provider_override`]).
//!
//! Measured with real Codex (`codex … exec -c x=1 hi` against two loopback
//! ports, the config's `base_url` on one and the `-c` on the other):
//!
//! | where our `-c` goes                      | 0.133 | 0.171 |
//! |------------------------------------------|-------|-------|
//! | before `exec`, `exec` has a `-c` too     | config's (dropped) | ours |
//! | before `exec`, `exec` has none           | ours  | ours  |
//! | right after `exec`                       | ours  | ours  |
//!
//! and Codex 0.94 and older read `--profile` only after `exec`. So both go
//! right after `exec` wherever it stands (after top-level options such as
//! `--model X`), and first when there is no `exec` (the interactive
//! Codex; `review` and the others refuse `--profile` after them).

use std::ffi::{OsStr, OsString};

use crate::spec;

/// Codex's top-level options that take a value (0.133 to 0.171, `codex
/// --help`), the rest being flags. `-i/--image` takes one or more.
const TAKES_VALUE: &[&str] = &[
    "-c",
    "--config",
    "--enable",
    "--disable",
    "--remote",
    "--remote-auth-token-env",
    "-m",
    "--model",
    "--local-provider",
    "-p",
    "--profile",
    "--profile-v2",
    "-s",
    "--sandbox",
    "-C",
    "--cd",
    "--add-dir",
    "-a",
    "--ask-for-approval",
];
const TAKES_VALUES: &[&str] = &["-i", "--image"];

/// Where `exec` (or its alias `e`) stands in `user` as Codex's subcommand:
/// the first argument that is no option nor an option's value.
fn exec_at(user: &[OsString]) -> Option<usize> {
    let mut i = 0;
    let mut many = false;
    while let Some(arg) = user.get(i) {
        let text = arg.to_string_lossy();
        if text == "--" {
            return None;
        }
        if text.starts_with('-') && text.len() > 1 {
            many = TAKES_VALUES.contains(&&*text);
            i += if TAKES_VALUE.contains(&&*text) { 2 } else { 1 };
            continue;
        }
        if many {
            // Another value of `-i`.
            i += 1;
            continue;
        }
        return (text == "exec" || text == "e").then_some(i);
    }
    None
}

/// Codex's command line: the user's arguments with `--profile ominigate`
/// and, when there is a bridge, its `-c …base_url=` placed where every
/// release reads them (see the module's table).
pub fn with_ours(bridge: Option<&str>, user: &[OsString]) -> Vec<OsString> {
    let mut ours: Vec<OsString> = vec!["--profile".into(), spec::PROFILE_NAME.into()];
    if let Some(url) = bridge {
        ours.push("-c".into());
        ours.push(format!("model_providers.{}.base_url=\"{url}\"", spec::PROVIDER_ID).into());
    }
    let at = exec_at(user).map_or(0, |i| i + 1);
    let mut out = user[..at].to_vec();
    out.extend(ours);
    out.extend_from_slice(&user[at..]);
    out
}

/// The first of the user's `-c`/`--config` values (`-c K=V`, `-cK=V`,
/// `--config K=V`, `--config=K=V`) that sets the provider's `base_url`,
/// whole or through its table: Codex takes the last value given, so it
/// would send Codex past the bridge.
pub fn provider_override(user: &[OsString]) -> Option<String> {
    let mut args = user.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        let value = match &*arg {
            "-c" | "--config" => args.next(),
            a => a
                .strip_prefix("--config=")
                .or_else(|| a.strip_prefix("-c"))
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string().into()),
        };
        if let Some(value) = value
            && sets_base_url(&value)
        {
            return Some(value.into_owned());
        }
    }
    None
}

/// Whether `-c KEY=VALUE` sets the provider's `base_url`: its key (dotted,
/// spaces and quotes around the parts ignored) is `model_providers`,
/// `model_providers.ominigate` or `model_providers.ominigate.base_url`.
fn sets_base_url(value: &str) -> bool {
    let key = value.split_once('=').map_or(value, |(k, _)| k);
    let parts: Vec<&str> = key
        .split('.')
        .map(|p| p.trim().trim_matches(['"', '\'']))
        .collect();
    matches!(
        parts.as_slice(),
        ["model_providers"]
            | ["model_providers", spec::PROVIDER_ID]
            | ["model_providers", spec::PROVIDER_ID, "base_url"]
    )
}

/// `os` as shown in an error: escaped, cut.
pub fn shown(os: &OsStr) -> String {
    crate::shown::cut(&crate::shown::value(&os.to_string_lossy()), 120).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn strings(v: Vec<OsString>) -> Vec<String> {
        v.into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    const URL: &str = "http://127.0.0.1:9/v1";
    const OURS: [&str; 4] = [
        "--profile",
        "ominigate",
        "-c",
        "model_providers.ominigate.base_url=\"http://127.0.0.1:9/v1\"",
    ];

    #[test]
    fn ours_go_right_after_exec_wherever_it_stands() {
        let placed = |user: &[&str]| strings(with_ours(Some(URL), &args(user)));
        let after = |before: &[&str], rest: &[&str]| {
            let mut v: Vec<String> = before.iter().map(|s| s.to_string()).collect();
            v.extend(OURS.map(String::from));
            v.extend(rest.iter().map(|s| s.to_string()));
            v
        };
        assert_eq!(
            placed(&["exec", "-c", "x=1", "hi"]),
            after(&["exec"], &["-c", "x=1", "hi"])
        );
        assert_eq!(
            placed(&["--model", "m", "exec", "-c", "x=1", "hi"]),
            after(&["--model", "m", "exec"], &["-c", "x=1", "hi"])
        );
        assert_eq!(
            placed(&[
                "-c", "a=1", "--search", "-i", "x.png", "y.png", "-m", "m", "e", "hi"
            ]),
            after(
                &[
                    "-c", "a=1", "--search", "-i", "x.png", "y.png", "-m", "m", "e"
                ],
                &["hi"]
            )
        );
        // No exec: the interactive Codex, another subcommand, a prompt.
        for user in [
            &["--model", "m"][..],
            &["review", "--uncommitted"],
            &["write exec docs"],
            &["--model", "exec"],
            &["--", "exec"],
            &["-i", "a.png", "exec"],
        ] {
            assert_eq!(placed(user), after(&[], user), "{user:?}");
        }
        assert_eq!(
            strings(with_ours(None, &args(&["--model", "m", "exec", "hi"]))),
            ["--model", "m", "exec", "--profile", "ominigate", "hi"]
        );
    }

    #[test]
    fn a_users_own_base_url_is_found_in_every_form() {
        let found = |user: &[&str]| provider_override(&args(user));
        for user in [
            &["-c", "model_providers.ominigate.base_url=\"http://gw\""][..],
            &["exec", "-cmodel_providers.ominigate.base_url=x", "hi"],
            &["--config", "model_providers.ominigate={base_url=\"x\"}"],
            &["--config=model_providers.ominigate.base_url=x"],
            &["-c", " model_providers . \"ominigate\" . base_url = x"],
            &["-c", "model_providers={ominigate={base_url=\"x\"}}"],
        ] {
            assert!(found(user).is_some(), "{user:?}");
        }
        for user in [
            &["-c", "model_providers.other.base_url=x"][..],
            &["-c", "model_providers.ominigate.env_key=X"],
            &["-c", "openai_base_url=x"],
            &["exec", "--", "-c", "model_providers.ominigate.base_url=x"],
            &["model_providers.ominigate.base_url=x"],
        ] {
            assert_eq!(found(user), None, "{user:?}");
        }
    }
}
