//! The config findings that cause Codex's own error messages (its words are
//! in [`crate::codex::messages`]), and the fix for each.

use toml_edit::Item;

use crate::codex::messages::{CHAT_REMOVED_MSG, CODEX_CHAT_ERROR};
use crate::paths::CodexHome;
use crate::setup::files::{ConfigFile, Place};
use crate::spec;

pub fn chat_refused() -> String {
    CODEX_CHAT_ERROR.to_string()
}

/// Providers Codex knows without a `[model_providers.*]` block.
pub const BUILTIN_PROVIDERS: [&str; 4] = ["openai", "oss", "ollama", "lmstudio"];

/// Every `wire_api = "chat"` in any provider block of `files`.
pub fn chat_blocks(files: &[&ConfigFile]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for f in files {
        let Some(providers) = f.get(&["model_providers"]).and_then(Item::as_table_like) else {
            continue;
        };
        for (id, block) in providers.iter() {
            let wire = block
                .as_table_like()
                .and_then(|b| b.get("wire_api"))
                .and_then(Item::as_str);
            if wire == Some("chat") {
                found.push((
                    id.to_string(),
                    f.quote(&["model_providers", id, "wire_api"]),
                ));
            }
        }
    }
    found
}

/// The fix for one `wire_api = "chat"` finding.
pub fn chat_fix(id: &str, quote: &str) -> String {
    format!("{quote}: set `wire_api = \"responses\"` in [model_providers.{id}]")
}

/// A top-level `profile = "NAME"` selector.
pub fn selector(f: &ConfigFile) -> Option<(String, Place)> {
    f.get_str(&["profile"])
        .map(|name| (name.to_string(), f.place(&["profile"])))
}

/// The fix for a selector Codex 0.134+ refuses; `me` is this tool as the
/// user runs it on this home ([`CodexHome::ominigate_codex`]).
pub fn selector_fixes(name: &str, place: &Place, me: &str) -> Vec<String> {
    vec![
        format!("{place}: delete the line `profile = \"{name}\"`"),
        format!(
            "to make OminiGate what plain `codex` uses, run `{me} install --default` (sets top-level model_provider and model)"
        ),
    ]
}

/// The fix for `[profiles.ominigate]` on Codex 0.134+.
pub fn legacy_table_fixes(place: &Place, home: &CodexHome) -> Vec<String> {
    vec![
        format!(
            "run `{} install`: it moves [profiles.ominigate] ({place}) into {}",
            home.ominigate_codex(),
            home.profile_file().display()
        ),
        format!(
            "or by hand: put its keys as top-level keys in {} and delete the table from {place}",
            home.profile_file().display()
        ),
    ]
}

/// The lines that make a profile, for a remediation.
pub fn profile_lines(model: &str) -> String {
    format!(
        "model = \"{model}\" and model_provider = \"{}\"",
        spec::PROVIDER_ID
    )
}

/// Fixes for what Codex printed when it refused the config; `me` as in
/// [`selector_fixes`].
pub fn fixes_for_codex_output(stderr: &str, me: &str) -> Vec<String> {
    let mut fixes = Vec::new();
    if stderr.contains(CHAT_REMOVED_MSG) {
        fixes.push(
            "set `wire_api = \"responses\"` at the line Codex names (see provider.fields)".into(),
        );
    }
    if stderr.contains("cannot be used while") && stderr.contains("legacy") {
        fixes.push(format!(
            "run `{me} install`: it moves the legacy profile into ominigate.config.toml (see profile.location)"
        ));
    } else if stderr.contains("legacy `profile = ") {
        fixes.push(
            "delete the top-level `profile = …` line from config.toml (see profile.location)"
                .into(),
        );
    }
    if stderr.contains("Model provider `") && stderr.contains("` not found") {
        fixes.push(format!(
            "run `{me} install`: it adds [model_providers.ominigate] to config.toml (see provider.present)"
        ));
    }
    if stderr.contains("config profile `") && stderr.contains("` not found") {
        fixes.push(format!("run `{me} install`: it writes the profile where this Codex reads it (see profile.location)"));
    }
    if stderr.contains("Missing environment variable") {
        fixes.push("export the variable Codex names (see env.key)".into());
    }
    if stderr.contains("provider name must not be empty") {
        fixes.push(
            "add `name = \"OminiGate\"` to [model_providers.ominigate] (see provider.fields)"
                .into(),
        );
    }
    if fixes.is_empty() {
        fixes.push(
            "fix what Codex quotes above, at the file and line it names, then run doctor again"
                .into(),
        );
    }
    fixes
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn codex_messages_map_to_fixes() {
        let cases = [
            (
                "Error: /h/config.toml:5:12: `wire_api = \"chat\"` is no longer supported.\nHow to fix: …",
                "wire_api = \\\"responses\\\"",
            ),
            (
                "Error: --profile `ominigate` cannot be used while /h/config.toml contains legacy `profile = \"ominigate\"` or `[profiles.ominigate]` config; …",
                "moves the legacy profile",
            ),
            (
                "Error: legacy `profile = \"ominigate\"` config is no longer supported; …",
                "delete the top-level",
            ),
            (
                "Error: Model provider `ominigate` not found",
                "adds [model_providers.ominigate]",
            ),
            (
                "Error: config profile `ominigate` not found",
                "writes the profile",
            ),
            (
                "Missing environment variable: `OMINIGATE_API_KEY`.",
                "env.key",
            ),
            (
                "model_providers.ominigate: provider name must not be empty",
                "name = ",
            ),
            ("something new", "fix what Codex quotes"),
        ];
        for (stderr, want) in cases {
            let fixes = fixes_for_codex_output(stderr, "ominigate-codex");
            let joined = format!("{fixes:?}");
            assert!(joined.contains(want), "{stderr}: {joined}");
        }
    }

    #[test]
    fn chat_is_found_in_any_provider_block() {
        let f = ConfigFile::parse(
            Path::new("/h/config.toml"),
            "[model_providers.other]\nwire_api = \"chat\"\n[model_providers.ominigate]\nwire_api = \"responses\"\n",
        )
        .unwrap();
        let found = chat_blocks(&[&f]);
        assert_eq!(
            found,
            [(
                "other".to_string(),
                "/h/config.toml:2 (`wire_api = \"chat\"`)".to_string()
            )]
        );
    }
}
