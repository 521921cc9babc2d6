//! The applications' own metrics in CloudWatch: what the log processor and the metrics API
//! publish after each store commit, and what the service alarms, the dashboard and the runbook
//! executor read. One namespace per stack (derived from the name prefix), one dimension.
//!
//! Requests and errors are published as counts (`Value`, unit `Count`; alarms read `Sum`); latency
//! and the opted-in custom metrics as distributions (`Values` + `Counts` from the stored sketch), so
//! CloudWatch's percentiles work on them
//! (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).

/// The namespace is `<name_prefix>` followed by this.
pub const NAMESPACE_SUFFIX: &str = "/Services";

/// `<name_prefix>/Services`: every published service metric lives here.
pub fn namespace(name_prefix: &str) -> String {
    format!("{name_prefix}{NAMESPACE_SUFFIX}")
}

/// The one dimension of every published metric: the service name.
pub const DIMENSION: &str = "ServiceName";

/// How a stored metric becomes CloudWatch data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One `Value`: the minute's sum (the stored metric records 1 per request, or 1 per error).
    Count,
    /// `Values` + `Counts`: the minute's sketch, so percentiles and averages work.
    Distribution,
}

/// A built-in metric as stored (`stored`, a key of the item's metrics map) and as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub stored: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub shape: Shape,
}

/// Standard metric: one per request line (stored name `requests`).
pub const REQUESTS: Published = Published {
    stored: "requests",
    name: "Requests",
    unit: "Count",
    shape: Shape::Count,
};
/// Standard metric: 1 for a status >= 500 or level ERROR/FATAL/CRITICAL line, else 0.
pub const ERRORS: Published = Published {
    stored: "errors",
    name: "Errors",
    unit: "Count",
    shape: Shape::Count,
};
/// Standard metric: request latency in milliseconds.
pub const LATENCY: Published = Published {
    stored: "latency_ms",
    name: "Latency",
    unit: "Milliseconds",
    shape: Shape::Distribution,
};

/// Every built-in metric, always published for a published service.
pub const BUILT_IN: [Published; 3] = [REQUESTS, ERRORS, LATENCY];

/// Unit of the opted-in custom (EMF) metrics, published as distributions under their own name.
pub const CUSTOM_UNIT: &str = "None";

/// CloudWatch rejects data points older than two weeks and more than two hours in the future
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html):
/// such minutes stay in the table (the API answers them) and are counted as not published.
pub const MAX_AGE_SECONDS: i64 = 14 * 24 * 3600;
/// See [`MAX_AGE_SECONDS`].
pub const MAX_FUTURE_SECONDS: i64 = 2 * 3600;
/// `Values` arrays hold at most 150 values per request in all: "You can include up to 150 unique
/// values in each PutMetricData action that specifies a Values array"
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html). The
/// page for the action says "150 values per metric with one PutMetricData request"; the stricter
/// reading (per request) is the one AWS's own SDK metric publisher implements (aws-sdk-java-v2
/// `MetricCollectionAggregator` caps the values of all datums of a request), so it is ours.
pub const MAX_VALUES_PER_REQUEST: usize = 150;
/// A `PutMetricData` request holds at most 1000 datums and 1 MB (API_PutMetricData.html).
pub const MAX_DATUMS_PER_REQUEST: usize = 1000;
/// See [`MAX_DATUMS_PER_REQUEST`].
pub const MAX_REQUEST_BYTES: usize = 1_000_000;

/// Most services a stack publishes (and alarms on): each costs custom metrics and alarms, and the
/// list travels in a Lambda environment variable (4 KB in all).
pub const MAX_PUBLISHED_SERVICES: usize = 100;
/// Most custom metrics a stack opts into publishing.
pub const MAX_PUBLISHED_METRICS: usize = 20;

/// Separator of the lists in `PUBLISHED_SERVICES` / `PUBLISHED_METRICS` (never in a valid name).
pub const LIST_SEPARATOR: char = ',';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_the_separator_is_never_in_a_name() {
        let mut names: Vec<&str> = BUILT_IN.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BUILT_IN.len());
        assert!(crate::names::validate_service_name("a,b").is_err());
        assert!(crate::names::validate_metric_name("a,b").is_err());
        assert_eq!(namespace("appmon"), "appmon/Services");
    }
}
