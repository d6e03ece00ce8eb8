//! Property tests of the edit layer through the library API, driven the way
//! the binary drives it (parse, plan, render; see `harness::lib_install`).
//!
//! Generated documents mix root keys, tables, arrays of tables, dotted keys,
//! inline tables, multi-line strings, comments, blank lines, indentation,
//! unicode, LF/CRLF/mixed line endings, a BOM, a missing final newline, and
//! existing `model_providers` / `profiles` in every shape (the user's own
//! `ominigate` blocks included, with comments). The round trip over them
//! (install, again, uninstall, `--bridge` and back) is in `round_trip.rs`;
//! here, that the generator covers every shape and style, and that:
//!
//! No input panics: arbitrary bytes, TOML-like text and mutated documents go
//! through parse and plan in every era.
//!
//! `PROPTEST_CASES=N` runs N cases per property instead of the defaults.

use std::fmt::Write as _;

use crate::harness::api::{install, lib_toml, spec};
use crate::harness::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// `default_cases` cases (or `PROPTEST_CASES`); failures are saved beside
/// the test's source file (`NAME.proptest-regressions`) and replayed first.
pub(crate) fn config(default_cases: u32) -> Config {
    Config {
        cases: cases(default_cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..Config::default()
    }
}

// --- generating documents ---------------------------------------------------

/// Text for comments and strings: ASCII, accents, CJK, emoji, RTL,
/// combining marks, zero-width and line/paragraph separators.
fn text() -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        8 => proptest::char::range(' ', '~'),
        1 => proptest::char::range('\u{e0}', '\u{ff}'),
        1 => proptest::char::range('\u{4e00}', '\u{4e20}'),
        1 => proptest::char::range('\u{1f600}', '\u{1f610}'),
        1 => Just('\u{5d0}'),
        1 => Just('\u{301}'),
        1 => Just('\u{200d}'),
        1 => Just('\u{2028}'),
        1 => Just('\t'),
    ];
    proptest::collection::vec(chars, 0..14).prop_map(|v| v.into_iter().collect())
}

fn basic(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn literal_ok(s: &str) -> bool {
    !s.contains('\'')
}

/// A one-line value.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (1i32..1000, any::<bool>())
            .prop_map(|(n, neg)| format!("{}{n}_000", if neg { "-" } else { "+" })),
        (-1e6f64..1e6).prop_map(|f| format!("{f:?}")),
        Just("inf".to_string()),
        Just("-nan".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        text().prop_map(|s| basic(&s)),
        text()
            .prop_filter("no quote", |s| literal_ok(s))
            .prop_map(|s| format!("'{s}'")),
        Just("1979-05-27T07:32:00Z".to_string()),
        Just("0xdead_beef".to_string()),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("[{}]", v.join(", "))),
            proptest::collection::vec(inner, 0..3).prop_map(|v| {
                let kv: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| format!("i{i} = {x}"))
                    .collect();
                format!("{{ {} }}", kv.join(", "))
            }),
        ]
    })
}

/// Spacing around `=` and before a line.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(" "), 1 => Just(""), 1 => Just("  "), 1 => Just("\t")]
}

fn trailing_comment() -> impl Strategy<Value = String> {
    prop_oneof![3 => Just(String::new()), 1 => text().prop_map(|t| format!(" # {t}"))]
}

/// One key/value entry, as lines (a multi-line string spans several).
#[derive(Debug, Clone)]
enum Entry {
    KeyValue {
        indent: &'static str,
        quoted: Option<String>,
        sp: &'static str,
        value: String,
        comment: String,
    },
    Dotted {
        value: String,
    },
    MultiLine {
        body: Vec<String>,
        literal: bool,
    },
    Comment(String),
    Blank(&'static str),
}

fn entry() -> impl Strategy<Value = Entry> {
    prop_oneof![
        5 => (ws(), proptest::option::of(text()), ws(), value(), trailing_comment()).prop_map(
            |(indent, quoted, sp, value, comment)| Entry::KeyValue { indent, quoted, sp, value, comment }
        ),
        1 => value().prop_map(|value| Entry::Dotted { value }),
        1 => (proptest::collection::vec(text(), 0..3), any::<bool>())
            .prop_filter("literal strings cannot hold '''", |(b, lit)| {
                !*lit || b.iter().all(|l| !l.contains("'''"))
            })
            .prop_map(|(body, literal)| Entry::MultiLine { body, literal }),
        2 => text().prop_map(Entry::Comment),
        2 => prop_oneof![Just(""), Just("  "), Just("\t")].prop_map(Entry::Blank),
    ]
}

/// Render entries with keys unique within their table (`k<n>`, or a
/// quoted key made unique by its number).
fn render_entries(entries: &[Entry], n: &mut usize, out: &mut Vec<Line>) {
    for e in entries {
        *n += 1;
        match e {
            Entry::KeyValue {
                indent,
                quoted,
                sp,
                value,
                comment,
            } => {
                let key = match quoted {
                    Some(q) => basic(&format!("{q} {n}")),
                    None => format!("k{n}"),
                };
                out.push(Line::kept(format!(
                    "{indent}{key}{sp}={sp}{value}{comment}"
                )));
            }
            Entry::Dotted { value } => {
                out.push(Line::kept(format!("d{n}.\"x.{n}\".y = {value}")));
            }
            Entry::MultiLine { body, literal } => {
                let q = if *literal { "'''" } else { "\"\"\"" };
                let mut lines = vec![format!("m{n} = {q}")];
                for l in body {
                    lines.push(if *literal {
                        l.clone()
                    } else {
                        l.replace('\\', "\\\\").replace('"', "\\\"")
                    });
                }
                lines.push(format!("{q} # end {n}"));
                out.extend(lines.into_iter().map(Line::kept));
            }
            Entry::Comment(t) => out.push(Line::kept(format!("# {t}"))),
            Entry::Blank(b) => out.push(Line::kept(b.to_string())),
        }
    }
}

/// A section after the root keys.
#[derive(Debug, Clone)]
enum Section {
    Table {
        header_comment: String,
        entries: Vec<Entry>,
    },
    Nested {
        entries: Vec<Entry>,
    },
    ArrayOfTables {
        count: usize,
        entries: Vec<Entry>,
    },
    Project {
        path: String,
        entries: Vec<Entry>,
    },
}

fn section() -> impl Strategy<Value = Section> {
    let entries = || proptest::collection::vec(entry(), 0..5);
    prop_oneof![
        3 => (trailing_comment(), entries())
            .prop_map(|(header_comment, entries)| Section::Table { header_comment, entries }),
        1 => entries().prop_map(|entries| Section::Nested { entries }),
        1 => (1usize..4, entries()).prop_map(|(count, entries)| Section::ArrayOfTables { count, entries }),
        1 => (text(), entries()).prop_map(|(path, entries)| Section::Project { path, entries }),
    ]
}

/// What the file already has under `model_providers` / `profiles`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Absent,
    /// `[parent.other]` with a key.
    OtherTable,
    /// `[parent]`, empty, written out.
    EmptyParent,
    /// `parent.other.name = "x"` among the root keys.
    DottedOther,
    /// `parent = { other = { name = "x" } }` among the root keys.
    InlineOther,
    /// `parent = {}`.
    InlineEmpty,
    /// The user's own `[parent.ominigate]` with some of the keys.
    OwnTable,
    /// The user's own, as dotted keys.
    OwnDotted,
    /// The user's own, as an inline table.
    OwnInline,
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        3 => Just(Shape::Absent),
        1 => Just(Shape::OtherTable),
        1 => Just(Shape::EmptyParent),
        1 => Just(Shape::DottedOther),
        1 => Just(Shape::InlineOther),
        1 => Just(Shape::InlineEmpty),
        1 => Just(Shape::OwnTable),
        1 => Just(Shape::OwnDotted),
        1 => Just(Shape::OwnInline),
    ]
}

/// One line of a generated file: whether install must leave it alone.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    kept: bool,
}

impl Line {
    fn kept(text: String) -> Line {
        Line { text, kept: true }
    }
    fn ours(text: String) -> Line {
        Line { text, kept: false }
    }
}

/// Lines for `shape` of `parent`: (root lines, section lines).
fn shape_lines(parent: &str, shape: Shape, own: &[(&str, String)]) -> (Vec<Line>, Vec<Line>) {
    let own_kv: Vec<String> = own.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    match shape {
        Shape::Absent => (vec![], vec![]),
        Shape::OtherTable => (
            vec![],
            vec![
                Line::kept(format!("[{parent}.other]")),
                Line::kept("name = \"other\"".into()),
            ],
        ),
        Shape::EmptyParent => (vec![], vec![Line::kept(format!("[{parent}]"))]),
        Shape::DottedOther => (
            vec![Line::kept(format!("{parent}.other.name = \"other\""))],
            vec![],
        ),
        // Install puts its block into the inline parent: that line is ours.
        Shape::InlineOther => (
            vec![Line::ours(format!(
                "{parent} = {{ other = {{ name = \"other\" }} }}"
            ))],
            vec![],
        ),
        Shape::InlineEmpty => (vec![Line::ours(format!("{parent} = {{}}"))], vec![]),
        // A blank line first: comment lines right above a block (no blank
        // line between) are the block's and go with it.
        Shape::OwnTable => {
            let mut lines = vec![
                Line::ours(String::new()),
                Line::ours(format!("[{parent}.ominigate] # mine")),
                Line::ours(format!("# inside {parent}")),
            ];
            lines.extend(own_kv.iter().map(|l| Line::ours(format!("{l} # mine"))));
            (vec![], lines)
        }
        Shape::OwnDotted => {
            let mut lines = vec![
                Line::ours(String::new()),
                Line::ours(format!("# above {parent}")),
            ];
            lines.extend(
                own_kv
                    .iter()
                    .map(|l| Line::ours(format!("{parent}.ominigate.{l}"))),
            );
            (lines, vec![])
        }
        Shape::OwnInline => (
            vec![Line::ours(format!(
                "{parent} = {{ ominigate = {{ {} }} }}",
                own_kv.join(", ")
            ))],
            vec![],
        ),
    }
}

#[derive(Debug, Clone, Copy)]
enum Eol {
    Lf,
    Crlf,
    Mixed,
}

/// A generated config and how install may be run on it.
#[derive(Clone)]
pub(crate) struct Case {
    pub(crate) era: &'static str,
    default: bool,
    pub(crate) model: Option<String>,
    bom: bool,
    eol: Eol,
    eol_choices: Vec<bool>,
    final_newline: bool,
    lines: Vec<Line>,
    pub(crate) profile_file: Option<String>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "era {} default {} model {:?} profile file {:?}\nconfig.toml: {:?}",
            self.era,
            self.default,
            self.model,
            self.profile_file,
            self.render().0
        )
    }
}

impl Case {
    /// The file's bytes, and the raw lines install must keep (with their
    /// terminators; the last one may lose none).
    pub(crate) fn render(&self) -> (String, Vec<(String, bool)>) {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        let mut raw = Vec::new();
        let n = self.lines.len();
        for (i, line) in self.lines.iter().enumerate() {
            let crlf = match self.eol {
                Eol::Lf => false,
                Eol::Crlf => true,
                Eol::Mixed => self.eol_choices.get(i).copied().unwrap_or(false),
            };
            let last = i + 1 == n;
            let term = if last && !self.final_newline {
                ""
            } else if crlf {
                "\r\n"
            } else {
                "\n"
            };
            let text = format!("{}{term}", line.text);
            out.push_str(&text);
            raw.push((text, line.kept));
        }
        (out, raw)
    }

    pub(crate) fn files(&self) -> Files {
        let (text, _) = self.render();
        Files {
            config: Some(text),
            profile: self.profile_file.clone(),
            ..Files::default()
        }
    }

    pub(crate) fn options(&self) -> install::Options {
        options(self.era, self.default, self.model.as_deref())
    }
}

/// A model id the CLI accepts (`spec::check_model`), odd characters included.
fn model() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(spec::MODEL.to_string()),
        Just("..".to_string()),
        Just("../../etc/passwd".to_string()),
        Just("'''\"\"\"".to_string()),
        Just("a\\u0000b".to_string()),
        text(),
    ]
    .prop_filter("accepted by --model", |m| spec::check_model(m).is_ok())
}

pub(crate) fn case() -> impl Strategy<Value = Case> {
    let root = proptest::collection::vec(entry(), 0..6);
    let sections = proptest::collection::vec(section(), 0..5);
    (
        prop_oneof![Just("0.94.0"), Just("0.133.0"), Just("0.169.0")],
        (shape(), shape(), any::<bool>(), any::<bool>()),
        (root, sections),
        (
            any::<bool>(),
            prop_oneof![Just(Eol::Lf), Just(Eol::Crlf), Just(Eol::Mixed)],
        ),
        (proptest::collection::vec(any::<bool>(), 64), any::<bool>()),
        (proptest::option::of(model()), proptest::option::of(text())),
        any::<u64>(),
    )
        .prop_map(
            |(
                era,
                (provider, profile, default, top_level),
                (root, sections),
                (bom, eol),
                (eol_choices, final_newline),
                (model, profile_file_model),
                seed,
            )| {
                build(
                    era,
                    provider,
                    profile,
                    default,
                    top_level,
                    &root,
                    &sections,
                    bom,
                    eol,
                    eol_choices,
                    final_newline,
                    model,
                    profile_file_model,
                    seed,
                )
            },
        )
}

#[allow(clippy::too_many_arguments)]
fn build(
    era: &'static str,
    provider: Shape,
    profile: Shape,
    default: bool,
    top_level: bool,
    root: &[Entry],
    sections: &[Section],
    bom: bool,
    eol: Eol,
    eol_choices: Vec<bool>,
    final_newline: bool,
    model: Option<String>,
    profile_file_model: Option<String>,
    seed: u64,
) -> Case {
    let file_era = era == "0.169.0";
    let mut n = 0;
    let mut lines: Vec<Line> = Vec::new();
    render_entries(root, &mut n, &mut lines);

    let own_provider = [
        ("name", basic("Mine")),
        ("base_url", basic("https://gw.example.com/v1")),
        ("request_max_retries", "7".to_string()),
    ];
    let own_profile = [
        ("model", basic("o3")),
        ("model_reasoning_effort", basic("high")),
    ];
    let (p_root, p_sections) = shape_lines("model_providers", provider, &own_provider);
    let (f_root, f_sections) = shape_lines("profiles", profile, &own_profile);
    // Root-level shape lines go among the root keys, at seeded places, each
    // shape's lines together: toml_edit cannot keep the dotted keys of one
    // table apart (the tool refuses such a file; see faults.rs).
    // --default changes and later restores these two.
    let mk = |t: &str| {
        if default {
            Line::ours(t.into())
        } else {
            Line::kept(t.into())
        }
    };
    let top: Vec<Line> = if top_level {
        vec![
            mk("model = 'gpt-5'"),
            mk("model_provider = \"openai\" # default"),
        ]
    } else {
        vec![]
    };
    let len = lines.len() + 1;
    let mut blocks = [
        ((seed as usize) % len, p_root),
        ((seed as usize / 7) % len, f_root),
        ((seed as usize / 49) % len, top),
    ];
    blocks.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    for (at, block) in blocks {
        lines.splice(at..at, block);
    }

    let mut rendered_sections: Vec<Vec<Line>> = vec![p_sections, f_sections];
    for (i, s) in sections.iter().enumerate() {
        let mut out = Vec::new();
        let mut m = 0;
        match s {
            Section::Table {
                header_comment,
                entries,
            } => {
                out.push(Line::kept(format!("[t{i}]{header_comment}")));
                render_entries(entries, &mut m, &mut out);
            }
            Section::Nested { entries } => {
                out.push(Line::kept(format!("  [ n{i} . \"sub {i}\" ]")));
                render_entries(entries, &mut m, &mut out);
            }
            Section::ArrayOfTables { count, entries } => {
                for _ in 0..*count {
                    out.push(Line::kept(format!("[[a{i}]]")));
                    let mut m = 0;
                    render_entries(entries, &mut m, &mut out);
                }
            }
            Section::Project { path, entries } => {
                out.push(Line::kept(format!(
                    "[projects.{}]",
                    basic(&format!("C:\\Users\\{path}\\{i}"))
                )));
                render_entries(entries, &mut m, &mut out);
            }
        }
        rendered_sections.push(out);
    }
    // Seeded order of the sections.
    let k = rendered_sections.len();
    for i in 0..k {
        let j = (seed.rotate_left(i as u32 * 5) as usize) % k;
        rendered_sections.swap(i, j);
    }
    for s in rendered_sections {
        lines.extend(s);
    }
    let profile_file = profile_file_model.filter(|_| file_era).map(|m| {
        format!(
            "# my profile\nmodel = {}\nmodel_reasoning_effort = \"low\"\n",
            basic(&m)
        )
    });
    Case {
        era,
        default,
        model,
        bom,
        eol,
        eol_choices,
        final_newline,
        lines,
        profile_file,
    }
}

/// Parse, check and plan `bytes` in every era, install (with and without
/// --default) and uninstall, the way the binary does; errors are fine,
/// panics are not.
fn never_panics(bytes: &[u8]) {
    let path = std::path::Path::new("config.toml");
    let Ok(text) = lib_toml::as_text(path, bytes) else {
        return;
    };
    let files = Files::config(text);
    for (i, era) in ERAS.iter().enumerate() {
        let default = i % 2 == 1;
        if let Ok(installed) = lib_install(&files, &options(era, default, None)) {
            let _ = lib_install(&installed, &options(era, !default, Some("m")));
            let _ = lib_uninstall(&installed, false);
        }
    }
    let _ = lib_uninstall(&files, true);
}

/// Pieces of TOML, to get past the first byte of the parser.
const ATOMS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    " = ",
    ".",
    ",",
    "\"",
    "'",
    "\"\"\"",
    "#",
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "model_providers",
    "ominigate",
    "profiles",
    "profile",
    "model",
    "model_provider",
    "name",
    "a",
    "1",
    "true",
    "1979-05-27",
    "\u{feff}",
    "é",
    "\\",
    "\\u00e9",
    "\0",
];

/// Text that looks like TOML.
fn tomlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ATOMS), 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        never_panics(&bytes);
    }

    #[test]
    fn toml_like_text_never_panics(text in tomlish()) {
        never_panics(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn mutated_documents_never_panic(
        case in case(),
        edits in proptest::collection::vec((any::<usize>(), 0u8..3, tomlish()), 1..4),
    ) {
        let (mut text, _) = case.render();
        for (at, kind, piece) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => text.insert_str(at, &piece),
                1 => {
                    let mut end = (at + piece.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => text.truncate(at),
            }
        }
        never_panics(text.as_bytes());
    }
}

#[test]
fn the_generator_covers_every_shape_and_style() {
    // Guard against a generator that silently stops producing what the
    // properties claim to cover.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..600 {
        let case = case().new_tree(&mut runner).unwrap().current();
        let (text, _) = case.render();
        let mut note = |what: &str, yes: bool| {
            if yes {
                seen.insert(what.to_string());
            }
        };
        note("bom", text.starts_with('\u{feff}'));
        note("crlf", text.contains("\r\n"));
        note(
            "mixed",
            text.contains("\r\n") && text.replace("\r\n", "").contains('\n'),
        );
        note(
            "no final newline",
            !text.is_empty() && !text.ends_with('\n'),
        );
        note("array of tables", text.contains("[[a"));
        note("dotted", text.contains("\".y = "));
        note("inline", text.contains("= { "));
        note(
            "multi-line",
            text.contains("\"\"\"") || text.contains("'''"),
        );
        note("unicode", text.chars().any(|c| c as u32 > 0x2000));
        note(
            "own provider table",
            text.contains("[model_providers.ominigate] # mine"),
        );
        note(
            "own provider dotted",
            text.contains("model_providers.ominigate.name"),
        );
        note(
            "own provider inline",
            text.contains("model_providers = { ominigate"),
        );
        note("own profile", text.contains("[profiles.ominigate] # mine"));
        note(
            "legacy profile with comments for 0.169",
            case.era == "0.169.0"
                && (text.contains("# inside profiles") || text.contains("# above profiles")),
        );
        note("inline parent", text.contains("model_providers = { other"));
        note("dotted parent", text.contains("profiles.other.name"));
        note("default", case.default);
        note("model", case.model.is_some());
        note("profile file", case.profile_file.is_some());
        note("era 0.94", case.era == "0.94.0");
        note("era 0.169", case.era == "0.169.0");
    }
    let mut writer = String::new();
    for s in &seen {
        let _ = write!(writer, "{s}, ");
    }
    assert_eq!(
        seen.len(),
        21,
        "the generator missed some: saw only {writer}"
    );
}
