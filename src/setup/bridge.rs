//! Whether the provider calls a bridge on this machine (`install --bridge`),
//! and on which port: asked by doctor's `bridge.reachable`, `status` and
//! `bridge` (where to listen).

use std::fmt;
use std::path::PathBuf;

use super::Setup;
use crate::spec;

/// The provider's `base_url` when it is plain http to a port on this
/// machine: where a bridge would listen.
#[derive(Debug, Clone)]
pub struct Local {
    /// `http://127.0.0.1:PORT/v1`, as configured (without a trailing `/`).
    pub base_url: String,
    pub port: u16,
    /// What `install --bridge` recorded as the gateway.
    pub recorded: Option<String>,
}

impl Local {
    /// `http://HOST:PORT/health`.
    pub fn health_url(&self) -> String {
        let rest = self.base_url.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        format!("http://{authority}/health")
    }

    /// Whether this is a bridge: install recorded one, or the URL is the
    /// bridge's default.
    pub fn expected(&self) -> bool {
        self.recorded.is_some() || self.port == spec::BRIDGE_PORT
    }
}

/// Why the provider's `base_url` is not a bridge to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoBridge {
    /// This config file does not load.
    Broken(PathBuf),
    NoBaseUrl,
    /// The provider calls this URL (redacted) directly.
    Direct(String),
}

impl fmt::Display for NoBridge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoBridge::Broken(path) => write!(
                f,
                "cannot check: {} does not load (see config.parse)",
                path.display()
            ),
            NoBridge::NoBaseUrl => {
                f.write_str("no bridge: the provider has no base_url (see provider.fields)")
            }
            NoBridge::Direct(url) => write!(f, "no bridge: the provider calls {url} directly"),
        }
    }
}

impl std::error::Error for NoBridge {}

/// The provider's loopback `base_url`, or why this is not about a bridge.
pub fn local(inp: &Setup) -> Result<Local, NoBridge> {
    if let Some((source, _)) = inp.broken().first() {
        return Err(NoBridge::Broken(source.path.clone()));
    }
    let Some(raw) = inp.provider_base_url() else {
        return Err(NoBridge::NoBaseUrl);
    };
    let Some(port) = spec::loopback_port(raw) else {
        return Err(NoBridge::Direct(spec::redact_url(
            raw.trim_end_matches('/'),
        )));
    };
    Ok(Local {
        base_url: raw.trim_end_matches('/').to_string(),
        port,
        // A damaged state file names no gateway; doctor reports on the
        // bridge as if install recorded none (doctor never fails on it).
        recorded: inp.bridge_upstream().ok().flatten().map(str::to_string),
    })
}
