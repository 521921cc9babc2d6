//! What rollups cost the writers: N concurrent writers (N = 1, 8, 32) apply log objects for the
//! same service and minute (the hot spot: many objects per minute for one service) through
//! `MetricStore::apply_with(.., OnReject::Skip)`, the log processor's call, against moto.
//! Per object: write units of the minute items ("today") and of the rollups (what "after"
//! adds), from the same `ApplyReport`s; transaction retries and lost rollup Puts; the write
//! units landing on one `TimestampIndex` partition (the minute's, the hour's, the day's). Objects
//! of 100 and of 10,000 lines, to show the units do not follow the lines.
//!
//! moto never cancels a transaction for a conflict, so a fault proxy in front of it answers
//! some `TransactWriteItems` with `TransactionCanceledException` / `TransactionConflict`, the
//! shape DynamoDB sends
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>):
//! each other writer busy with an object at that moment overlaps this transaction with
//! probability 1%, so none at N = 1. moto runs single-threaded (`Moto::start_serialized`: its
//! rollback of a failed transaction loses concurrent writes otherwise), and the `Version`
//! conflicts between the writers are moto's own.
//!
//! Run: `cargo run --locked -p metrics-core --example bench_rollup_writes` (append
//! `-- --write-doc` to put the figures into `docs/benchmarks/rollup-writes.md`). The figures are
//! counts, not times, so the dev profile (the tests' build) measures the same.

use metrics_core::aggregate::{ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::{ApplyReport, Batch, MetricStore, Minute, OnReject};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use test_support::bench::{machine, replace_block, Rng};
use test_support::fault_proxy::{error, Fault, FaultProxy, Rule};
use test_support::{dynamo, Moto};

/// 2026-11-29T00:00:00Z
const DAY0: i64 = 1_795_910_400;
const SERVICE: &str = "checkout";
/// Objects per case, whatever N: each writer applies OBJECTS / N.
const OBJECTS: usize = 64;
/// Chance that one other writer, busy with an object, overlaps a transaction.
const OVERLAP: f64 = 0.01;
/// Invocations of one object before the bench gives up (Lambda's asynchronous invocations
/// retry twice by default; more here, to measure rather than stop).
const MAX_INVOCATIONS: usize = 5;

fn at(hour: i64, minute: i64) -> Minute {
    Minute::from_epoch_seconds(DAY0 + hour * 3_600 + minute * 60)
}

/// A log object of `lines` lines of one service in `minute`: what the log processor's
/// aggregation makes of it (requests, errors, a latency per line, log-normal-ish around 40 ms).
fn object(minute: Minute, lines: usize, seed: u64) -> Batch {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut b = Batch::new();
    for _ in 0..lines {
        b.record(SERVICE, minute, REQUESTS, 1.0);
        b.record(SERVICE, minute, LATENCY_MS, 5.0 * 400f64.powf(rng.unit()));
        if rng.unit() < 0.02 {
            b.record(SERVICE, minute, ERRORS, 1.0);
        }
    }
    b
}

/// The rest of the day as a steady state: every other minute of hour 18 and the first minute
/// of hours 0 to 17, so each recompute reads a full hour (60 minutes) and a day of 19 hours.
fn prefill(lines: usize) -> Batch {
    let mut b = Batch::new();
    for m in (0..60).filter(|m| *m != 5) {
        b.merge(&object(at(18, m), lines, 1_000 + m as u64));
    }
    for h in 0..18 {
        b.merge(&object(at(h, 0), lines, 2_000 + h as u64));
    }
    b
}

struct Injector {
    /// Writers inside `apply_with` right now.
    busy: AtomicUsize,
    /// Transactions answered with TransactionConflict.
    injected: AtomicUsize,
    /// Transactions passed on to moto: each commits or fails its `Version` condition.
    forwarded: AtomicUsize,
    rng: Mutex<Rng>,
}

fn conflict_rule(inj: Arc<Injector>) -> Rule {
    Arc::new(move |target, body: &Value| {
        if target != "TransactWriteItems" {
            return None;
        }
        let others = inj.busy.load(Ordering::SeqCst).saturating_sub(1);
        let p = 1.0 - (1.0 - OVERLAP).powi(others as i32);
        let draw = inj.rng.lock().map(|mut r| r.unit()).unwrap_or(1.0);
        if draw >= p {
            inj.forwarded.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        inj.injected.fetch_add(1, Ordering::SeqCst);
        // One reason per action, in order; every Put here is for the contended item.
        let n = body["TransactItems"].as_array().map_or(0, Vec::len);
        let reasons: Vec<Value> = (0..n)
            .map(|_| json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }))
            .collect();
        let mut e = error(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        );
        e["CancellationReasons"] = Value::Array(reasons);
        Some(Fault {
            status: 400,
            body: e,
        })
    })
}

#[derive(Default)]
struct Totals {
    objects: usize,
    minute_units: u64,
    minute_index_units: u64,
    rollup_units: u64,
    hour_index_units: u64,
    day_index_units: u64,
    minute_requests: usize,
    rollup_requests: usize,
    rollup_lost: usize,
    rollups_written: usize,
    rejected: usize,
    /// Invocations that failed (the store gave up) before the one that applied the object.
    failed: usize,
}

impl Totals {
    fn add(&mut self, r: &ApplyReport) {
        self.objects += 1;
        self.minute_units += r.write_units;
        self.minute_index_units += r.index_write_units;
        self.rollup_units += r.rollups.write_units;
        self.hour_index_units += r.rollups.index_write_units_hour;
        self.day_index_units += r.rollups.index_write_units_day;
        self.minute_requests += r.read_requests + r.write_requests;
        self.rollup_requests += r.rollups.read_requests + r.rollups.write_requests;
        self.rollup_lost += r.rollups.conflicts;
        self.rollups_written += r.rollups.written;
        self.rejected += r.rejected.len();
    }
}

struct Case {
    writers: usize,
    lines: usize,
    totals: Totals,
    injected: usize,
    forwarded: usize,
    seconds: f64,
}

async fn run_case(moto: &Moto, writers: usize, lines: usize) -> Case {
    let table = format!("bench-n{writers}-l{lines}");
    let direct = dynamo::client(&moto.endpoint).await;
    dynamo::create_metric_table(&direct, &table).await;
    MetricStore::new(direct, &table)
        .apply_with(Some("prefill"), &prefill(lines), OnReject::Skip)
        .await
        .expect("prefill");

    let inj = Arc::new(Injector {
        busy: AtomicUsize::new(0),
        injected: AtomicUsize::new(0),
        forwarded: AtomicUsize::new(0),
        rng: Mutex::new(Rng(0x5eed ^ (writers * 1_000 + lines) as u64)),
    });
    let proxy = FaultProxy::start(&moto.endpoint, conflict_rule(inj.clone())).await;
    // The functions' client, SDK defaults included (its retries never resend a cancelled
    // transaction: that is the store's job).
    let store = MetricStore::new(dynamo::client(&proxy.endpoint).await, &table);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, inj) = (store.clone(), inj.clone());
        tasks.push(tokio::spawn(async move {
            let mut reports = Vec::new();
            for i in 0..OBJECTS / writers {
                let b = object(at(18, 5), lines, (w * OBJECTS + i) as u64);
                let source = format!("s3://logs/{SERVICE}/w{w}/o{i}.log.gz#etag");
                // A failed object fails its invocation, and Lambda invokes again with the same
                // object: the same call, the same source id.
                let mut failures = 0;
                let report = loop {
                    inj.busy.fetch_add(1, Ordering::SeqCst);
                    let r = store.apply_with(Some(&source), &b, OnReject::Skip).await;
                    inj.busy.fetch_sub(1, Ordering::SeqCst);
                    match r {
                        Ok(r) => break r,
                        Err(e) if failures < MAX_INVOCATIONS => {
                            failures += 1;
                            eprintln!("object {source} failed, invoked again: {e:.200}");
                        }
                        Err(e) => panic!("object {source} failed {failures} times: {e}"),
                    }
                };
                reports.push((report, failures));
            }
            reports
        }));
    }
    let mut totals = Totals::default();
    for t in tasks {
        for (r, failures) in t.await.expect("writer") {
            totals.add(&r);
            totals.failed += failures;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // What landed: every object counted once in the minute and in its rollups.
    let check = MetricStore::new(dynamo::client(&moto.endpoint).await, &table);
    let minute = check
        .query_service(SERVICE, at(18, 5), at(18, 6))
        .await
        .expect("read back");
    let requests = minute[0].1.get(REQUESTS).map_or(0, |a| a.count);
    assert_eq!(
        requests,
        (OBJECTS * lines) as u64,
        "the minute holds every line"
    );
    drop(proxy);
    Case {
        writers,
        lines,
        injected: inj.injected.load(Ordering::SeqCst),
        forwarded: inj.forwarded.load(Ordering::SeqCst),
        totals,
        seconds,
    }
}

fn per(total: impl Into<f64>, objects: usize) -> String {
    format!("{:.2}", total.into() / objects as f64)
}

fn row(c: &Case) -> String {
    let t = &c.totals;
    let n = t.objects;
    // Every forwarded transaction either committed (one per object: one group each) or lost
    // its `Version` condition to another writer.
    let version_conflicts = c.forwarded.saturating_sub(n);
    format!(
        "| {} | {} | {} | {} | {} | **{}** | {} / {} | {} / {} | {} | {} | {} / {} / {} | {} |",
        c.writers,
        c.lines,
        n,
        per(t.minute_units as f64, n),
        per(t.rollup_units as f64, n),
        per((t.minute_units + t.rollup_units) as f64, n),
        per(t.minute_requests as f64, n),
        per((t.minute_requests + t.rollup_requests) as f64, n),
        per(c.injected as f64, n),
        per(version_conflicts as f64, n),
        per(t.rollup_lost as f64, n),
        per(t.rollups_written as f64, n),
        t.minute_index_units,
        t.hour_index_units,
        t.day_index_units,
        t.failed,
    )
}

const HEADER: &str = "| writers | lines/object | objects | minute WU/object (today) | rollup WU/object | WU/object after | requests/object today / after | transactions cancelled/object: injected TransactionConflict / lost `Version` condition | rollup Puts lost/object | rollups written/object | index WU on one partition in the run: minute / hour / day | objects failed and invoked again |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|";

/// Markers around the generated block in `docs/benchmarks/rollup-writes.md`.
const BEGIN: &str = "<!-- bench_rollup_writes:begin -->";
const END: &str = "<!-- bench_rollup_writes:end -->";

fn write_doc(rows: &[String], seconds: f64) -> std::io::Result<()> {
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let block = format!(
        "Measured {date} on {}, moto 5.2.5 single-threaded; the whole run took {seconds:.0} s.\n\n{HEADER}\n{}\n",
        machine(false),
        rows.join("\n")
    );
    replace_block("docs/benchmarks/rollup-writes.md", BEGIN, END, &block)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let write = std::env::args().any(|a| a == "--write-doc");
    let started = Instant::now();
    let moto = Moto::start_serialized();
    println!("{HEADER}");
    let mut rows = Vec::new();
    for lines in [100, 10_000] {
        for writers in [1, 8, 32] {
            let case = run_case(&moto, writers, lines).await;
            let line = row(&case);
            println!("{line}    ({:.1} s)", case.seconds);
            assert_eq!(case.totals.rejected, 0, "nothing rejected");
            rows.push(line);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("whole run: {seconds:.0} s");
    if write {
        match write_doc(&rows, seconds) {
            Ok(()) => println!("wrote docs/benchmarks/rollup-writes.md"),
            Err(e) => {
                eprintln!("cannot update docs/benchmarks/rollup-writes.md: {e}");
                std::process::exit(1);
            }
        }
    }
}
