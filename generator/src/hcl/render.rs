//! Writes documents as unindented HCL text; [`super::format`] then indents and aligns it.
//!
//! Splitting the two jobs keeps layout decisions (what goes on which line) here and the
//! `terraform fmt` rules (indent by bracket depth, `=` alignment) in one place that also
//! handles multi-line `Raw` text.

use super::block::{Block, Body, BodyItem, DocItem, Document};
use super::expr::Expr;
use super::format;

/// Lists longer than this (without indentation) are written one element per line.
const INLINE_LIST_MAX: usize = 80;

pub fn document(doc: &Document) -> String {
    let mut out = String::new();
    // Blocks are separated by a blank line; explicit blanks collapse; none at the ends.
    let mut wrote_any = false;
    let mut pending_blank = false;
    let mut prev_was_block = false;
    for item in &doc.items {
        match item {
            DocItem::Blank => pending_blank = wrote_any,
            DocItem::Comment(text) => {
                if pending_blank || prev_was_block {
                    out.push('\n');
                }
                comment(&mut out, text);
                prev_was_block = false;
                pending_blank = false;
                wrote_any = true;
            }
            DocItem::Block(b) => {
                if pending_blank || prev_was_block {
                    out.push('\n');
                }
                block(&mut out, b);
                prev_was_block = true;
                pending_blank = false;
                wrote_any = true;
            }
        }
    }
    format::format(&out)
}

/// Renders one block on its own, formatted (handy for tests and README snippets).
pub fn block_text(b: &Block) -> String {
    let mut out = String::new();
    block(&mut out, b);
    format::format(&out)
}

/// Renders one expression on its own, formatted as the value of an attribute would be.
pub fn expr_text(e: &Expr) -> String {
    let mut out = String::new();
    expr(&mut out, e);
    format::format(&out)
}

/// One-line form of any expression, for documentation (not necessarily `terraform fmt` layout):
/// objects as `{ a = 1, b = 2 }`, heredocs as their first line followed by `...`.
pub fn expr_inline(e: &Expr) -> String {
    match e {
        Expr::List(items) => format!(
            "[{}]",
            items.iter().map(expr_inline).collect::<Vec<_>>().join(", ")
        ),
        Expr::Object(pairs) if pairs.is_empty() => "{}".to_owned(),
        Expr::Object(pairs) => {
            let items: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let mut key = String::new();
                    object_key(&mut key, k);
                    format!("{key} = {}", expr_inline(v))
                })
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        Expr::Call(name, args) => format!(
            "{name}({})",
            args.iter().map(expr_inline).collect::<Vec<_>>().join(", ")
        ),
        Expr::Heredoc { text, .. } => {
            format!("<<{} ...", text.lines().next().unwrap_or("").trim())
        }
        Expr::Raw(s) => raw_inline(s),
        other => {
            let mut out = String::new();
            expr(&mut out, other);
            out
        }
    }
}

/// Joins a multi-line expression's lines; newline-separated object items get commas.
fn raw_inline(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            let opens = out.ends_with(['{', '[', '(', ',']);
            let closes = line.starts_with(['}', ']', ')']);
            out.push_str(if opens || closes { " " } else { ", " });
        }
        out.push_str(&line.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    out
}

fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if text.is_empty() {
        out.push_str("#\n");
    }
}

fn block(out: &mut String, b: &Block) {
    out.push_str(&b.kind);
    for label in &b.labels {
        out.push(' ');
        quoted(out, &escape_label(label));
    }
    if b.body.items.iter().all(|i| matches!(i, BodyItem::Blank)) {
        out.push_str(" {}\n");
        return;
    }
    out.push_str(" {\n");
    body(out, &b.body, b.kind == "variable");
    out.push_str("}\n");
}

fn body(out: &mut String, body: &Body, in_variable: bool) {
    let mut wrote_any = false;
    let mut pending_blank = false;
    for item in &body.items {
        if let BodyItem::Blank = item {
            pending_blank = wrote_any;
            continue;
        }
        if pending_blank {
            out.push('\n');
            pending_blank = false;
        }
        wrote_any = true;
        match item {
            BodyItem::Attr(key, value) => {
                out.push_str(key);
                out.push_str(" = ");
                let is_type = in_variable && key == "type";
                match fmt_rewrite(value, is_type) {
                    Some(rewritten) => out.push_str(&rewritten),
                    None => expr(out, value),
                }
                end_line(out);
            }
            BodyItem::Block(b) => block(out, b),
            BodyItem::Comment(text) => comment(out, text),
            BodyItem::Blank => {}
        }
    }
}

/// What `terraform fmt` would rewrite an attribute's value to, written that way up front:
/// a string that is one interpolation (`"${var.x}"`) becomes `var.x`, and a quoted variable
/// type (`"string"`) becomes the bare type.
fn fmt_rewrite(value: &Expr, is_variable_type: bool) -> Option<String> {
    let Expr::Str(s) = value else { return None };
    if is_variable_type {
        return Some(s.trim().to_owned());
    }
    let inner = s.strip_prefix("${")?;
    let end = template_sequence_end(s.as_bytes(), 2)?;
    (end == s.len() && !s.starts_with("${~")).then(|| inner[..inner.len() - 1].trim().to_owned())
}

/// A heredoc already ends its line; anything else needs a newline.
fn end_line(out: &mut String) {
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

fn expr(out: &mut String, e: &Expr) {
    match e {
        Expr::Null => out.push_str("null"),
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Number(n) if n.trim().is_empty() => out.push_str("null"),
        Expr::Number(n) => out.push_str(n.trim()),
        Expr::Str(s) => quoted(out, &escape_template(s)),
        Expr::Raw(s) => out.push_str(s.trim()),
        Expr::List(items) => list(out, items),
        Expr::Object(pairs) => object(out, pairs),
        Expr::Call(name, args) => {
            out.push_str(name);
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                expr(out, arg);
            }
            out.push(')');
        }
        Expr::Heredoc {
            marker,
            text,
            indent,
        } => heredoc(out, marker, text, *indent),
    }
}

fn list(out: &mut String, items: &[Expr]) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    if list_inline_len(items).is_some() {
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            expr(out, item);
        }
        out.push(']');
        return;
    }
    out.push_str("[\n");
    for item in items {
        expr(out, item);
        out.push_str(",\n");
    }
    out.push(']');
}

fn object(out: &mut String, pairs: &[(String, Expr)]) {
    if pairs.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (key, value) in pairs {
        object_key(out, key);
        out.push_str(" = ");
        expr(out, value);
        end_line(out);
    }
    out.push('}');
}

fn heredoc(out: &mut String, marker: &str, text: &str, indent: bool) {
    let marker = unique_marker(marker, text);
    out.push_str(if indent { "<<-" } else { "<<" });
    out.push_str(&marker);
    out.push('\n');
    out.push_str(text);
    if !text.is_empty() && !text.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&marker);
    out.push('\n');
}

/// A marker that appears as a line of the text would end the heredoc early; pick another.
fn unique_marker(marker: &str, text: &str) -> String {
    let mut marker = if is_identifier(marker) {
        marker.to_owned()
    } else {
        "EOT".to_owned()
    };
    while text.lines().any(|l| l.trim() == marker) {
        marker.push('_');
    }
    marker
}

/// Length of the single-line form, or `None` when the expression needs several lines.
fn inline_len(e: &Expr) -> Option<usize> {
    match e {
        Expr::Null => Some(4),
        Expr::Bool(b) => Some(if *b { 4 } else { 5 }),
        Expr::Number(n) => Some(n.trim().len()),
        Expr::Str(s) => Some(escape_template(s).len() + 2),
        Expr::Raw(s) => (!s.trim().contains('\n')).then(|| s.trim().len()),
        Expr::List(items) => list_inline_len(items),
        Expr::Object(pairs) if pairs.is_empty() => Some(2),
        Expr::Object(_) | Expr::Heredoc { .. } => None,
        Expr::Call(name, args) => {
            let mut len = name.len() + 2;
            for (i, arg) in args.iter().enumerate() {
                len += inline_len(arg)? + if i > 0 { 2 } else { 0 };
            }
            Some(len)
        }
    }
}

fn list_inline_len(items: &[Expr]) -> Option<usize> {
    let mut len = 2;
    for (i, item) in items.iter().enumerate() {
        len += inline_len(item)? + if i > 0 { 2 } else { 0 };
    }
    (len <= INLINE_LIST_MAX).then_some(len)
}

fn quoted(out: &mut String, escaped: &str) {
    out.push('"');
    out.push_str(escaped);
    out.push('"');
}

fn object_key(out: &mut String, key: &str) {
    if is_identifier(key) && !matches!(key, "null" | "true" | "false" | "for" | "if" | "in") {
        out.push_str(key);
    } else {
        quoted(out, &escape_template(key));
    }
}

/// HCL identifier: a letter or `_`, then letters, digits, `_` or `-`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Block labels are plain strings (template sequences are not allowed in them).
fn escape_label(s: &str) -> String {
    escape_literal_chars(s)
}

/// Escapes a quoted template's literal parts; `${...}`/`%{...}` sequences are code and are
/// copied unchanged (their own nested strings included).
pub fn escape_template(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 2);
    let mut i = 0;
    let mut literal_start = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if (c == b'$' || c == b'%') && next == Some(c) && bytes.get(i + 2) == Some(&b'{') {
            // `$${` / `%%{` are already escapes; keep them literal.
            i += 3;
            continue;
        }
        if (c == b'$' || c == b'%') && next == Some(b'{') {
            if let Some(end) = template_sequence_end(bytes, i + 2) {
                out.push_str(&escape_literal_chars(&s[literal_start..i]));
                template_sequence(&mut out, &s[i..end]);
                i = end;
                literal_start = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&escape_literal_chars(&s[literal_start..]));
    out
}

/// Writes `${ x }` / `%{ if x }` as terraform fmt does: no spaces inside the delimiters
/// (strip markers `~` kept).
fn template_sequence(out: &mut String, seq: &str) {
    let (opener, inner) = seq.split_at(2);
    let inner = &inner[..inner.len() - 1];
    let (left, inner) = match inner.trim_start().strip_prefix('~') {
        Some(rest) => ("~", rest),
        None => ("", inner),
    };
    let (inner, right) = match inner.trim_end().strip_suffix('~') {
        Some(rest) => (rest, "~"),
        None => (inner, ""),
    };
    out.push_str(opener);
    out.push_str(left);
    out.push_str(inner.trim());
    out.push_str(right);
    out.push('}');
}

/// Index just past the `}` closing a template sequence whose body starts at `start`.
fn template_sequence_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' if depth == 0 => return Some(i + 1),
                b'}' => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn escape_literal_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}
