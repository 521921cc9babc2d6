//! Expressions as values: literals, references, calls, operators, conditionals, `for`
//! expressions and templates. The renderer decides layout; the variants only say what to write.

/// An HCL expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    /// Keeps the literal text, e.g. "30", "0.5".
    Number(String),
    /// A literal string: written quoted with `"`, `\`, control characters and the template
    /// introducers `${` / `%{` escaped, so Terraform reads back exactly this text.
    Str(String),
    /// A quoted template: literal parts and interpolations (`"${var.name_prefix}-logs"`).
    Template(Vec<Part>),
    /// A bare name: a variable root (`var`, `local`, `each`, a `for` variable) or a type keyword.
    Ident(String),
    /// `root.attr[index][*]...`
    Traversal(Box<Expr>, Vec<Op>),
    List(Vec<Expr>),
    /// Keys are quoted only when they are not identifiers.
    Object(Vec<(String, Expr)>),
    Call(String, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(Box<Expr>, BinOp, Box<Expr>),
    /// `cond ? then : else`
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<For>),
    /// Parentheses the author wants even where precedence does not need them.
    Parens(Box<Expr>),
    /// Expression text written as-is. Debug builds check that it parses as one HCL expression.
    Raw(String),
}

/// One part of a quoted template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text that reaches Terraform as-is (escaped when written).
    Lit(String),
    /// `${expr}`
    Interp(Expr),
}

/// A traversal step.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `.name`
    Attr(String),
    /// `[expr]`
    Index(Expr),
    /// `[*]`
    Splat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            BinOp::Less => "<",
            BinOp::LessEq => "<=",
            BinOp::Greater => ">",
            BinOp::GreaterEq => ">=",
            BinOp::Plus => "+",
            BinOp::Minus => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }

    /// HCL's binding strength (higher binds tighter).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::NotEq => 3,
            BinOp::Less | BinOp::LessEq | BinOp::Greater | BinOp::GreaterEq => 4,
            BinOp::Plus | BinOp::Minus => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 6,
        }
    }
}

/// `[for k, v in coll : value if cond]` or `{ for k, v in coll : key => value if cond }`.
#[derive(Debug, Clone, PartialEq)]
pub struct For {
    pub key_var: Option<String>,
    pub value_var: String,
    pub collection: Expr,
    /// `Some` for the object form.
    pub key: Option<Expr>,
    pub value: Expr,
    pub cond: Option<Expr>,
}

impl For {
    /// Adds `if cond`.
    pub fn filter(mut self, cond: impl Into<Expr>) -> For {
        self.cond = Some(cond.into());
        self
    }
}

impl From<For> for Expr {
    fn from(f: For) -> Expr {
        Expr::For(Box::new(f))
    }
}

/// `for` variables: `"e"` or `"k, v"`.
fn for_vars(vars: &str) -> (Option<String>, String) {
    let names: Vec<&str> = vars.split(',').map(str::trim).collect();
    for n in &names {
        assert!(super::is_identifier(n), "for variable {n:?}");
    }
    match names.as_slice() {
        [v] => (None, (*v).to_owned()),
        [k, v] => (Some((*k).to_owned()), (*v).to_owned()),
        _ => panic!("a for expression has one or two variables, not {vars:?}"),
    }
}

impl Expr {
    /// A literal string (never interpolates).
    pub fn str(s: impl Into<String>) -> Expr {
        Expr::Str(s.into())
    }

    /// A template from its source text, e.g. `"${var.name_prefix}-logs"` (without the quotes):
    /// parsed by hcl-edit into literal parts and interpolated expressions. Panics on text that
    /// is not a template (a generator bug).
    pub fn template(src: &str) -> Expr {
        super::parse::template(src).unwrap_or_else(|e| panic!("template {src:?}: {e}"))
    }

    /// A template from parts (empty literals dropped, adjacent ones joined).
    pub fn template_parts(parts: impl IntoIterator<Item = Part>) -> Expr {
        let mut out: Vec<Part> = Vec::new();
        for part in parts {
            match (out.last_mut(), part) {
                (_, Part::Lit(s)) if s.is_empty() => {}
                (Some(Part::Lit(prev)), Part::Lit(s)) => prev.push_str(&s),
                (_, part) => out.push(part),
            }
        }
        Expr::Template(out)
    }

    /// Expression text written as-is; debug builds panic unless hcl-edit parses it as one
    /// expression.
    pub fn raw(s: impl Into<String>) -> Expr {
        let s = s.into();
        #[cfg(debug_assertions)]
        if let Err(e) = hcl_edit::parser::parse_expr(&s) {
            panic!("raw HCL expression {s:?} does not parse: {e}");
        }
        Expr::Raw(s)
    }

    pub fn num(n: impl std::fmt::Display) -> Expr {
        Expr::Number(n.to_string())
    }

    /// A bare name: `string`, `each`, a `for` variable.
    pub fn ident(name: impl Into<String>) -> Expr {
        let name = name.into();
        assert!(super::is_identifier(&name), "identifier {name:?}");
        Expr::Ident(name)
    }

    /// `var.<name>`
    pub fn var(name: &str) -> Expr {
        Expr::ident("var").attr(name)
    }

    /// `local.<name>`
    pub fn local(name: &str) -> Expr {
        Expr::ident("local").attr(name)
    }

    /// A reference by its path: `aws_s3_bucket.logs.arn`, `module.kms[0].key_arn`,
    /// `module.kms[*].alias_name`. Only names, numeric indexes and `[*]`; panics on anything else.
    pub fn reference(path: &str) -> Expr {
        let bad = || -> ! { panic!("reference {path:?}: names, [n] and [*] only") };
        let mut segments = path.split('.');
        let mut steps = Vec::new();
        let first = segments.next().unwrap_or_else(|| bad());
        let push = |segment: &str, steps: &mut Vec<Op>, root: bool| -> Option<String> {
            let (name, rest) = segment.split_once('[').unwrap_or((segment, ""));
            if !super::is_identifier(name) {
                bad();
            }
            let mut out = None;
            if root {
                out = Some(name.to_owned());
            } else {
                steps.push(Op::Attr(name.to_owned()));
            }
            let mut rest = rest;
            while !rest.is_empty() {
                let (inner, after) = rest.split_once(']').unwrap_or_else(|| bad());
                steps.push(match inner {
                    "*" => Op::Splat,
                    n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                        Op::Index(Expr::num(n))
                    }
                    _ => bad(),
                });
                rest = match after.strip_prefix('[') {
                    Some(r) => r,
                    None if after.is_empty() => "",
                    None => bad(),
                };
            }
            out
        };
        let root = push(first, &mut steps, true).unwrap_or_else(|| bad());
        for segment in segments {
            push(segment, &mut steps, false);
        }
        Expr::Ident(root).traverse(steps)
    }

    fn traverse(self, steps: impl IntoIterator<Item = Op>) -> Expr {
        let mut steps: Vec<Op> = steps.into_iter().collect();
        if steps.is_empty() {
            return self;
        }
        match self {
            Expr::Traversal(root, mut ops) => {
                ops.append(&mut steps);
                Expr::Traversal(root, ops)
            }
            other => Expr::Traversal(Box::new(other), steps),
        }
    }

    /// `self.name`
    pub fn attr(self, name: &str) -> Expr {
        assert!(super::is_identifier(name), "attribute name {name:?}");
        self.traverse([Op::Attr(name.to_owned())])
    }

    /// `self[index]`
    pub fn index(self, index: impl Into<Expr>) -> Expr {
        self.traverse([Op::Index(index.into())])
    }

    /// `self[*]`
    pub fn splat(self) -> Expr {
        self.traverse([Op::Splat])
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

    /// `cond ? then : otherwise`
    pub fn cond(cond: impl Into<Expr>, then: impl Into<Expr>, otherwise: impl Into<Expr>) -> Expr {
        Expr::Conditional(
            Box::new(cond.into()),
            Box::new(then.into()),
            Box::new(otherwise.into()),
        )
    }

    /// `[for vars in collection : value]`; `vars` is `"x"` or `"k, v"`.
    pub fn for_list(vars: &str, collection: impl Into<Expr>, value: impl Into<Expr>) -> For {
        let (key_var, value_var) = for_vars(vars);
        For {
            key_var,
            value_var,
            collection: collection.into(),
            key: None,
            value: value.into(),
            cond: None,
        }
    }

    /// `{ for vars in collection : key => value }`; `vars` is `"x"` or `"k, v"`.
    pub fn for_object(
        vars: &str,
        collection: impl Into<Expr>,
        key: impl Into<Expr>,
        value: impl Into<Expr>,
    ) -> For {
        For {
            key: Some(key.into()),
            ..Expr::for_list(vars, collection, value)
        }
    }

    pub fn parens(inner: impl Into<Expr>) -> Expr {
        Expr::Parens(Box::new(inner.into()))
    }

    pub fn binary(self, op: BinOp, rhs: impl Into<Expr>) -> Expr {
        Expr::Binary(Box::new(self), op, Box::new(rhs.into()))
    }

    pub fn eq(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Eq, rhs)
    }

    pub fn ne(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::NotEq, rhs)
    }

    pub fn and(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::And, rhs)
    }

    pub fn or(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Or, rhs)
    }

    pub fn lt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Less, rhs)
    }

    pub fn le(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::LessEq, rhs)
    }

    pub fn gt(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::Greater, rhs)
    }

    pub fn ge(self, rhs: impl Into<Expr>) -> Expr {
        self.binary(BinOp::GreaterEq, rhs)
    }

    /// Every `Raw` fragment inside this expression (to check them all in tests).
    pub fn raw_fragments<'a>(&'a self, out: &mut Vec<&'a str>) {
        let mut visit = |e: &'a Expr| e.raw_fragments(out);
        match self {
            Expr::Raw(s) => out.push(s),
            Expr::Null | Expr::Bool(_) | Expr::Number(_) | Expr::Str(_) | Expr::Ident(_) => {}
            Expr::Template(parts) => parts.iter().for_each(|p| {
                if let Part::Interp(e) = p {
                    visit(e)
                }
            }),
            Expr::Traversal(root, ops) => {
                visit(root);
                for op in ops {
                    if let Op::Index(e) = op {
                        visit(e);
                    }
                }
            }
            Expr::List(items) | Expr::Call(_, items) => items.iter().for_each(visit),
            Expr::Object(pairs) => pairs.iter().for_each(|(_, v)| visit(v)),
            Expr::Unary(_, e) | Expr::Parens(e) => visit(e),
            Expr::Binary(l, _, r) => {
                visit(l);
                visit(r);
            }
            Expr::Conditional(c, t, f) => {
                visit(c);
                visit(t);
                visit(f);
            }
            Expr::For(f) => {
                visit(&f.collection);
                if let Some(k) = &f.key {
                    visit(k);
                }
                visit(&f.value);
                if let Some(c) = &f.cond {
                    visit(c);
                }
            }
        }
    }
}

/// `!expr`
impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Unary(UnaryOp::Not, Box::new(self))
    }
}

/// Plain strings are literals: `"a${b}"` is the text `a${b}`, written `"a$${b}"`.
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
