//! The handler against a real moto server: S3 objects in, table items out, compared with
//! aggregates computed independently here; replays, a crash part-way, unreadable objects.

mod support;

use chrono::{DateTime, Duration, SubsecRound, Timelike, Utc};
use log_processor::event::ObjectRef;
use metrics_core::aggregate::Batch;
use metrics_core::{GroupKey, Minute};
use std::collections::BTreeMap;
use std::io::Write;
use support::{aws, s3_event, Aws, Record};
use test_support::Moto;

const TABLE: &str = "ApplicationMetrics";
const BUCKET: &str = "app-logs";

/// (service, minute, metric) -> values, written while the lines are generated.
#[derive(Default)]
struct Truth(BTreeMap<(String, String, String), Vec<f64>>);

impl Truth {
    fn add(&mut self, service: &str, at: DateTime<Utc>, metric: &str, v: f64) {
        let minute = at
            .with_second(0)
            .unwrap()
            .trunc_subsecs(0)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        self.0
            .entry((service.into(), minute, metric.into()))
            .or_default()
            .push(v);
    }
}

fn base() -> DateTime<Utc> {
    (Utc::now() - Duration::minutes(30))
        .with_second(0)
        .unwrap()
        .trunc_subsecs(0)
}

/// JSON lines, every alias, service from the line or the key, plus bad lines.
fn json_object(base: DateTime<Utc>, truth: &mut Truth) -> (Vec<u8>, u64) {
    let mut out = String::new();
    let mut bad = 0;
    for i in 0..600i64 {
        let at = base + Duration::milliseconds(i * 500);
        let ts = match i % 4 {
            0 => format!(
                r#""timestamp":"{}""#,
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            1 => format!(r#""ts":{}"#, at.timestamp_millis()),
            2 => format!(
                r#""@timestamp":"{}""#,
                at.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            ),
            _ => format!(
                r#""time":{}.{:03}"#,
                at.timestamp(),
                at.timestamp_subsec_millis()
            ),
        };
        let service = if i % 10 == 3 { "payments" } else { "checkout" };
        let svc_field = match (service, i % 3) {
            ("payments", 0) => r#","app":"payments""#.to_string(),
            ("payments", _) => r#","service":"payments""#.to_string(),
            (_, 0) => r#","service_name":"checkout""#.to_string(),
            _ => String::new(), // from the key logs/checkout/
        };
        let level = if i % 13 == 0 { "ERROR" } else { "info" };
        let status = if i % 17 == 0 { 503 } else { 200 };
        let latency = (i % 50) as f64 + 0.5;
        let lat_field = if i % 4 == 3 {
            String::new()
        } else {
            format!(r#","duration_ms":{latency}"#)
        };
        out.push_str(&format!(
            r#"{{{ts}{svc_field},"level":"{level}","status":{status}{lat_field},"msg":"request {i} \"quoted\""}}"#
        ));
        out.push('\n');
        truth.add(service, at, "requests", 1.0);
        truth.add(
            service,
            at,
            "errors",
            if level == "ERROR" || status >= 500 {
                1.0
            } else {
                0.0
            },
        );
        if i % 4 != 3 {
            truth.add(service, at, "latency_ms", latency);
        }
        if i % 100 == 50 {
            out.push_str(
                "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"service\":\"checkout\",\"lat\n",
            );
            out.push_str("\u{1}\u{2} binary junk\n");
            bad += 2;
        }
    }
    (out.into_bytes(), bad)
}

/// nginx combined with `$request_time`, gzip-compressed (two members).
fn access_object(base: DateTime<Utc>, truth: &mut Truth) -> Vec<u8> {
    let mut text = String::new();
    for i in 0..200i64 {
        let at = base + Duration::seconds(i);
        let status = if i % 9 == 0 { 500 } else { 200 };
        let mut line = format!(
            r#"203.0.113.{} - - [{}] "GET /items/{i} HTTP/1.1" {status} 512 "-" "Mozilla/5.0 (X11)""#,
            i % 250,
            at.format("%d/%b/%Y:%H:%M:%S +0000")
        );
        truth.add("web", at, "requests", 1.0);
        truth.add("web", at, "errors", if status >= 500 { 1.0 } else { 0.0 });
        if i % 7 != 0 {
            let secs = format!("{:.3}", (i % 100 + 1) as f64 / 1000.0);
            truth.add(
                "web",
                at,
                "latency_ms",
                secs.parse::<f64>().unwrap() * 1000.0,
            );
            line.push(' ');
            line.push_str(&secs);
        }
        text.push_str(&line);
        text.push('\n');
    }
    let (a, b) = text.as_bytes().split_at(text.len() / 2);
    let mut gz = gzip(a);
    gz.extend(gzip(b));
    gz
}

fn emf_object(base: DateTime<Utc>, truth: &mut Truth) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..90i64 {
        let at = base + Duration::seconds(i * 2);
        out.push_str(&format!(
            r#"{{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"Worker","Dimensions":[["queue"]],"Metrics":[{{"Name":"QueueDepth","Unit":"Count"}}]}}]}},"queue":"default","QueueDepth":{}}}"#,
            at.timestamp_millis(),
            i * 3
        ));
        out.push('\n');
        truth.add("worker", at, "QueueDepth", (i * 3) as f64);
    }
    out.into_bytes()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Every expected group read back and compared: count, sum, min, max exactly (sum to
/// float rounding), p50/p99 within the sketch's 1% of the exact rank statistic.
async fn assert_table_matches(aws: &Aws, table: &str, truth: &Truth) {
    let store = metrics_core::MetricStore::new(aws.ddb.clone(), table);
    for ((service, minute, metric), values) in &truth.0 {
        let key = GroupKey::new(service.as_str(), Minute::parse_key(minute).unwrap());
        let group = store
            .get_group(&key)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no item for {key}"));
        let agg = group
            .metrics
            .get(metric)
            .unwrap_or_else(|| panic!("{key}: no {metric}"));
        let sum: f64 = values.iter().sum();
        let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(agg.count, values.len() as u64, "{key} {metric} count");
        assert!(
            (agg.sum - sum).abs() <= 1e-9 * sum.abs().max(1.0),
            "{key} {metric} sum {} vs {sum}",
            agg.sum
        );
        assert_eq!((agg.min, agg.max), (min, max), "{key} {metric} min/max");
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.5, 0.99] {
            let exact = sorted[((q * (sorted.len() - 1) as f64).floor()) as usize];
            let got = agg
                .stat(if q == 0.5 {
                    metrics_core::Stat::P50
                } else {
                    metrics_core::Stat::P99
                })
                .unwrap();
            assert!(
                (got - exact).abs() <= 0.01 * exact.abs() + 1e-9,
                "{key} {metric} p{q}: {got} vs {exact}"
            );
        }
    }
    let items = minute_items(aws.scan(table).await);
    let groups: std::collections::BTreeSet<_> = truth
        .0
        .keys()
        .map(|(s, m, _)| (s.clone(), m.clone()))
        .collect();
    assert_eq!(items.len(), groups.len(), "no extra items");
}

async fn setup() -> (Moto, Aws) {
    let moto = Moto::start();
    let aws = aws(&moto.endpoint).await;
    aws.bucket(BUCKET, false).await;
    aws.create_table(TABLE).await;
    (moto, aws)
}

async fn upload_all(aws: &Aws, truth: &mut Truth) -> (Vec<Record>, u64) {
    let b = base();
    let (json, bad) = json_object(b, truth);
    let records = vec![
        aws.put(BUCKET, "logs/checkout/2026/11/29/app 1+2.jsonl", json)
            .await,
        aws.put(BUCKET, "logs/web/access log.gz", access_object(b, truth))
            .await,
        aws.put(BUCKET, "logs/worker/emf.log", emf_object(b, truth))
            .await,
    ];
    (records, bad)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_become_the_expected_items_and_replays_change_nothing() {
    let (_moto, aws) = setup().await;
    let mut truth = Truth::default();
    let (records, bad) = upload_all(&aws, &mut truth).await;
    let deps = aws.deps(TABLE);
    let event = s3_event(&records);
    assert!(
        event
            .to_string()
            .contains(r#""key":"logs/checkout/2026/11/29/app+1%2B2.jsonl""#),
        "{event}"
    );

    let out = log_processor::handler::handle(&deps, event.clone())
        .await
        .unwrap();
    let objects = out["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["key"], "logs/checkout/2026/11/29/app 1+2.jsonl");
    assert_eq!(objects[0]["accepted"], 600);
    let rejected: u64 = objects[0]["rejected"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(rejected, bad);
    assert_eq!(objects[0]["rejected"]["invalid_json"], bad / 2);
    assert_eq!(objects[1]["gzip"], true);
    assert_eq!(objects[1]["accepted"], 200);
    assert_table_matches(&aws, TABLE, &truth).await;
    let first = aws.scan(TABLE).await;

    // The same event again, twice: nothing changes, not even UpdatedAt.
    for _ in 0..2 {
        let again = log_processor::handler::handle(&deps, event.clone())
            .await
            .unwrap();
        for o in again["objects"].as_array().unwrap() {
            assert_eq!(o["groups_written"], 0, "{o}");
            assert_eq!(o["groups_already_applied"], o["groups"], "{o}");
        }
        assert_eq!(aws.scan(TABLE).await, first);
    }
}

fn without_updated_at(
    items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    items
        .into_iter()
        .map(|mut i| {
            i.remove(metrics_core::codec::UPDATED_AT);
            i
        })
        .collect()
}

fn object_ref(r: &Record) -> ObjectRef {
    ObjectRef {
        bucket: r.bucket.clone(),
        key: r.key.clone(),
        version_id: r.version_id.clone(),
        etag: r.etag.clone(),
        size: Some(r.size),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_a_crash_part_way_equals_one_clean_run() {
    let (_moto, aws) = setup().await;
    aws.create_table("Crashed").await;
    let mut truth = Truth::default();
    let (records, _) = upload_all(&aws, &mut truth).await;
    let event = s3_event(&records);

    // Clean run.
    log_processor::handler::handle(&aws.deps(TABLE), event.clone())
        .await
        .unwrap();
    let clean = without_updated_at(aws.scan(TABLE).await);

    // Crashed run: the first object's groups were only half written (as when the function dies
    // after its first transaction), the other objects not at all.
    let obj = object_ref(&records[0]);
    let outcome = log_processor::s3::read_object(
        &log_processor::s3::LogObjects::from_client(aws.s3.clone()),
        "logs/",
        &obj,
    )
    .await
    .unwrap();
    assert!(
        outcome.batch.len() >= 4,
        "need several groups, got {}",
        outcome.batch.len()
    );
    let half = Batch(
        outcome
            .batch
            .0
            .iter()
            .take(outcome.batch.len() / 2)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let store = metrics_core::MetricStore::new(aws.ddb.clone(), "Crashed");
    let partial = store
        .apply(Some(&log_processor::source_id::source_id(&obj)), &half)
        .await
        .unwrap();
    assert_eq!(partial.groups_written, half.len());
    assert_ne!(
        without_updated_at(aws.scan("Crashed").await),
        clean,
        "the crash left a partial table"
    );

    // Lambda retries the whole event.
    let out = log_processor::handler::handle(&aws.deps("Crashed"), event)
        .await
        .unwrap();
    assert_eq!(out["objects"][0]["groups_already_applied"], half.len());
    assert_eq!(without_updated_at(aws.scan("Crashed").await), clean);
    assert_table_matches(&aws, "Crashed", &truth).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_objects_fail_the_invocation_naming_the_key() {
    let (_moto, aws) = setup().await;
    let deps = aws.deps(TABLE);
    let mut truth = Truth::default();
    let b = base();
    let good = aws
        .put(BUCKET, "logs/worker/ok.log", emf_object(b, &mut truth))
        .await;
    let mut corrupt = gzip(&emf_object(b, &mut Truth::default()));
    let n = corrupt.len();
    corrupt.truncate(n - 20);
    let corrupt = aws.put(BUCKET, "logs/worker/broken file.gz", corrupt).await;
    let missing = Record {
        key: "logs/worker/never uploaded.log".into(),
        etag: Some("0123".into()),
        ..good.clone()
    };

    let err = log_processor::handler::handle(
        &deps,
        s3_event(&[good.clone(), corrupt.clone(), missing.clone()]),
    )
    .await
    .unwrap_err();
    // One unreadable, one corrupt: no single kind.
    assert_eq!(err.error_type(), "ObjectsFailed");
    let err = err.to_string();
    assert!(err.starts_with("2 of 3 objects failed"), "{err}");
    assert!(
        err.contains("s3://app-logs/logs/worker/broken file.gz: corrupt gzip"),
        "{err}"
    );
    assert!(
        err.contains("s3://app-logs/logs/worker/never uploaded.log: cannot read object"),
        "{err}"
    );
    assert!(err.contains("NoSuchKey"), "{err}");
    // The readable object was applied; the corrupt one wrote nothing.
    assert_table_matches(&aws, TABLE, &truth).await;

    // The missing object arrives; Lambda's retry of the same event applies it and nothing twice.
    let late = aws
        .put(
            BUCKET,
            &missing.key,
            emf_object(b + Duration::minutes(5), &mut truth),
        )
        .await;
    let missing = Record {
        etag: late.etag.clone(),
        ..missing
    };
    let err = log_processor::handler::handle(&deps, s3_event(&[good, corrupt, missing]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("1 of 3 objects failed"), "{err}");
    assert_table_matches(&aws, TABLE, &truth).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_pins_the_object_version() {
    let moto = Moto::start();
    let aws = aws(&moto.endpoint).await;
    aws.bucket("versioned", true).await;
    aws.bucket(BUCKET, false).await;
    aws.create_table(TABLE).await;
    let deps = aws.deps(TABLE);
    let b = base();
    let mut truth = Truth::default();
    let v1 = aws
        .put("versioned", "logs/worker/x.log", emf_object(b, &mut truth))
        .await;
    assert!(v1.version_id.is_some(), "moto returned no version id");
    // Overwritten before the first event is processed: the event still means version 1.
    let mut later = Truth::default();
    aws.put(
        "versioned",
        "logs/worker/x.log",
        emf_object(b + Duration::minutes(3), &mut later),
    )
    .await;
    log_processor::handler::handle(&deps, s3_event(&[v1]))
        .await
        .unwrap();
    assert_table_matches(&aws, TABLE, &truth).await;

    // Unversioned bucket: the eTag pins it; an overwritten object is an error, never the new content.
    let e1 = aws.put(BUCKET, "logs/worker/y.log", b"{}\n".to_vec()).await;
    aws.put(BUCKET, "logs/worker/y.log", b"{}\n{}\n".to_vec())
        .await;
    let err = log_processor::handler::handle(&deps, s3_event(&[e1]))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "LogObjectReadFailed");
    let err = err.to_string();
    assert!(
        err.contains("s3://app-logs/logs/worker/y.log: cannot read object"),
        "{err}"
    );
    assert!(err.contains("PreconditionFailed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_s3_payloads_are_rejected_and_test_events_ignored() {
    let (_moto, aws) = setup().await;
    let deps = aws.deps(TABLE);
    let err = log_processor::handler::handle(&deps, serde_json::json!({"hello": "world"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not an S3 notification"), "{err}");
    let test_event = serde_json::json!({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T18:00:00.000Z","Bucket":BUCKET,"RequestId":"r","HostId":"h"});
    let out = log_processor::handler::handle(&deps, test_event)
        .await
        .unwrap();
    assert_eq!(out["objects"].as_array().unwrap().len(), 0);
    assert!(aws.scan(TABLE).await.is_empty());
}

/// DynamoDB requests for one million lines: one read-merge-write per (service, minute)
/// group, batched 100 to a request, instead of one write per line. The figure printed
/// here is what scripts/bench-log-processor.sh reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_lines_cost_requests_per_service_minute_not_per_line() {
    let (_moto, aws) = setup().await;
    let b = base();
    let services = [
        "checkout",
        "payments",
        "search",
        "cart",
        "auth",
        "inventory",
        "web",
        "notifications",
    ];
    let lines = 1_000_000i64;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut text = String::with_capacity(1 << 20);
    for i in 0..lines {
        // One hour of traffic, 8 services interleaved.
        let ms = b.timestamp_millis() + i * 3_600_000 / lines;
        let svc = services[(i % 8) as usize];
        text.push_str(&format!(
            "{{\"ts\":{ms},\"service\":\"{svc}\",\"status\":{},\"latency_ms\":{}.5}}\n",
            if i % 50 == 0 { 500 } else { 200 },
            i % 300
        ));
        if text.len() > (1 << 20) {
            enc.write_all(text.as_bytes()).unwrap();
            text.clear();
        }
    }
    enc.write_all(text.as_bytes()).unwrap();
    let rec = aws
        .put(
            BUCKET,
            "logs/mixed/one-million.jsonl.gz",
            enc.finish().unwrap(),
        )
        .await;
    // Every service published: what one object costs in PutMetricData requests.
    let mut deps = aws.deps(TABLE);
    deps.publish.services = services.iter().map(|s| s.to_string()).collect();
    let out = log_processor::handler::handle(&deps, s3_event(&[rec]))
        .await
        .unwrap();
    let o = &out["objects"][0];
    assert_eq!(o["accepted"], lines);
    let put_requests = o["put_metric_data_requests"].as_u64().unwrap();
    assert_eq!(o["groups_published"], 8 * 60, "{o}");
    assert_eq!(o["datums_not_published"], 0, "{o}");
    // A request holds at most 150 distribution values: at most a few per (service, minute), however
    // many lines the minute has (2 083 here).
    assert!((1..=3 * 8 * 60).contains(&put_requests), "{o}");
    eprintln!(
        "BENCH put_metric_data_requests_per_1M_lines={put_requests} datums={} groups_published={}",
        o["datums_published"], o["groups_published"]
    );
    let groups = o["groups"].as_u64().unwrap();
    assert_eq!(groups, 8 * 60, "8 services x 60 minutes");
    let requests = o["dynamodb_requests"].as_u64().unwrap();
    let retries = o["retries"].as_u64().unwrap();
    let rollup_requests = o["rollup_requests"].as_u64().unwrap();
    // One BatchGetItem and one TransactWriteItems per 100 groups (plus any back-off retries),
    // then per (service, hour) and per (service, day) touched one GetItem, one Query of the
    // children and one Put: 8 services x (1 or 2 hours + 1 or 2 days), never per line.
    assert!(
        requests <= 2 * groups.div_ceil(100) + retries + rollup_requests,
        "{o}"
    );
    assert!(rollup_requests <= 3 * 8 * (2 + 2), "{o}");
    eprintln!(
        "BENCH dynamodb_requests_per_1M_lines={requests} groups={groups} retries={retries} naive_put_per_line=1000000 naive_batch_write_25=40000"
    );
    let items = minute_items(aws.scan(TABLE).await);
    assert_eq!(items.len() as u64, groups);
}

/// The minute items of a scan (rollups, keyed `PT1H#…` / `P1D#…`, left out).
fn minute_items(
    items: Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    items
        .into_iter()
        .filter(|i| {
            i["Timestamp"]
                .as_s()
                .is_ok_and(|k| Minute::parse_key(k).is_ok())
        })
        .collect()
}

/// What an invocation's objects published to CloudWatch, added up.
fn published(out: &serde_json::Value, field: &str) -> u64 {
    out["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o[field]
                .as_u64()
                .unwrap_or_else(|| panic!("{field} in {o}"))
        })
        .sum()
}

/// After the commit the newly applied groups of the published services go to CloudWatch; a
/// replayed event applies nothing and so publishes nothing: CloudWatch holds each value once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_event_publishes_nothing() {
    let (moto, aws) = setup().await;
    let mut truth = Truth::default();
    let (records, _) = upload_all(&aws, &mut truth).await;
    let deps = aws.deps(TABLE);
    let event = s3_event(&records);

    let out = log_processor::handler::handle(&deps, event.clone())
        .await
        .unwrap();
    assert!(published(&out, "datums_published") > 0, "{out}");
    assert_eq!(published(&out, "datums_not_published"), 0, "{out}");
    // The EMF object is the `worker` service's, which the stack does not publish.
    let worker = &out["objects"][2];
    assert_eq!(worker["groups_published"], 0, "{worker}");
    assert_eq!(worker["groups_not_published"], worker["groups_written"]);
    assert_eq!(
        worker["not_published_services"],
        serde_json::json!(["worker"])
    );
    assert_eq!(worker["put_metric_data_requests"], 0);

    for _ in 0..2 {
        let again = log_processor::handler::handle(&deps, event.clone())
            .await
            .unwrap();
        for field in [
            "groups_published",
            "groups_not_published",
            "put_metric_data_requests",
            "datums_published",
        ] {
            assert_eq!(published(&again, field), 0, "{field}: {again}");
        }
    }

    let cw = test_support::cloudwatch::client(&moto.endpoint).await;
    let (from, to) = (base().timestamp() - 3600, base().timestamp() + 3 * 3600);
    for service in support::PUBLISHED {
        let sum = |metric: &'static str| {
            truth
                .0
                .iter()
                .filter(|((s, _, m), _)| s == service && m == metric)
                .map(|(_, vs)| vs.iter().sum::<f64>())
                .sum::<f64>()
        };
        let samples = |metric: &'static str| {
            truth
                .0
                .iter()
                .filter(|((s, _, m), _)| s == service && m == metric)
                .map(|(_, vs)| vs.len() as f64)
                .sum::<f64>()
        };
        let total = |metric: &'static str, stat: &'static str| {
            test_support::cloudwatch::total(
                &cw,
                support::NAMESPACE,
                metric,
                service,
                stat,
                from,
                to,
            )
        };
        assert!(
            sum("requests") > 0.0,
            "{service} has requests in the test data"
        );
        assert_eq!(total("Requests", "Sum").await, sum("requests"), "{service}");
        assert_eq!(total("Errors", "Sum").await, sum("errors"), "{service}");
        assert_eq!(
            total("Latency", "SampleCount").await,
            samples("latency_ms"),
            "{service}"
        );
    }
    let worker_total = test_support::cloudwatch::total(
        &cw,
        support::NAMESPACE,
        "Requests",
        "worker",
        "Sum",
        from,
        to,
    );
    assert_eq!(worker_total.await, 0.0);
}

/// 50 request lines of `checkout` and EMF lines of `web` whose minute would make an item over
/// DynamoDB's 400 KB item limit
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items):
/// `web`'s group is rejected as `item_too_large`, `checkout`'s is committed, queryable and
/// published; a replay applies nothing twice and rejects the same group again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_too_large_for_an_item_is_rejected_and_the_rest_committed() {
    let (_moto, aws) = setup().await;
    let deps = aws.deps(TABLE);
    let mut truth = Truth::default();
    let b = base();
    let mut text = String::new();
    for i in 0..50i64 {
        let at = b + Duration::seconds(i);
        text.push_str(&format!(
            "{{\"ts\":{},\"service\":\"checkout\",\"latency_ms\":{i}}}\n",
            at.timestamp_millis()
        ));
        truth.add("checkout", at, "requests", 1.0);
        truth.add("checkout", at, "errors", 0.0);
        truth.add("checkout", at, "latency_ms", i as f64);
    }
    // 2 000 metrics of 100 distinct values each in one minute: ~550 KB as an item.
    let values: Vec<String> = (0..100).map(|i| 1.07f64.powi(i).to_string()).collect();
    let values = values.join(",");
    for line in 0..20 {
        let names: Vec<String> = (0..100).map(|j| format!("custom.m{line}.{j}")).collect();
        let defs: Vec<String> = names
            .iter()
            .map(|n| format!(r#"{{"Name":"{n}"}}"#))
            .collect();
        let members: Vec<String> = names
            .iter()
            .map(|n| format!(r#""{n}":[{values}]"#))
            .collect();
        text.push_str(&format!(
            r#"{{"_aws":{{"Timestamp":{},"CloudWatchMetrics":[{{"Namespace":"W","Dimensions":[[]],"Metrics":[{}]}}]}},"service":"web",{}}}"#,
            b.timestamp_millis(),
            defs.join(","),
            members.join(",")
        ));
        text.push('\n');
    }
    let record = aws
        .put(BUCKET, "logs/checkout/mixed.log", text.into_bytes())
        .await;
    let event = s3_event(&[record]);

    let out = log_processor::handler::handle(&deps, event.clone())
        .await
        .expect("a group the table cannot take does not fail the object");
    let o = &out["objects"][0];
    assert_eq!(
        (o["lines"].as_u64(), o["accepted"].as_u64()),
        (Some(70), Some(70)),
        "{o}"
    );
    assert_eq!(
        (o["groups"].as_u64(), o["groups_written"].as_u64()),
        (Some(2), Some(1)),
        "{o}"
    );
    assert_eq!(o["groups_rejected"], 1, "{o}");
    assert_eq!(
        o["groups_rejected_by_reason"],
        serde_json::json!({"item_too_large": 1})
    );
    let example = &o["rejected_group_examples"][0];
    assert_eq!(example["service"], "web");
    assert_eq!(example["reason"], "item_too_large");
    assert!(
        example["message"]
            .as_str()
            .unwrap()
            .contains("over DynamoDB's 409600-byte item limit"),
        "{example}"
    );
    // Only the committed group is published.
    assert_eq!(o["groups_published"], 1, "{o}");
    assert_table_matches(&aws, TABLE, &truth).await;
    let reader = metrics_core::MetricReader::new(aws.ddb.clone(), TABLE);
    let minute = Minute::from_epoch_seconds(b.timestamp());
    let rows = reader
        .query_service("checkout", minute, minute.next())
        .await
        .unwrap();
    assert_eq!(rows[0].1.get("requests").unwrap().count, 50);
    assert!(reader
        .query_service("web", minute, minute.next())
        .await
        .unwrap()
        .is_empty());

    let table = without_updated_at(aws.scan(TABLE).await);
    let again = log_processor::handler::handle(&deps, event).await.unwrap();
    let o = &again["objects"][0];
    assert_eq!(
        (
            o["groups_written"].as_u64(),
            o["groups_already_applied"].as_u64(),
            o["groups_published"].as_u64()
        ),
        (Some(0), Some(1), Some(0)),
        "{o}"
    );
    assert_eq!(
        o["groups_rejected_by_reason"],
        serde_json::json!({"item_too_large": 1})
    );
    assert_eq!(o["rejected_group_examples"][0]["service"], "web");
    assert_eq!(without_updated_at(aws.scan(TABLE).await), table);
}
