//! The Lambda handler: plan the event's objects, process each, fail if any failed.

use crate::config::Config;
use crate::event::plan;
use crate::s3::{process_object, LogObjects, ObjectError, ObjectReport, Publishing};
use contract::Function;
use metrics_core::{MetricPublisher, MetricStore, MetricWriter, PublishPolicy};
use serde_json::{json, Value};

/// Clients and settings built once per execution environment, borrowed by every invocation:
/// every AWS operation the function may perform.
pub struct Deps {
    pub s3: LogObjects,
    pub store: MetricWriter,
    /// The services' metrics in CloudWatch, published after each commit.
    pub cloudwatch: MetricPublisher,
    /// Which services and metrics are published, under which namespace.
    pub publish: PublishPolicy,
    /// `LOGS_PREFIX`: see [`crate::event::service_from_key`].
    pub logs_prefix: String,
}

contract::assert_clients!(Function::LogProcessor; LogObjects, MetricWriter, MetricPublisher);

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Deps {
        Deps {
            s3: LogObjects::new(sdk),
            store: MetricWriter::from_store(
                MetricStore::new(metrics_core::aws::dynamodb_client(sdk), &config.table)
                    .with_retention(config.retention),
            ),
            cloudwatch: MetricPublisher::new(sdk),
            publish: config.publish.clone(),
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
    let publishing = Publishing {
        client: &deps.cloudwatch,
        policy: &deps.publish,
    };
    for obj in &planned.objects {
        match process_object(&deps.s3, &deps.store, &publishing, &deps.logs_prefix, obj).await {
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
/// counts, groups written, what was published to CloudWatch. `rejected` (line counts per reject
/// reason, non-zero only) and `not_published_services` are JSON in text form, e.g.
/// `{"no_service":1}`; Logs Insights reads them with `parse`. Datums that failed to publish are
/// logged at error level by the publisher; minutes CloudWatch would refuse as too old or too new
/// get a warning here (they are in the table and the API, not in CloudWatch). Groups the table
/// can never take are in `groups_rejected`, `groups_rejected_by_reason` and
/// `rejected_group_examples` (JSON text), plus a warning naming them: their data is dropped.
fn log_report(r: &ObjectReport) {
    let s = &r.stats;
    let p = &r.published;
    let rejected_by_reason =
        serde_json::to_string(&r.groups_rejected_by_reason).unwrap_or_default();
    let rejected_examples = serde_json::to_string(&r.rejected_group_examples).unwrap_or_default();
    if r.groups_rejected > 0 {
        tracing::warn!(
            bucket = %r.bucket,
            key = %r.key,
            groups_rejected = r.groups_rejected,
            groups_rejected_by_reason = %rejected_by_reason,
            rejected_group_examples = %rejected_examples,
            "(service, minute) groups the table can never take were dropped; the rest of the object is committed"
        );
    }
    if p.too_old_for_cloudwatch + p.too_new_for_cloudwatch > 0 {
        tracing::warn!(
            bucket = %r.bucket,
            key = %r.key,
            too_old_for_cloudwatch = p.too_old_for_cloudwatch,
            too_new_for_cloudwatch = p.too_new_for_cloudwatch,
            "minutes outside CloudWatch's window (two weeks back, two hours ahead) are in the table only"
        );
    }
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
        groups_rejected = r.groups_rejected,
        groups_rejected_by_reason = %rejected_by_reason,
        rejected_group_examples = %rejected_examples,
        dynamodb_requests = r.dynamodb_requests,
        retries = r.retries,
        rollups_written = r.rollups_written,
        rollup_requests = r.rollup_requests,
        rollup_conflicts = r.rollup_conflicts,
        groups_published = p.groups_published,
        groups_not_published = p.groups_not_published,
        not_published_services = %serde_json::to_string(&p.not_published_services).unwrap_or_default(),
        too_old_for_cloudwatch = p.too_old_for_cloudwatch,
        too_new_for_cloudwatch = p.too_new_for_cloudwatch,
        put_metric_data_requests = p.sent.put_metric_data_requests,
        datums_published = p.sent.datums_published,
        datums_not_published = p.sent.datums_not_published,
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
            groups_rejected: 0,
            groups_rejected_by_reason: Default::default(),
            rejected_group_examples: Vec::new(),
            dynamodb_requests: 2,
            retries: 0,
            rollups_written: 0,
            rollup_requests: 0,
            rollup_conflicts: 0,
            published: metrics_core::publish::PublishSummary {
                groups_published: 1,
                groups_not_published: 2,
                not_published_services: vec!["db".into()],
                ..Default::default()
            },
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
        assert_eq!(
            (
                line["groups_published"].as_u64(),
                line["groups_not_published"].as_u64()
            ),
            (Some(1), Some(2))
        );
        assert_eq!(line["not_published_services"], r#"["db"]"#);
        assert_eq!(line["datums_not_published"], 0);
        assert!(line["timestamp"].is_string());
        assert_eq!(logged("warn", &report()), "");
        assert_eq!(line["groups_rejected"], 0);
        assert_eq!(line["groups_rejected_by_reason"], "{}");
    }

    /// Dropped groups are a warning naming the reasons and example groups, and in the report line.
    #[test]
    fn rejected_groups_are_a_warning_with_reasons_and_examples() {
        let mut r = report();
        r.groups_rejected = 1;
        r.groups_rejected_by_reason.insert("item_too_large", 1);
        r.rejected_group_examples.push(crate::s3::RejectedExample {
            service: "wide".into(),
            minute: "2026-11-29T18:05:00Z".into(),
            reason: "item_too_large",
            message: "item wide@2026-11-29T18:05:00Z would be 546839 bytes".into(),
        });
        let text = logged("warn", &r);
        let line: Value = serde_json::from_str(text.trim()).expect("one warning");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["groups_rejected"], 1);
        assert_eq!(line["groups_rejected_by_reason"], r#"{"item_too_large":1}"#);
        let examples: Value =
            serde_json::from_str(line["rejected_group_examples"].as_str().unwrap()).unwrap();
        assert_eq!(examples[0]["service"], "wide");
        assert_eq!(examples[0]["reason"], "item_too_large");
        let info = logged("info", &r);
        let processed: Value = serde_json::from_str(info.lines().last().unwrap()).unwrap();
        assert_eq!(processed["message"], "object processed");
        assert_eq!(processed["groups_rejected"], 1);
        assert_eq!(
            processed["groups_rejected_by_reason"],
            r#"{"item_too_large":1}"#
        );
    }
}
