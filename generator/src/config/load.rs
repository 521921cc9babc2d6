//! Reads `monitoring.toml` and reports every problem as `path:line:col: key: message`.
//!
//! Three kinds of problem, one format: TOML syntax (toml_edit's parser), shape (serde via
//! `toml`, e.g. unknown keys or enum values, reworded to list the allowed values) and
//! meaning (`Config::validate`, whose dotted key paths are located in the file's syntax tree).

use super::model::Config;
use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml_edit::{Item, Table, TableLike, Value};

/// One problem, positioned in the file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// Dotted key path such as `alarms[2].threshold`; empty when the problem has no key.
    pub key: String,
    pub message: String,
}

#[derive(Debug)]
pub enum LoadError {
    Io(PathBuf, std::io::Error),
    Invalid(PathBuf, Vec<Problem>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(path, e) => write!(f, "{}: cannot read: {e}", path.display()),
            LoadError::Invalid(path, problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}:{}:{}: ", path.display(), p.line, p.column)?;
                    if !p.key.is_empty() {
                        write!(f, "{}: ", p.key)?;
                    }
                    write!(f, "{}", p.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

pub fn load_config(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io(path.to_owned(), e))?;
    parse_config(path, &text)
}

/// Parses and validates `text`; `path` is only used in messages.
pub fn parse_config(path: &Path, text: &str) -> Result<Config, LoadError> {
    parse_with(path, text, |config: &Config| {
        config
            .validate()
            .into_iter()
            .map(|issue| (issue.key, issue.message))
            .collect()
    })
}

/// Parses `text` as `T`, then runs `validate`, which returns `(dotted key, message)` pairs.
pub fn parse_with<T, F>(path: &Path, text: &str, validate: F) -> Result<T, LoadError>
where
    T: DeserializeOwned,
    F: FnOnce(&T) -> Vec<(String, String)>,
{
    let invalid = |problems| LoadError::Invalid(path.to_owned(), problems);
    let doc = match toml_edit::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            return Err(invalid(vec![problem_at(
                text,
                offset,
                String::new(),
                first_line(e.message()),
            )]));
        }
    };
    let value: T = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let key = key_at(doc.as_table(), offset).unwrap_or_default();
        invalid(vec![problem_at(text, offset, key, reword(e.message()))])
    })?;
    let mut problems: Vec<Problem> = validate(&value)
        .into_iter()
        .map(|(key, message)| {
            let offset = span_of(doc.as_table(), &key).map_or(0, |s| s.start);
            problem_at(text, offset, key, message)
        })
        .collect();
    if problems.is_empty() {
        return Ok(value);
    }
    problems.sort_by_key(|p| (p.line, p.column));
    Err(invalid(problems))
}

fn problem_at(text: &str, offset: usize, key: String, message: String) -> Problem {
    let (line, column) = line_col(text, offset);
    Problem {
        line,
        column,
        key,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_owned()
}

/// serde's "unknown variant `x`, expected `a` or `b`" as "unknown value "x" (allowed: a, b)".
fn reword(message: &str) -> String {
    let message = first_line(message);
    let quoted =
        |s: &str| -> Vec<String> { s.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    for (prefix, noun) in [("unknown variant", "value"), ("unknown field", "key")] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (got, expected) = rest.split_once("expected").unwrap_or((rest, ""));
            let got = quoted(got).into_iter().next().unwrap_or_default();
            let allowed = quoted(expected);
            return if allowed.is_empty() {
                format!("unknown {noun} {got:?}")
            } else {
                format!("unknown {noun} {got:?} (allowed: {})", allowed.join(", "))
            };
        }
    }
    message
}

/// The dotted path of the deepest key or value whose span holds `offset`.
pub fn key_at(root: &Table, offset: usize) -> Option<String> {
    find_in_table(root, offset, "")
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.contains(&offset) || (s.is_empty() && s.start == offset))
}

fn find_in_table(table: &dyn TableLike, offset: usize, prefix: &str) -> Option<String> {
    for (name, _) in table.iter() {
        let Some((key, item)) = table.get_key_value(name) else {
            continue;
        };
        let path = join(prefix, name);
        if let Some(found) = find_in_item(item, offset, &path) {
            return Some(found);
        }
        if contains(key.span(), offset) {
            return Some(path);
        }
    }
    None
}

fn find_in_item(item: &Item, offset: usize, path: &str) -> Option<String> {
    match item {
        Item::None => None,
        Item::Value(v) => find_in_value(v, offset, path),
        Item::Table(t) => find_in_table(t, offset, path)
            .or_else(|| contains(t.span(), offset).then(|| path.to_owned())),
        Item::ArrayOfTables(tables) => tables.iter().enumerate().find_map(|(i, t)| {
            let path = format!("{path}[{i}]");
            find_in_table(t, offset, &path).or_else(|| contains(t.span(), offset).then_some(path))
        }),
    }
}

fn find_in_value(value: &Value, offset: usize, path: &str) -> Option<String> {
    let inner = match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_in_value(v, offset, &format!("{path}[{i}]"))),
        Value::InlineTable(t) => find_in_table(t, offset, path),
        _ => None,
    };
    inner.or_else(|| contains(value.span(), offset).then(|| path.to_owned()))
}

/// Where the key path (`alarms[2].runbook.steps[0].type`) is written: the key itself when
/// present, else the nearest enclosing table or value that is.
pub fn span_of(root: &Table, path: &str) -> Option<Range<usize>> {
    let mut best = None;
    let mut node = Node::Table(root);
    for segment in segments(path) {
        let next = match (&node, segment) {
            (Node::Table(t), Segment::Key(k)) => t.get_key_value(k).and_then(|(key, item)| {
                best = key.span().or(best.clone());
                Node::from_item(item)
            }),
            (Node::Tables(ts), Segment::Index(i)) => ts.get(i).map(|t| {
                best = t.span().or(best.clone());
                Node::Table(t)
            }),
            (Node::Array(a), Segment::Index(i)) => a.get(i).map(Node::from_value),
            _ => None,
        };
        match next {
            Some(n) => {
                if let Some(span) = n.own_span() {
                    if !matches!(segment, Segment::Key(_)) {
                        best = Some(span);
                    }
                }
                node = n;
            }
            None => break,
        }
    }
    best
}

enum Node<'a> {
    Table(&'a dyn TableLike),
    Tables(&'a toml_edit::ArrayOfTables),
    Array(&'a toml_edit::Array),
    Scalar(&'a Value),
}

impl<'a> Node<'a> {
    fn from_item(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(ts) => Some(Node::Tables(ts)),
            Item::Value(v) => Some(Node::from_value(v)),
            Item::None => None,
        }
    }

    fn from_value(value: &'a Value) -> Node<'a> {
        match value {
            Value::Array(a) => Node::Array(a),
            Value::InlineTable(t) => Node::Table(t),
            v => Node::Scalar(v),
        }
    }

    fn own_span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(_) | Node::Tables(_) => None,
            Node::Array(a) => a.span(),
            Node::Scalar(v) => v.span(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a.b[2].c` -> Key(a), Key(b), Index(2), Key(c). Unparseable indexes end the path.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        while let Some((index, after)) = rest.split_once(']') {
            match index.parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => return out,
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}
