//! The files a run changes, read and parsed once: config.toml, the
//! profile file, install's record and the copy from before install. Each
//! is a [`Loaded`] (path and bytes, like cargo's `LocalManifest`); the
//! [`Workspace`] holds their parsed documents for editing and renders them
//! back in each file's own style as the [`FileWrite`]s to commit.

use std::path::Path;

use anyhow::Result;
use toml_edit::DocumentMut;

use super::marks::{PROFILE_FILE_COMMENT, PROVIDER_COMMENT};
use super::state::State;
use crate::codex::version::Layout;
use crate::error::{Failure, invalid, refused};
use crate::fs::{self, FileWrite, Snapshot};
use crate::paths::{self, CodexHome};
use crate::toml::blocks::{self, EditError, PROFILE, PROVIDER};
use crate::toml::parse::{self, Parsed};

/// A file read from disk, checked to be UTF-8.
pub struct Loaded {
    pub snapshot: Snapshot,
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Loaded> {
        let loaded = Loaded {
            snapshot: fs::read(path)?,
        };
        loaded.text()?;
        Ok(loaded)
    }

    /// A file that is not on disk: `text` (`None`: absent) under `path`.
    /// For driving the edit through the library, in tests and benches.
    pub fn in_memory(path: &Path, text: Option<&str>) -> Loaded {
        Loaded {
            snapshot: Snapshot {
                path: path.to_path_buf(),
                target: path.to_path_buf(),
                bytes: text.map(|t| t.as_bytes().to_vec()),
                ..Snapshot::default()
            },
        }
    }

    /// The file's text, empty when it does not exist. Borrowed from the
    /// snapshot, so a file is held in memory once.
    pub fn text(&self) -> Result<&str, Failure> {
        match &self.snapshot.bytes {
            Some(b) => parse::as_text(&self.snapshot.path, b),
            None => Ok(""),
        }
    }

    pub fn exists(&self) -> bool {
        self.snapshot.bytes.is_some()
    }

    /// A change that writes `after` (`None`: delete), if it differs.
    pub fn change(&self, after: Option<impl Into<Vec<u8>>>, backup: bool) -> FileWrite<'_> {
        FileWrite {
            before: &self.snapshot,
            after: after.map(Into::into),
            backup,
            ours: false,
        }
    }
}

/// A wrong type in a config file, as the user should read it.
pub fn shape_error(path: &Path, e: EditError) -> anyhow::Error {
    let help = match e {
        EditError::NotAVariableName { .. } => format!(
            "in {}, set `env_key = \"OMINIGATE_API_KEY\"` and put `export OMINIGATE_API_KEY=\"<your key>\"` \
             in your shell's startup file, then run again. Nothing was written.",
            path.display()
        ),
        _ => format!(
            "fix that key in {} and run again. Nothing was written.",
            path.display()
        ),
    };
    invalid(format!("{}: {e}", path.display()))
        .help(help)
        .into()
}

/// Parse a loaded config and check the keys this tool touches have the right types.
pub fn parse_checked<'a>(loaded: &'a Loaded) -> Result<Parsed<'a>> {
    let parsed = parse::parse(&loaded.snapshot.path, loaded.text()?)?;
    blocks::check_shapes(&parsed.doc).map_err(|e| shape_error(&loaded.snapshot.path, e))?;
    Ok(parsed)
}

/// OminiGate is not installed in `home` (`why`), so a command that edits
/// what install wrote (`use`, `models --refresh`) stops: run `install`
/// (`install_args`, e.g. ` --model M`) first.
pub fn not_installed(home: &CodexHome, why: &str, install_args: &str) -> anyhow::Error {
    Failure::new(
        crate::error::Kind::Failure,
        format!(
            "OminiGate is not installed in {}: {why}",
            home.dir.display()
        ),
    )
    .help(format!(
        "run `{} install{install_args}` first; nothing was written",
        home.ominigate_codex()
    ))
    .into()
}

/// The documents install and uninstall edit, and install's record.
pub struct Docs {
    pub config: DocumentMut,
    /// `ominigate.config.toml`; `None` when it does not (or will not) exist.
    pub profile: Option<DocumentMut>,
    pub state: State,
    /// Keep a copy of config.toml as it was before install (see
    /// [`paths::PRE_INSTALL_SUFFIX`]), unless one is kept already.
    pub keep_pre_install: bool,
    /// config.toml is on disk (install records when it was not).
    pub config_existed: bool,
    /// The files (`config.toml`, the profile file) install created that
    /// uninstall leaves with nothing of the user's: removed when empty,
    /// with no backup of a file that did not exist before install.
    pub ours_alone: Vec<&'static str>,
    /// The model catalogue's bytes (`None`: no file), as read, then as the
    /// run leaves it (see [`super::catalog`]).
    pub catalog: Option<Vec<u8>>,
}

impl Docs {
    /// Undo `--default`: put back the top-level `model_provider` and `model`
    /// install recorded, exactly, and forget the record. Left alone when the
    /// user has since pointed `model_provider` elsewhere. Returns what was
    /// done, for the report (`None`: `--default` was not recorded).
    pub fn restore_defaults(&mut self) -> Result<Option<&'static str>, EditError> {
        let Some(previous) = self.state.defaults.take() else {
            return Ok(None);
        };
        let root = self.config.as_table_mut();
        if blocks::get_str(root, "model_provider") == Some(crate::spec::PROVIDER_ID) {
            blocks::restore_keys(root, &previous)?;
            Ok(Some(
                "restored your previous top-level model_provider and model",
            ))
        } else {
            Ok(Some(
                "left top-level model_provider and model alone: you changed them since install",
            ))
        }
    }

    /// Top-level `model_provider = "ominigate"` that install did not write
    /// (no `--default` record): nothing says what to put back.
    pub fn unrecorded_default(&self) -> bool {
        self.state.defaults.is_none() && self.selects_ominigate()
    }

    /// Whether plain `codex` follows the profile's model (`install --default`).
    pub fn default_follows(&self) -> bool {
        self.state.defaults.is_some() && self.selects_ominigate()
    }

    /// Top-level `model_provider = "ominigate"`.
    fn selects_ominigate(&self) -> bool {
        blocks::get_str(self.config.as_table(), "model_provider") == Some(crate::spec::PROVIDER_ID)
    }

    /// What is missing in these files for OminiGate to count as installed
    /// (what `use` edits), if anything.
    pub fn missing(&self) -> Result<Option<&'static str>, EditError> {
        if blocks::get_block(&self.config, PROVIDER)?.is_none() {
            return Ok(Some(
                "there is no [model_providers.ominigate] in config.toml",
            ));
        }
        if blocks::get_block(&self.config, PROFILE)?.is_none() && self.profile.is_none() {
            return Ok(Some(
                "there is no `ominigate` profile ([profiles.ominigate] or ominigate.config.toml)",
            ));
        }
        Ok(None)
    }

    /// The config's `wire_api` when this Codex accepts it, else what install
    /// would write.
    pub fn kept_wire_api(&self, layout: Layout) -> Result<&'static str, EditError> {
        let block = blocks::get_block(&self.config, PROVIDER)?;
        Ok(match block.and_then(|b| blocks::get_str(b, "wire_api")) {
            Some("chat") if layout.chat_supported => "chat",
            Some("responses") => "responses",
            _ => layout.default_wire_api(),
        })
    }
}

/// The files a run reads: config.toml, the profile file, the state file,
/// and the copy of config.toml from before install.
pub struct Files {
    pub config: Loaded,
    pub profile: Loaded,
    pub state: Loaded,
    pub pre_install: Loaded,
    /// The model catalogue (see [`crate::catalog`]): JSON, not parsed here.
    pub catalog: Loaded,
    /// The backups of config.toml and the profile file: removed with a file
    /// install created (see [`Workspace::changes`]), never read otherwise.
    pub backups: [Loaded; 2],
}

impl Files {
    /// Files that are not on disk (`None`: absent), under their usual names:
    /// for driving the edit through the library in tests and benches.
    pub fn in_memory(config: Option<&str>, profile: Option<&str>, state: Option<&str>) -> Files {
        Files {
            config: Loaded::in_memory(Path::new(paths::CONFIG), config),
            profile: Loaded::in_memory(Path::new(paths::PROFILE_FILE), profile),
            state: Loaded::in_memory(Path::new(paths::STATE_FILE), state),
            pre_install: Loaded::in_memory(&paths::pre_install_of(Path::new(paths::CONFIG)), None),
            catalog: Loaded::in_memory(Path::new(crate::catalog::FILE_NAME), None),
            backups: [paths::CONFIG, paths::PROFILE_FILE]
                .map(|f| Loaded::in_memory(&paths::backup_of(Path::new(f)), None)),
        }
    }

    pub fn read(home: &CodexHome) -> Result<Files> {
        Ok(Files {
            config: Loaded::read(&home.config())?,
            profile: Loaded::read(&home.profile_file())?,
            state: Loaded::read(&home.state_file())?,
            // Only ever copied whole: not parsed, not checked.
            pre_install: Loaded {
                snapshot: fs::read(&paths::pre_install_of(&home.config()))?,
            },
            catalog: Loaded {
                snapshot: fs::read(&home.catalog_file())?,
            },
            backups: [
                Loaded {
                    snapshot: fs::read(&paths::backup_of(&home.config()))?,
                },
                Loaded {
                    snapshot: fs::read(&paths::backup_of(&home.profile_file()))?,
                },
            ],
        })
    }

    /// Parse all three; edit the returned [`Workspace`]'s `docs`.
    pub fn open(&self) -> Result<Workspace<'_>> {
        let state = if self.state.exists() {
            State::parse(self.state.text()?).map_err(|e| {
                refused(format!(
                    "{} is damaged: {e}",
                    self.state.snapshot.path.display()
                ))
                .help(
                    "it records what install changed; restore it from its backup, or delete it \
                     (uninstall then recognises install's blocks by their comment)",
                )
            })?
        } else {
            State::default()
        };
        let mut config = parse_checked(&self.config)?;
        let mut profile = match self.profile.exists() {
            true => Some(parse_checked(&self.profile)?),
            false => None,
        };
        // The key the provider names may be in these files (a bearer token
        // beside it, a comment): no diff or message may show it.
        if let Some(name) = blocks::get_block(&config.doc, blocks::PROVIDER)
            .ok()
            .flatten()
            .and_then(|b| blocks::get_str(b, "env_key"))
        {
            match crate::spec::check_env_key(name) {
                Ok(()) => crate::shown::protect_env(name),
                // The key itself pasted in place of the name.
                Err(_) => crate::shown::protect(name),
            }
        }
        let docs = Docs {
            config: std::mem::take(&mut config.doc),
            profile: profile.as_mut().map(|p| std::mem::take(&mut p.doc)),
            state,
            keep_pre_install: false,
            // A symlink to no file is the user's: kept, and emptied.
            config_existed: self.config.exists()
                || self.config.snapshot.target != self.config.snapshot.path,
            ours_alone: Vec::new(),
            catalog: self.catalog.snapshot.bytes.clone(),
        };
        Ok(Workspace {
            files: self,
            config,
            profile,
            docs,
        })
    }
}

/// When the record of what install did is written, relative to the files
/// it describes: it must always cover at least what is on disk, so a run
/// that grows it (install) writes it first and one that shrinks it
/// (uninstall) writes it last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrder {
    First,
    Last,
}

/// The parsed files and the documents being edited.
pub struct Workspace<'a> {
    files: &'a Files,
    config: Parsed<'a>,
    profile: Option<Parsed<'a>>,
    pub docs: Docs,
}

impl<'a> Workspace<'a> {
    /// A wrong type found while editing, reported against config.toml.
    pub fn shape_error(&self, e: EditError) -> anyhow::Error {
        shape_error(&self.files.config.snapshot.path, e)
    }

    /// Render the edited documents in each file's own style: the changes to
    /// commit in that order (no-ops where nothing changed), the record
    /// first or last as `order` says, the pre-install copy first of all (a
    /// run killed after it leaves only a copy; one killed before the
    /// record has changed nothing, so the next run writes the copy). The
    /// model catalogue is there before the files that point Codex at it
    /// (a missing catalogue stops Codex), and goes after them. A file
    /// install created that goes with nothing of the user's takes its
    /// backup along (see `created_backup_gone`).
    pub fn changes(self, order: RecordOrder) -> [FileWrite<'a>; 7] {
        let Workspace {
            files,
            mut config,
            profile,
            docs,
        } = self;
        let alone = |name| docs.ours_alone.contains(&name);
        let (config_alone, profile_alone) = (alone(paths::CONFIG), alone(paths::PROFILE_FILE));
        config.doc = docs.config;
        let config_text = config.styled.restore(&config.doc.to_string());
        let config_after = (!config_text.is_empty() || (files.config.exists() && !config_alone))
            .then_some(config_text);
        let profile_after = docs.profile.map(|doc| match profile {
            Some(mut parsed) => {
                parsed.doc = doc;
                parsed.styled.restore(&parsed.doc.to_string())
            }
            None => doc.to_string(),
        });
        // Written once, never changed or removed afterwards.
        let copy = FileWrite {
            before: &files.pre_install.snapshot,
            after: match (docs.keep_pre_install, files.pre_install.exists()) {
                (true, false) => files.config.snapshot.bytes.clone(),
                _ => files.pre_install.snapshot.bytes.clone(),
            },
            backup: false,
            ours: false,
        };
        let mut config = files.config.change(config_after, true);
        config.ours = config_alone && config.after.is_none();
        let mut profile = files.profile.change(profile_after, true);
        profile.ours = profile_alone && profile.after.is_none();
        let record = files.state.change(
            (!docs.state.is_empty()).then(|| docs.state.to_json()),
            false,
        );
        let catalog = files.catalog.change(docs.catalog, false);
        let [config_bak, profile_bak] = &files.backups;
        let config_bak = created_backup_gone(config_bak, config.ours, PROVIDER_COMMENT);
        let profile_bak = created_backup_gone(profile_bak, profile.ours, PROFILE_FILE_COMMENT);
        match order {
            RecordOrder::First => [
                copy,
                record,
                catalog,
                config,
                profile,
                config_bak,
                profile_bak,
            ],
            RecordOrder::Last => [
                copy,
                config,
                profile,
                catalog,
                config_bak,
                profile_bak,
                record,
            ],
        }
    }
}

/// The backup of a file install created, removed with it (`gone`): a later
/// run (install with other flags, `use`) backed up what install wrote,
/// with nothing of the user's, or the file would stay. Only a backup
/// holding install's `# {marker}` goes, so one the user kept from before
/// install stays.
fn created_backup_gone<'a>(backup: &'a Loaded, gone: bool, marker: &str) -> FileWrite<'a> {
    let marker = format!("# {marker}\n");
    let ours = backup
        .snapshot
        .bytes
        .as_deref()
        .is_some_and(|b| String::from_utf8_lossy(b).contains(&marker));
    let after = match gone && ours {
        true => None,
        false => backup.snapshot.bytes.clone(),
    };
    backup.change(after, false)
}
