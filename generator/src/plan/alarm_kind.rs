//! Alarm kinds: the one place a kind is defined. [`AlarmKind::descriptor`] is an exhaustive
//! match, so a new variant does not compile until it says what it needs, what it takes, how it is
//! validated, how it is described and what it queries; every other site reads the descriptor.

use crate::config::model::{Alarm, Comparison, MissingData};
use crate::hcl::{Block, Expr};
use crate::module::alarms::{api_dims, math_query, metric_query, throttle_queries};
use crate::module::service_alarms::{self, ServiceQuery};
use contract::table::TIMESTAMP_INDEX as INDEX_NAME;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// 100 * 5XXError / Count of the API stage (metric math).
    #[serde(rename = "api_5xx_rate")]
    Api5xxRate,
    /// A latency percentile (extended statistic) of the API stage, in ms.
    ApiLatency,
    /// Errors of one Lambda function.
    LambdaErrors,
    /// ReadThrottleEvents + WriteThrottleEvents of the table (metric math).
    DynamodbThrottles,
    /// ReadThrottleEvents + WriteThrottleEvents of the TimestampIndex GSI (metric math): its
    /// partition key is the minute, so every service writes the same index partition each minute.
    DynamodbIndexThrottles,
    /// Per service: 100 * Errors / Requests (metric math on the published service metrics).
    ServiceErrorRate,
    /// Per service: a percentile of the published `Latency` distribution, in ms.
    ServiceLatency,
    /// Per service: `Requests` below a floor (silence is broken) or above a ceiling.
    ServiceTraffic,
    /// Per service: any published metric, with a statistic and a comparison.
    ServiceMetric,
    /// Per service: multiwindow, multi-burn-rate SLO alerts (metric-math children joined by a
    /// composite alarm, the only one that notifies).
    Slo,
}

/// When an alarm of a kind is generated (the alarms component being on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Always.
    Nothing,
    /// When the API component is on.
    Api,
    /// When the alarm's `function` is deployed.
    ItsFunction,
}

/// An input a sub-module declares because of what it watches (alarms module, dashboard), in the
/// order the sub-module declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    /// `api_name` and `api_stage_name`.
    Api,
    /// `function_names`, keyed by the slugs of the functions watched.
    FunctionNames,
    /// `table_name`.
    TableName,
    /// `services` (the map the per-service alarms `for_each` over) and the namespace they read.
    Services,
}

/// Whether an alarm field may (or must) be set for a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Required,
    Optional,
    Forbidden,
}

/// How a kind's resources are written.
#[derive(Clone, Copy)]
pub enum Render {
    /// One `aws_cloudwatch_metric_alarm` on the stack; the fn adds its metric or queries.
    Stack(fn(Block, &Alarm) -> Block),
    /// One `aws_cloudwatch_metric_alarm` per service (`for_each`); the fn gives the value query.
    Service(fn(&Alarm) -> ServiceQuery),
    /// Burn-rate children and composite alarms per service.
    Slo,
}

/// Everything the generator knows about one alarm kind.
pub struct KindDescriptor {
    /// The kind's name in `monitoring.toml`.
    pub name: &'static str,
    /// When an alarm of this kind is active.
    pub needs: Needs,
    /// The alarms module's inputs this kind reads.
    pub inputs: &'static [Input],
    /// `function`: which Lambda function (only `lambda_errors`).
    pub function: Field,
    /// `percentile`: the latency statistic.
    pub percentile: Field,
    /// `metric` and `statistic` (only `service_metric`).
    pub metric: Field,
    /// `comparison`, with the kind's default.
    pub comparison: (Field, Comparison),
    /// `treat_missing_data` default (a traffic floor overrides it to `breaching`).
    pub missing_data: MissingData,
    /// `anomaly_band` allowed.
    pub anomaly: bool,
    /// `window_days` and `ticket` (only `slo`).
    pub slo: Field,
    /// An upper bound of the threshold, with the message when it is exceeded.
    pub max_threshold: Option<(f64, &'static str)>,
    /// The alarm's description when the config gives none.
    pub default_description: fn(&Alarm) -> String,
    /// How its resources are written.
    pub render: Render,
}

impl KindDescriptor {
    /// One alarm per service in `var.services`.
    pub fn per_service(&self) -> bool {
        self.inputs.contains(&Input::Services)
    }
}

impl AlarmKind {
    /// Every kind, in declaration order (a test checks it against serde's list of variants).
    pub const ALL: [AlarmKind; 10] = [
        AlarmKind::Api5xxRate,
        AlarmKind::ApiLatency,
        AlarmKind::LambdaErrors,
        AlarmKind::DynamodbThrottles,
        AlarmKind::DynamodbIndexThrottles,
        AlarmKind::ServiceErrorRate,
        AlarmKind::ServiceLatency,
        AlarmKind::ServiceTraffic,
        AlarmKind::ServiceMetric,
        AlarmKind::Slo,
    ];

    pub fn as_str(self) -> &'static str {
        self.descriptor().name
    }

    /// The one definition of each kind.
    pub fn descriptor(self) -> &'static KindDescriptor {
        match self {
            AlarmKind::Api5xxRate => &KindDescriptor {
                name: "api_5xx_rate",
                needs: Needs::Api,
                inputs: &[Input::Api],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: Some((100.0, "is a percentage of requests: must be <= 100")),
                default_description: |_| {
                    "More than the threshold percent of API requests failed with 5XX.".into()
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Forbidden,
                render: Render::Stack(api_5xx_rate_query),
            },
            AlarmKind::ApiLatency => &KindDescriptor {
                name: "api_latency",
                needs: Needs::Api,
                inputs: &[Input::Api],
                function: Field::Forbidden,
                percentile: Field::Optional,
                max_threshold: None,
                default_description: |a| {
                    format!(
                        "API {} latency is above the threshold (ms).",
                        a.percentile_or_default()
                    )
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Forbidden,
                render: Render::Stack(api_latency_query),
            },
            AlarmKind::LambdaErrors => &KindDescriptor {
                name: "lambda_errors",
                needs: Needs::ItsFunction,
                inputs: &[Input::FunctionNames],
                function: Field::Required,
                percentile: Field::Forbidden,
                max_threshold: None,
                default_description: |a| {
                    format!(
                        "The {} function reported errors.",
                        a.function.map(|f| f.slug()).unwrap_or("?")
                    )
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Forbidden,
                render: Render::Stack(lambda_errors_query),
            },
            AlarmKind::DynamodbThrottles => &KindDescriptor {
                name: "dynamodb_throttles",
                needs: Needs::Nothing,
                inputs: &[Input::TableName],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: None,
                default_description: |_| {
                    "The ApplicationMetrics table throttled reads or writes.".into()
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Forbidden,
                render: Render::Stack(|block, a| {
                    throttle_queries(
                        block,
                        "Throttled read + write events",
                        Expr::object([("TableName", Expr::reference("var.table_name"))]),
                        a.period_seconds,
                    )
                }),
            },
            AlarmKind::DynamodbIndexThrottles => &KindDescriptor {
                name: "dynamodb_index_throttles",
                needs: Needs::Nothing,
                inputs: &[Input::TableName],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: None,
                default_description: |_| {
                    format!(
                        "The {INDEX_NAME} index throttled reads or writes (every service writes the same index partition each minute)."
                    )
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Forbidden,
                render: Render::Stack(dynamodb_index_throttles_query),
            },
            AlarmKind::ServiceErrorRate => &KindDescriptor {
                name: "service_error_rate",
                needs: Needs::Nothing,
                inputs: &[Input::Services],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: Some((100.0, "is a percentage of requests: must be <= 100")),
                default_description: |_| {
                    "More than the threshold percent of the service's requests failed.".into()
                },
                metric: Field::Forbidden,
                comparison: (Field::Optional, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: true,
                slo: Field::Forbidden,
                render: Render::Service(service_alarms::error_rate),
            },
            AlarmKind::ServiceLatency => &KindDescriptor {
                name: "service_latency",
                needs: Needs::Nothing,
                inputs: &[Input::Services],
                function: Field::Forbidden,
                percentile: Field::Optional,
                max_threshold: None,
                default_description: |a| {
                    format!(
                        "The service's {} latency is above the threshold (ms).",
                        a.percentile_or_default()
                    )
                },
                metric: Field::Forbidden,
                comparison: (Field::Optional, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: true,
                slo: Field::Forbidden,
                render: Render::Service(service_alarms::latency),
            },
            AlarmKind::ServiceTraffic => &KindDescriptor {
                name: "service_traffic",
                needs: Needs::Nothing,
                inputs: &[Input::Services],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: None,
                default_description: traffic_description,
                metric: Field::Forbidden,
                comparison: (Field::Optional, Comparison::LessThanThreshold),
                missing_data: MissingData::Breaching,
                anomaly: true,
                slo: Field::Forbidden,
                render: Render::Service(service_alarms::traffic),
            },
            AlarmKind::ServiceMetric => &KindDescriptor {
                name: "service_metric",
                needs: Needs::Nothing,
                inputs: &[Input::Services],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                max_threshold: None,
                default_description: |a| {
                    format!(
                        "The service's {} {} crossed the threshold.",
                        a.metric.as_deref().unwrap_or("?"),
                        a.statistic.as_deref().unwrap_or("?")
                    )
                },
                metric: Field::Required,
                comparison: (Field::Optional, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: true,
                slo: Field::Forbidden,
                render: Render::Service(service_alarms::metric),
            },
            AlarmKind::Slo => &KindDescriptor {
                name: "slo",
                needs: Needs::Nothing,
                inputs: &[Input::Services],
                function: Field::Forbidden,
                percentile: Field::Forbidden,
                // The target's range is the contract's (`slo::validate_target`).
                max_threshold: None,
                default_description: |a| {
                    format!(
                        "The service is burning its {}% / {}-day error budget too fast (SRE workbook multiwindow, multi-burn-rate alert).",
                        a.threshold,
                        a.window_days_or_default()
                    )
                },
                metric: Field::Forbidden,
                comparison: (Field::Forbidden, Comparison::GreaterThanThreshold),
                missing_data: MissingData::NotBreaching,
                anomaly: false,
                slo: Field::Optional,
                render: Render::Slo,
            },
        }
    }
}

fn traffic_description(a: &Alarm) -> String {
    let more = matches!(
        a.comparison,
        Some(Comparison::GreaterThanThreshold | Comparison::GreaterThanOrEqualToThreshold)
    );
    match (more, a.anomaly_band) {
        (true, false) => "The service received more requests per period than the ceiling.",
        (true, true) => "The service received more requests than CloudWatch's expected band.",
        (false, false) => {
            "The service received fewer requests per period than the floor (a silent service is broken)."
        }
        (false, true) => {
            "The service received fewer requests than CloudWatch's expected band (a silent service is broken)."
        }
    }
    .into()
}

fn api_5xx_rate_query(block: Block, a: &Alarm) -> Block {
    let period = a.period_seconds;
    block
        .comment(
            "Rate, not count: errors / requests, so quiet periods do not alarm on one failure.",
        )
        .block(math_query(
            "rate",
            "IF(requests > 0, 100 * errors / requests, 0)",
            "5XX rate (%)",
        ))
        .block(metric_query(
            "errors",
            "AWS/ApiGateway",
            "5XXError",
            "Sum",
            period,
            api_dims(),
        ))
        .block(metric_query(
            "requests",
            "AWS/ApiGateway",
            "Count",
            "Sum",
            period,
            api_dims(),
        ))
}

fn api_latency_query(block: Block, a: &Alarm) -> Block {
    block
        .attr("namespace", "AWS/ApiGateway")
        .attr("metric_name", "Latency")
        .attr("extended_statistic", a.percentile_or_default())
        .attr("period", a.period_seconds)
        .attr("dimensions", api_dims())
        .comment("\"evaluate\", not \"ignore\": CloudWatch counts a p99 period as low-sample below")
        .comment("10/(1-0.99) = 1000 requests (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/percentiles-with-low-samples.html),")
        .comment("so \"ignore\" would leave the alarm blind on any API under ~17 requests/s. Noise from")
        .comment("a few slow requests is damped by needing every one of evaluation_periods to breach.")
        .attr("evaluate_low_sample_count_percentiles", "evaluate")
}

fn lambda_errors_query(block: Block, a: &Alarm) -> Block {
    block
        .attr("namespace", "AWS/Lambda")
        .attr("metric_name", "Errors")
        .attr("statistic", "Sum")
        .attr("period", a.period_seconds)
        .attr(
            "dimensions",
            Expr::object([(
                "FunctionName",
                Expr::raw(format!(
                    "var.function_names[\"{}\"]",
                    a.function.map(|f| f.slug()).unwrap_or_default()
                )),
            )]),
        )
}

fn dynamodb_index_throttles_query(block: Block, a: &Alarm) -> Block {
    // DynamoDB publishes a GSI's throttle events under TableName + GlobalSecondaryIndexName;
    // the TableName-only series (the dynamodb_throttles alarm) does not include them
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html,
    // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TroubleshootingThrottling-cloudwatch.html).
    let block = block
        .comment(
            "TimestampIndex's partition key is the minute: every service writes the same index",
        )
        .comment("partition each minute, the stack's hot spot.");
    throttle_queries(
        block,
        "Throttled index read + write events",
        Expr::object([
            ("TableName", Expr::reference("var.table_name")),
            ("GlobalSecondaryIndexName", Expr::str(INDEX_NAME)),
        ]),
        a.period_seconds,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_variant_under_its_config_name() {
        // serde's unknown-variant error lists every variant: ALL must name the same, in order.
        let err = serde_json::from_str::<AlarmKind>("\"?\"")
            .unwrap_err()
            .to_string();
        let names: Vec<&str> = AlarmKind::ALL.iter().map(|k| k.as_str()).collect();
        let expected = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        assert!(err.contains(&expected), "{err} vs {expected}");
        for kind in AlarmKind::ALL {
            let back: AlarmKind = serde_json::from_value(kind.as_str().into()).expect("parses");
            assert_eq!(back, kind);
            assert_eq!(
                kind.descriptor().function == Field::Required,
                kind.descriptor().needs == Needs::ItsFunction,
                "{}: a kind needs its function exactly when the function is required",
                kind.as_str()
            );
        }
    }
}
