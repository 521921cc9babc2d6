//! The Lambda handler: plan the event's objects, process each, fail if any failed.

use crate::config::Config;
use crate::event::plan;
use crate::s3::{process_object, LogObjects, ObjectError, ObjectReport};
use contract::Function;
use metrics_core::MetricWriter;
use serde_json::{json, Value};

/// Clients and settings built once per execution environment, borrowed by every invocation:
/// every AWS operation the function may perform.
pub struct Deps {
    pub s3: LogObjects,
    pub store: MetricWriter,
    /// `LOGS_PREFIX`: see [`crate::event::service_from_key`].
    pub logs_prefix: String,
}

contract::assert_clients!(Function::LogProcessor; LogObjects, MetricWriter);

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Deps {
        Deps {
            s3: LogObjects::new(sdk),
            store: MetricWriter::new(metrics_core::aws::dynamodb_client(sdk), &config.table),
            logs_prefix: config.logs_prefix.clone(),
        }
    }
}

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
        /// The failures' [`ObjectError::error_type`] when they all share one, else `ObjectsFailed`.
        error_type: &'static str,
    },
}

impl HandlerError {
    /// The stable `errorType` of each failure kind (never a Rust type name): `InvalidEvent`,
    /// `LogObjectReadFailed`, `LogObjectCorrupt`, `StoreWriteFailed`, or `ObjectsFailed` when the
    /// failed objects failed in different ways.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "InvalidEvent",
            HandlerError::Objects { error_type, .. } => error_type,
        }
    }

    fn objects(total: usize, errors: &[ObjectError]) -> HandlerError {
        let first = errors
            .first()
            .map_or("ObjectsFailed", ObjectError::error_type);
        let error_type = if errors.iter().all(|e| e.error_type() == first) {
            first
        } else {
            "ObjectsFailed"
        };
        HandlerError::Objects {
            failed: errors.len(),
            total,
            messages: errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            error_type,
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

/// Every record is attempted even when an earlier one fails: the ones that succeed are
/// recorded as applied, so Lambda's retry of the whole event re-applies nothing twice.
pub async fn handle(deps: &Deps, payload: Value) -> Result<Value, HandlerError> {
    let planned = plan(payload)?;
    for name in &planned.ignored {
        tracing::info!(event_name = %name, "record is not ObjectCreated; ignored");
    }
    let mut reports: Vec<ObjectReport> = Vec::new();
    let mut errors: Vec<ObjectError> = Vec::new();
    for obj in &planned.objects {
        match process_object(&deps.s3, &deps.store, &deps.logs_prefix, obj).await {
            Ok(report) => {
                log_report(&report);
                reports.push(report);
            }
            Err(e) => {
                tracing::error!(bucket = %obj.bucket, key = %obj.key, error = %e, error_type = e.error_type(), "object failed");
                errors.push(e);
            }
        }
    }
    if !errors.is_empty() {
        return Err(HandlerError::objects(planned.objects.len(), &errors));
    }
    Ok(json!({ "objects": reports, "ignored": planned.ignored }))
}

/// One `object processed` line per object through the function's one log path (so `LOG_LEVEL`
/// filters it), with the report's fields at the top level as before: `bucket`, `key`, line
/// counts, groups written. `rejected` (line counts per reject reason, non-zero only) is a JSON
/// object in text form, e.g. `{"no_service":1}`; Logs Insights reads it with `parse`.
fn log_report(r: &ObjectReport) {
    let s = &r.stats;
    tracing::info!(
        bucket = %r.bucket,
        key = %r.key,
        version_id = r.version_id.as_deref(),
        source_id = %r.source_id,
        bytes = r.bytes,
        gzip = r.gzip,
        lines = s.lines,
        accepted = s.accepted,
        blank = s.blank,
        rejected = %serde_json::to_string(&s.rejected).unwrap_or_default(),
        groups = r.groups,
        groups_written = r.groups_written,
        groups_already_applied = r.groups_already_applied,
        dynamodb_requests = r.dynamodb_requests,
        retries = r.retries,
        "object processed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Stats;
    use crate::rejects::Reason;
    use std::sync::{Arc, Mutex};

    fn read_error(key: &str) -> ObjectError {
        ObjectError::Read {
            bucket: "b".into(),
            key: key.into(),
            message: "NoSuchKey: gone".into(),
        }
    }

    fn corrupt(key: &str) -> ObjectError {
        ObjectError::Corrupt {
            bucket: "b".into(),
            key: key.into(),
            source: crate::reader::CorruptGzip(std::io::Error::other("truncated")),
        }
    }

    #[test]
    fn error_types_are_stable_names_per_failure_kind() {
        let diagnostic = |e: HandlerError| lambda_runtime::Diagnostic::from(e);
        let d = diagnostic(HandlerError::objects(
            2,
            &[read_error("x"), read_error("y")],
        ));
        assert_eq!(d.error_type, "LogObjectReadFailed");
        assert!(
            d.error_message
                .starts_with("2 of 2 objects failed: s3://b/x: cannot read object"),
            "{}",
            d.error_message
        );
        assert_eq!(
            diagnostic(HandlerError::objects(3, &[corrupt("x")])).error_type,
            "LogObjectCorrupt"
        );
        let store = ObjectError::Store {
            bucket: "b".into(),
            key: "x".into(),
            source: metrics_core::StoreError::Invalid("bad".into()),
        };
        assert_eq!(store.error_type(), "StoreWriteFailed");
        assert_eq!(
            diagnostic(HandlerError::objects(1, &[store])).error_type,
            "StoreWriteFailed"
        );
        assert_eq!(
            diagnostic(HandlerError::objects(2, &[read_error("x"), corrupt("y")])).error_type,
            "ObjectsFailed"
        );
        let not_s3 = crate::event::plan(json!({"foo": 1})).unwrap_err();
        assert_eq!(
            diagnostic(HandlerError::Event(not_s3)).error_type,
            "InvalidEvent"
        );
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(directive: &str, r: &ObjectReport) -> String {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = metrics_core::aws::json_subscriber(directive, move || out.clone());
        tracing::subscriber::with_default(subscriber, || log_report(r));
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn report() -> ObjectReport {
        let mut stats = Stats {
            lines: 3,
            accepted: 2,
            ..Stats::default()
        };
        stats.rejected.add(Reason::NoService);
        ObjectReport {
            bucket: "b".into(),
            key: "logs/api/x.log".into(),
            version_id: None,
            source_id: "s1".into(),
            bytes: 10,
            gzip: false,
            stats,
            groups: 1,
            groups_written: 1,
            groups_already_applied: 0,
            dynamodb_requests: 2,
            retries: 0,
        }
    }

    /// The report line goes through tracing: one JSON object, the fields at the top level, and
    /// the log level filters it.
    #[test]
    fn the_report_is_a_structured_log_line_the_level_filters() {
        let text = logged("info", &report());
        let line: Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "object processed");
        assert_eq!(line["key"], "logs/api/x.log");
        assert_eq!(
            (line["lines"].as_u64(), line["accepted"].as_u64()),
            (Some(3), Some(2))
        );
        assert_eq!(line["groups_written"], 1);
        assert_eq!(line["rejected"], r#"{"no_service":1}"#);
        assert!(line["timestamp"].is_string());
        assert_eq!(logged("warn", &report()), "");
    }
}
