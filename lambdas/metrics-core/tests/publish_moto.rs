//! Publishing against a real moto server: a commit's newly applied groups reach CloudWatch once;
//! a replay of the same source publishes nothing; a second source publishes its own contribution
//! (the delta), not the merged item. Read back with GetMetricData (`Sum`, `SampleCount`).

use metrics_core::aggregate::{ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::publish::{plan, PublishPolicy};
use metrics_core::{Batch, MetricPublisher, MetricWriter, Minute};
use test_support::{cloudwatch, dynamo, Moto};

const TABLE: &str = "ApplicationMetrics";
const NAMESPACE: &str = "appmon/Services";

/// `n` requests per minute for `minutes` minutes of `service`, every 7th an error, latencies
/// spread over ~300 sketch buckets (so a minute's distribution is several datums).
fn batch(services: &[&str], start: Minute, minutes: i64, n: u32) -> Batch {
    let mut b = Batch::new();
    for svc in services {
        for m in 0..minutes {
            let minute = start.add_minutes(m);
            for i in 0..n {
                b.record(svc, minute, REQUESTS, 1.0);
                b.record(svc, minute, ERRORS, if i % 7 == 0 { 1.0 } else { 0.0 });
                b.record(svc, minute, LATENCY_MS, 1.02f64.powi((i % 300) as i32));
            }
        }
    }
    b
}

struct Totals {
    requests: f64,
    errors: f64,
    latency_samples: f64,
}

async fn totals(cw: &aws_sdk_cloudwatch::Client, service: &str, start: Minute) -> Totals {
    let (from, to) = (
        start.epoch_seconds() - 3600,
        start.epoch_seconds() + 3 * 3600,
    );
    let get = |metric: &'static str, stat: &'static str| {
        cloudwatch::total(cw, NAMESPACE, metric, service, stat, from, to)
    };
    Totals {
        requests: get("Requests", "Sum").await,
        errors: get("Errors", "Sum").await,
        latency_samples: get("Latency", "SampleCount").await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_publishes_once_and_a_replay_publishes_nothing() {
    let moto = Moto::start();
    let sdk = dynamo::sdk_config(&moto.endpoint).await;
    let ddb = metrics_core::aws::dynamodb_client(&sdk);
    dynamo::create_metric_table(&ddb, TABLE).await;
    let writer = MetricWriter::new(ddb, TABLE);
    let publisher = MetricPublisher::new(&sdk);
    let cw = cloudwatch::client(&moto.endpoint).await;
    let policy = PublishPolicy {
        namespace: NAMESPACE.into(),
        services: ["api".to_owned()].into(),
        custom_metrics: Vec::new(),
    };
    let now = chrono::Utc::now().timestamp();
    let start = Minute::from_epoch_seconds(now).add_minutes(-10);
    let first = batch(&["api", "hidden"], start, 3, 400);

    let applied = writer.apply(Some("source-a"), &first).await.unwrap();
    assert_eq!(applied.applied.len(), 6);
    let p = plan(&first, &applied.applied, &policy, now);
    assert_eq!((p.groups_published, p.groups_not_published), (3, 3));
    assert_eq!(p.not_published_services, ["hidden"]);
    // 3 minutes × (Requests + Errors + 2 Latency datums: ~300 buckets at 150 per datum).
    assert_eq!(p.datums(), 3 * 4);
    let sent = publisher.publish(&p).await;
    assert_eq!(
        (sent.datums_published, sent.datums_not_published),
        (p.datums(), 0)
    );
    let expected_errors = f64::from(3 * (400u32.div_ceil(7)));
    let t = totals(&cw, "api", start).await;
    assert_eq!(
        (t.requests, t.errors, t.latency_samples),
        (1200.0, expected_errors, 1200.0)
    );

    // The same source again (a replayed event, a retried request): nothing is newly applied,
    // so nothing is published and CloudWatch holds the values once.
    for _ in 0..2 {
        let again = writer.apply(Some("source-a"), &first).await.unwrap();
        assert_eq!(again.groups_already_applied, 6);
        assert!(again.applied.is_empty());
        let p = plan(&first, &again.applied, &policy, now);
        assert!(p.requests.is_empty());
        let sent = publisher.publish(&p).await;
        assert_eq!(sent.put_metric_data_requests, 0);
    }
    let t = totals(&cw, "api", start).await;
    assert_eq!(
        (t.requests, t.errors, t.latency_samples),
        (1200.0, expected_errors, 1200.0)
    );
    assert_eq!(totals(&cw, "hidden", start).await.requests, 0.0);

    // Another source adding to the same groups publishes its own contribution, not the merged
    // item: CloudWatch adds up to the table's totals.
    let second = batch(&["api"], start, 3, 100);
    let applied = writer.apply(Some("source-b"), &second).await.unwrap();
    let p = plan(&second, &applied.applied, &policy, now);
    let sent = publisher.publish(&p).await;
    assert_eq!(sent.datums_not_published, 0);
    let t = totals(&cw, "api", start).await;
    assert_eq!(
        (t.requests, t.latency_samples),
        (1200.0 + 300.0, 1200.0 + 300.0)
    );
    assert_eq!(
        t.errors,
        expected_errors + f64::from(3 * 100u32.div_ceil(7))
    );
}

/// A PutMetricData failure after the commit is reported, not raised: the endpoint refuses
/// connections, the SDK gives up, the datums are counted as not published.
#[tokio::test]
async fn a_failed_publish_is_counted_not_raised() {
    let sdk = dynamo::sdk_config("http://127.0.0.1:9").await;
    let publisher = MetricPublisher::new(&sdk);
    let policy = PublishPolicy {
        namespace: NAMESPACE.into(),
        services: ["api".to_owned()].into(),
        custom_metrics: Vec::new(),
    };
    let now = chrono::Utc::now().timestamp();
    let b = batch(&["api"], Minute::from_epoch_seconds(now), 1, 10);
    let keys: Vec<_> = b.0.keys().cloned().collect();
    let p = plan(&b, &keys, &policy, now);
    let sent = publisher.publish(&p).await;
    assert_eq!(sent.put_metric_data_requests, 1);
    assert_eq!((sent.datums_published, sent.datums_not_published), (0, 3));
}
