//! The values install writes (the guide's), and validation of what the user
//! may override: base URL, env var name, model.

use std::fmt;

use crate::error::{Failure, usage};
use crate::shown;

pub const PROVIDER_NAME: &str = "OminiGate";
pub const BASE_URL: &str = "https://api.ominigate.ai/v1";
pub const ENV_KEY: &str = "OMINIGATE_API_KEY";
pub const MODEL: &str = "openai/gpt-5.4-pro";
pub const PROVIDER_ID: &str = "ominigate";
pub const PROFILE_NAME: &str = "ominigate";
pub const REQUEST_MAX_RETRIES: i64 = 4;
pub const STREAM_MAX_RETRIES: i64 = 10;
pub const STREAM_IDLE_TIMEOUT_MS: i64 = 300_000;

/// The guide's recommended models, with its one-line notes.
pub const RECOMMENDED_MODELS: [(&str, &str); 4] = [
    (
        "openai/gpt-5.4-pro",
        "Top-tier OpenAI reasoning model. Best for complex refactors and multi-file edits.",
    ),
    (
        "openai/gpt-5.3-codex",
        "OpenAI's Codex-tuned variant, optimized for code generation and tool-use loops.",
    ),
    (
        "anthropic/claude-opus-4.6",
        "Anthropic's highest tier. Strong at long-context code review.",
    ),
    (
        "google/gemini-3.1-pro-preview",
        "Google's flagship preview model: large context window, multimodal inputs.",
    ),
];

/// The parts of a URL this tool cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub url: String,
    pub https: bool,
    pub host: String,
}

impl BaseUrl {
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A URL as it may be shown: no user name or password (`…@host`), no query
/// or fragment (`…`); either may hold a secret. Everything up to the last
/// `@` goes, even one in the path: hiding too much is harmless.
pub fn redact_url(raw: &str) -> String {
    let (scheme, rest) = match raw.find("://") {
        Some(i) => raw.split_at(i + 3),
        None => ("", raw),
    };
    let (userinfo, rest) = match rest.rfind('@') {
        Some(i) => ("…@", &rest[i + 1..]),
        None => ("", rest),
    };
    let (rest, cut) = match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], "…"),
        None => (rest, ""),
    };
    format!("{scheme}{userinfo}{rest}{cut}")
}

/// Why a value the user gave (a base URL, an `env_key` name, a model id) is
/// refused. Every URL in it is already passed through [`redact_url`]; every
/// other value is escaped and cut to [`ECHO_WIDTH`] (or, when it looks like
/// the key, only counted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    UrlEmpty,
    UrlWhiteSpace(String),
    UrlScheme(String),
    UrlUserInfo(String),
    UrlQuery(String),
    UrlIpv6(String),
    UrlNoHost(String),
    UrlPort {
        url: String,
        port: String,
    },
    UrlPlainHttp(String),
    /// The bridge's upstream (from `from`) is not a valid base URL.
    Upstream {
        from: &'static str,
        error: Box<Invalid>,
    },
    /// The bridge's upstream is the bridge itself.
    UpstreamIsBridge {
        from: &'static str,
        url: String,
        port: u16,
    },
    /// An `env_key` that looks like the key itself (`chars` long).
    EnvKeyIsKey {
        chars: usize,
    },
    EnvKeyName(String),
    Model(String),
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::UrlEmpty => f.write_str("the base URL is empty"),
            Invalid::UrlWhiteSpace(url) => write!(
                f,
                "the base URL {url:?} contains white space or control characters"
            ),
            Invalid::UrlScheme(url) => write!(
                f,
                "the base URL `{url}` must start with https:// (or http:// for a server on this machine)"
            ),
            Invalid::UrlUserInfo(url) => write!(
                f,
                "the base URL `{url}` must not contain a user name or password; the key goes in the environment"
            ),
            Invalid::UrlQuery(url) => {
                write!(f, "the base URL `{url}` must not have a query or fragment")
            }
            Invalid::UrlIpv6(url) => write!(f, "the base URL `{url}` has a malformed IPv6 host"),
            Invalid::UrlNoHost(url) => write!(f, "the base URL `{url}` has no host"),
            Invalid::UrlPort { url, port } => {
                write!(f, "the base URL `{url}` has an invalid port `{port}`")
            }
            Invalid::UrlPlainHttp(url) => write!(
                f,
                "the base URL `{url}` is plain http to another machine: the API key would cross the network unencrypted; use https://"
            ),
            Invalid::Upstream { from, error } => write!(f, "{from}: {error}"),
            Invalid::UpstreamIsBridge { from, url, port } => write!(
                f,
                "{from} `{url}` is the bridge itself (port {port} on this machine): the bridge needs the gateway's URL to forward to"
            ),
            Invalid::EnvKeyIsKey { chars } => write!(
                f,
                "the value ({chars} characters, not shown) is not an environment variable name: it looks like an API key. \
                 Give the name of the variable that holds the key (e.g. {ENV_KEY}), never the key itself"
            ),
            Invalid::EnvKeyName(name) => write!(
                f,
                "`{name}` is not an environment variable name (letters, digits and _, not starting with a digit)"
            ),
            Invalid::Model(model) => write!(
                f,
                "`{model}` is not a model id (one line of visible characters, no surrounding spaces, at most 200 characters)"
            ),
        }
    }
}

impl std::error::Error for Invalid {}

/// Check a base URL: http(s), a host, no user info, query, fragment or white
/// space; plain http only to a loopback host. A trailing `/` is dropped
/// (Codex appends `/responses` to it). Messages show the URL through
/// [`redact_url`], never as given.
pub fn parse_base_url(raw: &str) -> Result<BaseUrl, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::UrlEmpty);
    }
    let shown = redact_url(raw);
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::UrlWhiteSpace(shown));
    }
    let lower = raw.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &raw["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &raw["http://".len()..])
    } else {
        return Err(Invalid::UrlScheme(shown));
    };
    // Anywhere, not only in the authority: `https://u:a/b@host` hides a
    // password that holds a `/`.
    if rest.contains('@') {
        return Err(Invalid::UrlUserInfo(shown));
    }
    if rest.contains(['?', '#']) {
        return Err(Invalid::UrlQuery(shown));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, port)) if port.is_empty() || port.starts_with(':') => format!("[{h}]"),
            _ => return Err(Invalid::UrlIpv6(shown)),
        },
        None => authority.split(':').next().unwrap_or_default().to_string(),
    };
    let port = authority[host.len()..].strip_prefix(':');
    if host.is_empty() || host == "[]" {
        return Err(Invalid::UrlNoHost(shown));
    }
    if let Some(port) = port
        && port.parse::<u16>().map_or(true, |p| p == 0)
    {
        return Err(Invalid::UrlPort {
            url: shown,
            port: port.to_string(),
        });
    }
    let url = BaseUrl {
        url: raw.trim_end_matches('/').to_string(),
        https,
        host,
    };
    if !https && !url.is_loopback() {
        return Err(Invalid::UrlPlainHttp(shown));
    }
    Ok(url)
}

/// The port `install --bridge` points Codex at unless `--bridge-port` says
/// otherwise: where `ominigate-codex bridge` listens for the installed setup.
pub const BRIDGE_PORT: u16 = 8741;

/// What a bridge's `GET /health` names itself as.
pub const BRIDGE_SERVICE: &str = "ominigate-codex bridge";

/// The base URL Codex calls for a bridge on `port`: `http://127.0.0.1:PORT/v1`.
pub fn bridge_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/v1")
}

/// The port of a plain-http loopback base URL (`http://127.0.0.1:N/v1`):
/// where a bridge would listen. `None` for https, another host, or no port.
pub fn loopback_port(url: &str) -> Option<u16> {
    let parsed = parse_base_url(url).ok()?;
    if parsed.https || !parsed.is_loopback() {
        return None;
    }
    let rest = &parsed.url["http://".len()..];
    let authority = rest.split('/').next()?;
    authority[parsed.host.len()..]
        .strip_prefix(':')?
        .parse()
        .ok()
}

/// The gateway a bridge on `port` forwards to: the URL a flag gave (`flag`:
/// its name, `--base-url` or `--upstream`, and value), else what `install
/// --bridge` recorded, else the provider's current `base_url`, else the
/// guide's. Refused when it is the bridge itself (plain http to this machine
/// on `port`): the bridge would call itself. Errors name where the URL came
/// from.
pub fn bridge_upstream(
    flag: Option<(&'static str, &str)>,
    recorded: Option<&str>,
    current: Option<&str>,
    port: u16,
) -> Result<String, Invalid> {
    let (url, from) = match (flag, recorded, current) {
        (Some((name, u)), _, _) => (u, name),
        (None, Some(u), _) => (u, "the recorded upstream"),
        (None, None, Some(u)) => (u, "the provider's base_url"),
        (None, None, None) => (BASE_URL, "the guide's URL"),
    };
    let parsed = parse_base_url(url).map_err(|e| Invalid::Upstream {
        from,
        error: Box::new(e),
    })?;
    if loopback_port(&parsed.url) == Some(port) {
        return Err(Invalid::UpstreamIsBridge {
            from,
            url: redact_url(&parsed.url),
            port,
        });
    }
    Ok(parsed.url)
}

/// Whether a value given where a variable *name* belongs looks like the key
/// itself: one of the secrets this run knows (or a run of one), an `sk-`
/// prefix, or a long token of letters and digits.
pub fn looks_like_key(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.starts_with("sk-")
        || lower.starts_with("sk_")
        || shown::redact(value) != value
        || (value.chars().count() >= 20
            && !value.contains(char::is_whitespace)
            && value.contains(|c: char| c.is_ascii_digit())
            && value.contains(|c: char| c.is_ascii_alphabetic()))
}

/// An environment variable name Codex can read: `[A-Za-z_][A-Za-z0-9_]*`.
/// A value that looks like a key pasted in its place is not repeated.
pub fn check_env_key(name: &str) -> Result<(), Invalid> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128;
    if ok {
        Ok(())
    } else if looks_like_key(name) {
        Err(Invalid::EnvKeyIsKey {
            chars: name.chars().count(),
        })
    } else {
        Err(Invalid::EnvKeyName(
            shown::cut(&name.escape_debug().to_string(), ECHO_WIDTH).to_string(),
        ))
    }
}

/// Characters of a rejected value repeated in its error.
pub const ECHO_WIDTH: usize = 80;

/// A model id: printable, one line, at most 200 characters, nothing
/// invisible (bidi overrides, zero-width characters, line separators).
/// A rejected value is repeated escaped and cut to [`ECHO_WIDTH`].
pub fn check_model(model: &str) -> Result<(), Invalid> {
    if model.trim().is_empty()
        || model.trim() != model
        || model.len() > 200
        || model.chars().any(shown::is_unsafe)
    {
        Err(Invalid::Model(
            shown::cut(&shown::value(model), ECHO_WIDTH).to_string(),
        ))
    } else {
        Ok(())
    }
}

/// Turn a validation message into a usage error with a hint.
pub fn bad_flag(flag: &str, message: impl fmt::Display) -> Failure {
    usage(message.to_string()).help(format!("fix {flag} and run again; nothing was written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("https://api.ominigate.ai/v1/").unwrap().url,
            "https://api.ominigate.ai/v1"
        );
        assert!(
            parse_base_url("http://127.0.0.1:8080/v1")
                .unwrap()
                .is_loopback()
        );
        assert!(parse_base_url("http://localhost/v1").is_ok());
        assert!(parse_base_url("http://[::1]:9/v1").is_ok());
        for bad in [
            "http://api.ominigate.ai/v1",
            "file:///etc/passwd",
            "https:///v1",
            "https://user:pw@host/v1",
            " https://host/v1",
            "https://host/v 1",
            "https://host:99999/v1",
            "https://host/v1?x=1",
            "ftp://host",
            "",
            "https://[::1/v1",
        ] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_never_repeat_a_password_or_query() {
        for bad in [
            "https://user:s3cret@host/v1",
            "http://user:s3cret@example.com/v1",
            "https://user:s3cret@host/v 1",
            "https://user:s3cret@host\n/v1",
            "ftp://user:s3cret@host",
            "user:s3cret@host/v1",
            "https://user:s3cret@host:99999/v1",
            "https://user:a/s3cret@host/v1",
            "https://user:a?s3cret@host/v1",
            "https://user:s3cret@[::1/v1",
            "https://host/v1?key=s3cret",
            "https://host/v1#s3cret",
        ] {
            let err = parse_base_url(bad).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{bad}: {err}");
            assert!(!err.contains("user:"), "{bad}: {err}");
        }
        assert_eq!(redact_url("https://api.x/v1"), "https://api.x/v1");
        assert_eq!(redact_url("https://u:pw@api.x/v1"), "https://…@api.x/v1");
        assert_eq!(redact_url("https://api.x/v1?key=sk-1"), "https://api.x/v1…");
        assert_eq!(redact_url("no scheme"), "no scheme");
        assert_eq!(redact_url("u:p@h"), "…@h");
    }

    #[test]
    fn bridge_urls_and_upstreams() {
        assert_eq!(bridge_url(BRIDGE_PORT), "http://127.0.0.1:8741/v1");
        assert_eq!(loopback_port("http://127.0.0.1:8741/v1"), Some(8741));
        assert_eq!(loopback_port("http://localhost:9/v1/"), Some(9));
        assert_eq!(loopback_port("http://[::1]:77/v1"), Some(77));
        assert_eq!(loopback_port("http://127.0.0.1/v1"), None);
        assert_eq!(loopback_port("https://127.0.0.1:8741/v1"), None);
        assert_eq!(loopback_port("https://api.ominigate.ai/v1"), None);
        assert_eq!(loopback_port("not a url"), None);

        let up = |f: Option<&str>, r, c| bridge_upstream(f.map(|u| ("--base-url", u)), r, c, 8741);
        assert_eq!(up(None, None, None).unwrap(), BASE_URL);
        assert_eq!(
            up(None, None, Some("https://gw.example/v1/")).unwrap(),
            "https://gw.example/v1"
        );
        assert_eq!(
            up(
                None,
                Some("https://rec.example/v1"),
                Some("http://127.0.0.1:8741/v1")
            )
            .unwrap(),
            "https://rec.example/v1"
        );
        assert_eq!(
            up(
                Some("http://127.0.0.1:9000/v1"),
                Some("https://rec.example/v1"),
                None
            )
            .unwrap(),
            "http://127.0.0.1:9000/v1"
        );
        for itself in ["http://127.0.0.1:8741/v1", "http://localhost:8741/v1"] {
            let err = up(Some(itself), None, None).unwrap_err().to_string();
            assert!(err.contains("is the bridge itself"), "{err}");
            assert!(up(None, None, Some(itself)).is_err());
        }
        assert!(up(Some("http://gw.example/v1"), None, None).is_err());
        let named = bridge_upstream(Some(("--upstream", "ftp://gw.example")), None, None, 8741);
        assert!(named.unwrap_err().to_string().starts_with("--upstream: "));
    }

    #[test]
    fn env_keys_and_models() {
        assert!(check_env_key("OMINIGATE_API_KEY").is_ok());
        assert!(check_env_key("_X1").is_ok());
        for bad in ["", "1X", "A-B", "A B", "A\nB", "../x", "A=B"] {
            assert!(check_env_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_model("anthropic/claude-opus-4.6").is_ok());
        for bad in [
            "",
            " x",
            "a\nb",
            &"m".repeat(201),
            "a\u{2028}b",
            "a\u{2029}b",
            "gpt\u{202e}orp",
            "gpt\u{2066}x",
            "g\u{200b}pt",
            "g\u{feff}pt",
            "a\u{1b}]0;x\u{7}",
        ] {
            let err = check_model(bad).unwrap_err().to_string();
            assert!(!err.chars().any(shown::is_unsafe), "{err:?}");
            assert!(err.chars().count() < 200, "{err}");
        }
        let err = check_env_key("sk-omg-CANARY-7f3a9c2e1d")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("CANARY") && err.contains("not an environment variable name"),
            "{err}"
        );
        let err = check_env_key("Abcdef0123456789abcdef-x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("Abcdef"), "{err}");
        assert!(
            check_env_key("A-B")
                .unwrap_err()
                .to_string()
                .contains("`A-B`")
        );
    }
}
