//! The edit layer: ensure, remove and inspect the ominigate blocks in a
//! `toml_edit` document. Pure functions, no IO.
//!
//! Every TOML shape is handled for the two-level blocks this tool owns
//! (`model_providers.ominigate`, `profiles.ominigate`): standard tables,
//! dotted keys and inline tables. A key that holds the wrong type is an
//! [`EditError`], never a panic: nothing here indexes user data with `[]`.

use std::collections::BTreeMap;
use std::fmt;

use toml_edit::{DocumentMut, InlineTable, Item, Key, Table, TableLike, Value};

/// Where a block lives: `parent.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPath {
    pub parent: &'static str,
    pub name: &'static str,
}

impl BlockPath {
    /// The key path of the block, for the read side's lookups.
    pub const fn keys(self) -> [&'static str; 2] {
        [self.parent, self.name]
    }

    /// The key path of `key` inside the block.
    pub const fn key(self, key: &'static str) -> [&'static str; 3] {
        [self.parent, self.name, key]
    }
}

impl fmt::Display for BlockPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.parent, self.name)
    }
}

/// `[model_providers.ominigate]`: the one place every command finds the
/// provider block, on the write side and the read side.
pub const PROVIDER: BlockPath = BlockPath {
    parent: "model_providers",
    name: crate::spec::PROVIDER_ID,
};
/// `[profiles.ominigate]`, the profile table (Codex up to 0.133).
pub const PROFILE: BlockPath = BlockPath {
    parent: "profiles",
    name: crate::spec::PROFILE_NAME,
};

/// The previous text of each key an edit changed: `None` where the key was
/// absent. Enough to undo the edit exactly (values keep their decor).
pub type Previous = BTreeMap<String, Option<String>>;

/// What [`ensure_block`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Unchanged,
    Created,
    Updated(Previous),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// `key` exists but is not what TOML needs it to be.
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    /// A saved previous value no longer parses (the state file was edited).
    BadPrevious { key: String, text: String },
    /// `env_key` holds something that is not a variable name: most likely
    /// the API key itself. Never carries the value.
    NotAVariableName { key: String },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::WrongType {
                key,
                expected,
                found,
            } => write!(f, "`{key}` is {found}, but it must be {expected}"),
            EditError::BadPrevious { key, text } => {
                write!(f, "the saved previous value of `{key}` is not TOML: {text}")
            }
            EditError::NotAVariableName { key } => write!(
                f,
                "`{key}` must name an environment variable, but it holds something else \
                 (is it your API key itself?); the key belongs in your shell, not in this file, \
                 so the tool will not copy this value anywhere"
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// A human name for what an item holds, for error messages.
pub fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => value_type_name(v),
    }
}

fn value_type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::InlineTable(_) => "an inline table",
    }
}

fn wrong_type(key: impl Into<String>, item: &Item) -> EditError {
    EditError::WrongType {
        key: key.into(),
        expected: "a table",
        found: type_name(item),
    }
}

/// The table at `key` of `table`, if any; an error if `key` holds something else.
pub fn sub_table<'a>(
    table: &'a dyn TableLike,
    key: &str,
    display: &str,
) -> Result<Option<&'a dyn TableLike>, EditError> {
    match table.get(key) {
        None => Ok(None),
        Some(item) => item
            .as_table_like()
            .map(Some)
            .ok_or_else(|| wrong_type(display, item)),
    }
}

fn sub_table_mut<'a>(
    table: &'a mut dyn TableLike,
    key: &str,
    display: &str,
) -> Result<Option<&'a mut dyn TableLike>, EditError> {
    match table.get_mut(key) {
        None => Ok(None),
        Some(item) => {
            if item.is_table_like() {
                Ok(item.as_table_like_mut())
            } else {
                Err(wrong_type(display, item))
            }
        }
    }
}

/// The block at `at`, in whatever shape the file has it.
pub fn get_block(doc: &Table, at: BlockPath) -> Result<Option<&dyn TableLike>, EditError> {
    match sub_table(doc, at.parent, at.parent)? {
        None => Ok(None),
        Some(parent) => sub_table(parent, at.name, &at.to_string()),
    }
}

fn get_block_mut(
    doc: &mut DocumentMut,
    at: BlockPath,
) -> Result<Option<&mut dyn TableLike>, EditError> {
    match sub_table_mut(doc.as_table_mut(), at.parent, at.parent)? {
        None => Ok(None),
        Some(parent) => sub_table_mut(parent, at.name, &at.to_string()),
    }
}

/// A string value at `key`, or `None` if absent or not a string.
pub fn get_str<'a>(table: &'a dyn TableLike, key: &str) -> Option<&'a str> {
    table.get(key).and_then(Item::as_str)
}

/// The value's text without its decor (the whitespace and comments around it).
pub fn repr(value: &Value) -> String {
    let mut v = value.clone();
    v.decor_mut().clear();
    v.to_string()
}

/// Same TOML value, whatever its quoting, underscores or decor.
pub fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.value() == y.value(),
        (Value::Integer(x), Value::Integer(y)) => x.value() == y.value(),
        (Value::Float(x), Value::Float(y)) => x.value().to_bits() == y.value().to_bits(),
        (Value::Boolean(x), Value::Boolean(y)) => x.value() == y.value(),
        (Value::Datetime(x), Value::Datetime(y)) => x.value() == y.value(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same_value(a, b))
        }
        (Value::InlineTable(x), Value::InlineTable(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => false,
    }
}

/// Put `value` at `key`, keeping the old value's decor (the comment after it).
fn put(table: &mut dyn TableLike, key: &str, mut value: Value) {
    match table.get_mut(key) {
        Some(item) => {
            if let Some(old) = item.as_value() {
                *value.decor_mut() = old.decor().clone();
            }
            *item = Item::Value(value);
        }
        None => {
            table.insert(key, Item::Value(value));
        }
    }
}

/// Make `table` hold `entries`; returns the previous text of every key it changed.
pub fn ensure_keys(table: &mut dyn TableLike, entries: &[(&str, Value)]) -> Previous {
    let mut previous = Previous::new();
    for (key, want) in entries {
        let old = table.get(key).and_then(Item::as_value);
        if old.is_some_and(|old| same_value(old, want)) {
            continue;
        }
        let before = match table.get(key) {
            None => None,
            Some(Item::Value(v)) => Some(repr(v)),
            // A table where a value belongs: saved as nothing is fine since
            // the key cannot be a table in Codex's schema; keep its text.
            Some(other) => Some(other.to_string()),
        };
        previous.insert((*key).to_string(), before);
        put(table, key, want.clone());
    }
    previous
}

/// Undo [`ensure_keys`]: put back each saved value, remove keys that were absent.
pub fn restore_keys(table: &mut dyn TableLike, previous: &Previous) -> Result<(), EditError> {
    for (key, before) in previous {
        match before {
            None => {
                table.remove(key);
            }
            Some(text) => {
                let value: Value = text.parse().map_err(|_| EditError::BadPrevious {
                    key: key.clone(),
                    text: text.clone(),
                })?;
                put(table, key, value);
            }
        }
    }
    Ok(())
}

/// Read `entries`' keys of a block; convenience for callers deciding values.
pub fn get_value<'a>(table: &'a dyn TableLike, key: &str) -> Option<&'a Value> {
    table.get(key).and_then(Item::as_value)
}

/// The position after every table in the document, so a new table renders last.
fn next_position(doc: &DocumentMut) -> isize {
    fn walk(table: &Table, max: &mut isize) {
        if let Some(p) = table.position() {
            *max = (*max).max(p);
        }
        for (_, item) in table.iter() {
            match item {
                Item::Table(t) => walk(t, max),
                Item::ArrayOfTables(a) => a.iter().for_each(|t| walk(t, max)),
                _ => {}
            }
        }
    }
    let mut max = 0;
    walk(doc.as_table(), &mut max);
    max + 1
}

/// Make the block at `at` exist and hold `entries`, changing nothing else.
///
/// A new block is a standard table at the end of the file, after one blank
/// line and a one-line `# {comment}`; inside an inline-table parent it is an
/// inline table. An existing block is updated key by key, keeping its shape,
/// comments and other keys.
pub fn ensure_block(
    doc: &mut DocumentMut,
    at: BlockPath,
    entries: &[(&str, Value)],
    comment: &str,
) -> Result<Change, EditError> {
    if let Some(block) = get_block_mut(doc, at)? {
        let previous = ensure_keys(block, entries);
        return Ok(if previous.is_empty() {
            Change::Unchanged
        } else {
            Change::Updated(previous)
        });
    }
    let position = next_position(doc);
    let root = doc.as_table_mut();
    if root.get(at.parent).is_none() {
        let mut parent = Table::new();
        parent.set_implicit(true);
        root.insert(at.parent, Item::Table(parent));
    }
    match root.get_mut(at.parent) {
        Some(Item::Table(_)) => {}
        Some(Item::Value(Value::InlineTable(parent))) => {
            let mut block = InlineTable::new();
            for (key, value) in entries {
                block.insert(*key, value.clone());
            }
            parent.insert(at.name, Value::InlineTable(block));
            return Ok(Change::Created);
        }
        Some(other) => return Err(wrong_type(at.parent, other)),
        None => unreachable!("inserted above"),
    }
    let mut block = Table::new();
    for (key, value) in entries {
        block.insert(key, Item::Value(value.clone()));
    }
    block.set_position(Some(position));
    // toml_edit renders a document's trailing comments after every table;
    // the new block takes them into its prefix so that it really is last.
    let trailing = take_trailing(doc);
    let separator = if has_content(doc, &trailing) {
        "\n"
    } else {
        ""
    };
    block
        .decor_mut()
        .set_prefix(format!("{trailing}{separator}# {comment}\n"));
    if let Some(Item::Table(parent)) = doc.as_table_mut().get_mut(at.parent) {
        parent.insert(at.name, Item::Table(block));
    }
    Ok(Change::Created)
}

/// Remove and return the document's trailing text, ending in a newline.
fn take_trailing(doc: &mut DocumentMut) -> String {
    let mut trailing = doc.trailing().as_str().unwrap_or_default().to_string();
    doc.set_trailing("");
    if !trailing.is_empty() && !trailing.ends_with('\n') {
        trailing.push('\n');
    }
    trailing
}

/// Whether the document plus `trailing` shows anything but white space.
///
/// Never builds the document's text, which would cost as much as parsing
/// it: a key or a table header at the root is visible (most files answer
/// there); otherwise the document is rendered up to its first visible
/// character only.
fn has_content(doc: &DocumentMut, trailing: &str) -> bool {
    /// Takes white space; fails at the first visible character.
    struct Blank;
    impl fmt::Write for Blank {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            if s.trim().is_empty() {
                Ok(())
            } else {
                Err(fmt::Error)
            }
        }
    }
    let visible = |item: &Item| match item {
        Item::Value(_) => true,
        Item::Table(t) => !t.is_implicit() && !t.is_dotted(),
        Item::ArrayOfTables(a) => !a.is_empty(),
        Item::None => false,
    };
    !trailing.trim().is_empty()
        || doc.as_table().iter().any(|(_, item)| visible(item))
        || fmt::write(&mut Blank, format_args!("{doc}")).is_err()
}

/// Remove the block at `at` and its parent if that is left empty and was
/// never written out (implicit or dotted). A block that [`ensure_block`]
/// created with the same `comment` gives the document back the trailing
/// text it took. Returns whether anything went.
fn remove_block(doc: &mut DocumentMut, at: BlockPath, comment: &str) -> Result<bool, EditError> {
    let root = doc.as_table_mut();
    let Some(parent) = sub_table_mut(root, at.parent, at.parent)? else {
        return Ok(false);
    };
    let Some(removed) = parent.remove(at.name) else {
        return Ok(false);
    };
    let drop_parent = parent.is_empty()
        && matches!(root.get(at.parent), Some(Item::Table(t)) if t.is_implicit() || t.is_dotted());
    if drop_parent {
        root.remove(at.parent);
    }
    let prefix = match &removed {
        Item::Table(t) => t.decor().prefix().and_then(|p| p.as_str()),
        _ => None,
    };
    if let Some(taken) = prefix.and_then(|p| p.strip_suffix(&format!("# {comment}\n"))) {
        let mut taken = taken.to_string();
        if has_content(doc, &taken) {
            taken.pop();
        }
        let rest = doc.trailing().as_str().unwrap_or_default().to_string();
        doc.set_trailing(format!("{taken}{rest}"));
    }
    Ok(true)
}

/// The lines of a table's or key's prefix: `(kept, attached)`. The comment
/// lines right above the header or key (no blank line between) belong to
/// it and go with it; the blank line above them separated it from what
/// comes before and goes too; everything above that stays.
fn split_prefix(prefix: &str) -> (&str, &str) {
    let mut blank = None;
    let mut at = 0;
    for line in prefix.split_inclusive('\n') {
        if line.trim().is_empty() && line.ends_with('\n') {
            blank = Some((at, at + line.len()));
        }
        at += line.len();
    }
    match blank {
        Some((start, end)) => (&prefix[..start], &prefix[end..]),
        None => ("", prefix),
    }
}

/// The `# …` comments in decor text, one per line, trimmed.
fn comments(text: &str) -> Vec<Addition> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(|l| Addition::Comment(l.to_string()))
        .collect()
}

/// The text of a decor part (empty when unset).
fn text_of(raw: Option<&toml_edit::RawString>) -> &str {
    raw.and_then(|r| r.as_str()).unwrap_or_default()
}

/// What a user added inside an OminiGate block: keys install does not
/// write, sub-tables and comments. Named, never with values (a value may
/// be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addition {
    Key(String),
    SubTable(String),
    Comment(String),
}

impl fmt::Display for Addition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addition::Key(k) => write!(f, "extra key `{k}`"),
            Addition::SubTable(t) => write!(f, "sub-table [{t}]"),
            Addition::Comment(c) => write!(f, "comment `{c}`"),
        }
    }
}

/// Everything in `block` that is not one of `known` keys: extra keys,
/// sub-tables (as `{path}.key`) and every comment but install's `# {marker}`,
/// in file order.
pub fn additions(block: &dyn TableLike, path: &str, known: &[&str], marker: &str) -> Vec<Addition> {
    let mut found = Vec::new();
    for (key, item) in block.iter() {
        if let Some(k) = block.key(key) {
            found.extend(comments(split_prefix(text_of(k.leaf_decor().prefix())).1));
        }
        match item {
            Item::Table(t) if !t.is_dotted() => {
                found.push(Addition::SubTable(match path {
                    "" => key.to_string(),
                    _ => format!("{path}.{key}"),
                }));
                continue;
            }
            Item::Value(v) => {
                found.extend(comments(text_of(v.decor().suffix())));
            }
            _ => {}
        }
        if !known.contains(&key) {
            found.push(Addition::Key(key.to_string()));
        }
    }
    let marker = format!("# {marker}");
    found.retain(|a| !matches!(a, Addition::Comment(c) if *c == marker));
    found
}

/// The additions in the block at `at`, the comments around a `[table]`'s
/// header included.
fn block_additions(
    doc: &DocumentMut,
    at: BlockPath,
    known: &[&str],
    marker: &str,
) -> Result<Vec<Addition>, EditError> {
    let Some(block) = get_block(doc, at)? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let table = doc
        .as_table()
        .get(at.parent)
        .and_then(Item::as_table_like)
        .and_then(|p| p.get(at.name))
        .and_then(Item::as_table)
        .filter(|t| !t.is_dotted());
    if let Some(t) = table {
        found.extend(comments(split_prefix(text_of(t.decor().prefix())).1));
        found.extend(comments(text_of(t.decor().suffix())));
    }
    found.extend(additions(block, &at.to_string(), known, marker));
    let marker = format!("# {marker}");
    found.retain(|a| !matches!(a, Addition::Comment(c) if *c == marker));
    Ok(found)
}

/// Positions of the tables whose headers are written out (not the root,
/// not implicit or dotted ones).
fn header_positions(table: &Table, out: &mut Vec<isize>) {
    for (_, item) in table.iter() {
        let mut visit = |t: &Table| {
            if let (Some(p), false) = (t.position(), t.is_implicit() || t.is_dotted()) {
                out.push(p);
            }
            header_positions(t, out);
        };
        match item {
            Item::Table(t) => visit(t),
            Item::ArrayOfTables(a) => a.iter().for_each(visit),
            _ => {}
        }
    }
}

/// Prepend `text` to the prefix of the table written at `position`.
fn prepend_at(table: &mut Table, position: isize, text: &str) -> bool {
    for (_, item) in table.iter_mut() {
        let visit = |t: &mut Table| {
            if t.position() == Some(position) && !t.is_implicit() && !t.is_dotted() {
                let old = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("\n");
                let new = format!("{text}{old}");
                t.decor_mut().set_prefix(new);
                return true;
            }
            prepend_at(t, position, text)
        };
        let done = match item {
            Item::Table(t) => visit(t),
            Item::ArrayOfTables(a) => a.iter_mut().any(visit),
            _ => false,
        };
        if done {
            return true;
        }
    }
    false
}

/// Put `text` (whole lines) where the removed item at `position` was: in
/// front of the next table header after it, else at the end of the file.
fn keep_text(doc: &mut DocumentMut, position: Option<isize>, text: &str) {
    if text.is_empty() {
        return;
    }
    let mut positions = Vec::new();
    header_positions(doc.as_table(), &mut positions);
    let after = position.unwrap_or(isize::MIN);
    let next = positions.into_iter().filter(|p| *p > after).min();
    if let Some(p) = next
        && prepend_at(doc.as_table_mut(), p, text)
    {
        return;
    }
    let rest = doc.trailing().as_str().unwrap_or_default().to_string();
    doc.set_trailing(format!("{text}{rest}"));
}

/// Remove the block at `at` whatever wrote it, with everything in it, and
/// return what the user had added to it (beyond `known` keys). The lines
/// above it that belong to what comes before (see `split_prefix`) stay;
/// a block [`ensure_block`] created with `comment` gives back the trailing
/// text it took. `None` when there is no block.
pub fn drop_block(
    doc: &mut DocumentMut,
    at: BlockPath,
    known: &[&str],
    comment: &str,
) -> Result<Option<Vec<Addition>>, EditError> {
    if get_block(doc, at)?.is_none() {
        return Ok(None);
    }
    let found = block_additions(doc, at, known, comment)?;
    // What stays of the lines above the block: a standard table's prefix,
    // or each dotted key's.
    let mut kept = String::new();
    let mut position = None;
    let mut next_line = None;
    if let Some(item) = doc
        .as_table()
        .get(at.parent)
        .and_then(Item::as_table_like)
        .and_then(|p| p.get(at.name))
    {
        match item {
            Item::Table(t) if t.is_dotted() => {
                next_line = line_after(doc, &[at.parent, at.name]);
                for (k, _) in t.iter() {
                    if let Some(p) = t
                        .key(k)
                        .and_then(|k| k.leaf_decor().prefix())
                        .and_then(|p| p.as_str())
                    {
                        kept.push_str(split_prefix(p).0);
                    }
                }
            }
            Item::Table(t) => {
                position = t.position();
                let prefix = t
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or_default();
                if !prefix.ends_with(&format!("# {comment}\n")) {
                    kept.push_str(split_prefix(prefix).0);
                }
            }
            _ => {}
        }
    }
    remove_block(doc, at, comment)?;
    match next_line {
        Some(line) => keep_before_line(doc, &line, &kept),
        None => keep_text(doc, position, &kept),
    }
    Ok(Some(found))
}

/// A block's content for another file: the comment lines that go first,
/// and its items with their keys' decor.
pub type Moved = (String, Vec<(Key, Item)>);

/// The block at `at` as items for another file, keeping everything the
/// user typed: each key with its decor (comments above it, after its
/// value); for dotted keys only the comment lines attached to them (see
/// `split_prefix`). The comments of a `[table]` header, above it and
/// after it, cannot move with a header and come first, as lines
/// (`# {marker}`, install's own, left out). `None` when there is no block.
pub fn block_items(
    doc: &DocumentMut,
    at: BlockPath,
    marker: &str,
) -> Result<Option<Moved>, EditError> {
    let Some(block) = get_block(doc, at)? else {
        return Ok(None);
    };
    let item = doc
        .as_table()
        .get(at.parent)
        .and_then(Item::as_table_like)
        .and_then(|p| p.get(at.name));
    let marker = format!("# {marker}");
    let mut above = String::new();
    let (dotted, inline) = match item {
        Some(Item::Table(t)) if t.is_dotted() => (true, false),
        Some(Item::Table(t)) => {
            let attached = split_prefix(text_of(t.decor().prefix())).1;
            for line in attached.split_inclusive('\n') {
                if line.trim() != marker {
                    above.push_str(line);
                }
            }
            for c in comments(text_of(t.decor().suffix())) {
                if let Addition::Comment(c) = c {
                    above.push_str(&format!("{c}\n"));
                }
            }
            (false, false)
        }
        _ => (false, true),
    };
    let mut items = Vec::new();
    for (k, item) in block.iter() {
        let Some(key) = block.key(k) else { continue };
        let mut key = key.clone();
        let mut item = item.clone();
        if dotted {
            let attached = split_prefix(text_of(key.leaf_decor().prefix()))
                .1
                .to_string();
            key.leaf_decor_mut().set_prefix(attached);
        }
        if inline {
            key.leaf_decor_mut().clear();
            if let Some(v) = item.as_value_mut() {
                v.decor_mut().clear();
            }
        }
        key.dotted_decor_mut().clear();
        items.push((key, item));
    }
    Ok(Some((above, items)))
}

/// Remove the top-level `key`, keeping the comment lines above it that
/// belong to what comes before (see `split_prefix`); returns the
/// comments that went with it, `None` when it was not there.
pub fn drop_root_key(doc: &mut DocumentMut, key: &str) -> Option<Vec<Addition>> {
    let prefix = text_of(doc.as_table().key(key)?.leaf_decor().prefix()).to_string();
    let (kept, attached) = split_prefix(&prefix);
    let found = comments(attached);
    let next = line_after(doc, &[key]);
    doc.as_table_mut().remove(key);
    keep_before_line(doc, &next.unwrap_or_default(), kept);
    Some(found)
}

/// The key paths of the lines written at the top of the file, before any
/// header, in file order: root values and the leaves of dotted tables.
fn root_lines(table: &dyn TableLike, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (k, item) in table.iter() {
        path.push(k.to_string());
        match item {
            Item::Value(_) => out.push(path.clone()),
            Item::Table(t) if t.is_dotted() => root_lines(t, path, out),
            _ => {}
        }
        path.pop();
    }
}

/// The first top-of-file line after every line under `under`.
fn line_after(doc: &DocumentMut, under: &[&str]) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    root_lines(doc.as_table(), &mut Vec::new(), &mut lines);
    let inside =
        |l: &Vec<String>| l.len() >= under.len() && l.iter().zip(under).all(|(a, b)| a == b);
    let last = lines.iter().rposition(inside)?;
    lines.get(last + 1).cloned()
}

/// Put `text` (whole lines) in front of the top-of-file line at `line`;
/// with no such line, in front of the first header (the top-of-file lines
/// come before every header), else at the end of the file.
fn keep_before_line(doc: &mut DocumentMut, line: &[String], text: &str) {
    if text.is_empty() {
        return;
    }
    let Some((last, parents)) = line.split_last() else {
        return keep_text(doc, None, text);
    };
    let mut table: &mut dyn TableLike = doc.as_table_mut();
    for p in parents {
        match table.get_mut(p).and_then(Item::as_table_like_mut) {
            Some(t) => table = t,
            None => return keep_text(doc, None, text),
        }
    }
    match table.key_mut(last) {
        Some(mut key) => {
            let old = text_of(key.leaf_decor().prefix()).to_string();
            key.leaf_decor_mut().set_prefix(format!("{text}{old}"));
        }
        None => keep_text(doc, None, text),
    }
}

/// Check that a top-level key, if present, is a value and not a table.
pub fn check_root_value<'a>(doc: &'a Table, key: &str) -> Result<Option<&'a Value>, EditError> {
    match doc.get(key) {
        None => Ok(None),
        Some(Item::Value(v)) => Ok(Some(v)),
        Some(other) => Err(EditError::WrongType {
            key: key.to_string(),
            expected: "a value",
            found: type_name(other),
        }),
    }
}

/// Every place that selects `provider`: the top-level `model_provider` and
/// `profiles.*.model_provider`, as dotted key paths.
pub fn references(root: &Table, provider: &str) -> Vec<String> {
    let mut found = Vec::new();
    if get_str(root, "model_provider") == Some(provider) {
        found.push("model_provider".to_string());
    }
    if let Some(profiles) = root.get("profiles").and_then(Item::as_table_like) {
        for (name, item) in profiles.iter() {
            let selects = item
                .as_table_like()
                .and_then(|p| get_str(p, "model_provider"))
                == Some(provider);
            if selects {
                found.push(format!("profiles.{name}.model_provider"));
            }
        }
    }
    found
}

/// Types of the containers this tool touches, checked before any edit so
/// that a wrong type anywhere is reported before anything changes.
pub fn check_shapes(doc: &Table) -> Result<(), EditError> {
    get_block(doc, PROVIDER)?;
    get_block(doc, PROFILE)?;
    for key in ["model_provider", "model", "profile"] {
        let value = check_root_value(doc, key)?;
        if let Some(v) = value.filter(|v| !v.is_str()) {
            return Err(EditError::WrongType {
                key: key.to_string(),
                expected: "a string",
                found: value_type_name(v),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml_edit::value;

    fn doc(s: &str) -> DocumentMut {
        s.parse().expect("test input parses")
    }

    /// Undo an [`ensure_block`] that updated an existing block.
    fn restore_block(doc: &mut DocumentMut, at: BlockPath, previous: &Previous) {
        let block = get_block_mut(doc, at).unwrap().expect("block present");
        restore_keys(block, previous).unwrap();
    }

    fn entries() -> Vec<(&'static str, Value)> {
        vec![
            ("name", Value::from("OminiGate")),
            ("wire_api", Value::from("responses")),
            ("request_max_retries", Value::from(4)),
        ]
    }

    /// ensure then remove gives the input back, for every shape.
    #[test]
    fn ensure_then_remove_round_trips() {
        let cases = [
            "",
            "a = 1\n",
            "# only a comment\n",
            "[model_providers.other]\nname = \"x\"\n",
            "[model_providers]\n\n[t]\nx = 1\n",
            "model_providers.other.name = \"x\"\n[z]\nq = 1\n",
            "model_providers = { other = { name = \"x\" } }\n",
            "model_providers = {}\n",
            "[[arr]]\nx = 1\n[[arr]]\nx = 2\n",
            "[projects.\"C:\\\\x\"]\ntrust_level = \"trusted\" # yes\n\n\n# end\n",
        ];
        for input in cases {
            let mut d = doc(input);
            assert_eq!(
                ensure_block(&mut d, PROVIDER, &entries(), "c").unwrap(),
                Change::Created
            );
            let installed = d.to_string();
            let reparsed = doc(&installed);
            let block = get_block(&reparsed, PROVIDER)
                .unwrap()
                .expect("block present");
            assert_eq!(get_str(block, "wire_api"), Some("responses"), "{installed}");
            assert!(remove_block(&mut d, PROVIDER, "c").unwrap());
            assert_eq!(d.to_string(), input, "after install:\n{installed}");
        }
    }

    #[test]
    fn new_block_goes_last_after_one_blank_line_and_a_comment() {
        let mut d = doc("model_providers.other.name = \"x\"\n[z]\nq = 1\n");
        ensure_block(&mut d, PROVIDER, &entries()[..1], "added by test").unwrap();
        assert_eq!(
            d.to_string(),
            "model_providers.other.name = \"x\"\n[z]\nq = 1\n\n# added by test\n[model_providers.ominigate]\nname = \"OminiGate\"\n"
        );
    }

    #[test]
    fn empty_document_gets_no_leading_blank_line() {
        let mut d = doc("");
        ensure_block(&mut d, PROVIDER, &entries()[..1], "c").unwrap();
        assert!(
            d.to_string()
                .starts_with("# c\n[model_providers.ominigate]\n")
        );
    }

    #[test]
    fn existing_block_is_updated_key_by_key_keeping_comments_and_extra_keys() {
        let input = "[model_providers.ominigate] # mine\nname = 'Omni'   # keep me\nwire_api = \"chat\"  # old\nextra = true\n";
        let mut d = doc(input);
        let change = ensure_block(&mut d, PROVIDER, &entries(), "c").unwrap();
        let Change::Updated(previous) = change else {
            panic!("expected an update, got {change:?}")
        };
        assert_eq!(
            d.to_string(),
            "[model_providers.ominigate] # mine\nname = \"OminiGate\"   # keep me\nwire_api = \"responses\"  # old\nextra = true\nrequest_max_retries = 4\n"
        );
        assert_eq!(previous.get("name"), Some(&Some("'Omni'".to_string())));
        assert_eq!(
            previous.get("wire_api"),
            Some(&Some("\"chat\"".to_string()))
        );
        assert_eq!(previous.get("request_max_retries"), Some(&None));
        restore_block(&mut d, PROVIDER, &previous);
        assert_eq!(d.to_string(), input);
    }

    #[test]
    fn equal_values_in_other_quoting_are_left_alone() {
        let input = "[model_providers.ominigate]\nname = 'OminiGate'\nwire_api = \"\"\"responses\"\"\"\nrequest_max_retries = 4 # four\n";
        let mut d = doc(input);
        assert_eq!(
            ensure_block(&mut d, PROVIDER, &entries(), "c").unwrap(),
            Change::Unchanged
        );
        assert_eq!(d.to_string(), input);
    }

    #[test]
    fn dotted_and_inline_blocks_are_updated_in_their_shape() {
        let dotted = "model_providers.ominigate.name = \"OminiGate\"\nmodel_providers.ominigate.wire_api = \"chat\"\n";
        let mut d = doc(dotted);
        let Change::Updated(prev) = ensure_block(&mut d, PROVIDER, &entries(), "c").unwrap() else {
            panic!()
        };
        let out = d.to_string();
        assert!(
            out.contains("model_providers.ominigate.wire_api = \"responses\""),
            "{out}"
        );
        assert!(
            out.contains("model_providers.ominigate.request_max_retries = 4"),
            "{out}"
        );
        restore_block(&mut d, PROVIDER, &prev);
        assert_eq!(d.to_string(), dotted);

        let inline =
            "model_providers = { ominigate = { name = \"OminiGate\", wire_api = \"chat\" } }\n";
        let mut d = doc(inline);
        let Change::Updated(prev) = ensure_block(&mut d, PROVIDER, &entries(), "c").unwrap() else {
            panic!()
        };
        let out = d.to_string();
        assert!(out.contains("wire_api = \"responses\""), "{out}");
        restore_block(&mut d, PROVIDER, &prev);
        assert_eq!(d.to_string(), inline);
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        for (input, key) in [
            ("model_providers = \"x\"\n", "model_providers"),
            ("model_providers = [1]\n", "model_providers"),
            ("[[model_providers]]\nx = 1\n", "model_providers"),
            (
                "[model_providers]\nominigate = 3\n",
                "model_providers.ominigate",
            ),
            ("profiles = 1\n", "profiles"),
            ("[profiles]\nominigate = \"x\"\n", "profiles.ominigate"),
        ] {
            let mut d = doc(input);
            let err = ensure_block(&mut d, PROVIDER, &entries(), "c")
                .and_then(|_| ensure_block(&mut d, PROFILE, &entries(), "c"))
                .unwrap_err();
            assert!(
                matches!(&err, EditError::WrongType { key: k, .. } if k == key),
                "{input}: {err}"
            );
            assert!(check_shapes(&doc(input)).is_err());
        }
        for input in [
            "model = 1\n",
            "[profile]\nx = 1\n",
            "model_provider = true\n",
        ] {
            assert!(check_shapes(&doc(input)).is_err(), "{input}");
        }
    }

    #[test]
    fn has_content_agrees_with_the_rendered_text() {
        for input in [
            "",
            "\n\n",
            "# only a comment\n",
            "a = 1\n",
            "[t]\n",
            "\n[a.b]\n",
            "model_providers = {}\n",
            "[[arr]]\n",
        ] {
            let d = doc(input);
            assert_eq!(
                has_content(&d, ""),
                !d.to_string().trim().is_empty(),
                "{input:?}"
            );
        }
        // An implicit table with nothing in it renders nothing.
        let mut d = doc("\n");
        let mut empty = Table::new();
        empty.set_implicit(true);
        d.insert("model_providers", Item::Table(empty));
        assert!(!has_content(&d, ""));
        assert!(has_content(&d, "# trailing\n"));
    }

    #[test]
    fn parent_kept_when_the_user_wrote_it() {
        let input = "[profiles]\n";
        let mut d = doc(input);
        ensure_block(&mut d, PROFILE, &entries()[..1], "c").unwrap();
        remove_block(&mut d, PROFILE, "c").unwrap();
        assert_eq!(d.to_string(), input);
    }

    #[test]
    fn ensure_keys_and_restore_keys_on_root() {
        let input = "model = \"gpt-5\" # mine\n[t]\nx = 1\n";
        let mut d = doc(input);
        let prev = ensure_keys(
            d.as_table_mut(),
            &[
                ("model_provider", Value::from("ominigate")),
                ("model", Value::from("m")),
            ],
        );
        assert_eq!(
            d.to_string(),
            "model = \"m\" # mine\nmodel_provider = \"ominigate\"\n[t]\nx = 1\n"
        );
        restore_keys(d.as_table_mut(), &prev).unwrap();
        assert_eq!(d.to_string(), input);
    }

    #[test]
    fn a_prefix_splits_at_its_last_blank_line() {
        assert_eq!(split_prefix(""), ("", ""));
        assert_eq!(split_prefix("# a\n"), ("", "# a\n"));
        assert_eq!(split_prefix("\n# a\n"), ("", "# a\n"));
        assert_eq!(split_prefix("# x\n\n# a\n"), ("# x\n", "# a\n"));
        assert_eq!(split_prefix("\n\n"), ("\n", ""));
    }

    #[test]
    fn drop_block_removes_a_users_block_whole_naming_what_was_added() {
        let input = "a = 1\n\n# about a\n\n# mine\n[model_providers.ominigate] # hdr\nname = \"x\"\n# why\nextra = 2 # two\n[model_providers.ominigate.q]\nv = 1\n\n[t]\nb = 2\n";
        let mut d = doc(input);
        let found = drop_block(&mut d, PROVIDER, &["name"], "c")
            .unwrap()
            .unwrap();
        assert_eq!(d.to_string(), "a = 1\n\n# about a\n\n[t]\nb = 2\n");
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "comment `# mine`",
                "comment `# hdr`",
                "comment `# why`",
                "comment `# two`",
                "extra key `extra`",
                "sub-table [model_providers.ominigate.q]",
            ]
        );
        assert_eq!(drop_block(&mut d, PROVIDER, &[], "c").unwrap(), None);
    }

    #[test]
    fn drop_block_and_drop_root_key_keep_the_lines_before_in_place() {
        let mut d = doc("# top\n\nprofiles.ominigate.model = \"m\"\nb = 1\n[t]\n");
        drop_block(&mut d, PROFILE, &[], "c").unwrap();
        assert_eq!(d.to_string(), "# top\nb = 1\n[t]\n");
        let mut d = doc("a = 1\n# keep\n\n# sel\nprofile = \"ominigate\"\nb = 2\n");
        let found = drop_root_key(&mut d, "profile").unwrap();
        assert_eq!(d.to_string(), "a = 1\n# keep\nb = 2\n");
        assert_eq!(found, [Addition::Comment("# sel".into())]);
        assert_eq!(drop_root_key(&mut d, "profile"), None);
    }

    #[test]
    fn block_items_carry_every_comment() {
        let d = doc("[profiles.ominigate] # hdr\n# above\nmodel = \"m\" # after\nx = 1\n");
        let (above, items) = block_items(&d, PROFILE, "c").unwrap().unwrap();
        assert_eq!(above, "# hdr\n");
        let mut out = DocumentMut::new();
        for (k, item) in items {
            out.as_table_mut().insert_formatted(&k, item);
        }
        assert_eq!(out.to_string(), "# above\nmodel = \"m\" # after\nx = 1\n");
        let d = doc("a = 1\n\n# profile\nprofiles.ominigate.model = \"m\" # after\n");
        let (above, items) = block_items(&d, PROFILE, "c").unwrap().unwrap();
        assert_eq!(above, "");
        assert_eq!(
            items[0].0.leaf_decor().prefix().and_then(|p| p.as_str()),
            Some("# profile\n")
        );
    }

    #[test]
    fn references_finds_top_level_and_profiles() {
        let d = doc(
            "model_provider = \"ominigate\"\n[profiles.a]\nmodel_provider = \"ominigate\"\n[profiles.b]\nmodel_provider = \"openai\"\n",
        );
        assert_eq!(
            references(&d, "ominigate"),
            ["model_provider", "profiles.a.model_provider"]
        );
        let _ = value(1);
    }
}
