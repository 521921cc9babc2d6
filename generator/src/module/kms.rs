//! The module's customer managed KMS key (used when the caller does not hand one in).
//!
//! A customer key, not `alias/aws/sns`: CloudWatch alarms cannot publish to a topic encrypted
//! with the AWS managed key, because its policy cannot be changed to admit cloudwatch.amazonaws.com.

use super::common::*;
use crate::hcl::{Block, Expr};

pub fn component() -> Component {
    Component {
        dir: "kms",
        summary: "Customer managed KMS key for the bucket, table, topic, log groups, queues and SSM parameters.",
        main: main(),
        variables: vec![
            name_prefix_var(None),
            tags_var(),
            variable(
                "deletion_window_in_days",
                "number",
                "Waiting period before the key is deleted after destroy.",
            )
            .attr("default", 30)
            .block(validation(
                Expr::raw("var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30"),
                "deletion_window_in_days must be between 7 and 30.",
            )),
        ],
        outputs: vec![
            // depends_on: users of the key must wait until its policy admits their service.
            output("key_arn", "aws_kms_key.this.arn", "ARN of the KMS key.")
                .attr("depends_on", Expr::list([Expr::reference("aws_kms_key_policy.this")])),
            output("key_id", "aws_kms_key.this.key_id", "ID of the KMS key."),
            output("alias_name", "aws_kms_alias.this.name", "Alias of the KMS key."),
        ],
    }
}

fn main() -> Vec<Block> {
    let account_root = Expr::template("arn:${local.partition}:iam::${local.account_id}:root");
    let key_policy_skip = |b: Block, id: &str| {
        skip(b, id, "key policy: Resource \"*\" means this key only, and the account statement is AWS's default key policy")
    };
    let policy = Block::data("aws_iam_policy_document", "key");
    let policy = key_policy_skip(policy, "CKV_AWS_109");
    let policy = key_policy_skip(policy, "CKV_AWS_111");
    let policy = key_policy_skip(policy, "CKV_AWS_356");
    let policy = policy
        .block(
            statement("AccountAdministers", &["kms:*"], vec![Expr::str("*")])
                .block(principals("AWS", vec![account_root])),
        )
        .block(
            statement(
                "CloudWatchAlarmsPublishToEncryptedTopic",
                &["kms:Decrypt", "kms:GenerateDataKey*"],
                vec![Expr::str("*")],
            )
            .block(principals("Service", vec![Expr::str("cloudwatch.amazonaws.com")])),
        )
        .block(
            statement(
                "CloudWatchLogsEncryptLogGroups",
                &[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                vec![Expr::str("*")],
            )
            .block(principals(
                "Service",
                vec![Expr::template("logs.${data.aws_region.current.name}.amazonaws.com")],
            ))
            .block(condition(
                "ArnLike",
                "kms:EncryptionContext:aws:logs:arn",
                vec![Expr::template(
                    "arn:${local.partition}:logs:${data.aws_region.current.name}:${local.account_id}:*",
                )],
            )),
        );
    vec![
        Block::data("aws_partition", "current"),
        Block::data("aws_region", "current"),
        Block::locals()
            .comment("The account comes from the key's own ARN: no STS call, so plans work offline.")
            .attr("account_id", Expr::raw("split(\":\", aws_kms_key.this.arn)[4]"))
            .attr("partition", Expr::reference("data.aws_partition.current.partition")),
        Block::resource("aws_kms_key", "this")
            .comment("The policy is attached by aws_kms_key_policy.this: it needs the key's ARN for the account id.")
            .attr("description", Expr::template("${var.name_prefix} monitoring stack"))
        .attr("enable_key_rotation", true)
        .attr("deletion_window_in_days", Expr::reference("var.deletion_window_in_days"))
        .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-monitoring"))),
        Block::resource("aws_kms_key_policy", "this")
            .attr("key_id", Expr::reference("aws_kms_key.this.id"))
            .attr("policy", Expr::reference("data.aws_iam_policy_document.key.json")),
        Block::resource("aws_kms_alias", "this")
            .attr("name", Expr::template("alias/${var.name_prefix}-monitoring"))
            .attr("target_key_id", Expr::reference("aws_kms_key.this.key_id")),
        policy,
    ]
}
