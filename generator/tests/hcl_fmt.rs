//! Rendered documents must come out of `terraform fmt` unchanged, for every shape the HCL
//! layer can produce. Needs terraform on PATH (fails with an install hint otherwise).

mod common;

use common::assert_fmt_clean;
use monitoring_gen::hcl::{Block, Document, Expr};

fn nested(kind: &str) -> Block {
    Block::new(kind, Vec::<String>::new())
}

#[test]
fn attributes_align_in_runs_broken_by_blank_lines_comments_blocks_and_multiline_values() {
    let doc = Document::new().block(
        Block::resource("aws_lambda_function", "this")
            .attr("function_name", "${var.name_prefix}-fn")
            .attr("role", Expr::raw("aws_iam_role.this.arn"))
            .attr("x", 1)
            .blank()
            .attr("a", true)
            .comment("a comment ends a run")
            .attr("much_longer_name", Expr::Null)
            .attr("b", Expr::num(0.5))
            .attr(
                "environment_variables",
                Expr::object([("TABLE", Expr::raw("var.table")), ("A", Expr::str("b"))]),
            )
            .attr("c", "after a multi-line value")
            .attr("dd", Expr::list(["x", "y"]))
            .block(nested("tracing_config").attr("mode", "Active"))
            .attr("e", 2)
            .block(nested("empty"))
            .attr("ffff", 3),
    );
    assert_fmt_clean(&doc.render());
}

#[test]
fn jsonencode_policies_nested_objects_and_lists() {
    let statement = |effect: &str, actions: &[&str], resource: Expr| {
        Expr::object([
            ("Sid", Expr::str(format!("{effect}Things"))),
            ("Effect", Expr::str(effect)),
            ("Action", Expr::list(actions.iter().copied())),
            ("Resource", resource),
            (
                "Condition",
                Expr::object([(
                    "Bool",
                    Expr::object([("aws:SecureTransport", Expr::str("false"))]),
                )]),
            ),
        ])
    };
    let policy = Expr::call(
        "jsonencode",
        [Expr::object([
            ("Version", Expr::str("2012-10-17")),
            (
                "Statement",
                Expr::list([
                    statement(
                        "Allow",
                        &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                        Expr::list([
                            Expr::raw("aws_dynamodb_table.metrics.arn"),
                            Expr::str("${aws_dynamodb_table.metrics.arn}/index/*"),
                        ]),
                    ),
                    statement("Deny", &["s3:*"], Expr::raw("aws_s3_bucket.logs.arn")),
                ]),
            ),
        ])],
    );
    let doc = Document::new().block(
        Block::resource("aws_iam_role_policy", "p")
            .attr("name", "p")
            .attr("policy", policy)
            .attr("role", Expr::raw("aws_iam_role.r.id")),
    );
    assert_fmt_clean(&doc.render());
}

#[test]
fn calls_with_several_multiline_arguments_and_nested_lists() {
    let obj = |k: &str| Expr::object([(k, Expr::num(1)), ("other_key", Expr::num(2))]);
    let doc = Document::new().block(
        Block::locals()
            .attr(
                "merged",
                Expr::call("merge", [obj("a"), obj("bb"), Expr::raw("var.tags")]),
            )
            .attr(
                "last",
                Expr::call("merge", [Expr::raw("var.tags"), obj("c")]),
            )
            .attr("none", Expr::call("timestamp", Vec::<Expr>::new()))
            .attr(
                "lists",
                Expr::list([Expr::list([1, 2]), Expr::list([Expr::list([3])])]),
            )
            .attr(
                "long",
                Expr::list((0..12).map(|i| Expr::str(format!("element-number-{i}")))),
            )
            .attr(
                "objs_in_list_in_obj",
                Expr::object([(
                    "items",
                    Expr::list([obj("x"), Expr::object(Vec::<(String, Expr)>::new())]),
                )]),
            )
            .attr("empty_obj", Expr::object(Vec::<(String, Expr)>::new()))
            .attr("inline_call_list", Expr::list([Expr::call("abs", [-1])])),
    );
    assert_fmt_clean(&doc.render());
}

#[test]
fn raw_expressions_references_conditionals_and_for_expressions() {
    let doc = Document::new()
        .block(
            Block::resource("aws_sns_topic_subscription", "email")
                .attr("for_each", Expr::raw("toset(var.alarm_emails)"))
                .attr("count", Expr::raw("var.enabled ? 1 : 0"))
                .attr("endpoint", Expr::raw("each.value"))
                .attr("map", Expr::raw("{ for k, v in var.m : k => v if v != null }"))
                .attr("list", Expr::raw("[for s in var.list : upper(s)]"))
                .attr("splat", Expr::raw("aws_lambda_function.fn[*].arn"))
                .attr("idx", Expr::raw("var.list[0]"))
                .attr("cmp", Expr::raw("var.a >= 1 && var.b == \"x\" || !var.c"))
                .attr(
                    "multi",
                    Expr::raw("{\nfor k, v in var.alarms : k => {\nname = v.name\nthreshold = v.threshold\n}\n}"),
                ),
        )
        .block(
            Block::output("url")
                .attr("value", Expr::raw("aws_api_gateway_stage.this.invoke_url"))
                .attr("description", "The API's base URL")
                .attr("sensitive", false),
        );
    assert_fmt_clean(&doc.render());
}

#[test]
fn strings_escapes_templates_and_keys_that_need_quotes() {
    let doc = Document::new()
        .comment("Generated by gen; edits are overwritten.\n\nSecond paragraph.")
        .block(
            Block::resource("x", "y")
                .attr("quotes", "say \"hi\" \\ back\\slash")
                .attr("newlines", "a\nb\tc\r")
                .attr(
                    "interp",
                    Expr::template("${var.name_prefix}-${join(\",\", var.list)}"),
                )
                .attr("only_interp", Expr::template("${var.name_prefix}"))
                .attr("not_a_directive", "%{ if var.x }yes%{ else }no%{ endif }")
                .attr("literal", "${not.interpolated} %{nor.this}")
                .attr("unicode", "naïve – ✓")
                .attr(
                    "keys",
                    Expr::object([
                        ("ident", Expr::num(1)),
                        ("with-dash", Expr::num(2)),
                        ("has space", Expr::num(3)),
                        ("aws:SourceArn", Expr::num(4)),
                        ("for", Expr::num(5)),
                        ("${var.dynamic}", Expr::num(6)),
                        ("ünï", Expr::num(7)),
                    ]),
                ),
        )
        .block(
            Block::variable("v")
                .attr("type", Expr::ident("string"))
                .attr("default", Expr::Null),
        )
        .block(Block::new("weird", ["label with \"quotes\"", "and-more"]).attr("a", 1));
    assert_fmt_clean(&doc.render());
}

#[test]
fn top_level_layout_comments_blanks_and_empty_blocks() {
    let doc = Document::new()
        .blank()
        .comment("header")
        .blank()
        .blank()
        .block(Block::terraform().block(nested("required_providers").attr(
            "aws",
            Expr::object([("source", "hashicorp/aws"), ("version", ">= 5.0")]),
        )))
        .comment("attached to the next block")
        .block(Block::locals())
        .blank()
        .block(Block::data("aws_caller_identity", "current"))
        .block(
            Block::module("m")
                .attr("source", "./modules/m")
                .attr("name_prefix", Expr::raw("var.name_prefix")),
        )
        .blank();
    let text = doc.render();
    assert!(!text.starts_with('\n') && text.ends_with("}\n") && !text.ends_with("\n\n"));
    assert_fmt_clean(&text);
}
