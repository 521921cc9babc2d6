//! A small HCL writer: documents, blocks, attributes and expressions, rendered
//! `terraform fmt`-clean and byte-stable. Knows nothing about AWS.

mod block;
mod expr;
mod format;
mod render;

pub use block::{Block, Body, BodyItem, DocItem, Document};
pub use expr::{escape_template_sequences, Expr};
pub use render::{block_text, escape_template, expr_inline, expr_text, is_identifier};
