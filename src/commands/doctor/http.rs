//! One HTTP request with the API key, safely: https (or plain http to this
//! machine only), a time limit, and no redirect followed.

use std::fmt;
use std::time::Duration;

use crate::{net, spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    /// The `Location` header of a redirect (never followed).
    pub location: Option<String>,
    /// At most [`BODY_LIMIT`] bytes, as text.
    pub body: String,
}

pub const BODY_LIMIT: u64 = 1 << 20;

/// Why there is no [`Reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The URL is not safe to send the key to: nothing went out.
    NotSent(spec::Invalid),
    /// No answer within the limit.
    TimedOut(Duration),
    /// A broken answer or connection (in [`net::describe`]'s words).
    Failed(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotSent(e) => write!(f, "not sent: {e}"),
            SendError::TimedOut(limit) => {
                write!(f, "no answer within {}", net::seconds(*limit))
            }
            SendError::Failed(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for SendError {}

impl SendError {
    fn new(e: &ureq::Error, limit: Duration) -> Self {
        if net::is_timeout(e) {
            SendError::TimedOut(limit)
        } else {
            SendError::Failed(net::describe(e, limit))
        }
    }
}

/// Send `method url` with `Authorization: Bearer <key>`. Refuses, without
/// sending anything, a URL that is not https unless its host is loopback.
/// Redirects are returned as they are, not followed, so the key never goes
/// to the address a redirect names.
pub fn send(
    method: Method,
    url: &str,
    key: &str,
    body: Option<&str>,
    limit: Duration,
) -> Result<Reply, SendError> {
    request(method, url, Some(key), body, limit)
}

/// `GET url` without any key: for a bridge's `/health`, which needs none.
pub fn get_without_key(url: &str, limit: Duration) -> Result<Reply, SendError> {
    request(Method::Get, url, None, None, limit)
}

fn request(
    method: Method,
    url: &str,
    key: Option<&str>,
    body: Option<&str>,
    limit: Duration,
) -> Result<Reply, SendError> {
    let checked = spec::parse_base_url(url).map_err(SendError::NotSent)?;
    let agent: ureq::Agent = net::agent_config(&checked)
        .timeout_global(Some(limit))
        .build()
        .into();
    let auth = key.map(|k| format!("Bearer {k}"));
    let result = match method {
        Method::Get => {
            let mut req = agent.get(url).header("Accept", "application/json");
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()
        }
        Method::Post => {
            let mut req = agent
                .post(url)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.send(body.unwrap_or_default())
        }
    };
    let mut response = result.map_err(|e| SendError::new(&e, limit))?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let bytes = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(|e| SendError::new(&e, limit))?;
    Ok(Reply {
        status,
        location,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_to_another_machine_is_refused_before_sending() {
        let err = send(
            Method::Get,
            "http://api.ominigate.ai/v1/models",
            "sk-secret",
            None,
            Duration::from_secs(1),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("not sent:"), "{err}");
        assert!(!err.contains("sk-secret"));
    }
}
