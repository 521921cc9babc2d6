//! A small HCL model: documents, blocks, attributes and expressions (references, calls,
//! operators, `for` expressions, literal strings and templates as values), rendered
//! `terraform fmt`-clean and byte-stable. Knows nothing about AWS.
//!
//! hcl-edit does the string escaping and parses template source and (in tests) every generated
//! file; layout (`terraform fmt` alignment, comments, blank lines) is ours.

mod block;
mod expr;
mod format;
pub mod parse;
mod render;

pub use block::{Block, Body, BodyItem, DocItem, Document};
pub use expr::{BinOp, Expr, For, Op, Part, UnaryOp};
pub use render::{block_text, expr_inline, expr_text, is_identifier, quote_literal};
