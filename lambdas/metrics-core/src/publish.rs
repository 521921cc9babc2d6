//! The services' own metrics in CloudWatch: what a store commit newly applied becomes
//! `PutMetricData` requests (`contract::service_metrics` holds every name and limit).
//!
//! * [`PublishPolicy`] — the namespace, the published services and the opted-in custom metrics,
//!   from the function's environment (`SERVICE_METRICS_NAMESPACE`, `PUBLISHED_SERVICES`,
//!   `PUBLISHED_METRICS`).
//! * [`plan`] — pure: a batch plus the keys [`crate::MetricStore::apply`] wrote
//!   ([`crate::ApplyReport::applied`]) → datums packed into requests, and counts of what is not
//!   sent and why. Only the batch's own contribution to the groups it newly applied is published,
//!   never the merged item, so a replayed source (whose groups are all already applied) publishes
//!   nothing.
//! * [`MetricPublisher`] — the typed client (`cloudwatch:PutMetricData` only) that sends a plan.
//!   A failed request after the SDK's own retries is logged and counted, never an error of the
//!   caller: the commit has happened, and a retry of the invocation would publish nothing.
//!
//! Shapes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html):
//! `Requests` and `Errors` are one `Value` each (the minute's sum; `Errors` = 0 when the group has
//! none, so `Errors / Requests` alarm math always has both operands); `Latency` and the custom
//! metrics are `Values` + `Counts` from the sketch's buckets, at most
//! [`MAX_VALUES_PER_REQUEST`] values per request in all (a minute with more buckets is several
//! datums of the same metric and timestamp, in several requests; CloudWatch aggregates them). The bucket values are within
//! the sketch's 1% of the values they stand for, so CloudWatch's percentiles, sums and averages
//! of a distribution are too; counts are exact.

use crate::aggregate::{Aggregate, Batch, GroupKey};
use crate::env::{invalid, ConfigError, Env, FromEnv};
use crate::minute::Minute;
use crate::service::{validate_metric_name, validate_service_name};
use contract::env::{PUBLISHED_METRICS, PUBLISHED_SERVICES, SERVICE_METRICS_NAMESPACE};
use contract::iam::{AwsClient, Operation};
use contract::service_metrics::{
    Shape, BUILT_IN, CUSTOM_UNIT, DIMENSION, ERRORS, LATENCY, LIST_SEPARATOR, MAX_AGE_SECONDS,
    MAX_DATUMS_PER_REQUEST, MAX_FUTURE_SECONDS, MAX_PUBLISHED_METRICS, MAX_PUBLISHED_SERVICES,
    MAX_REQUEST_BYTES, MAX_VALUES_PER_REQUEST, REQUESTS,
};
use serde::Serialize;
use std::collections::BTreeSet;

/// Minutes this close to either end of CloudWatch's accepted window (two weeks back, two hours
/// ahead: `MAX_AGE_SECONDS`, `MAX_FUTURE_SECONDS`,
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html) are
/// not sent: the request reaches CloudWatch seconds after `now` (SDK retries included), and a
/// datum outside the window is an invalid parameter of the whole request, not of itself.
pub const WINDOW_MARGIN_SECONDS: i64 = 600;
/// Unlisted services named in a [`Plan`] (examples for the log line; the count is exact).
pub const MAX_EXAMPLES: usize = 5;

/// What is published, from the function's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPolicy {
    /// `SERVICE_METRICS_NAMESPACE`: `<name_prefix>/Services` (`contract::service_metrics::namespace`).
    pub namespace: String,
    /// `PUBLISHED_SERVICES`: only these services' groups are published (empty: none).
    pub services: BTreeSet<String>,
    /// `PUBLISHED_METRICS`: custom metrics published besides the built-in ones, by stored name.
    pub custom_metrics: Vec<String>,
}

impl PublishPolicy {
    pub fn publishes(&self, service: &str) -> bool {
        self.services.contains(service)
    }
}

impl FromEnv for PublishPolicy {
    fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError> {
        let namespace = env.required(SERVICE_METRICS_NAMESPACE)?.trim().to_owned();
        validate_namespace(&namespace).map_err(|r| invalid(SERVICE_METRICS_NAMESPACE, r))?;
        let services = list(env, PUBLISHED_SERVICES, MAX_PUBLISHED_SERVICES, |s| {
            validate_service_name(s).map_err(|e| e.to_string())
        })?;
        let custom_metrics = list(env, PUBLISHED_METRICS, MAX_PUBLISHED_METRICS, |m| {
            validate_metric_name(m).map_err(|e| e.to_string())?;
            match BUILT_IN.iter().find(|b| b.stored == m || b.name == m) {
                Some(b) => Err(format!(
                    "{m:?} is a built-in metric ({}), always published",
                    b.name
                )),
                None => Ok(()),
            }
        })?;
        Ok(PublishPolicy {
            namespace,
            services: services.into_iter().collect(),
            custom_metrics,
        })
    }
}

/// A custom namespace CloudWatch accepts: 1–255 of `0-9A-Za-z . - _ / # :` and space, not
/// starting with `:` or `AWS/` (reserved for AWS services)
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html,
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Namespace).
pub fn validate_namespace(ns: &str) -> Result<(), String> {
    let ok_chars = ns
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b));
    if ns.is_empty() || ns.len() > 255 || !ok_chars {
        return Err(format!(
            "expected 1-255 characters of A-Z a-z 0-9 . - _ / # : and space, got {:?}",
            ns.chars().take(64).collect::<String>()
        ));
    }
    if ns.starts_with(':') || ns.starts_with("AWS/") {
        return Err(format!("{ns:?} may not start with ':' or 'AWS/'"));
    }
    Ok(())
}

/// A comma-separated list: blank or unset is empty; each item trimmed, checked, unique.
fn list(
    env: &Env<impl Fn(&str) -> Option<String>>,
    name: &str,
    max: usize,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = env.optional(name)? else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(LIST_SEPARATOR).map(str::trim) {
        if item.is_empty() {
            return Err(invalid(name, format!("empty item in {raw:?}")));
        }
        check(item).map_err(|r| invalid(name, r))?;
        if out.iter().any(|o| o == item) {
            return Err(invalid(name, format!("{item:?} is listed twice")));
        }
        out.push(item.to_owned());
    }
    if out.len() > max {
        return Err(invalid(
            name,
            format!("{} items, at most {max} are allowed", out.len()),
        ));
    }
    Ok(out)
}

/// The data of one datum.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `Value`.
    Value(f64),
    /// `Values` + `Counts`, same length (1..=[`MAX_VALUES_PER_REQUEST`]), values distinct ("each
    /// unique value is listed just once"), finite and within ±2^360
    /// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html;
    /// stored values are within ±1e30).
    Distribution { values: Vec<f64>, counts: Vec<f64> },
}

/// One `MetricDatum`: `metric` of `service` (the one dimension) at `minute`.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    /// The published name (`Requests`, `Errors`, `Latency`, or a custom metric's own name).
    pub metric: String,
    pub service: String,
    pub minute: Minute,
    pub unit: &'static str,
    pub data: Data,
}

impl Datum {
    /// Values this datum carries (1 for a `Value`).
    pub fn value_count(&self) -> usize {
        match &self.data {
            Data::Value(_) => 1,
            Data::Distribution { values, .. } => values.len(),
        }
    }

    /// The observations it stands for (the sum of its counts; 1 for a `Value`).
    pub fn sample_count(&self) -> f64 {
        match &self.data {
            Data::Value(_) => 1.0,
            Data::Distribution { counts, .. } => counts.iter().sum(),
        }
    }

    /// A conservative bound on the bytes this datum adds to a request. The pinned SDK speaks
    /// awsQuery: a form-encoded body where every field is `MetricData.member.N.<path>=<value>&`.
    /// Names are counted as if every byte were percent-encoded (3 bytes), numbers as 32 bytes
    /// (f64 needs at most 24 characters), each value twice (its `Values` and `Counts` entries).
    pub fn estimated_bytes(&self) -> usize {
        const PREFIX: usize = "MetricData.member.1000.".len() + 1;
        const FIXED: usize = 6 * PREFIX
            + "MetricName=".len()
            + "Dimensions.member.1.Name=".len()
            + DIMENSION.len() * 3
            + "Dimensions.member.1.Value=".len()
            + "Timestamp=".len()
            + "2026-11-29T18%3A05%3A00.000Z".len()
            + "Unit=".len()
            + "Milliseconds".len();
        const NUMBER: usize = 32;
        const PER_VALUE: usize = 2 * (PREFIX + "Values.member.150=".len() + NUMBER);
        FIXED + 3 * (self.metric.len() + self.service.len()) + PER_VALUE * self.value_count()
    }
}

/// Bytes of a request besides its datums (action, version, namespace), conservatively.
pub fn request_overhead_bytes(namespace: &str) -> usize {
    "Action=PutMetricData&Version=2010-08-01&Namespace=".len() + 3 * namespace.len() + 64
}

/// What one commit's groups become: requests to send, and what is not sent and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub namespace: String,
    /// Each at most [`MAX_DATUMS_PER_REQUEST`] datums and [`MAX_REQUEST_BYTES`] (estimated).
    pub requests: Vec<Vec<Datum>>,
    /// Newly applied groups of published services inside CloudWatch's time window.
    pub groups_published: usize,
    /// Newly applied groups of services not in `PUBLISHED_SERVICES`.
    pub groups_not_published: usize,
    /// Some of those services (at most [`MAX_EXAMPLES`], sorted).
    pub not_published_services: Vec<String>,
    /// Groups of published services older than CloudWatch accepts (they stay in the table).
    pub too_old_for_cloudwatch: usize,
    /// Groups of published services further ahead than CloudWatch accepts.
    pub too_new_for_cloudwatch: usize,
}

impl Plan {
    pub fn datums(&self) -> usize {
        self.requests.iter().map(Vec::len).sum()
    }
}

/// Plans the datums of the groups `applied` (the keys this commit wrote) of `batch` (the
/// source's own contribution), under `policy`, at `now` (epoch seconds). Pure and cheap: it
/// runs once per object or request, never per line.
pub fn plan(batch: &Batch, applied: &[GroupKey], policy: &PublishPolicy, now: i64) -> Plan {
    let mut plan = Plan {
        namespace: policy.namespace.clone(),
        ..Plan::default()
    };
    let mut unlisted: BTreeSet<&str> = BTreeSet::new();
    let earliest = now - MAX_AGE_SECONDS + WINDOW_MARGIN_SECONDS;
    let latest = now + MAX_FUTURE_SECONDS - WINDOW_MARGIN_SECONDS;
    let mut packer = Packer::new(&policy.namespace);
    for key in applied {
        let Some(metrics) = batch.0.get(key) else {
            continue;
        };
        if !policy.publishes(&key.service) {
            plan.groups_not_published += 1;
            unlisted.insert(&key.service);
            continue;
        }
        let t = key.minute.epoch_seconds();
        if t < earliest {
            plan.too_old_for_cloudwatch += 1;
            continue;
        }
        if t > latest {
            plan.too_new_for_cloudwatch += 1;
            continue;
        }
        plan.groups_published += 1;
        for m in [REQUESTS, ERRORS] {
            let sum = metrics.get(m.stored).map_or(0.0, |a| a.sum);
            packer.push(datum(key, m.name, m.unit, Data::Value(sum)));
        }
        let built_in_latency = (LATENCY.stored, LATENCY.name, LATENCY.unit);
        let custom = policy
            .custom_metrics
            .iter()
            .map(|c| (c.as_str(), c.as_str(), CUSTOM_UNIT));
        for (stored, name, unit) in std::iter::once(built_in_latency).chain(custom) {
            if let Some(agg) = metrics.get(stored) {
                for data in distribution(agg) {
                    packer.push(datum(key, name, unit, data));
                }
            }
        }
    }
    plan.requests = packer.finish();
    plan.not_published_services = unlisted
        .into_iter()
        .take(MAX_EXAMPLES)
        .map(str::to_owned)
        .collect();
    plan
}

const _: () = assert!(matches!(REQUESTS.shape, Shape::Count));
const _: () = assert!(matches!(ERRORS.shape, Shape::Count));
const _: () = assert!(matches!(LATENCY.shape, Shape::Distribution));

fn datum(key: &GroupKey, name: &str, unit: &'static str, data: Data) -> Datum {
    Datum {
        metric: name.to_owned(),
        service: key.service.clone(),
        minute: key.minute,
        unit,
        data,
    }
}

/// The sketch's buckets as `Values` + `Counts`, [`MAX_VALUES_PER_REQUEST`] at a time.
pub fn distribution(agg: &Aggregate) -> Vec<Data> {
    let mut out = Vec::with_capacity(agg.sketch.bin_count().div_ceil(MAX_VALUES_PER_REQUEST));
    let (mut values, mut counts) = (Vec::new(), Vec::new());
    for (v, c) in agg.sketch.bins() {
        values.push(v);
        counts.push(c as f64);
        if values.len() == MAX_VALUES_PER_REQUEST {
            out.push(Data::Distribution {
                values: std::mem::take(&mut values),
                counts: std::mem::take(&mut counts),
            });
        }
    }
    if !values.is_empty() {
        out.push(Data::Distribution { values, counts });
    }
    out
}

/// Greedy packing into requests of ≤ 1000 datums, ≤ [`MAX_VALUES_PER_REQUEST`] `Values` in all
/// and ≤ 1 MB (estimated): "each PutMetricData
/// request is limited to 1 MB in size for HTTP POST requests ... no more than 1000 different
/// metrics" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
/// The estimate is of the uncompressed body: the SDK gzips bodies over 10 KB, which CloudWatch
/// accepts, but the limit is not documented as applying after compression.
struct Packer {
    overhead: usize,
    requests: Vec<Vec<Datum>>,
    current: Vec<Datum>,
    bytes: usize,
    /// `Values` entries in `current`.
    values: usize,
}

impl Packer {
    fn new(namespace: &str) -> Packer {
        let overhead = request_overhead_bytes(namespace);
        Packer {
            overhead,
            requests: Vec::new(),
            current: Vec::new(),
            bytes: overhead,
            values: 0,
        }
    }

    fn push(&mut self, d: Datum) {
        let size = d.estimated_bytes();
        let values = match &d.data {
            Data::Distribution { values, .. } => values.len(),
            Data::Value(_) => 0,
        };
        let full = self.current.len() == MAX_DATUMS_PER_REQUEST
            || self.bytes + size > MAX_REQUEST_BYTES
            || self.values + values > MAX_VALUES_PER_REQUEST;
        if full && !self.current.is_empty() {
            self.requests.push(std::mem::take(&mut self.current));
            self.bytes = self.overhead;
            self.values = 0;
        }
        self.bytes += size;
        self.values += values;
        self.current.push(d);
    }

    fn finish(mut self) -> Vec<Vec<Datum>> {
        if !self.current.is_empty() {
            self.requests.push(self.current);
        }
        self.requests
    }
}

/// What sending a plan did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// PutMetricData requests made (each after the SDK's own retries).
    pub put_metric_data_requests: usize,
    pub datums_published: usize,
    /// Datums of requests that failed after the SDK's retries (logged as errors).
    pub datums_not_published: usize,
}

/// One line's worth of what a commit's publishing did: the plan's counts and the sending's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishSummary {
    pub groups_published: usize,
    pub groups_not_published: usize,
    pub not_published_services: Vec<String>,
    pub too_old_for_cloudwatch: usize,
    pub too_new_for_cloudwatch: usize,
    #[serde(flatten)]
    pub sent: PublishReport,
}

impl PublishSummary {
    pub fn new(plan: &Plan, sent: PublishReport) -> PublishSummary {
        PublishSummary {
            groups_published: plan.groups_published,
            groups_not_published: plan.groups_not_published,
            not_published_services: plan.not_published_services.clone(),
            too_old_for_cloudwatch: plan.too_old_for_cloudwatch,
            too_new_for_cloudwatch: plan.too_new_for_cloudwatch,
            sent,
        }
    }
}

/// The services' metrics namespace in CloudWatch: `PutMetricData` and nothing else.
#[derive(Clone)]
pub struct MetricPublisher(aws_sdk_cloudwatch::Client);

impl AwsClient for MetricPublisher {
    const OPERATIONS: &'static [Operation] = &[Operation::CloudWatchPutMetricData];
}

impl MetricPublisher {
    /// From the shared SDK configuration (`AWS_ENDPOINT_URL` honoured, like every client).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_cloudwatch::Client::new(config))
    }

    pub fn from_client(client: aws_sdk_cloudwatch::Client) -> Self {
        Self(client)
    }

    /// Sends every request of `plan`, [`CONCURRENT_REQUESTS`] at a time. The SDK retries
    /// throttling and transient failures (standard retry mode, 3 attempts:
    /// https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html); a request
    /// that still fails is logged as an error with its counts and reported in
    /// `datums_not_published`, and the others are still sent: this runs after the store commit,
    /// so failing the invocation would not publish anything again. PutMetricData has no
    /// idempotency token (API_PutMetricData.html), so an SDK resend of a request whose response
    /// was lost is the one way a datum can reach CloudWatch twice.
    pub async fn publish(&self, plan: &Plan) -> PublishReport {
        use aws_sdk_cloudwatch::error::DisplayErrorContext;
        use futures_util::stream::{self, StreamExt};
        let total = plan.requests.len();
        let sends = plan.requests.iter().enumerate().map(|(i, request)| async move {
            let result = self
                .0
                .put_metric_data()
                .namespace(&plan.namespace)
                .set_metric_data(Some(request.iter().map(to_sdk).collect()))
                .send()
                .await;
            if let Err(e) = &result {
                tracing::error!(
                    namespace = %plan.namespace,
                    request = i + 1,
                    requests = total,
                    datums = request.len(),
                    error = %DisplayErrorContext(e),
                    "PutMetricData failed after retries; these datums are not in CloudWatch (the table has them)"
                );
            }
            (request.len(), result.is_ok())
        });
        let mut results = stream::iter(sends).buffer_unordered(CONCURRENT_REQUESTS);
        let mut report = PublishReport::default();
        while let Some((datums, ok)) = results.next().await {
            report.put_metric_data_requests += 1;
            if ok {
                report.datums_published += datums;
            } else {
                report.datums_not_published += datums;
            }
        }
        report
    }
}

/// PutMetricData requests in flight at once. A request holds at most 150 distribution values, so
/// an object costs about one or two requests per (service, minute) with latency (the benchmark's
/// 1 GiB object, 2 480 of them: 4 960 requests); one after the other, their round trips would
/// dominate the invocation.
pub const CONCURRENT_REQUESTS: usize = 8;

fn to_sdk(d: &Datum) -> aws_sdk_cloudwatch::types::MetricDatum {
    use aws_sdk_cloudwatch::primitives::DateTime;
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let b = MetricDatum::builder()
        .metric_name(&d.metric)
        .dimensions(
            Dimension::builder()
                .name(DIMENSION)
                .value(&d.service)
                .build(),
        )
        .timestamp(DateTime::from_secs(d.minute.epoch_seconds()))
        .unit(StandardUnit::from(d.unit));
    match &d.data {
        Data::Value(v) => b.value(*v),
        Data::Distribution { values, counts } => b
            .set_values(Some(values.clone()))
            .set_counts(Some(counts.clone())),
    }
    .build()
}

#[cfg(test)]
mod tests;
