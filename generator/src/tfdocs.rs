//! The module README's reference section exactly as `terraform-docs markdown table` writes it
//! with its default settings (terraform-docs v0.20: sort by name, anchors, escaping, HTML,
//! Required column, `--lockfile` with no `.terraform.lock.hcl` beside the module, the
//! `<!-- BEGIN_TF_DOCS -->` / `<!-- END_TF_DOCS -->` inject template), so a user's own
//! terraform-docs hook leaves it as it is. Anything else in the README goes outside the markers.
//!
//! What terraform-docs does, and this follows (its `format/templates/markdown_table_*.tmpl`,
//! `template/sanitizer.go`, `template/anchor.go`, `terraform/load.go`):
//! - Sections Requirements, Providers, Modules, Resources, Inputs, Outputs, each `## Name`, a
//!   blank line, then the table or `No <section>.`; one blank line between sections. The header
//!   comes from a `/** */` comment in main.tf (ours are `#` comments: no header).
//! - Names: `<a name="input_x_y"></a> [x\_y](#input\_x\_y)`: `_` escaped in the link text and
//!   target, not in the anchor name. Inputs and outputs sorted by name (byte order).
//! - Description: `n/a` when empty; `|` escaped and `_` escaped outside backtick spans (except a
//!   run opening a line before whitespace, or an emphasis pair ` _x_ `); line breaks `<br/>`;
//!   URLs unescaped again; a fenced block becomes `<pre>` with `<br/>` lines.
//! - Type: the type expression's source text as in variables.tf; default: the value as JSON
//!   (two-space indent, keys sorted, no HTML escaping), `n/a` for a required input. A one-line
//!   text is a code span, a multi-line one `<pre>` with `<br/>` lines.
//! - Required `yes`/`no`; Providers: those the module's resources use, with the
//!   `required_providers` constraint; Resources: managed first then data sources, each sorted by
//!   `<type>.<name>`, linked to the registry page (`latest` unless the constraint is `= x`).

use crate::hcl::{block_text, parse, Block, Expr, UnaryOp};
use crate::module::common::{MIN_AWS, MIN_TERRAFORM};

pub const BEGIN: &str = "<!-- BEGIN_TF_DOCS -->";
pub const END: &str = "<!-- END_TF_DOCS -->";

/// The markers and what terraform-docs writes between them, for a module made of `blocks`
/// (its main.tf, variables.tf and outputs.tf blocks; `versions.tf` is `common::versions`).
pub fn section(blocks: &[&Block]) -> String {
    let sections = [
        requirements(),
        providers(blocks),
        modules(blocks),
        resources(blocks),
        inputs(blocks),
        outputs(blocks),
    ];
    format!("{BEGIN}\n{}\n{END}\n", sections.join("\n\n"))
}

fn table(title: &str, header: &str, rows: Vec<String>, empty: &str) -> String {
    if rows.is_empty() {
        return format!("## {title}\n\n{empty}");
    }
    format!("## {title}\n\n{header}\n{}", rows.join("\n"))
}

/// `<a name="prefix_value"></a> [value](#prefix\_value)`
pub fn anchor(prefix: &str, value: &str) -> String {
    let name = format!("{prefix}_{value}");
    format!(
        "<a name=\"{name}\"></a> [{}](#{})",
        value.replace('_', "\\_"),
        name.replace('_', "\\_")
    )
}

fn requirements() -> String {
    table(
        "Requirements",
        "| Name | Version |\n| ---- | ------- |",
        vec![
            format!(
                "| {} | {MIN_TERRAFORM} |",
                anchor("requirement", "terraform")
            ),
            format!("| {} | {MIN_AWS} |", anchor("requirement", "aws")),
        ],
        "No requirements.",
    )
}

/// Managed resources and data sources as (mode, type, name).
fn resource_blocks<'a>(blocks: &'a [&'a Block]) -> Vec<(&'a str, &'a str, &'a str)> {
    blocks
        .iter()
        .filter(|b| matches!(b.kind.as_str(), "resource" | "data") && b.labels.len() == 2)
        .map(|b| (b.kind.as_str(), b.labels[0].as_str(), b.labels[1].as_str()))
        .collect()
}

/// The provider of a resource type: its name up to the first `_` (`aws_s3_bucket` → `aws`).
fn provider_of(ty: &str) -> &str {
    ty.split_once('_').map_or(ty, |(p, _)| p)
}

fn constraint(provider: &str) -> &'static str {
    match provider {
        "aws" => MIN_AWS,
        other => panic!("provider {other} has no required_providers entry"),
    }
}

fn providers(blocks: &[&Block]) -> String {
    let mut names: Vec<&str> = resource_blocks(blocks)
        .iter()
        .map(|(_, ty, _)| provider_of(ty))
        .collect();
    names.sort_unstable();
    names.dedup();
    table(
        "Providers",
        "| Name | Version |\n| ---- | ------- |",
        names
            .into_iter()
            .map(|p| format!("| {} | {} |", anchor("provider", p), constraint(p)))
            .collect(),
        "No providers.",
    )
}

fn string_attr(b: &Block, key: &str) -> String {
    match b.body.attr(key) {
        Some(Expr::Str(s)) => s.clone(),
        Some(other) => panic!("{key} of {:?} is not a literal: {other:?}", b.labels),
        None => String::new(),
    }
}

fn modules(blocks: &[&Block]) -> String {
    let mut calls: Vec<(&str, String, String)> = blocks
        .iter()
        .filter(|b| b.kind == "module")
        .map(|b| {
            (
                b.labels[0].as_str(),
                string_attr(b, "source"),
                string_attr(b, "version"),
            )
        })
        .collect();
    calls.sort();
    table(
        "Modules",
        "| Name | Source | Version |\n| ---- | ------ | ------- |",
        calls
            .into_iter()
            .map(|(name, source, version)| {
                let version = if version.is_empty() {
                    "n/a".to_owned()
                } else {
                    version
                };
                format!("| {} | {source} | {version} |", anchor("module", name))
            })
            .collect(),
        "No modules.",
    )
}

/// The registry's version segment for a constraint: an exact `= x` or `x`, else `latest`.
fn registry_version(constraint: &str) -> String {
    let parts: Vec<&str> = constraint.split(' ').collect();
    match parts.as_slice() {
        [one] if one.starts_with(|c: char| c.is_ascii_digit()) => (*one).to_owned(),
        [one] if one.starts_with('=') => one[1..].to_owned(),
        ["=", version] => (*version).to_owned(),
        _ => "latest".to_owned(),
    }
}

fn resources(blocks: &[&Block]) -> String {
    let mut found = resource_blocks(blocks);
    // Managed before data ("managed" > "data"), then by "<type>.<name>".
    found.sort_by(|a, b| {
        b.0.cmp(a.0)
            .then_with(|| format!("{}.{}", a.1, a.2).cmp(&format!("{}.{}", b.1, b.2)))
    });
    found.dedup();
    let rows = found
        .into_iter()
        .map(|(mode, ty, name)| {
            let provider = provider_of(ty);
            let short = ty.strip_prefix(&format!("{provider}_")).unwrap_or(ty);
            let (kind, shown) = if mode == "resource" {
                ("resources", "resource")
            } else {
                ("data-sources", "data source")
            };
            format!(
                "| [{ty}.{name}](https://registry.terraform.io/providers/hashicorp/{provider}/{}/docs/{kind}/{short}) | {shown} |",
                registry_version(constraint(provider))
            )
        })
        .collect();
    table(
        "Resources",
        "| Name | Type |\n| ---- | ---- |",
        rows,
        "No resources.",
    )
}

fn description(b: &Block) -> String {
    match b.body.attr("description") {
        Some(Expr::Str(s)) => s.clone(),
        Some(other) => panic!("description of {:?} is not a literal: {other:?}", b.labels),
        None => String::new(),
    }
}

fn sorted<'a>(blocks: &[&'a Block], kind: &str) -> Vec<&'a Block> {
    let mut out: Vec<&Block> = blocks.iter().copied().filter(|b| b.kind == kind).collect();
    out.sort_by(|a, b| a.labels[0].cmp(&b.labels[0]));
    out
}

fn inputs(blocks: &[&Block]) -> String {
    let rows = sorted(blocks, "variable")
        .into_iter()
        .map(|b| {
            let name = &b.labels[0];
            let default = b.body.attr("default");
            let value = default.map_or("n/a".to_owned(), |d| {
                sanitize_table(&fenced(&json(&to_json(d))))
            });
            format!(
                "| {} | {} | {} | {} | {} |",
                anchor("input", name),
                sanitize_table(&description(b)),
                sanitize_table(&fenced(&type_source(b))),
                value,
                if default.is_some() { "no" } else { "yes" }
            )
        })
        .collect();
    table(
        "Inputs",
        "| Name | Description | Type | Default | Required |\n| ---- | ----------- | ---- | ------- | :------: |",
        rows,
        "No inputs.",
    )
}

fn outputs(blocks: &[&Block]) -> String {
    let rows = sorted(blocks, "output")
        .into_iter()
        .map(|b| {
            format!(
                "| {} | {} |",
                anchor("output", &b.labels[0]),
                sanitize_table(&description(b))
            )
        })
        .collect();
    table(
        "Outputs",
        "| Name | Description |\n| ---- | ----------- |",
        rows,
        "No outputs.",
    )
}

/// The type expression's text as variables.tf has it (terraform-docs reads the source range).
fn type_source(b: &Block) -> String {
    if b.body.attr("type").is_none() {
        // terraform-docs' `TypeOf`: from the default's kind, else `any`.
        return match b.body.attr("default").map(to_json) {
            Some(serde_json::Value::String(_)) => "string",
            Some(serde_json::Value::Number(_)) => "number",
            Some(serde_json::Value::Bool(_)) => "bool",
            Some(serde_json::Value::Array(_)) => "list",
            Some(serde_json::Value::Object(_)) => "map",
            _ => "any",
        }
        .to_owned();
    }
    let text = block_text(b);
    let mut lines = text.lines().skip_while(|l| {
        !l.trim_start()
            .strip_prefix("type")
            .is_some_and(|r| r.trim_start().starts_with('='))
    });
    let first = lines.next().expect("the type attribute is rendered");
    let (_, value) = first.split_once('=').expect("an attribute line");
    let mut out = value.trim().to_owned();
    // A multi-line type continues with deeper lines and closes at the attribute's own depth.
    let mut depth = bracket_depth(&out);
    for line in lines {
        if depth <= 0 {
            break;
        }
        out.push('\n');
        out.push_str(line);
        depth += bracket_depth(line);
    }
    out
}

fn bracket_depth(s: &str) -> i32 {
    s.chars()
        .map(|c| match c {
            '(' | '{' | '[' => 1,
            ')' | '}' | ']' => -1,
            _ => 0,
        })
        .sum()
}

/// terraform-docs' `PrintFencedCodeBlock`: a code span, or a fenced block when multi-line.
fn fenced(code: &str) -> String {
    if code.contains('\n') {
        format!("\n\n```\n{code}\n```\n")
    } else {
        format!("`{code}`")
    }
}

/// A default value as the JSON terraform-docs prints (it reads defaults without their type).
pub fn to_json(e: &Expr) -> serde_json::Value {
    use serde_json::Value;
    match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Number(n) => number(n),
        Expr::Str(s) => Value::String(s.clone()),
        Expr::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Expr::Object(pairs) => {
            Value::Object(pairs.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Expr::Unary(UnaryOp::Neg, inner) => match to_json(inner) {
            Value::Number(n) => number(&format!("-{n}")),
            other => panic!("-{other} is no default"),
        },
        Expr::Raw(src) => to_json(&parse::expr(src).expect("raw expressions parse")),
        other => panic!("{other:?} is not a literal default"),
    }
}

fn number(text: &str) -> serde_json::Value {
    let f: f64 = text.parse().unwrap_or_else(|_| panic!("number {text:?}"));
    // Go's encoding/json writes floats in exponent form from 1e21; no default here is near that.
    assert!(f.abs() < 1e21, "number {text} would print in exponent form");
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

/// `json.Encoder` with two-space indent: serde_json's pretty form (keys sorted by its map).
fn json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON values serialise")
}

/// Go's `strings.Split` on `prefix`, the callbacks alternating between text outside and inside
/// the delimiters; an empty piece is dropped without switching (terraform-docs'
/// `processSegments`).
fn segments(
    s: &str,
    prefix: &str,
    outside: impl Fn(&str) -> String,
    inside: impl Fn(&str) -> String,
) -> String {
    let mut in_code = s.starts_with(prefix);
    let mut out = String::new();
    for piece in s.split(prefix) {
        if piece.is_empty() {
            continue;
        }
        out.push_str(&if in_code {
            inside(piece)
        } else {
            outside(piece)
        });
        in_code = !in_code;
    }
    out
}

/// terraform-docs' `SanitizeMarkdownTable` with escaping and HTML on (the defaults).
pub fn sanitize_table(s: &str) -> String {
    if s.is_empty() {
        return "n/a".to_owned();
    }
    segments(
        s,
        "```",
        |text| normalize_urls(&multi_line(&escape(text))),
        |code| {
            format!(
                "<pre>{}</pre>",
                code.trim().replace('\n', "<br/>").replace('\r', "")
            )
        },
    )
}

fn escape(s: &str) -> String {
    let piped = segments(s, "`", |t| t.replace('|', "\\|"), |c| format!("`{c}`"));
    segments(
        &piped,
        "`",
        |t| {
            t.split('\n')
                .map(escape_underscores)
                .collect::<Vec<_>>()
                .join("\n")
        },
        |c| format!("`{c}`"),
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')
}

/// `_` → `\_`, except a run opening the line before whitespace (`^\s*_+\s`) and the two runs of
/// an emphasis ` _x..y_ ` (`\s+(_+)[^\s_].*[^\s_](_+)\s+`, the `.*` greedy).
fn escape_underscores(line: &str) -> String {
    let b = line.as_bytes();
    let mut keep = vec![false; b.len()];
    let run = |from: usize| (from..b.len()).take_while(|&i| b[i] == b'_').count();
    let lead = b.iter().take_while(|&&c| is_space(c)).count();
    let n = run(lead);
    if n > 0 && b.get(lead + n).is_some_and(|&c| is_space(c)) {
        keep[lead..lead + n].iter_mut().for_each(|k| *k = true);
    }
    let mut pos = 0;
    'search: while pos < b.len() {
        // A whitespace run followed by underscores and a non-space, non-underscore byte.
        let Some(ws) = (pos..b.len()).find(|&i| is_space(b[i])) else {
            break;
        };
        let start = (ws..b.len()).find(|&i| !is_space(b[i])).unwrap_or(b.len());
        let open = run(start);
        let after = start + open;
        if open == 0 || after >= b.len() || is_space(b[after]) {
            pos = start.max(ws + 1);
            continue;
        }
        // The last `[^\s_](_+)\s` after `after`.
        for x in (after + 1..b.len()).rev() {
            if is_space(b[x]) || b[x] == b'_' {
                continue;
            }
            let close = run(x + 1);
            if close > 0 && b.get(x + 1 + close).is_some_and(|&c| is_space(c)) {
                keep[start..after].iter_mut().for_each(|k| *k = true);
                keep[x + 1..x + 1 + close]
                    .iter_mut()
                    .for_each(|k| *k = true);
                let end = (x + 1 + close..b.len())
                    .find(|&i| !is_space(b[i]))
                    .unwrap_or(b.len());
                pos = end;
                continue 'search;
            }
        }
        pos = after;
    }
    let mut out = String::with_capacity(line.len());
    for (i, ch) in line.char_indices() {
        if ch == '_' && !keep[i] {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// terraform-docs' `ConvertMultiLineText` for a table cell: trimmed; a break followed by a word
/// (`(\S*)(\r?\n)(\s*)(\w+)`) gets two spaces before it; then `"    \n"` → `"  \n"`,
/// `"  \n\n"` and `"\n  \n"` → `"\n\n"`, and `"  \n"` and `"\n"` → `<br/>`.
fn multi_line(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut marked = String::with_capacity(s.len() + 8);
    let mut i = 0;
    while i < b.len() {
        let nl = if b[i] == b'\n' {
            1
        } else if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
            2
        } else {
            0
        };
        if nl == 0 {
            let ch = s[i..].chars().next().expect("in bounds");
            marked.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let mut j = i + nl;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        if j < b.len() && word(b[j]) {
            let mut k = j;
            while k < b.len() && word(b[k]) {
                k += 1;
            }
            marked.push_str("  ");
            marked.push_str(&s[i..k]);
            i = k;
        } else {
            marked.push_str(&s[i..i + nl]);
            i += nl;
        }
    }
    marked
        .replace("    \n", "  \n")
        .replace("  \n\n", "\n\n")
        .replace("\n  \n", "\n\n")
        .replace("  \n", "<br/>")
        .replace('\n', "<br/>")
}

/// URLs lose the escapes `escape` put in them (xurls' strict matcher: a scheme and no spaces).
fn normalize_urls(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = ["https://", "http://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || c == '<' || c == '`')
            .map_or(rest.len(), |e| i + e);
        out.push_str(&rest[i..end].replace('\\', ""));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
