//! The `terraform fmt` pass: indentation by bracket depth and `=` alignment, following the
//! rules of hclwrite's formatter (which `terraform fmt` uses), line by line:
//!
//! - a line's indent is two spaces per entry on a stack of lines that opened brackets
//!   (`{ [ ( ${ %{`); a line that closes more than it opens pops first;
//! - an attribute line (`key = value` whose value opens and closes on the line) joins a run
//!   with its neighbours; runs pad `=` to the longest key + 1; any other line (blank,
//!   comment, block header, bracket line) ends the run.
//!
//! The renderer writes no heredocs, so none are recognised here.

struct Line<'a> {
    /// The line without leading/trailing whitespace.
    head: &'a str,
    /// Net bracket change.
    net: i32,
    /// Byte offset in `head` of an `=` that splits key from a single-line value.
    assign: Option<usize>,
}

pub fn format(text: &str) -> String {
    let lines = split(text);
    let indents = indent_levels(&lines);
    let pads = alignment(&lines, &indents);
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for ((line, indent), pad) in lines.iter().zip(&indents).zip(&pads) {
        if line.head.is_empty() {
            out.push('\n');
            continue;
        }
        push_spaces(&mut out, *indent);
        match (line.assign, pad) {
            (Some(eq), Some(pad)) => {
                out.push_str(line.head[..eq].trim_end());
                push_spaces(&mut out, *pad);
                out.push_str(&line.head[eq..]);
            }
            _ => out.push_str(line.head),
        }
        out.push('\n');
    }
    // Exactly one trailing newline, no leading blank lines.
    let trimmed = out.trim_end_matches('\n').trim_start_matches('\n');
    if trimmed.is_empty() {
        return String::new();
    }
    let mut result = trimmed.to_owned();
    result.push('\n');
    result
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Indent (in spaces) of every line, with hclwrite's indent stack.
fn indent_levels(lines: &[Line<'_>]) -> Vec<usize> {
    let mut stack: Vec<i32> = Vec::new();
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.head.is_empty() {
            out.push(0);
            continue;
        }
        match line.net {
            n if n > 0 => {
                out.push(2 * stack.len());
                stack.push(n);
            }
            n if n < 0 => {
                let mut closed = -n;
                while closed > 0 {
                    let Some(top) = stack.last_mut() else { break };
                    if closed >= *top {
                        closed -= *top;
                        stack.pop();
                    } else {
                        *top -= closed;
                        closed = 0;
                    }
                }
                out.push(2 * stack.len());
            }
            _ => out.push(2 * stack.len()),
        }
    }
    out
}

/// Spaces before `=` for lines in an alignment run (`None` for lines outside runs).
fn alignment(lines: &[Line<'_>], indents: &[usize]) -> Vec<Option<usize>> {
    let mut pads = vec![None; lines.len()];
    let width = |i: usize| -> Option<usize> {
        let eq = lines[i].assign?;
        Some(indents[i] + lines[i].head[..eq].trim_end().chars().count())
    };
    let mut i = 0;
    while i < lines.len() {
        if width(i).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && width(i).is_some() {
            i += 1;
        }
        let max = (start..i).filter_map(width).max().unwrap_or(0);
        for (j, pad) in pads.iter_mut().enumerate().take(i).skip(start) {
            *pad = width(j).map(|w| max - w + 1);
        }
    }
    pads
}

/// Splits text into lines, scanning just enough HCL syntax to count brackets: strings (with
/// nested interpolations) and comments.
fn split(text: &str) -> Vec<Line<'_>> {
    text.split('\n')
        .map(|raw| {
            let head = raw.trim_end_matches('\r').trim();
            let scan = scan_line(head);
            Line {
                head,
                net: scan.net,
                assign: scan.assign,
            }
        })
        .collect()
}

struct Scan {
    net: i32,
    assign: Option<usize>,
}

enum Ctx {
    /// Expression context; counts `{` so the `}` closing an interpolation is recognised.
    Expr {
        braces: usize,
    },
    Quoted,
}

fn scan_line(line: &str) -> Scan {
    let b = line.as_bytes();
    let mut stack = vec![Ctx::Expr { braces: 0 }];
    let mut net = 0i32;
    let mut first_eq: Option<(usize, i32)> = None;
    let mut seen_token = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match stack.last_mut() {
            Some(Ctx::Quoted) => match c {
                b'\\' => i += 1,
                b'$' | b'%' if next == Some(c) && b.get(i + 2) == Some(&b'{') => i += 2,
                b'$' | b'%' if next == Some(b'{') => {
                    stack.push(Ctx::Expr { braces: 0 });
                    net += 1;
                    i += 1;
                }
                b'"' => {
                    stack.pop();
                }
                _ => {}
            },
            Some(Ctx::Expr { braces }) => match c {
                b' ' | b'\t' => {}
                b'#' => break,
                b'/' if next == Some(b'/') => break,
                b'/' if next == Some(b'*') => match line[i + 2..].find("*/") {
                    Some(end) => i += end + 3,
                    None => break,
                },
                b'"' => stack.push(Ctx::Quoted),
                b'{' => {
                    *braces += 1;
                    net += 1;
                }
                b'}' => {
                    if *braces == 0 {
                        if stack.len() > 1 {
                            stack.pop();
                        }
                    } else {
                        *braces -= 1;
                    }
                    net -= 1;
                }
                b'(' | b'[' => net += 1,
                b')' | b']' => net -= 1,
                b'=' | b'!' | b'<' | b'>' if next == Some(b'=') => i += 1,
                b'=' if next == Some(b'>') => i += 1,
                b'=' if seen_token && first_eq.is_none() => first_eq = Some((i, net)),
                _ => {}
            },
            None => break,
        }
        if !matches!(c, b' ' | b'\t') {
            seen_token = true;
        }
        i += 1;
    }
    // hclwrite only splits at the first `=`, and only when the rest of the line is balanced.
    let assign = first_eq.and_then(|(pos, before)| (net - before == 0).then_some(pos));
    Scan { net, assign }
}
