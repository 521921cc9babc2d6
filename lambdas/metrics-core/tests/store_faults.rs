//! `MetricStore::apply` when DynamoDB pushes back: unprocessed keys, cancelled transactions,
//! throttling, validation errors. moto never produces these, so a proxy in front of it injects the
//! responses DynamoDB sends (same JSON shapes), and forwards everything else to moto.
//! SDK-level retries are off here so that the store's own retry logic is what is measured.

use metrics_core::aggregate::REQUESTS;
use metrics_core::store::MAX_ATTEMPTS;
use metrics_core::{Batch, GroupKey, MetricStore, Minute, StoreError};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use test_support::fault_proxy::{error, Fault, FaultProxy, Rule};
use test_support::{dynamo, Moto};

const TABLE: &str = "ApplicationMetrics";

fn t0() -> Minute {
    Minute::parse_key("2026-11-29T18:05:00Z").unwrap()
}

fn batch(services: &[&str]) -> Batch {
    let mut b = Batch::new();
    for s in services {
        for _ in 0..5 {
            b.record(s, t0(), REQUESTS, 1.0);
        }
    }
    b
}

struct Setup {
    _moto: Moto,
    _proxy: FaultProxy,
    /// Through the proxy, SDK retries off.
    faulty: MetricStore,
    /// Straight to moto, to check what landed.
    direct: MetricStore,
}

async fn setup(rule: Rule) -> Setup {
    let moto = Moto::start();
    let direct_client = dynamo::client(&moto.endpoint).await;
    dynamo::create_metric_table(&direct_client, TABLE).await;
    let proxy = FaultProxy::start(&moto.endpoint, rule).await;
    Setup {
        faulty: MetricStore::new(
            dynamo::client_without_sdk_retries(&proxy.endpoint).await,
            TABLE,
        ),
        direct: MetricStore::new(direct_client, TABLE),
        _moto: moto,
        _proxy: proxy,
    }
}

/// A rule that fires for the first `times` calls of `op`.
fn first(
    op: &'static str,
    times: usize,
    fault: impl Fn(&Value) -> Fault + Send + Sync + 'static,
) -> Rule {
    let seen = AtomicUsize::new(0);
    Arc::new(move |target, body| {
        (target == op && seen.fetch_add(1, Ordering::SeqCst) < times).then(|| fault(body))
    })
}

async fn requests(store: &MetricStore, service: &str) -> Option<u64> {
    let g = store
        .get_group(&GroupKey::new(service, t0()))
        .await
        .unwrap()?;
    Some(g.metrics.get(REQUESTS).unwrap().count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprocessed_keys_are_read_again() {
    // DynamoDB's answer when it could not read the keys: 200 with them under UnprocessedKeys.
    let s = setup(first("BatchGetItem", 2, |body| Fault {
        status: 200,
        body: json!({ "Responses": { TABLE: [] }, "UnprocessedKeys": body["RequestItems"] }),
    }))
    .await;
    let report = s
        .faulty
        .apply(Some("obj"), &batch(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(
        (report.read_requests, report.retries, report.groups_written),
        (3, 2, 2)
    );
    assert_eq!(requests(&s.direct, "a").await, Some(5));
}

/// A TransactWriteItems cancelled because another transaction holds every item (AWS's
/// `TransactionConflict` cancellation reason).
fn transaction_conflict(body: &Value) -> Fault {
    let n = body["TransactItems"].as_array().map_or(0, Vec::len);
    let reasons: Vec<Value> =
        (0..n).map(|_| json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" })).collect();
    let mut e = error(
        "TransactionCanceledException",
        "Transaction cancelled [TransactionConflict]",
    );
    e["CancellationReasons"] = Value::Array(reasons);
    Fault {
        status: 400,
        body: e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_transaction_is_retried_without_rereading() {
    let s = setup(first("TransactWriteItems", 1, transaction_conflict)).await;
    let report = s
        .faulty
        .apply(Some("obj"), &batch(&["a", "b", "c"]))
        .await
        .unwrap();
    assert_eq!(
        (report.write_requests, report.retries, report.read_requests),
        (2, 1, 1)
    );
    assert_eq!(report.groups_written, 3);
    assert_eq!(requests(&s.direct, "b").await, Some(5));
}

/// Many writers on one hot item: transactions lost to other writers' transactions are contention
/// (each means another writer progressed), bounded by MAX_CONFLICT_ROUNDS, not by the
/// MAX_ATTEMPTS a throttled step gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_of_conflicting_transactions_is_contention_not_failure() {
    let lost = MAX_ATTEMPTS as usize + 4;
    let s = setup(first("TransactWriteItems", lost, transaction_conflict)).await;
    let report = s.faulty.apply(Some("obj"), &batch(&["a"])).await.unwrap();
    assert_eq!(report.retries as usize, lost);
    assert_eq!(report.groups_written, 1);
    assert_eq!(requests(&s.direct, "a").await, Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_groups_whose_condition_failed_are_read_again() {
    let s = setup(first("TransactWriteItems", 1, |body| {
        let n = body["TransactItems"].as_array().map_or(0, Vec::len);
        let reasons: Vec<Value> = (0..n)
            .map(|i| if i == 1 { json!({ "Code": "ConditionalCheckFailed", "Message": "The conditional request failed" }) } else { json!({ "Code": "None" }) })
            .collect();
        let mut e = error("TransactionCanceledException", "Transaction cancelled [None, ConditionalCheckFailed, None]");
        e["CancellationReasons"] = Value::Array(reasons);
        Fault { status: 400, body: e }
    }))
    .await;
    let report = s
        .faulty
        .apply(Some("obj"), &batch(&["a", "b", "c"]))
        .await
        .unwrap();
    // One read of all three, one re-read of the failed one.
    assert_eq!(
        (report.read_requests, report.write_requests, report.retries),
        (2, 2, 1)
    );
    for svc in ["a", "b", "c"] {
        assert_eq!(requests(&s.direct, svc).await, Some(5), "{svc}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_throttling_gives_up_with_a_clear_error() {
    let s = setup(first("TransactWriteItems", usize::MAX, |_| Fault {
        status: 400,
        body: error(
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
    }))
    .await;
    let e = s
        .faulty
        .apply(Some("obj"), &batch(&["a"]))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Exhausted { attempts, .. } if attempts == MAX_ATTEMPTS),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("TransactWriteItems") && msg.contains("ThrottlingException"),
        "{msg}"
    );
    assert_eq!(requests(&s.direct, "a").await, None, "nothing written");
    assert_eq!(
        s.faulty.request_counts().transact_write,
        u64::from(MAX_ATTEMPTS)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_error_fails_at_once() {
    let s = setup(first("TransactWriteItems", usize::MAX, |_| Fault {
        status: 400,
        body: error(
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        ),
    }))
    .await;
    let e = s
        .faulty
        .apply(Some("obj"), &batch(&["a"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { code: Some(c), .. } if c == "ValidationException"),
        "{e}"
    );
    assert!(e.to_string().contains("Item size has exceeded"), "{e}");
    assert_eq!(s.faulty.request_counts().transact_write, 1);
}

/// A rule that answers every TransactWriteItems holding a Put for service `bad` with `fault`
/// (given the index of that Put in the transaction and the transaction's size).
fn refuse_bad(fault: impl Fn(usize, usize) -> Fault + Send + Sync + 'static) -> Rule {
    Arc::new(move |target, body| {
        if target != "TransactWriteItems" {
            return None;
        }
        let items = body["TransactItems"].as_array()?;
        let i = items
            .iter()
            .position(|t| t["Put"]["Item"]["ServiceName"]["S"] == "bad")?;
        Some(fault(i, items.len()))
    })
}

/// DynamoDB refuses an invalid request as a whole with ValidationException (e.g. "Item size has
/// exceeded the maximum allowed size", which `item_size` only approximates; see "Error handling"
/// in https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
/// Under `OnReject::Skip` the Puts go one per transaction: the refused one is rejected, the others
/// are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_refused_as_invalid_is_rejected_and_the_rest_written() {
    let s = setup(refuse_bad(|_, _| Fault {
        status: 400,
        body: error(
            "ValidationException",
            "Item size has exceeded the maximum allowed size",
        ),
    }))
    .await;
    let report = s
        .faulty
        .apply_with(
            Some("obj"),
            &batch(&["a", "bad", "c"]),
            metrics_core::OnReject::Skip,
        )
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].key, GroupKey::new("bad", t0()));
    assert_eq!(
        report.rejected[0].reason,
        metrics_core::RejectReason::RefusedByDynamoDb
    );
    assert!(report.rejected[0]
        .message
        .contains("Item size has exceeded"));
    assert_eq!(report.groups_written, 2);
    assert_eq!(report.retries, 0, "progress, not a back-off");
    for (svc, want) in [("a", Some(5)), ("bad", None), ("c", Some(5))] {
        assert_eq!(requests(&s.direct, svc).await, want, "{svc}");
    }
}

/// A transaction cancelled with a `ValidationError` reason for one Put rejects that group; the
/// others (reason `None`, not written) are sent again. DynamoDB cancels a transaction when "an
/// item size becomes too large (larger than 400 KB) ... or a similar validation error occurs",
/// with one reason per action, `ValidationError` among the codes
/// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html,
/// TransactionCanceledException).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_cancelled_as_invalid_is_rejected_and_the_rest_written() {
    let s = setup(refuse_bad(|bad, n| {
        let reasons: Vec<Value> = (0..n)
            .map(|i| if i == bad { json!({ "Code": "ValidationError", "Message": "Item size to update has exceeded the maximum allowed size" }) } else { json!({ "Code": "None" }) })
            .collect();
        let mut e = error("TransactionCanceledException", "Transaction cancelled [ValidationError]");
        e["CancellationReasons"] = Value::Array(reasons);
        Fault { status: 400, body: e }
    }))
    .await;
    let b = batch(&["a", "bad", "c"]);
    let e = s.faulty.apply(Some("obj"), &b).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { code: Some(c), .. } if c == "ValidationError"),
        "apply keeps failing the call: {e}"
    );
    let report = s
        .faulty
        .apply_with(Some("obj"), &b, metrics_core::OnReject::Skip)
        .await
        .unwrap();
    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|r| (&r.key.service, r.reason))
        .collect();
    assert_eq!(
        rejected,
        [(
            &"bad".to_owned(),
            metrics_core::RejectReason::RefusedByDynamoDb
        )]
    );
    assert_eq!(report.groups_written, 2);
    for (svc, want) in [("a", Some(5)), ("bad", None), ("c", Some(5))] {
        assert_eq!(requests(&s.direct, svc).await, want, "{svc}");
    }
}

/// Throttling is transient: under `OnReject::Skip` too it is retried, never a rejection (and
/// past `MAX_ATTEMPTS` it fails the call, the same path as `persistent_throttling_...`); a failure
/// that is not about one group (here the table is gone) fails the call, rejecting nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_and_table_failures_are_not_rejections() {
    // Throttles the first two transactions; any transaction for `gone` finds no table.
    let throttle = first("TransactWriteItems", 2, |_| Fault {
        status: 400,
        body: error(
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
        ),
    });
    let gone = refuse_bad(|_, _| Fault {
        status: 400,
        body: error("ResourceNotFoundException", "Requested resource not found"),
    });
    let s = setup(Arc::new(move |target, body| {
        gone(target, body).or_else(|| throttle(target, body))
    }))
    .await;
    let report = s
        .faulty
        .apply_with(
            Some("obj"),
            &batch(&["a", "b"]),
            metrics_core::OnReject::Skip,
        )
        .await
        .unwrap();
    assert!(report.rejected.is_empty(), "{report:?}");
    assert_eq!((report.groups_written, report.retries), (2, 2));

    let e = s
        .faulty
        .apply_with(Some("obj"), &batch(&["bad"]), metrics_core::OnReject::Skip)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Aws { code: Some(c), .. } if c == "ResourceNotFoundException"),
        "{e}"
    );
    assert_eq!(requests(&s.direct, "bad").await, None, "nothing written");
}
