//! What `GET /metrics` costs per query, against moto: DynamoDB requests, items and read units,
//! points returned, pages, and handler time without DynamoDB, **today** (every period answered
//! from minute items) against **after** (the rollups `read::fetch` picks), in one run.
//!
//! Run: `cargo run --release -p metrics-api --example bench_queries`
//! (append `-- --write-doc` to write `docs/benchmarks/metrics-api-queries.md`).
//!
//! * Items are built in memory and written with BatchWriteItem through the table's own codec
//!   (`encode_group`, `encode_rollup`), so they are byte for byte what the writers store; each
//!   rollup is the time-ordered merge of its children, as `refresh_rollups` computes it.
//! * moto 5.2.5 sorts the whole table on every Query, so a Query's time grows with the table:
//!   each case reads a table holding only what it needs (listed in the document). Seeding every
//!   service's minutes for a month (2.2 M items) is out of reach; where a case would read
//!   minutes that are not seeded, a few pages are measured and the totals extrapolated (marked).
//! * "today": the same pages answered by `read::one_service` / `read::every_service` with one
//!   minute piece per minute (the reads before rollups); "after": `read::fetch`.
//! * Handler time: `read::answer` + `render_metrics` + CORS + the proxy response serialised as
//!   the runtime does, on clones of the page's rows made outside the timed part.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::stream::{self, StreamExt};
use metrics_api::aggregate::{Merger, Series};
use metrics_api::handler::render_metrics;
use metrics_api::query::{self, MetricsQuery, Page};
use metrics_api::read::{self, Rows};
use metrics_api::request::PayloadVersion;
use metrics_api::respond::Cors;
use metrics_core::aggregate::{GroupKey, MinuteMetrics, ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::codec::{encode_group, encode_rollup, StoredGroup, StoredRollup};
use metrics_core::rollup::{Piece, Resolution};
use metrics_core::store::rollup::FetchReport;
use metrics_core::store::source_digest;
use metrics_core::{MetricReader, Minute};
use test_support::bench::{machine, Rng};
use test_support::{dynamo, Moto};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// 2026-11-01T00:00:00Z: the month is 31 days from here, to 2026-12-02T00:00:00Z.
const M0: i64 = 1_793_491_200;
/// 2026-12-01T00:00:00Z: the last day of the month, the "1 day" of the cases.
const D30: i64 = M0 + 30 * DAY;
/// 13:00 on the last day: the "1 hour" of the cases.
const H13: i64 = D30 + 13 * HOUR;
const SERVICES: usize = 50;
const ONE: usize = 0;
const STATS: &str = "count,avg,p50,p99";
const ITERATIONS: usize = 300;
const PHASE_ITERATIONS: usize = 100;
const TARGET_REQUESTS_MONTH_DAILY: u64 = 40;
const TARGET_P99: Duration = Duration::from_millis(5);
const ORIGIN: &str = "https://dashboard.example.com";

fn service(i: usize) -> String {
    format!("service-{i:02}")
}

/// Minutes of traffic: each service has a pool of 32 distinct minutes (120 to 280 requests,
/// log-normal latencies around a per-service median of 20 to 80 ms, 1 % of them 10× slower,
/// ~1 % errors recorded 0/1 per request as the log processor does), and each minute of the month
/// takes one of them by a hash of (service, minute). Hours and days are merged from them.
struct Data {
    pools: Vec<Vec<MinuteMetrics>>,
    hours: Vec<HashMap<i64, MinuteMetrics>>,
}

impl Data {
    fn new() -> Data {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let pools = (0..SERVICES)
            .map(|s| {
                let median = 20.0 + 60.0 * (s as f64 / SERVICES as f64);
                (0..32)
                    .map(|_| {
                        let mut m = MinuteMetrics::new();
                        let n = 120 + (rng.unit() * 160.0) as usize;
                        for _ in 0..n {
                            let slow = if rng.unit() < 0.01 { 10.0 } else { 1.0 };
                            let latency = median * slow * (0.6 * rng.normal()).exp();
                            m.record(LATENCY_MS, (latency * 1000.0).round() / 1000.0);
                            m.record(REQUESTS, 1.0);
                            m.record(ERRORS, if rng.unit() < 0.01 { 1.0 } else { 0.0 });
                        }
                        m
                    })
                    .collect()
            })
            .collect();
        Data {
            pools,
            hours: (0..SERVICES).map(|_| HashMap::new()).collect(),
        }
    }

    fn minute(&self, s: usize, t: i64) -> &MinuteMetrics {
        let h = (t as u64 / 60)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(s as u64 * 0x2545_f491);
        &self.pools[s][((h >> 29) % 32) as usize]
    }

    fn hour(&mut self, s: usize, h: i64) -> MinuteMetrics {
        if let Some(m) = self.hours[s].get(&h) {
            return m.clone();
        }
        let mut m = MinuteMetrics::new();
        for t in (h..h + HOUR).step_by(60) {
            m.merge(self.minute(s, t));
        }
        self.hours[s].insert(h, m.clone());
        m
    }

    fn day(&mut self, s: usize, d: i64) -> MinuteMetrics {
        let mut m = MinuteMetrics::new();
        for h in (d..d + DAY).step_by(HOUR as usize) {
            m.merge(&self.hour(s, h));
        }
        m
    }
}

type Item = HashMap<String, AttributeValue>;

fn minute_item(data: &Data, s: usize, t: i64) -> Item {
    let mut g = StoredGroup::empty(GroupKey::new(service(s), Minute::from_epoch_seconds(t)));
    g.metrics = data.minute(s, t).clone();
    g.version = 1;
    // Two log objects per minute, as the log processor records them.
    g.sources = (0..2)
        .map(|k| source_digest(&format!("s3://logs/{}/{t}-{k}.json.gz", service(s))))
        .collect();
    encode_group(&g)
}

fn rollup_item(data: &mut Data, s: usize, piece: Piece) -> Item {
    let metrics = match piece.resolution {
        Resolution::Hour => data.hour(s, piece.start),
        _ => data.day(s, piece.start),
    };
    let r = StoredRollup {
        service: service(s),
        piece,
        metrics,
        version: 1,
        basis: (0..piece.resolution.children()).map(|o| (o, 1)).collect(),
        partial: false,
    };
    encode_rollup(&r, None)
}

fn hours(from: i64, to: i64) -> impl Iterator<Item = Piece> {
    (from..to).step_by(HOUR as usize).map(|start| Piece {
        resolution: Resolution::Hour,
        start,
    })
}

fn days(from: i64, to: i64) -> impl Iterator<Item = Piece> {
    (from..to).step_by(DAY as usize).map(|start| Piece {
        resolution: Resolution::Day,
        start,
    })
}

async fn seed(client: &aws_sdk_dynamodb::Client, table: &str, items: Vec<Item>) -> usize {
    dynamo::create_metric_table(client, table).await;
    let n = items.len();
    let batches: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
    stream::iter(batches)
        .for_each_concurrent(4, |batch| async move {
            let mut requests: Vec<WriteRequest> = batch
                .into_iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(item)).build();
                    WriteRequest::builder()
                        .put_request(put.expect("put request"))
                        .build()
                })
                .collect();
            while !requests.is_empty() {
                let out = client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .expect("BatchWriteItem");
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(table))
                    .cloned()
                    .unwrap_or_default();
            }
        })
        .await;
    n
}

#[derive(Clone, Copy, PartialEq)]
enum Scope {
    One,
    All,
    Top,
}

struct Case {
    scope: Scope,
    range: &'static str,
    from: i64,
    to: i64,
    period: i64,
    table: &'static str,
    today: Today,
    /// Measure at most this many pages from this start (a period boundary, reached with a
    /// `next_token`): the other pages would read items that are not seeded; totals are then
    /// extrapolated.
    sample: Option<(i64, usize)>,
}

impl Case {
    fn label(&self) -> String {
        let who = match self.scope {
            Scope::One => "one service".to_owned(),
            Scope::All => format!("all {SERVICES} services"),
            Scope::Top => format!("top-10 of {SERVICES}"),
        };
        format!("{who}, {}, period={}", self.range, self.period)
    }

    fn params(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::from([
            ("from".to_owned(), query::rfc3339(self.from)),
            ("to".to_owned(), query::rfc3339(self.to)),
            ("period".to_owned(), self.period.to_string()),
            ("stat".to_owned(), STATS.to_owned()),
        ]);
        match self.scope {
            Scope::One => {
                p.insert("service".into(), service(ONE));
            }
            Scope::All => {}
            Scope::Top => {
                p.insert("top".into(), "10".into());
                p.insert("order".into(), "errors:sum".into());
            }
        }
        p
    }
}

/// One page as read: its query, rows (kept to time the handler), what reading it cost.
struct PageRun {
    q: MetricsQuery,
    rows: Rows,
    sent: u64,
    points: usize,
}

fn clone_rows(r: &Rows) -> Rows {
    Rows {
        page: r.page,
        rows: r.rows.clone(),
        ranking: r.ranking.clone(),
        fetch: r.fetch.clone(),
    }
}

/// (service, period) cells with data: the points of the answer, whatever the metrics.
fn cells(series: &[Series]) -> usize {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(move |p| (&s.service, &p.timestamp)))
        .collect::<BTreeSet<_>>()
        .len()
}

fn now() -> i64 {
    M0 + 31 * DAY
}

/// Follows `next_token` as a client would: each page's query is the first one's parameters
/// plus the token the previous response carried.
async fn run_after(reader: &MetricReader, case: &Case) -> Vec<PageRun> {
    let base = case.params();
    let mut params = base.clone();
    let first = query::parse(&params, now()).expect("a query the API accepts");
    let max_pages = match case.sample {
        Some((start, pages)) => {
            if start != case.from {
                params.insert("next_token".into(), first.token_for(start, None));
            }
            pages
        }
        None => usize::MAX,
    };
    let mut out = Vec::new();
    while out.len() < max_pages {
        let q = query::parse(&params, now()).expect("the API accepts its own token");
        let before = reader.request_counts().query;
        let rows = read::fetch(reader, &q, q.page()).await.expect("fetch");
        let sent = reader.request_counts().query - before;
        let kept = clone_rows(&rows);
        let answer = read::answer(&q, rows);
        let (next, ranking) = (answer.page.next, answer.ranking.clone());
        out.push(PageRun {
            points: cells(&answer.series),
            q,
            rows: kept,
            sent,
        });
        let Some(next) = next else { break };
        params = base.clone();
        params.insert(
            "next_token".into(),
            out[0].q.token_for(next, ranking.as_deref()),
        );
    }
    out
}

fn minute_pieces(from: i64, to: i64) -> Vec<Piece> {
    (from..to)
        .step_by(60)
        .map(|start| Piece {
            resolution: Resolution::Minute,
            start,
        })
        .collect()
}

/// The page `after` answered, read from minute items only.
async fn run_today(reader: &MetricReader, case: &Case, after: &PageRun) -> (Rows, u64) {
    let page: Page = after.rows.page;
    let pieces = minute_pieces(page.start, page.end);
    let mut fetch = FetchReport::default();
    let before = reader.request_counts().query;
    let rows = match case.scope {
        Scope::One => read::one_service(reader, &service(ONE), &pieces, &mut fetch).await,
        Scope::All => read::every_service(reader, &pieces, &mut fetch).await,
        Scope::Top => unreachable!("top today is extrapolated"),
    }
    .expect("today's read");
    let sent = reader.request_counts().query - before;
    (
        Rows {
            page,
            rows,
            ranking: None,
            fetch,
        },
        sent,
    )
}

/// Asserts that today's and after's answers hold the same points and values: counts equal,
/// averages to 1e-9 (sums are added in another order), percentiles equal (sketches merge by
/// adding counters, so any grouping gives the same bins).
fn assert_same(label: &str, after: &[Series], today: &[Series]) {
    assert_eq!(after.len(), today.len(), "{label}: series");
    for (a, t) in after.iter().zip(today) {
        assert_eq!((&a.service, &a.metric), (&t.service, &t.metric), "{label}");
        assert_eq!(a.points.len(), t.points.len(), "{label}: points");
        for (pa, pt) in a.points.iter().zip(&t.points) {
            assert_eq!(pa.timestamp, pt.timestamp, "{label}");
            for (va, vt) in pa.values.iter().zip(&pt.values) {
                let same = match (va, vt) {
                    (
                        metrics_api::aggregate::StatValue::Number(Some(x)),
                        metrics_api::aggregate::StatValue::Number(Some(y)),
                    ) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
                    _ => va == vt,
                };
                assert!(
                    same,
                    "{label} {} {}: {va:?} vs {vt:?}",
                    a.metric, pa.timestamp
                );
            }
        }
    }
}

/// Handler time of one page: `read::answer` + render + CORS + the runtime's serialisation.
fn time_page(
    q: &MetricsQuery,
    rows: &Rows,
    cors: &Cors,
    iterations: usize,
) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(iterations);
    let mut bytes = 0;
    for _ in 0..iterations {
        let r = clone_rows(rows);
        let t = Instant::now();
        let a = read::answer(q, r);
        let mut resp = render_metrics(q, a.page, a.series, a.ranking);
        cors.apply(Some(ORIGIN), &mut resp);
        let out = serde_json::to_vec(&resp.into_event(PayloadVersion::V1)).expect("json");
        times.push(t.elapsed());
        bytes = out.len();
    }
    times.sort();
    (times, bytes)
}

/// Median of each phase of `read::answer` + response (the same steps, split): merge (items
/// moved into periods), stats (percentiles etc., `Merger::finish`, ranking order), serialise.
fn phases(q: &MetricsQuery, rows: &Rows, cors: &Cors) -> [Duration; 3] {
    let mut t: [Vec<Duration>; 3] = Default::default();
    for _ in 0..PHASE_ITERATIONS {
        let Rows {
            page,
            rows: items,
            ranking,
            ..
        } = clone_rows(rows);
        let t0 = Instant::now();
        let mut merger = Merger::new(page, q.metrics.as_deref());
        for (s, item) in items {
            merger.add_owned(&s, item.piece.start, item.metrics);
        }
        let t1 = Instant::now();
        let mut series = merger.finish(&q.stats);
        if let Some(ranking) = &ranking {
            let position = |s: &str| ranking.iter().position(|(r, _)| r == s);
            series.sort_by_key(|x| position(&x.service));
        }
        let t2 = Instant::now();
        let mut resp = render_metrics(q, page, series, ranking);
        cors.apply(Some(ORIGIN), &mut resp);
        let n = serde_json::to_vec(&resp.into_event(PayloadVersion::V1))
            .expect("json")
            .len();
        let t3 = Instant::now();
        assert!(n > 0);
        for (i, d) in [t1 - t0, t2 - t1, t3 - t2].into_iter().enumerate() {
            t[i].push(d);
        }
    }
    t.map(|mut v| {
        v.sort();
        v[v.len() / 2]
    })
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// The pages an all-services query needs when every service has data in every period: the
/// page plan of `MetricsQuery::page`, each page ending after the period that reaches the
/// query's cell budget (`MetricsQuery::cell_budget`, what `read::fetch` does).
fn planned_pages(mut q: MetricsQuery, services: usize) -> Vec<Page> {
    let per_page = q.cell_budget().div_ceil(services);
    let mut out = Vec::new();
    loop {
        let mut page = q.page();
        let periods = match q.top {
            Some(_) => page.periods(),
            None => page.periods().min(per_page),
        };
        page.end = page.end.min(page.start + periods as i64 * page.period);
        page.next = (page.end < q.to).then_some(page.end);
        out.push(page);
        match page.next {
            Some(n) => q.page_start = n,
            None => return out,
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Cost {
    requests: f64,
    items: f64,
    units: f64,
}

impl Cost {
    fn of(f: &FetchReport, sent: u64) -> Cost {
        Cost {
            requests: sent as f64,
            items: f.items as f64,
            units: f.read_units(false),
        }
    }
    fn add(&mut self, o: Cost) {
        self.requests += o.requests;
        self.items += o.items;
        self.units += o.units;
    }
    fn scale(self, k: f64) -> Cost {
        Cost {
            requests: self.requests * k,
            items: self.items * k,
            units: self.units * k,
        }
    }
}

fn num(v: f64, estimated: bool) -> String {
    let s = if v.fract() == 0.0 || v >= 100.0 {
        format!("{}", v.round() as u64)
    } else {
        format!("{v:.1}")
    };
    let s = group_digits(&s);
    if estimated {
        format!("≈{s}")
    } else {
        s
    }
}

fn group_digits(s: &str) -> String {
    let (int, frac) = s.split_once('.').map_or((s, ""), |(a, b)| (a, b));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

struct Row {
    label: String,
    pages: usize,
    measured_pages: usize,
    today: Cost,
    today_estimated: bool,
    after: Cost,
    points: f64,
    estimated: bool,
    edges: usize,
    items_met: bool,
    p50: Duration,
    p99: Duration,
    worst_page: usize,
    body: usize,
    phases: [Duration; 3],
    today_p99: Option<Duration>,
}

/// How today's cost of a case is found.
#[derive(Clone, Copy, PartialEq)]
enum Today {
    /// Read from the minute items of the table, page by page.
    Run,
    /// One service's minutes are not seeded for the range: the measured run of a day of
    /// minutes, scaled to the range's minutes (one key-range Query paged by 1 MB).
    OneServiceScaled,
    /// Every service's minutes are not seeded: one minute's measured Query × the minutes.
    EveryServiceScaled,
    /// Ranking over the day's minutes (as above) + 10 one-service runs of a day of minutes.
    TopScaled,
}

struct Table {
    name: &'static str,
    what: &'static str,
    items: Vec<Item>,
}

fn tables(data: &mut Data) -> Vec<Table> {
    let month_end = M0 + 31 * DAY;
    let edge_minutes = (D30 + 14 * HOUR, D30 + 14 * HOUR + 37 * 60);
    let mut out = Vec::new();
    let mut table = |name, what, items| out.push(Table { name, what, items });

    let mut items: Vec<Item> = (D30..D30 + DAY)
        .step_by(60)
        .map(|t| minute_item(data, ONE, t))
        .collect();
    for p in hours(D30, D30 + DAY).chain(days(D30, D30 + DAY)) {
        items.push(rollup_item(data, ONE, p));
    }
    table(
        "one-day",
        "one service: every minute, hour and the day of 2026-12-01",
        items,
    );

    let mut items: Vec<Item> = (edge_minutes.0..edge_minutes.1)
        .step_by(60)
        .map(|t| minute_item(data, ONE, t))
        .collect();
    for p in hours(M0, month_end).chain(days(M0, month_end)) {
        items.push(rollup_item(data, ONE, p));
    }
    table(
        "one-month",
        "one service: every hour and day of the 31 days, minutes 14:00-14:37 of 2026-12-01",
        items,
    );

    let mut items = Vec::new();
    for s in 0..SERVICES {
        items.extend(
            (H13..H13 + HOUR)
                .step_by(60)
                .map(|t| minute_item(data, s, t)),
        );
        items.extend(hours(H13, H13 + HOUR).map(|p| rollup_item(data, s, p)));
    }
    table(
        "all-hour",
        "50 services: minutes and hour of 13:00-14:00 on 2026-12-01",
        items,
    );

    let mut items = Vec::new();
    for s in 0..SERVICES {
        for p in hours(D30, D30 + DAY).chain(days(D30, D30 + DAY)) {
            items.push(rollup_item(data, s, p));
        }
    }
    table(
        "all-day",
        "50 services: every hour and the day of 2026-12-01",
        items,
    );

    let mut items = Vec::new();
    for s in 0..SERVICES {
        items.extend(days(M0, month_end).map(|p| rollup_item(data, s, p)));
    }
    table("all-month", "50 services: every day of the 31 days", items);

    let mut items = Vec::new();
    for s in 0..SERVICES {
        for p in days(M0, month_end).chain(hours(D30, D30 + 14 * HOUR)) {
            items.push(rollup_item(data, s, p));
        }
        items.extend(
            (edge_minutes.0..edge_minutes.1)
                .step_by(60)
                .map(|t| minute_item(data, s, t)),
        );
    }
    table(
        "all-month-edge",
        "50 services: every day, hours 00-14 and minutes 14:00-14:37 of 2026-12-01",
        items,
    );

    let mut items = Vec::new();
    for s in 0..SERVICES {
        items.extend(hours(M0, M0 + 36 * HOUR).map(|p| rollup_item(data, s, p)));
    }
    table(
        "all-month-hours",
        "50 services: the first 36 hours of the 31 days",
        items,
    );
    out
}

fn cases() -> Vec<Case> {
    let month_end = M0 + 31 * DAY;
    let edge_end = D30 + 14 * HOUR + 37 * 60;
    let c = |scope, range, (from, to): (i64, i64), period, table, today, sample| Case {
        scope,
        range,
        from,
        to,
        period,
        table,
        today,
        sample,
    };
    let (hour, day, month, edge) = (
        (H13, H13 + HOUR),
        (D30, D30 + DAY),
        (M0, month_end),
        (M0, edge_end),
    );
    let (r_hour, r_day, r_month, r_edge) = ("1 h", "1 day", "31 days", "31 days to 14:37");
    use Scope::*;
    use Today::*;
    vec![
        c(One, r_hour, hour, 60, "one-day", Run, None),
        c(One, r_hour, hour, HOUR, "one-day", Run, None),
        c(One, r_day, day, 60, "one-day", Run, None),
        c(One, r_day, day, HOUR, "one-day", Run, None),
        c(One, r_day, day, DAY, "one-day", Run, None),
        // Its pages are days of minutes: the last one (2026-12-01) is measured.
        c(One, r_month, month, 60, "one-day", Run, Some((D30, 1))),
        c(
            One,
            r_month,
            month,
            HOUR,
            "one-month",
            OneServiceScaled,
            None,
        ),
        c(
            One,
            r_month,
            month,
            DAY,
            "one-month",
            OneServiceScaled,
            None,
        ),
        c(One, r_edge, edge, HOUR, "one-month", OneServiceScaled, None),
        c(One, r_edge, edge, DAY, "one-month", OneServiceScaled, None),
        c(All, r_hour, hour, 60, "all-hour", Run, None),
        c(All, r_hour, hour, HOUR, "all-hour", Run, None),
        // A page from 13:00 (a next_token there): 8 periods of 50 services (360 cells).
        c(All, r_day, day, 60, "all-hour", Run, Some((H13, 1))),
        c(All, r_day, day, HOUR, "all-day", EveryServiceScaled, None),
        c(All, r_day, day, DAY, "all-day", EveryServiceScaled, None),
        c(
            All,
            r_month,
            month,
            HOUR,
            "all-month-hours",
            EveryServiceScaled,
            Some((M0, 1)),
        ),
        c(
            All,
            r_month,
            month,
            DAY,
            "all-month",
            EveryServiceScaled,
            None,
        ),
        c(
            All,
            r_edge,
            edge,
            DAY,
            "all-month-edge",
            EveryServiceScaled,
            None,
        ),
        c(Top, r_day, day, HOUR, "all-day", TopScaled, None),
    ]
}

/// One service's minutes over `minutes` minutes, scaled from a measured run of a day: the run
/// is one Query paged by DynamoDB's 1 MB, each response's units rounded up separately.
fn one_service_scaled(day: &FetchReport, minutes: f64) -> Cost {
    let per_item = day.bytes as f64 / day.items as f64;
    let items = minutes * day.items as f64 / 1440.0;
    let bytes = items * per_item;
    let responses = (bytes / 1_048_576.0).ceil();
    let full = (1_048_576f64 / 4096.0).ceil() / 2.0;
    let rest = bytes - (responses - 1.0) * 1_048_576.0;
    Cost {
        requests: responses,
        items,
        units: (responses - 1.0) * full + (rest / 4096.0).ceil() / 2.0,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let write = std::env::args().any(|a| a == "--write-doc");
    let started = Instant::now();
    let moto = Moto::start();
    let client = dynamo::client(&moto.endpoint).await;
    let cors = Cors::parse(ORIGIN);

    let mut data = Data::new();
    let t = Instant::now();
    let mut readers = HashMap::new();
    let mut seeded = Vec::new();
    for table in tables(&mut data) {
        let n = seed(&client, table.name, table.items).await;
        seeded.push((table.name, table.what, n));
        readers.insert(table.name, MetricReader::new(client.clone(), table.name));
    }
    let seed_s = t.elapsed().as_secs_f64();
    println!("seeded {seeded:?} ({seed_s:.0} s)");

    // Today's reads where the minutes are not seeded: one minute of every service (one
    // TimestampIndex Query each), and one service's day of minutes (one key-range Query run).
    let mut per_minute = FetchReport::default();
    let (all_hour, one_day) = (&readers["all-hour"], &readers["one-day"]);
    let before = all_hour.request_counts().query;
    let pieces = minute_pieces(H13, H13 + HOUR);
    read::every_service(all_hour, &pieces, &mut per_minute)
        .await
        .expect("minutes");
    let minute_cost = Cost::of(&per_minute, all_hour.request_counts().query - before)
        .scale(1.0 / pieces.len() as f64);
    let mut day_run = FetchReport::default();
    read::one_service(
        one_day,
        &service(ONE),
        &minute_pieces(D30, D30 + DAY),
        &mut day_run,
    )
    .await
    .expect("a day of minutes");

    let mut rows_out = Vec::new();
    for case in &cases() {
        let label = case.label();
        let reader = &readers[case.table];
        let t_case = Instant::now();
        let pages = run_after(reader, case).await;
        let services = match case.scope {
            Scope::One => 1,
            Scope::All => SERVICES,
            Scope::Top => 10,
        };
        let mut first = pages[0].q.clone();
        first.page_start = case.from;
        let measured: Vec<Page> = pages.iter().map(|p| p.rows.page).collect();
        let plan = match case.scope {
            Scope::Top => measured.clone(),
            _ => planned_pages(first, services),
        };
        let estimated = measured.len() < plan.len();
        if !estimated {
            assert_eq!(measured, plan, "{label}: pages differ from the plan");
        } else {
            // Sampled pages have the shape of the plan's full pages.
            for m in &measured {
                assert_eq!(m.periods(), plan[0].periods(), "{label}: page {m:?}");
            }
        }
        let mut after = Cost::default();
        let mut points = 0usize;
        for p in &pages {
            after.add(Cost::of(&p.rows.fetch, p.sent));
            points += p.points;
        }
        let periods = |pages: &[Page]| pages.iter().map(Page::periods).sum::<usize>() as f64;
        let k = periods(&plan) / periods(&measured);
        let minutes = ((case.to - case.from) / 60) as f64;

        let mut today = Cost::default();
        let mut today_p99 = None;
        match case.today {
            Today::Run => {
                let mut worst = Duration::ZERO;
                for p in &pages {
                    let (rows, sent) = run_today(reader, case, p).await;
                    today.add(Cost::of(&rows.fetch, sent));
                    let today_answer = read::answer(&p.q, clone_rows(&rows));
                    let after_answer = read::answer(&p.q, clone_rows(&p.rows));
                    assert_same(&label, &after_answer.series, &today_answer.series);
                    let (times, _) = time_page(&p.q, &rows, &cors, 30);
                    worst = worst.max(pct(&times, 0.99));
                }
                today = today.scale(k);
                today_p99 = Some(worst);
            }
            Today::OneServiceScaled => today = one_service_scaled(&day_run, minutes),
            Today::EveryServiceScaled => today = minute_cost.scale(minutes),
            Today::TopScaled => {
                today = minute_cost.scale(minutes);
                for _ in 0..services {
                    today.add(one_service_scaled(&day_run, minutes));
                }
            }
        }
        let today_estimated = estimated || case.today != Today::Run;

        // Handler time: every page when there are few, else the 3 with most items and the last.
        let mut order: Vec<usize> = (0..pages.len()).collect();
        if pages.len() > 4 {
            order.sort_by_key(|&i| std::cmp::Reverse(pages[i].rows.rows.len()));
            order.truncate(3);
            order.push(pages.len() - 1);
            order.sort();
            order.dedup();
        }
        let (mut p50, mut p99, mut worst_page, mut body) = (Duration::ZERO, Duration::ZERO, 0, 0);
        for &i in &order {
            let (times, bytes) = time_page(&pages[i].q, &pages[i].rows, &cors, ITERATIONS);
            if pct(&times, 0.99) >= p99 {
                (p50, p99, worst_page, body) = (pct(&times, 0.5), pct(&times, 0.99), i, bytes);
            }
        }
        let ph = phases(&pages[worst_page].q, &pages[worst_page].rows, &cors);

        // Items read against 2 × points + the partial edge (the cover of a trailing period
        // shorter than `period`, per service).
        let last_start = case.from + ((case.to - case.from - 1) / case.period) * case.period;
        let edges = if (case.to - case.from) % case.period != 0 {
            metrics_core::rollup::cover(last_start, case.to).len() * services
        } else {
            0
        };
        let edge_measured = if estimated { 0 } else { edges };
        let items_met = after.items <= (2 * points + edge_measured) as f64;

        let row = Row {
            label: label.clone(),
            pages: plan.len(),
            measured_pages: measured.len(),
            today,
            today_estimated,
            after: after.scale(k),
            points: points as f64 * k,
            estimated,
            edges,
            items_met,
            p50,
            p99,
            worst_page: if estimated { 0 } else { worst_page + 1 },
            body,
            phases: ph,
            today_p99,
        };
        println!(
            "{label}: pages {}{} | today req {} items {} RCU {} | after req {} items {} RCU {} | points {} | handler p50 {} ms p99 {} ms | {:.1} s",
            row.pages,
            if estimated { format!(" ({} measured)", row.measured_pages) } else { String::new() },
            num(row.today.requests, today_estimated),
            num(row.today.items, today_estimated),
            num(row.today.units, today_estimated),
            num(row.after.requests, estimated),
            num(row.after.items, estimated),
            num(row.after.units, estimated),
            num(row.points, estimated),
            ms(p50),
            ms(p99),
            t_case.elapsed().as_secs_f64()
        );
        rows_out.push(row);
    }
    let total_s = started.elapsed().as_secs_f64();
    println!("total {total_s:.0} s");
    let doc = render_doc(&rows_out, &seeded, seed_s, total_s);
    if write {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/benchmarks/metrics-api-queries.md");
        std::fs::write(&path, doc).expect("write docs/benchmarks/metrics-api-queries.md");
        println!("wrote docs/benchmarks/metrics-api-queries.md");
    } else {
        println!("{doc}");
    }
    drop(moto);
}

fn render_doc(rows: &[Row], seeded: &[(&str, &str, usize)], seed_s: f64, total_s: f64) -> String {
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    line("## Metrics API: cost per query, today against after (rollups)");
    line("");
    line(&format!(
        "_Measured {date} on {}; whole run {total_s:.0} s._",
        machine(true)
    ));
    line("");
    line("```sh");
    line("cargo run --release -p metrics-api --example bench_queries -- --write-doc");
    line("```");
    line("");
    line(TEXT_METHOD);
    line(&format!("Tables seeded ({seed_s:.0} s):"));
    line("");
    for (name, what, n) in seeded {
        line(&format!("- `{name}` ({n} items): {what}"));
    }
    line("");
    line("| case | pages | today: requests / items / RCU | after: requests / items / RCU | points | items ≤ 2 × points + edges | handler p50 / p99 ms (worst page) | body | phases of that page (median ms): merge / stats / serialise |");
    line("|---|---:|---|---|---:|---|---|---:|---|");
    for r in rows {
        let pages = if r.estimated {
            format!("{} ({} measured)", r.pages, r.measured_pages)
        } else {
            r.pages.to_string()
        };
        let today = format!(
            "{} / {} / {}",
            num(r.today.requests, r.today_estimated),
            num(r.today.items, r.today_estimated),
            num(r.today.units, r.today_estimated)
        );
        let after = format!(
            "{} / {} / {}",
            num(r.after.requests, r.estimated),
            num(r.after.items, r.estimated),
            num(r.after.units, r.estimated)
        );
        let bound = format!(
            "{}{}",
            if r.items_met { "met" } else { "**not met**" },
            if r.edges > 0 {
                format!(" (edges {})", r.edges)
            } else {
                String::new()
            }
        );
        let handler = format!(
            "{} / {}{} ({}){}",
            ms(r.p50),
            ms(r.p99),
            if r.p99 <= TARGET_P99 { "" } else { " **> 5**" },
            if r.worst_page == 0 {
                "sampled page".to_owned()
            } else {
                format!("page {}", r.worst_page)
            },
            r.today_p99
                .map(|d| format!("; today p99 {}", ms(d)))
                .unwrap_or_default()
        );
        line(&format!(
            "| {} | {pages} | {today} | {after} | {} | {bound} | {handler} | {} kB | {} / {} / {} |",
            r.label,
            num(r.points, r.estimated),
            r.body / 1000,
            ms(r.phases[0]),
            ms(r.phases[1]),
            ms(r.phases[2]),
        ));
    }
    line("");
    let month_daily = rows
        .iter()
        .find(|r| r.label == format!("all {SERVICES} services, 31 days, period=86400"));
    let items_all = rows.iter().all(|r| r.items_met);
    let handler_all = rows.iter().all(|r| r.p99 <= TARGET_P99);
    line("Targets:");
    line("");
    line(&format!(
        "- items read ≤ 2 × points returned + the partial edges, every case: **{}**{}",
        if items_all { "met" } else { "not met" },
        if items_all {
            String::new()
        } else {
            format!(
                " ({})",
                rows.iter()
                    .filter(|r| !r.items_met)
                    .map(|r| r.label.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    ));
    if let Some(r) = month_daily {
        line(&format!(
            "- all services over 31 days at period 86400 in ≤ {TARGET_REQUESTS_MONTH_DAILY} DynamoDB requests: **{}** ({} requests over {} pages)",
            if r.after.requests <= TARGET_REQUESTS_MONTH_DAILY as f64 { "met" } else { "not met" },
            num(r.after.requests, false),
            r.pages
        ));
    }
    line(&format!(
        "- handler time ≤ 5 ms at p99 for every case, per page: **{}**{}",
        if handler_all { "met" } else { "not met" },
        if handler_all {
            String::new()
        } else {
            format!(
                " (over: {})",
                rows.iter()
                    .filter(|r| r.p99 > TARGET_P99)
                    .map(|r| format!("{} {} ms", r.label, ms(r.p99)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        }
    ));
    line("");
    line(TEXT_NOTES);
    out
}

const TEXT_METHOD: &str = "\
`lambdas/metrics-api/examples/bench_queries.rs` starts moto (`test_support::Moto`), writes the
items with BatchWriteItem through the table's own codec (`encode_group` for minutes, with two
source digests each as the log processor leaves them; `encode_rollup` for hours and days, each
the time-ordered merge of its children with a full `Basis`), then runs each query as a client
would: `read::fetch` for a page, `read::answer` for its points, the response's `next_token` for
the next page. Every query asks `stat=count,avg,p50,p99` over every metric: `requests`,
`errors` (0/1 per request) and a `latency_ms` sketch (120-280 requests a minute, log-normal
around a per-service median of 20-80 ms, 1 % ten times slower).

- **today**: each page `read::fetch` answered, read again from minute items only
  (`read::one_service` / `read::every_service` with one minute piece per minute: one key-range
  Query run for a service, one `TimestampIndex` Query per minute for every service). Where it
  was run, its answer is checked equal to after's (counts, percentiles; averages to 1e-9).
- **after**: `read::fetch` (`metrics_core::rollup::cover` picks minutes, hours, days).
- **requests**: DynamoDB Queries sent (the store's request counter, so also the look-ahead
  Queries a page of every service drops when it ends). **items**: items the answered Queries
  returned. **RCU**: read units by AWS's rule for the eventually consistent Queries the API
  makes: per Query response, the returned items' sizes summed, rounded up to 4 KB, half a unit
  each (`FetchReport::read_units(false)`;
  <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>).
  moto reports a constant consumed capacity, so units are computed from the item sizes.
- **points**: (service, period) cells in the answers. The bound adds the partial edge: the
  cover of a trailing period shorter than `period` (minutes and hours), per service.
- **handler**: `read::answer` + `render_metrics` + CORS + `serde_json::to_vec` of the proxy
  response (what the runtime sends), 300 runs per page on clones of the page's rows made outside
  the timed part; every page when a query has at most 4, else the 3 with the most items and the
  last; the worst page's median and p99 are shown. today's p99 (30 runs a page) where today ran.
  Phases: the same steps split (merge = items moved into periods; stats = `Merger::finish`,
  the percentiles and the rest; serialise = response body, proxy envelope and its JSON).
- **Tables.** moto 5.2.5 sorts the whole table on every Query (`Table.all_items`; a Query on
  a 45,000-item table took about 4 s here), so each case reads a small table holding what it
  reads (listed below) in one moto server; a DynamoDB Query's cost depends only on the items it
  returns. Ranges: 1 h = 2026-12-01 13:00-14:00, 1 day = 2026-12-01, 31 days = 2026-11-01 to
  2026-12-02, and `31 days to 14:37` = 2026-11-01 to 2026-12-01T14:37 (a range ending now: its
  trailing period is partial). The one service is `service-00`.
- **≈ (extrapolated)**: where a query would read items that are not seeded, one page is
  measured and the totals scaled by the periods of the pages the plan needs (all of those pages
  have the same shape): one service, 31 days, period 60: its last page (2026-12-01, reached
  with a `next_token`); all services, 1 day, period 60: the page from 13:00 (a `next_token`
  there), 8 periods of 50 services; all services, 31 days, period 3600: its first page. The
  pages needed come from the page plan (`MetricsQuery::page`, each page ending at the period
  that reaches the cell budget, 1,440 values per metric / 4 statistics = 360 (service, period)
  cells, as `read::fetch` does) and are checked equal to
  the pages followed where every page was run. today where every service's minutes are not
  seeded: the measured cost of one minute's `TimestampIndex` Query (the 60 minutes of
  `all-hour`) × the range's minutes; one service: its measured day of minutes (one run) scaled
  to the range, one response per 1 MB (plus, for top-10, 10 such runs over the day).
";

const TEXT_NOTES: &str = "\
Where the handler time goes: it follows the values of the page, not the items read. A full
page holds 1,440 values per metric (`MAX_PAGE_VALUES`: with the 4 statistics asked here, 360
(service, period) cells) × 3 metrics, about 125 kB of JSON that is then escaped again into the
proxy response's `body` string; the phase columns split it into merge (items moved into
periods), stats (`Merger::finish`, two sketch percentiles per point) and serialise (body +
proxy envelope). The machine was shared
(see the load average): the p99s include waiting for a core.

Not run: all services at period 60 over 31 days (the API allows it: 44,640 minutes, 5,580
pages of 8 minutes, the same pages as the 1-day period-60 case above; seeding 2.2 M minute
items is out of moto's reach) and combinations the API refuses: period 86400 over 1 h (a
period longer than the range is a 400), period 60 on the month ending at 14:37 (the same
pages as 31 days at period 60).
";
