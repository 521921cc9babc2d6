//! The committed sample logs (examples/sample-logs) through the `--file` pipeline, against
//! aggregates worked out by hand from the files.

use log_processor::pipeline::{process_read, Outcome, Window};
use log_processor::rejects::Reason;
use metrics_core::{GroupKey, Minute};
use std::path::PathBuf;

fn sample(name: &str, key: &str) -> Outcome {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/sample-logs")
        .join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reference = chrono::DateTime::parse_from_rfc3339("2026-11-29T18:10:00Z")
        .unwrap()
        .timestamp_millis();
    process_read(file, Some(key), "logs/", Window::around(reference)).unwrap()
}

/// (count, sum, min, max) of one metric in one group.
fn stat(o: &Outcome, service: &str, minute: &str, metric: &str) -> Option<(u64, f64, f64, f64)> {
    let key = GroupKey::new(service, Minute::parse_key(minute).unwrap());
    let a = o.batch.0.get(&key)?.get(metric)?;
    Some((a.count, a.sum, a.min, a.max))
}

#[test]
fn json_lines_sample() {
    let o = sample("checkout-app.jsonl", "logs/checkout/2026/11/29/app.jsonl");
    assert_eq!((o.stats.lines, o.stats.accepted, o.stats.blank), (13, 6, 1));
    for r in [
        Reason::InvalidJson,
        Reason::TimestampOutOfRange,
        Reason::BadService,
        Reason::WrongType,
        Reason::NoTimestamp,
        Reason::Binary,
    ] {
        assert_eq!(o.stats.rejected.get(r), 1, "{r:?}");
    }
    let m5 = "2026-11-29T18:05:00Z";
    let m6 = "2026-11-29T18:06:00Z";
    assert_eq!(
        stat(&o, "checkout", m5, "requests"),
        Some((3, 3.0, 1.0, 1.0))
    );
    assert_eq!(stat(&o, "checkout", m5, "errors"), Some((3, 1.0, 0.0, 1.0)));
    assert_eq!(
        stat(&o, "checkout", m5, "latency_ms"),
        Some((3, 234.75, 12.0, 180.25))
    );
    assert_eq!(stat(&o, "payments", m5, "errors"), Some((1, 1.0, 1.0, 1.0)));
    assert_eq!(
        stat(&o, "payments", m5, "latency_ms"),
        Some((1, 2500.0, 2500.0, 2500.0))
    );
    assert_eq!(
        stat(&o, "checkout", m6, "requests"),
        Some((2, 2.0, 1.0, 1.0))
    );
    assert_eq!(stat(&o, "checkout", m6, "errors"), Some((2, 1.0, 0.0, 1.0)));
    assert_eq!(
        stat(&o, "checkout", m6, "latency_ms"),
        Some((1, 310.75, 310.75, 310.75))
    );
    assert_eq!(o.batch.len(), 3);
}

#[test]
fn access_log_sample_plain_and_gzip_agree() {
    let plain = sample("web-access.log", "logs/web/access.log");
    let gz = sample("web-access.log.gz", "logs/web/access.log.gz");
    assert!(!plain.gzip && gz.gzip);
    assert_eq!(plain.batch, gz.batch);
    assert_eq!(
        (
            gz.stats.accepted,
            gz.stats.rejected.get(Reason::UnknownFormat)
        ),
        (5, 1)
    );
    let m5 = "2026-11-29T18:05:00Z";
    assert_eq!(stat(&gz, "web", m5, "errors"), Some((3, 1.0, 0.0, 1.0)));
    assert_eq!(
        stat(&gz, "web", m5, "latency_ms"),
        Some((3, 1352.0, 12.0, 1250.0))
    );
    // 18:06: the Apache docs line has no request time; 304 is not an error.
    assert_eq!(
        stat(&gz, "web", "2026-11-29T18:06:00Z", "requests"),
        Some((2, 2.0, 1.0, 1.0))
    );
    assert_eq!(
        stat(&gz, "web", "2026-11-29T18:06:00Z", "latency_ms"),
        Some((1, 1.0, 1.0, 1.0))
    );
}

#[test]
fn emf_sample() {
    let o = sample("worker-emf.log", "logs/worker/emf.log");
    assert_eq!(
        (o.stats.accepted, o.stats.rejected.get(Reason::BadEmf)),
        (2, 1)
    );
    let m5 = "2026-11-29T18:05:00Z";
    assert_eq!(
        stat(&o, "worker", m5, "JobsProcessed"),
        Some((2, 20.0, 8.0, 12.0))
    );
    assert_eq!(
        stat(&o, "worker", m5, "QueueDepth"),
        Some((1, 340.0, 340.0, 340.0))
    );
    assert_eq!(
        stat(&o, "worker", m5, "JobLatency"),
        Some((3, 501.5, 80.5, 301.0))
    );
    assert_eq!(
        stat(&o, "worker", m5, "requests"),
        None,
        "EMF lines are not requests"
    );
}
