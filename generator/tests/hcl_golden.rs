//! Golden tests: the exact text the HCL layer writes for each construct.

use monitoring_gen::hcl::{block_text, expr_text, Block, Document, Expr};

#[test]
fn strings_escape_quotes_backslashes_and_control_characters() {
    assert_eq!(expr_text(&"say \"hi\"".into()), "\"say \\\"hi\\\"\"\n");
    assert_eq!(expr_text(&"C:\\dir".into()), "\"C:\\\\dir\"\n");
    assert_eq!(expr_text(&"a\nb\tc".into()), "\"a\\nb\\tc\"\n");
    assert_eq!(expr_text(&"bell\u{7}".into()), "\"bell\\u0007\"\n");
}

#[test]
fn templates_interpolate_and_plain_strings_stay_literal() {
    // Quotes inside an interpolation are code, not text: they stay unescaped.
    assert_eq!(
        // The template's source is its text, unquoted: `"` is a quote, not an escape.
        expr_text(&Expr::template("${join(\",\", var.x)}-\"q\"")),
        "\"${join(\",\", var.x)}-\\\"q\\\"\"\n"
    );
    // A plain string never interpolates: its `${` / `%{` are escaped.
    assert_eq!(expr_text(&"${x} and %{y}".into()), "\"$${x} and %%{y}\"\n");
    assert_eq!(expr_text(&"$${x}".into()), "\"$$${x}\"\n");
}

#[test]
fn an_attribute_that_is_one_interpolation_is_written_as_the_bare_expression() {
    let b = Block::resource("t", "n")
        .attr("a", Expr::template("${var.x}"))
        .attr("b", Expr::template("${var.x}-suffix"));
    assert_eq!(
        block_text(&b),
        "resource \"t\" \"n\" {\n  a = var.x\n  b = \"${var.x}-suffix\"\n}\n"
    );
}

#[test]
fn references_numbers_and_literals() {
    let b = Block::resource("aws_lambda_function", "fn")
        .attr("role", Expr::raw("aws_iam_role.fn.arn"))
        .attr("timeout", 30)
        .attr("ratio", 0.5)
        .attr("big", Expr::num("1e3"))
        .attr("on", true)
        .attr("nothing", Expr::Null)
        .attr_opt("skipped", None::<Expr>)
        .attr_opt("kept", Some(Expr::raw("var.kept")));
    assert_eq!(
        block_text(&b),
        "resource \"aws_lambda_function\" \"fn\" {
  role    = aws_iam_role.fn.arn
  timeout = 30
  ratio   = 0.5
  big     = 1e3
  on      = true
  nothing = null
  kept    = var.kept
}
"
    );
}

#[test]
fn alignment_runs_end_at_blank_lines_comments_blocks_and_multiline_values() {
    let b = Block::resource("r", "n")
        .attr("a", 1)
        .attr("long_name", 2)
        .blank()
        .attr("b", 3)
        .comment("why")
        .attr("cc", 4)
        .attr(
            "tags",
            Expr::object([("Name", "x"), ("Environment", "prod")]),
        )
        .attr("d", 5)
        .block(Block::new("nested", Vec::<String>::new()).attr("x", 1))
        .attr("eeeee", 6);
    assert_eq!(
        block_text(&b),
        "resource \"r\" \"n\" {
  a         = 1
  long_name = 2

  b = 3
  # why
  cc = 4
  tags = {
    Name        = \"x\"
    Environment = \"prod\"
  }
  d = 5
  nested {
    x = 1
  }
  eeeee = 6
}
"
    );
}

#[test]
fn jsonencode_of_nested_objects_and_lists() {
    let policy = Expr::call(
        "jsonencode",
        [Expr::object([
            ("Version", Expr::str("2012-10-17")),
            (
                "Statement",
                Expr::list([Expr::object([
                    ("Effect", Expr::str("Allow")),
                    ("Action", Expr::list(["sns:Publish"])),
                    ("Resource", Expr::raw("aws_sns_topic.alarms.arn")),
                    (
                        "Condition",
                        Expr::object([(
                            "ArnLike",
                            Expr::object([("aws:SourceArn", Expr::str("arn:aws:cloudwatch:*"))]),
                        )]),
                    ),
                ])]),
            ),
        ])],
    );
    let b = Block::resource("aws_sns_topic_policy", "p").attr("policy", policy);
    assert_eq!(
        block_text(&b),
        r#"resource "aws_sns_topic_policy" "p" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = aws_sns_topic.alarms.arn
        Condition = {
          ArnLike = {
            "aws:SourceArn" = "arn:aws:cloudwatch:*"
          }
        }
      },
    ]
  })
}
"#
    );
}

#[test]
fn merge_with_an_object_and_empty_collections() {
    let b = Block::locals()
        .attr(
            "tags",
            Expr::call(
                "merge",
                [Expr::raw("var.tags"), Expr::object([("Component", "api")])],
            ),
        )
        .attr("none", Expr::list(Vec::<Expr>::new()))
        .attr("empty", Expr::object(Vec::<(String, Expr)>::new()));
    assert_eq!(
        block_text(&b),
        "locals {
  tags = merge(var.tags, {
    Component = \"api\"
  })
  none  = []
  empty = {}
}
"
    );
}

#[test]
fn object_keys_are_quoted_only_when_not_identifiers() {
    let e = Expr::object([
        ("plain_key", 1),
        ("dash-key", 2),
        ("aws:SourceArn", 3),
        ("9starts_with_digit", 4),
        ("for", 5),
    ]);
    assert_eq!(
        expr_text(&e),
        "{
  plain_key            = 1
  dash-key             = 2
  \"aws:SourceArn\"      = 3
  \"9starts_with_digit\" = 4
  \"for\"                = 5
}
"
    );
}

#[test]
fn long_or_nested_lists_go_one_element_per_line() {
    let short = Expr::list(["a", "b"]);
    assert_eq!(expr_text(&short), "[\"a\", \"b\"]\n");
    let long = Expr::list((0..8).map(|i| format!("arn:aws:lambda:function-{i}")));
    assert!(expr_text(&long).starts_with("[\n  \"arn:aws:lambda:function-0\",\n"));
    let of_objects = Expr::list([Expr::object([("a", 1)])]);
    assert_eq!(expr_text(&of_objects), "[\n  {\n    a = 1\n  },\n]\n");
}

#[test]
fn documents_separate_blocks_by_one_blank_line_and_end_with_one_newline() {
    let doc = Document::new()
        .comment("Generated by gen.")
        .blank()
        .block(Block::terraform().attr("required_version", ">= 1.5"))
        .blank()
        .blank()
        .comment("The prefix of every name.")
        .block(Block::variable("name_prefix").attr("type", Expr::ident("string")))
        .block(Block::data("aws_region", "current"))
        .blank();
    assert_eq!(
        doc.render(),
        "# Generated by gen.

terraform {
  required_version = \">= 1.5\"
}

# The prefix of every name.
variable \"name_prefix\" {
  type = string
}

data \"aws_region\" \"current\" {}
"
    );
}

#[test]
fn rendering_is_byte_stable() {
    let build = || {
        Document::new()
            .block(Block::resource("a", "b").attr("x", Expr::object([("k", Expr::list([1, 2]))])))
            .render()
    };
    assert_eq!(build(), build());
}
