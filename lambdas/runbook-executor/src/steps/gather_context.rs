//! `gather_context`: the alarm metric's recent datapoints (CloudWatch GetMetricData, the same
//! single metric or metric-math queries the alarm evaluates) and the affected service's recent
//! requests, errors and p99 latency from table `ApplicationMetrics`. For an SLO alert (the
//! runbook has `slo`), also the burn rate of each window pair and the error budget left, from the
//! services' published metrics in CloudWatch. Read-only.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use metrics_core::aggregate::{MinuteMetrics, Stat, ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::minute::Minute;

use contract::service_metrics;
use contract::slo::{self, BurnWindow, SloContext};

use super::{Done, Run};
use crate::alarm::{AlarmNotification, Dimension};
use crate::ports::BoxFuture;

/// One query of a GetMetricData request.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub label: Option<String>,
    pub expression: Option<String>,
    pub metric: Option<QueryMetric>,
    pub return_data: bool,
    /// The account of a cross-account metric, passed through as the alarm has it.
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryMetric {
    pub namespace: String,
    pub name: String,
    pub dimensions: Vec<Dimension>,
    pub period: i32,
    /// GetMetricData spelling: `Average`, `Sum`, `SampleCount`, `Minimum`, `Maximum`, `p99`…
    pub stat: String,
}

/// A returned time series, oldest point first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The `Id` of the query it answers.
    pub id: String,
    pub label: String,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// Requests, errors and latency of one service over the window (from the table).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSummary {
    pub service: String,
    pub from: Minute,
    pub to_exclusive: Minute,
    pub minutes_with_data: usize,
    pub requests: f64,
    pub errors: f64,
    pub p99_latency_ms: Option<f64>,
}

/// Sums of the published `Errors` and `Requests` of a service over one window, or why they
/// could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Counts {
    Read { errors: f64, requests: f64 },
    Unavailable(String),
}

impl Counts {
    /// `Some(burn rate)`, or `None` without requests or data.
    pub fn burn_rate(&self, target_percent: f64) -> Option<f64> {
        match self {
            Counts::Read { errors, requests } => slo::burn_rate(*errors, *requests, target_percent),
            Counts::Unavailable(_) => None,
        }
    }
}

/// One window pair of an SLO alert with what was read for each window.
#[derive(Debug, Clone, PartialEq)]
pub struct PairReading {
    pub window: BurnWindow,
    pub long: Counts,
    pub short: Counts,
}

/// Burn rates and budget of an SLO alert's service, from the published service metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct SloReading {
    pub service: String,
    /// `SERVICE_METRICS_NAMESPACE`; `None` when the function was deployed without it.
    pub namespace: Option<String>,
    pub target_percent: f64,
    pub window_days: u32,
    /// Every window ends here: the minute after the state change (see [`window`]).
    pub end: DateTime<Utc>,
    pub pairs: Vec<PairReading>,
    /// Over the whole SLO window (`window_days`), summed from daily periods.
    pub budget: Counts,
}

/// What the step found; kept for `notify` even when part of it failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatheredContext {
    pub lookback_minutes: u32,
    pub series: Vec<Series>,
    pub service: Option<ServiceSummary>,
    pub slo: Option<SloReading>,
}

pub trait AlarmMetricSource: Send + Sync {
    fn metric_data<'a>(
        &'a self,
        queries: &'a [MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Series>>>;
}

pub trait ServiceMetricSource: Send + Sync {
    /// Per-minute metrics of `service` in `[from, to_exclusive)`.
    fn service_minutes<'a>(
        &'a self,
        service: &'a str,
        from: Minute,
        to_exclusive: Minute,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(Minute, MinuteMetrics)>>>;
}

/// Notification statistic (`SAMPLE_COUNT`) to GetMetricData stat (`SampleCount`).
fn stat_name(statistic: &str) -> String {
    match statistic.to_ascii_uppercase().as_str() {
        "AVERAGE" => "Average".into(),
        "SUM" => "Sum".into(),
        "SAMPLE_COUNT" | "SAMPLECOUNT" => "SampleCount".into(),
        "MINIMUM" => "Minimum".into(),
        "MAXIMUM" => "Maximum".into(),
        _ => statistic.to_string(),
    }
}

/// The queries that reproduce what the alarm evaluates; empty for composite alarms.
pub fn queries_for(alarm: &AlarmNotification) -> Vec<MetricQuery> {
    let Some(t) = &alarm.trigger else {
        return Vec::new();
    };
    let period = i32::try_from(t.period.unwrap_or(60)).unwrap_or(60);
    if !t.metrics.is_empty() {
        return t
            .metrics
            .iter()
            .map(|m| MetricQuery {
                id: m.id.clone(),
                label: m.label.clone(),
                expression: m.expression.clone(),
                metric: m.metric_stat.as_ref().map(|s| QueryMetric {
                    namespace: s.metric.namespace.clone(),
                    name: s.metric.metric_name.clone(),
                    dimensions: s.metric.dimensions.clone(),
                    period: i32::try_from(s.period).unwrap_or(period),
                    stat: s.stat.clone(),
                }),
                return_data: m.return_data.unwrap_or(true),
                // An `ANOMALY_DETECTION_BAND(m1, 2)` expression is valid in GetMetricData as it
                // is in the alarm: expressions are passed through unchanged.
                account_id: m.account_id.clone(),
            })
            .collect();
    }
    let (Some(namespace), Some(name)) = (&t.namespace, &t.metric_name) else {
        return Vec::new();
    };
    let stat = match (&t.extended_statistic, &t.statistic) {
        (Some(ext), _) => ext.clone(),
        (None, Some(s)) => stat_name(s),
        (None, None) => "Average".into(),
    };
    vec![MetricQuery {
        id: "m1".into(),
        label: Some(name.clone()),
        expression: None,
        metric: Some(QueryMetric {
            namespace: namespace.clone(),
            name: name.clone(),
            dimensions: t.dimensions.clone(),
            period,
            stat,
        }),
        return_data: true,
        account_id: None,
    }]
}

/// The affected service: the runbook's `service`, else a `ServiceName`/`service` dimension.
pub fn affected_service(run: &Run<'_>) -> Option<String> {
    if let Some(s) = &run.loaded.runbook.service {
        return Some(s.clone());
    }
    run.alarm
        .dimensions()
        .find(|d| {
            d.name.eq_ignore_ascii_case("ServiceName") || d.name.eq_ignore_ascii_case("service")
        })
        .map(|d| d.value.clone())
        .filter(|v| metrics_core::service::validate_service_name(v).is_ok())
}

/// `[start, end)` ending at the minute after the state change, so redeliveries see the same window.
pub fn window(run: &Run<'_>, lookback_minutes: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = run.alarm.state_change_time().unwrap_or(run.now);
    let end = Minute::from_datetime(at).next().to_datetime();
    (end - Duration::minutes(i64::from(lookback_minutes)), end)
}

/// Sums requests and errors and merges latency over every minute.
pub fn summarise(
    service: &str,
    from: Minute,
    to_exclusive: Minute,
    minutes: &[(Minute, MinuteMetrics)],
) -> ServiceSummary {
    let mut all = MinuteMetrics::new();
    for (_, m) in minutes {
        all.merge(m);
    }
    let sum = |metric| {
        all.get(metric)
            .and_then(|a| a.stat(Stat::Sum))
            .unwrap_or(0.0)
    };
    ServiceSummary {
        service: service.to_string(),
        from,
        to_exclusive,
        minutes_with_data: minutes.iter().filter(|(_, m)| !m.is_empty()).count(),
        requests: sum(REQUESTS),
        errors: sum(ERRORS),
        p99_latency_ms: all.get(LATENCY_MS).and_then(|a| a.stat(Stat::P99)),
    }
}

/// Daily periods for the budget window: a multiple of 3600 s, which GetMetricData needs for data
/// older than 63 days (and accepts for any age); CloudWatch keeps hourly data 455 days, far more
/// than [`slo::MAX_WINDOW_DAYS`]
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html>,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricStat.html>).
pub const BUDGET_PERIOD_SECONDS: u32 = 86_400;

/// The two queries (Sum of the service's published `Errors` and `Requests`) with `period`.
pub fn count_queries(namespace: &str, service: &str, period_seconds: u32) -> Vec<MetricQuery> {
    [service_metrics::ERRORS, service_metrics::REQUESTS]
        .iter()
        .map(|m| MetricQuery {
            id: m.stored.to_string(),
            label: Some(m.name.to_string()),
            expression: None,
            metric: Some(QueryMetric {
                namespace: namespace.to_string(),
                name: m.name.to_string(),
                dimensions: vec![Dimension {
                    name: service_metrics::DIMENSION.to_string(),
                    value: service.to_string(),
                }],
                period: i32::try_from(period_seconds).unwrap_or(i32::MAX),
                stat: "Sum".into(),
            }),
            return_data: true,
            account_id: None,
        })
        .collect()
}

/// Errors and requests of `service` over `[end - span, end)` in periods of `period_seconds`
/// (one period when they are equal), summed. GetMetricData takes periods that are multiples of
/// 60 s and, for a start more than 15 (63) days back, rounds the start down to 5 minutes (an
/// hour): every SLO window is a whole number of minutes, and the budget uses daily periods.
async fn read_counts(
    source: &dyn AlarmMetricSource,
    namespace: &str,
    service: &str,
    period_seconds: u32,
    span_seconds: u32,
    end: DateTime<Utc>,
) -> Counts {
    let queries = count_queries(namespace, service, period_seconds);
    let start = end - Duration::seconds(i64::from(span_seconds));
    match source.metric_data(&queries, start, end).await {
        Ok(series) => {
            let sum = |id: &str| -> f64 {
                series
                    .iter()
                    .filter(|s| s.id == id)
                    .flat_map(|s| s.points.iter().map(|(_, v)| *v))
                    .sum()
            };
            Counts::Read {
                errors: sum(service_metrics::ERRORS.stored),
                requests: sum(service_metrics::REQUESTS.stored),
            }
        }
        Err(e) => Counts::Unavailable(format!("CloudWatch GetMetricData: {e:#}")),
    }
}

/// Reads every window of the SLO (each distinct length once) and the budget window.
pub async fn read_slo(
    source: &dyn AlarmMetricSource,
    namespace: Option<&str>,
    service: &str,
    slo: &SloContext,
    end: DateTime<Utc>,
) -> SloReading {
    let mut cache: BTreeMap<(u32, u32), Counts> = BTreeMap::new();
    let mut counts = async |span: u32, period: u32| -> Counts {
        if let Some(c) = cache.get(&(span, period)) {
            return c.clone();
        }
        let c = match namespace {
            None => Counts::Unavailable(format!(
                "{} is not set on the function",
                contract::env::SERVICE_METRICS_NAMESPACE
            )),
            Some(ns) => read_counts(source, ns, service, period, span, end).await,
        };
        cache.insert((span, period), c.clone());
        c
    };
    let mut pairs = Vec::with_capacity(slo.windows.len());
    for w in &slo.windows {
        let long = counts(w.long_seconds, w.long_seconds).await;
        let short = counts(w.short_seconds, w.short_seconds).await;
        pairs.push(PairReading {
            window: *w,
            long,
            short,
        });
    }
    let budget_span = slo.window_days.saturating_mul(BUDGET_PERIOD_SECONDS);
    let budget = counts(budget_span, BUDGET_PERIOD_SECONDS).await;
    SloReading {
        service: service.to_string(),
        namespace: namespace.map(str::to_string),
        target_percent: slo.target_percent,
        window_days: slo.window_days,
        end,
        pairs,
        budget,
    }
}

impl SloReading {
    /// Why reads failed, one line per distinct reason with the windows it hit.
    pub fn failures(&self) -> Vec<String> {
        let mut by_reason: Vec<(String, Vec<String>)> = Vec::new();
        let windows = self.pairs.iter().flat_map(|p| {
            [
                (duration(p.window.long_seconds), &p.long),
                (duration(p.window.short_seconds), &p.short),
            ]
        });
        let budget = (format!("{}d budget", self.window_days), &self.budget);
        for (what, c) in windows.chain(std::iter::once(budget)) {
            let Counts::Unavailable(e) = c else { continue };
            match by_reason.iter_mut().find(|(r, _)| r == e) {
                Some((_, whats)) if !whats.contains(&what) => whats.push(what),
                Some(_) => {}
                None => by_reason.push((e.clone(), vec![what])),
            }
        }
        by_reason
            .into_iter()
            .map(|(e, whats)| format!("SLO {} of {}: {e}", whats.join(", "), self.service))
            .collect()
    }
}

/// `3600` -> `1h`, `300` -> `5m`, `259200` -> `3d`.
pub fn duration(seconds: u32) -> String {
    match seconds {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub async fn run(
    alarm_metrics: &dyn AlarmMetricSource,
    service_metrics: &dyn ServiceMetricSource,
    run: &Run<'_>,
    lookback_minutes: u32,
    service_metrics_namespace: Option<&str>,
) -> (GatheredContext, anyhow::Result<Done>) {
    let (start, end) = window(run, lookback_minutes);
    let mut context = GatheredContext {
        lookback_minutes,
        ..GatheredContext::default()
    };
    let mut done = Vec::new();
    let mut errors = Vec::new();

    let queries = queries_for(run.alarm);
    if queries.is_empty() {
        done.push(if run.alarm.is_composite() {
            "composite alarm: no metric of its own".to_string()
        } else {
            "no metric on the alarm".to_string()
        });
    } else {
        match alarm_metrics.metric_data(&queries, start, end).await {
            Ok(series) => {
                let points: usize = series.iter().map(|s| s.points.len()).sum();
                done.push(format!("{points} datapoints in {} series", series.len()));
                context.series = series;
            }
            Err(e) => errors.push(format!("CloudWatch GetMetricData: {e:#}")),
        }
    }

    match affected_service(run) {
        None => done.push("no affected service known".into()),
        Some(service) => {
            let (from, to) = (Minute::from_datetime(start), Minute::from_datetime(end));
            match service_metrics.service_minutes(&service, from, to).await {
                Ok(minutes) => {
                    let summary = summarise(&service, from, to, &minutes);
                    done.push(format!(
                        "{} minutes of {service} metrics",
                        summary.minutes_with_data
                    ));
                    context.service = Some(summary);
                }
                Err(e) => errors.push(format!("table query for service {service}: {e:#}")),
            }
        }
    }

    if let Some(slo) = &run.loaded.runbook.slo {
        match affected_service(run) {
            None => done.push("SLO alert without a known service: no burn rates".into()),
            Some(service) => {
                let reading =
                    read_slo(alarm_metrics, service_metrics_namespace, &service, slo, end).await;
                let failures = reading.failures();
                if failures.is_empty() {
                    done.push(format!(
                        "SLO burn rates of {service} over {} window pairs and the {}-day budget",
                        reading.pairs.len(),
                        reading.window_days
                    ));
                }
                errors.extend(failures);
                context.slo = Some(reading);
            }
        }
    }

    let result = if errors.is_empty() {
        Ok(Done::Ok(done.join("; ")))
    } else {
        Err(anyhow::anyhow!("{}", errors.join("; ")))
    };
    (context, result)
}

pub fn plan(run: &Run<'_>, lookback_minutes: u32) -> String {
    let (start, end) = window(run, lookback_minutes);
    let queries: Vec<_> = queries_for(run.alarm).into_iter().map(|q| q.id).collect();
    let mut plan = format!(
        "would read CloudWatch queries {queries:?} and service {:?} from {start} to {end}",
        affected_service(run)
    );
    if let Some(slo) = &run.loaded.runbook.slo {
        let windows: Vec<String> = slo
            .windows
            .iter()
            .flat_map(|w| [duration(w.long_seconds), duration(w.short_seconds)])
            .collect();
        plan.push_str(&format!(
            ", and SLO Errors/Requests sums over {} and {} days ending {end}",
            windows.join(", "),
            slo.window_days
        ));
    }
    plan
}
