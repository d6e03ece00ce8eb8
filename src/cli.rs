//! The command line (clap derive). No logic here.
// The doc comments of arguments are clap's help text, printed as written:
// a URL in them is not a link.
#![allow(rustdoc::bare_urls)]

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::codex::version::Version;

const ABOUT: &str = "Make the OpenAI Codex CLI talk to the OminiGate model gateway.";

const EXAMPLES: &str = "\
Examples:
  ominigate-codex install                      # add OminiGate for the Codex on your PATH
  ominigate-codex install --dry-run            # show the diff, write nothing
  ominigate-codex uninstall                    # remove exactly what install added
  ominigate-codex doctor                       # find out why Codex does not reach OminiGate
  ominigate-codex status                       # what is installed, which model, default or not
  ominigate-codex models                       # recommended and live models
  ominigate-codex use openai/gpt-5.3-codex     # switch the profile's model
  ominigate-codex codex exec \"hi\"              # Codex through a private bridge (chat-only gateway)
  ominigate-codex bridge                       # the bridge as a server, for a long-running setup

Never prompts: every choice is a flag.";

#[derive(Debug, Parser)]
#[command(name = "ominigate-codex", version = crate::installed::version(), about = ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// Codex home directory [default: $CODEX_HOME, else ~/.codex]
    #[arg(long, global = true, value_name = "DIR")]
    pub codex_home: Option<PathBuf>,

    /// Print only results (diffs, reports) and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print details: layout decisions, symlink targets, record updates
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add the OminiGate provider and the `ominigate` profile to Codex's config
    ///
    /// With the key set, it also reads OminiGate's live model list (GET
    /// {base_url}/models; with a bridge, from the gateway the bridge forwards
    /// to) into the model catalogue: each model's context window, whether it
    /// reasons. --dry-run reads it too, to name what it would write. --offline
    /// skips it; a gateway that fails or does not answer within --timeout only
    /// leaves it out (the install goes on and says why).
    #[command(after_help = "\
Examples:
  ominigate-codex install
  ominigate-codex install --model anthropic/claude-opus-4.6 --default
  ominigate-codex install --no-default         # plain `codex` back to what it was
  ominigate-codex install --codex-version 0.94.0 --dry-run
  ominigate-codex install --bridge             # current Codex on a chat-only gateway
  ominigate-codex install --direct             # back from the bridge to the gateway itself
  ominigate-codex install --offline            # without OminiGate's live model list
  ominigate-codex --codex-home /tmp/codex install --base-url http://127.0.0.1:8080/v1")]
    Install(InstallArgs),

    /// Remove OminiGate from Codex's config, putting back what --default replaced
    #[command(after_help = "\
Examples:
  ominigate-codex uninstall --dry-run
  ominigate-codex uninstall")]
    Uninstall(UninstallArgs),

    /// Check the Codex setup and tell exactly what to fix (writes nothing)
    #[command(after_help = "\
Examples:
  ominigate-codex doctor
  ominigate-codex doctor --offline             # no request to the gateway
  ominigate-codex doctor --json                # one JSON object, for scripts
  ominigate-codex doctor --codex-version 0.94.0 --timeout 10

Online, endpoint.models and endpoint.wire ask the gateway (a 404 on /responses
from a chat-only gateway names the bridge as the fix), and bridge.reachable asks
the bridge `install --bridge` set up on this machine; --offline skips all three.
endpoint.wire sends a small real request with your key (max_output_tokens 16, or
max_tokens 1 for chat), which the gateway may bill.

Exit status: 0 when no check fails, 1 when one does, 2 on a usage error.")]
    Doctor(DoctorArgs),

    /// Show what is installed where, for which Codex, with which model (writes nothing)
    #[command(after_help = "\
Examples:
  ominigate-codex status
  ominigate-codex status --json                # one JSON object, for scripts

Doctor's checks without the gateway; the bridge install --bridge set up is
asked its /health on 127.0.0.1 (no key, a second at most).

Exit status: 0 whatever the setup's state (run `doctor` to judge it), 2 on a usage error.")]
    Status(StatusArgs),

    /// List the recommended models and, with the key set, OminiGate's live list
    #[command(after_help = "\
Examples:
  ominigate-codex models                       # recommended + live (needs the key)
  ominigate-codex models --offline             # the guide's four, no request
  ominigate-codex models --json --live         # fail unless the live list is had
  ominigate-codex models --refresh             # windows and reasoning into the catalogue

Each model shows the context window Codex uses for it and whether it takes a
reasoning effort, from the model catalogue (ominigate-models.json) the profile
points Codex at; --refresh rewrites that file from the live list.

Exit status: 0, also when the live list cannot be had (the report says why);
1 with --live or --refresh when it cannot; 2 on a usage error.")]
    Models(ModelsArgs),

    /// Switch the `ominigate` profile to another model, in place
    #[command(after_help = "\
Examples:
  ominigate-codex use anthropic/claude-opus-4.6
  ominigate-codex use openai/gpt-5.3-codex --dry-run
  ominigate-codex use my/model --offline       # no check against the live list

The same as `install --model MODEL` with everything else kept; plain `codex`
follows too when `install --default` made OminiGate its default.")]
    Use(UseArgs),

    /// Run Codex through a private bridge to a chat-completions-only gateway
    #[command(after_help = "\
Examples:
  ominigate-codex codex                        # the TUI
  ominigate-codex codex exec \"fix the tests\"
  ominigate-codex codex --model anthropic/claude-opus-4.6
  ominigate-codex codex -- --help              # Codex's own help

Starts the bridge on 127.0.0.1 (a free port) and runs
`codex --profile ominigate -c model_providers.ominigate.base_url=\"http://127.0.0.1:PORT/v1\" ARGS…`
(after a leading `exec`, when ARGS start with one) with the terminal handed
over. Ctrl-C is Codex's to handle. The bridge stops when Codex exits. Codex
0.94 and older speak chat themselves: they are run directly, without the
bridge.

Exit status: Codex's own; 1 when Codex cannot be started, 2 on a usage error.")]
    Codex(CodexArgs),

    /// Serve Codex on this machine, translated to a chat-completions-only gateway
    #[command(after_help = "\
Examples:
  ominigate-codex bridge                       # on the port install --bridge set up
  ominigate-codex bridge --listen 127.0.0.1:0  # any free port (printed)
  ominigate-codex bridge --upstream https://api.ominigate.ai/v1
  ominigate-codex bridge --print-service systemd  # a unit that runs it at login

The first line printed is `listening on http://127.0.0.1:PORT/v1`; then one
line per request on stderr (model, item and tool counts, status, time,
tokens; never the key, never content), unless -q. It keeps no key: Codex
sends it with every request. SIGINT or SIGTERM stops it; running streams get
a few seconds to finish.

Exit status: 0 when stopped by a signal, 1 when it cannot listen, 2 on a usage error.")]
    Bridge(BridgeArgs),

    /// Print a shell completion script
    #[command(after_help = "\
Examples:
  ominigate-codex completions bash > ~/.local/share/bash-completion/completions/ominigate-codex
  ominigate-codex completions zsh > ~/.zfunc/_ominigate-codex
  ominigate-codex completions fish > ~/.config/fish/completions/ominigate-codex.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man pages (roff): ominigate-codex(1), then one per subcommand
    #[command(after_help = "\
Examples:
  ominigate-codex man --dir ~/.local/share/man/man1 && man ominigate-codex-install
  ominigate-codex man > ominigate-codex.1 && man ./ominigate-codex.1   # all pages in one file

ominigate-codex(1) names a page per subcommand, ominigate-codex-install(1) and
the others: --dir writes each as a file of its own, as a packager installs them.")]
    Man {
        /// Write one file per page into DIR (ominigate-codex.1, ominigate-codex-install.1, …) instead of printing them
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Which Codex release to write for.
#[derive(Debug, Clone, Default, Args)]
pub struct CodexSelect {
    /// The Codex binary to ask for its version [default: `codex` on PATH]
    #[arg(long, value_name = "PATH", conflicts_with = "codex_version")]
    pub codex: Option<PathBuf>,

    /// Use this Codex release's rules instead of asking a binary
    #[arg(long, value_name = "X.Y.Z")]
    pub codex_version: Option<Version>,
}

impl CodexSelect {
    /// The Codex these flags name: the one lookup
    /// ([`Codex::detect`](crate::codex::binary::Codex::detect)).
    pub fn detect(&self) -> crate::codex::binary::Codex {
        crate::codex::binary::Codex::detect(self.codex_version, self.codex.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WireApi {
    /// OpenAI chat completions (Codex up to 0.94 only)
    Chat,
    /// OpenAI Responses API (every release)
    Responses,
}

impl WireApi {
    pub fn as_str(self) -> &'static str {
        match self {
            WireApi::Chat => "chat",
            WireApi::Responses => "responses",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Model for the `ominigate` profile [default: openai/gpt-5.4-pro, or the one already set]
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Gateway URL, with a bridge (--bridge, or one kept) the one the bridge forwards to [default: https://api.ominigate.ai/v1, or the one already set]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Environment variable that holds the API key [default: OMINIGATE_API_KEY]
    #[arg(long, value_name = "NAME")]
    pub env_key: Option<String>,

    /// Wire protocol [default: chat up to Codex 0.94, responses from 0.95]
    #[arg(long, value_enum, value_name = "API")]
    pub wire_api: Option<WireApi>,

    /// Point Codex at a local bridge (`ominigate-codex bridge`) that speaks the
    /// Responses API to Codex and chat completions to the gateway (kept by
    /// every later install until --direct)
    #[arg(long)]
    pub bridge: bool,

    /// Point Codex at the gateway itself again, after --bridge (without it, a
    /// later install keeps the bridge, with --base-url as the gateway it forwards to)
    #[arg(long, conflicts_with = "bridge")]
    pub direct: bool,

    /// The bridge's port on 127.0.0.1 [default: 8741]
    #[arg(
        long,
        value_name = "N",
        requires = "bridge",
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub bridge_port: Option<u16>,

    #[command(flatten)]
    pub codex: CodexSelect,

    /// Also make OminiGate what plain `codex` uses (uninstall restores your previous values)
    #[arg(long)]
    pub default: bool,

    /// Stop making OminiGate what plain `codex` uses: put back the values --default replaced
    #[arg(long, conflicts_with = "default")]
    pub no_default: bool,

    /// Print a unified diff of every file that would change; write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Write even what this Codex is known to refuse (e.g. --wire-api chat on 0.95+), and break a hard link to a file it changes
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Debug, Clone, Default, Args)]
pub struct UninstallArgs {
    /// Print a unified diff of every file that would change; write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also remove OminiGate blocks install did not write, and dangling references; break a hard link to a file it changes
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    /// Print one JSON object instead of the report
    #[arg(long)]
    pub json: bool,

    /// The gateway checks (the time limit also bounds running Codex)
    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub codex: CodexSelect,
}

/// Asking the gateway.
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Do not ask the gateway (also when OMINIGATE_CODEX_OFFLINE is set and not 0, false, no or off)
    #[arg(long)]
    offline: bool,

    /// Time limit for each gateway request (doctor: also for running Codex)
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=300)
    )]
    pub timeout: u64,
}

impl NetArgs {
    /// Whether not to ask the gateway: `--offline`, or the environment
    /// ([`crate::gateway::offline_by_env`]).
    pub fn offline(&self) -> bool {
        self.offline || crate::gateway::offline_by_env()
    }
}

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Print one JSON object instead of the summary
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub codex: CodexSelect,
}

#[derive(Debug, Clone, Args)]
pub struct ModelsArgs {
    /// Print one JSON object instead of the list
    #[arg(long)]
    pub json: bool,

    /// Fail (exit 1) when the live list cannot be had
    #[arg(long, conflicts_with = "offline")]
    pub live: bool,

    /// Read OminiGate's live list into the model catalogue (each model's
    /// context window, whether it reasons) and rewrite it
    #[arg(long, conflicts_with = "offline")]
    pub refresh: bool,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub codex: CodexSelect,
}

#[derive(Debug, Clone, Args)]
pub struct UseArgs {
    /// The model id, e.g. anthropic/claude-opus-4.6 (see `ominigate-codex models`)
    #[arg(value_name = "MODEL")]
    pub model: String,

    /// Print a unified diff of every file that would change; write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Break a hard link to a file it changes (the other names keep the old content)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub net: NetArgs,

    #[command(flatten)]
    pub codex: CodexSelect,
}

#[derive(Debug, Clone, Args)]
pub struct BridgeArgs {
    /// Address to listen on, on this machine only [default: 127.0.0.1:8741, or the port install --bridge set]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// The gateway to forward to [default: what install --bridge recorded, else the provider's base_url, else https://api.ominigate.ai/v1]
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// Print a service definition that runs the bridge at login, with instructions, and exit (it runs the ominigate-codex on PATH, else this binary, with a warning when that is in a build directory or npm's cache)
    #[arg(long, value_enum, value_name = "KIND")]
    pub print_service: Option<ServiceKind>,
}

/// A service manager `--print-service` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceKind {
    /// A systemd user unit (Linux)
    Systemd,
    /// A launchd agent (macOS)
    Launchd,
}

#[derive(Debug, Clone, Args)]
pub struct CodexArgs {
    /// The Codex binary to run [default: `codex` on PATH]
    #[arg(long, value_name = "PATH")]
    pub codex: Option<PathBuf>,

    /// Arguments for Codex, after `--profile ominigate` (put `--` first to pass ones this tool also knows)
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<OsString>,
}
