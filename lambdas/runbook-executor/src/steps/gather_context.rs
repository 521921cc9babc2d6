//! `gather_context`: the alarm metric's recent datapoints (CloudWatch GetMetricData, the same
//! single metric or metric-math queries the alarm evaluates) and the affected service's recent
//! requests, errors and p99 latency from table `ApplicationMetrics`. Read-only.

use chrono::{DateTime, Duration, Utc};
use metrics_core::aggregate::{MinuteMetrics, Stat, ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::minute::Minute;

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

/// What the step found; kept for `notify` even when part of it failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatheredContext {
    pub lookback_minutes: u32,
    pub series: Vec<Series>,
    pub service: Option<ServiceSummary>,
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

pub async fn run(
    alarm_metrics: &dyn AlarmMetricSource,
    service_metrics: &dyn ServiceMetricSource,
    run: &Run<'_>,
    lookback_minutes: u32,
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
        done.push("no metric on the alarm (composite?)".to_string());
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
    format!(
        "would read CloudWatch queries {queries:?} and service {:?} from {start} to {end}",
        affected_service(run)
    )
}
