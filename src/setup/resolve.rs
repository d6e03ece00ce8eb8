//! Which provider and model Codex ends up with, walking its precedence:
//! profile → trusted project configs (closest first) → `$CODEX_HOME/config.toml`
//! → `/etc/codex/config.toml` → built-in defaults. Pure: no IO.

use toml_edit::Item;

use crate::codex::messages;
use crate::codex::version::{Layout, ProfileLayout};
use crate::paths::CodexHome;
use crate::setup::diagnose::{self, BUILTIN_PROVIDERS};
use crate::setup::facts;
use crate::setup::files::{ConfigFile, Place};
use crate::spec;

/// The files one Codex invocation reads, highest precedence first.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub layout: Layout,
    pub home: &'a CodexHome,
    pub user: Option<&'a ConfigFile>,
    /// `ominigate.config.toml`, parsed (read only on 0.134+).
    pub profile_file: Option<&'a ConfigFile>,
    /// Trusted project configs, closest to the current directory first.
    pub projects: Vec<&'a ConfigFile>,
    pub system: Option<&'a ConfigFile>,
}

impl<'a> View<'a> {
    /// What plain `codex` merges, highest first: projects, user, system.
    pub fn base(&self) -> Vec<&'a ConfigFile> {
        let mut base = self.projects.clone();
        base.extend(self.user);
        base.extend(self.system);
        base
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// `codex`
    Plain,
    /// `codex --profile ominigate`
    Profile,
}

impl Run {
    pub fn command(self) -> &'static str {
        match self {
            Run::Plain => "plain `codex`",
            Run::Profile => "`codex --profile ominigate`",
        }
    }
}

/// A resolved setting and where it came from (`None`: Codex's built-in default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub from: Option<Place>,
}

/// Codex refuses to start: its words, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub codex_says: String,
    pub fixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub run: Run,
    pub refusal: Option<Refusal>,
    pub provider: Setting,
    pub model: Option<Setting>,
    /// Silent surprises worth telling (a missing profile file, an override).
    pub notes: Vec<String>,
}

/// The first file of `stack` that has `keys`, and the item there.
pub fn lookup<'a>(stack: &[&'a ConfigFile], keys: &[&str]) -> Option<(&'a Item, &'a ConfigFile)> {
    stack
        .iter()
        .find_map(|f| f.get(keys).map(|item| (item, *f)))
}

fn setting(stack: &[&ConfigFile], keys: &[&str]) -> Option<Setting> {
    let (item, file) = lookup(stack, keys)?;
    Some(Setting {
        value: item.as_str()?.to_string(),
        from: Some(file.place(keys)),
    })
}

/// What `run` ends up with.
pub fn resolve(view: &View<'_>, run: Run) -> Resolved {
    let file_era = view.layout.profile == ProfileLayout::File;
    let mut notes = Vec::new();
    // 0.134+: the legacy profile table or selector (checked before anything else).
    let mut refusals: Vec<Refusal> = match file_era {
        true => legacy_refusals(view, run),
        false => Vec::new(),
    };
    let stack = merged(view, run, file_era, &mut notes);
    // 0.95+: `wire_api = "chat"` anywhere stops every run.
    if !view.layout.chat_supported {
        refusals.extend(chat_refusals(&stack));
    }
    let profile_name = profile_name(&stack, run, file_era);
    if let Some(name) = &profile_name {
        refusals.extend(missing_profile(view, &stack, name));
    }
    let get = |key: &str| {
        profile_name
            .as_deref()
            .and_then(|n| setting(&stack, &["profiles", n, key]))
            .or_else(|| setting(&stack, &[key]))
    };
    let provider = get("model_provider").unwrap_or(Setting {
        value: "openai".into(),
        from: None,
    });
    let model = get("model");
    refusals.extend(missing_provider(view, &stack, &provider));
    notes.extend(project_overrides(view, &provider, model.as_ref()));
    Resolved {
        run,
        refusal: refusals.into_iter().next(),
        provider,
        model,
        notes,
    }
}

/// Codex 0.134+: a legacy `[profiles.ominigate]` or `profile = "…"`
/// selector, which it refuses before reading anything else.
fn legacy_refusals(view: &View<'_>, run: Run) -> Vec<Refusal> {
    let me = view.home.ominigate_codex();
    let mut refusals = Vec::new();
    if run == Run::Profile
        && let Some(user) = view.user
    {
        let table = facts::legacy_table(user);
        let selects = diagnose::selector(user).filter(|(n, _)| n == spec::PROFILE_NAME);
        if table.is_some() || selects.is_some() {
            let mut fixes = Vec::new();
            if let Some(place) = &table {
                fixes.extend(diagnose::legacy_table_fixes(place, view.home));
            }
            if let Some((name, place)) = &selects {
                fixes.extend(diagnose::selector_fixes(name, place, &me));
            }
            refusals.push(Refusal {
                codex_says: messages::legacy_profile(&user.path, &view.home.dir),
                fixes,
            });
        }
    }
    for f in &view.base() {
        if let Some((name, place)) = diagnose::selector(f) {
            refusals.push(Refusal {
                codex_says: messages::legacy_selector(&name),
                fixes: diagnose::selector_fixes(&name, &place, &me),
            });
        }
    }
    refusals
}

/// The files `run` merges, highest first: on 0.134+ with `--profile` the
/// profile file (noting when it is missing), then the base.
fn merged<'a>(
    view: &View<'a>,
    run: Run,
    file_era: bool,
    notes: &mut Vec<String>,
) -> Vec<&'a ConfigFile> {
    let mut stack: Vec<&ConfigFile> = Vec::new();
    if file_era && run == Run::Profile {
        match view.profile_file {
            Some(p) => stack.push(p),
            None => notes.push(format!(
                "{} does not exist: `codex --profile ominigate` silently runs on the defaults",
                view.home.profile_file().display()
            )),
        }
    }
    stack.extend(view.base());
    stack
}

/// Codex 0.95+: `wire_api = "chat"` anywhere stops every run.
fn chat_refusals(stack: &[&ConfigFile]) -> Vec<Refusal> {
    diagnose::chat_blocks(stack)
        .into_iter()
        .map(|(id, quote)| Refusal {
            codex_says: format!("{quote}: {}", diagnose::chat_refused()),
            fixes: vec![diagnose::chat_fix(&id, &quote)],
        })
        .collect()
}

/// The profile table `run` reads, up to 0.133 (`--profile`, or
/// `profile = "NAME"` for plain `codex`); none on 0.134+.
fn profile_name(stack: &[&ConfigFile], run: Run, file_era: bool) -> Option<String> {
    if file_era {
        return None;
    }
    match run {
        Run::Profile => Some(spec::PROFILE_NAME.to_string()),
        Run::Plain => setting(stack, &["profile"]).map(|s| s.value),
    }
}

/// Codex stops when the selected profile table is nowhere.
fn missing_profile(view: &View<'_>, stack: &[&ConfigFile], name: &str) -> Option<Refusal> {
    lookup(stack, &["profiles", name])
        .is_none()
        .then(|| Refusal {
            codex_says: messages::profile_not_found(name),
            fixes: vec![format!(
                "run `{} install`, or add [profiles.{name}] with {} to {}",
                view.home.ominigate_codex(),
                diagnose::profile_lines(spec::MODEL),
                view.home.config().display()
            )],
        })
}

/// Codex stops when the provider is neither built in nor defined.
fn missing_provider(view: &View<'_>, stack: &[&ConfigFile], provider: &Setting) -> Option<Refusal> {
    if BUILTIN_PROVIDERS.contains(&provider.value.as_str())
        || lookup(stack, &["model_providers", &provider.value]).is_some()
    {
        return None;
    }
    Some(Refusal {
        codex_says: messages::provider_not_found(&provider.value),
        fixes: vec![if provider.value == spec::PROVIDER_ID {
            format!(
                "run `{} install`: it adds [model_providers.ominigate] to {}",
                view.home.ominigate_codex(),
                view.home.config().display()
            )
        } else {
            format!(
                "define [model_providers.{}] or change model_provider at {}",
                provider.value,
                provider
                    .from
                    .as_ref()
                    .map_or_else(String::new, ToString::to_string)
            )
        }],
    })
}

/// A trusted project config that overrides the user's settings.
fn project_overrides(view: &View<'_>, provider: &Setting, model: Option<&Setting>) -> Vec<String> {
    let mut notes = Vec::new();
    for (what, s) in [("model_provider", Some(provider)), ("model", model)] {
        if let Some(Place { path, .. }) = s.and_then(|s| s.from.as_ref())
            && view.projects.iter().any(|f| &f.path == path)
        {
            notes.push(format!(
                "{what} comes from the trusted project config {}, which overrides config.toml",
                path.display()
            ));
        }
    }
    notes
}

impl Resolved {
    /// One line: `provider (model)` or why Codex will not start.
    pub fn outcome(&self) -> String {
        if self.refusal.is_some() {
            return "Codex refuses to start".into();
        }
        let model = match &self.model {
            Some(m) => m.value.clone(),
            None => "Codex's built-in default model".into(),
        };
        format!("{} ({model})", self.provider.value)
    }

    pub fn uses_ominigate(&self) -> bool {
        self.refusal.is_none() && self.provider.value == spec::PROVIDER_ID
    }
}

/// Where a setting came from, for details.
pub fn origin(s: &Setting) -> String {
    match &s.from {
        Some(p) => format!("from {p}"),
        None => "Codex's built-in default".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::version::Version;
    use std::path::Path;

    fn file(path: &str, text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new(path), text).expect("parses")
    }

    fn view<'a>(
        v: Version,
        user: Option<&'a ConfigFile>,
        profile: Option<&'a ConfigFile>,
        others: &[&'a ConfigFile],
    ) -> View<'a> {
        View {
            layout: Layout::for_version(v),
            home: Box::leak(Box::new(CodexHome {
                dir: "/h".into(),
                source: "~/.codex",
            })),
            user,
            profile_file: profile,
            projects: others
                .iter()
                .copied()
                .filter(|f| !f.path.starts_with("/etc"))
                .collect(),
            system: others.iter().copied().find(|f| f.path.starts_with("/etc")),
        }
    }

    const NEW: Version = Version::new(0, 169, 0);
    const MID: Version = Version::new(0, 133, 0);
    const OLD: Version = Version::new(0, 94, 0);
    const PROVIDER: &str = "[model_providers.ominigate]\nname = \"O\"\nbase_url = \"https://g/v1\"\nwire_api = \"responses\"\n";

    #[test]
    fn profile_file_wins_over_project_user_and_system() {
        let user = file("/h/config.toml", &format!("model = \"u\"\n{PROVIDER}"));
        let profile = file(
            "/h/ominigate.config.toml",
            "model = \"p\"\nmodel_provider = \"ominigate\"\n",
        );
        let project = file(
            "/w/.codex/config.toml",
            "model = \"proj\"\nmodel_provider = \"openai\"\n",
        );
        let system = file("/etc/codex/config.toml", "model = \"sys\"\n");
        let v = view(NEW, Some(&user), Some(&profile), &[&project, &system]);
        let r = resolve(&v, Run::Profile);
        assert_eq!(r.refusal, None);
        assert_eq!(r.outcome(), "ominigate (p)");
        assert_eq!(
            r.provider.from.as_ref().unwrap().to_string(),
            "/h/ominigate.config.toml:2"
        );
        let plain = resolve(&v, Run::Plain);
        assert_eq!(plain.outcome(), "openai (proj)");
        assert!(
            plain
                .notes
                .iter()
                .any(|n| n.contains("/w/.codex/config.toml")),
            "{:?}",
            plain.notes
        );
    }

    #[test]
    fn user_config_wins_over_system_and_defaults_apply_last() {
        let user = file("/h/config.toml", "model_provider = \"ominigate\"\n");
        let system = file(
            "/etc/codex/config.toml",
            &format!("model = \"sys\"\nmodel_provider = \"openai\"\n{PROVIDER}"),
        );
        let v = view(NEW, Some(&user), None, &[&system]);
        let r = resolve(&v, Run::Plain);
        assert_eq!(r.outcome(), "ominigate (sys)");
        let empty = view(NEW, None, None, &[]);
        let r = resolve(&empty, Run::Plain);
        assert_eq!(r.outcome(), "openai (Codex's built-in default model)");
        assert_eq!(origin(&r.provider), "Codex's built-in default");
    }

    #[test]
    fn missing_profile_file_falls_back_silently_on_new_codex() {
        let user = file("/h/config.toml", PROVIDER);
        let r = resolve(&view(NEW, Some(&user), None, &[]), Run::Profile);
        assert_eq!(r.refusal, None);
        assert_eq!(r.provider.value, "openai");
        assert!(r.notes[0].contains("silently"));
    }

    #[test]
    fn legacy_profile_refusals_on_new_codex() {
        let user = file(
            "/h/config.toml",
            &format!(
                "{PROVIDER}[profiles.ominigate]\nmodel = \"m\"\nmodel_provider = \"ominigate\"\n"
            ),
        );
        let r = resolve(&view(NEW, Some(&user), None, &[]), Run::Profile);
        assert!(
            r.refusal
                .unwrap()
                .codex_says
                .starts_with("--profile `ominigate` cannot be used while /h/config.toml")
        );
        // Tolerated without --profile.
        assert_eq!(
            resolve(&view(NEW, Some(&user), None, &[]), Run::Plain).refusal,
            None
        );
        // Fine up to 0.133.
        let r = resolve(&view(MID, Some(&user), None, &[]), Run::Profile);
        assert_eq!(r.outcome(), "ominigate (m)");

        let selector = file(
            "/h/config.toml",
            &format!("profile = \"ominigate\"\n{PROVIDER}"),
        );
        let r = resolve(&view(NEW, Some(&selector), None, &[]), Run::Plain);
        let refusal = r.refusal.unwrap();
        assert!(
            refusal
                .codex_says
                .starts_with("legacy `profile = \"ominigate\"`")
        );
        assert!(refusal.fixes[0].starts_with("/h/config.toml:1: delete"));
    }

    #[test]
    fn table_era_profile_and_selector() {
        let user = file(
            "/h/config.toml",
            &format!(
                "profile = \"ominigate\"\n{PROVIDER}[profiles.ominigate]\nmodel = \"m\"\nmodel_provider = \"ominigate\"\n"
            ),
        );
        assert_eq!(
            resolve(&view(MID, Some(&user), None, &[]), Run::Plain).outcome(),
            "ominigate (m)"
        );
        let bare = file("/h/config.toml", PROVIDER);
        let r = resolve(&view(MID, Some(&bare), None, &[]), Run::Profile);
        assert_eq!(
            r.refusal.unwrap().codex_says,
            "config profile `ominigate` not found"
        );
    }

    #[test]
    fn chat_anywhere_stops_every_run_from_095() {
        let user = file(
            "/h/config.toml",
            &format!("{PROVIDER}[model_providers.other]\nname = \"x\"\nwire_api = \"chat\"\n"),
        );
        let profile = file(
            "/h/ominigate.config.toml",
            "model = \"p\"\nmodel_provider = \"ominigate\"\n",
        );
        for run in [Run::Plain, Run::Profile] {
            let r = resolve(&view(NEW, Some(&user), Some(&profile), &[]), run);
            let refusal = r.refusal.expect("refused");
            assert!(
                refusal.codex_says.contains("/h/config.toml:7"),
                "{}",
                refusal.codex_says
            );
            assert!(refusal.codex_says.contains("is no longer supported"));
        }
        let r = resolve(&view(OLD, Some(&user), None, &[]), Run::Plain);
        assert_eq!(r.refusal, None);
    }

    #[test]
    fn unknown_provider_is_not_found() {
        let user = file("/h/config.toml", "model_provider = \"ominigate\"\n");
        let r = resolve(&view(NEW, Some(&user), None, &[]), Run::Plain);
        assert_eq!(
            r.refusal.unwrap().codex_says,
            "Model provider `ominigate` not found"
        );
        let user = file("/h/config.toml", "model_provider = \"ollama\"\n");
        assert_eq!(
            resolve(&view(NEW, Some(&user), None, &[]), Run::Plain).refusal,
            None
        );
    }
}
