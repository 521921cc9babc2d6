//! The Lambda handler: plan the event's objects, process each, fail if any failed.

use crate::event::plan;
use crate::s3::LogObjects;
use crate::s3::{process_object, ObjectReport};
use contract::Function;
use metrics_core::MetricWriter;
use serde_json::{json, Value};

/// Clients built once per execution environment: every AWS operation the function may perform.
#[derive(Clone)]
pub struct Deps {
    pub s3: LogObjects,
    pub store: MetricWriter,
}

contract::assert_clients!(Function::LogProcessor; LogObjects, MetricWriter);

/// Failure of an invocation; its message lists every failed object.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] crate::event::EventError),
    #[error("{failed} of {total} objects failed: {messages}")]
    Objects {
        failed: usize,
        total: usize,
        messages: String,
    },
}

/// What Lambda reports (and the on-failure destination receives) as `errorType`.
impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match e {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::Objects { .. } => "ObjectsFailed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Every record is attempted even when an earlier one fails: the ones that succeed are
/// recorded as applied, so Lambda's retry of the whole event re-applies nothing twice.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, HandlerError> {
    let planned = plan(payload)?;
    for name in &planned.ignored {
        tracing::info!(event_name = %name, "record is not ObjectCreated; ignored");
    }
    let mut reports: Vec<ObjectReport> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for obj in &planned.objects {
        match process_object(&deps.s3, &deps.store, obj).await {
            Ok(report) => {
                log_report(&report);
                reports.push(report);
            }
            Err(e) => {
                tracing::error!(bucket = %obj.bucket, key = %obj.key, error = %e, "object failed");
                errors.push(e.to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(HandlerError::Objects {
            failed: errors.len(),
            total: planned.objects.len(),
            messages: errors.join("; "),
        });
    }
    Ok(json!({ "objects": reports, "ignored": planned.ignored }))
}

/// One JSON line per object, with line counts per reject reason (CloudWatch Logs
/// Insights can filter and sum these fields directly).
fn log_report(r: &ObjectReport) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut line = json!({ "timestamp": now, "level": "INFO", "message": "object processed" });
    if let (Some(obj), Ok(Value::Object(fields))) = (line.as_object_mut(), serde_json::to_value(r))
    {
        obj.extend(fields);
    }
    println!("{line}");
}
