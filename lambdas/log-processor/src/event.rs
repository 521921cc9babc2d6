//! S3 event records to the objects they name.
//!
//! S3 sends keys form-URL-encoded (`+` for space, `%XX` for the rest) and never fills
//! `urlDecodedKey`, so the key is decoded here: `+` to space first, then percent-decode.

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// One object to process, as named by one event record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    /// Set for versioned buckets; pins the exact object version.
    pub version_id: Option<String>,
    pub etag: Option<String>,
    pub size: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("event is not an S3 notification: {0}")]
    NotS3(String),
    #[error("S3 record {index} has no {field}")]
    MissingField { index: usize, field: &'static str },
    #[error("S3 record {index}: key {raw:?} is not valid percent-encoded UTF-8")]
    BadKey { index: usize, raw: String },
}

/// What an event asks for: the objects to process and the records deliberately skipped.
#[derive(Debug, Default)]
pub struct Planned {
    pub objects: Vec<ObjectRef>,
    /// Records that are not ObjectCreated (e.g. deletes), by event name; logged, not processed.
    pub ignored: Vec<String>,
}

/// `+` means space in form encoding; a literal plus arrives as `%2B`.
pub fn decode_key(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Reads an invocation payload. `s3:TestEvent` (sent once when a notification is
/// configured) has no `Records` and yields an empty plan.
pub fn plan(payload: Value) -> Result<Planned, EventError> {
    if payload.get("Records").is_none() {
        if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
            return Ok(Planned::default());
        }
        return Err(EventError::NotS3("no Records array".into()));
    }
    let event: S3Event =
        serde_json::from_value(payload).map_err(|e| EventError::NotS3(e.to_string()))?;
    plan_records(&event.records)
}

pub fn plan_records(records: &[S3EventRecord]) -> Result<Planned, EventError> {
    let mut out = Planned::default();
    for (index, r) in records.iter().enumerate() {
        let name = r.event_name.clone().unwrap_or_default();
        if !name.starts_with("ObjectCreated:") {
            out.ignored.push(name);
            continue;
        }
        let bucket = r.s3.bucket.name.clone().ok_or(EventError::MissingField {
            index,
            field: "s3.bucket.name",
        })?;
        let raw = r.s3.object.key.as_deref().ok_or(EventError::MissingField {
            index,
            field: "s3.object.key",
        })?;
        let key = decode_key(raw).ok_or_else(|| EventError::BadKey {
            index,
            raw: raw.to_string(),
        })?;
        out.objects.push(ObjectRef {
            bucket,
            key,
            version_id: r
                .s3
                .object
                .version_id
                .clone()
                .filter(|v| !v.is_empty() && v != "null"),
            etag: r.s3.object.e_tag.clone().filter(|v| !v.is_empty()),
            size: r.s3.object.size,
        });
    }
    Ok(out)
}

/// The service named by a key of the form `<logs_prefix><service>/...`, if any (not yet
/// validated). `logs_prefix` is the module's `logs_prefix` (`LOGS_PREFIX`), e.g. `logs/`.
pub fn service_from_key<'k>(logs_prefix: &str, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(logs_prefix)?;
    let (service, tail) = rest.split_once('/')?;
    (!service.is_empty() && !tail.is_empty()).then_some(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_decoding_plus_first_then_percent() {
        assert_eq!(
            decode_key("logs/api/2026/11/29/app+log.json").unwrap(),
            "logs/api/2026/11/29/app log.json"
        );
        assert_eq!(
            decode_key("logs/api/a%2Bb.log").unwrap(),
            "logs/api/a+b.log"
        );
        assert_eq!(decode_key("logs%2Fapi%2Fx.log").unwrap(), "logs/api/x.log");
        assert_eq!(decode_key("Happy%20Face.jpg").unwrap(), "Happy Face.jpg");
        assert_eq!(decode_key("caf%C3%A9+%25.log").unwrap(), "café %.log");
        assert_eq!(decode_key("bad%FF"), None);
    }

    #[test]
    fn service_prefix() {
        let service = |key| service_from_key("logs/", key);
        assert_eq!(service("logs/checkout/2026/x.log"), Some("checkout"));
        assert_eq!(service("logs/checkout/x"), Some("checkout"));
        assert_eq!(service("logs/checkout"), None);
        assert_eq!(service("logs//x.log"), None);
        assert_eq!(service("other/checkout/x.log"), None);
    }

    /// The module's `logs_prefix` decides, not a hard-coded `logs/` (the bug: under
    /// `app-logs/` no key named a service).
    #[test]
    fn service_under_another_prefix() {
        assert_eq!(
            service_from_key("app-logs/", "app-logs/checkout/2026/x.log"),
            Some("checkout")
        );
        assert_eq!(service_from_key("app-logs/", "logs/checkout/x.log"), None);
        assert_eq!(service_from_key("app-logs/", "app-logs/x.log"), None);
    }

    #[test]
    fn aws_lambda_events_fixture_plans_one_object() {
        let p: Value =
            serde_json::from_str(include_str!("../tests/fixtures/s3-put-single.json")).unwrap();
        let planned = plan(p).unwrap();
        assert_eq!(
            planned.objects,
            vec![ObjectRef {
                bucket: "sourcebucket".into(),
                key: "Happy Face.jpg".into(),
                version_id: Some("version".into()),
                etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
                size: Some(1024),
            }]
        );
    }

    #[test]
    fn multi_record_event_with_encoded_keys_and_a_delete() {
        let p: Value =
            serde_json::from_str(include_str!("../tests/fixtures/s3-put-multi.json")).unwrap();
        let planned = plan(p).unwrap();
        let keys: Vec<_> = planned.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "logs/checkout/2026/11/29/app log.json",
                "logs/payments/a+b/c.log.gz",
                "logs/web/access.log"
            ]
        );
        assert_eq!(
            planned.objects[0].version_id, None,
            "unversioned bucket record"
        );
        assert_eq!(
            planned.objects[1].version_id.as_deref(),
            Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")
        );
        assert_eq!(planned.ignored, ["ObjectRemoved:Delete"]);
    }

    #[test]
    fn test_event_and_garbage() {
        let test_event = serde_json::json!({
            "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-29T18:05:00.000Z",
            "Bucket": "b", "RequestId": "r", "HostId": "h"
        });
        assert!(plan(test_event).unwrap().objects.is_empty());
        assert!(matches!(
            plan(serde_json::json!({"foo": 1})),
            Err(EventError::NotS3(_))
        ));
        assert!(matches!(
            plan(serde_json::json!({"Records": [{"foo": 1}]})),
            Err(EventError::NotS3(_))
        ));
    }
}
