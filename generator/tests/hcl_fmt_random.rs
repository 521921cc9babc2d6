//! Many generated shapes through `terraform fmt`: random (seeded, so reproducible) documents
//! mixing every expression kind at every nesting depth must come out unchanged.
//! Needs terraform on PATH (fails with an install hint otherwise).

mod common;

use monitoring_gen::hcl::{Block, Document, Expr, Part};

/// xorshift64*: deterministic, no dependency, good enough to pick shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "a",
    "name",
    "much_longer_attribute_name",
    "with-dash",
    "aws:SourceArn",
    "has space",
    "Statement",
    "x1",
];
const STRINGS: &[&str] = &[
    "plain",
    "with \"quotes\"",
    "back\\slash",
    "${var.name_prefix}-logs",
    "arn:aws:s3:::${aws_s3_bucket.logs.id}/*",
    "%{ if var.on }yes%{ endif }",
    "multi\nline",
    "",
    "ünïcödé ✓",
];
const REFS: &[&str] = &[
    "var.x",
    "aws_lambda_function.fn.arn",
    "module.kms[0].key_arn",
    "module.kms[*].alias_name",
];

const RAWS: &[&str] = &[
    "var.x",
    "aws_lambda_function.fn.arn",
    "var.enabled ? 1 : 0",
    "[for s in var.list : upper(s)]",
    "{ for k, v in var.m : k => v }",
    "local.items[0].name",
    "module.storage.table_arn",
    "-1",
];

fn expr(rng: &mut Rng, depth: u32) -> Expr {
    let leaf = depth >= 4 || rng.below(3) == 0;
    match if leaf { rng.below(6) } else { 6 + rng.below(6) } {
        0 => Expr::Null,
        1 => Expr::from(rng.below(2) == 0),
        2 => Expr::num(rng.below(100_000)),
        3 => Expr::str(rng.pick(STRINGS)),
        4 => Expr::raw(rng.pick(RAWS)),
        5 => Expr::reference(rng.pick(REFS)),
        6 => Expr::List((0..rng.below(5)).map(|_| expr(rng, depth + 1)).collect()),
        7 => Expr::Object(
            (0..rng.below(5))
                .map(|_| (rng.pick(KEYS).to_owned(), expr(rng, depth + 1)))
                .collect(),
        ),
        8 => {
            let name = rng.pick(&["jsonencode", "merge", "concat", "lookup", "tolist"]);
            Expr::call(name, (0..rng.below(4)).map(|_| expr(rng, depth + 1)))
        }
        9 => Expr::cond(
            Expr::var("on").eq(expr(rng, depth + 1)),
            expr(rng, depth + 1),
            expr(rng, depth + 1),
        ),
        10 => {
            // Values in brackets: terraform fmt writes `=> -1` as `=> - 1`, which we do not copy.
            let value = |rng: &mut Rng| Expr::list([expr(rng, depth + 1)]);
            let f = if rng.below(2) == 0 {
                Expr::for_list("k, v", Expr::var("m"), value(rng))
            } else {
                Expr::for_object("k, v", Expr::var("m"), Expr::ident("k"), value(rng))
            };
            if rng.below(2) == 0 {
                f.filter(Expr::ident("v").ne(Expr::Null)).into()
            } else {
                f.into()
            }
        }
        _ => Expr::template_parts([
            Part::Lit(rng.pick(STRINGS).to_owned()),
            // Interpolations hold scalars: a reference or a call on one.
            Part::Interp(if rng.below(2) == 0 {
                Expr::reference(rng.pick(REFS))
            } else {
                Expr::call("upper", [Expr::reference(rng.pick(REFS))])
            }),
        ]),
    }
}

fn body(rng: &mut Rng, mut block: Block, depth: u32) -> Block {
    for i in 0..(1 + rng.below(8)) {
        let key = format!(
            "{}{}",
            rng.pick(&["a", "attr", "long_attribute_name", "k"]),
            i
        );
        block = match rng.below(10) {
            0 => block.blank(),
            1 => block.comment("a comment"),
            2 if depth < 2 => {
                let inner = Block::new(
                    rng.pick(&["nested", "rule", "statement"]),
                    Vec::<String>::new(),
                );
                block.block(body(rng, inner, depth + 1))
            }
            _ => block.attr(key, expr(rng, 0)),
        };
    }
    block
}

#[test]
fn random_documents_are_terraform_fmt_clean() {
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..8 {
        let mut doc = Document::new().comment(format!("round {round}"));
        for i in 0..40 {
            let block = Block::resource("test_thing", format!("r{i}"));
            doc = doc.block(body(&mut rng, block, 0));
        }
        let text = doc.render();
        common::assert_fmt_clean_named(&format!("random document {round}"), &text);
    }
}
