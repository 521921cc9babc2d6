//! Alarms on the applications' own health, from the service metrics the log processor and the
//! metrics API publish (`contract::service_metrics`). Each alarm of a per-service kind is one
//! resource with `for_each` over `var.services`, so an estate adds a service in its `module` block
//! without running `gen`; `monitoring.toml` decides which kinds exist and their defaults.
//!
//! - static-threshold and anomaly-band alarms (`service_error_rate`, `service_latency`,
//!   `service_traffic`, `service_metric`);
//! - SLO burn-rate alerts (`slo`): per window of `contract::slo::PAGE` (and `TICKET`), a
//!   metric-math alarm on the burn rate with no actions, and one composite alarm per severity that
//!   alone notifies, so a page needs both windows of a pair
//!   (https://sre.google/workbook/alerting-on-slos/,
//!   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html).

use super::alarms::ident;
use super::common::*;
use crate::config::model::{Alarm, AlarmKind};
use crate::hcl::{Block, Expr, Part};
use crate::plan::{ActiveAlarm, Plan, Render};
use contract::service_metrics::{self as sm, ERRORS, LATENCY, REQUESTS};
use contract::slo::{BurnWindow, SloContext, PAGE, TICKET};

/// The value series of a per-service alarm: its metric queries and the id of the one compared.
pub struct ServiceQuery {
    pub queries: Vec<Block>,
    pub value_id: &'static str,
    /// A percentile statistic: CloudWatch's low-sample rule applies.
    pub percentile: bool,
}

/// `local.service_metrics_namespace`, `"${var.name_prefix}/Services"` (the contract's suffix).
pub const NAMESPACE_LOCAL: &str = "service_metrics_namespace";

pub fn namespace_expr() -> Expr {
    prefixed(sm::NAMESPACE_SUFFIX)
}

/// `{ ServiceName = each.key }`
fn dims() -> Expr {
    Expr::object([(sm::DIMENSION, Expr::reference("each.key"))])
}

fn query(id: &str, metric: &str, stat: &str, period: u32) -> Block {
    Block::new("metric_query", Vec::<String>::new())
        .attr("id", id)
        .block(
            Block::new("metric", Vec::<String>::new())
                .attr("namespace", Expr::local(NAMESPACE_LOCAL))
                .attr("metric_name", metric)
                .attr("stat", stat)
                .attr("period", period)
                .attr("dimensions", dims()),
        )
}

fn expression(id: &str, expression: impl Into<Expr>, label: &str) -> Block {
    Block::new("metric_query", Vec::<String>::new())
        .attr("id", id)
        .attr("expression", expression)
        .attr("label", label)
}

pub fn error_rate(a: &Alarm) -> ServiceQuery {
    let p = a.period_seconds;
    ServiceQuery {
        queries: vec![
            expression(
                "rate",
                "IF(requests > 0, 100 * errors / requests, 0)",
                "Error rate (%)",
            ),
            query("errors", ERRORS.name, "Sum", p),
            query("requests", REQUESTS.name, "Sum", p),
        ],
        value_id: "rate",
        percentile: false,
    }
}

pub fn latency(a: &Alarm) -> ServiceQuery {
    ServiceQuery {
        queries: vec![query(
            "latency",
            LATENCY.name,
            a.percentile_or_default(),
            a.period_seconds,
        )],
        value_id: "latency",
        percentile: true,
    }
}

pub fn traffic(a: &Alarm) -> ServiceQuery {
    ServiceQuery {
        queries: vec![query("requests", REQUESTS.name, "Sum", a.period_seconds)],
        value_id: "requests",
        percentile: false,
    }
}

pub fn metric(a: &Alarm) -> ServiceQuery {
    let stat = a.statistic.as_deref().unwrap_or("Average");
    ServiceQuery {
        queries: vec![query(
            "value",
            a.metric.as_deref().unwrap_or_default(),
            stat,
            a.period_seconds,
        )],
        value_id: "value",
        percentile: stat.starts_with('p'),
    }
}

/// `local.<alarm>_services`: service => threshold (the service's override, else the alarm's entry
/// in `var.alarm_thresholds`, else the config's), for the services the alarm is not disabled for.
pub fn services_local(a: &Alarm) -> String {
    format!("{}_services", ident(&a.name))
}

pub fn services_map(a: &Alarm) -> Expr {
    let n = &a.name;
    Expr::raw(format!(
        "{{ for service, config in var.services : service => coalesce(try(config.alarms[\"{n}\"].threshold, null), lookup(var.alarm_thresholds, \"{n}\", {})) if try(config.alarms[\"{n}\"].enabled, true) }}",
        a.threshold
    ))
}

/// `<name_prefix>-<alarm>-<service>`, plus `suffix`.
pub fn instance_name(a: &Alarm, suffix: &str) -> Expr {
    Expr::template_parts([
        Part::Interp(Expr::var("name_prefix")),
        Part::Lit(format!("-{}-", a.name)),
        Part::Interp(Expr::reference("each.key")),
        Part::Lit(suffix.into()),
    ])
}

/// The config's text, the runbook link, and the per-service SSM parameter of the procedure.
fn description(a: &ActiveAlarm, suffix: &str, runbooks: bool) -> Expr {
    let mut parts = vec![Part::Lit(format!("{} Service ", a.description)), service()];
    match &a.runbook {
        Some(r) => {
            parts.push(Part::Lit(format!(". Runbook: {}.", r.link)));
            if runbooks {
                parts.push(Part::Lit(" Procedure: SSM parameter /".into()));
                parts.push(Part::Interp(Expr::var("name_prefix")));
                parts.push(Part::Lit("/runbooks/".into()));
                parts.extend(name_parts(a, suffix));
                parts.push(Part::Lit(".".into()));
            }
        }
        None => parts.push(Part::Lit(".".into())),
    }
    Expr::template_parts(parts)
}

fn service() -> Part {
    Part::Interp(Expr::reference("each.key"))
}

fn name_parts(a: &Alarm, suffix: &str) -> Vec<Part> {
    vec![
        Part::Interp(Expr::var("name_prefix")),
        Part::Lit(format!("-{}-", a.name)),
        service(),
        Part::Lit(suffix.into()),
    ]
}

fn actions(block: Block) -> Block {
    block
        .attr(
            "alarm_actions",
            Expr::list([Expr::reference("var.topic_arn")]),
        )
        .attr("ok_actions", Expr::list([Expr::reference("var.topic_arn")]))
}

/// Every block of one per-service alarm (its `locals` first).
pub fn blocks(a: &ActiveAlarm, runbooks: bool) -> Vec<Block> {
    let mut out = vec![Block::locals().attr(services_local(a), services_map(a))];
    match a.descriptor.render {
        Render::Service(value) => out.push(metric_alarm(a, value(a), runbooks)),
        Render::Slo => out.extend(slo_alarms(a, runbooks)),
        Render::Stack(_) => unreachable!("{} is not a per-service kind", a.name),
    }
    out
}

fn metric_alarm(a: &ActiveAlarm, q: ServiceQuery, runbooks: bool) -> Block {
    let kind = a.descriptor;
    let comparison = a.comparison.unwrap_or(kind.comparison.1);
    // A traffic ceiling alarms on too many requests: missing data is then not a breach.
    let missing = a.treat_missing_data.unwrap_or(
        if a.kind == AlarmKind::ServiceTraffic
            && matches!(comparison.band(), "GreaterThanUpperThreshold")
        {
            crate::config::model::MissingData::NotBreaching
        } else {
            kind.missing_data
        },
    );
    let mut block = Block::resource("aws_cloudwatch_metric_alarm", ident(&a.name))
        .attr("for_each", Expr::local(&services_local(a)))
        .attr("alarm_name", instance_name(a, ""))
        .attr("alarm_description", description(a, "", runbooks));
    let mut queries = q.queries;
    if a.anomaly_band {
        // The band is CloudWatch's model of the value series; `threshold` is its width in
        // standard deviations (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Anomaly_Detection_Alarm.html).
        block = block
            .comment("Anomaly detection: the value is compared with CloudWatch's band of expected values.")
            .attr("comparison_operator", comparison.band())
            .attr("threshold_metric_id", "band");
        queries.insert(
            0,
            Block::new("metric_query", Vec::<String>::new())
                .attr("id", "band")
                .attr(
                    "expression",
                    Expr::template_parts([
                        Part::Lit(format!("ANOMALY_DETECTION_BAND({}, ", q.value_id)),
                        Part::Interp(Expr::reference("each.value")),
                        Part::Lit(")".into()),
                    ]),
                )
                .attr("label", "Expected band")
                .attr("return_data", true),
        );
    } else {
        block = block
            .attr("comparison_operator", comparison.as_str())
            .attr("threshold", Expr::reference("each.value"));
    }
    block = block
        .attr("evaluation_periods", a.evaluation_periods)
        .attr_opt("datapoints_to_alarm", a.datapoints_to_alarm)
        .attr("treat_missing_data", missing.as_str());
    if q.percentile {
        // Left unset: "If you specify evaluate or omit this parameter, the alarm is always
        // evaluated" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html),
        // and the parameter belongs to single-metric percentile alarms, not metric-query ones.
        block = block.comment("Percentile periods with few requests are evaluated (the parameter's default when omitted).");
    }
    let block = actions(block);
    let block = queries.into_iter().fold(block, |b, query| {
        if query.body.attr("return_data").is_some() {
            return b.block(query);
        }
        let returned = query.body.attr("id") == Some(&Expr::str(q.value_id));
        b.block(query.attr("return_data", returned))
    });
    block.attr("tags", tags_with_name(instance_name(a, "")))
}

/// `1h`, `5m`, `3d`: a window's length in alarm names.
pub fn window_label(seconds: u32) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{}m", s / 60),
    }
}

/// The severities of an SLO alarm: `("", PAGE)` and, with `ticket`, `("-ticket", TICKET)`.
pub fn severities(a: &Alarm) -> Vec<(&'static str, &'static [BurnWindow])> {
    let mut out: Vec<(&'static str, &'static [BurnWindow])> = vec![("", &PAGE)];
    if a.ticket {
        out.push(("-ticket", &TICKET));
    }
    out
}

/// What the runbook of one severity carries for the executor (the target is per service).
pub fn slo_context(a: &Alarm, windows: &[BurnWindow]) -> SloContext {
    SloContext {
        target_percent: a.threshold,
        window_days: a.window_days_or_default(),
        windows: windows.to_vec(),
    }
}

fn child_ident(a: &Alarm, severity: &str, w: u32) -> String {
    let sev = if severity.is_empty() {
        "page"
    } else {
        "ticket"
    };
    format!("{}_{sev}_{}", ident(&a.name), window_label(w))
}

fn slo_alarms(a: &ActiveAlarm, runbooks: bool) -> Vec<Block> {
    let mut out = Vec::new();
    for (severity, windows) in severities(a) {
        let sev = if severity.is_empty() {
            "page"
        } else {
            "ticket"
        };
        let mut rule: Vec<Part> = Vec::new();
        for (i, w) in windows.iter().enumerate() {
            if i > 0 {
                rule.push(Part::Lit(" OR ".into()));
            }
            rule.push(Part::Lit("(".into()));
            for (j, len) in [w.long_seconds, w.short_seconds].into_iter().enumerate() {
                let id = child_ident(a, severity, len);
                out.push(burn_alarm(a, sev, len, w.burn_rate, &id));
                if j > 0 {
                    rule.push(Part::Lit(" AND ".into()));
                }
                rule.push(Part::Lit("ALARM(\"".into()));
                rule.push(Part::Interp(
                    Expr::reference(&format!("aws_cloudwatch_metric_alarm.{id}"))
                        .index(Expr::reference("each.key"))
                        .attr("alarm_name"),
                ));
                rule.push(Part::Lit("\")".into()));
            }
            rule.push(Part::Lit(")".into()));
        }
        let composite = Block::resource(
            "aws_cloudwatch_composite_alarm",
            format!("{}{}", ident(&a.name), severity.replace('-', "_")),
        )
        .comment("The only SLO alarm that notifies: a page needs both windows of a pair.")
        .comment("var.composite_alarms = false leaves it out where composite alarms cannot be created (the local emulator).")
        .attr(
            "for_each",
            Expr::cond(
                Expr::var("composite_alarms"),
                Expr::local(&services_local(a)),
                Expr::object(Vec::<(String, Expr)>::new()),
            ),
        )
        .attr("alarm_name", instance_name(a, severity))
        .attr("alarm_description", description(a, severity, runbooks))
        .attr("alarm_rule", Expr::template_parts(rule));
        out.push(actions(composite).attr("tags", tags_with_name(instance_name(a, severity))));
    }
    out
}

/// One burn-rate window: errors / requests over the window, over the budget rate `1 - target`.
fn burn_alarm(a: &Alarm, severity: &str, seconds: u32, burn_rate: f64, id: &str) -> Block {
    let label = window_label(seconds);
    let suffix = format!("-{severity}-{label}");
    Block::resource("aws_cloudwatch_metric_alarm", id)
        .attr("for_each", Expr::local(&services_local(a)))
        .attr("alarm_name", instance_name(a, &suffix))
        .attr(
            "alarm_description",
            Expr::template_parts([
                Part::Lit(format!(
                    "Burn rate of the {label} window above {burn_rate} for service "
                )),
                service(),
                Part::Lit(format!(
                    " (child of the {severity} SLO alert; no actions, the composite notifies)."
                )),
            ]),
        )
        .attr("comparison_operator", "GreaterThanThreshold")
        .attr("threshold", burn_rate)
        .attr("evaluation_periods", 1)
        .attr("treat_missing_data", "notBreaching")
        .block(
            Block::new("metric_query", Vec::<String>::new())
                .attr("id", "burn")
                .attr(
                    "expression",
                    Expr::template_parts([
                        Part::Lit("IF(requests > 0, errors / requests / (1 - ".into()),
                        Part::Interp(Expr::reference("each.value")),
                        Part::Lit(" / 100), 0)".into()),
                    ]),
                )
                .attr("label", format!("Burn rate ({label})"))
                .attr("return_data", true),
        )
        .block(query("errors", ERRORS.name, "Sum", seconds).attr("return_data", false))
        .block(query("requests", REQUESTS.name, "Sum", seconds).attr("return_data", false))
        .attr("tags", tags_with_name(instance_name(a, &suffix)))
}

/// `services`: every module that publishes, alarms on or charts the services declares it from here.
pub fn services_var(plan: &Plan) -> Block {
    let names: Vec<&str> = plan
        .alarms
        .iter()
        .filter(|a| a.descriptor.per_service())
        .map(|a| a.name.as_str())
        .collect();
    let known = quoted_list(&names);
    let max = sm::MAX_PUBLISHED_SERVICES;
    let defaults = Expr::object(
        plan.config
            .service_metrics
            .services
            .iter()
            .map(|s| (s.clone(), Expr::object(Vec::<(String, Expr)>::new()))),
    );
    variable_typed(
        "services",
        Expr::raw("map(object({ alarms = optional(map(object({ enabled = optional(bool, true), threshold = optional(number) })), {}) }))"),
        &format!("The applications whose metrics are published to CloudWatch ({}) and watched by the service alarms, keyed by service name; per service, `alarms` may disable an alarm or override its threshold (for slo: the availability target; for anomaly-band alarms: the band width). At most {max}.", namespace_doc()),
    )
    .attr("default", defaults)
    .block(validation(
        all(
            "s",
            keys(Expr::var("services")),
            can_regex(contract::names::SERVICE_NAME_PATTERN, Expr::ident("s")),
        ),
        "services keys must be service names: 1-128 characters of A-Z a-z 0-9 . _ -.",
    ))
    .block(validation(
        length(Expr::var("services")).le(Expr::num(max)),
        &format!("services may list at most {max} services (each costs custom metrics and alarms)."),
    ))
    .block(validation(
        Expr::raw(format!("alltrue(flatten([for s, c in var.services : [for k, v in c.alarms : contains([{known}], k) && coalesce(v.threshold, 0) >= 0]]))")),
        &format!("services[*].alarms keys must be among the service alarms ({}); thresholds >= 0.", if names.is_empty() { "none configured".to_string() } else { known.clone() }),
    ))
    .blocks(threshold_bounds(plan))
}

/// One bound a per-service override must keep: the HCL rule, its wording, and override values
/// just outside it (the module's `terraform test` file checks each is refused).
struct ThresholdBound {
    rule: String,
    text: String,
    outside: Vec<String>,
}

/// The bounds a per-service override must keep, as the config's own threshold does: an SLO
/// target strictly between 0 and 100 (`contract::slo::validate_target`), a band width above 0,
/// a percentage at most 100.
fn bounds(plan: &Plan) -> Vec<ThresholdBound> {
    let mut out = Vec::new();
    for a in plan.alarms.iter().filter(|a| a.descriptor.per_service()) {
        // The alarm's own threshold stands in for "no override" (`&&` does not short-circuit).
        let value = format!(
            "coalesce(try(c.alarms[\"{}\"].threshold, null), {})",
            a.name, a.threshold
        );
        let (rule, bound, outside) = if matches!(a.descriptor.render, Render::Slo) {
            (
                format!("({value} > 0 && {value} < 100)"),
                "an SLO target strictly between 0 and 100",
                vec!["0".to_owned(), "100".to_owned()],
            )
        } else if a.anomaly_band {
            (
                format!("{value} > 0"),
                "a band width above 0",
                vec!["0".to_owned()],
            )
        } else if let Some((max, _)) = a.descriptor.max_threshold {
            (
                format!("{value} <= {max}"),
                "a percentage at most 100",
                vec![format!("{}", max + 0.5)],
            )
        } else {
            continue;
        };
        out.push(ThresholdBound {
            rule,
            text: format!("{}: {bound}", a.name),
            outside: outside
                .into_iter()
                .map(|t| {
                    format!(
                        "{{ svc = {{ alarms = {{ \"{}\" = {{ threshold = {t} }} }} }} }}",
                        a.name
                    )
                })
                .collect(),
        });
    }
    out
}

/// `services` values (HCL source) that break exactly one threshold bound each.
pub fn threshold_bound_rejects(plan: &Plan) -> Vec<String> {
    bounds(plan).into_iter().flat_map(|b| b.outside).collect()
}

fn threshold_bounds(plan: &Plan) -> Vec<Block> {
    let found = bounds(plan);
    let rules: Vec<&str> = found.iter().map(|b| b.rule.as_str()).collect();
    let bounds: Vec<&str> = found.iter().map(|b| b.text.as_str()).collect();
    if rules.is_empty() {
        return Vec::new();
    }
    vec![validation(
        Expr::raw(format!(
            "alltrue([for s, c in var.services : {}])",
            rules.join(" && ")
        )),
        &format!(
            "services[*].alarms thresholds must be {}.",
            bounds.join("; ")
        ),
    )]
}

fn namespace_doc() -> String {
    format!("namespace <name_prefix>{}", sm::NAMESPACE_SUFFIX)
}

/// `published_metrics`: custom metrics published besides the built-in ones.
pub fn published_metrics_var(plan: &Plan) -> Block {
    let max = sm::MAX_PUBLISHED_METRICS;
    let built_in = quoted_list(sm::BUILT_IN.iter().map(|m| m.name));
    variable(
        "published_metrics",
        "list(string)",
        &format!("Custom (EMF or POST /metrics) metric names also published to CloudWatch for the services, as distributions (at most {max})."),
    )
    .attr("default", str_list(&plan.config.service_metrics.custom_metrics))
    .block(validation(
        Expr::raw(format!(
            "length(var.published_metrics) <= {max} && alltrue([for m in var.published_metrics : can(regex(\"{}\", m)) && !contains([{built_in}], m)])",
            contract::names::METRIC_NAME_PATTERN
        )),
        &format!("published_metrics: at most {max} metric names (A-Z a-z 0-9 . _ : / -, up to 255 characters), none of the built-in {built_in}."),
    ))
}

/// `composite_alarms`: whether the SLO alerts' composite alarms are created.
pub fn composite_alarms_var() -> Block {
    variable(
        "composite_alarms",
        "bool",
        "Create the composite alarms of the SLO alerts (the only SLO alarms that notify). Only for emulators that cannot create composite alarms: false leaves SLO alerts silent.",
    )
    .attr("default", true)
}

/// Whether any active alarm is an SLO alert.
pub fn has_slo(plan: &Plan) -> bool {
    plan.alarms
        .iter()
        .any(|a| matches!(a.descriptor.render, Render::Slo))
}

/// The alarm-name suffixes of a per-service alarm that notify (and get a runbook), with the SLO
/// context of each: `""` for service alarms; `""` and `"-ticket"` for SLO alerts.
pub fn notifying(a: &ActiveAlarm) -> Vec<(&'static str, Option<SloContext>)> {
    match a.descriptor.render {
        Render::Slo => severities(a)
            .into_iter()
            .map(|(suffix, windows)| (suffix, Some(slo_context(a, windows))))
            .collect(),
        _ => vec![("", None)],
    }
}
