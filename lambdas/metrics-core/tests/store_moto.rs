//! `MetricStore` against a real moto server: exactly-once merges, concurrency, transaction
//! splitting and the queries. Needs moto (see test-support's `moto.rs`); fails with an install hint without it.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use metrics_core::aggregate::{ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::codec::{
    encode_group, StoredGroup, PK, SK, SOURCES, TTL_ATTRIBUTE, UPDATED_AT, VERSION,
};
use metrics_core::rollup::{Piece, Resolution};
use metrics_core::service::reserved_key;
use metrics_core::store::rollup::FetchReport;
use metrics_core::store::{source_digest, MAX_SOURCES_PER_ITEM};
use metrics_core::{Batch, GroupKey, MetricStore, Minute, Stat, StoreError};
use std::collections::{BTreeMap, HashMap};
use test_support::{dynamo, Moto};

type Item = HashMap<String, AttributeValue>;

fn t0() -> Minute {
    Minute::parse_key("2026-11-29T18:05:00Z").unwrap()
}

/// Requests/errors/latencies for `services` × `minutes`, values derived from `seed`.
fn batch(services: &[&str], minutes: i64, seed: u64) -> Batch {
    let mut b = Batch::new();
    for (s, svc) in services.iter().enumerate() {
        for m in 0..minutes {
            let minute = t0().add_minutes(m);
            for i in 0..20u64 {
                let v = ((seed * 31 + s as u64 * 7 + m as u64 * 3 + i) % 97) as f64 + 0.5;
                b.record(svc, minute, REQUESTS, 1.0);
                b.record(svc, minute, LATENCY_MS, v);
                if i % 5 == 0 {
                    b.record(svc, minute, ERRORS, 1.0);
                }
            }
        }
    }
    b
}

async fn setup(moto: &Moto, table: &str) -> (Client, MetricStore) {
    let client = dynamo::client(&moto.endpoint).await;
    dynamo::create_metric_table(&client, table).await;
    (client.clone(), MetricStore::new(client, table))
}

/// Every item of the table, ordered by key. (Scan is fine in a test; the store itself never scans.)
async fn snapshot(client: &Client, table: &str) -> BTreeMap<(String, String), Item> {
    dynamo::scan_all(client, table)
        .await
        .into_iter()
        .map(|item| {
            let k = (
                item[PK].as_s().unwrap().clone(),
                item[SK].as_s().unwrap().clone(),
            );
            (k, item)
        })
        .collect()
}

/// Without `UpdatedAt`, and without what counts the rollups' recomputes (a crash and its retry
/// add some): their `Version`, and a day's `Basis` (its hours' versions). Their metrics, and an
/// hour's `Basis` (its minutes' versions), must still match.
fn without_updated_at(
    mut snap: BTreeMap<(String, String), Item>,
) -> BTreeMap<(String, String), Item> {
    for ((_, sort_key), item) in snap.iter_mut() {
        item.remove(UPDATED_AT);
        if Minute::parse_key(sort_key).is_err() {
            item.remove(VERSION);
        }
        if sort_key.starts_with(metrics_core::rollup::DAY_ROLLUP_PREFIX) {
            item.remove(metrics_core::codec::BASIS);
        }
    }
    snap
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_source_applied_twice_leaves_the_table_identical() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;
    let b = batch(&["checkout", "search"], 3, 1);

    let first = store
        .apply(Some("s3://logs/app/a.log#etag1"), &b)
        .await
        .unwrap();
    assert_eq!((first.groups_written, first.groups_already_applied), (6, 0));
    assert_eq!((first.read_requests, first.write_requests), (1, 1));
    let before = snapshot(&client, "ApplicationMetrics").await;
    // 6 minute items, and each service's hour and day.
    assert_eq!(before.len(), 6 + 2 + 2);
    assert_eq!(first.rollups.written, 4);

    let again = store
        .apply(Some("s3://logs/app/a.log#etag1"), &b)
        .await
        .unwrap();
    assert_eq!((again.groups_written, again.groups_already_applied), (0, 6));
    assert_eq!(again.write_requests, 0, "nothing to write on a replay");
    assert_eq!(
        (again.rollups.written, again.rollups.up_to_date),
        (0, 4),
        "the rollups already hold the replayed minutes"
    );
    assert_eq!(
        snapshot(&client, "ApplicationMetrics").await,
        before,
        "full items, UpdatedAt included"
    );

    let item = &before[&("checkout".to_owned(), t0().key())];
    assert_eq!(item[VERSION].as_n().unwrap(), "1");
    assert_eq!(
        item[SOURCES].as_ss().unwrap(),
        &vec![source_digest("s3://logs/app/a.log#etag1")]
    );
    let rows = store
        .query_service("checkout", t0(), t0().add_minutes(3))
        .await
        .unwrap();
    let requests = rows[0].1.get(REQUESTS).unwrap();
    assert_eq!(requests.stat(Stat::Count), Some(20.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_a_crash_between_transactions_equals_one_clean_run() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "crashed").await;
    let clean = MetricStore::new(client.clone(), "clean");
    dynamo::create_metric_table(&client, "clean").await;

    // 150 groups → two transactions. The crash: only the first 100 groups (the first transaction) landed.
    let services: Vec<String> = (0..50).map(|i| format!("svc-{i:02}")).collect();
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    let full = batch(&names, 3, 2);
    assert_eq!(full.len(), 150);
    let first_tx = Batch(
        full.0
            .iter()
            .take(100)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    store.apply(Some("obj-1"), &first_tx).await.unwrap();

    let retry = store.apply(Some("obj-1"), &full).await.unwrap();
    assert_eq!(
        (retry.groups_written, retry.groups_already_applied),
        (50, 100)
    );
    let replay = store.apply(Some("obj-1"), &full).await.unwrap();
    assert_eq!(
        (replay.groups_written, replay.groups_already_applied),
        (0, 150)
    );

    let once = clean.apply(Some("obj-1"), &full).await.unwrap();
    assert_eq!(
        (once.groups_written, once.write_requests, once.read_requests),
        (150, 2, 2)
    );
    let crashed = without_updated_at(snapshot(&client, "crashed").await);
    let clean = without_updated_at(snapshot(&client, "clean").await);
    let differ: Vec<_> = crashed
        .keys()
        .chain(clean.keys())
        .filter(|k| crashed.get(*k) != clean.get(*k))
        .map(|k| (k, crashed.get(k), clean.get(k)))
        .collect();
    assert!(differ.is_empty(), "{differ:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_sources_merge_and_no_source_counts_every_time() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;
    let (a, b) = (batch(&["checkout"], 2, 3), batch(&["checkout"], 2, 4));
    store.apply(Some("a"), &a).await.unwrap();
    store.apply(Some("b"), &b).await.unwrap();
    store.apply(Some("a"), &a).await.unwrap();

    let mut expected = a.clone();
    expected.merge(&b);
    let rows = store
        .query_service("checkout", t0(), t0().add_minutes(2))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (minute, metrics) in &rows {
        let want = &expected.0[&GroupKey::new("checkout", *minute)];
        assert_eq!(metrics, want, "{minute}");
        assert_eq!(metrics.get(REQUESTS).unwrap().count, 40);
    }
    let snap = snapshot(&client, "ApplicationMetrics").await;
    let item = &snap[&("checkout".to_owned(), t0().key())];
    assert_eq!(item[VERSION].as_n().unwrap(), "2");
    assert_eq!(item[SOURCES].as_ss().unwrap().len(), 2);

    // Without a source id nothing is recorded: each call counts.
    store.apply(None, &a).await.unwrap();
    store.apply(None, &a).await.unwrap();
    let rows = store
        .query_service("checkout", t0(), t0().next())
        .await
        .unwrap();
    assert_eq!(rows[0].1.get(REQUESTS).unwrap().count, 80);
    let group = store
        .get_group(&GroupKey::new("checkout", t0()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((group.version, group.sources.len()), (4, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appliers_lose_no_update() {
    // Serialized: moto's own transaction rollback loses concurrent writes (see test-support's moto.rs).
    let moto = Moto::start_serialized();
    let (_client, store) = setup(&moto, "ApplicationMetrics").await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut retries = 0;
            for i in 0..6 {
                let b = batch(&["checkout", "search"], 2, worker * 10 + i);
                retries += store
                    .apply(Some(&format!("w{worker}-{i}")), &b)
                    .await
                    .unwrap()
                    .retries;
            }
            retries
        }));
    }
    let mut retries = 0;
    for t in tasks {
        retries += t.await.unwrap();
    }
    for svc in ["checkout", "search"] {
        for (minute, metrics) in store
            .query_service(svc, t0(), t0().add_minutes(2))
            .await
            .unwrap()
        {
            // 4 workers × 6 sources × 20 requests.
            assert_eq!(metrics.get(REQUESTS).unwrap().count, 480, "{svc}@{minute}");
            assert_eq!(metrics.get(LATENCY_MS).unwrap().sketch.count(), 480);
            let g = store
                .get_group(&GroupKey::new(svc, minute))
                .await
                .unwrap()
                .unwrap();
            assert_eq!((g.version, g.sources.len()), (24, 24));
        }
    }
    eprintln!(
        "concurrent appliers: {retries} retries; {:?}",
        store.request_counts()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_page_and_skip_reserved_keys() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;
    let services: Vec<String> = (0..25).map(|i| format!("svc-{i:02}")).collect();
    let names: Vec<&str> = services.iter().map(String::as_str).collect();
    store.apply(Some("x"), &batch(&names, 10, 5)).await.unwrap();
    // A reserved item in the same minute, as the log processor / runbook executor keep them.
    client
        .put_item()
        .table_name("ApplicationMetrics")
        .item(PK, AttributeValue::S(reserved_key("incident", "alarm-1")))
        .item(SK, AttributeValue::S(t0().key()))
        .item(TTL_ATTRIBUTE, AttributeValue::N("1900000000".into()))
        .send()
        .await
        .unwrap();

    // [from, to): from inclusive, to exclusive.
    let rows = store
        .query_service("svc-03", t0().add_minutes(2), t0().add_minutes(5))
        .await
        .unwrap();
    let minutes: Vec<String> = rows.iter().map(|(m, _)| m.key()).collect();
    assert_eq!(
        minutes,
        [
            "2026-11-29T18:07:00Z",
            "2026-11-29T18:08:00Z",
            "2026-11-29T18:09:00Z"
        ]
    );
    assert!(store
        .query_service("svc-03", t0(), t0())
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .query_service("nobody", t0(), t0().add_minutes(10))
        .await
        .unwrap()
        .is_empty());

    // Pages of 4 over 10 minutes: 4 + 4 + 2, continuing from `next`.
    let mut from = t0();
    let mut seen = Vec::new();
    loop {
        let page = store
            .query_service_page("svc-03", from, t0().add_minutes(10), 4)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|(m, _)| *m));
        match page.next {
            Some(next) => from = next,
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..10).map(|i| t0().add_minutes(i)).collect::<Vec<_>>()
    );

    // Every service's item of a minute: one TimestampIndex partition, the reserved key skipped.
    let minute = Piece {
        resolution: Resolution::Minute,
        start: t0().epoch_seconds(),
    };
    let mut fetch = FetchReport::default();
    let all = store.query_piece(minute, &mut fetch).await.unwrap();
    let got: Vec<&str> = all.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(got, names, "every service once, sorted, no reserved key");
    assert_eq!(all[0].1.metrics.get(REQUESTS).unwrap().count, 20);
    let later = Piece {
        start: t0().add_minutes(60).epoch_seconds(),
        ..minute
    };
    assert!(store
        .query_piece(later, &mut fetch)
        .await
        .unwrap()
        .is_empty());
    assert!(store.request_counts().query > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_clear() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;
    store.ping().await.unwrap();

    let missing = MetricStore::new(client.clone(), "NoSuchTable");
    let e = missing.ping().await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { code: Some(c), .. } if c == "ResourceNotFoundException"),
        "{e}"
    );
    assert!(
        e.to_string().contains("DescribeTable on table NoSuchTable"),
        "{e}"
    );

    let mut bad = Batch::new();
    bad.record("has space", t0(), REQUESTS, 1.0);
    let e = store.apply(Some("s"), &bad).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("service name has character ' ' at index 3"),
        "{e}"
    );
    assert!(store.apply(Some(""), &batch(&["a"], 1, 1)).await.is_err());
    assert!(store
        .query_service("#idem#x", t0(), t0().next())
        .await
        .is_err());

    // A corrupt item is reported with its key and attribute, not skipped.
    client
        .put_item()
        .table_name("ApplicationMetrics")
        .item(PK, AttributeValue::S("broken".into()))
        .item(SK, AttributeValue::S(t0().key()))
        .item(VERSION, AttributeValue::N("1".into()))
        .item("Metrics", AttributeValue::S("oops".into()))
        .send()
        .await
        .unwrap();
    let e = store
        .query_service("broken", t0(), t0().next())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("broken@2026-11-29T18:05:00Z") && e.contains("Metrics has the wrong type"),
        "{e}"
    );
    let e = store
        .apply(Some("s"), &batch(&["broken"], 1, 1))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("Metrics has the wrong type"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounds_are_errors_not_silent_drops() {
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;

    // An item that already records the maximum number of sources accepts replays, not new sources.
    let key = GroupKey::new("busy", t0());
    let full = StoredGroup {
        key: key.clone(),
        metrics: batch(&["busy"], 1, 1).0.remove(&key).unwrap(),
        version: 1,
        sources: (0..MAX_SOURCES_PER_ITEM)
            .map(|i| source_digest(&format!("obj-{i}")))
            .collect(),
    };
    client
        .put_item()
        .table_name("ApplicationMetrics")
        .set_item(Some(encode_group(&full)))
        .send()
        .await
        .unwrap();
    let replay = store
        .apply(Some("obj-7"), &batch(&["busy"], 1, 1))
        .await
        .unwrap();
    assert_eq!(replay.groups_already_applied, 1);
    let e = store
        .apply(Some("obj-new"), &batch(&["busy"], 1, 1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TooManySources {
                max: MAX_SOURCES_PER_ITEM,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        store.get_group(&key).await.unwrap().unwrap(),
        full,
        "unchanged"
    );

    // A group too large for one item is refused before any write.
    let mut wide = Batch::new();
    for m in 0..2000 {
        for i in 0..100 {
            wide.record("wide", t0(), &format!("custom.metric.{m}"), 1.07f64.powi(i));
        }
    }
    let before = store.request_counts().transact_write;
    let e = store.apply(Some("wide"), &wide).await.unwrap_err();
    assert!(matches!(e, StoreError::ItemTooLarge { .. }), "{e}");
    assert!(e.to_string().contains("wide@2026-11-29T18:05:00Z"), "{e}");
    assert_eq!(store.request_counts().transact_write, before);
}

/// Under `OnReject::Skip` each group the table can never take is left out with its reason and
/// every other group is committed; a replay applies nothing twice and rejects the same groups
/// for the same reasons (items only grow). Under `apply` the same batch fails, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_that_can_never_be_written_are_rejected_and_the_rest_committed() {
    use metrics_core::{OnReject, RejectReason};
    let moto = Moto::start();
    let (client, store) = setup(&moto, "ApplicationMetrics").await;
    let put = |group: StoredGroup| {
        let client = client.clone();
        async move {
            client
                .put_item()
                .table_name("ApplicationMetrics")
                .set_item(Some(encode_group(&group)))
                .send()
                .await
                .unwrap();
        }
    };
    let seeded = |service: &str, version: u64, sources: usize| StoredGroup {
        key: GroupKey::new(service, t0()),
        metrics: batch(&[service], 1, 1)
            .0
            .remove(&GroupKey::new(service, t0()))
            .unwrap(),
        version,
        sources: (0..sources)
            .map(|i| source_digest(&format!("obj-{i}")))
            .collect(),
    };
    put(seeded("busy", 1, MAX_SOURCES_PER_ITEM)).await;
    put(seeded("old", u64::MAX, 1)).await;
    client
        .put_item()
        .table_name("ApplicationMetrics")
        .item(PK, AttributeValue::S("broken".into()))
        .item(SK, AttributeValue::S(t0().key()))
        .item(VERSION, AttributeValue::N("1".into()))
        .item("Metrics", AttributeValue::S("oops".into()))
        .send()
        .await
        .unwrap();

    let mut b = batch(&["ok", "busy", "old", "broken", "has space"], 1, 2);
    b.record("badmetric", t0(), "bad metric", 1.0);
    for m in 0..2000 {
        for i in 0..100 {
            b.record("wide", t0(), &format!("custom.metric.{m}"), 1.07f64.powi(i));
        }
    }
    let before = snapshot(&client, "ApplicationMetrics").await;
    let e = store.apply(Some("new"), &b).await.unwrap_err();
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");

    let expected = BTreeMap::from([
        ("badmetric", RejectReason::InvalidName),
        ("busy", RejectReason::TooManySources),
        ("broken", RejectReason::CorruptItem),
        ("has space", RejectReason::InvalidName),
        ("old", RejectReason::VersionExhausted),
        ("wide", RejectReason::ItemTooLarge),
    ]);
    let rejected = |r: &metrics_core::ApplyReport| -> BTreeMap<&str, RejectReason> {
        r.rejected
            .iter()
            .map(|g| {
                (
                    expected
                        .keys()
                        .find(|k| **k == g.key.service)
                        .copied()
                        .unwrap_or("?"),
                    g.reason,
                )
            })
            .collect()
    };
    let first = store
        .apply_with(Some("new"), &b, OnReject::Skip)
        .await
        .unwrap();
    assert_eq!(rejected(&first), expected);
    assert_eq!(first.applied, vec![GroupKey::new("ok", t0())]);
    assert_eq!((first.groups_written, first.groups_already_applied), (1, 0));
    let wide = first
        .rejected
        .iter()
        .find(|g| g.key.service == "wide")
        .unwrap();
    assert!(
        wide.message.contains("wide@2026-11-29T18:05:00Z would be")
            && wide
                .message
                .contains("over DynamoDB's 409600-byte item limit"),
        "{}",
        wide.message
    );
    let after = snapshot(&client, "ApplicationMetrics").await;
    let mut changed: Vec<&str> = after
        .keys()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| k.0.as_str())
        .collect();
    changed.sort();
    changed.dedup();
    assert_eq!(
        changed,
        ["ok"],
        "only the good group (and its rollups) is written"
    );
    assert_eq!(
        store
            .get_group(&GroupKey::new("ok", t0()))
            .await
            .unwrap()
            .unwrap()
            .metrics,
        b.0[&GroupKey::new("ok", t0())]
    );

    let replay = store
        .apply_with(Some("new"), &b, OnReject::Skip)
        .await
        .unwrap();
    assert_eq!(rejected(&replay), expected);
    assert_eq!(
        (replay.groups_written, replay.groups_already_applied),
        (0, 1)
    );
    assert!(replay.applied.is_empty());
    assert_eq!(
        without_updated_at(snapshot(&client, "ApplicationMetrics").await),
        without_updated_at(after)
    );
}
