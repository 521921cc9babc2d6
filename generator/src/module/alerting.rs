//! The alarm topic (or the caller's existing one) and the on-call email subscriptions.

use super::common::*;
use crate::config::model::Function;
use crate::hcl::{Block, Expr, Part};
use crate::plan::Plan;

pub fn component(plan: &Plan) -> Component {
    let config = &plan.config;
    let emails = config.notifications.emails.iter().map(Expr::str);
    // With the runbook executor, on-call's e-mail is on the notification topic the executor
    // publishes to; without it, on the alarm topic (docs/design.md, "Topic layout").
    let executor = plan.deploys(Function::RunbookExecutor);
    let mut locals = Block::locals().attr(
        "topic_arn",
        Expr::cond(
            Expr::var("topic_arn").ne(Expr::Null),
            Expr::var("topic_arn"),
            Expr::reference("aws_sns_topic.alarms[0].arn"),
        ),
    );
    if executor {
        locals = locals.attr(
            "notification_topic_arn",
            Expr::cond(
                Expr::var("notification_topic_arn").ne(Expr::Null),
                Expr::var("notification_topic_arn"),
                Expr::reference("aws_sns_topic.notifications[0].arn"),
            ),
        );
    }
    let mut main = vec![
        locals,
        Block::resource("aws_sns_topic", "alarms")
            .attr(
                "count",
                Expr::cond(Expr::var("topic_arn").eq(Expr::Null), 1, 0),
            )
            .attr("name", Expr::template("${var.name_prefix}-alarms"))
            .comment(
                "A customer key: CloudWatch alarms cannot publish to a topic under alias/aws/sns.",
            )
            .attr("kms_master_key_id", Expr::reference("var.kms_key_arn"))
            .attr(
                "tags",
                tags_with_name(Expr::template("${var.name_prefix}-alarms")),
            )
            .block(precondition(
                Expr::raw("var.kms_key_arn != null"),
                "kms_key_arn is required when the module creates the topic (topic_arn is null).",
            )),
        topic_policy_document("topic", "topic_arn", "topic_arn", true),
        Block::resource("aws_sns_topic_policy", "alarms")
            .attr(
                "count",
                Expr::cond(Expr::var("topic_arn").eq(Expr::Null), 1, 0),
            )
            .attr("arn", Expr::reference("aws_sns_topic.alarms[0].arn"))
            .attr(
                "policy",
                Expr::reference("data.aws_iam_policy_document.topic[0].json"),
            ),
    ];
    let email_topic = if executor {
        "local.notification_topic_arn"
    } else {
        "local.topic_arn"
    };
    if executor {
        main.extend([
            Block::resource("aws_sns_topic", "notifications")
                .attr(
                    "count",
                    Expr::cond(Expr::var("notification_topic_arn").eq(Expr::Null), 1, 0),
                )
                .attr("name", Expr::template("${var.name_prefix}-notifications"))
                .comment("The runbook executor publishes here (with its role, which may use this key), and so")
                .comment("does its on-failure destination; on-call's e-mail subscribes here.")
                .attr("kms_master_key_id", Expr::reference("var.kms_key_arn"))
                .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-notifications")))
                .block(precondition(
                    Expr::raw("var.kms_key_arn != null"),
                    "kms_key_arn is required when the module creates the notification topic (notification_topic_arn is null).",
                )),
            topic_policy_document(
                "notifications",
                "notification_topic_arn",
                "notification_topic_arn",
                false,
            ),
            Block::resource("aws_sns_topic_policy", "notifications")
                .attr(
                    "count",
                    Expr::cond(Expr::var("notification_topic_arn").eq(Expr::Null), 1, 0),
                )
                .attr("arn", Expr::reference("aws_sns_topic.notifications[0].arn"))
                .attr(
                    "policy",
                    Expr::reference("data.aws_iam_policy_document.notifications[0].json"),
                ),
        ]);
    }
    main.push(
        Block::resource("aws_sns_topic_subscription", "email")
            .attr("for_each", Expr::raw("toset(var.alarm_emails)"))
            .attr("topic_arn", Expr::reference(email_topic))
            .attr("protocol", "email")
            .attr("endpoint", Expr::reference("each.value")),
    );
    if executor {
        main.push(
            Block::resource("aws_sns_topic_subscription", "email_alarm_topic")
                .comment("alarm_email_messages = \"both\": CloudWatch's own notification too, from the alarm topic.")
                .attr(
                    "for_each",
                    Expr::raw("var.alarm_email_messages == \"both\" ? toset(var.alarm_emails) : toset([])"),
                )
                .attr("topic_arn", Expr::reference("local.topic_arn"))
                .attr("protocol", "email")
                .attr("endpoint", Expr::reference("each.value"))
                .block(precondition(
                    Expr::raw("var.notification_topic_arn == null || var.notification_topic_arn != var.topic_arn"),
                    "alarm_email_messages = \"both\" with one topic for alarms and notifications: its e-mail subscribers get both already; use \"enriched\".",
                )),
        );
    }
    let mut variables = vec![
        name_prefix_var(None),
        tags_var(),
        variable(
            "kms_key_arn",
            "string",
            "ARN of the customer managed KMS key for the topics the module creates (its policy must let cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt). Ignored for topics handed in.",
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
            if executor {
                "Email addresses subscribed to the notification topic (the runbook executor's message per state change; each must confirm the subscription)."
            } else {
                "Email addresses subscribed to the topic (each must confirm the subscription)."
            },
        )
        .attr("default", Expr::List(emails.collect()))
        .block(validation(
            Expr::raw("alltrue([for e in var.alarm_emails : can(regex(\"^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$\", e))])"),
            "alarm_emails must all be email addresses.",
        )),
    ];
    if executor {
        variables.extend(notification_vars(""));
    }
    let mut outputs = vec![
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
    ];
    if executor {
        outputs.push(output(
            "notification_topic_arn",
            "local.notification_topic_arn",
            "ARN of the notification topic: the runbook executor's messages and its on-failure records; on-call's e-mail subscribes to it.",
        ));
    }
    Component {
        dir: "alerting",
        summary: if executor {
            "Alarm topic and notification topic, encrypted with a customer KMS key CloudWatch can use; email subscriptions."
        } else {
            "Alarm topic encrypted with a customer KMS key CloudWatch can use; email subscriptions."
        },
        main,
        variables,
        outputs,
    }
}

/// `{prefix}notification_topic_arn` and `{prefix}alarm_email_messages`; the root declares them
/// as `notification_sns_topic_arn` (beside `sns_topic_arn`) and `alarm_email_messages`.
pub fn notification_vars(topic_var: &str) -> [Block; 2] {
    let topic_var = if topic_var.is_empty() {
        "notification_topic_arn"
    } else {
        topic_var
    };
    [
        variable(
            topic_var,
            "string",
            "ARN of an existing SNS topic for the runbook executor's messages (and its on-failure records), where alarm_emails subscribe, instead of creating <name_prefix>-notifications. In the stack's account; unencrypted or encrypted with the stack's KMS key (the executor's role may use only that one). The alarm topic's ARN here gives one topic for both: its subscribers get CloudWatch's and the executor's message.",
        )
        .attr("default", Expr::Null)
        .block(validation(
            Expr::raw(format!("var.{topic_var} == null || can(regex(\"^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{{12}}:[A-Za-z0-9_-]+$\", var.{topic_var}))")),
            &format!("{topic_var} must be an SNS topic ARN."),
        )),
        variable(
            "alarm_email_messages",
            "string",
            &format!(
                "What alarm_emails receive per alarm state change: \"{}\" (the runbook executor's message, or CloudWatch's own forwarded by it when it could not act) or \"{}\" (CloudWatch's notification from the alarm topic as well).",
                MESSAGES[0], MESSAGES[1]
            ),
        )
        .attr("default", MESSAGES[0])
        .block(validation(
            contains(str_list(MESSAGES), Expr::var("alarm_email_messages")),
            &format!("alarm_email_messages must be \"{}\" or \"{}\".", MESSAGES[0], MESSAGES[1]),
        )),
    ]
}

/// The values of `alarm_email_messages`, the default first.
pub const MESSAGES: [&str; 2] = ["enriched", "both"];

/// `split(":", local.topic_arn)`: the topic ARN's fields.
fn split_topic_arn() -> Expr {
    Expr::call("split", [Expr::str(":"), Expr::local("topic_arn")])
}

/// A created topic's policy: on the alarm topic CloudWatch alarms of this account may publish
/// (encryption alone is not enough: the topic must admit the service too); on both the account
/// keeps managing the topic (its IAM policies, e.g. the executor's role, may publish).
/// Account, region and partition come from the topic's own ARN: no STS call, plans work offline.
fn topic_policy_document(id: &str, local: &str, var: &str, cloudwatch: bool) -> Block {
    let split = || Expr::call("split", [Expr::str(":"), Expr::local(local)]);
    let part = |i: usize| Part::Interp(split().index(i));
    let lit = |s: &str| Part::Lit(s.to_owned());
    let (partition, region, account) = (part(1), part(3), part(4));
    let topic = Expr::local(local);
    let mut doc = Block::data("aws_iam_policy_document", id)
        .attr("count", Expr::cond(Expr::var(var).eq(Expr::Null), 1, 0));
    if cloudwatch {
        doc = doc.block(
            statement(
                "CloudWatchAlarmsPublish",
                &["sns:Publish"],
                vec![topic.clone()],
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
        );
    }
    doc.block(
        statement(
            "AccountManagesTopic",
            &[
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:Publish",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
            ],
            vec![topic],
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn flat(c: &Component, file: &str) -> String {
        c.file(file)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// With the runbook executor, e-mail is on the notification topic (and on the alarm topic only
    /// with "both"); without it, on the alarm topic, and the notification inputs do not exist.
    #[test]
    fn email_follows_the_executor() {
        let mut config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let with = component(&Plan::resolve(&config));
        let main = flat(&with, "main.tf");
        assert!(
            main.contains("resource \"aws_sns_topic_subscription\" \"email\" { for_each = toset(var.alarm_emails) topic_arn = local.notification_topic_arn"),
            "{main}"
        );
        assert!(
            main.contains("for_each = var.alarm_email_messages == \"both\" ? toset(var.alarm_emails) : toset([]) topic_arn = local.topic_arn"),
            "{main}"
        );
        assert!(main.contains("name = \"${var.name_prefix}-notifications\""));
        let vars = flat(&with, "variables.tf");
        assert!(
            vars.contains("contains([\"enriched\", \"both\"], var.alarm_email_messages)"),
            "{vars}"
        );
        assert!(vars.contains("default = \"enriched\""), "{vars}");

        config.components.runbooks = false;
        let without = component(&Plan::resolve(&config));
        let main = flat(&without, "main.tf");
        assert!(
            main.contains("resource \"aws_sns_topic_subscription\" \"email\" { for_each = toset(var.alarm_emails) topic_arn = local.topic_arn"),
            "{main}"
        );
        assert!(!main.contains("notification"), "{main}");
        assert!(!flat(&without, "variables.tf").contains("alarm_email_messages"));
    }
}
