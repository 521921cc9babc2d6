//! Mergeable metric aggregates and their groupings.
//!
//! [`Aggregate`] = count, sum, min, max and a [`Sketch`]; [`MinuteMetrics`] = every metric of one
//! service in one minute (one table item); [`Batch`] = many (service, minute) groups, what one log
//! object or one API request contributes.
//!
//! Values: finite, `|v| ≤ MAX_ABS_VALUE`; magnitudes below [`MIN_INDEXABLE`] are recorded as 0 so
//! that sums, minima and maxima always fit a DynamoDB number. [`check_value`] tells callers why a
//! value is rejected; the `record` methods return `false` and record nothing for such values.

use crate::minute::Minute;
use crate::sketch::{Sketch, MIN_INDEXABLE};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use crate::service::validate_metric_name;

/// Standard metric: one per request line.
pub const REQUESTS: &str = contract::service_metrics::REQUESTS.stored;
/// Standard metric: status ≥ 500 or level ERROR/FATAL/CRITICAL.
pub const ERRORS: &str = contract::service_metrics::ERRORS.stored;
/// Standard metric: request latency in milliseconds.
pub const LATENCY_MS: &str = contract::service_metrics::LATENCY.stored;

/// Largest accepted magnitude (DynamoDB numbers stop at ~1e126; sums need head-room).
pub const MAX_ABS_VALUE: f64 = 1e30;

/// Why a data point's value cannot be recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("value is not a finite number")]
    NotFinite,
    #[error("value {0} is outside ±1e30")]
    OutOfRange(f64),
}

/// Accepts finite values with `|v| ≤ MAX_ABS_VALUE`; returns the value as it will be recorded
/// (tiny magnitudes become 0).
pub fn check_value(v: f64) -> Result<f64, ValueError> {
    if !v.is_finite() {
        Err(ValueError::NotFinite)
    } else if v.abs() > MAX_ABS_VALUE {
        Err(ValueError::OutOfRange(v))
    } else if v.abs() < MIN_INDEXABLE {
        Ok(0.0)
    } else {
        Ok(v)
    }
}

/// A statistic the API can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stat {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    P50,
    P90,
    P95,
    P99,
}

impl Stat {
    pub const ALL: [Stat; 9] = [
        Stat::Count,
        Stat::Sum,
        Stat::Avg,
        Stat::Min,
        Stat::Max,
        Stat::P50,
        Stat::P90,
        Stat::P95,
        Stat::P99,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Stat::Count => "count",
            Stat::Sum => "sum",
            Stat::Avg => "avg",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::P50 => "p50",
            Stat::P90 => "p90",
            Stat::P95 => "p95",
            Stat::P99 => "p99",
        }
    }

    /// The quantile of a percentile stat.
    pub fn quantile(&self) -> Option<f64> {
        match self {
            Stat::P50 => Some(0.50),
            Stat::P90 => Some(0.90),
            Stat::P95 => Some(0.95),
            Stat::P99 => Some(0.99),
            _ => None,
        }
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown stat name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stat {0:?}; expected one of count, sum, avg, min, max, p50, p90, p95, p99")]
pub struct UnknownStat(pub String);

impl FromStr for Stat {
    type Err = UnknownStat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stat::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStat(s.chars().take(32).collect()))
    }
}

/// Count, sum, min, max and a quantile sketch of one metric. Empty: count 0, min +∞, max −∞.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: Sketch,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sketch: Sketch::new(),
        }
    }
}

impl Aggregate {
    pub fn new() -> Aggregate {
        Aggregate::default()
    }

    /// Records one value; `false` (and nothing recorded) when [`check_value`] rejects it.
    #[inline]
    pub fn record(&mut self, v: f64) -> bool {
        let Ok(v) = check_value(v) else { return false };
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sketch.add(v);
        true
    }

    pub fn merge(&mut self, other: &Aggregate) {
        self.count = self.count.saturating_add(other.count);
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sketch.merge(&other.sketch);
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// [`Aggregate::stat`] of each of `stats`, the percentiles in one walk over the sketch.
    pub fn stats(&self, stats: &[Stat]) -> Vec<Option<f64>> {
        let quantiles: Vec<f64> = stats.iter().filter_map(Stat::quantile).collect();
        let mut percentiles = if quantiles.is_empty() || self.count == 0 {
            Vec::new()
        } else {
            self.sketch.quantiles(&quantiles)
        }
        .into_iter();
        stats
            .iter()
            .map(|s| match s.quantile() {
                Some(_) => percentiles
                    .next()
                    .flatten()
                    .map(|v| v.clamp(self.min, self.max)),
                None => self.stat(*s),
            })
            .collect()
    }

    /// The statistic; `count` and `sum` are 0 when empty, the others `None`. Percentiles are
    /// clamped to `[min, max]`, which keeps them within the sketch's 1% and makes p0/p100 exact.
    pub fn stat(&self, stat: Stat) -> Option<f64> {
        match stat {
            Stat::Count => Some(self.count as f64),
            Stat::Sum => Some(self.sum),
            _ if self.count == 0 => None,
            Stat::Avg => Some(self.sum / self.count as f64),
            Stat::Min => Some(self.min),
            Stat::Max => Some(self.max),
            Stat::P50 | Stat::P90 | Stat::P95 | Stat::P99 => {
                let q = stat.quantile()?;
                self.sketch.quantile(q).map(|v| v.clamp(self.min, self.max))
            }
        }
    }
}

/// Every metric of one service in one minute (one table item), keyed by metric name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinuteMetrics(pub BTreeMap<String, Aggregate>);

impl MinuteMetrics {
    pub fn new() -> MinuteMetrics {
        MinuteMetrics::default()
    }

    /// Records a value of `metric` (name validation is the caller's job; [`crate::MetricStore::apply`]
    /// rejects invalid names). `false` when the value is rejected.
    #[inline]
    pub fn record(&mut self, metric: &str, v: f64) -> bool {
        if check_value(v).is_err() {
            return false;
        }
        match self.0.get_mut(metric) {
            Some(agg) => agg.record(v),
            None => self.0.entry(metric.to_owned()).or_default().record(v),
        }
    }

    pub fn merge(&mut self, other: &MinuteMetrics) {
        for (name, agg) in &other.0 {
            match self.0.get_mut(name) {
                Some(mine) => mine.merge(agg),
                None => {
                    self.0.insert(name.clone(), agg.clone());
                }
            }
        }
    }

    pub fn get(&self, metric: &str) -> Option<&Aggregate> {
        self.0.get(metric)
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Aggregate::is_empty)
    }
}

/// Identity of one table item: (service, minute). Orders by service, then minute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub service: String,
    pub minute: Minute,
}

impl GroupKey {
    pub fn new(service: impl Into<String>, minute: Minute) -> GroupKey {
        GroupKey {
            service: service.into(),
            minute,
        }
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.service, self.minute)
    }
}

/// Many (service, minute) groups: what one source (log object, API request) contributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch(pub BTreeMap<GroupKey, MinuteMetrics>);

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// The group of (service, minute), created empty when missing.
    pub fn group_mut(&mut self, service: &str, minute: Minute) -> &mut MinuteMetrics {
        self.0.entry(GroupKey::new(service, minute)).or_default()
    }

    /// Records a value; `false` (nothing recorded, no group created) when the value is rejected.
    pub fn record(&mut self, service: &str, minute: Minute, metric: &str, v: f64) -> bool {
        if check_value(v).is_err() {
            return false;
        }
        self.group_mut(service, minute).record(metric, v)
    }

    pub fn merge(&mut self, other: &Batch) {
        for (key, metrics) in &other.0 {
            match self.0.get_mut(key) {
                Some(mine) => mine.merge(metrics),
                None => {
                    self.0.insert(key.clone(), metrics.clone());
                }
            }
        }
    }

    /// Number of (service, minute) groups.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total values recorded across all groups and metrics.
    pub fn values(&self) -> u64 {
        self.0
            .values()
            .flat_map(|m| m.0.values())
            .map(|a| a.count)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_at_once_equal_each_stat() {
        let mut agg = Aggregate::new();
        for v in [3.0, 1.0, 250.0, 7.5, 0.0, 42.0, 1000.0] {
            agg.record(v);
        }
        let all: Vec<Stat> = Stat::ALL.iter().rev().copied().collect();
        let each: Vec<Option<f64>> = all.iter().map(|s| agg.stat(*s)).collect();
        assert_eq!(agg.stats(&all), each);
        assert_eq!(
            Aggregate::new().stats(&all),
            all.iter()
                .map(|s| Aggregate::new().stat(*s))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn stats_parse_and_print() {
        for s in Stat::ALL {
            assert_eq!(s.as_str().parse::<Stat>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        let e = "P99".parse::<Stat>().unwrap_err().to_string();
        assert!(e.contains("\"P99\"") && e.contains("p95"), "{e}");
    }

    #[test]
    fn aggregate_stats() {
        let mut a = Aggregate::new();
        assert_eq!(a.stat(Stat::Count), Some(0.0));
        assert_eq!(a.stat(Stat::Sum), Some(0.0));
        assert_eq!(a.stat(Stat::Avg), None);
        assert_eq!(a.stat(Stat::P99), None);
        for v in 1..=100 {
            assert!(a.record(f64::from(v)));
        }
        assert!(!a.record(f64::NAN));
        assert!(!a.record(f64::INFINITY));
        assert!(!a.record(2e30));
        assert_eq!(a.count, 100);
        assert_eq!(a.stat(Stat::Sum), Some(5050.0));
        assert_eq!(a.stat(Stat::Avg), Some(50.5));
        assert_eq!(a.stat(Stat::Min), Some(1.0));
        assert_eq!(a.stat(Stat::Max), Some(100.0));
        // floor(q·99): p50 → 50, p90 → 90, p95 → 95, p99 → 99 (1-based values = index + 1).
        for (stat, want) in [
            (Stat::P50, 50.0),
            (Stat::P90, 90.0),
            (Stat::P95, 95.0),
            (Stat::P99, 99.0),
        ] {
            let got = a.stat(stat).unwrap();
            assert!((got - want).abs() <= 0.01 * want, "{stat}: {got} vs {want}");
        }
    }

    #[test]
    fn percentiles_clamp_to_min_max() {
        let mut a = Aggregate::new();
        a.record(7.0);
        assert_eq!(a.stat(Stat::P50), Some(7.0));
        assert_eq!(a.stat(Stat::P99), Some(7.0));
    }

    #[test]
    fn tiny_values_are_zero() {
        let mut a = Aggregate::new();
        assert_eq!(check_value(1e-12), Ok(0.0));
        assert_eq!(check_value(-3.0), Ok(-3.0));
        a.record(1e-12);
        assert_eq!((a.sum, a.min, a.max), (0.0, 0.0, 0.0));
    }

    #[test]
    fn merge_equals_recording_everything() {
        let mut whole = Batch::new();
        let mut left = Batch::new();
        let mut right = Batch::new();
        let m = Minute::from_epoch_seconds(1_800_000_000);
        for i in 0..500 {
            let (svc, metric) = (["a", "b"][i % 2], [REQUESTS, LATENCY_MS, ERRORS][i % 3]);
            let minute = m.add_minutes((i % 3) as i64);
            let v = (i * 37 % 101) as f64 - 20.0;
            assert!(whole.record(svc, minute, metric, v));
            let half = if i < 200 { &mut left } else { &mut right };
            assert!(half.record(svc, minute, metric, v));
        }
        let mut merged = left.clone();
        merged.merge(&right);
        assert_eq!(merged.len(), 6);
        assert_eq!(merged.values(), 500);
        assert_eq!(merged, whole);
        // merge is commutative on the observable state.
        let mut other = right.clone();
        other.merge(&left);
        assert_eq!(other, whole);
    }

    #[test]
    fn rejected_value_creates_no_group() {
        let mut b = Batch::new();
        assert!(!b.record("svc", Minute::from_epoch_seconds(0), REQUESTS, f64::NAN));
        assert!(b.is_empty());
    }
}
