//! Expressions: the right-hand side of attributes, object values, call arguments.

/// An HCL expression. The renderer decides layout; the variants only say what to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    /// Keeps the literal text, e.g. "30", "0.5".
    Number(String),
    /// A quoted template: `"`, `\` and control characters are escaped; `${...}` and `%{...}`
    /// pass through as interpolation. Use [`Expr::literal_str`] for text that must stay literal.
    Str(String),
    /// Any expression text written as-is: references, conditionals, for-expressions.
    Raw(String),
    List(Vec<Expr>),
    /// Keys are quoted only when they are not identifiers.
    Object(Vec<(String, Expr)>),
    Call(String, Vec<Expr>),
    /// `<<MARKER` (or `<<-MARKER` when `indent`); the text is written verbatim.
    Heredoc {
        marker: String,
        text: String,
        indent: bool,
    },
}

impl Expr {
    /// A quoted template; `${...}` interpolates.
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Str(s.into())
    }

    /// A quoted string whose `${` and `%{` are escaped, so the text reaches Terraform unchanged.
    pub fn literal_str(s: impl AsRef<str>) -> Expr {
        Expr::Str(escape_template_sequences(s.as_ref()))
    }

    pub fn raw(s: impl Into<String>) -> Expr {
        Expr::Raw(s.into())
    }

    pub fn num(n: impl std::fmt::Display) -> Expr {
        Expr::Number(n.to_string())
    }

    pub fn list<I, E>(items: I) -> Expr
    where
        I: IntoIterator<Item = E>,
        E: Into<Expr>,
    {
        Expr::List(items.into_iter().map(Into::into).collect())
    }

    pub fn object<I, K, V>(pairs: I) -> Expr
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Expr>,
    {
        Expr::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn call<I, E>(name: impl Into<String>, args: I) -> Expr
    where
        I: IntoIterator<Item = E>,
        E: Into<Expr>,
    {
        Expr::Call(name.into(), args.into_iter().map(Into::into).collect())
    }

    /// An indented heredoc (`<<-MARKER`): content is indented to the block, Terraform strips it.
    pub fn heredoc(marker: impl Into<String>, text: impl Into<String>) -> Expr {
        Expr::Heredoc {
            marker: marker.into(),
            text: text.into(),
            indent: true,
        }
    }
}

/// `${` -> `$${` and `%{` -> `%%{`: HCL's escapes for literal template introducers.
pub fn escape_template_sequences(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if (c == '$' || c == '%') && chars.peek() == Some(&'{') {
            out.push(c);
        }
    }
    out
}

impl From<&str> for Expr {
    fn from(s: &str) -> Self {
        Expr::Str(s.to_owned())
    }
}

impl From<String> for Expr {
    fn from(s: String) -> Self {
        Expr::Str(s)
    }
}

impl From<&String> for Expr {
    fn from(s: &String) -> Self {
        Expr::Str(s.clone())
    }
}

impl From<bool> for Expr {
    fn from(b: bool) -> Self {
        Expr::Bool(b)
    }
}

impl From<i64> for Expr {
    fn from(n: i64) -> Self {
        Expr::num(n)
    }
}

impl From<i32> for Expr {
    fn from(n: i32) -> Self {
        Expr::num(n)
    }
}

impl From<u32> for Expr {
    fn from(n: u32) -> Self {
        Expr::num(n)
    }
}

impl From<u64> for Expr {
    fn from(n: u64) -> Self {
        Expr::num(n)
    }
}

impl From<usize> for Expr {
    fn from(n: usize) -> Self {
        Expr::num(n)
    }
}

/// Non-finite floats have no HCL literal; they become `null` rather than invalid HCL.
impl From<f64> for Expr {
    fn from(n: f64) -> Self {
        if n.is_finite() {
            Expr::num(n)
        } else {
            Expr::Null
        }
    }
}

impl<T: Into<Expr>> From<Option<T>> for Expr {
    fn from(v: Option<T>) -> Self {
        v.map_or(Expr::Null, Into::into)
    }
}

impl From<Vec<Expr>> for Expr {
    fn from(items: Vec<Expr>) -> Self {
        Expr::List(items)
    }
}
