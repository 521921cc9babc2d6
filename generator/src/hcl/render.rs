//! Writes documents as unindented HCL text; [`super::format`] then indents and aligns it.
//!
//! Splitting the two jobs keeps layout decisions (what goes on which line) here and the
//! `terraform fmt` rules (indent by bracket depth, `=` alignment) in one place.

use super::block::{Block, Body, BodyItem, DocItem, Document};
use super::expr::{Expr, For, Op, Part, UnaryOp};
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
/// objects as `{ a = 1, b = 2 }`.
pub fn expr_inline(e: &Expr) -> String {
    let mut out = String::new();
    Writer { one_line: true }.expr(&mut out, e);
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
    body(out, &b.body);
    out.push_str("}\n");
}

fn body(out: &mut String, body: &Body) {
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
                match value {
                    // An attribute that is one interpolation: terraform fmt writes `"${x}"` as `x`.
                    Expr::Template(parts) if matches!(parts.as_slice(), [Part::Interp(_)]) => {
                        let [Part::Interp(inner)] = parts.as_slice() else {
                            unreachable!()
                        };
                        expr(out, inner);
                    }
                    _ => expr(out, value),
                }
                out.push('\n');
            }
            BodyItem::Block(b) => block(out, b),
            BodyItem::Comment(text) => comment(out, text),
            BodyItem::Blank => {}
        }
    }
}

fn expr(out: &mut String, e: &Expr) {
    Writer { one_line: false }.expr(out, e);
}

/// Binding strength of an expression's outermost operator (higher binds tighter).
fn precedence(e: &Expr) -> u8 {
    match e {
        Expr::Conditional(..) => 0,
        Expr::Binary(_, op, _) => op.precedence(),
        Expr::Unary(..) => 7,
        // `Raw` text is not inspected: treat it as loosest, so it is parenthesised as an operand.
        Expr::Raw(_) => 0,
        _ => 8,
    }
}

/// Writes unindented HCL; [`format`] indents it. `one_line` writes objects inline (docs).
#[derive(Clone, Copy)]
struct Writer {
    one_line: bool,
}

impl Writer {
    fn text(self, e: &Expr) -> String {
        let mut out = String::new();
        self.expr(&mut out, e);
        out
    }

    /// The single-line form's length, or `None` when the expression needs several lines.
    fn inline_len(self, e: &Expr) -> Option<usize> {
        let text = self.text(e);
        (!text.contains('\n')).then_some(text.len())
    }

    fn operand(self, out: &mut String, e: &Expr, parens: bool) {
        if parens {
            out.push('(');
            self.expr(out, e);
            out.push(')');
        } else {
            self.expr(out, e);
        }
    }

    fn expr(self, out: &mut String, e: &Expr) {
        match e {
            Expr::Null => out.push_str("null"),
            Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Expr::Number(n) if n.trim().is_empty() => out.push_str("null"),
            Expr::Number(n) => out.push_str(n.trim()),
            Expr::Str(s) => out.push_str(&quote_literal(s)),
            Expr::Template(parts) => self.template(out, parts),
            Expr::Ident(name) => out.push_str(name),
            Expr::Traversal(root, ops) => {
                self.operand(out, root, precedence(root) < 8);
                for op in ops {
                    match op {
                        Op::Attr(name) => {
                            out.push('.');
                            out.push_str(name);
                        }
                        Op::Index(i) => {
                            out.push('[');
                            self.expr(out, i);
                            out.push(']');
                        }
                        Op::Splat => out.push_str("[*]"),
                    }
                }
            }
            Expr::Raw(s) => out.push_str(s.trim()),
            Expr::List(items) => self.list(out, items),
            Expr::Object(pairs) => self.object(out, pairs),
            Expr::Call(name, args) => {
                out.push_str(name);
                out.push('(');
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.expr(out, arg);
                }
                out.push(')');
            }
            Expr::Unary(op, inner) => {
                out.push_str(match op {
                    UnaryOp::Not => "!",
                    UnaryOp::Neg => "-",
                });
                self.operand(out, inner, precedence(inner) < 7);
            }
            Expr::Binary(l, op, r) => {
                let p = op.precedence();
                self.operand(out, l, precedence(l) < p);
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                self.operand(out, r, precedence(r) <= p);
            }
            Expr::Conditional(c, t, f) => {
                self.operand(out, c, precedence(c) == 0);
                out.push_str(" ? ");
                self.operand(out, t, precedence(t) == 0);
                out.push_str(" : ");
                self.expr(out, f);
            }
            Expr::Parens(inner) => self.operand(out, inner, true),
            Expr::For(f) => self.for_expr(out, f),
        }
    }

    fn template(self, out: &mut String, parts: &[Part]) {
        out.push('"');
        for part in parts {
            match part {
                Part::Lit(s) => {
                    let q = quote_literal(s);
                    out.push_str(&q[1..q.len() - 1]);
                }
                Part::Interp(e) => {
                    out.push_str("${");
                    self.expr(out, e);
                    out.push('}');
                }
            }
        }
        out.push('"');
    }

    fn for_expr(self, out: &mut String, f: &For) {
        let mut intro = String::from("for ");
        if let Some(k) = &f.key_var {
            intro.push_str(k);
            intro.push_str(", ");
        }
        intro.push_str(&f.value_var);
        intro.push_str(" in ");
        self.expr(&mut intro, &f.collection);
        intro.push_str(" : ");
        if let Some(key) = &f.key {
            self.expr(&mut intro, key);
            intro.push_str(" => ");
        }
        self.expr(&mut intro, &f.value);
        if let Some(c) = &f.cond {
            intro.push_str(" if ");
            self.expr(&mut intro, c);
        }
        match (&f.key, intro.contains('\n') && !self.one_line) {
            (None, _) => {
                out.push('[');
                out.push_str(&intro);
                out.push(']');
            }
            (Some(_), false) => {
                out.push_str("{ ");
                out.push_str(&intro);
                out.push_str(" }");
            }
            (Some(_), true) => {
                out.push_str("{\n");
                out.push_str(&intro);
                out.push_str("\n}");
            }
        }
    }

    fn list(self, out: &mut String, items: &[Expr]) {
        if items.is_empty() {
            out.push_str("[]");
            return;
        }
        if self.one_line || self.list_inline_len(items).is_some() {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.expr(out, item);
            }
            out.push(']');
            return;
        }
        out.push_str("[\n");
        for item in items {
            self.expr(out, item);
            out.push_str(",\n");
        }
        out.push(']');
    }

    fn list_inline_len(self, items: &[Expr]) -> Option<usize> {
        let mut len = 2;
        for (i, item) in items.iter().enumerate() {
            len += self.inline_len(item)? + if i > 0 { 2 } else { 0 };
        }
        (len <= INLINE_LIST_MAX).then_some(len)
    }

    fn object(self, out: &mut String, pairs: &[(String, Expr)]) {
        if pairs.is_empty() {
            out.push_str("{}");
            return;
        }
        if self.one_line {
            out.push_str("{ ");
            for (i, (key, value)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                object_key(out, key);
                out.push_str(" = ");
                self.expr(out, value);
            }
            out.push_str(" }");
            return;
        }
        out.push_str("{\n");
        for (key, value) in pairs {
            object_key(out, key);
            out.push_str(" = ");
            self.expr(out, value);
            out.push('\n');
        }
        out.push('}');
    }
}

fn quoted(out: &mut String, escaped: &str) {
    out.push('"');
    out.push_str(escaped);
    out.push('"');
}

/// A literal string, quoted and escaped by hcl-edit's encoder: `"`, `\`, control characters,
/// and `${` / `%{` (as `$${` / `%%{`).
pub fn quote_literal(s: &str) -> String {
    hcl_edit::expr::Expression::from(s).to_string()
}

fn object_key(out: &mut String, key: &str) {
    if is_identifier(key) && !matches!(key, "null" | "true" | "false" | "for" | "if" | "in") {
        out.push_str(key);
    } else {
        out.push_str(&quote_literal(key));
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
