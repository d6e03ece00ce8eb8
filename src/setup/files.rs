//! The config files Codex reads, parsed keeping spans so that every finding
//! names its file and line, in whatever TOML shape the key was written.

use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, TableLike, Value};

use crate::error::Failure;
use crate::fs;
use crate::toml::blocks;
use crate::toml::parse::{self, line_col};
use crate::toml::style::Styled;

/// A parsed config file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    /// As parsed, with each item's span (for line numbers); read only.
    doc: Document<String>,
}

/// A place in a file: `path:line` (the line when it is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub path: PathBuf,
    pub line: Option<usize>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// The item at `keys` under `root`, through tables, dotted keys and inline tables.
pub fn walk<'a>(root: &'a dyn TableLike, keys: &[&str]) -> Option<&'a Item> {
    let (last, parents) = keys.split_last()?;
    let mut table = root;
    for k in parents {
        table = table.get(k)?.as_table_like()?;
    }
    table.get(last)
}

impl ConfigFile {
    /// Parse `text` (a BOM and CRLF line endings are fine); the error is
    /// `path:line:col: message` with the line quoted.
    pub fn parse(path: &Path, text: &str) -> Result<ConfigFile, Failure> {
        let styled = Styled::new(text);
        let doc = parse::parse_spanned(path, styled.normalized())?;
        Ok(ConfigFile {
            path: path.to_path_buf(),
            doc,
        })
    }

    pub fn root(&self) -> &dyn TableLike {
        self.doc.as_table()
    }

    /// The root table, for the edit layer's readers ([`blocks`]).
    pub fn root_table(&self) -> &toml_edit::Table {
        self.doc.as_table()
    }

    /// The item at a key path, e.g. `["model_providers", "ominigate", "wire_api"]`.
    pub fn get(&self, keys: &[&str]) -> Option<&Item> {
        walk(self.root(), keys)
    }

    /// A string at a key path (`None` when absent or not a string).
    pub fn get_str(&self, keys: &[&str]) -> Option<&str> {
        self.get(keys).and_then(Item::as_str)
    }

    /// The 1-based line of the key at `keys`: the line where its last key is
    /// written (a `[table]` header, a dotted key or a key inside an inline
    /// table), else the nearest parent's.
    pub fn line_of(&self, keys: &[&str]) -> Option<usize> {
        let mut table: &dyn TableLike = self.doc.as_table();
        let mut best = None;
        for (i, k) in keys.iter().enumerate() {
            let (key, item) = table.get_key_value(k)?;
            if let Some(span) = key.span().or_else(|| item.span()) {
                best = Some(span.start);
            }
            if i + 1 < keys.len() {
                table = item.as_table_like()?;
            }
        }
        best.map(|at| line_col(self.doc.raw(), at).0)
    }

    pub fn place(&self, keys: &[&str]) -> Place {
        Place {
            path: self.path.clone(),
            line: self.line_of(keys),
        }
    }

    /// The text of a 1-based line, trimmed.
    pub fn line_text(&self, line: usize) -> &str {
        self.doc
            .raw()
            .lines()
            .nth(line.saturating_sub(1))
            .unwrap_or_default()
            .trim()
    }

    /// `path:line` with the line's text, for remediation: ``x:5 (`wire_api = "chat"`)``.
    pub fn quote(&self, keys: &[&str]) -> String {
        let place = self.place(keys);
        match place.line {
            Some(l) => format!("{place} (`{}`)", self.line_text(l)),
            None => place.to_string(),
        }
    }

    /// How a block is written: "a `[table]`", "dotted keys" or "an inline table".
    pub fn shape_of(&self, keys: &[&str]) -> &'static str {
        match self.get(keys) {
            Some(Item::Table(t)) if t.is_dotted() => "dotted keys",
            Some(Item::Table(_)) => "a [table]",
            Some(Item::Value(Value::InlineTable(_))) => "an inline table",
            _ => "a value",
        }
    }

    /// Wrong types Codex refuses to load: the containers this tool reads and
    /// the top-level selectors, each as `path:line: message`.
    pub fn shape_errors(&self) -> Vec<String> {
        let mut found = Vec::new();
        if let Err(blocks::EditError::WrongType {
            key,
            expected,
            found: was,
        }) = blocks::check_shapes(&self.doc)
        {
            let keys: Vec<&str> = key.split('.').collect();
            found.push(format!(
                "{}: `{key}` is {was}, but it must be {expected}",
                self.place(&keys)
            ));
        }
        if let Some(providers) = self.get(&["model_providers"]).and_then(Item::as_table_like) {
            for (id, item) in providers.iter() {
                if !item.is_table_like() && id != "ominigate" {
                    found.push(format!(
                        "{}: `model_providers.{id}` is {}, but it must be a table",
                        self.place(&["model_providers", id]),
                        blocks::type_name(item)
                    ));
                }
            }
        }
        found
    }
}

/// What became of reading one file.
#[derive(Debug, Clone)]
pub enum Load {
    Missing,
    /// Unreadable, not UTF-8, not TOML, or holding a wrong type.
    Invalid(String),
    Parsed(Box<ConfigFile>),
}

/// A config file Codex may read, as found on disk.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub load: Load,
}

impl Source {
    /// Read and parse `path`. Never writes, never blocks on a FIFO (see
    /// [`fs::read`]), never panics on the file's content.
    pub fn read(path: &Path) -> Source {
        let load = match fs::read(path) {
            Err(e) => Load::Invalid(error_text(&e)),
            Ok(snap) => match snap.bytes {
                None => Load::Missing,
                Some(bytes) => match parse::as_text(path, &bytes) {
                    Err(f) => Load::Invalid(f.message),
                    Ok(text) => match ConfigFile::parse(path, text) {
                        Err(f) => Load::Invalid(f.message),
                        Ok(file) => match file.shape_errors() {
                            errors if errors.is_empty() => Load::Parsed(Box::new(file)),
                            errors => Load::Invalid(errors.join("\n")),
                        },
                    },
                },
            },
        };
        Source {
            path: path.to_path_buf(),
            load,
        }
    }

    pub fn parsed(&self) -> Option<&ConfigFile> {
        match &self.load {
            Load::Parsed(f) => Some(f),
            _ => None,
        }
    }

    pub fn exists(&self) -> bool {
        !matches!(self.load, Load::Missing)
    }

    pub fn invalid(&self) -> Option<&str> {
        match &self.load {
            Load::Invalid(m) => Some(m),
            _ => None,
        }
    }
}

fn error_text(e: &anyhow::Error) -> String {
    match e.downcast_ref::<Failure>() {
        Some(f) => f.message.clone(),
        None => format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        ConfigFile::parse(Path::new("/h/config.toml"), text).expect("parses")
    }

    #[test]
    fn lines_are_found_in_every_shape() {
        let standard = file(
            "# c\nmodel = \"m\"\n\n[model_providers.ominigate]\nname = \"O\"\nwire_api = \"chat\"\n",
        );
        assert_eq!(standard.line_of(&["model"]), Some(2));
        assert_eq!(standard.line_of(&["model_providers", "ominigate"]), Some(4));
        assert_eq!(
            standard.line_of(&["model_providers", "ominigate", "wire_api"]),
            Some(6)
        );
        assert_eq!(
            standard.quote(&["model_providers", "ominigate", "wire_api"]),
            "/h/config.toml:6 (`wire_api = \"chat\"`)"
        );
        assert_eq!(
            standard.shape_of(&["model_providers", "ominigate"]),
            "a [table]"
        );

        let dotted = file(
            "a = 1\nmodel_providers.ominigate.name = \"O\"\nmodel_providers.ominigate.wire_api = \"chat\"\n",
        );
        assert_eq!(
            dotted.line_of(&["model_providers", "ominigate", "wire_api"]),
            Some(3)
        );
        assert_eq!(
            dotted.shape_of(&["model_providers", "ominigate"]),
            "dotted keys"
        );

        let inline = file(
            "a = 1\n\nmodel_providers = { ominigate = { name = \"O\", wire_api = \"chat\" } }\n",
        );
        assert_eq!(
            inline.line_of(&["model_providers", "ominigate", "wire_api"]),
            Some(3)
        );
        assert_eq!(
            inline.get_str(&["model_providers", "ominigate", "name"]),
            Some("O")
        );
        assert_eq!(
            inline.shape_of(&["model_providers", "ominigate"]),
            "an inline table"
        );

        let crlf = file("\u{feff}a = 1\r\n\r\n[x]\r\ny = 2\r\n");
        assert_eq!(crlf.line_of(&["x", "y"]), Some(4));
        assert_eq!(crlf.line_of(&["nope"]), None);
    }

    #[test]
    fn wrong_types_are_reported_with_their_line() {
        let f = file("model = 1\n");
        assert_eq!(
            f.shape_errors(),
            ["/h/config.toml:1: `model` is an integer, but it must be a string"]
        );
        let f = file("[model_providers]\nother = 3\n");
        assert_eq!(
            f.shape_errors(),
            ["/h/config.toml:2: `model_providers.other` is an integer, but it must be a table"]
        );
    }
}
