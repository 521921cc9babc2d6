//! `put_metric`: one `RunbookExecutions` datapoint with dimensions AlarmName and Outcome, so
//! alarms and dashboards can count runbook runs and failures.

use super::{Done, Outcome, Run, Settings, StepReport};
use crate::ports::BoxFuture;

pub const METRIC_NAME: &str = "RunbookExecutions";

pub trait MetricSink: Send + Sync {
    /// Puts `value` (unit Count) at `timestamp` with the given dimensions.
    fn put<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        dimensions: &'a [(String, String)],
        value: f64,
        timestamp: chrono::DateTime<chrono::Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// `failed` when any earlier step failed, else `succeeded`.
pub fn outcome(reports: &[StepReport]) -> &'static str {
    if reports.iter().any(|r| r.outcome == Outcome::Failed) {
        "failed"
    } else {
        "succeeded"
    }
}

pub async fn run(
    sink: &dyn MetricSink,
    run: &Run<'_>,
    settings: &Settings,
    reports: &[StepReport],
) -> anyhow::Result<Done> {
    let outcome = outcome(reports);
    let dims = [
        ("AlarmName".to_string(), run.alarm.alarm_name.clone()),
        ("Outcome".to_string(), outcome.to_string()),
    ];
    sink.put(&settings.metric_namespace, METRIC_NAME, &dims, 1.0, run.now)
        .await?;
    Ok(Done::Ok(format!(
        "{}/{METRIC_NAME} Outcome={outcome} +1",
        settings.metric_namespace
    )))
}
