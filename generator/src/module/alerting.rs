//! The alarm topic (or the caller's existing one) and the on-call email subscriptions.

use super::common::*;
use crate::hcl::{Block, Expr, Part};
use crate::plan::Plan;

pub fn component(plan: &Plan) -> Component {
    let config = &plan.config;
    let emails = config.notifications.emails.iter().map(Expr::str);
    Component {
        dir: "alerting",
        summary: "Alarm topic encrypted with a customer KMS key CloudWatch can use; email subscriptions.",
        main: vec![
            Block::locals().attr(
                "topic_arn",
                Expr::cond(
                    Expr::var("topic_arn").ne(Expr::Null),
                    Expr::var("topic_arn"),
                    Expr::reference("aws_sns_topic.alarms[0].arn"),
                ),
            ),
            Block::resource("aws_sns_topic", "alarms")
                .attr("count", Expr::cond(Expr::var("topic_arn").eq(Expr::Null), 1, 0))
                .attr("name", Expr::template("${var.name_prefix}-alarms"))
                .comment("A customer key: CloudWatch alarms cannot publish to a topic under alias/aws/sns.")
                .attr("kms_master_key_id", Expr::reference("var.kms_key_arn"))
                .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-alarms")))
                .block(precondition(
                    Expr::raw("var.kms_key_arn != null"),
                    "kms_key_arn is required when the module creates the topic (topic_arn is null).",
                )),
            topic_policy_document(),
            Block::resource("aws_sns_topic_policy", "alarms")
                .attr("count", Expr::cond(Expr::var("topic_arn").eq(Expr::Null), 1, 0))
                .attr("arn", Expr::reference("aws_sns_topic.alarms[0].arn"))
                .attr("policy", Expr::reference("data.aws_iam_policy_document.topic[0].json")),
            Block::resource("aws_sns_topic_subscription", "email")
                .attr("for_each", Expr::raw("toset(var.alarm_emails)"))
                .attr("topic_arn", Expr::reference("local.topic_arn"))
                .attr("protocol", "email")
                .attr("endpoint", Expr::reference("each.value")),
        ],
        variables: vec![
            name_prefix_var(None),
            tags_var(),
            variable(
                "kms_key_arn",
                "string",
                "ARN of the customer managed KMS key for the topic (its policy must let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt). Ignored when topic_arn is set.",
            )
            .attr("default", Expr::Null)
            .block(validation(
                Expr::raw("var.kms_key_arn == null || can(regex(\"^arn:[a-z-]+:kms:\", var.kms_key_arn))"),
                "kms_key_arn must be a KMS key ARN.",
            )),
            variable(
                "topic_arn",
                "string",
                "ARN of an existing SNS topic to use instead of creating one.",
            )
            .attr("default", Expr::Null)
            .block(validation(
                Expr::raw("var.topic_arn == null || can(regex(\"^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$\", var.topic_arn))"),
                "topic_arn must be an SNS topic ARN.",
            )),
            variable(
                "alarm_emails",
                "list(string)",
                "Email addresses subscribed to the topic (each must confirm the subscription).",
            )
            .attr("default", Expr::List(emails.collect()))
            .block(validation(
                Expr::raw("alltrue([for e in var.alarm_emails : can(regex(\"^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$\", e))])"),
                "alarm_emails must all be email addresses.",
            )),
        ],
        outputs: vec![
            output("topic_arn", "local.topic_arn", "ARN of the alarm topic."),
            output_expr(
                "topic_name",
                Expr::call("element", [split_topic_arn(), Expr::num(5)]),
                "Name of the alarm topic.",
            ),
            output_expr(
                "email_subscription_arns",
                Expr::for_object(
                    "e, s",
                    Expr::reference("aws_sns_topic_subscription.email"),
                    Expr::ident("e"),
                    Expr::ident("s").attr("arn"),
                )
                .into(),
                "Email subscription ARNs by address (\"pending confirmation\" until confirmed).",
            ),
        ],
    }
}

/// `split(":", local.topic_arn)`: the topic ARN's fields.
fn split_topic_arn() -> Expr {
    Expr::call("split", [Expr::str(":"), Expr::local("topic_arn")])
}

/// The created topic's policy: CloudWatch alarms of this account may publish (encryption alone is
/// not enough: the topic must admit the service too), and the account keeps managing the topic.
/// Account, region and partition come from the topic's own ARN: no STS call, plans work offline.
fn topic_policy_document() -> Block {
    let part = |i: usize| Part::Interp(split_topic_arn().index(i));
    let lit = |s: &str| Part::Lit(s.to_owned());
    let (partition, region, account) = (part(1), part(3), part(4));
    Block::data("aws_iam_policy_document", "topic")
        .attr(
            "count",
            Expr::cond(Expr::var("topic_arn").eq(Expr::Null), 1, 0),
        )
        .block(
            statement(
                "CloudWatchAlarmsPublish",
                &["sns:Publish"],
                vec![Expr::reference("local.topic_arn")],
            )
            .block(principals(
                "Service",
                vec![Expr::str("cloudwatch.amazonaws.com")],
            ))
            .block(condition(
                "ArnLike",
                "aws:SourceArn",
                vec![Expr::template_parts([
                    lit("arn:"),
                    partition.clone(),
                    lit(":cloudwatch:"),
                    region,
                    lit(":"),
                    account.clone(),
                    lit(":alarm:*"),
                ])],
            ))
            .block(condition(
                "StringEquals",
                "aws:SourceAccount",
                vec![Expr::template_parts([account.clone()])],
            )),
        )
        .block(
            statement(
                "AccountManagesTopic",
                &[
                    "sns:GetTopicAttributes",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Publish",
                    "sns:SetTopicAttributes",
                    "sns:Subscribe",
                ],
                vec![Expr::reference("local.topic_arn")],
            )
            .block(principals(
                "AWS",
                vec![Expr::template_parts([
                    lit("arn:"),
                    partition,
                    lit(":iam::"),
                    account,
                    lit(":root"),
                ])],
            )),
        )
}
