//! CloudWatch alarms from the config's alarm list: every alarm notifies the topic on ALARM and
//! OK, and its description carries the runbook link and the SSM parameter holding the procedure.
//! What differs by kind (inputs, description, metric queries) is the kind's descriptor
//! ([`crate::plan::alarm_kind`]).

use super::common::*;
use super::service_alarms;
use crate::config::model::Alarm;
use crate::hcl::{Block, Expr, Part};
use crate::plan::{ActiveAlarm, Input, Plan, Render};

pub fn component(plan: &Plan) -> Component {
    let alarms = &plan.alarms;
    let runbooks = plan.config.components.runbooks;
    let mut main = Vec::new();
    if plan.alarm_inputs().contains(&Input::Services) {
        main.push(Block::locals().attr(
            service_alarms::NAMESPACE_LOCAL,
            service_alarms::namespace_expr(),
        ));
    }
    for a in alarms {
        match a.descriptor.render {
            Render::Stack(_) => main.push(alarm(a, runbooks)),
            _ => main.extend(service_alarms::blocks(a, runbooks)),
        }
    }
    // Stack alarms by short name; per-service ones by their name without the prefix
    // (`<alarm>-<service>[-suffix]`).
    let by_name = |attr: &str| {
        let stack = Expr::object(
            alarms
                .iter()
                .filter(|a| matches!(a.descriptor.render, Render::Stack(_)))
                .map(|a| {
                    (
                        a.name.clone(),
                        Expr::reference(&format!(
                            "aws_cloudwatch_metric_alarm.{}.{attr}",
                            ident(&a.name)
                        )),
                    )
                }),
        );
        let mut parts = vec![stack];
        for block in main.iter().filter(|b| b.kind == "resource") {
            let [ty, name] = &block.labels[..] else {
                continue;
            };
            if block.body.attr("for_each").is_some() {
                parts.push(Expr::raw(format!(
                    "{{ for s, a in {ty}.{name} : trimprefix(a.alarm_name, \"${{var.name_prefix}}-\") => a.{attr} }}"
                )));
            }
        }
        Expr::call("merge", parts)
    };
    let outputs = vec![
        output_expr(
            "alarm_arns",
            by_name("arn"),
            "ARNs of the alarms by short name.",
        ),
        output_expr(
            "alarm_names",
            by_name("alarm_name"),
            "Full names of the alarms by short name.",
        ),
    ];
    Component {
        dir: "alarms",
        summary:
            "CloudWatch alarms on the stack's and the services' health, notifying the alarm topic.",
        main,
        variables: variables(plan),
        outputs,
    }
}

/// Terraform identifier of an alarm's resource.
pub fn ident(name: &str) -> String {
    name.replace('-', "_")
}

/// `<name_prefix>-<name>`: the CloudWatch alarm name, also the last part of its SSM parameter.
pub fn full_name(alarm: &Alarm) -> Expr {
    prefixed(format!("-{}", alarm.name))
}

/// `alarm_thresholds`, declared again by the root module: one definition so both validate alike.
pub fn thresholds_var(alarms: &[ActiveAlarm]) -> Block {
    let defaults = Expr::object(
        alarms
            .iter()
            .map(|a| (a.name.clone(), Expr::num(a.threshold))),
    );
    let known = quoted_list(alarms.iter().map(|a| a.name.as_str()));
    variable(
        "alarm_thresholds",
        "map(number)",
        "Threshold of each alarm by short name (5xx rate in percent, latency in ms, errors and throttles as counts per period).",
    )
    .attr("default", defaults)
    .block(validation(
        Expr::raw(format!("alltrue([for k, v in var.alarm_thresholds : contains([{known}], k) && v >= 0])")),
        &format!("alarm_thresholds keys must be among {known}; values >= 0."),
    ))
}

fn variables(plan: &Plan) -> Vec<Block> {
    let alarms = &plan.alarms;
    let mut vars = vec![
        name_prefix_var(None),
        tags_var(),
        arn_var(
            "topic_arn",
            "sns",
            "ARN of the topic receiving ALARM and OK notifications.",
        ),
        thresholds_var(alarms),
    ];
    let mut watched: Vec<&str> = alarms
        .iter()
        .filter(|a| a.descriptor.inputs.contains(&Input::FunctionNames))
        .filter_map(|a| a.function.map(|f| f.slug()))
        .collect();
    watched.sort_unstable();
    watched.dedup();
    vars.extend(input_vars(plan, &plan.alarm_inputs(), &watched));
    if service_alarms::has_slo(plan) {
        vars.push(service_alarms::composite_alarms_var());
    }
    vars
}

/// The config's text (or the kind's default), then the runbook link; the SSM parameter is named
/// only when the runbooks component writes it.
fn description(alarm: &ActiveAlarm, runbooks: bool) -> Expr {
    let what = alarm.description.clone();
    let Some(runbook) = &alarm.runbook else {
        return Expr::str(what);
    };
    let text = format!("{what} Runbook: {}.", runbook.link);
    if !runbooks {
        return Expr::str(text);
    }
    let prefix = || Part::Interp(Expr::var("name_prefix"));
    Expr::template_parts([
        Part::Lit(format!("{text} Procedure: SSM parameter /")),
        prefix(),
        Part::Lit("/runbooks/".into()),
        prefix(),
        Part::Lit(format!("-{}.", alarm.name)),
    ])
}

fn alarm(a: &ActiveAlarm, runbooks: bool) -> Block {
    let threshold = Expr::raw(format!(
        "lookup(var.alarm_thresholds, \"{}\", {})",
        a.name, a.threshold
    ));
    let block = Block::resource("aws_cloudwatch_metric_alarm", ident(&a.name))
        .attr("alarm_name", full_name(a))
        .attr("alarm_description", description(a, runbooks))
        .attr("comparison_operator", "GreaterThanThreshold")
        .attr("threshold", threshold)
        .attr("evaluation_periods", a.evaluation_periods)
        .attr("treat_missing_data", "notBreaching")
        .attr(
            "alarm_actions",
            Expr::list([Expr::reference("var.topic_arn")]),
        )
        .attr("ok_actions", Expr::list([Expr::reference("var.topic_arn")]));
    let Render::Stack(query) = a.descriptor.render else {
        unreachable!("{} is a per-service alarm", a.name)
    };
    query(block, a).attr("tags", tags_with_name(full_name(a)))
}

/// `{ApiName, Stage}` dimensions of the API stage.
pub(crate) fn api_dims() -> Expr {
    Expr::object([
        ("ApiName", Expr::reference("var.api_name")),
        ("Stage", Expr::reference("var.api_stage_name")),
    ])
}

pub(crate) fn math_query(id: &str, expression: &str, label: &str) -> Block {
    Block::new("metric_query", Vec::<String>::new())
        .attr("id", id)
        .attr("expression", expression)
        .attr("label", label)
        .attr("return_data", true)
}

pub(crate) fn metric_query(
    id: &str,
    namespace: &str,
    metric: &str,
    stat: &str,
    period: u32,
    dims: Expr,
) -> Block {
    Block::new("metric_query", Vec::<String>::new())
        .attr("id", id)
        .attr("return_data", false)
        .block(
            Block::new("metric", Vec::<String>::new())
                .attr("namespace", namespace)
                .attr("metric_name", metric)
                .attr("stat", stat)
                .attr("period", period)
                .attr("dimensions", dims),
        )
}

/// `throttles` = read + write throttle events (missing periods as 0) of the series `dims` names.
pub(crate) fn throttle_queries(block: Block, label: &str, dims: Expr, period: u32) -> Block {
    let query = |id: &str, metric: &str| {
        metric_query(id, "AWS/DynamoDB", metric, "Sum", period, dims.clone())
    };
    block
        .block(math_query(
            "throttles",
            "FILL(reads, 0) + FILL(writes, 0)",
            label,
        ))
        .block(query("reads", "ReadThrottleEvents"))
        .block(query("writes", "WriteThrottleEvents"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{AlarmKind, Config};

    fn main_tf() -> String {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        component(&Plan::resolve(&config))
            .file("main.tf")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn alarm_body(tf: &str, ident: &str) -> String {
        let header = format!("resource \"aws_cloudwatch_metric_alarm\" \"{ident}\" {{");
        let body = &tf[tf.find(&header).unwrap_or_else(|| panic!("{ident}"))..];
        let end = body[1..].find("resource \"").map_or(body.len(), |i| i + 1);
        body[..end].to_string()
    }

    #[test]
    fn percentile_alarm_evaluates_low_sample_periods() {
        let body = alarm_body(&main_tf(), "api_latency_p99");
        assert!(
            body.contains(r#"evaluate_low_sample_count_percentiles = "evaluate""#),
            "{body}"
        );
    }

    #[test]
    fn index_throttle_alarm_reads_the_gsi_series_and_has_a_runbook() {
        let body = alarm_body(&main_tf(), "dynamodb_index_throttles");
        assert_eq!(
            body.matches(r#"GlobalSecondaryIndexName = "TimestampIndex""#)
                .count(),
            2,
            "{body}"
        );
        assert!(body.contains("ReadThrottleEvents") && body.contains("WriteThrottleEvents"));
        assert!(body.contains("Runbook: https://runbooks.example.com/dynamodb-index-throttles."));
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let alarm = config
            .alarms
            .iter()
            .find(|a| a.kind == AlarmKind::DynamodbIndexThrottles)
            .expect("the starter declares the index throttle alarm");
        assert!(alarm.runbook.is_some());
    }
}
