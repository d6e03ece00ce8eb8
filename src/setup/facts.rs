//! One answer each to what commands ask about a setup: which variable holds
//! the key and whether it is set ([`key`]), which models Codex uses with
//! OminiGate ([`InUse`]).

use super::resolve::{Run, lookup, resolve};
use super::{Env, Setup};
use crate::shown;
use crate::spec;

/// The guide's example values, which people paste unchanged (OminiGate
/// answers 401 to them).
pub const PLACEHOLDERS: [&str; 2] = ["sk-omg-your-api-key", "sk-omg-…"];

/// What the key's variable holds. A value of white space only is
/// [`Key::Blank`]: not set, for every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key<'a> {
    Unset,
    /// Set, but empty or white space only.
    Blank,
    /// Still the guide's placeholder (trimmed).
    Placeholder(&'a str),
    /// A key with white space or a line break around it (as set).
    Padded(&'a str),
    Set(&'a str),
}

impl<'a> Key<'a> {
    /// Whether a key is there at all (the placeholder and a padded one
    /// count; doctor says what is wrong with them).
    pub fn is_set(self) -> bool {
        self.value().is_some()
    }

    /// The key to send, without surrounding white space. Only ever sent to
    /// the gateway or masked; never printed.
    pub fn value(self) -> Option<&'a str> {
        match self {
            Key::Unset | Key::Blank => None,
            Key::Placeholder(v) | Key::Padded(v) | Key::Set(v) => Some(v.trim()),
        }
    }
}

/// The key in the variable `name` of `env`.
pub fn key<'a>(env: &'a Env, name: &str) -> Key<'a> {
    match env.get(name) {
        None => Key::Unset,
        Some(v) if v.trim().is_empty() => Key::Blank,
        Some(v) if PLACEHOLDERS.contains(&v.trim()) => Key::Placeholder(v),
        Some(v) if v.trim() != v => Key::Padded(v),
        Some(v) => Key::Set(v),
    }
}

/// The key `codex --profile ominigate` sends: from the variable its
/// `env_key` names ([`env_key_name`]).
pub fn profile_key(s: &Setup) -> Option<String> {
    key(&s.env, &env_key_name(s)).value().map(str::to_string)
}

/// The `env_key` the `--profile ominigate` run uses, if valid; else the
/// default.
pub fn env_key_name(s: &Setup) -> String {
    lookup(
        &s.profile_stack(),
        &["model_providers", spec::PROVIDER_ID, "env_key"],
    )
    .and_then(|(item, _)| item.as_str())
    .filter(|n| spec::check_env_key(n).is_ok())
    .unwrap_or(spec::ENV_KEY)
    .to_string()
}

/// The models Codex uses with OminiGate now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    /// `codex --profile ominigate`'s model, when that run uses OminiGate.
    pub profile: Option<String>,
    /// Plain `codex`'s model, when it uses OminiGate (`install --default`).
    pub default: Option<String>,
}

impl InUse {
    pub fn of(s: &Setup) -> InUse {
        let view = s.view();
        // Shown as they may be: a config value cannot drive the terminal.
        let model = |run| {
            let r = resolve(&view, run);
            match r.uses_ominigate() {
                true => r.model.map(|m| shown::value(&m.value).into_owned()),
                false => None,
            }
        };
        InUse {
            profile: model(Run::Profile),
            default: model(Run::Plain),
        }
    }

    pub fn tags(&self, id: &str) -> Vec<&'static str> {
        let mut tags = Vec::new();
        if self.profile.as_deref() == Some(id) {
            tags.push("profile");
        }
        if self.default.as_deref() == Some(id) {
            tags.push("default");
        }
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_of_white_space_is_not_set_for_anyone() {
        let env = Env::from_pairs([
            ("EMPTY", ""),
            ("SPACES", "  \n"),
            ("GUIDE", " sk-omg-your-api-key"),
            ("PADDED", " sk-omg-real\n"),
            ("GOOD", "sk-omg-real"),
        ]);
        assert_eq!(key(&env, "NONE"), Key::Unset);
        assert_eq!(key(&env, "EMPTY"), Key::Blank);
        assert_eq!(key(&env, "SPACES"), Key::Blank);
        assert!(!key(&env, "SPACES").is_set());
        assert_eq!(key(&env, "GUIDE"), Key::Placeholder(" sk-omg-your-api-key"));
        assert_eq!(key(&env, "PADDED"), Key::Padded(" sk-omg-real\n"));
        assert_eq!(key(&env, "PADDED").value(), Some("sk-omg-real"));
        assert_eq!(key(&env, "GOOD").value(), Some("sk-omg-real"));
        assert!(key(&env, "GUIDE").is_set());
    }
}
