//! Hourly and daily rollups against a real moto server: keys and contents, replays, late data,
//! concurrent writers, a crash between the commit and the rollups, rollups too large to hold
//! their merge, corrupt children, DynamoDB refusing a rollup Put, retention. Needs moto (see
//! test-support's `moto.rs`); fails with an install hint without it.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use metrics_core::aggregate::{ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::codec::{
    decode_rollup, encode_rollup, StoredRollup, PARTIAL, PK, SK, SOURCES, TTL_ATTRIBUTE, VERSION,
};
use metrics_core::rollup::{Piece, Resolution, Run};
use metrics_core::store::atomic::{AtomicOutcome, AtomicWrite};
use metrics_core::store::rollup::FetchReport;
use metrics_core::store::{item_size, Retention, MAX_ATTEMPTS, MAX_ITEM_BYTES};
use metrics_core::{Batch, GroupKey, MetricStore, Minute, MinuteMetrics, Stat, StoreError};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use test_support::fault_proxy::{error, Fault, FaultProxy, Rule};
use test_support::{dynamo, Moto};

type Item = HashMap<String, AttributeValue>;

const TABLE: &str = "ApplicationMetrics";
/// 2026-11-29T00:00:00Z
const DAY0: i64 = 1_795_910_400;

/// Minute `minute` of hour `hour` of DAY0 (hours may be negative or past 23: other days).
fn at(hour: i64, minute: i64) -> Minute {
    Minute::from_epoch_seconds(DAY0 + hour * 3_600 + minute * 60)
}

/// xorshift64*: deterministic values without a dependency.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A log object: `lines` lines of `service` in each of `minutes`. Latencies are log-uniform over
/// 1 ms..2 s, rounded to 1/8 ms so that sums are exact whatever order they are added in.
fn object(service: &str, minutes: &[Minute], lines: usize, seed: u64) -> Batch {
    let mut rng = Rng::new(seed);
    let mut b = Batch::new();
    for &m in minutes {
        for _ in 0..lines {
            let latency = (2000f64.powf(rng.unit()) * 8.0).round() / 8.0;
            b.record(service, m, REQUESTS, 1.0);
            b.record(service, m, LATENCY_MS, latency);
            if rng.unit() < 0.1 {
                b.record(service, m, ERRORS, 1.0);
            }
        }
    }
    b
}

fn minutes(from: Minute, n: i64) -> Vec<Minute> {
    (0..n).map(|i| from.add_minutes(i)).collect()
}

/// The merge of every group of `batches` for `service` whose minute lies in `[from, to)`.
fn expected(batches: &[&Batch], service: &str, from: i64, to: i64) -> MinuteMetrics {
    let mut out = MinuteMetrics::new();
    for b in batches {
        for (k, m) in &b.0 {
            let t = k.minute.epoch_seconds();
            if k.service == service && (from..to).contains(&t) {
                out.merge(m);
            }
        }
    }
    out
}

/// Same metrics: counts, sums, min and max exactly, sketches bucket for bucket, so every
/// percentile too.
#[track_caller]
fn assert_same(got: &MinuteMetrics, want: &MinuteMetrics, what: &str) {
    assert!(!want.is_empty(), "{what}: the expectation is empty");
    let names = |m: &MinuteMetrics| m.0.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(got), names(want), "{what}: metric names");
    for (name, w) in &want.0 {
        let g = &got.0[name];
        assert_eq!(
            (g.count, g.sum, g.min, g.max),
            (w.count, w.sum, w.min, w.max),
            "{what}: {name}"
        );
        assert_eq!(
            g.sketch.encode(),
            w.sketch.encode(),
            "{what}: {name} sketch"
        );
        for stat in [Stat::P50, Stat::P99] {
            assert_eq!(g.stat(stat), w.stat(stat), "{what}: {name} {stat}");
        }
    }
}

async fn setup(moto: &Moto) -> (Client, MetricStore) {
    let client = dynamo::client(&moto.endpoint).await;
    dynamo::create_metric_table(&client, TABLE).await;
    (client.clone(), MetricStore::new(client, TABLE))
}

async fn raw(client: &Client, service: &str, sort_key: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(TABLE)
        .key(PK, AttributeValue::S(service.to_owned()))
        .key(SK, AttributeValue::S(sort_key.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

/// The rollup stored under `sort_key` (the documented key, spelled out by the tests).
async fn rollup(client: &Client, service: &str, sort_key: &str) -> StoredRollup {
    let item = raw(client, service, sort_key)
        .await
        .unwrap_or_else(|| panic!("no rollup {service}@{sort_key}"));
    decode_rollup(&item).unwrap()
}

fn hour_piece(hour: i64) -> Piece {
    Piece {
        resolution: Resolution::Hour,
        start: DAY0 + hour * 3_600,
    }
}

fn day_piece(day: i64) -> Piece {
    Piece {
        resolution: Resolution::Day,
        start: DAY0 + day * 86_400,
    }
}

fn run_of(piece: Piece) -> Run {
    Run {
        resolution: piece.resolution,
        start: piece.start,
        end: piece.end(),
    }
}

/// The children of `piece` as a reader asks for them: one run of the next finer resolution.
fn children_run(piece: Piece) -> Run {
    let child = piece.resolution.child().unwrap();
    Run {
        resolution: child,
        start: piece.start,
        end: piece.end(),
    }
}

/// (a) After an apply, each (service, hour) and (service, day) touched has its rollup under
/// `PT1H#<hour>` / `P1D#<day>`, equal to the merge of its minutes, with the minutes' versions
/// as its basis; readers of a resolution get exactly those items, and a minute Query never
/// returns a rollup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_hold_the_merge_of_their_minutes_under_the_documented_keys() {
    let moto = Moto::start();
    let (client, store) = setup(&moto).await;
    // checkout: 23:50 to 00:09 across midnight; search: 23:58 to 00:01.
    let mut b = object("checkout", &minutes(at(23, 50), 20), 30, 1);
    b.merge(&object("search", &minutes(at(23, 58), 4), 30, 2));
    let report = store.apply(Some("obj-a"), &b).await.unwrap();
    assert_eq!(report.groups_written, 24);
    assert_eq!(report.rollups.written, 2 * (2 + 2), "{:?}", report.rollups);

    for service in ["checkout", "search"] {
        for (key, piece) in [
            ("PT1H#2026-11-29T23:00:00Z", hour_piece(23)),
            ("PT1H#2026-11-30T00:00:00Z", hour_piece(24)),
            ("P1D#2026-11-29T00:00:00Z", day_piece(0)),
            ("P1D#2026-11-30T00:00:00Z", day_piece(1)),
        ] {
            let what = format!("{service}@{key}");
            let item = raw(&client, service, key).await.unwrap();
            assert!(!item.contains_key(SOURCES), "{what}: no source list");
            assert!(!item.contains_key(TTL_ATTRIBUTE), "{what}: kept for ever");
            assert!(!item.contains_key(PARTIAL), "{what}");
            let r = decode_rollup(&item).unwrap();
            assert_eq!((r.piece, r.version, r.partial), (piece, 1, false), "{what}");
            let want = expected(&[&b], service, piece.start, piece.end());
            assert_same(&r.metrics, &want, &what);
            // The basis: every child present, at the version that holds the object.
            let child = piece.resolution.child().unwrap();
            let present: BTreeMap<i64, u64> =
                b.0.keys()
                    .filter(|k| k.service == service)
                    .map(|k| k.minute.epoch_seconds())
                    .filter(|t| (piece.start..piece.end()).contains(t))
                    .map(|t| ((t - piece.start) / child.seconds(), 1))
                    .collect();
            assert_eq!(r.basis, present, "{what}: basis");

            let mut fetch = FetchReport::default();
            let read = store
                .query_run(service, run_of(piece), &mut fetch)
                .await
                .unwrap();
            assert_eq!(read.len(), 1, "{what}");
            assert!(!read[0].partial);
            assert_same(&read[0].metrics, &want, &format!("{what} via query_run"));
        }
    }
    // Every service's hour in one index partition, by service; a day likewise.
    let mut fetch = FetchReport::default();
    let all = store.query_piece(hour_piece(23), &mut fetch).await.unwrap();
    let names: Vec<&str> = all.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(names, ["checkout", "search"]);
    assert_same(
        &all[1].1.metrics,
        &expected(&[&b], "search", hour_piece(23).start, hour_piece(23).end()),
        "search hour via query_piece",
    );
    let days = store.query_piece(day_piece(1), &mut fetch).await.unwrap();
    assert_eq!(days.len(), 2);
    // A minute Query over the whole range returns the 20 minutes and nothing else.
    let rows = store
        .query_service("checkout", at(0, 0), at(48, 0))
        .await
        .unwrap();
    assert_eq!(rows.len(), 20);
    let minute = Piece {
        resolution: Resolution::Minute,
        start: at(23, 50).epoch_seconds(),
    };
    assert_eq!(
        store.query_piece(minute, &mut fetch).await.unwrap().len(),
        1
    );
}

/// Every item of the table that is a rollup, by key.
async fn rollups(client: &Client) -> BTreeMap<(String, String), Item> {
    dynamo::scan_all(client, TABLE)
        .await
        .into_iter()
        .filter(|i| Minute::parse_key(i[SK].as_s().unwrap()).is_err())
        .map(|i| {
            (
                (i[PK].as_s().unwrap().clone(), i[SK].as_s().unwrap().clone()),
                i,
            )
        })
        .collect()
}

/// (b) Replaying a source (a Lambda retry, a re-upload with the same ETag) writes no rollup:
/// every rollup item stays identical, `Version` and `UpdatedAt` included. Another source does
/// move the rollups above what it wrote, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_changes_no_rollup() {
    let moto = Moto::start();
    let (client, store) = setup(&moto).await;
    let mut b = object("checkout", &minutes(at(17, 58), 4), 20, 3);
    b.merge(&object("search", &minutes(at(18, 0), 2), 20, 4));
    store.apply(Some("obj-a"), &b).await.unwrap();
    let before = rollups(&client).await;
    assert_eq!(
        before.len(),
        3 + 2,
        "checkout: 2 hours and a day; search: 1 and 1"
    );

    for _ in 0..2 {
        let replay = store.apply(Some("obj-a"), &b).await.unwrap();
        assert_eq!(replay.groups_already_applied, 6);
        assert_eq!((replay.rollups.written, replay.rollups.up_to_date), (0, 5));
        assert_eq!(replay.rollups.write_requests, 0);
        assert_eq!(rollups(&client).await, before);
    }

    let c = object("checkout", &[at(18, 0)], 5, 5);
    store.apply(Some("obj-c"), &c).await.unwrap();
    let after = rollups(&client).await;
    let version = |snap: &BTreeMap<(String, String), Item>, s: &str, k: &str| {
        snap[&(s.to_owned(), k.to_owned())][VERSION]
            .as_n()
            .unwrap()
            .clone()
    };
    assert_eq!(
        version(&after, "checkout", "PT1H#2026-11-29T18:00:00Z"),
        "2"
    );
    assert_eq!(version(&after, "checkout", "P1D#2026-11-29T00:00:00Z"), "2");
    for (s, k) in [
        ("checkout", "PT1H#2026-11-29T17:00:00Z"),
        ("search", "PT1H#2026-11-29T18:00:00Z"),
        ("search", "P1D#2026-11-29T00:00:00Z"),
    ] {
        let key = (s.to_owned(), k.to_owned());
        assert_eq!(after[&key], before[&key], "{s}@{k} untouched");
    }
    let hour = rollup(&client, "checkout", "PT1H#2026-11-29T18:00:00Z").await;
    assert_same(
        &hour.metrics,
        &expected(
            &[&b, &c],
            "checkout",
            hour_piece(18).start,
            hour_piece(18).end(),
        ),
        "checkout 18:00 after obj-c",
    );
}

/// (c) Late data: a minute of an earlier hour of today, and one of a day three days back (both
/// inside the 14-day acceptance window), recompute that hour and its day from all their
/// children; the hours not written to keep their version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_data_updates_its_hour_and_its_day() {
    let moto = Moto::start();
    let (client, store) = setup(&moto).await;
    let now = object("api", &minutes(at(18, 0), 3), 20, 6);
    store.apply(Some("now"), &now).await.unwrap();

    let late = object("api", &minutes(at(15, 30), 2), 20, 7);
    let older = object("api", &[at(-72 + 10, 5)], 20, 8);
    let mut both = late.clone();
    both.merge(&older);
    let report = store.apply(Some("late"), &both).await.unwrap();
    // Two hours and two days.
    assert_eq!(report.rollups.written, 4, "{:?}", report.rollups);

    let h15 = rollup(&client, "api", "PT1H#2026-11-29T15:00:00Z").await;
    assert_eq!(h15.version, 1);
    assert_same(
        &h15.metrics,
        &expected(&[&late], "api", hour_piece(15).start, hour_piece(15).end()),
        "hour 15",
    );
    let h18 = rollup(&client, "api", "PT1H#2026-11-29T18:00:00Z").await;
    assert_eq!(h18.version, 1, "hour 18 was not written to");
    let day = rollup(&client, "api", "P1D#2026-11-29T00:00:00Z").await;
    assert_eq!(day.version, 2);
    assert_eq!(day.basis, BTreeMap::from([(15, 1), (18, 1)]));
    assert_same(
        &day.metrics,
        &expected(&[&now, &late], "api", DAY0, DAY0 + 86_400),
        "day with the late hour",
    );
    let old_day = rollup(&client, "api", "P1D#2026-11-26T00:00:00Z").await;
    assert_same(
        &old_day.metrics,
        &expected(&[&older], "api", DAY0 - 3 * 86_400, DAY0 - 2 * 86_400),
        "three days back",
    );
    assert_eq!(
        rollup(&client, "api", "PT1H#2026-11-26T10:00:00Z")
            .await
            .basis,
        BTreeMap::from([(5, 1)])
    );

    // Later still, into a minute that already has data: the minute goes to version 2 and so
    // does its place in the hour's basis.
    let later = object("api", &[at(15, 30)], 10, 9);
    store.apply(Some("later"), &later).await.unwrap();
    let h15 = rollup(&client, "api", "PT1H#2026-11-29T15:00:00Z").await;
    assert_eq!(h15.basis, BTreeMap::from([(30, 2), (31, 1)]));
    assert_same(
        &h15.metrics,
        &expected(
            &[&late, &later],
            "api",
            hour_piece(15).start,
            hour_piece(15).end(),
        ),
        "hour 15 after the second late object",
    );
    let day = rollup(&client, "api", "P1D#2026-11-29T00:00:00Z").await;
    assert_eq!((day.version, day.basis[&15], day.basis[&18]), (3, 2, 1));
    assert_same(
        &day.metrics,
        &expected(&[&now, &late, &later], "api", DAY0, DAY0 + 86_400),
        "day after the second late object",
    );
}

/// (d) Eight writers applying distinct sources to the same service and hour at once end with an
/// hour and a day equal to the merge of everything, whatever order their recomputes ran in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_one_hour_end_with_the_merge_of_all_minutes() {
    // Serialized: moto's own transaction rollback loses concurrent writes (test-support's moto.rs).
    let moto = Moto::start_serialized();
    let (client, store) = setup(&moto).await;
    const WRITERS: u64 = 8;
    const OBJECTS: u64 = 3;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut written = Vec::new();
            let mut lost = 0;
            for i in 0..OBJECTS {
                // Each object: two of the hour's first four minutes, all writers on the same ones.
                let first = at(18, ((w + i) % 3) as i64);
                let b = object("hot", &minutes(first, 2), 10, w * 100 + i);
                let r = store.apply(Some(&format!("w{w}-{i}")), &b).await.unwrap();
                assert_eq!(r.groups_written, 2);
                lost += r.rollups.conflicts;
                written.push(b);
            }
            (written, lost)
        }));
    }
    let mut all = Vec::new();
    let mut lost = 0;
    for t in tasks {
        let (b, l) = t.await.unwrap();
        all.extend(b);
        lost += l;
    }
    let refs: Vec<&Batch> = all.iter().collect();
    let hour = rollup(&client, "hot", "PT1H#2026-11-29T18:00:00Z").await;
    assert_same(
        &hour.metrics,
        &expected(&refs, "hot", hour_piece(18).start, hour_piece(18).end()),
        "hot hour",
    );
    assert_eq!(
        hour.metrics.get(REQUESTS).unwrap().count,
        WRITERS * OBJECTS * 2 * 10
    );
    // The basis holds each minute at its final version.
    let mut versions = BTreeMap::new();
    for m in 0..4 {
        if let Some(g) = store
            .get_group(&GroupKey::new("hot", at(18, m)))
            .await
            .unwrap()
        {
            versions.insert(m, g.version);
        }
    }
    assert_eq!(hour.basis, versions);
    let day = rollup(&client, "hot", "P1D#2026-11-29T00:00:00Z").await;
    assert_same(&day.metrics, &hour.metrics, "hot day");
    assert_eq!(day.basis, BTreeMap::from([(18, hour.version)]));
    eprintln!(
        "{WRITERS} writers x {OBJECTS} objects: {lost} rollup Puts lost, hour at version {}",
        hour.version
    );
}

/// A store whose DynamoDB calls go through a fault proxy (SDK retries off), and one straight to
/// moto.
struct Faulty {
    _moto: Moto,
    _proxy: FaultProxy,
    client: Client,
    faulty: MetricStore,
    direct: MetricStore,
}

async fn faulty(moto: Moto, rule: Rule) -> Faulty {
    let (client, direct) = setup(&moto).await;
    let proxy = FaultProxy::start(&moto.endpoint, rule).await;
    Faulty {
        faulty: MetricStore::new(
            dynamo::client_without_sdk_retries(&proxy.endpoint).await,
            TABLE,
        ),
        direct,
        client,
        _moto: moto,
        _proxy: proxy,
    }
}

/// The sort key of the item a PutItem writes.
fn put_sort_key(body: &Value) -> &str {
    body["Item"][SK]["S"].as_str().unwrap_or_default()
}

/// Refuses the PutItems `refuse` picks, while `on` is set, as a missing permission would
/// (not retryable): how a function dies between its commit and its rollups, seen from the
/// table.
fn refuse_puts(on: Arc<AtomicBool>, refuse: fn(&str) -> bool) -> Rule {
    Arc::new(move |target, body| {
        (target == "PutItem" && on.load(Ordering::SeqCst) && refuse(put_sort_key(body))).then(
            || Fault {
                status: 400,
                body: error(
                    "AccessDeniedException",
                    "User is not authorized to perform: dynamodb:PutItem",
                ),
            },
        )
    })
}

/// (e) The minutes commit, the rollup Put fails: `apply` fails (so Lambda retries the object),
/// and the retry, finding its groups already applied, writes the rollups. A failed day Put
/// after a written hour is repaired by the next write to that hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_commit_and_rollups_is_repaired_by_the_retry_or_the_next_write() {
    let on = Arc::new(AtomicBool::new(true));
    let s = faulty(Moto::start(), refuse_puts(on.clone(), |_| true)).await;
    let a = object("svc", &minutes(at(18, 10), 3), 20, 10);
    let e = s.faulty.apply(Some("obj-a"), &a).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { operation: "PutItem", code: Some(c), .. } if c == "AccessDeniedException"),
        "{e}"
    );
    let committed = s
        .direct
        .query_service("svc", at(18, 0), at(19, 0))
        .await
        .unwrap();
    assert_eq!(committed.len(), 3, "the minutes committed");
    assert!(raw(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z")
        .await
        .is_none());

    on.store(false, Ordering::SeqCst);
    let retry = s.faulty.apply(Some("obj-a"), &a).await.unwrap();
    assert_eq!((retry.groups_written, retry.groups_already_applied), (0, 3));
    assert_eq!(retry.rollups.written, 2);
    let hour = rollup(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z").await;
    assert_same(
        &hour.metrics,
        &expected(&[&a], "svc", hour_piece(18).start, hour_piece(18).end()),
        "hour after the retry",
    );
    assert_same(
        &rollup(&s.client, "svc", "P1D#2026-11-29T00:00:00Z")
            .await
            .metrics,
        &hour.metrics,
        "day after the retry",
    );

    // Only the day's Put fails: the hour is written, the day lags until the next write.
    let on = Arc::new(AtomicBool::new(true));
    let s = faulty(
        Moto::start(),
        refuse_puts(on.clone(), |k| k.starts_with("P1D#")),
    )
    .await;
    let b = object("svc", &minutes(at(9, 0), 2), 20, 11);
    assert!(s.faulty.apply(Some("obj-b"), &b).await.is_err());
    assert_eq!(
        rollup(&s.client, "svc", "PT1H#2026-11-29T09:00:00Z")
            .await
            .version,
        1
    );
    assert!(raw(&s.client, "svc", "P1D#2026-11-29T00:00:00Z")
        .await
        .is_none());
    // The next write is another object, to another minute of the hour, by another function.
    let c = object("svc", &[at(9, 30)], 20, 12);
    s.direct.apply(Some("obj-c"), &c).await.unwrap();
    let day = rollup(&s.client, "svc", "P1D#2026-11-29T00:00:00Z").await;
    assert_same(
        &day.metrics,
        &expected(&[&b, &c], "svc", DAY0, DAY0 + 86_400),
        "day repaired by the next write",
    );
}

/// Throttles the first `times` requests of each operation in `ops`, as DynamoDB answers a table
/// over its throughput (`ThrottlingException` is retryable:
/// <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).
fn throttle_first(ops: &'static [&'static str], times: usize) -> Rule {
    let seen = Mutex::new(HashMap::<String, usize>::new());
    Arc::new(move |target, _| {
        if !ops.contains(&target) {
            return None;
        }
        let mut seen = seen.lock().unwrap();
        let n = seen.entry(target.to_owned()).or_default();
        *n += 1;
        (*n <= times).then(|| Fault {
            status: 400,
            body: error(
                "ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
        })
    })
}

/// (e) Throttling is transient: the refresh's GetItem, Query and PutItem are sent again after
/// a pause (SDK retries off here), so a throttled read no longer fails the object and makes
/// Lambda retry it whole; a reader's Query is sent again too; throttling that does not stop
/// gives up after MAX_ATTEMPTS with the operation named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_rollup_reads_and_puts_are_sent_again() {
    let s = faulty(
        Moto::start(),
        throttle_first(&["GetItem", "Query", "PutItem"], 2),
    )
    .await;
    let a = object("svc", &minutes(at(18, 10), 3), 20, 21);
    let report = s.faulty.apply(Some("obj-a"), &a).await.unwrap();
    assert_eq!(report.rollups.written, 2, "{report:?}");
    assert_eq!(report.rollups.retries, 6, "{report:?}");
    let hour = rollup(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z").await;
    let want = expected(&[&a], "svc", hour_piece(18).start, hour_piece(18).end());
    assert_same(&hour.metrics, &want, "hour");
    let day = rollup(&s.client, "svc", "P1D#2026-11-29T00:00:00Z").await;
    assert_same(&day.metrics, &want, "day");

    let s = faulty(Moto::start(), throttle_first(&["Query"], 3)).await;
    s.direct.apply(Some("obj-a"), &a).await.unwrap();
    let mut fetch = FetchReport::default();
    let rows = s
        .faulty
        .query_piece(hour_piece(18), &mut fetch)
        .await
        .unwrap();
    assert_eq!((rows.len(), fetch.retries), (1, 3), "{fetch:?}");
    assert_same(
        &rows[0].1.metrics,
        &want,
        "hour read through TimestampIndex",
    );

    let s = faulty(Moto::start(), throttle_first(&["GetItem"], usize::MAX)).await;
    let e = s.faulty.apply(Some("obj-a"), &a).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Exhausted { operation: "GetItem", attempts, .. } if attempts == MAX_ATTEMPTS),
        "{e}"
    );
    assert!(e.to_string().contains("ThrottlingException"), "{e}");
}

/// (e) `apply_atomic` (`POST /metrics`) has committed when its rollups fail: it answers
/// `Applied` with `rollup_error` set, and the next write to the hour recomputes it from every
/// minute, the API's included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_atomic_write_whose_rollups_fail_says_so_and_the_next_write_repairs_it() {
    let on = Arc::new(AtomicBool::new(true));
    let s = faulty(Moto::start(), refuse_puts(on.clone(), |_| true)).await;
    let api = object("svc", &[at(18, 20)], 5, 13);
    let outcome = s
        .faulty
        .apply_atomic(&AtomicWrite {
            batch: &api,
            idempotency: None,
            now: DAY0 + 18 * 3_600 + 21 * 60,
        })
        .await
        .unwrap();
    let AtomicOutcome::Applied(report) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(report.groups_written, 1);
    let msg = report.rollup_error.expect("the rollup failure is reported");
    assert!(
        msg.contains("PutItem") && msg.contains("AccessDenied"),
        "{msg}"
    );
    assert!(raw(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z")
        .await
        .is_none());

    on.store(false, Ordering::SeqCst);
    let logs = object("svc", &[at(18, 40)], 20, 14);
    s.faulty.apply(Some("obj"), &logs).await.unwrap();
    let hour = rollup(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z").await;
    assert_eq!(hour.basis, BTreeMap::from([(20, 1), (40, 1)]));
    assert_same(
        &hour.metrics,
        &expected(
            &[&api, &logs],
            "svc",
            hour_piece(18).start,
            hour_piece(18).end(),
        ),
        "hour repaired",
    );
}

/// 200 custom metrics per minute, different names each minute: each minute item is ~10 KB,
/// their hour would be ~600 KB.
fn wide_hour(service: &str, hour: i64) -> Batch {
    let mut b = Batch::new();
    for m in 0..60 {
        for i in 0..200 {
            b.record(
                service,
                at(hour, m),
                &format!("custom.m{m:02}.k{i:03}"),
                1.5,
            );
        }
        b.record(service, at(hour, m), REQUESTS, 1.0);
    }
    b
}

/// (f) A rollup whose merge passes 400 KB is written `Partial` without metrics, its day too, and
/// both readers say so, so that callers read the children; the children hold everything. The
/// hour stays writable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollup_over_the_item_limit_is_partial_and_readers_say_so() {
    let moto = Moto::start();
    let (client, store) = setup(&moto).await;
    let b = wide_hour("wide", 18);
    let full = expected(&[&b], "wide", hour_piece(18).start, hour_piece(18).end());
    let whole = StoredRollup {
        service: "wide".into(),
        piece: hour_piece(18),
        metrics: full.clone(),
        version: 1,
        basis: (0..60).map(|m| (m, 1)).collect(),
        partial: false,
    };
    assert!(
        item_size(&encode_rollup(&whole, None)) > MAX_ITEM_BYTES,
        "the premise: the merge does not fit one item"
    );
    let report = store.apply(Some("wide"), &b).await.unwrap();
    assert_eq!(report.groups_written, 60, "each minute fits");
    assert_eq!((report.rollups.written, report.rollups.partial), (2, 2));

    let item = raw(&client, "wide", "PT1H#2026-11-29T18:00:00Z")
        .await
        .unwrap();
    assert_eq!(item.get(PARTIAL), Some(&AttributeValue::Bool(true)));
    assert!(
        item_size(&item) < 4_096,
        "no metrics: {} bytes",
        item_size(&item)
    );
    let hour = decode_rollup(&item).unwrap();
    assert!(hour.partial && hour.metrics.is_empty());
    assert_eq!(hour.basis.len(), 60);
    let day = rollup(&client, "wide", "P1D#2026-11-29T00:00:00Z").await;
    assert!(
        day.partial && day.metrics.is_empty(),
        "a partial hour makes its day partial"
    );

    let mut fetch = FetchReport::default();
    for piece in [hour_piece(18), day_piece(0)] {
        let got = store
            .query_run("wide", run_of(piece), &mut fetch)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].partial && got[0].metrics.is_empty(), "{piece:?}");
        let all = store.query_piece(piece, &mut fetch).await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].1.partial, "query_piece {piece:?}");
    }
    // The fallback: the day's children (one hour, partial), then the hour's (the minutes).
    let hours = store
        .query_run("wide", children_run(day_piece(0)), &mut fetch)
        .await
        .unwrap();
    assert!(hours.len() == 1 && hours[0].partial);
    let minutes_read = store
        .query_run("wide", children_run(hour_piece(18)), &mut fetch)
        .await
        .unwrap();
    assert_eq!(minutes_read.len(), 60);
    let mut merged = MinuteMetrics::new();
    for f in &minutes_read {
        assert!(!f.partial);
        merged.merge(&f.metrics);
    }
    assert_same(&merged, &full, "the children hold everything");

    // Still writable: another object recomputes it, partial again.
    let more = object("wide", &[at(18, 7)], 5, 15);
    let r = store.apply(Some("more"), &more).await.unwrap();
    assert_eq!((r.rollups.written, r.rollups.partial), (2, 2));
    let hour = rollup(&client, "wide", "PT1H#2026-11-29T18:00:00Z").await;
    assert!(hour.partial);
    assert_eq!((hour.version, hour.basis[&7]), (2, 2));
}

/// (i) A child that does not decode does not fail every later write to its hour: the hour (and
/// its day) are written `Partial`, the writes succeed, and a reader falling back to the
/// children meets the corrupt item with an error naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_child_makes_its_rollup_partial_instead_of_failing_every_write() {
    let moto = Moto::start();
    let (client, store) = setup(&moto).await;
    let a = object("svc", &[at(18, 5)], 10, 16);
    store.apply(Some("a"), &a).await.unwrap();
    client
        .put_item()
        .table_name(TABLE)
        .item(PK, AttributeValue::S("svc".into()))
        .item(SK, AttributeValue::S(at(18, 7).key()))
        .item(VERSION, AttributeValue::N("3".into()))
        .item("Metrics", AttributeValue::S("oops".into()))
        .send()
        .await
        .unwrap();

    for (i, minute) in [at(18, 5), at(18, 6), at(18, 5)].into_iter().enumerate() {
        let b = object("svc", &[minute], 10, 17 + i as u64);
        let r = store.apply(Some(&format!("b{i}")), &b).await.unwrap();
        assert_eq!(r.groups_written, 1);
        assert_eq!(r.rollups.corrupt_children, 1, "{:?}", r.rollups);
        assert!(r.rollups.partial >= 1);
    }
    let hour = rollup(&client, "svc", "PT1H#2026-11-29T18:00:00Z").await;
    assert!(hour.partial && hour.metrics.is_empty());
    assert_eq!(hour.basis, BTreeMap::from([(5, 3), (6, 1), (7, 3)]));
    let day = rollup(&client, "svc", "P1D#2026-11-29T00:00:00Z").await;
    assert!(day.partial);

    let mut fetch = FetchReport::default();
    let got = store
        .query_run("svc", run_of(hour_piece(18)), &mut fetch)
        .await
        .unwrap();
    assert!(got[0].partial);
    let e = store
        .query_run("svc", children_run(hour_piece(18)), &mut fetch)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("svc@2026-11-29T18:07:00Z") && msg.contains("Metrics has the wrong type"),
        "{msg}"
    );
}

/// DynamoDB's answer to an item over its size limit (its own count, which `item_size` only
/// estimates): ValidationException, "Item size has exceeded the maximum allowed size"
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html>,
/// 400 KB per item).
fn too_large() -> Fault {
    Fault {
        status: 400,
        body: error(
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        ),
    }
}

/// (ii) A rollup Put refused as invalid is sent again `Partial`: the write succeeds and readers
/// go to the children. A `Partial` Put refused too fails the call (it is no size problem).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollup_put_refused_as_too_large_is_resent_partial() {
    // Refuses full (non-Partial) hours only.
    let rule: Rule = Arc::new(|target, body| {
        (target == "PutItem"
            && put_sort_key(body).starts_with("PT1H#")
            && body["Item"].get(PARTIAL).is_none())
        .then(too_large)
    });
    let s = faulty(Moto::start(), rule).await;
    let a = object("svc", &minutes(at(18, 0), 2), 20, 20);
    let r = s.faulty.apply(Some("a"), &a).await.unwrap();
    assert_eq!(r.rollups.refused_as_invalid, 1);
    assert_eq!((r.rollups.written, r.rollups.partial), (2, 2));
    assert_eq!(r.rollups.write_requests, 3, "hour twice, day once");
    let hour = rollup(&s.client, "svc", "PT1H#2026-11-29T18:00:00Z").await;
    assert!(hour.partial && hour.metrics.is_empty());
    assert_eq!(hour.basis, BTreeMap::from([(0, 1), (1, 1)]));
    assert!(
        rollup(&s.client, "svc", "P1D#2026-11-29T00:00:00Z")
            .await
            .partial
    );
    let mut fetch = FetchReport::default();
    let got = s
        .direct
        .query_run("svc", run_of(hour_piece(18)), &mut fetch)
        .await
        .unwrap();
    assert!(got[0].partial);

    // Every Put refused: the partial one too, so it is not about size; the call fails, once
    // per resolution tried (no loop).
    let s = faulty(
        Moto::start(),
        Arc::new(|t, _| (t == "PutItem").then(too_large)),
    )
    .await;
    let e = s.faulty.apply(Some("a"), &a).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { operation: "PutItem", code: Some(c), .. } if c == "ValidationException"),
        "{e}"
    );
    assert_eq!(
        s.faulty.request_counts().put,
        2,
        "the full Put, then the partial one"
    );
}

/// (g) Under a retention each resolution's items carry `ExpiresAt` = end of their interval +
/// that resolution's days; a resolution without one never expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resolution_expires_after_its_own_retention() {
    let moto = Moto::start();
    let (client, plain) = setup(&moto).await;
    let store = plain.clone().with_retention(Retention {
        minute_days: Some(16),
        hour_days: Some(90),
        day_days: Some(400),
    });
    store
        .apply(Some("a"), &object("kept", &[at(18, 5)], 5, 21))
        .await
        .unwrap();
    let ttl = |item: Option<Item>| {
        item.unwrap()
            .get(TTL_ATTRIBUTE)
            .map(|v| v.as_n().unwrap().parse::<i64>().unwrap())
    };
    let day = 86_400;
    assert_eq!(
        ttl(raw(&client, "kept", "2026-11-29T18:05:00Z").await),
        Some(DAY0 + 18 * 3_600 + 6 * 60 + 16 * day)
    );
    assert_eq!(
        ttl(raw(&client, "kept", "PT1H#2026-11-29T18:00:00Z").await),
        Some(DAY0 + 19 * 3_600 + 90 * day)
    );
    assert_eq!(
        ttl(raw(&client, "kept", "P1D#2026-11-29T00:00:00Z").await),
        Some(DAY0 + day + 400 * day)
    );

    // Only hours expire.
    let hours_only = plain.clone().with_retention(Retention {
        hour_days: Some(30),
        ..Retention::default()
    });
    hours_only
        .apply(Some("b"), &object("partly", &[at(3, 0)], 5, 22))
        .await
        .unwrap();
    assert_eq!(
        ttl(raw(&client, "partly", "2026-11-29T03:00:00Z").await),
        None
    );
    assert_eq!(
        ttl(raw(&client, "partly", "PT1H#2026-11-29T03:00:00Z").await),
        Some(DAY0 + 4 * 3_600 + 30 * day)
    );
    assert_eq!(
        ttl(raw(&client, "partly", "P1D#2026-11-29T00:00:00Z").await),
        None
    );

    // The default keeps everything for ever.
    plain
        .apply(Some("c"), &object("forever", &[at(3, 0)], 5, 23))
        .await
        .unwrap();
    for key in [
        "2026-11-29T03:00:00Z",
        "PT1H#2026-11-29T03:00:00Z",
        "P1D#2026-11-29T00:00:00Z",
    ] {
        assert_eq!(ttl(raw(&client, "forever", key).await), None, "{key}");
    }
}

/// The value at sorted index `floor(q·(n−1))`: the rank the sketch documents.
fn exact(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

/// (h) A day read back through the store: p50/p99 of the day rollup, merged by the store from
/// its hours merged from their minutes, are within 1% of the exact values of the raw data.
/// (The month-long check is the pure test in `rollup_percentiles.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_rollup_read_back_keeps_percentiles_within_one_percent() {
    let moto = Moto::start();
    let (_client, store) = setup(&moto).await;
    let mut rng = Rng::new(24);
    let mut raw_values = Vec::new();
    // Four objects of six hours each; every 10th minute has data, 100 latencies each, with a
    // slow hour in the afternoon.
    for part in 0..4 {
        let mut b = Batch::new();
        for hour in part * 6..(part + 1) * 6 {
            for m in (0..60).step_by(10) {
                for _ in 0..100 {
                    let base = if hour == 15 { 400.0 } else { 20.0 };
                    let v = base * (rng.unit() * 5.0).exp() / 10.0;
                    b.record("svc", at(hour, m), LATENCY_MS, v);
                    raw_values.push(v);
                }
            }
        }
        store
            .apply(Some(&format!("part-{part}")), &b)
            .await
            .unwrap();
    }
    raw_values.sort_by(f64::total_cmp);
    let mut fetch = FetchReport::default();
    let day = store
        .query_run("svc", run_of(day_piece(0)), &mut fetch)
        .await
        .unwrap();
    assert_eq!(day.len(), 1);
    assert!(!day[0].partial);
    let latency = day[0].metrics.get(LATENCY_MS).unwrap();
    assert_eq!(latency.count, raw_values.len() as u64);
    for (stat, q) in [(Stat::P50, 0.5), (Stat::P99, 0.99)] {
        let got = latency.stat(stat).unwrap();
        let want = exact(&raw_values, q);
        assert!(
            (got - want).abs() <= 0.01 * want.abs(),
            "{stat}: {got} vs exact {want}"
        );
    }
}
