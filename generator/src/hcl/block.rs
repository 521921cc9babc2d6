//! Structure: documents hold blocks; blocks hold bodies of attributes, nested blocks and comments.

use super::expr::Expr;

/// One entry of a body, in the order it was added.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyItem {
    Attr(String, Expr),
    Block(Block),
    Comment(String),
    Blank,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    pub items: Vec<BodyItem>,
}

impl Body {
    /// The value of the first attribute called `key`, if any.
    pub fn attr(&self, key: &str) -> Option<&Expr> {
        self.items.iter().find_map(|item| match item {
            BodyItem::Attr(k, v) if k == key => Some(v),
            _ => None,
        })
    }

    /// Nested blocks of the given kind.
    pub fn blocks<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.items.iter().filter_map(move |item| match item {
            BodyItem::Block(b) if b.kind == kind => Some(b),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: String,
    pub labels: Vec<String>,
    pub body: Body,
}

impl Block {
    pub fn new<I, L>(kind: impl Into<String>, labels: I) -> Block
    where
        I: IntoIterator<Item = L>,
        L: Into<String>,
    {
        Block {
            kind: kind.into(),
            labels: labels.into_iter().map(Into::into).collect(),
            body: Body::default(),
        }
    }

    pub fn resource(ty: impl Into<String>, name: impl Into<String>) -> Block {
        Block::new("resource", [ty.into(), name.into()])
    }

    pub fn data(ty: impl Into<String>, name: impl Into<String>) -> Block {
        Block::new("data", [ty.into(), name.into()])
    }

    pub fn variable(name: impl Into<String>) -> Block {
        Block::new("variable", [name.into()])
    }

    pub fn output(name: impl Into<String>) -> Block {
        Block::new("output", [name.into()])
    }

    pub fn module(name: impl Into<String>) -> Block {
        Block::new("module", [name.into()])
    }

    pub fn provider(name: impl Into<String>) -> Block {
        Block::new("provider", [name.into()])
    }

    pub fn locals() -> Block {
        Block::new("locals", Vec::<String>::new())
    }

    pub fn terraform() -> Block {
        Block::new("terraform", Vec::<String>::new())
    }

    pub fn attr(mut self, key: impl Into<String>, value: impl Into<Expr>) -> Block {
        self.body
            .items
            .push(BodyItem::Attr(key.into(), value.into()));
        self
    }

    /// Adds the attribute only when there is a value.
    pub fn attr_opt<V: Into<Expr>>(self, key: impl Into<String>, value: Option<V>) -> Block {
        match value {
            Some(v) => self.attr(key, v),
            None => self,
        }
    }

    pub fn block(mut self, block: Block) -> Block {
        self.body.items.push(BodyItem::Block(block));
        self
    }

    pub fn blocks(mut self, blocks: impl IntoIterator<Item = Block>) -> Block {
        self.body
            .items
            .extend(blocks.into_iter().map(BodyItem::Block));
        self
    }

    /// A `# text` line (one per line of `text`).
    pub fn comment(mut self, text: impl Into<String>) -> Block {
        self.body.items.push(BodyItem::Comment(text.into()));
        self
    }

    pub fn blank(mut self) -> Block {
        self.body.items.push(BodyItem::Blank);
        self
    }
}

/// Top-level entries of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum DocItem {
    Block(Block),
    Comment(String),
    Blank,
}

/// One `.tf` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub items: Vec<DocItem>,
}

impl Document {
    pub fn new() -> Document {
        Document::default()
    }

    pub fn comment(mut self, text: impl Into<String>) -> Document {
        self.items.push(DocItem::Comment(text.into()));
        self
    }

    pub fn block(mut self, block: Block) -> Document {
        self.items.push(DocItem::Block(block));
        self
    }

    pub fn blocks(mut self, blocks: impl IntoIterator<Item = Block>) -> Document {
        self.items.extend(blocks.into_iter().map(DocItem::Block));
        self
    }

    pub fn blank(mut self) -> Document {
        self.items.push(DocItem::Blank);
        self
    }

    /// Top-level blocks, in order.
    pub fn top_blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|item| match item {
            DocItem::Block(b) => Some(b),
            _ => None,
        })
    }

    /// The file's text: byte-stable and `terraform fmt`-clean.
    pub fn render(&self) -> String {
        super::render::document(self)
    }
}
