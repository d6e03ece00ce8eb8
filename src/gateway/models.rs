//! The gateway's model list, `GET {base_url}/models`: asked by `models`
//! (shown), `use` (a model checked against it), and install, `use` and
//! `models --refresh` for the model catalogue; parsed here for doctor's
//! `endpoint.models` and the bridge check too.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::{MESSAGE_WIDTH, Method, SendError, send, server_message};
use crate::catalog::Known;
use crate::setup::Setup;
use crate::setup::facts;
use crate::shown::{self, Secrets};
use crate::spec;

/// Where the live list comes from: the provider as `codex --profile
/// ominigate` sees it (its `base_url`, else the guide's; its `env_key`),
/// or, when that `base_url` is the bridge `install --bridge` set up, the
/// gateway it recorded: the bridge forwards `/models` there as it is, and
/// need not be running for `models` and `use` to read the list.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub base_url: String,
    pub key_name: String,
    key: Option<String>,
    /// What the gateway must not be quoted saying (see [`Setup::secrets`]).
    secrets: Secrets,
    /// A config file that does not load, said: the gateway is not asked.
    broken: Option<String>,
}

impl Gateway {
    pub fn of(inp: &Setup) -> Gateway {
        let bridged = crate::setup::bridge::local(inp)
            .ok()
            .and_then(|l| l.recorded);
        let base_url = bridged
            .as_deref()
            .or(inp.provider_base_url())
            .unwrap_or(spec::BASE_URL);
        Gateway::at(inp, base_url, &facts::env_key_name(inp))
    }

    /// The gateway a run is about to point Codex at (install's `--base-url`
    /// and `--env-key`, or the upstream of a bridge), not the one the files
    /// name now; the key is read from `key_name` and masked like the others.
    pub fn aimed(inp: &Setup, base_url: &str, key_name: &str) -> Gateway {
        let mut gw = Gateway::at(inp, base_url, key_name);
        if let Some(key) = &gw.key {
            shown::protect(key);
            gw.secrets.add(key);
        }
        gw
    }

    /// The gateway at `base_url`, asked with the key in `key_name`.
    fn at(inp: &Setup, base_url: &str, key_name: &str) -> Gateway {
        Gateway {
            base_url: base_url.trim_end_matches('/').to_string(),
            key_name: key_name.to_string(),
            key: facts::key(&inp.env, key_name).value().map(str::to_string),
            secrets: inp.secrets(),
            broken: inp.broken().first().map(|(s, _)| {
                format!(
                    "{} does not load (see `{} doctor`)",
                    s.path.display(),
                    inp.home.ominigate_codex()
                )
            }),
        }
    }

    /// `{base_url}/models`, safe to show.
    pub fn models_url(&self) -> String {
        spec::redact_url(&format!("{}/models", self.base_url))
    }
}

/// The live list, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// The ids OminiGate lists, sorted.
    Listed(Vec<String>),
    /// Not asked: `--offline`, no key, a config that does not load.
    Skipped(String),
    /// Asked, and no list came back.
    Failed(String),
}

/// Ask the gateway for its models, unless `offline` or it cannot be done.
pub fn live(gw: &Gateway, offline: bool, limit: Duration) -> Live {
    live_known(gw, offline, limit).map_or_else(|why| why, Live::of)
}

impl Live {
    /// Why there is no list (empty when there is one).
    pub fn reason(&self) -> &str {
        match self {
            Live::Listed(_) => "",
            Live::Skipped(why) | Live::Failed(why) => why,
        }
    }

    /// The ids of a list read, sorted, each once.
    pub fn of(models: Vec<Known>) -> Live {
        let mut ids: Vec<String> = models.into_iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        Live::Listed(ids)
    }
}

/// [`live`] with what the list says about each model (in the server's
/// order): its window, whether it reasons, what it reads.
pub fn live_known(gw: &Gateway, offline: bool, limit: Duration) -> Result<Vec<Known>, Live> {
    if offline {
        return Err(Live::Skipped("--offline".into()));
    }
    if let Some(why) = &gw.broken {
        return Err(Live::Skipped(why.clone()));
    }
    let Some(key) = &gw.key else {
        return Err(Live::Skipped(format!("{} is not set", gw.key_name)));
    };
    fetch(gw, key, limit).map_err(|e| Live::Failed(e.to_string()))
}

/// Why `GET {base_url}/models` gave no list. `url` is that URL as it may
/// be shown; `says` is the gateway's message (`: …`), or empty.
#[derive(Debug, Clone, PartialEq, Eq)]
enum FetchError {
    Unreachable {
        url: String,
        error: SendError,
    },
    NotAList {
        url: String,
        status: u16,
    },
    /// `location` already redacted, or `None` without a `Location` header.
    Redirect {
        url: String,
        status: u16,
        location: Option<String>,
    },
    KeyRejected {
        url: String,
        key_name: String,
        says: String,
    },
    KeyForbidden {
        url: String,
        key_name: String,
        says: String,
    },
    NotFound {
        url: String,
    },
    Status {
        url: String,
        status: u16,
        says: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Unreachable { url, error } => write!(f, "cannot reach {url}: {error}"),
            FetchError::NotAList { url, status } => write!(
                f,
                "{url} answered {status} but not with a model list (base_url should be the API root, like {})",
                spec::BASE_URL
            ),
            FetchError::Redirect {
                url,
                status,
                location,
            } => write!(
                f,
                "{url} redirects ({status}) to {}; not followed, so the key went nowhere else",
                location.as_deref().unwrap_or("(no Location header)")
            ),
            FetchError::KeyRejected {
                url,
                key_name,
                says,
            } => write!(
                f,
                "OminiGate rejected the key in {key_name} ({url} answered 401{says})"
            ),
            FetchError::KeyForbidden {
                url,
                key_name,
                says,
            } => write!(
                f,
                "the key in {key_name} may not list models ({url} answered 403{says})"
            ),
            FetchError::NotFound { url } => write!(
                f,
                "{url} answered 404: base_url is probably wrong (OminiGate's is {})",
                spec::BASE_URL
            ),
            FetchError::Status { url, status, says } => write!(f, "{url} answered {status}{says}"),
        }
    }
}

fn fetch(gw: &Gateway, key: &str, limit: Duration) -> Result<Vec<Known>, FetchError> {
    let url = format!("{}/models", gw.base_url);
    let shown = gw.models_url();
    let r = send(Method::Get, &url, key, None, limit).map_err(|error| FetchError::Unreachable {
        url: shown.clone(),
        error,
    })?;
    let says = match server_message(&r.body, &gw.secrets) {
        m if m.is_empty() => String::new(),
        m => format!(": {m}"),
    };
    let key_name = gw.key_name.clone();
    let status = r.status;
    match status {
        200..=299 => {
            model_details(&r.body, &gw.secrets).ok_or(FetchError::NotAList { url: shown, status })
        }
        300..=399 => Err(FetchError::Redirect {
            url: shown,
            status,
            location: r.location.as_deref().map(spec::redact_url),
        }),
        401 => Err(FetchError::KeyRejected {
            url: shown,
            key_name,
            says,
        }),
        403 => Err(FetchError::KeyForbidden {
            url: shown,
            key_name,
            says,
        }),
        404 => Err(FetchError::NotFound { url: shown }),
        _ => Err(FetchError::Status {
            url: shown,
            status,
            says,
        }),
    }
}

/// The ids of an OpenAI-style model list, `{"data": [{"id": …}, …]}`, in
/// the server's order, as they may be shown (see [`server_message`]);
/// `None` when the body is not such a list.
pub fn model_ids(body: &str, secrets: &Secrets) -> Option<Vec<String>> {
    let v = serde_json::from_str::<Value>(body).ok()?;
    let list = v.get("data")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str))
            .map(|id| shown::untrusted(secrets, id, MESSAGE_WIDTH))
            .collect(),
    )
}

/// [`model_ids`] with what each entry says of the model (see [`Known`]).
pub fn model_details(body: &str, secrets: &Secrets) -> Option<Vec<Known>> {
    let v = serde_json::from_str::<Value>(body).ok()?;
    let list = v.get("data")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|m| {
                let id = m.get("id").and_then(Value::as_str)?;
                Some(Known {
                    id: shown::untrusted(secrets, id, MESSAGE_WIDTH),
                    context_window: window(m),
                    reasons: reasons(m),
                    input_modalities: input_modalities(m),
                })
            })
            .collect(),
    )
}

/// Fields that give a model's window, in the shapes gateways use:
/// OpenRouter's `context_length` and `top_provider.context_length`,
/// LiteLLM's `context_window`, `max_context_length`, `max_input_tokens`.
const WINDOW_FIELDS: [&[&str]; 5] = [
    &["context_length"],
    &["top_provider", "context_length"],
    &["context_window"],
    &["max_context_length"],
    &["max_input_tokens"],
];

/// The model's window: the smallest the entry gives (a window too large
/// means a thread that never compacts and dies; too small only compacts
/// early). Numbers below 1,024 or above 100M tokens are not windows.
fn window(m: &Value) -> Option<u64> {
    WINDOW_FIELDS
        .iter()
        .filter_map(|path| {
            path.iter()
                .try_fold(m, |v, k| v.get(k))
                .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)))
        })
        .filter(|n| (1_024..=100_000_000).contains(n))
        .min()
}

/// Whether the model takes a reasoning effort, from `supported_parameters`
/// (OpenRouter): `reasoning` or `reasoning_effort` listed; `None` without
/// the list.
fn reasons(m: &Value) -> Option<bool> {
    let params = m.get("supported_parameters")?.as_array()?;
    Some(
        params
            .iter()
            .filter_map(Value::as_str)
            .any(|p| p == "reasoning" || p == "reasoning_effort"),
    )
}

/// `architecture.input_modalities` (OpenRouter), as listed.
fn input_modalities(m: &Value) -> Option<Vec<String>> {
    let list = m.get("architecture")?.get("input_modalities")?.as_array()?;
    Some(
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
    )
}

/// Up to five listed ids close to `model` (holding its name after the
/// last `/`), else the listed recommended ones: what to suggest instead.
pub fn close_matches<'a>(model: &str, ids: &'a [String]) -> Vec<&'a String> {
    let tail = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let close: Vec<&String> = ids
        .iter()
        .filter(|id| id.to_ascii_lowercase().contains(&tail))
        .take(5)
        .collect();
    if !close.is_empty() {
        return close;
    }
    ids.iter()
        .filter(|id| spec::RECOMMENDED_MODELS.iter().any(|(m, _)| m == id))
        .take(5)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_are_read_in_the_servers_order() {
        let none = Secrets::default();
        assert_eq!(
            model_ids(r#"{"data": [{"id": "b"}, {"id": "a"}, {"x": 1}]}"#, &none),
            Some(vec!["b".to_string(), "a".to_string()])
        );
        assert_eq!(model_ids(r#"{"data": []}"#, &none), Some(vec![]));
        assert_eq!(model_ids(r#"{"models": []}"#, &none), None);
        assert_eq!(model_ids("<html>", &none), None);
        let key = Secrets::new(["sk-omg-CANARY-7f3a9c2e1d"]);
        assert_eq!(
            model_ids(r#"{"data": [{"id": "x/SK-OMG-CANARY-7F3A9C2E1"}]}"#, &key),
            Some(vec!["x/sk-o…2e1d".to_string()])
        );
    }

    #[test]
    fn windows_reasoning_and_modalities_are_read_in_each_shape() {
        let body = r#"{"data": [
            {"id": "or/a", "context_length": 200000, "top_provider": {"context_length": 163840},
             "supported_parameters": ["tools", "reasoning"],
             "architecture": {"input_modalities": ["text", "image"]}},
            {"id": "ll/b", "context_window": 1048576, "max_input_tokens": 1000000},
            {"id": "ll/c", "max_context_length": 32768.0, "supported_parameters": ["tools"]},
            {"id": "d", "context_length": 0, "max_input_tokens": "big"},
            {"id": "e", "context_length": 1e12}
        ]}"#;
        let got = model_details(body, &Secrets::default()).unwrap();
        let w: Vec<Option<u64>> = got.iter().map(|k| k.context_window).collect();
        assert_eq!(
            w,
            [Some(163_840), Some(1_000_000), Some(32_768), None, None]
        );
        let r: Vec<Option<bool>> = got.iter().map(|k| k.reasons).collect();
        assert_eq!(r, [Some(true), None, Some(false), None, None]);
        assert_eq!(
            got[0].input_modalities,
            Some(vec!["text".into(), "image".into()])
        );
        assert_eq!(got[1].input_modalities, None);
        assert_eq!(model_details("[]", &Secrets::default()), None);
    }

    #[test]
    fn close_matches_prefer_the_same_name_then_the_recommended() {
        let ids: Vec<String> = ["x/gpt-5.4-pro", "openai/gpt-5.3-codex", "y/z"]
            .map(String::from)
            .to_vec();
        assert_eq!(close_matches("openai/GPT-5.4-pro", &ids), [&ids[0]]);
        assert_eq!(close_matches("nope/nothing", &ids), [&ids[1]]);
        assert!(close_matches("nope", &[]).is_empty());
    }
}
