//! The environment variables the module sets on each function: every name once, here. The
//! generator writes each function's `environment` block from [`keys`] (and nothing else), and each
//! function's `Config::from_lookup` reads its variables by these constants; tests on both sides
//! check that the two sets agree (generator: `module::functions` tests; functions: their
//! `config` tests).

use crate::Function;

/// Name of the `ApplicationMetrics` table (every function).
pub const METRICS_TABLE: &str = "METRICS_TABLE";
/// Log level of the function's structured logs: `trace`, `debug`, `info`, `warn` or `error`
/// (every function; read by `metrics_core::aws::init_tracing`, `RUST_LOG` overrides it).
pub const LOG_LEVEL: &str = "LOG_LEVEL";

/// Key prefix of the log objects, e.g. `logs/`; a key `<prefix><service>/...` names the service
/// of lines that carry none (log processor).
pub const LOGS_PREFIX: &str = "LOGS_PREFIX";

/// CloudWatch namespace of the services' own metrics, `<name_prefix>/Services`
/// ([`crate::service_metrics::namespace`]; log processor and metrics API publish there, the runbook
/// executor reads SLO burn rates from it).
pub const SERVICE_METRICS_NAMESPACE: &str = "SERVICE_METRICS_NAMESPACE";
/// The services whose metrics are published to CloudWatch, comma-separated (the keys of the
/// module's `services` map); the others' groups are counted and logged as not published.
pub const PUBLISHED_SERVICES: &str = "PUBLISHED_SERVICES";
/// Custom (EMF / API) metrics published besides the built-in ones, comma-separated.
pub const PUBLISHED_METRICS: &str = "PUBLISHED_METRICS";

/// Origins the metrics API answers CORS requests for, comma-separated, or `*` (metrics API).
pub const CORS_ALLOWED_ORIGINS: &str = "CORS_ALLOWED_ORIGINS";
/// Largest request body the metrics API accepts, in bytes (metrics API).
pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";

/// ARN of the notification topic the runbook executor publishes its messages to (runbook
/// executor): the module's `<name_prefix>-notifications`, where on-call's e-mail subscriptions
/// are; not the alarm topic CloudWatch publishes to (docs/design.md, "Topic layout").
pub const NOTIFICATION_TOPIC_ARN: &str = "NOTIFICATION_TOPIC_ARN";
/// SSM parameter name prefix of the runbooks: alarm `A`'s runbook is `<prefix>A`.
pub const RUNBOOK_PARAMETER_PREFIX: &str = "RUNBOOK_PARAMETER_PREFIX";
/// `true`: the runbook executor logs its plan and touches nothing.
pub const DRY_RUN: &str = "DRY_RUN";
/// CloudWatch namespace of the runbooks' `put_metric` steps.
pub const METRIC_NAMESPACE: &str = "METRIC_NAMESPACE";
/// Days the runbook executor keeps incident records.
pub const INCIDENT_TTL_DAYS: &str = "INCIDENT_TTL_DAYS";
/// Days the writers keep minute items, hourly and daily rollups (blank: for ever); bounds
/// [`crate::table::MIN_RETENTION_DAYS`]..=[`crate::table::MAX_RETENTION_DAYS`].
pub const MINUTE_RETENTION_DAYS: &str = "MINUTE_RETENTION_DAYS";
pub const HOUR_RETENTION_DAYS: &str = "HOUR_RETENTION_DAYS";
pub const DAY_RETENTION_DAYS: &str = "DAY_RETENTION_DAYS";
/// The three, finest first (the writers set the TTL of each resolution from one of them).
pub const RETENTION_DAYS: [&str; 3] = [
    MINUTE_RETENTION_DAYS,
    HOUR_RETENTION_DAYS,
    DAY_RETENTION_DAYS,
];

/// The log levels [`LOG_LEVEL`] accepts (the module variable `log_level` is validated against
/// the same list).
pub const LOG_LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];

/// Every variable the module sets on the function, in the order it writes them.
pub const fn keys(f: Function) -> &'static [&'static str] {
    match f {
        Function::LogProcessor => &[
            METRICS_TABLE,
            LOGS_PREFIX,
            SERVICE_METRICS_NAMESPACE,
            PUBLISHED_SERVICES,
            PUBLISHED_METRICS,
            MINUTE_RETENTION_DAYS,
            HOUR_RETENTION_DAYS,
            DAY_RETENTION_DAYS,
            LOG_LEVEL,
        ],
        Function::MetricsApi => &[
            METRICS_TABLE,
            SERVICE_METRICS_NAMESPACE,
            PUBLISHED_SERVICES,
            PUBLISHED_METRICS,
            CORS_ALLOWED_ORIGINS,
            MAX_BODY_BYTES,
            MINUTE_RETENTION_DAYS,
            HOUR_RETENTION_DAYS,
            DAY_RETENTION_DAYS,
            LOG_LEVEL,
        ],
        Function::RunbookExecutor => &[
            METRICS_TABLE,
            NOTIFICATION_TOPIC_ARN,
            RUNBOOK_PARAMETER_PREFIX,
            DRY_RUN,
            METRIC_NAMESPACE,
            SERVICE_METRICS_NAMESPACE,
            INCIDENT_TTL_DAYS,
            LOG_LEVEL,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_gets_the_table_and_the_log_level_once() {
        for f in Function::ALL {
            let keys = keys(f);
            assert!(
                keys.contains(&METRICS_TABLE) && keys.contains(&LOG_LEVEL),
                "{f:?}"
            );
            let mut sorted = keys.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), keys.len(), "{f:?}: duplicate key");
        }
    }
}
