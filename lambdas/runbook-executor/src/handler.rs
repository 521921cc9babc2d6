//! One invocation: every SNS record is classified, and each alarm notification gets its runbook
//! loaded and executed. The return value summarises what happened per record.

use aws_lambda_events::sns::SnsRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::alarm::{classify, Classified};
use crate::runbook::{self, RunbookSource};
use crate::steps::{execute, Executed, Ports, Raw, Run, Settings, StepReport};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// The runbook (or the fallback) ran; see `steps`.
    Executed,
    /// Not an alarm notification for us; `reason` says why.
    Ignored,
    /// The idempotency store failed, or on-call's message could not be published; the
    /// invocation fails so that Lambda retries.
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

/// Failure of an invocation. Lambda retries it, then sends the event to the on-failure destination
/// with the `errorType` of [`HandlerError::error_type`].
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("event has no \"Records\" array: not an SNS event")]
    NotSns,
    /// Some records could not be handled to the end: an idempotency claim could not be written,
    /// or CloudWatch's notification could not be forwarded to on-call. The invocation fails so
    /// that Lambda retries it (steps already claimed do not run again) and, after the last retry,
    /// sends the event to the on-failure destination. The message names the records.
    #[error("{0}")]
    Aborted(String),
}

impl HandlerError {
    /// The stable `errorType` of each failure kind (never a Rust type name).
    pub const fn error_type(&self) -> &'static str {
        match self {
            HandlerError::NotSns => "InvalidEvent",
            HandlerError::Aborted(_) => "RecordAborted",
        }
    }
}

/// What Lambda reports (and the on-failure destination receives) as `errorType`.
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// What the handler needs besides the event: built once per execution environment and borrowed
/// by every invocation.
pub struct Deps<'a> {
    pub ports: Ports<'a>,
    pub runbooks: &'a dyn RunbookSource,
    pub runbook_prefix: &'a str,
    pub settings: &'a Settings,
}

/// One invocation as Lambda sees it: [`handle`], and an error when a record was aborted.
pub async fn invoke(
    event: &Value,
    deps: &Deps<'_>,
    now: DateTime<Utc>,
) -> Result<Summary, HandlerError> {
    let summary = handle(event, deps, now).await?;
    if let Some(failure) = summary.failure() {
        tracing::error!(summary = %serde_json::to_string(&summary).unwrap_or_default(), "{failure}");
        return Err(HandlerError::Aborted(failure));
    }
    Ok(summary)
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
        raw: Raw {
            message: &sns.message,
            subject: sns.subject.as_deref(),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Memory;
    use serde_json::json;

    fn settings() -> Settings {
        Settings {
            topic_arn: "arn:t".into(),
            dry_run: false,
            metric_namespace: "ns".into(),
            service_metrics_namespace: Some("appmon/Services".into()),
            incident_ttl_days: 30,
        }
    }

    fn record(id: &str, message: &str, attributes: Value) -> Value {
        json!({"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:s",
            "Sns": {"Type": "Notification", "MessageId": id, "TopicArn": "arn:aws:sns:us-east-1:1:t", "Subject": null,
                "Message": message, "Timestamp": "2026-11-29T18:05:32.000Z", "SignatureVersion": "1", "Signature": "s",
                "SigningCertUrl": "https://x.invalid/c.pem", "UnsubscribeUrl": "https://x.invalid/u",
                "MessageAttributes": attributes}})
    }

    const ALARM: &str = r#"{"AlarmName":"a1","NewStateValue":"ALARM","StateChangeTime":"2026-11-29T18:05:31.123+0000"}"#;

    async fn run(memory: &Memory, event: &Value) -> Result<Summary, HandlerError> {
        let settings = settings();
        let deps = Deps {
            ports: memory.ports(),
            runbooks: memory,
            runbook_prefix: "/rb/",
            settings: &settings,
        };
        handle(event, &deps, Utc::now()).await
    }

    #[tokio::test]
    async fn each_record_is_handled_on_its_own() {
        let memory = Memory::default();
        memory.runbooks.lock().unwrap().insert(
            "/rb/a1".into(),
            r#"{"alarm":"a1","steps":[{"type":"put_metric"}]}"#.into(),
        );
        let own = json!({"origin": {"Type": "String", "Value": "runbook-executor"}});
        let event = json!({"Records": [
            record("m1", "not json", json!({})),
            {"EventSource": "aws:sns", "Sns": {"Type": "SubscriptionConfirmation", "MessageId": "m2"}},
            record("m3", ALARM, own),
            record("m4", ALARM, json!({})),
        ]});
        let summary = run(&memory, &event).await.unwrap();
        let statuses: Vec<_> = summary.records.iter().map(|r| r.status.clone()).collect();
        use RecordStatus::*;
        assert_eq!(statuses, [Ignored, Ignored, Ignored, Executed]);
        assert_eq!(summary.records[1].message_id.as_deref(), Some("m2"));
        assert_eq!(summary.records[3].steps[0].step, "put_metric");
        assert_eq!(summary.failure(), None);
        // Only the alarm record reached AWS: the runbook read, one claim, one metric.
        let ops: Vec<String> = memory
            .calls()
            .iter()
            .map(|c| c.split(' ').next().unwrap().to_string())
            .collect();
        // The runbook has no notify step, so CloudWatch's notification is forwarded (claimed).
        assert_eq!(
            ops,
            ["get_parameter", "claim", "put_metric", "claim", "publish"]
        );
        assert_eq!(summary.records[3].steps[1].step, crate::steps::FORWARD);
        let out = serde_json::to_value(&summary).unwrap();
        assert_eq!(out["records"][3]["steps"][0]["outcome"], "ok");
        assert_eq!(out["records"][0]["reason"], "message is not JSON");
    }

    /// A composite (SLO) alarm's notification, as Lambda hands it over: its runbook is found by
    /// the composite alarm's name and every step runs, with service and SLO from the runbook.
    #[tokio::test]
    async fn composite_alarm_runs_the_runbook_named_after_it() {
        let event: Value =
            serde_json::from_str(include_str!("../tests/fixtures/sns-composite-alarm.json"))
                .unwrap();
        let memory = Memory::default();
        let runbook = json!({"alarm": "appmon-checkout-availability-page", "service": "checkout",
            "slo": {"target_percent": 99.9, "window_days": 30,
                "windows": [{"long_seconds": 3600, "short_seconds": 300, "burn_rate": 14.4}]},
            "steps": [{"type": "record_incident"}, {"type": "gather_context"}, {"type": "notify"}, {"type": "put_metric"}]});
        memory.runbooks.lock().unwrap().insert(
            "/rb/appmon-checkout-availability-page".into(),
            runbook.to_string(),
        );
        let summary = run(&memory, &event).await.unwrap();
        let record = &summary.records[0];
        assert_eq!(record.status, RecordStatus::Executed, "{record:#?}");
        assert_eq!(record.runbook_fallback, None);
        assert_eq!(
            record.alarm.as_deref(),
            Some("appmon-checkout-availability-page")
        );
        let steps: Vec<(&str, &str)> = record
            .steps
            .iter()
            .map(|s| (s.step, s.outcome.as_str()))
            .collect();
        assert_eq!(
            steps,
            [
                ("record_incident", "ok"),
                ("gather_context", "ok"),
                ("notify", "ok"),
                ("put_metric", "ok")
            ]
        );
        let calls = memory.calls();
        assert_eq!(
            calls[0],
            "get_parameter /rb/appmon-checkout-availability-page"
        );
        assert!(calls.contains(&"open #incident#appmon-checkout-availability-page".to_string()));
        // Two windows and the budget, all for the runbook's service; no alarm metric queries.
        let reads = calls
            .iter()
            .filter(|c| c.starts_with("metric_data errors,requests"))
            .count();
        assert_eq!(reads, 3, "{calls:?}");
        let (subject, body) = &memory.published.lock().unwrap()[0];
        assert_eq!(subject, "ALARM: appmon-checkout-availability-page (was OK)");
        assert!(body.contains("Service: checkout\n"), "{body}");
        assert!(
            body.contains("Triggered by: appmon-checkout-availability-page-5m (ALARM"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn aborted_records_fail_the_invocation() {
        let memory = Memory::failing(&["claim"]);
        let summary = run(
            &memory,
            &json!({"Records": [record("m1", ALARM, json!({}))]}),
        )
        .await
        .unwrap();
        assert_eq!(summary.records[0].status, RecordStatus::Aborted);
        assert!(summary.records[0]
            .runbook_fallback
            .as_deref()
            .unwrap()
            .contains("/rb/a1 does not exist"));
        let failure = summary.failure().unwrap();
        assert!(
            failure.contains("m1: idempotency claim failed"),
            "{failure}"
        );
        // As Lambda reports it.
        let settings = settings();
        let deps = Deps {
            ports: memory.ports(),
            runbooks: &memory,
            runbook_prefix: "/rb/",
            settings: &settings,
        };
        let event = json!({"Records": [record("m1", ALARM, json!({}))]});
        let e = invoke(&event, &deps, Utc::now()).await.unwrap_err();
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "RecordAborted");
        assert!(d.error_message.contains("m1: idempotency claim failed"));
    }

    #[test]
    fn error_types_are_stable_names() {
        let d = lambda_runtime::Diagnostic::from(HandlerError::NotSns);
        assert_eq!(d.error_type, "InvalidEvent");
        assert!(d.error_message.contains("not an SNS event"));
        let d = lambda_runtime::Diagnostic::from(HandlerError::Aborted("x".into()));
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            ("RecordAborted", "x")
        );
    }

    #[tokio::test]
    async fn a_non_sns_event_is_an_error() {
        let e = run(&Memory::default(), &json!({"detail-type": "x"}))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not an SNS event"));
    }
}
