//! hcl-edit's parser, read into our [`Expr`] model: templates given as source text, and (in
//! tests) generated files read back to compare with what was written.

use super::expr::{BinOp, Expr, For, Op, Part, UnaryOp};
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::template::{Element, Template};

/// A template's source text (what goes between the quotes) as parts.
pub fn template(src: &str) -> Result<Expr, String> {
    let parsed = hcl_edit::parser::parse_template(src).map_err(|e| e.to_string())?;
    Ok(Expr::Template(parts(&parsed)?))
}

/// One expression's source text as an [`Expr`].
pub fn expr(src: &str) -> Result<Expr, String> {
    let parsed = hcl_edit::parser::parse_expr(src).map_err(|e| e.to_string())?;
    from_edit(&parsed)
}

fn parts(t: &Template) -> Result<Vec<Part>, String> {
    t.iter()
        .map(|element| match element {
            Element::Literal(s) => Ok(Part::Lit(s.value().clone())),
            Element::Interpolation(i) => Ok(Part::Interp(from_edit(&i.expr)?)),
            Element::Directive(_) => Err("template directives are not modelled".to_owned()),
        })
        .collect()
}

/// hcl-edit's expression tree as ours.
pub fn from_edit(e: &Expression) -> Result<Expr, String> {
    Ok(match e {
        Expression::Null(_) => Expr::Null,
        Expression::Bool(b) => Expr::Bool(*b.value()),
        Expression::Number(n) => Expr::Number(n.value().to_string()),
        Expression::String(s) => Expr::Str(s.value().clone()),
        Expression::Array(a) => Expr::List(a.iter().map(from_edit).collect::<Result<_, _>>()?),
        Expression::Object(o) => {
            let mut pairs = Vec::new();
            for (k, v) in o.iter() {
                let key = match k {
                    ObjectKey::Ident(i) => i.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(other) => {
                        return Err(format!("object key {other} is not a name or string"))
                    }
                };
                pairs.push((key, from_edit(v.expr())?));
            }
            Expr::Object(pairs)
        }
        Expression::StringTemplate(t) => Expr::Template(parts(t)?),
        Expression::HeredocTemplate(_) => return Err("heredocs are not modelled".to_owned()),
        Expression::Parenthesis(p) => Expr::Parens(Box::new(from_edit(p.inner())?)),
        Expression::Variable(v) => Expr::Ident(v.as_str().to_owned()),
        Expression::Conditional(c) => Expr::cond(
            from_edit(&c.cond_expr)?,
            from_edit(&c.true_expr)?,
            from_edit(&c.false_expr)?,
        ),
        Expression::FuncCall(f) => {
            if !f.name.namespace.is_empty() || f.args.expand_final() {
                return Err(format!("function call {e} is not modelled"));
            }
            Expr::Call(
                f.name.name.as_str().to_owned(),
                f.args.iter().map(from_edit).collect::<Result<_, _>>()?,
            )
        }
        Expression::Traversal(t) => {
            let mut ops = Vec::new();
            for op in &t.operators {
                ops.push(match op.value() {
                    TraversalOperator::GetAttr(name) => Op::Attr(name.as_str().to_owned()),
                    TraversalOperator::Index(i) => Op::Index(from_edit(i)?),
                    TraversalOperator::LegacyIndex(n) => Op::Index(Expr::num(n.value())),
                    TraversalOperator::FullSplat(_) => Op::Splat,
                    TraversalOperator::AttrSplat(_) => {
                        return Err(format!("attribute splat in {e} is not modelled"))
                    }
                });
            }
            Expr::Traversal(Box::new(from_edit(&t.expr)?), ops)
        }
        Expression::UnaryOp(u) => {
            let op = match u.operator.value() {
                UnaryOperator::Not => UnaryOp::Not,
                UnaryOperator::Neg => UnaryOp::Neg,
            };
            Expr::Unary(op, Box::new(from_edit(&u.expr)?))
        }
        Expression::BinaryOp(b) => {
            let op = match b.operator.value() {
                BinaryOperator::Or => BinOp::Or,
                BinaryOperator::And => BinOp::And,
                BinaryOperator::Eq => BinOp::Eq,
                BinaryOperator::NotEq => BinOp::NotEq,
                BinaryOperator::Less => BinOp::Less,
                BinaryOperator::LessEq => BinOp::LessEq,
                BinaryOperator::Greater => BinOp::Greater,
                BinaryOperator::GreaterEq => BinOp::GreaterEq,
                BinaryOperator::Plus => BinOp::Plus,
                BinaryOperator::Minus => BinOp::Minus,
                BinaryOperator::Mul => BinOp::Mul,
                BinaryOperator::Div => BinOp::Div,
                BinaryOperator::Mod => BinOp::Mod,
            };
            Expr::Binary(
                Box::new(from_edit(&b.lhs_expr)?),
                op,
                Box::new(from_edit(&b.rhs_expr)?),
            )
        }
        Expression::ForExpr(f) => {
            if f.grouping {
                return Err(format!("grouping for expression {e} is not modelled"));
            }
            Expr::For(Box::new(For {
                key_var: f.intro.key_var.as_ref().map(|k| k.as_str().to_owned()),
                value_var: f.intro.value_var.as_str().to_owned(),
                collection: from_edit(&f.intro.collection_expr)?,
                key: f.key_expr.as_ref().map(from_edit).transpose()?,
                value: from_edit(&f.value_expr)?,
                cond: f.cond.as_ref().map(|c| from_edit(&c.expr)).transpose()?,
            }))
        }
    })
}
