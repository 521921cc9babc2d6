//! Runbooks in SSM Parameter Store (one SecureString per alarm, JSON the runbook executor reads)
//! and the executor's subscription to the alarm topic.

use super::alarms::full_name;
use super::common::*;
use crate::config::model::Alarm;
use crate::hcl::{Block, Expr, Part};
use crate::plan::{ActiveAlarm, Plan};

/// The key of CloudWatch's alarm notification JSON the executor's subscription filters on (and
/// the executor parses). Metric and composite alarm notifications both carry it (the alarm's
/// ARN); the executor's own notifications are plain text and carry none.
use contract::sns::{ALARM_ARN_FIELD as ALARM_ARN_KEY, ALARM_ARN_PREFIX};

/// The executor's subscription filter: scope and policy.
///
/// Scope `MessageBody`, not `MessageAttributes`: CloudWatch publishes alarm notifications with no
/// message attributes, and an attribute-scoped policy never matches an empty attribute set, not
/// even `{"origin": [{"exists": false}]}` (SNS "Key matching":
/// https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html). A body-scoped policy is
/// evaluated against the JSON payload (SNS "Filter policy scope":
/// https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html, and "Message
/// filtering": body policies "assume that the message payload is a well-formed JSON object",
/// https://docs.aws.amazon.com/sns/latest/dg/message-filtering.html), so:
/// - a CloudWatch alarm notification (JSON with `"AlarmArn": "arn:aws:cloudwatch:..."`, metric
///   and composite alarms alike: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html)
///   matches the `prefix` rule (https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html);
/// - the executor's own enriched notification (a plain-text body, `origin` attribute) is not JSON
///   and has no `AlarmArn`: it is never delivered back, so the executor cannot trigger itself.
///   The handler's own loop guard (it ignores messages with the `origin` attribute) stays.
pub const FILTER_POLICY_SCOPE: &str = "MessageBody";

pub fn filter_policy() -> Expr {
    Expr::call(
        "jsonencode",
        [Expr::object([(
            ALARM_ARN_KEY,
            Expr::list([Expr::object([("prefix", Expr::str(ALARM_ARN_PREFIX))])]),
        )])],
    )
}

pub fn component(plan: &Plan) -> Component {
    let alarms: Vec<&ActiveAlarm> = plan.alarms.iter().filter(|a| a.runbook.is_some()).collect();
    // The executor's RUNBOOK_PARAMETER_PREFIX is the same contract function of the prefix.
    let prefix = contract::runbook::parameter_prefix("${var.name_prefix}");
    let mut main = vec![Block::locals().attr("prefix", Expr::template(&prefix))];
    main.extend(alarms.iter().map(|a| parameter(a)));
    main.extend(subscription());
    let by_name = |attr: &str| {
        Expr::object(alarms.iter().map(|a| {
            (
                a.name.clone(),
                Expr::reference(&format!(
                    "aws_ssm_parameter.{}.{attr}",
                    super::alarms::ident(&a.name)
                )),
            )
        }))
    };
    Component {
        dir: "runbooks",
        summary: "Runbook parameters per alarm and the runbook executor's topic subscription.",
        main,
        variables: vec![
            name_prefix_var(None),
            tags_var(),
            kms_key_var("the runbook parameters"),
            arn_var(
                "topic_arn",
                "sns",
                "ARN of the alarm topic the executor subscribes to.",
            ),
            arn_var(
                "runbook_executor_function_arn",
                "lambda",
                "ARN of the runbook executor function.",
            ),
        ],
        outputs: vec![
            output(
                "runbook_parameter_prefix",
                "local.prefix",
                "SSM path under which the runbooks live (the executor's RUNBOOK_PARAMETER_PREFIX).",
            ),
            output_expr(
                "runbook_parameter_names",
                by_name("name"),
                "SSM parameter names of the runbooks by alarm short name.",
            ),
            output_expr(
                "runbook_parameter_arns",
                by_name("arn"),
                "SSM parameter ARNs of the runbooks by alarm short name.",
            ),
            output(
                "runbook_subscription_arn",
                "aws_sns_topic_subscription.runbook_executor.arn",
                "ARN of the runbook executor's topic subscription.",
            ),
        ],
    }
}

/// The runbook document for the alarm named `alarm_name`, exactly as the executor parses it
/// (the contract's type, serialized).
pub fn runbook_json(alarm: &Alarm, alarm_name: &str) -> Option<serde_json::Value> {
    let document = alarm.runbook.as_ref()?.document(alarm_name);
    Some(serde_json::to_value(document).expect("a runbook always serializes to JSON"))
}

/// [`runbook_json`] as HCL, with the alarm's full name left to Terraform (it has the prefix).
pub fn runbook_value(alarm: &Alarm) -> Option<Expr> {
    let serde_json::Value::Object(fields) = runbook_json(alarm, "")? else {
        unreachable!("a runbook serializes to an object")
    };
    let fields = fields.iter().map(|(k, v)| match k.as_str() {
        "alarm" => (k.clone(), full_name(alarm)),
        _ => (k.clone(), json_expr(v)),
    });
    Some(Expr::call("jsonencode", [Expr::Object(fields.collect())]))
}

/// JSON data as an HCL expression (literal strings: no interpolation from config text).
fn json_expr(value: &serde_json::Value) -> Expr {
    use serde_json::Value;
    match value {
        Value::Null => Expr::Null,
        Value::Bool(b) => Expr::Bool(*b),
        Value::Number(n) => Expr::num(n),
        Value::String(s) => Expr::str(s),
        Value::Array(items) => Expr::List(items.iter().map(json_expr).collect()),
        Value::Object(map) => {
            Expr::Object(map.iter().map(|(k, v)| (k.clone(), json_expr(v))).collect())
        }
    }
}

fn parameter(alarm: &Alarm) -> Block {
    Block::resource("aws_ssm_parameter", super::alarms::ident(&alarm.name))
        .attr(
            "name",
            Expr::template_parts([
                Part::Interp(Expr::local("prefix")),
                Part::Interp(Expr::var("name_prefix")),
                Part::Lit(format!("-{}", alarm.name)),
            ]),
        )
        .attr(
            "description",
            Expr::str(format!("Runbook of the {} alarm", alarm.name)),
        )
        .attr("type", "SecureString")
        .attr("key_id", Expr::reference("var.kms_key_arn"))
        .attr("value", runbook_value(alarm).unwrap_or(Expr::Null))
        .attr("tags", tags_with_name(full_name(alarm)))
}

fn subscription() -> Vec<Block> {
    vec![
        Block::resource("aws_lambda_permission", "sns_invokes_runbook_executor")
            .attr("statement_id", "AllowSnsInvoke")
            .attr("action", "lambda:InvokeFunction")
            .attr("function_name", Expr::reference("var.runbook_executor_function_arn"))
            .attr("principal", "sns.amazonaws.com")
            .attr("source_arn", Expr::reference("var.topic_arn")),
        Block::resource("aws_sns_topic_subscription", "runbook_executor")
            .attr("topic_arn", Expr::reference("var.topic_arn"))
            .attr("protocol", "lambda")
            .attr("endpoint", Expr::reference("var.runbook_executor_function_arn"))
            .comment("Every CloudWatch alarm notification (JSON body with AlarmArn; no message attributes),")
            .comment("never the executor's own plain-text notifications. SNS docs: body-scoped policies")
            .comment("https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html;")
            .comment("an attribute policy never matches CloudWatch's empty attribute set")
            .comment("https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html")
            .attr("filter_policy_scope", FILTER_POLICY_SCOPE)
            .attr("filter_policy", filter_policy())
            .attr("depends_on", Expr::list([Expr::reference("aws_lambda_permission.sns_invokes_runbook_executor")])),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn starter() -> Config {
        toml::from_str(crate::config::STARTER).expect("starter parses")
    }

    fn main_tf(config: &Config) -> String {
        component(&Plan::resolve(config)).file("main.tf")
    }

    #[test]
    fn executor_subscription_filters_the_alarm_json_body() {
        let tf = main_tf(&starter());
        let start = tf
            .find("resource \"aws_sns_topic_subscription\" \"runbook_executor\"")
            .expect("subscription");
        let sub = &tf[start..];
        let sub = &sub[..sub.find("\n}\n").unwrap_or(sub.len())];
        let flat = sub.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(r#"filter_policy_scope = "MessageBody""#),
            "{flat}"
        );
        assert!(
            flat.contains(r#"filter_policy = jsonencode({ AlarmArn = [ { prefix = "arn:" }, ] })"#),
            "{flat}"
        );
        assert!(
            !flat.contains("exists"),
            "no attribute-existence rule: {flat}"
        );
        // Same subscription whichever topic the root hands in (created or the caller's): no count.
        assert!(flat.contains("topic_arn = var.topic_arn") && !flat.contains("count"));
    }
}
