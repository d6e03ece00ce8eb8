//! What `install` did, so that `uninstall` undoes exactly that.
//!
//! Kept as JSON in `$CODEX_HOME/ominigate-codex.state.json`. It never holds
//! the API key: only which blocks were created and the previous text of the
//! keys that were changed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::toml::blocks::{Change, Previous};

pub const SCHEMA: u32 = 1;

/// Why a state file cannot be read: not this JSON, or another schema.
#[derive(Debug)]
pub enum Damaged {
    Json(serde_json::Error),
    Schema(u32),
}

impl fmt::Display for Damaged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damaged::Json(e) => e.fmt(f),
            Damaged::Schema(found) => write!(f, "schema {found} is not {SCHEMA}"),
        }
    }
}

impl std::error::Error for Damaged {}

/// How one block or file came to be as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// Install created it; uninstall removes it.
    Created,
    /// It existed; install changed these keys (previous text, `None` = absent).
    Updated { previous: Previous },
}

impl Record {
    /// Fold a new [`Change`] into what an earlier run recorded: the earliest
    /// previous value of a key wins, and a block once created stays created.
    pub fn merge(old: Option<Record>, change: Change) -> Option<Record> {
        match (old, change) {
            (_, Change::Created) => Some(Record::Created),
            (Some(Record::Created), _) => Some(Record::Created),
            (Some(Record::Updated { previous: mut kept }), Change::Updated(new)) => {
                for (k, v) in new {
                    kept.entry(k).or_insert(v);
                }
                Some(Record::Updated { previous: kept })
            }
            (old @ Some(Record::Updated { .. }), Change::Unchanged) => old,
            (None, Change::Updated(previous)) => Some(Record::Updated { previous }),
            (None, Change::Unchanged) => Some(Record::Updated {
                previous: Previous::new(),
            }),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub schema: u32,
    /// `[model_providers.ominigate]` in config.toml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Record>,
    /// `[profiles.ominigate]` in config.toml (Codex up to 0.133).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_table: Option<Record>,
    /// `ominigate.config.toml` (Codex 0.134 on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_file: Option<Record>,
    /// `--default`: previous top-level `model_provider` / `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Previous>,
    /// `install --bridge`: the gateway the bridge forwards to (the
    /// provider's `base_url` is then the bridge). Never holds credentials:
    /// base URLs with a user name, password or query are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge_upstream: Option<String>,
    /// config.toml did not exist before install: uninstall removes it when
    /// nothing is left in it, with no backup.
    #[serde(default, skip_serializing_if = "is_false")]
    pub config_created: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

impl State {
    pub fn is_empty(&self) -> bool {
        self.provider.is_none()
            && self.profile_table.is_none()
            && self.profile_file.is_none()
            && self.defaults.is_none()
            && self.bridge_upstream.is_none()
            && !self.config_created
    }

    pub fn parse(text: &str) -> Result<State, Damaged> {
        let state: State = serde_json::from_str(text).map_err(Damaged::Json)?;
        if state.schema != SCHEMA {
            return Err(Damaged::Schema(state.schema));
        }
        Ok(state)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(&State {
            schema: SCHEMA,
            ..self.clone()
        })
        .unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_previous_value_wins() {
        let first = Previous::from([("model".to_string(), Some("\"a\"".to_string()))]);
        let second = Previous::from([
            ("model".to_string(), Some("\"b\"".to_string())),
            ("x".to_string(), None),
        ]);
        let r = Record::merge(None, Change::Updated(first));
        let r = Record::merge(r, Change::Updated(second));
        let Some(Record::Updated { previous }) = r else {
            panic!()
        };
        assert_eq!(previous.get("model"), Some(&Some("\"a\"".to_string())));
        assert_eq!(previous.get("x"), Some(&None));
        assert_eq!(
            Record::merge(Some(Record::Created), Change::Unchanged),
            Some(Record::Created)
        );
    }

    #[test]
    fn json_round_trip() {
        let state = State {
            schema: SCHEMA,
            provider: Some(Record::Created),
            defaults: Some(Previous::from([("model_provider".to_string(), None)])),
            bridge_upstream: Some("https://api.ominigate.ai/v1".to_string()),
            ..State::default()
        };
        assert_eq!(State::parse(&state.to_json()).ok(), Some(state));
        let err = State::parse("{\"schema\": 9}").unwrap_err();
        assert_eq!(err.to_string(), "schema 9 is not 1");
        // A record from before the bridge reads as direct.
        assert_eq!(
            State::parse("{\"schema\": 1}")
                .ok()
                .map(|s| s.bridge_upstream),
            Some(None)
        );
        assert!(
            !State {
                bridge_upstream: Some("https://x/v1".into()),
                ..State::default()
            }
            .is_empty()
        );
    }
}
