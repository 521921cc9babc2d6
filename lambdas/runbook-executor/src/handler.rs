//! One invocation: every SNS record is classified, and each alarm notification gets its runbook
//! loaded and executed. The return value summarises what happened per record.

use aws_lambda_events::sns::SnsRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::alarm::{classify, Classified};
use crate::runbook::{self, RunbookSource};
use crate::steps::{execute, Executed, Ports, Run, Settings, StepReport};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// The runbook (or the fallback) ran; see `steps`.
    Executed,
    /// Not an alarm notification for us; `reason` says why.
    Ignored,
    /// The idempotency store failed; the invocation fails so that Lambda retries.
    Aborted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSummary {
    pub message_id: Option<String>,
    pub status: RecordStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// Set when the notify-only fallback replaced a missing or malformed runbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook_fallback: Option<String>,
    pub dry_run: bool,
    pub steps: Vec<StepReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub records: Vec<RecordSummary>,
}

impl Summary {
    /// Why the invocation must fail (and be retried), if it must.
    pub fn failure(&self) -> Option<String> {
        let aborted: Vec<String> = self
            .records
            .iter()
            .filter(|r| r.status == RecordStatus::Aborted)
            .map(|r| {
                format!(
                    "{}: {}",
                    r.message_id.as_deref().unwrap_or("?"),
                    r.reason.as_deref().unwrap_or("")
                )
            })
            .collect();
        (!aborted.is_empty())
            .then(|| format!("runbook execution aborted for {}", aborted.join("; ")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event has no \"Records\" array: not an SNS event")]
    NotSns,
}

/// What the handler needs besides the event.
pub struct Deps<'a> {
    pub ports: Ports<'a>,
    pub runbooks: &'a dyn RunbookSource,
    pub runbook_prefix: &'a str,
    pub settings: &'a Settings,
}

fn ignored(message_id: Option<String>, reason: String, dry_run: bool) -> RecordSummary {
    tracing::info!(message_id = message_id.as_deref(), reason = %reason, "record ignored");
    RecordSummary {
        message_id,
        status: RecordStatus::Ignored,
        reason: Some(reason),
        alarm: None,
        state: None,
        runbook_fallback: None,
        dry_run,
        steps: Vec::new(),
    }
}

/// Handles an SNS event (taken as JSON so that one odd record cannot fail the others).
pub async fn handle(
    event: &Value,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
) -> Result<Summary, HandlerError> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or(HandlerError::NotSns)?;
    let mut summaries = Vec::with_capacity(records.len());
    for raw in records {
        summaries.push(handle_record(raw, deps, now).await);
    }
    Ok(Summary { records: summaries })
}

async fn handle_record(raw: &Value, deps: &Deps<'_>, now: DateTime<Utc>) -> RecordSummary {
    let dry_run = deps.settings.dry_run;
    let record: SnsRecord = match serde_json::from_value(raw.clone()) {
        Ok(r) => r,
        Err(e) => {
            let sns = raw.get("Sns");
            let id = sns
                .and_then(|s| s.get("MessageId"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let kind = sns
                .and_then(|s| s.get("Type"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return ignored(
                id,
                format!("not an SNS notification record (Type {kind:?}): {e}"),
                dry_run,
            );
        }
    };
    let sns = &record.sns;
    let message_id = Some(sns.message_id.clone());
    let alarm = match classify(sns) {
        Classified::Ignored(reason) => return ignored(message_id, reason, dry_run),
        Classified::Alarm(a) => a,
    };

    let loaded = runbook::load(deps.runbooks, deps.runbook_prefix, &alarm.alarm_name).await;
    if let Some(reason) = &loaded.fallback_reason {
        tracing::warn!(alarm = %alarm.alarm_name, message_id = %sns.message_id, reason = %reason, "runbook unusable, falling back to notify-only");
    }
    let run = Run {
        message_id: &sns.message_id,
        alarm: &alarm,
        loaded: &loaded,
        now,
    };
    let Executed { reports, aborted } = execute(&run, &deps.ports, deps.settings).await;
    let summary = RecordSummary {
        message_id,
        status: if aborted.is_some() {
            RecordStatus::Aborted
        } else {
            RecordStatus::Executed
        },
        reason: aborted,
        alarm: Some(alarm.alarm_name.clone()),
        state: Some(alarm.new_state_value.as_str()),
        runbook_fallback: loaded.fallback_reason.clone(),
        dry_run,
        steps: reports,
    };
    tracing::info!(alarm = %alarm.alarm_name, message_id = %sns.message_id, status = ?summary.status, steps = summary.steps.len(), "record done");
    summary
}
