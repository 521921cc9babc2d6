//! Runbooks in SSM Parameter Store (one SecureString per alarm, JSON the runbook executor reads)
//! and the executor's subscription to the alarm topic.

use super::alarms::full_name;
use super::common::*;
use super::service_alarms;
use crate::config::model::Alarm;
use crate::hcl::{Block, Expr, Part};
use crate::plan::{ActiveAlarm, Plan};
use contract::slo::SloContext;

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
    let with_runbook = || plan.alarms.iter().filter(|a| a.runbook.is_some());
    let (per_service, alarms): (Vec<&ActiveAlarm>, Vec<&ActiveAlarm>) =
        with_runbook().partition(|a| a.descriptor.per_service());
    // The executor's RUNBOOK_PARAMETER_PREFIX is the same contract function of the prefix.
    let prefix = contract::runbook::parameter_prefix("${var.name_prefix}");
    let mut main = vec![Block::locals().attr("prefix", Expr::template(&prefix))];
    main.extend(alarms.iter().map(|a| parameter(a)));
    for a in &per_service {
        main.push(Block::locals().attr(
            service_alarms::services_local(a),
            service_alarms::services_map(a),
        ));
        for (suffix, slo) in service_alarms::notifying(a) {
            main.push(service_parameter(a, suffix, slo));
        }
    }
    main.extend(subscription());
    // Stack alarms by short name; per-service ones as `<alarm>-<service>[-suffix]`.
    let by_name = |attr: &str| {
        let stack = Expr::object(alarms.iter().map(|a| {
            (
                a.name.clone(),
                Expr::reference(&format!(
                    "aws_ssm_parameter.{}.{attr}",
                    super::alarms::ident(&a.name)
                )),
            )
        }));
        let mut parts = vec![stack];
        for a in &per_service {
            for (suffix, _) in service_alarms::notifying(a) {
                parts.push(Expr::raw(format!(
                    "{{ for s, p in aws_ssm_parameter.{} : \"{}-${{s}}{suffix}\" => p.{attr} }}",
                    parameter_ident(a, suffix),
                    a.name
                )));
            }
        }
        Expr::call("merge", parts)
    };
    let mut variables = vec![
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
    ];
    if !per_service.is_empty() {
        variables.push(service_alarms::services_var(plan));
        variables.push(super::alarms::thresholds_var(&plan.alarms));
    }
    Component {
        dir: "runbooks",
        summary: "Runbook parameters per alarm and the runbook executor's topic subscription.",
        main,
        variables,
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
    runbook_value_as(alarm, full_name(alarm), Vec::new())
}

/// [`runbook_json`] as HCL named `name`, with `overrides` (fields computed by Terraform).
fn runbook_value_as(alarm: &Alarm, name: Expr, overrides: Vec<(&str, Expr)>) -> Option<Expr> {
    let serde_json::Value::Object(mut fields) = runbook_json(alarm, "")? else {
        unreachable!("a runbook serializes to an object")
    };
    for (k, _) in &overrides {
        fields.insert((*k).to_owned(), serde_json::Value::Null);
    }
    let fields = fields.iter().map(|(k, v)| {
        let value = match overrides.iter().find(|(o, _)| o == k) {
            Some((_, e)) => e.clone(),
            None if k == "alarm" => name.clone(),
            None => json_expr(v),
        };
        (k.clone(), value)
    });
    Some(Expr::call("jsonencode", [Expr::Object(fields.collect())]))
}

fn parameter_ident(alarm: &Alarm, suffix: &str) -> String {
    format!(
        "{}{}",
        super::alarms::ident(&alarm.name),
        suffix.replace('-', "_")
    )
}

/// The runbook of one service's instance of a per-service alarm: it names the service, and an
/// SLO alert's carries the SLO (the composite notification has no metric to read it from).
fn service_parameter(alarm: &Alarm, suffix: &str, slo: Option<SloContext>) -> Block {
    let name = service_alarms::instance_name(alarm, suffix);
    let mut overrides = vec![("service", Expr::reference("each.key"))];
    if let Some(slo) = slo {
        let serde_json::Value::Object(fields) =
            serde_json::to_value(slo).expect("an SLO context serializes")
        else {
            unreachable!("an SLO context serializes to an object")
        };
        let fields = fields.iter().map(|(k, v)| match k.as_str() {
            // The service's target (its override, else the alarm's threshold).
            "target_percent" => (k.clone(), Expr::reference("each.value")),
            _ => (k.clone(), json_expr(v)),
        });
        overrides.push(("slo", Expr::Object(fields.collect())));
    }
    Block::resource("aws_ssm_parameter", parameter_ident(alarm, suffix))
        .attr(
            "for_each",
            Expr::local(&service_alarms::services_local(alarm)),
        )
        .attr(
            "name",
            Expr::template_parts([
                Part::Interp(Expr::local("prefix")),
                Part::Interp(Expr::var("name_prefix")),
                Part::Lit(format!("-{}-", alarm.name)),
                Part::Interp(Expr::reference("each.key")),
                Part::Lit(suffix.into()),
            ]),
        )
        .attr(
            "description",
            Expr::template_parts([
                Part::Lit(format!(
                    "Runbook of the {}{suffix} alarm of service ",
                    alarm.name
                )),
                Part::Interp(Expr::reference("each.key")),
            ]),
        )
        .attr("type", "SecureString")
        .attr("key_id", Expr::reference("var.kms_key_arn"))
        .attr(
            "value",
            runbook_value_as(alarm, name.clone(), overrides).unwrap_or(Expr::Null),
        )
        .attr("tags", tags_with_name(name))
}

/// JSON data as an HCL expression (literal strings: no interpolation from config text).
fn json_expr(value: &serde_json::Value) -> Expr {
    use serde_json::Value;
    match value {
        Value::Null => Expr::Null,
        Value::Bool(b) => Expr::Bool(*b),
        // Whole floats as integers (`6.0` is `6`), as HCL reads them back.
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 1e15 => {
                Expr::num(f as i64)
            }
            _ => Expr::num(n),
        },
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
