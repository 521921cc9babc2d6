//! Handler overhead without DynamoDB: parse an API Gateway event, validate
//! the query, `read::answer` a day of per-minute items (1,440, moved into
//! periods, then the stats), build and serialise the proxy response. The
//! same functions the handler runs; only `read::fetch` is replaced by rows
//! built in memory (cloned before the timed part, as `answer` consumes them).
//!
//! Run: `cargo run --release -p metrics-api --example bench_handler`
//! (append `-- --write-doc` to put the figures into `docs/benchmarks/metrics-api.md`).

use std::time::{Duration, Instant};

use metrics_api::aggregate::Merger;
use metrics_api::handler::render_metrics;
use metrics_api::query;
use metrics_api::read::{self, Rows};
use metrics_api::request::parse_event;
use metrics_api::routes::{route, Route};
use metrics_core::aggregate::GroupKey;
use metrics_core::codec::{decode_group, encode_group, StoredGroup};
use metrics_core::rollup::{Piece, Resolution};
use metrics_core::store::rollup::{FetchReport, Fetched};
use metrics_core::Minute;
use serde_json::{json, Value};
use test_support::bench::{machine, replace_block, Rng};

const DAY_START: i64 = 1_795_910_400; // 2026-11-29T00:00:00Z
const ITERATIONS: usize = 2_000;
const WARM_UP: usize = 100;

/// A day of one service: requests, errors and a latency sketch per minute,
/// 200 latencies a minute spread log-uniformly over 3 decades (2 ms to 2 s,
/// a wide spread: more sketch buckets than typical traffic). Each item goes
/// through the table's item codec, so it is what a Query hands the handler.
fn day_of_items() -> Vec<(String, Fetched)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..1440)
        .map(|m| {
            let key = GroupKey::new("checkout", Minute::from_epoch_seconds(DAY_START + m * 60));
            let mut group = StoredGroup::empty(key);
            let item = &mut group.metrics;
            for _ in 0..200 {
                let latency = 2.0 * (rng.unit() * 7.0).exp();
                item.record("latency_ms", latency);
                item.record("requests", 1.0);
                if rng.unit() < 0.01 {
                    item.record("errors", 1.0);
                }
            }
            group.version = 1;
            let stored = decode_group(&encode_group(&group)).expect("codec round trip");
            let piece = Piece {
                resolution: Resolution::Minute,
                start: DAY_START + m * 60,
            };
            let item = Fetched {
                piece,
                metrics: stored.metrics,
                partial: false,
            };
            ("checkout".to_owned(), item)
        })
        .collect()
}

fn event(period: &str) -> Value {
    json!({
        "resource": "/metrics", "path": "/metrics", "httpMethod": "GET",
        "headers": {"Host": "k3v9q2x7ab.execute-api.us-east-1.amazonaws.com", "x-api-key": "k", "Origin": "https://dashboard.example.com"},
        "multiValueHeaders": {"Host": ["k3v9q2x7ab.execute-api.us-east-1.amazonaws.com"], "x-api-key": ["k"], "Origin": ["https://dashboard.example.com"]},
        "queryStringParameters": {"service": "checkout", "from": "2026-11-29T00:00:00Z", "to": "2026-11-30T00:00:00Z", "period": period, "stat": "count,avg,p50,p90,p99"},
        "multiValueQueryStringParameters": {"service": ["checkout"], "from": ["2026-11-29T00:00:00Z"], "to": ["2026-11-30T00:00:00Z"], "period": [period], "stat": ["count,avg,p50,p90,p99"]},
        "pathParameters": null, "stageVariables": null,
        "requestContext": {"resourcePath": "/metrics", "httpMethod": "GET", "stage": "prod", "requestId": "r", "accountId": "123456789012", "apiId": "k3v9q2x7ab", "identity": {"sourceIp": "203.0.113.17"}},
        "body": null, "isBase64Encoded": false
    })
}

/// What `read::fetch` would hand `read::answer` for the query's first page.
fn rows_of(items: &[(String, Fetched)], page: query::Page) -> Rows {
    Rows {
        page,
        rows: in_page(items, page),
        ranking: None,
        fetch: FetchReport::default(),
    }
}

/// The items of the page (the Query reads only those).
fn in_page(items: &[(String, Fetched)], page: query::Page) -> Vec<(String, Fetched)> {
    items
        .iter()
        .filter(|(_, f)| page.period_index(f.piece.start).is_some())
        .cloned()
        .collect()
}

/// One request, end to end minus the Query (`rows`: what it read). Returns the response size.
fn handle(event: Value, rows: Rows, cors: &metrics_api::respond::Cors) -> usize {
    let (version, req) = parse_event(event).expect("API Gateway event");
    let req = req.expect("valid request");
    assert_eq!(route(&req.method, &req.path), Ok(Route::GetMetrics));
    let q = query::parse(&req.query, DAY_START + 86_400).expect("valid query");
    assert_eq!(q.page(), rows.page);
    let answer = read::answer(&q, rows);
    let mut resp = render_metrics(&q, answer.page, answer.series, answer.ranking);
    cors.apply(req.header("origin"), &mut resp);
    // What the runtime does with the returned value.
    serde_json::to_vec(&resp.into_event(version))
        .expect("serialise")
        .len()
}

/// Median time of each phase, to see where the time goes: `read::answer`'s steps split
/// (merge: items moved into periods; stats: `Merger::finish`).
fn phases(event: &Value, items: &[(String, Fetched)], page: query::Page) -> [Duration; 4] {
    let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..200 {
        let e = event.clone();
        let rows = in_page(items, page);
        let t0 = Instant::now();
        let (version, req) = parse_event(e).expect("event");
        let q = query::parse(&req.expect("request").query, DAY_START + 86_400).expect("query");
        let t1 = Instant::now();
        assert_eq!(q.page(), page);
        let mut merger = Merger::new(page, q.metrics.as_deref());
        for (service, item) in rows {
            merger.add_owned(&service, item.piece.start, item.metrics);
        }
        let t2 = Instant::now();
        let series = merger.finish(&q.stats);
        let t3 = Instant::now();
        let n = serde_json::to_vec(&render_metrics(&q, page, series, None).into_event(version))
            .expect("json")
            .len();
        let t4 = Instant::now();
        assert!(n > 0);
        for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3].into_iter().enumerate() {
            t[i].push(d);
        }
    }
    t.map(|mut v| {
        v.sort();
        v[v.len() / 2]
    })
}

/// The first page of the event's query (what `read::fetch` would have read).
fn page_of(event: &Value) -> query::Page {
    let (_, req) = parse_event(event.clone()).expect("API Gateway event");
    let q = query::parse(&req.expect("valid request").query, DAY_START + 86_400).expect("query");
    q.page()
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Markers around the generated block in `docs/benchmarks/metrics-api.md`.
const BEGIN: &str = "<!-- bench_handler:begin -->";
const END: &str = "<!-- bench_handler:end -->";

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Replaces the generated block of the benchmark document with this run's figures.
fn write_doc(rows: &[String]) -> std::io::Result<()> {
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let block = format!(
        "Measured {date} on {}.\n\n| case | median | p99 | max | response body | phases (median): parse+validate / merge / stats / serialise |\n|---|---|---|---|---|---|\n{}\n",
        machine(true),
        rows.join("\n")
    );
    replace_block("docs/benchmarks/metrics-api.md", BEGIN, END, &block)
}

fn main() {
    let write = std::env::args().any(|a| a == "--write-doc");
    let items = day_of_items();
    let cors = metrics_api::respond::Cors::parse("https://dashboard.example.com");
    println!(
        "one service, one day = {} minute items, stats count,avg,p50,p90,p99",
        items.len()
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>12}",
        "case", "median", "p99", "max", "response"
    );
    let mut rows = Vec::new();
    for period in ["3600", "60"] {
        let template = event(period);
        let page = page_of(&template);
        // Five statistics: a page holds MAX_PAGE_VALUES / 5 periods (the day at period=60 is
        // five pages; the first is timed).
        let label = format!(
            "period={period} ({} points{})",
            page.periods(),
            if page.next.is_some() {
                ", first page"
            } else {
                ""
            }
        );
        let mut bytes = 0;
        for _ in 0..WARM_UP {
            bytes = handle(template.clone(), rows_of(&items, page), &cors);
        }
        let mut times = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let (e, rows) = (template.clone(), rows_of(&items, page));
            let t = Instant::now();
            bytes = handle(e, rows, &cors);
            times.push(t.elapsed());
        }
        times.sort();
        let (median, p99, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1],
        );
        println!(
            "{label:<28} {:>10} {:>10} {:>10} {:>10} B",
            ms(median),
            ms(p99),
            ms(max),
            bytes
        );
        let [parse, merge, stats, serialise] = phases(&template, &items, page);
        println!(
            "  phases (median): parse+validate {}, merge {}, stats {}, serialise {}",
            ms(parse),
            ms(merge),
            ms(stats),
            ms(serialise)
        );
        rows.push(format!(
            "| day at `{label}` | {} | {} | {} | {bytes} B | {} / {} / {} / {} |",
            ms(median),
            ms(p99),
            ms(max),
            ms(parse),
            ms(merge),
            ms(stats),
            ms(serialise)
        ));
    }
    if write {
        match write_doc(&rows) {
            Ok(()) => println!("wrote docs/benchmarks/metrics-api.md"),
            Err(e) => {
                eprintln!("cannot update docs/benchmarks/metrics-api.md: {e}");
                std::process::exit(1);
            }
        }
    }
}
