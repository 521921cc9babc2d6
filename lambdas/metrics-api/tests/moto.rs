//! End to end through the handler against a real DynamoDB emulator (moto):
//! write with POST, read back with GET (one service, every service, across
//! minute boundaries and pages), idempotent retries, errors write nothing.

mod support;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use metrics_api::App;
use metrics_core::aggregate::GroupKey;
use metrics_core::codec::{encode_group, StoredGroup};
use metrics_core::store::item_size;
use metrics_core::Minute;
use serde_json::{json, Value};
use support::schema::Doc;
use support::{call, create_table, fixture, v1, v2, Reply};
use test_support::{dynamo, Moto};

/// An hour before the events' request time, on a minute: 2026-11-29T18:00:00Z. The points the
/// tests write lie after it, inside the acceptance window around the request time.
fn t0() -> i64 {
    let request = support::request_time_ms() / 1000;
    request - request % 60 - 3600
}

async fn setup() -> (Moto, App) {
    let moto = Moto::start();
    create_table(&moto.endpoint).await;
    let app = support::app_at(&moto.endpoint, support::config(&[])).await;
    (moto, app)
}

fn ts(t: i64) -> String {
    metrics_api::query::rfc3339(t)
}

type Make = fn(&str, &str, &[(&str, &str)], &[(&str, &str)], Option<&str>) -> Value;

async fn post(app: &App, make: Make, body: &Value, key: Option<&str>) -> Reply {
    post_at(app, make, body, key, support::request_time_ms()).await
}

/// `post` as received by API Gateway at `request_ms`.
async fn post_at(app: &App, make: Make, body: &Value, key: Option<&str>, request_ms: i64) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let event = make("POST", "/metrics", &[], &headers, Some(&body.to_string()));
    let r = call(app, support::at(event, Some(request_ms))).await;
    assert_eq!(r.status, 202, "{}", r.raw_body);
    let doc = Doc::load();
    doc.check(
        doc.response_schema("/metrics", "POST", 202).unwrap(),
        &r.body,
    )
    .unwrap();
    r
}

async fn get(app: &App, make: Make, query: &[(&str, &str)]) -> Reply {
    let r = call(app, make("GET", "/metrics", query, &[], None)).await;
    if r.status == 200 {
        let doc = Doc::load();
        doc.check(
            doc.response_schema("/metrics", "GET", 200).unwrap(),
            &r.body,
        )
        .unwrap();
    }
    r
}

/// Follows `next_token` to the end; returns every page body.
async fn all_pages(app: &App, make: Make, query: &[(&str, &str)]) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut q: Vec<(&str, &str)> = query.to_vec();
        if let Some(t) = &token {
            q.push(("next_token", t));
        }
        let r = get(app, make, &q).await;
        assert_eq!(r.status, 200, "{}", r.raw_body);
        token = r.body["next_token"].as_str().map(str::to_owned);
        pages.push(r.body);
        if token.is_none() {
            return pages;
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

/// `(service, metric, timestamp) -> point` over all pages.
fn points(pages: &[Value]) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for page in pages {
        for s in page["series"].as_array().unwrap() {
            for p in s["points"].as_array().unwrap() {
                out.push((
                    s["service"].as_str().unwrap().to_owned(),
                    s["metric"].as_str().unwrap().to_owned(),
                    p.clone(),
                ));
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.0, &a.1, a.2["timestamp"].as_str()).cmp(&(&b.0, &b.1, b.2["timestamp"].as_str()))
    });
    out
}

/// The sketch's contract: within 1% of the value at rank floor(q·(n−1)).
fn assert_quantile(values: &[f64], q: f64, got: &Value) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let truth = sorted[(q * (sorted.len() - 1) as f64).floor() as usize];
    let got = got.as_f64().unwrap();
    assert!(
        (got - truth).abs() <= 0.01 * truth.abs() + 1e-9,
        "q{q}: got {got}, truth {truth}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_across_minute_boundaries_and_pages() {
    let (_moto, app) = setup().await;
    let doc = Doc::load();
    let r = call(&app, fixture("v1-get-health.json")).await;
    assert_eq!(
        (r.status, &r.body),
        (200, &json!({"status": "ok", "table": "reachable"}))
    );
    doc.check(doc.response_schema("/health", "GET", 200).unwrap(), &r.body)
        .unwrap();

    // Ten minutes of latencies for `checkout`, seconds 10 and 50 of each
    // minute, written half through REST (1.0) and half through HTTP API (2.0).
    let mut truth: Vec<Vec<f64>> = vec![Vec::new(); 5]; // per 2-minute period
    for minute in 0..10i64 {
        let lat: Vec<f64> = (0..20)
            .map(|i| (minute * 37 + i * 11) as f64 % 400.0 + 1.0)
            .collect();
        truth[(minute / 2) as usize].extend(&lat);
        let body = json!({"points": [
            {"service": "checkout", "timestamp": ts(t0() + minute * 60 + 10), "metrics": {"latency_ms": lat[..10]}},
            {"service": "checkout", "timestamp": t0() + minute * 60 + 50, "metrics": {"latency_ms": lat[10..], "requests": 10}},
        ]});
        let make: Make = if minute % 2 == 0 { v1 } else { v2 };
        let r = post(&app, make, &body, None).await;
        assert_eq!(r.body["accepted"], json!({"points": 2, "values": 21}));
    }
    // Another service in the same minutes must not leak into checkout's answer.
    post(
        &app,
        v1,
        &json!({"service": "search", "timestamp": t0(), "metrics": {"latency_ms": 9999}}),
        None,
    )
    .await;

    let (from, to) = (ts(t0()), ts(t0() + 600));
    let query = [
        ("service", "checkout"),
        ("metric", "latency_ms"),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("period", "120"),
        ("stat", "count,sum,avg,min,max,p50,p90,p99"),
    ];
    let whole = all_pages(&app, v1, &query).await;
    assert_eq!(whole.len(), 1);
    let series = whole[0]["series"].as_array().unwrap();
    assert_eq!(
        series.len(),
        1,
        "only the asked metric of the asked service"
    );
    let pts = series[0]["points"].as_array().unwrap();
    assert_eq!(pts.len(), 5);
    for (i, (p, values)) in pts.iter().zip(&truth).enumerate() {
        assert_eq!(p["timestamp"], json!(ts(t0() + i as i64 * 120)));
        assert_eq!(p["count"], json!(values.len()));
        let sum: f64 = values.iter().sum();
        assert!((p["sum"].as_f64().unwrap() - sum).abs() < 1e-6);
        assert!((p["avg"].as_f64().unwrap() - sum / values.len() as f64).abs() < 1e-9);
        assert_eq!(
            p["min"].as_f64().unwrap(),
            values.iter().copied().fold(f64::INFINITY, f64::min)
        );
        assert_eq!(
            p["max"].as_f64().unwrap(),
            values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            assert_quantile(values, q, &p[name]);
        }
    }

    // Pages of two periods, through the other payload version: same points.
    let mut paged_query = query.to_vec();
    paged_query.push(("limit", "2"));
    let pages = all_pages(&app, v2, &paged_query).await;
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages[1]["page"],
        json!({"from": ts(t0() + 240), "to": ts(t0() + 480)})
    );
    assert_eq!(points(&pages), points(&whole));

    // A token replayed with other parameters is refused.
    let token = pages[0]["next_token"].as_str().unwrap();
    let mut other = paged_query.clone();
    other.retain(|(k, _)| *k != "stat");
    other.push(("next_token", token));
    get(&app, v1, &other)
        .await
        .assert_error(400, "invalid_parameter", Some("next_token"));

    // Every metric when `metric` is omitted; default stat is avg.
    let r = get(
        &app,
        v1,
        &[("service", "checkout"), ("from", &from), ("to", &to)],
    )
    .await;
    let metrics: Vec<&str> = r.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metric"].as_str().unwrap())
        .collect();
    assert_eq!(metrics, ["latency_ms", "requests"]);
    assert_eq!(r.body["stats"], json!(["avg"]));
    assert_eq!(r.body["series"][0]["points"].as_array().unwrap().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_from_the_index_with_bounded_pages() {
    let (_moto, app) = setup().await;
    // 90 minutes, three services, not every service every minute.
    let mut points_in = Vec::new();
    for minute in 0..90i64 {
        for (i, svc) in ["api", "billing", "checkout"].iter().enumerate() {
            if (minute + i as i64) % 3 != 0 {
                points_in.push(json!({"service": svc, "timestamp": t0() + minute * 60 + 5, "metrics": {"requests": 1, "errors": i}}));
            }
        }
    }
    // 180 (service, minute) groups: two requests, since one request is one transaction of at
    // most 99 groups.
    let before = app.table.request_counts();
    let half = points_in.len() / 2;
    let mut groups = 0;
    for (i, part) in [&points_in[..half], &points_in[half..]].iter().enumerate() {
        let key = format!("seed-{i}");
        let r = post(&app, v1, &json!({ "points": part }), Some(&key)).await;
        groups += r.body["groups"]["written"].as_u64().unwrap();
    }
    let after = app.table.request_counts();
    assert_eq!(groups, 180);
    eprintln!(
        "DynamoDB requests, POST of {groups} (service, minute) groups: {} BatchGetItem, {} TransactWriteItems, {} total",
        after.batch_get - before.batch_get,
        after.transact_write - before.transact_write,
        after.total() - before.total()
    );

    let (from, to) = (ts(t0()), ts(t0() + 90 * 60));
    let before = app.table.request_counts().query;
    let q = [
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("stat", "count,sum"),
    ];
    let first = get(&app, v2, &q).await;
    let queries = app.table.request_counts().query - before;
    // Without `service`, at `period=60` each minute is one index Query, and a page holds as
    // many periods as fit 96 Queries: the 90 minutes are one page.
    assert_eq!(first.body["page"], json!({"from": from, "to": to}));
    assert_eq!(
        queries, 90,
        "one TimestampIndex Query per minute of the page"
    );
    eprintln!("DynamoDB requests, all services / 90 minutes: {queries} Query (TimestampIndex)");
    let long_to = ts(t0() + 200 * 60);
    let long = [
        ("from", from.as_str()),
        ("to", long_to.as_str()),
        ("stat", "count,sum"),
    ];
    let long_pages = all_pages(&app, v2, &long).await;
    assert_eq!(long_pages.len(), 3, "200 minutes: pages of 96, 96 and 8");

    let pages = all_pages(&app, v2, &q).await;
    assert_eq!(pages.len(), 1);
    assert_eq!(points(&long_pages), points(&pages));
    let got = points(&pages);
    // Truth from what was written: (service, metric, minute) -> count.
    let mut want = Vec::new();
    for p in &points_in {
        for (metric, v) in p["metrics"].as_object().unwrap() {
            let t = p["timestamp"].as_i64().unwrap() / 60 * 60;
            want.push((
                p["service"].as_str().unwrap().to_owned(),
                metric.clone(),
                json!({"timestamp": ts(t), "count": 1, "sum": v.as_f64().unwrap()}),
            ));
        }
    }
    want.sort_by(|a, b| {
        (&a.0, &a.1, a.2["timestamp"].as_str()).cmp(&(&b.0, &b.1, b.2["timestamp"].as_str()))
    });
    assert_eq!(got, want);

    // The same answer for one service comes from the table's keys instead.
    let before = app.table.request_counts().query;
    let one = all_pages(
        &app,
        v1,
        &[
            ("service", "billing"),
            ("from", &from),
            ("to", &to),
            ("stat", "count,sum"),
        ],
    )
    .await;
    assert_eq!(app.table.request_counts().query - before, 1);
    let billing: Vec<_> = want.iter().filter(|p| p.0 == "billing").cloned().collect();
    assert_eq!(points(&one), billing);

    // Two hours at an hourly period: each hour is one hourly rollup (one index Query each),
    // and its values are the merge of the minutes the POSTs wrote.
    let before = app.table.request_counts().query;
    let hourly = all_pages(
        &app,
        v2,
        &[
            ("from", &from),
            ("to", &ts(t0() + 7200)),
            ("period", "3600"),
            ("stat", "count,sum"),
        ],
    )
    .await;
    assert_eq!(app.table.request_counts().query - before, 2);
    let mut by_hour: std::collections::BTreeMap<(String, String, String), (u64, f64)> =
        Default::default();
    for (service, metric, p) in &want {
        let t = metrics_core::rollup::Resolution::Hour.floor(
            chrono::DateTime::parse_from_rfc3339(p["timestamp"].as_str().unwrap())
                .unwrap()
                .timestamp(),
        );
        let e = by_hour
            .entry((service.clone(), metric.clone(), ts(t)))
            .or_default();
        e.0 += 1;
        e.1 += p["sum"].as_f64().unwrap();
    }
    let want_hourly: Vec<_> = by_hour
        .into_iter()
        .map(|((s, m, t), (n, sum))| (s, m, json!({"timestamp": t, "count": n, "sum": sum})))
        .collect();
    assert_eq!(points(&hourly), want_hourly);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_service_one_day_is_one_query() {
    let (moto, app) = setup().await;
    // A day of items (1,440) is seeded with BatchWriteItem in the store's own
    // item codec: writing them through POST works too but takes minutes on
    // moto, and this test is about the read side.
    let client = dynamo::client(&moto.endpoint).await;
    let items: Vec<WriteRequest> = (0..1440i64)
        .map(|m| {
            let mut g = StoredGroup::empty(GroupKey::new(
                "checkout",
                Minute::from_epoch_seconds(t0() + m * 60),
            ));
            g.version = 1;
            for v in [m as f64 + 1.0, 2.0 * m as f64 + 1.0] {
                g.metrics.record("latency_ms", v);
            }
            g.metrics.record("requests", 3.0);
            let put = PutRequest::builder()
                .set_item(Some(encode_group(&g)))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    let bytes: usize = items
        .iter()
        .filter_map(|w| w.put_request())
        .map(|p| item_size(p.item()))
        .sum();
    eprintln!("one service / one day: 1,440 items, {bytes} bytes (a Query page holds 1 MB)");
    for chunk in items.chunks(25) {
        let out = client
            .batch_write_item()
            .request_items(support::TABLE, chunk.to_vec())
            .send()
            .await
            .unwrap();
        assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
    }
    // Seeded behind the writer's back, so bring the rollups up to date as a writer does after
    // its commit (recomputed from the committed minute items).
    let settled: Vec<(GroupKey, u64)> = (0..1440i64)
        .map(|m| {
            let key = GroupKey::new("checkout", Minute::from_epoch_seconds(t0() + m * 60));
            (key, 1)
        })
        .collect();
    let store = metrics_core::MetricStore::new(client.clone(), support::TABLE);
    let refreshed = store.refresh_rollups(&settled).await.unwrap();
    assert_eq!(refreshed.written, 24 + 2, "24 hours over 2 days");
    let before = app.table.request_counts().query;
    let (from, to) = (ts(t0()), ts(t0() + 86_400));
    let r = get(
        &app,
        v1,
        &[
            ("service", "checkout"),
            ("from", &from),
            ("to", &to),
            ("period", "3600"),
            ("stat", "count,p99"),
        ],
    )
    .await;
    let queries = app.table.request_counts().query - before;
    eprintln!("DynamoDB requests, one service / one day: {queries} Query");
    assert_eq!(queries, 1, "24 hourly rollups: one Query");
    let series = r.body["series"].as_array().unwrap();
    let latency = series.iter().find(|s| s["metric"] == "latency_ms").unwrap();
    let pts = latency["points"].as_array().unwrap();
    assert_eq!(pts.len(), 24);
    assert!(pts.iter().all(|p| p["count"] == json!(120)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotent_retries_count_once() {
    let (_moto, app) = setup().await;
    // The committed REST fixture carries `Idempotency-Key: deploy-42-batch-1`.
    let first = call(&app, fixture("v1-post-metrics.json")).await;
    assert_eq!(first.status, 202, "{}", first.raw_body);
    assert_eq!(first.body["duplicate"], json!(false));
    for name in ["v1-post-metrics.json", "v1-post-metrics-base64.json"] {
        let retry = call(&app, fixture(name)).await;
        assert_eq!(retry.status, 202);
        assert_eq!(retry.body["duplicate"], json!(true), "{}", retry.raw_body);
        assert_eq!(retry.body["groups"]["written"], json!(0));
    }
    // Without a key the same write counts each time.
    // The fixture's body writes into 2026-11-29T18:05, 55 minutes before its request time.
    let minute = t0() + 300;
    let body = json!({"service": "checkout", "timestamp": ts(minute), "metrics": {"requests": 1}});
    post(&app, v2, &body, None).await;
    post(&app, v2, &body, None).await;

    let (from, to) = (ts(minute), ts(minute + 60));
    let q = [
        ("service", "checkout"),
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("stat", "count"),
    ];
    let r = get(&app, v1, &q).await;
    let count = |metric: &str| {
        r.body["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["metric"] == metric)
            .unwrap()["points"][0]["count"]
            .clone()
    };
    assert_eq!(
        count("latency_ms"),
        json!(2),
        "the keyed batch's two latencies, once"
    );
    assert_eq!(
        count("requests"),
        json!(3),
        "1 from the keyed batch + 2 unkeyed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_answer_without_writing_anything() {
    let moto = Moto::start();
    create_table(&moto.endpoint).await;
    let small = support::config(&[("MAX_BODY_BYTES", "300")]);
    let app = support::app_at(&moto.endpoint, small).await;
    let ok = |metrics: Value| {
        json!({"service": "checkout", "timestamp": ts(t0() + 300), "metrics": metrics}).to_string()
    };
    for make in [v1 as Make, v2] {
        let gets: &[(&[(&str, &str)], &str)] = &[
            (&[("stat", "p75")], "stat"),
            (
                &[
                    ("from", "2026-11-29T19:00:00Z"),
                    ("to", "2026-11-29T18:00:00Z"),
                ],
                "from",
            ),
            (
                &[
                    ("from", "2026-01-01T00:00:00Z"),
                    ("to", "2026-11-29T00:00:00Z"),
                ],
                "to",
            ),
            (&[("service", "check out")], "service"),
            (&[("color", "blue")], "color"),
        ];
        for (q, field) in gets {
            get(&app, make, q)
                .await
                .assert_error(400, "invalid_parameter", Some(field));
        }
        let posts: &[(String, Option<&str>)] = &[
            (
                ok(json!({"latency_ms": "slow"})),
                Some("metrics.latency_ms"),
            ),
            (
                ok(json!({"latency_ms": [1, null]})),
                Some("metrics.latency_ms"),
            ),
            (ok(json!({"bad name!": 1})), Some("metrics.bad name!")),
            (
                json!({"service": "#checkout", "timestamp": t0(), "metrics": {"x": 1}}).to_string(),
                Some("service"),
            ),
            ("{\"points\": [".to_owned(), Some("body")),
        ];
        for (body, field) in posts {
            call(&app, make("POST", "/metrics", &[], &[], Some(body)))
                .await
                .assert_error(400, "invalid_body", *field);
        }
        let big = json!({"points": vec![serde_json::from_str::<Value>(&ok(json!({"requests": 1}))).unwrap(); 10]}).to_string();
        call(&app, make("POST", "/metrics", &[], &[], Some(&big)))
            .await
            .assert_error(413, "payload_too_large", None);
        call(&app, make("GET", "/", &[], &[], None))
            .await
            .assert_error(404, "not_found", None);
        call(&app, make("PUT", "/metrics", &[], &[], Some("{}")))
            .await
            .assert_error(405, "method_not_allowed", None);
        let pre = call(
            &app,
            make(
                "OPTIONS",
                "/metrics",
                &[],
                &[("Origin", "https://x.example")],
                None,
            ),
        )
        .await;
        assert_eq!(
            (pre.status, pre.header("access-control-allow-origin")),
            (204, Some("*"))
        );
    }
    // None of that reached the table.
    let r = get(
        &app,
        v1,
        &[
            ("from", "2026-11-29T18:00:00Z"),
            ("to", "2026-11-29T19:00:00Z"),
        ],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["series"], json!([]));
    let r = get(
        &app,
        v1,
        &[
            ("service", "checkout"),
            ("from", "2026-11-29T18:00:00Z"),
            ("to", "2026-11-29T19:00:00Z"),
        ],
    )
    .await;
    assert_eq!(r.body["series"], json!([]));
}

/// `POST /metrics` publishes what its commit newly applied: a retry under the same
/// `Idempotency-Key` applies nothing and publishes nothing, so CloudWatch holds the values once;
/// a service not in `PUBLISHED_SERVICES` is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_post_publishes_nothing_again() {
    let moto = Moto::start();
    create_table(&moto.endpoint).await;
    let config = support::config(&[
        ("PUBLISHED_SERVICES", "api"),
        ("PUBLISHED_METRICS", "cart_size"),
    ]);
    let app = support::app_at(&moto.endpoint, config).await;
    let now = chrono::Utc::now().timestamp();
    let at = now - now % 60 - 300;
    let body = json!({"points": [
        {"service": "api", "timestamp": at, "metrics": {
            "requests": [1, 1, 1], "errors": [0, 1, 0], "latency_ms": [12.5, 80, 300], "cart_size": 4}},
        {"service": "api", "timestamp": at + 60, "metrics": {"requests": 1, "latency_ms": 9}},
        {"service": "other", "timestamp": at, "metrics": {"requests": 5}},
    ]});
    // CloudWatch takes data up to two weeks old by its own clock, so these points are near the
    // present, and so is the request's time.
    for attempt in 0..3 {
        let request_ms = chrono::Utc::now().timestamp_millis();
        let r = post_at(&app, v1, &body, Some("publish-once"), request_ms).await;
        assert_eq!(r.body["duplicate"], attempt > 0, "{}", r.raw_body);
    }
    let cw = test_support::cloudwatch::client(&moto.endpoint).await;
    let total = |metric: &'static str, service: &'static str, stat: &'static str| {
        test_support::cloudwatch::total(
            &cw,
            support::NAMESPACE,
            metric,
            service,
            stat,
            at - 3600,
            at + 3600,
        )
    };
    assert_eq!(total("Requests", "api", "Sum").await, 4.0);
    assert_eq!(total("Errors", "api", "Sum").await, 1.0);
    assert_eq!(total("Latency", "api", "SampleCount").await, 4.0);
    assert_eq!(total("cart_size", "api", "SampleCount").await, 1.0);
    assert_eq!(total("Requests", "other", "Sum").await, 0.0);
}

/// Every metric item of the table, minutes and rollups (reserved items excluded), to compare
/// before and after.
async fn metric_items(moto: &Moto) -> Vec<(String, String, Value)> {
    let client = dynamo::client(&moto.endpoint).await;
    // A test-side Scan of the whole table: the function itself never scans.
    let out = client
        .scan()
        .table_name(support::TABLE)
        .send()
        .await
        .unwrap();
    let mut items: Vec<(String, String, Value)> = out
        .items()
        .iter()
        .filter_map(|item| {
            let pk = item["ServiceName"].as_s().unwrap().clone();
            let sk = item["Timestamp"].as_s().unwrap().clone();
            (!pk.starts_with('#')).then(|| {
                let metrics = match metrics_core::rollup::Resolution::parse_key(&sk) {
                    Some((metrics_core::rollup::Resolution::Minute, _)) => {
                        metrics_core::codec::decode_group(item).unwrap().metrics
                    }
                    _ => metrics_core::codec::decode_rollup(item).unwrap().metrics,
                };
                let metrics: serde_json::Map<String, Value> = metrics
                    .0
                    .iter()
                    .map(|(k, a)| (k.clone(), json!([a.count, a.sum])))
                    .collect();
                (pk, sk, Value::Object(metrics))
            })
        })
        .collect();
    items.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    items
}

/// An `Idempotency-Key` names one request. Reused with the same data (however the JSON spells
/// it) it is a duplicate that writes nothing; reused with other data, even data for other
/// minutes, it is a 422 naming the header (IETF draft-ietf-httpapi-idempotency-key-header,
/// "Error Scenarios"), and nothing of the new body is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_key_with_another_body_is_a_422_and_writes_nothing() {
    let (moto, app) = setup().await;
    let first = json!({"points": [
        {"service": "checkout", "timestamp": t0() + 10, "metrics": {"requests": 1, "latency_ms": [12.5, 80]}},
        {"service": "search", "timestamp": ts(t0() + 70), "metrics": {"errors": 1}},
    ]});
    let r = post(&app, v1, &first, Some("order-7")).await;
    assert_eq!(
        (&r.body["duplicate"], &r.body["groups"]),
        (&json!(false), &json!({"written": 2, "already_applied": 0}))
    );
    let after_first = metric_items(&moto).await;
    // Two minute items, and each service's hourly and daily rollup.
    assert_eq!(after_first.len(), 6);

    // The same data, spelt differently: another shape, order, number and time forms.
    let same = format!(
        r#"[ {{"timestamp": "{}", "metrics": {{"errors": 1.0}}, "service": "search"}},
             {{"service": "checkout", "timestamp": {}, "metrics": {{"latency_ms": [80, 1.25e1], "requests": 1e0}}}} ]"#,
        ts(t0() + 70),
        t0() + 10
    );
    for make in [v1 as Make, v2] {
        let headers = [("Idempotency-Key", "order-7")];
        let r = call(&app, make("POST", "/metrics", &[], &headers, Some(&same))).await;
        assert_eq!(r.status, 202, "{}", r.raw_body);
        assert_eq!(
            (&r.body["duplicate"], &r.body["groups"]),
            (&json!(true), &json!({"written": 0, "already_applied": 2}))
        );
    }
    assert_eq!(metric_items(&moto).await, after_first);

    // Other data under the same key: one more value, and a minute the first never touched.
    let other = json!({"points": [
        {"service": "checkout", "timestamp": t0() + 10, "metrics": {"requests": 1, "latency_ms": [12.5, 80]}},
        {"service": "search", "timestamp": ts(t0() + 70), "metrics": {"errors": 1}},
        {"service": "search", "timestamp": t0() + 600, "metrics": {"errors": 1}},
    ]});
    let doc = Doc::load();
    for make in [v1 as Make, v2] {
        let headers = [("Idempotency-Key", "order-7")];
        let r = call(
            &app,
            make("POST", "/metrics", &[], &headers, Some(&other.to_string())),
        )
        .await;
        r.assert_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
        assert!(
            r.body["message"]
                .as_str()
                .unwrap()
                .contains("different body"),
            "{}",
            r.raw_body
        );
        doc.check(
            doc.response_schema("/metrics", "POST", 422).unwrap(),
            &r.body,
        )
        .unwrap();
    }
    assert_eq!(
        metric_items(&moto).await,
        after_first,
        "nothing of the other body"
    );
    // A new key applies it.
    let r = post(&app, v2, &other, Some("order-8")).await;
    assert_eq!(r.body["groups"]["written"], json!(3));
}

/// A request is one transaction: a request over 99 (service, minute) groups is refused whole
/// (400 naming the point that opens group 100), and a group whose item would exceed DynamoDB's
/// item size fails the whole request (413 naming the point, the service and the minute):
/// nothing of either is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_applied_whole_or_not_at_all() {
    let (moto, app) = setup().await;
    let wide: Vec<Value> = (0..100)
        .map(|i| json!({"service": format!("svc-{i:03}"), "timestamp": t0(), "metrics": {"requests": 1}}))
        .collect();
    for key in [None, Some("wide")] {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        let body = json!({ "points": wide }).to_string();
        call(&app, v1("POST", "/metrics", &[], &headers, Some(&body)))
            .await
            .assert_error(400, "invalid_body", Some("points[99]"));
    }
    assert_eq!(metric_items(&moto).await, vec![]);
    let r = post(&app, v1, &json!({ "points": wide[..99] }), Some("wide")).await;
    assert_eq!(r.body["groups"]["written"], json!(99));

    // `big` at t0 is near DynamoDB's 400 KB item limit: adding metrics to it overflows.
    let client = dynamo::client(&moto.endpoint).await;
    let mut g = StoredGroup::empty(GroupKey::new("big", Minute::from_epoch_seconds(t0())));
    g.version = 1;
    // Mostly a few metrics with wide sketches (thousands of buckets each): moto and the codec
    // handle a few dozen map entries much faster than thousands. Then small ones to the brim.
    let mut i = 0;
    while item_size(&encode_group(&g)) < 360 * 1024 {
        for k in 0..4000 {
            g.metrics.record(&format!("wide-{i:03}"), 1.011f64.powi(k));
        }
        i += 1;
    }
    while item_size(&encode_group(&g)) < 392 * 1024 {
        for _ in 0..20 {
            g.metrics.record(&format!("small-{i:04}"), 1.0);
            i += 1;
        }
    }
    assert!(item_size(&encode_group(&g)) < 400 * 1024);
    client
        .put_item()
        .table_name(support::TABLE)
        .set_item(Some(encode_group(&g)))
        .send()
        .await
        .unwrap();
    let before = metric_items(&moto).await;
    let extra: serde_json::Map<String, Value> = (0..400)
        .map(|j| (format!("extra-{j:03}"), json!(1)))
        .collect();
    let body = json!({"points": [
        {"service": "small", "timestamp": t0() + 60, "metrics": {"requests": 1}},
        {"service": "big", "timestamp": t0() + 5, "metrics": extra},
    ]});
    for key in [None, Some("big-1")] {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        let r = call(
            &app,
            v2("POST", "/metrics", &[], &headers, Some(&body.to_string())),
        )
        .await;
        r.assert_error(413, "item_too_large", Some("points[1]"));
        let m = r.body["message"].as_str().unwrap();
        assert!(
            m.contains("service big in minute 2026-11-29T18:00:00Z"),
            "{m}"
        );
    }
    assert_eq!(
        metric_items(&moto).await,
        before,
        "not even the small group"
    );

    // Eight such items in one request pass the transaction's size (DynamoDB: 4 MB in all,
    // `MAX_ATOMIC_BYTES` with the estimate's margin): a 413 naming the point where the total
    // passed it, and nothing written, although each item alone would fit.
    for m in 1..8 {
        let mut copy = g.clone();
        copy.key = GroupKey::new("big", Minute::from_epoch_seconds(t0() + m * 60));
        client
            .put_item()
            .table_name(support::TABLE)
            .set_item(Some(encode_group(&copy)))
            .send()
            .await
            .unwrap();
    }
    let before = metric_items(&moto).await;
    let points: Vec<Value> = (0..8)
        .map(|m| json!({"service": "big", "timestamp": t0() + m * 60, "metrics": {"requests": 1}}))
        .collect();
    let r = call(
        &app,
        v1(
            "POST",
            "/metrics",
            &[],
            &[],
            Some(&json!({ "points": points }).to_string()),
        ),
    )
    .await;
    r.assert_error(413, "transaction_too_large", Some("points[7]"));
    assert_eq!(metric_items(&moto).await, before);
}

/// Two requests racing with one key and different bodies: one is applied, the other is a 422
/// (the record's Put is conditioned on there being none), and the table holds exactly one body.
/// moto runs single-threaded (a cancelled transaction restores a whole-table snapshot there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_requests_with_one_key_apply_one_body() {
    let moto = Moto::start_serialized();
    create_table(&moto.endpoint).await;
    let app = support::app_at(&moto.endpoint, support::config(&[])).await;
    let bodies: Vec<String> = (0..4)
        .map(|i| {
            json!({"points": [
                {"service": "race", "timestamp": t0(), "metrics": {"requests": 1}},
                {"service": "race", "timestamp": t0() + 60 * (i + 1), "metrics": {"requests": i + 1}},
            ]})
            .to_string()
        })
        .collect();
    // Concurrent on one task: the requests' DynamoDB calls interleave.
    let headers = [("Idempotency-Key", "race-1")];
    let calls = bodies
        .iter()
        .map(|body| call(&app, v1("POST", "/metrics", &[], &headers, Some(body))));
    let mut statuses: Vec<u16> = futures_util::future::join_all(calls)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 422, 422, 422], "one body applied");
    let items = metric_items(&moto).await;
    // Two minute items, their hour and their day.
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[0].2, json!({"requests": [1, 1.0]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_without_service_end_at_the_cell_budget() {
    let (moto, app) = setup().await;
    // 30 services, each with an item every minute of an hour: 1,800 (service, minute) cells,
    // seeded in the store's codec (the read side is under test).
    let client = dynamo::client(&moto.endpoint).await;
    let services: Vec<String> = (0..30).map(|i| format!("svc-{i:02}")).collect();
    let mut items = Vec::new();
    for m in 0..60i64 {
        for s in &services {
            let mut g =
                StoredGroup::empty(GroupKey::new(s, Minute::from_epoch_seconds(t0() + m * 60)));
            g.version = 1;
            g.metrics.record("requests", (m + 1) as f64);
            let put = PutRequest::builder()
                .set_item(Some(encode_group(&g)))
                .build()
                .unwrap();
            items.push(WriteRequest::builder().put_request(put).build());
        }
    }
    for chunk in items.chunks(25) {
        client
            .batch_write_item()
            .request_items(support::TABLE, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    // Seeded behind the writer's back: bring the rollups up as a writer does after its commit.
    let settled: Vec<(GroupKey, u64)> = services
        .iter()
        .flat_map(|s| {
            (0..60i64).map(move |m| {
                (
                    GroupKey::new(s, Minute::from_epoch_seconds(t0() + m * 60)),
                    1,
                )
            })
        })
        .collect();
    let store = metrics_core::MetricStore::new(client.clone(), support::TABLE);
    store.refresh_rollups(&settled).await.unwrap();
    let (from, to) = (ts(t0()), ts(t0() + 3600));
    let q = [
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("stat", "sum"),
    ];
    let before = app.table.request_counts().query;
    let first = get(&app, v2, &q).await;
    let queries = app.table.request_counts().query - before;
    // 48 minutes x 30 services = the cell budget of one statistic: the page ends there, although
    // 60 Queries would fit the Query budget.
    let cut = 48 * 60;
    assert_eq!(metrics_api::query::MAX_PAGE_VALUES, 48 * 30);
    assert_eq!(
        first.body["page"],
        json!({"from": from, "to": ts(t0() + cut)}),
        "{}",
        first.raw_body
    );
    // Waves sized by the services seen (one minute, then the 47 the budget still takes): no
    // Query past the page's end when every minute has the same services.
    assert_eq!(queries, 48, "{queries} Queries for a page of 48 minutes");
    let pages = all_pages(&app, v2, &q).await;
    assert_eq!(pages.len(), 2);
    // Every cell exactly once over the pages.
    let got = points(&pages);
    assert_eq!(got.len(), 1800);
    let mut want = Vec::new();
    for s in &services {
        for m in 0..60i64 {
            want.push((
                s.clone(),
                "requests".to_owned(),
                json!({"timestamp": ts(t0() + m * 60), "sum": (m + 1) as f64}),
            ));
        }
    }
    assert_eq!(got, want);

    // `top=20`: a page shows 1,440 / 20 = 72 periods; an hour fits.
    let top = [
        ("from", from.as_str()),
        ("to", to.as_str()),
        ("stat", "sum"),
        ("top", "20"),
    ];
    assert_eq!(all_pages(&app, v2, &top).await.len(), 1);
    // A day at minute resolution for the top 20: 1,440 periods, pages of 72.
    let day_to = ts(t0() + 86_400);
    let day = [
        ("from", from.as_str()),
        ("to", day_to.as_str()),
        ("stat", "sum"),
        ("top", "20"),
    ];
    let r = get(&app, v2, &day).await;
    assert_eq!(
        r.body["page"],
        json!({"from": from, "to": ts(t0() + 72 * 60)}),
        "{}",
        r.raw_body
    );
    assert_eq!(r.body["ranking"].as_array().unwrap().len(), 20);
}
