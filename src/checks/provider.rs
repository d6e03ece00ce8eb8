//! `config.parse`, `provider.present` and `provider.fields`.

use toml_edit::Item;

use super::check::{Check, Status};
use crate::codex::messages;
use crate::paths::PROFILE_FILE;
use crate::setup::diagnose;
use crate::setup::files::ConfigFile;
use crate::setup::resolve::lookup;
use crate::setup::{Setup, facts};
use crate::shown::mask_aside;
use crate::spec;
use crate::toml::blocks::PROVIDER;

pub const PARSE: &str = "config.parse";
pub const PRESENT: &str = "provider.present";
pub const FIELDS: &str = "provider.fields";

const BLOCK: [&str; 2] = PROVIDER.keys();

/// Skip a check because a config file does not load.
pub fn skip_if_broken(inp: &Setup, id: &'static str) -> Option<Check> {
    let broken = inp.broken();
    let (first, _) = broken.first()?;
    Some(Check::skip(
        id,
        format!(
            "cannot check: {} does not load (see {PARSE})",
            first.path.display()
        ),
    ))
}

pub fn parse_check(inp: &Setup) -> Check {
    let broken = inp.broken();
    let mut read = Vec::new();
    for s in inp.sources() {
        let state = match (&s.load, s.parsed()) {
            (_, Some(_)) => "parses",
            (crate::setup::files::Load::Missing, _) => "does not exist",
            _ => "does not load",
        };
        read.push(format!("{}: {state}", s.path.display()));
    }
    for p in inp.projects.iter().filter(|p| !p.trusted) {
        read.push(format!(
            "{}: ignored, {} is not a trusted project",
            p.source.path.display(),
            p.dir.display()
        ));
    }
    if !broken.is_empty() {
        let mut c = Check::fail(
            PARSE,
            format!(
                "{} cannot be loaded, so Codex refuses to start",
                broken
                    .iter()
                    .map(|(s, _)| s.path.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        for (s, message) in &broken {
            c = c.details(message.lines().map(str::to_string));
            c = c.fix(format!(
                "fix the line named above in {} (or move the file aside), then run doctor again",
                s.path.display()
            ));
        }
        return c.details(read);
    }
    if !inp.user.exists() {
        return Check::warn(
            PARSE,
            format!("{} does not exist", inp.home.config().display()),
        )
        .detail("Codex runs on its built-in defaults (the OpenAI provider)")
        .details(read)
        .fix(format!(
            "run `{} install` to create it with the OminiGate provider",
            inp.home.ominigate_codex()
        ));
    }
    let mut c = Check::ok(PARSE, "the config files parse").details(read);
    if !inp.file_era()
        && let Some(m) = inp.profile.invalid()
    {
        c = Check::warn(
            PARSE,
            format!(
                "{} does not load (this Codex does not read it)",
                inp.profile.path.display()
            ),
        )
        .details(m.lines().map(str::to_string))
        .details(c.details)
        .fix(format!("fix or delete {}", inp.profile.path.display()));
    }
    c
}

/// The `[model_providers.ominigate]` block to add, for a remediation.
fn block_lines(inp: &Setup) -> String {
    format!(
        "[model_providers.ominigate] with name = \"{}\", base_url = \"{}\", env_key = \"{}\", wire_api = \"{}\"",
        spec::PROVIDER_NAME,
        spec::BASE_URL,
        spec::ENV_KEY,
        inp.layout().default_wire_api()
    )
}

pub fn present_check(inp: &Setup) -> Check {
    if let Some(skip) = skip_if_broken(inp, PRESENT) {
        return skip;
    }
    let stack = inp.profile_stack();
    let found: Vec<(&ConfigFile, String)> = stack
        .iter()
        .filter(|f| f.get(&BLOCK).is_some())
        .map(|f| (*f, format!("{} ({})", f.place(&BLOCK), f.shape_of(&BLOCK))))
        .collect();
    let Some((first, where_)) = found.first() else {
        let mut c = Check::fail(PRESENT, "no [model_providers.ominigate] block");
        let references: Vec<String> = stack
            .iter()
            .flat_map(|f| {
                crate::toml::blocks::references(f.root_table(), spec::PROVIDER_ID)
                    .into_iter()
                    .map(move |r| {
                        let keys: Vec<&str> = r.split('.').collect();
                        format!("{} selects it", f.place(&keys))
                    })
            })
            .collect();
        if !references.is_empty() {
            c = c
                .detail(format!(
                    "Codex says: {}",
                    messages::provider_not_found(spec::PROVIDER_ID)
                ))
                .details(references);
        }
        if !inp.file_era()
            && inp
                .profile
                .parsed()
                .is_some_and(|p| p.get(&BLOCK).is_some())
        {
            c = c.detail(format!(
                "{} has one, but Codex {} does not read that file (it came in 0.134.0)",
                inp.profile.path.display(),
                inp.codex.effective()
            ));
        }
        return c
            .fix(format!("run `{} install`", inp.home.ominigate_codex()))
            .fix(format!(
                "or add to {}: {}",
                inp.home.config().display(),
                block_lines(inp)
            ));
    };
    let mut c = Check::ok(PRESENT, format!("[model_providers.ominigate] at {where_}"));
    for (_, other) in found.iter().skip(1) {
        c = c.detail(format!("also at {other}; the first one wins key by key"));
    }
    if first.path == inp.home.profile_file() && found.len() == 1 {
        c = c.detail(format!(
            "it is in {PROFILE_FILE}, so only `codex --profile ominigate` sees it; plain `codex` with model_provider = \"ominigate\" would not find it"
        ));
    }
    c
}

/// One finding about a field: its status, what is wrong, and the fix.
struct Finding {
    status: Status,
    detail: String,
    fix: Option<String>,
}

fn finding(status: Status, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding {
        status,
        detail: detail.into(),
        fix,
    }
}

/// Looks up the block's keys in the files `codex --profile ominigate` merges.
struct Block<'a> {
    stack: Vec<&'a ConfigFile>,
    /// Where to add a missing key.
    home_of_block: &'a ConfigFile,
}

impl<'a> Block<'a> {
    fn get(&self, key: &str) -> Option<(&'a Item, &'a ConfigFile)> {
        lookup(&self.stack, &[PROVIDER.parent, PROVIDER.name, key])
    }

    fn quote(&self, file: &ConfigFile, key: &str) -> String {
        file.quote(&[PROVIDER.parent, PROVIDER.name, key])
    }

    fn change(&self, file: &ConfigFile, key: &str, to: &str) -> String {
        format!("{}: set `{key} = {to}`", self.quote(file, key))
    }

    fn add(&self, key: &str, value: &str) -> String {
        format!(
            "add `{key} = {value}` to [model_providers.ominigate] at {}",
            self.home_of_block.place(&BLOCK)
        )
    }
}

fn check_base_url(b: &Block<'_>, out: &mut Vec<Finding>) {
    match b.get("base_url") {
        None => out.push(finding(
            Status::Fail,
            "base_url is not set: Codex would send the requests to its default OpenAI address",
            Some(b.add("base_url", &format!("\"{}\"", spec::BASE_URL))),
        )),
        Some((item, f)) => match item.as_str() {
            None => out.push(finding(
                Status::Fail,
                format!(
                    "base_url is {}, not a string",
                    crate::toml::blocks::type_name(item)
                ),
                Some(b.change(f, "base_url", &format!("\"{}\"", spec::BASE_URL))),
            )),
            Some(raw) => match spec::parse_base_url(raw) {
                Err(m) => out.push(finding(
                    Status::Fail,
                    m.to_string(),
                    Some(b.change(f, "base_url", &format!("\"{}\"", spec::BASE_URL))),
                )),
                Ok(u) if u.url != spec::BASE_URL => out.push(finding(
                    Status::Ok,
                    format!(
                        "base_url = \"{}\" (the guide's is {})",
                        spec::redact_url(&u.url),
                        spec::BASE_URL
                    ),
                    None,
                )),
                Ok(_) => {}
            },
        },
    }
}

fn check_env_key(b: &Block<'_>, out: &mut Vec<Finding>) {
    let fix_value = format!("\"{}\"", spec::ENV_KEY);
    match b.get("env_key") {
        None => out.push(finding(
            Status::Fail,
            "env_key is not set: Codex sends no API key and OminiGate answers 401",
            Some(b.add("env_key", &fix_value)),
        )),
        Some((item, f)) => match item.as_str() {
            None => out.push(finding(
                Status::Fail,
                format!(
                    "env_key is {}, not a string",
                    crate::toml::blocks::type_name(item)
                ),
                Some(b.change(f, "env_key", &fix_value)),
            )),
            Some(name) => {
                if spec::check_env_key(name).is_err() {
                    let looks_like_key = name.starts_with("sk-") || name.len() > 40;
                    let detail = if looks_like_key {
                        format!(
                            "env_key holds what looks like an API key ({}); it must name the environment variable that holds the key",
                            mask_aside(name)
                        )
                    } else {
                        format!("env_key = {:?} is not an environment variable name", name)
                    };
                    // Never quote the line: it may hold the key itself.
                    let place = f.place(&PROVIDER.key("env_key"));
                    out.push(finding(
                        Status::Fail,
                        detail,
                        Some(format!(
                            "{place}: set `env_key = {fix_value}` and put the key in that variable"
                        )),
                    ));
                }
            }
        },
    }
}

fn check_name(b: &Block<'_>, out: &mut Vec<Finding>) {
    let fix_value = format!("\"{}\"", spec::PROVIDER_NAME);
    let says = "Codex says: model_providers.ominigate: provider name must not be empty";
    match b.get("name") {
        None => out.push(finding(
            Status::Fail,
            format!("name is not set; {says}"),
            Some(b.add("name", &fix_value)),
        )),
        Some((item, f)) if item.as_str().is_none_or(|n| n.trim().is_empty()) => out.push(finding(
            Status::Fail,
            format!("name is empty or not a string; {says}"),
            Some(b.change(f, "name", &fix_value)),
        )),
        Some(_) => {}
    }
}

fn check_wire_api(inp: &Setup, b: &Block<'_>, out: &mut Vec<Finding>) {
    let layout = inp.layout();
    let v = inp.codex.effective();
    let want = format!("\"{}\"", layout.default_wire_api());
    match b.get("wire_api") {
        None if layout.chat_supported => out.push(finding(
            Status::Warn,
            format!("wire_api is not set; set it explicitly for Codex {v} (the guide uses \"chat\")"),
            Some(b.add("wire_api", &want)),
        )),
        None => out.push(finding(
            Status::Ok,
            format!("wire_api is not set: Codex {v} uses \"responses\", the only protocol it has"),
            None,
        )),
        Some((item, f)) => match item.as_str() {
            Some("responses") => {}
            Some("chat") if layout.chat_supported => out.push(finding(
                Status::Ok,
                format!("wire_api = \"chat\": Codex {v} calls {{base_url}}/chat/completions (0.9x prints a deprecation warning; 0.95.0 removed chat)"),
                None,
            )),
            Some("chat") => out.push(finding(
                Status::Fail,
                format!(
                    "{}: Codex {v} refuses every run (plain `codex` too): {}",
                    b.quote(f, "wire_api"),
                    diagnose::chat_refused()
                ),
                Some(diagnose::chat_fix(spec::PROVIDER_ID, &b.quote(f, "wire_api"))),
            )),
            other => {
                let expected = if layout.chat_supported {
                    "`chat` or `responses`"
                } else {
                    "`responses`"
                };
                let shown = other.map_or_else(|| crate::toml::blocks::type_name(item).to_string(), |s| format!("`{s}`"));
                out.push(finding(
                    Status::Fail,
                    format!("wire_api is {shown}; Codex expects {expected} and refuses the config"),
                    Some(b.change(f, "wire_api", &want)),
                ));
            }
        },
    }
}

fn check_numbers(b: &Block<'_>, out: &mut Vec<Finding>) {
    let numbers = [
        ("request_max_retries", spec::REQUEST_MAX_RETRIES),
        ("stream_max_retries", spec::STREAM_MAX_RETRIES),
        ("stream_idle_timeout_ms", spec::STREAM_IDLE_TIMEOUT_MS),
    ];
    for (key, recommended) in numbers {
        let Some((item, f)) = b.get(key) else {
            out.push(finding(
                Status::Ok,
                format!("{key} is not set (the guide recommends {recommended})"),
                None,
            ));
            continue;
        };
        let fix = Some(b.change(f, key, &recommended.to_string()));
        let Some(n) = item.as_integer() else {
            out.push(finding(
                Status::Fail,
                format!(
                    "{key} is {}; Codex needs a whole number and refuses the config",
                    crate::toml::blocks::type_name(item)
                ),
                fix,
            ));
            continue;
        };
        let (status, why) = match key {
            _ if n < 0 => (
                Status::Fail,
                format!("Codex refuses it: invalid value: integer `{n}`, expected u64"),
            ),
            "stream_idle_timeout_ms" if n < 10_000 => (
                Status::Warn,
                "streams that pause longer than that are cut off".to_string(),
            ),
            "stream_idle_timeout_ms" => (Status::Ok, String::new()),
            _ if n == 0 => (
                Status::Warn,
                "no retries: one transient gateway error ends the turn".into(),
            ),
            _ if n > 100 => (Status::Warn, "Codex caps retries at 100".into()),
            _ => (Status::Ok, String::new()),
        };
        if status != Status::Ok {
            out.push(finding(status, format!("{} = {n}: {why}", key), fix));
        } else if n != recommended {
            out.push(finding(
                Status::Ok,
                format!("{key} = {n} (the guide recommends {recommended})"),
                None,
            ));
        }
    }
    match b.get("requires_openai_auth") {
        Some((item, f)) if item.as_bool() == Some(true) => out.push(finding(
            Status::Warn,
            "requires_openai_auth = true: Codex uses your OpenAI login for this provider instead of the OminiGate key",
            Some(b.change(f, "requires_openai_auth", "false")),
        )),
        Some((item, f)) if item.as_bool().is_none() => out.push(finding(
            Status::Fail,
            format!("requires_openai_auth is {}, not true or false", crate::toml::blocks::type_name(item)),
            Some(b.change(f, "requires_openai_auth", "false")),
        )),
        _ => {}
    }
}

pub fn fields_check(inp: &Setup) -> Check {
    if let Some(skip) = skip_if_broken(inp, FIELDS) {
        return skip;
    }
    let stack = inp.profile_stack();
    let mut findings = Vec::new();
    if !inp.layout().chat_supported {
        for (id, quote) in diagnose::chat_blocks(&stack) {
            if id != spec::PROVIDER_ID {
                findings.push(finding(
                    Status::Fail,
                    format!(
                        "{quote}: [model_providers.{id}] uses chat, so Codex {} refuses every run, OminiGate or not: {}",
                        inp.codex.effective(),
                        diagnose::chat_refused()
                    ),
                    Some(diagnose::chat_fix(&id, &quote)),
                ));
            }
        }
    }
    match facts::provider_file(inp) {
        None if findings.is_empty() => {
            return Check::skip(
                FIELDS,
                format!("no [model_providers.ominigate] (see {PRESENT})"),
            );
        }
        None => {}
        Some(home_of_block) => {
            let b = Block {
                stack: stack.clone(),
                home_of_block,
            };
            check_name(&b, &mut findings);
            check_base_url(&b, &mut findings);
            check_env_key(&b, &mut findings);
            check_wire_api(inp, &b, &mut findings);
            check_numbers(&b, &mut findings);
        }
    }
    let worst = findings
        .iter()
        .map(|f| f.status)
        .fold(Status::Ok, super::check::worst);
    let problems = findings.iter().filter(|f| f.status != Status::Ok).count();
    let summary = match worst {
        Status::Ok => {
            "base_url, env_key, wire_api and retries are valid for this Codex".to_string()
        }
        _ if problems == 1 => "1 problem in the provider settings".to_string(),
        _ => format!("{problems} problems in the provider settings"),
    };
    let mut c = Check::new(FIELDS, worst, summary);
    let (bad, fine): (Vec<&Finding>, Vec<&Finding>) =
        findings.iter().partition(|f| f.status != Status::Ok);
    for f in bad.iter().chain(fine.iter()) {
        c = c.detail(f.detail.clone());
        if f.status != Status::Ok
            && let Some(fix) = &f.fix
        {
            c = c.fix(fix.clone());
        }
    }
    if worst != Status::Ok
        && !inp.layout().chat_supported
        && bad.iter().any(|f| f.detail.contains("no longer supported"))
    {
        c = c.fix(
            "or keep chat completions by pinning Codex 0.94.0: `npm i -g @openai/codex@0.94.0`",
        );
    }
    c
}
