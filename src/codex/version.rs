//! Codex release numbers, and what config layout each release accepts.
//!
//! The three eras are measured, not guessed: see `codex-compat.md` in the
//! project's shared notes and the README's table.

use std::fmt;
use std::str::FromStr;

/// A Codex release number, ordered as semver orders them: a pre-release
/// (`0.134.0-alpha.1`) comes before its release (`0.134.0`). Build
/// metadata (`+…`) is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Pre,
}

impl Version {
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: Pre::NONE,
        }
    }
}

/// Longest pre-release tag accepted (`alpha.1`, `rc.2`…).
const PRE_MAX: usize = 32;

/// A semver pre-release tag, or none (a release). Kept inline so that a
/// version stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pre {
    len: u8,
    bytes: [u8; PRE_MAX],
}

impl Pre {
    pub const NONE: Pre = Pre {
        len: 0,
        bytes: [0; PRE_MAX],
    };

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }

    pub fn is_release(&self) -> bool {
        self.len == 0
    }

    /// Dot-separated identifiers of ASCII letters, digits and `-`;
    /// numeric ones without leading zeros.
    fn parse(s: &str) -> Option<Pre> {
        let valid = s.len() <= PRE_MAX
            && s.split('.').all(|id| {
                !id.is_empty()
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !(id.len() > 1
                        && id.starts_with('0')
                        && id.bytes().all(|b| b.is_ascii_digit()))
            });
        valid.then(|| {
            let mut bytes = [0; PRE_MAX];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            Pre {
                len: s.len() as u8,
                bytes,
            }
        })
    }
}

impl fmt::Debug for Pre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Ord for Pre {
    /// semver §11: a release is above its pre-releases; identifiers compare
    /// numerically when both are numbers, numbers below words, else as
    /// ASCII; a longer list wins when one is a prefix of the other.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self.is_release(), other.is_release()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        let id = |s: &'_ str| -> Vec<(Option<u64>, String)> {
            s.split('.')
                .map(|p| (p.parse::<u64>().ok(), p.to_string()))
                .collect()
        };
        let (a, b) = (id(self.as_str()), id(other.as_str()));
        for (x, y) in a.iter().zip(&b) {
            let o = match (x.0, y.0) {
                (Some(m), Some(n)) => m.cmp(&n),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => x.1.cmp(&y.1),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.len().cmp(&b.len())
    }
}

impl PartialOrd for Pre {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The first release that refuses `wire_api = "chat"`.
pub const CHAT_REMOVED: Version = Version::new(0, 95, 0);
/// The first release that reads `--profile NAME` from `NAME.config.toml`.
pub const PROFILE_FILES: Version = Version::new(0, 134, 0);
/// The newest release this tool was measured against.
pub const NEWEST_KNOWN: Version = Version::new(0, 171, 0);
/// The first release with `codex debug prompt-input`.
pub const PROMPT_INPUT: Version = Version::new(0, 133, 0);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_release() {
            write!(f, "-{}", self.pre.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Version {
    type Err = String;

    /// `X.Y.Z`, optionally with a semver pre-release (`-alpha.1`) and
    /// build metadata (`+…`, ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{}` is not a version like 0.169.0 (or 0.134.0-alpha.1)",
                crate::shown::cut(&crate::shown::value(s), crate::spec::ECHO_WIDTH)
            )
        };
        let s = s.trim();
        let no_build = s.split('+').next().unwrap_or_default();
        let (core, pre) = match no_build.split_once('-') {
            Some((core, pre)) => (core, Pre::parse(pre).ok_or_else(bad)?),
            None => (no_build, Pre::NONE),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let num = |p: &str| {
            p.parse::<u64>()
                .ok()
                .filter(|_| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        match parts.as_slice() {
            [a, b, c] => match (num(a), num(b), num(c)) {
                (Some(major), Some(minor), Some(patch)) => Ok(Version {
                    major,
                    minor,
                    patch,
                    pre,
                }),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// Where the profile lives for a given release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileLayout {
    /// `[profiles.ominigate]` in `config.toml` (up to 0.133).
    Table,
    /// Top-level keys in `$CODEX_HOME/ominigate.config.toml` (0.134 on).
    File,
}

/// What a Codex release accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub profile: ProfileLayout,
    pub chat_supported: bool,
    /// The profile can point Codex at a model catalogue
    /// (`model_catalog_json`; not in 0.94).
    pub catalog: bool,
}

impl Layout {
    pub fn for_version(v: Version) -> Layout {
        Layout {
            profile: if v >= PROFILE_FILES {
                ProfileLayout::File
            } else {
                ProfileLayout::Table
            },
            chat_supported: v < CHAT_REMOVED,
            catalog: v >= CHAT_REMOVED,
        }
    }

    pub fn default_wire_api(self) -> &'static str {
        if self.chat_supported {
            "chat"
        } else {
            "responses"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!("0.94.0".parse(), Ok(Version::new(0, 94, 0)));
        let alpha: Version = "0.134.0-alpha.2".parse().unwrap();
        assert_eq!(alpha.to_string(), "0.134.0-alpha.2");
        assert_eq!("0.134.0+build.5".parse(), Ok(Version::new(0, 134, 0)));
        assert!("0.134.0-".parse::<Version>().is_err());
        assert!("0.134.0-a..b".parse::<Version>().is_err());
        assert!("0.134.0-01".parse::<Version>().is_err());
        assert!("+1.2.3".parse::<Version>().is_err());
        assert!("0.94".parse::<Version>().is_err());
        assert!("a.b.c".parse::<Version>().is_err());
        assert!("0..1".parse::<Version>().is_err());
    }

    #[test]
    fn pre_releases_sort_before_their_release_as_semver_says() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        // semver.org §11's own example, in order.
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for w in order.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
        }
        assert!(v("0.134.0-alpha.1") < PROFILE_FILES);
        assert!(v("0.134.0-alpha.1") > v("0.133.0"));
        assert_eq!(
            Layout::for_version(v("0.134.0-alpha.1")).profile,
            ProfileLayout::Table
        );
        assert_eq!(
            Layout::for_version(v("0.95.0-rc.1")).default_wire_api(),
            "chat"
        );
    }

    #[test]
    fn eras_follow_the_measured_boundaries() {
        let table = |v| Layout::for_version(v);
        assert_eq!(table(Version::new(0, 94, 0)).default_wire_api(), "chat");
        assert_eq!(
            table(Version::new(0, 95, 0)).default_wire_api(),
            "responses"
        );
        assert_eq!(table(Version::new(0, 133, 0)).profile, ProfileLayout::Table);
        assert_eq!(table(Version::new(0, 134, 0)).profile, ProfileLayout::File);
        assert_eq!(table(Version::new(1, 0, 0)).profile, ProfileLayout::File);
    }
}
