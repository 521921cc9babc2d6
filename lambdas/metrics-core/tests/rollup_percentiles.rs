//! Percentiles stay honest through the rollups: a month (31 days) of one service's latencies,
//! recorded per minute, merged into hours, days and the month the way the store does (children
//! in time order with `MinuteMetrics::merge`, each level stored and read back through the
//! table's item codec). p50/p90/p99 of every day and of the month are within the sketch's 1%
//! relative-error bound of the exact values of the raw data. Pure: no emulator.

use metrics_core::aggregate::{GroupKey, MinuteMetrics, LATENCY_MS};
use metrics_core::codec::{decode_group, decode_rollup, encode_group, encode_rollup};
use metrics_core::codec::{StoredGroup, StoredRollup};
use metrics_core::rollup::{Piece, Resolution};
use metrics_core::sketch::RELATIVE_ACCURACY;
use metrics_core::{Minute, Stat};
use test_support::bench::Rng;

/// 2026-11-01T00:00:00Z
const MONTH0: i64 = 1_793_491_200;
const VALUES_PER_MINUTE: usize = 20;

/// A latency in ms: log-normal around 40 ms (σ = 0.8), slower by day (a diurnal factor up to
/// 3×), with a 2% tail of timeouts-to-be 20× slower, and a bad day (day 17) 5× slower.
fn latency(rng: &mut Rng, day: i64, hour: i64) -> f64 {
    let diurnal = 1.0
        + 2.0
            * ((hour as f64 - 3.0) / 24.0 * std::f64::consts::TAU)
                .sin()
                .abs();
    let bad_day = if day == 17 { 5.0 } else { 1.0 };
    let tail = if rng.unit() < 0.02 { 20.0 } else { 1.0 };
    40.0 * (0.8 * rng.normal()).exp() * diurnal * bad_day * tail
}

fn exact(sorted: &[f64], q: f64) -> f64 {
    // The rank the sketch documents: sorted index floor(q·(n−1)).
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

/// Stores `metrics` as the rollup of `piece` and reads it back, as the store's Put and a
/// reader's Query do.
fn through_the_table(piece: Piece, metrics: MinuteMetrics, children: i64) -> MinuteMetrics {
    let rollup = StoredRollup {
        service: "svc".into(),
        piece,
        metrics,
        version: 1,
        basis: (0..children).map(|o| (o, 1)).collect(),
        partial: false,
    };
    let back = decode_rollup(&encode_rollup(&rollup, None)).unwrap();
    assert!(!back.partial);
    back.metrics
}

#[track_caller]
fn assert_within_bound(metrics: &MinuteMetrics, sorted: &[f64], what: &str) {
    let agg = metrics.get(LATENCY_MS).unwrap();
    assert_eq!(agg.count, sorted.len() as u64, "{what}: count");
    for (stat, q) in [(Stat::P50, 0.50), (Stat::P90, 0.90), (Stat::P99, 0.99)] {
        let got = agg.stat(stat).unwrap();
        let want = exact(sorted, q);
        let error = (got - want).abs() / want;
        assert!(
            error <= RELATIVE_ACCURACY,
            "{what} {stat}: {got} vs exact {want} ({:.3}% off)",
            error * 100.0
        );
    }
}

#[test]
fn a_month_of_rollups_keeps_p50_and_p99_within_one_percent() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut month_values = Vec::with_capacity(31 * 1_440 * VALUES_PER_MINUTE);
    let mut days = Vec::with_capacity(31);
    for day in 0..31 {
        let mut day_values = Vec::with_capacity(1_440 * VALUES_PER_MINUTE);
        let mut hours = Vec::with_capacity(24);
        for hour in 0..24 {
            let hour_start = MONTH0 + day * 86_400 + hour * 3_600;
            let mut hour_metrics = MinuteMetrics::new();
            for minute in 0..60 {
                let mut m = MinuteMetrics::new();
                for _ in 0..VALUES_PER_MINUTE {
                    let v = latency(&mut rng, day, hour);
                    assert!(m.record(LATENCY_MS, v));
                    day_values.push(v);
                }
                // The minute item as a recompute reads it.
                let key =
                    GroupKey::new("svc", Minute::from_epoch_seconds(hour_start + minute * 60));
                let stored = StoredGroup {
                    metrics: m,
                    version: 1,
                    ..StoredGroup::empty(key)
                };
                hour_metrics.merge(&decode_group(&encode_group(&stored)).unwrap().metrics);
            }
            let piece = Piece {
                resolution: Resolution::Hour,
                start: hour_start,
            };
            hours.push(through_the_table(piece, hour_metrics, 60));
        }
        let mut day_metrics = MinuteMetrics::new();
        for h in &hours {
            day_metrics.merge(h);
        }
        let piece = Piece {
            resolution: Resolution::Day,
            start: MONTH0 + day * 86_400,
        };
        let day_metrics = through_the_table(piece, day_metrics, 24);
        month_values.extend_from_slice(&day_values);
        day_values.sort_by(f64::total_cmp);
        assert_within_bound(&day_metrics, &day_values, &format!("day {day}"));
        days.push(day_metrics);
    }
    // A month-long query at a daily period merges the 31 day rollups.
    let mut month = MinuteMetrics::new();
    for d in &days {
        month.merge(d);
    }
    month_values.sort_by(f64::total_cmp);
    assert_within_bound(&month, &month_values, "month");
    // The data is what the test means to cover: a wide spread and a heavy tail.
    let (p50, p99) = (exact(&month_values, 0.5), exact(&month_values, 0.99));
    assert!(p99 > 10.0 * p50, "p50 {p50}, p99 {p99}");
}
