//! Runs a runbook's steps in order for one alarm notification: idempotency claims, dry run,
//! `on_failure`, and one structured log line per step. Each step kind lives in its own module,
//! thin over a trait for the AWS calls it makes.

pub mod gather_context;
pub mod notify;
pub mod put_metric;
pub mod record_incident;
pub mod start_automation;

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alarm::{AlarmNotification, AlarmState};
use crate::idempotency::{Claim, ClaimKey, ClaimStore};
use crate::runbook::{Loaded, OnFailure, Step};
use gather_context::{AlarmMetricSource, GatheredContext, ServiceMetricSource};
use notify::Publisher;
use put_metric::MetricSink;
use record_incident::IncidentStore;
use start_automation::AutomationRunner;

/// The AWS-facing parts the steps use.
pub struct Ports<'a> {
    pub claims: &'a dyn ClaimStore,
    pub incidents: &'a dyn IncidentStore,
    pub alarm_metrics: &'a dyn AlarmMetricSource,
    pub service_metrics: &'a dyn ServiceMetricSource,
    pub publisher: &'a dyn Publisher,
    pub automation: &'a dyn AutomationRunner,
    pub metric_sink: &'a dyn MetricSink,
}

/// Settings from the environment that the steps need.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub topic_arn: String,
    pub dry_run: bool,
    pub metric_namespace: String,
    /// `SERVICE_METRICS_NAMESPACE`: where the services' own metrics are published
    /// (`contract::service_metrics::namespace`); SLO burn rates and budgets are read from it.
    /// `None` when unset: the SLO numbers are then reported as unavailable.
    pub service_metrics_namespace: Option<String>,
    pub incident_ttl_days: u32,
}

impl Settings {
    /// TTL (epoch seconds) for items written at `now`.
    pub fn expires_at(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() + i64::from(self.incident_ttl_days) * 86_400
    }
}

/// One alarm notification to act on.
pub struct Run<'a> {
    pub message_id: &'a str,
    pub alarm: &'a AlarmNotification,
    /// CloudWatch's notification as it arrived (the SNS `Message` and `Subject`): forwarded to
    /// the notification topic when the executor did not deliver its own message ([`forward`]).
    pub raw: Raw<'a>,
    pub loaded: &'a Loaded,
    pub now: DateTime<Utc>,
}

/// The SNS message CloudWatch published, verbatim.
#[derive(Debug, Clone, Copy)]
pub struct Raw<'a> {
    pub message: &'a str,
    pub subject: Option<&'a str>,
}

/// Kind of the report of a forwarded CloudWatch notification (not a runbook step: the executor
/// adds it after the steps when on-call would otherwise get no message, or a wrong one).
pub const FORWARD: &str = "forward_alarm";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    Skipped,
    DryRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::DryRun => "dry_run",
        }
    }
}

/// What happened to one step; also the invocation result's per-step entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    pub index: usize,
    pub step: &'static str,
    pub outcome: Outcome,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How a step that ran ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Ok(String),
    Skipped(String),
}

/// Every step's report, and why execution stopped early if the idempotency store failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub reports: Vec<StepReport>,
    /// Set when a claim could not be written: the invocation must fail so Lambda retries.
    pub aborted: Option<String>,
}

/// Why a step does not apply to this state change, if it does not.
fn not_applicable(step: &Step, state: AlarmState) -> Option<String> {
    match (step, state) {
        (Step::RecordIncident {}, AlarmState::InsufficientData) => {
            Some("INSUFFICIENT_DATA neither opens nor closes an incident".into())
        }
        (Step::StartAutomation { .. }, AlarmState::Ok | AlarmState::InsufficientData) => Some(
            format!("automation runs on ALARM only, state is {}", state.as_str()),
        ),
        _ => None,
    }
}

/// Executes the loaded runbook's steps in order.
pub async fn execute(run: &Run<'_>, ports: &Ports<'_>, settings: &Settings) -> Executed {
    let steps = &run.loaded.runbook.steps;
    let mut reports: Vec<StepReport> = Vec::with_capacity(steps.len());
    let mut context: Option<GatheredContext> = None;
    let mut stopped = false;
    // Whether the notify step's message reached the topic (now or in an earlier delivery), and
    // the first step that failed after it: what on-call's one e-mail can no longer say.
    let mut notified = false;
    let mut failed_after_notify: Option<String> = None;

    for (index, step) in steps.iter().enumerate() {
        let started = Instant::now();
        let finish = |outcome, detail: Option<String>, error: Option<String>| {
            let report = StepReport {
                index,
                step: step.kind(),
                outcome,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                detail,
                error,
            };
            log_step(&run.alarm.alarm_name, run.message_id, &report);
            report
        };

        if stopped {
            let why = "not run: an earlier step failed and on_failure is \"stop\"".to_string();
            reports.push(finish(Outcome::Skipped, Some(why), None));
            continue;
        }
        let skip = not_applicable(step, run.alarm.new_state_value);
        if settings.dry_run {
            let plan = match skip {
                Some(why) => format!("would skip: {why}"),
                None => plan(step, run, settings),
            };
            reports.push(finish(Outcome::DryRun, Some(plan), None));
            continue;
        }
        if let Some(why) = skip {
            reports.push(finish(Outcome::Skipped, Some(why), None));
            continue;
        }

        let key = ClaimKey::new(run.message_id, index, step.kind());
        if step.has_side_effects() {
            match ports
                .claims
                .claim(&key, run.now, settings.expires_at(run.now))
                .await
            {
                Ok(Claim::Acquired) => {}
                Ok(Claim::AlreadyClaimed { status, claimed_at }) => {
                    if matches!(step, Step::Notify {}) && status == "done" {
                        notified = true;
                    }
                    let why = format!("already {status} by an earlier delivery of this message (claimed {claimed_at})");
                    reports.push(finish(Outcome::Skipped, Some(why), None));
                    continue;
                }
                Err(e) => {
                    let error = format!("idempotency claim failed, step not run: {e:#}");
                    reports.push(finish(Outcome::Failed, None, Some(error.clone())));
                    return Executed {
                        reports,
                        aborted: Some(error),
                    };
                }
            }
        }

        let result = run_step(index, steps, run, ports, settings, &mut context, &reports).await;
        let report = match result {
            Ok(Done::Ok(detail)) => finish(Outcome::Ok, Some(detail), None),
            Ok(Done::Skipped(why)) => finish(Outcome::Skipped, Some(why), None),
            Err(e) => finish(Outcome::Failed, None, Some(format!("{e:#}"))),
        };
        if step.has_side_effects() {
            let status = if report.outcome == Outcome::Failed {
                "failed"
            } else {
                "done"
            };
            let detail = report
                .error
                .as_deref()
                .or(report.detail.as_deref())
                .unwrap_or_default();
            if let Err(e) = ports.claims.complete(&key, status, detail).await {
                // The claim stays "started"; redeliveries still skip the step, which is correct.
                tracing::warn!(alarm = %run.alarm.alarm_name, step = step.kind(), index, error = %format!("{e:#}"), "could not mark claim complete");
            }
        }
        stopped =
            report.outcome == Outcome::Failed && run.loaded.runbook.on_failure == OnFailure::Stop;
        if report.outcome == Outcome::Failed && notified && failed_after_notify.is_none() {
            failed_after_notify = Some(format!(
                "step {} ({}) failed after the notification was sent: {}",
                index + 1,
                step.kind(),
                report.error.as_deref().unwrap_or("")
            ));
        }
        if matches!(step, Step::Notify {}) && report.outcome == Outcome::Ok {
            notified = true;
        }
        reports.push(report);
    }
    let reason = forward_reason(run, settings, &reports, notified, failed_after_notify);
    let aborted = match reason {
        Some(reason) => forward(run, ports, settings, &reason, &mut reports).await,
        None => None,
    };
    Executed { reports, aborted }
}

/// Why CloudWatch's own notification must go to the notification topic, if it must: on-call's
/// e-mail subscriptions are there and get nothing else when the runbook did not notify (no
/// notify step, or it failed), nor a true account when a later step failed (the message said it
/// "runs next"), nor anything in a dry run (which publishes no notify message).
fn forward_reason(
    run: &Run<'_>,
    settings: &Settings,
    reports: &[StepReport],
    notified: bool,
    failed_after_notify: Option<String>,
) -> Option<String> {
    if settings.dry_run {
        return Some("dry run (DRY_RUN=true): the runbook executor ran no step".into());
    }
    if let Some(failed) = failed_after_notify {
        return Some(failed);
    }
    if notified {
        return None;
    }
    let notify = run
        .loaded
        .runbook
        .steps
        .iter()
        .position(|s| matches!(s, Step::Notify {}));
    Some(match notify.and_then(|i| reports.get(i)) {
        None if notify.is_none() => "the runbook has no notify step".into(),
        None => "the notify step did not run".into(),
        Some(r) => format!(
            "the notify step did not publish ({}: {})",
            r.outcome.as_str(),
            r.error.as_deref().or(r.detail.as_deref()).unwrap_or("")
        ),
    })
}

/// Publishes CloudWatch's notification (with `reason` and the steps' outcomes) to the
/// notification topic, once per message: claimed like a step, except that a claim left `failed`
/// is tried again (a lost alarm is worse than a repeated one). Returns why the invocation must
/// fail, if it must: Lambda then retries, and after the last retry its on-failure destination
/// (the same topic) gets the invocation record with the original event.
async fn forward(
    run: &Run<'_>,
    ports: &Ports<'_>,
    settings: &Settings,
    reason: &str,
    reports: &mut Vec<StepReport>,
) -> Option<String> {
    let started = Instant::now();
    let index = run.loaded.runbook.steps.len();
    let finish = |outcome, detail: Option<String>, error: Option<String>| {
        let report = StepReport {
            index,
            step: FORWARD,
            outcome,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            detail,
            error,
        };
        log_step(&run.alarm.alarm_name, run.message_id, &report);
        report
    };
    let key = ClaimKey::new(run.message_id, index, FORWARD);
    // A dry run writes nothing, claims included.
    if !settings.dry_run {
        match ports
            .claims
            .claim(&key, run.now, settings.expires_at(run.now))
            .await
        {
            Ok(Claim::Acquired) => {}
            Ok(Claim::AlreadyClaimed { status, claimed_at }) if status != "failed" => {
                let why = format!("already {status} by an earlier delivery of this message (claimed {claimed_at})");
                reports.push(finish(Outcome::Skipped, Some(why), None));
                return None;
            }
            Ok(Claim::AlreadyClaimed { .. }) => {}
            Err(e) => {
                let error = format!(
                    "idempotency claim failed, CloudWatch's notification not forwarded: {e:#}"
                );
                reports.push(finish(Outcome::Failed, None, Some(error.clone())));
                return Some(error);
            }
        }
    }
    let (subject, body) = notify::text::forward(run.alarm, run.raw, reason, reports);
    let result = ports
        .publisher
        .publish(&settings.topic_arn, &subject, &body)
        .await;
    let report = match &result {
        Ok(id) => finish(
            Outcome::Ok,
            Some(format!(
                "forwarded CloudWatch's notification ({reason}) as SNS message {id}"
            )),
            None,
        ),
        Err(e) => finish(
            Outcome::Failed,
            None,
            Some(format!(
                "could not forward CloudWatch's notification ({reason}): {e:#}"
            )),
        ),
    };
    if !settings.dry_run {
        let status = if result.is_ok() { "done" } else { "failed" };
        let detail = report
            .error
            .as_deref()
            .or(report.detail.as_deref())
            .unwrap_or_default();
        if let Err(e) = ports.claims.complete(&key, status, detail).await {
            tracing::warn!(alarm = %run.alarm.alarm_name, step = FORWARD, index, error = %format!("{e:#}"), "could not mark claim complete");
        }
    }
    let aborted = report.error.clone();
    reports.push(report);
    aborted
}

async fn run_step(
    index: usize,
    steps: &[Step],
    run: &Run<'_>,
    ports: &Ports<'_>,
    settings: &Settings,
    context: &mut Option<GatheredContext>,
    reports: &[StepReport],
) -> anyhow::Result<Done> {
    let Some(step) = steps.get(index) else {
        anyhow::bail!("no step {index}");
    };
    let remaining = steps.get(index + 1..).unwrap_or_default();
    match step {
        Step::RecordIncident {} => record_incident::run(ports.incidents, run, settings).await,
        Step::GatherContext { lookback_minutes } => {
            let (gathered, result) = gather_context::run(
                ports.alarm_metrics,
                ports.service_metrics,
                run,
                *lookback_minutes,
                settings.service_metrics_namespace.as_deref(),
            )
            .await;
            *context = Some(gathered);
            result
        }
        Step::Notify {} => {
            let input = notify::Input {
                run,
                context: context.as_ref(),
                reports,
                remaining,
            };
            notify::run(ports.publisher, &input, settings).await
        }
        Step::StartAutomation {
            document,
            parameters,
        } => start_automation::run(ports.automation, run, index, document, parameters).await,
        Step::PutMetric {} => put_metric::run(ports.metric_sink, run, settings, reports).await,
    }
}

/// What a step would do, for the dry-run log.
fn plan(step: &Step, run: &Run<'_>, settings: &Settings) -> String {
    let alarm = &run.alarm.alarm_name;
    match step {
        Step::RecordIncident {} => record_incident::plan(run),
        Step::GatherContext { lookback_minutes } => gather_context::plan(run, *lookback_minutes),
        Step::Notify {} => format!(
            "would publish a notification about {alarm:?} to {}",
            settings.topic_arn
        ),
        Step::StartAutomation {
            document,
            parameters,
        } => {
            format!("would start SSM Automation {document:?} with parameters {parameters:?}")
        }
        Step::PutMetric {} => format!(
            "would put {}/{} with AlarmName={alarm:?}",
            settings.metric_namespace,
            put_metric::METRIC_NAME
        ),
    }
}

/// The one structured JSON line per step.
fn log_step(alarm: &str, message_id: &str, r: &StepReport) {
    let outcome = r.outcome.as_str();
    let (detail, error) = (r.detail.as_deref(), r.error.as_deref());
    if r.outcome == Outcome::Failed {
        tracing::error!(
            alarm,
            message_id,
            step = r.step,
            index = r.index,
            outcome,
            duration_ms = r.duration_ms,
            detail,
            error,
            "step"
        );
    } else {
        tracing::info!(
            alarm,
            message_id,
            step = r.step,
            index = r.index,
            outcome,
            duration_ms = r.duration_ms,
            detail,
            error,
            "step"
        );
    }
}

#[cfg(test)]
mod tests;
