//! A realistic Codex `config.toml` of about a given size, for the benchmarks.
//!
//! Shared by `benches/edit.rs` and `examples/gen_config.rs` (which
//! `bench/run.sh` uses), so both measure the very same files. The output is
//! deterministic: the same size always gives the same bytes.
//!
//! The shape follows the large configs in the corpus: top-level settings
//! with comments, a few providers and profiles, then what Codex appends over
//! time — many `[projects."/path"]` tables, with an MCP server (inline `env`
//! table or `[mcp_servers.x.env]`) now and then, comment lines and blank
//! lines between tables.

use std::fmt::Write;

const HEADER: &str = r#"# Codex configuration
# Generated for the ominigate-codex benchmarks; shaped like real user configs.

model = "gpt-5.5"
model_reasoning_effort = "medium" # low | medium | high
personality = "pragmatic"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
notify = ["/usr/local/bin/codex-notify", "turn-ended"]
# check_for_update_on_startup = false

[features]
web_search_request = true
unified_exec = true

[tui]
notifications = true # desktop notifications

[shell_environment_policy]
inherit = "core"
exclude = ["AWS_*", "AZURE_*"]

[model_providers.openrouter]
name = "OpenRouter"
base_url = "https://openrouter.ai/api/v1"
env_key = "OPENROUTER_API_KEY"
wire_api = "responses"

[profiles.fast]
model = "gpt-5.4-mini"
model_reasoning_effort = "low"

"#;

const ORGS: [&str; 6] = ["acme", "oss", "work", "scratch", "clients", "forks"];
const WORDS: [&str; 12] = [
    "api", "web", "cli", "infra", "docs", "site", "agent", "data", "ml", "tools", "app", "lib",
];

/// About `size` bytes (never less) of TOML, ending in a newline.
pub fn generate(size: usize) -> String {
    let mut out = String::with_capacity(size + 512);
    out.push_str(HEADER);
    // A fixed linear congruential sequence: varied, but reproducible.
    let mut seed: u64 = 0x5eed;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut i = 0usize;
    while out.len() < size {
        i += 1;
        let r = next();
        let (org, word) = (ORGS[r % ORGS.len()], WORDS[(r / 7) % WORDS.len()]);
        if i.is_multiple_of(97) {
            let _ = write!(
                out,
                "# {word} tools for {org}\n[mcp_servers.{word}-{i}]\ncommand = \"npx\"\nargs = [\"-y\", \"@{org}/{word}-mcp@1.{}.0\"]\n",
                r % 40
            );
            if i.is_multiple_of(2) {
                let _ = write!(
                    out,
                    "env = {{ API_TOKEN = \"tok-{r:08x}\", LOG_LEVEL = \"info\" }}\nstartup_timeout_sec = 20\n\n"
                );
            } else {
                let _ = write!(
                    out,
                    "startup_timeout_sec = 20\n\n[mcp_servers.{word}-{i}.env]\nAPI_TOKEN = \"tok-{r:08x}\" # rotated monthly\nLOG_LEVEL = 'debug'\n\n"
                );
            }
        }
        if i.is_multiple_of(31) {
            out.push_str("# moved from the old laptop\n");
        }
        let trust = if r.is_multiple_of(13) {
            "untrusted"
        } else {
            "trusted"
        };
        let _ = write!(
            out,
            "[projects.\"/home/dev/src/{org}/{word}-{i}\"]\ntrust_level = \"{trust}\"\n\n"
        );
    }
    out
}

/// `2K`, `100K`, `1M`, `10M` or a plain byte count; K and M are 1024-based.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => s.split_at(at),
        None => (s, ""),
    };
    let n: usize = digits.parse().ok()?;
    match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => Some(n),
        "K" => Some(n << 10),
        "M" => Some(n << 20),
        _ => None,
    }
}
