//! Merges per-minute aggregates into the periods of one page and computes
//! the requested statistics. Percentiles come from the merged sketches, never
//! from averaging per-minute percentiles. Pure, so it is benchmarked without
//! DynamoDB.

use std::borrow::Cow;
use std::collections::BTreeMap;

use metrics_core::aggregate::{Aggregate, MinuteMetrics, Stat};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::query::{rfc3339, Page};

/// Accumulates minutes into periods: service → metric → one slot per period.
pub struct Merger<'a> {
    page: Page,
    metrics: Option<&'a [String]>,
    by_service: BTreeMap<String, BTreeMap<String, Vec<Option<Aggregate>>>>,
}

impl<'a> Merger<'a> {
    /// `metrics`: keep only these metric names (`None`: every metric).
    pub fn new(page: Page, metrics: Option<&'a [String]>) -> Self {
        Self {
            page,
            metrics,
            by_service: BTreeMap::new(),
        }
    }

    /// Adds one stored item: every metric of `service` in the item starting at `start` (epoch
    /// seconds). Items outside the page are ignored.
    pub fn add(&mut self, service: &str, start: i64, item: &MinuteMetrics) {
        self.add_each(
            service,
            start,
            item.0.iter().map(|(n, a)| (n, Cow::Borrowed(a))),
        );
    }

    /// [`Merger::add`] for an item the caller no longer needs: its aggregates are moved, not
    /// copied, into periods they start.
    pub fn add_owned(&mut self, service: &str, start: i64, item: MinuteMetrics) {
        self.add_each(
            service,
            start,
            item.0.into_iter().map(|(n, a)| (n, Cow::Owned(a))),
        );
    }

    fn add_each<'m, N: AsRef<str> + Into<String>>(
        &mut self,
        service: &str,
        start: i64,
        metrics: impl Iterator<Item = (N, Cow<'m, Aggregate>)>,
    ) {
        let Some(idx) = self.page.period_index(start) else {
            return;
        };
        let periods = self.page.periods();
        if !self.by_service.contains_key(service) {
            self.by_service.insert(service.to_owned(), BTreeMap::new());
        }
        let Some(slots_by_metric) = self.by_service.get_mut(service) else {
            return;
        };
        for (name, agg) in metrics {
            let name_str = name.as_ref();
            if agg.is_empty() || !self.metrics.is_none_or(|m| m.iter().any(|n| n == name_str)) {
                continue;
            }
            let slots = match slots_by_metric.get_mut(name_str) {
                Some(slots) => slots,
                None => slots_by_metric
                    .entry(name.into())
                    .or_insert_with(|| vec![None; periods]),
            };
            match slots.get_mut(idx) {
                Some(Some(acc)) => acc.merge(&agg),
                Some(slot @ None) => *slot = Some(agg.into_owned()),
                None => {}
            }
        }
    }

    /// The series, ordered by service then metric; only periods with data.
    pub fn finish(self, stats: &[Stat]) -> Vec<Series> {
        let Merger {
            page, by_service, ..
        } = self;
        let mut out = Vec::new();
        // Every series of the page shares the periods' timestamps: formatted once.
        let timestamps: Vec<String> = (0..page.periods())
            .map(|i| rfc3339(page.start + i as i64 * page.period))
            .collect();
        for (service, metrics) in by_service {
            for (metric, slots) in metrics {
                let points = slots
                    .into_iter()
                    .zip(&timestamps)
                    .filter_map(|(agg, timestamp)| {
                        let agg = agg?;
                        Some(Point {
                            timestamp: timestamp.clone(),
                            values: stat_values(&agg, stats),
                            stats: stats.to_vec(),
                        })
                    })
                    .collect();
                out.push(Series {
                    service: service.clone(),
                    metric,
                    points,
                });
            }
        }
        out
    }
}

/// One statistic as JSON: `count` as an integer, the rest as numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatValue {
    Count(u64),
    Number(Option<f64>),
}

/// [`stat_value`] of each of `stats` (the percentiles in one walk over the sketch).
pub fn stat_values(agg: &Aggregate, stats: &[Stat]) -> Vec<StatValue> {
    stats
        .iter()
        .zip(agg.stats(stats))
        .map(|(stat, v)| match stat {
            Stat::Count => StatValue::Count(agg.count),
            _ => StatValue::Number(v),
        })
        .collect()
}

pub fn stat_value(agg: &Aggregate, stat: Stat) -> StatValue {
    match stat {
        Stat::Count => StatValue::Count(agg.count),
        other => StatValue::Number(agg.stat(other)),
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Series {
    pub service: String,
    pub metric: String,
    pub points: Vec<Point>,
}

/// `{"timestamp": ..., "<stat>": value, ...}` with stats in the asked order.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub timestamp: String,
    pub stats: Vec<Stat>,
    pub values: Vec<StatValue>,
}

impl Point {
    pub fn get(&self, stat: Stat) -> Option<StatValue> {
        let i = self.stats.iter().position(|s| *s == stat)?;
        self.values.get(i).copied()
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1 + self.values.len()))?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        for (stat, value) in self.stats.iter().zip(&self.values) {
            match value {
                StatValue::Count(n) => map.serialize_entry(stat.as_str(), n)?,
                StatValue::Number(v) => map.serialize_entry(stat.as_str(), v)?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(metric: &str, values: &[f64]) -> MinuteMetrics {
        let mut m = MinuteMetrics::new();
        for v in values {
            m.record(metric, *v);
        }
        m
    }

    fn page(start: i64, end: i64, period: i64) -> Page {
        Page {
            start,
            end,
            period,
            next: None,
        }
    }

    #[test]
    fn percentiles_come_from_merged_sketches_not_averages() {
        // Minute 1: 99 fast requests; minute 2: one slow one. Averaging the
        // per-minute p99s would give ~(1 + 1000) / 2; the merged p99 is ~1.
        let mut m = Merger::new(page(0, 120, 120), None);
        m.add("a", 0, &item("latency_ms", &[1.0; 99]));
        m.add("a", 60, &item("latency_ms", &[1000.0]));
        let series = m.finish(&[Stat::Count, Stat::P50, Stat::P99, Stat::Max, Stat::Avg]);
        let p = &series[0].points[0];
        assert_eq!(p.get(Stat::Count), Some(StatValue::Count(100)));
        let StatValue::Number(Some(p99)) = p.get(Stat::P99).unwrap() else {
            panic!()
        };
        assert!((p99 - 1.0).abs() <= 0.01, "{p99}");
        assert_eq!(p.get(Stat::Max), Some(StatValue::Number(Some(1000.0))));
        let StatValue::Number(Some(avg)) = p.get(Stat::Avg).unwrap() else {
            panic!()
        };
        assert!((avg - 10.99).abs() < 1e-9);
    }

    #[test]
    fn minutes_land_in_their_periods_and_filters_apply() {
        let mut m = Merger::new(page(600, 900, 120), Some(&[][..]));
        m.add("a", 600, &item("x", &[1.0]));
        assert!(m.finish(&[Stat::Sum]).is_empty());

        let only_x = ["x".to_owned()];
        let mut m = Merger::new(page(600, 900, 120), Some(&only_x));
        for (t, v) in [
            (600, 1.0),
            (660, 2.0),
            (720, 4.0),
            (840, 8.0),
            (900, 99.0),
            (540, 99.0),
        ] {
            m.add("a", t, &item("x", &[v]));
            m.add("a", t, &item("y", &[v]));
        }
        let s = m.finish(&[Stat::Sum]);
        assert_eq!(s.len(), 1);
        let sums: Vec<_> = s[0]
            .points
            .iter()
            .map(|p| (p.timestamp.as_str(), p.get(Stat::Sum)))
            .collect();
        assert_eq!(
            sums,
            vec![
                ("1970-01-01T00:10:00Z", Some(StatValue::Number(Some(3.0)))),
                ("1970-01-01T00:12:00Z", Some(StatValue::Number(Some(4.0)))),
                ("1970-01-01T00:14:00Z", Some(StatValue::Number(Some(8.0)))),
            ]
        );
        let json = serde_json::to_string(&s[0].points[0]).unwrap();
        assert_eq!(json, r#"{"timestamp":"1970-01-01T00:10:00Z","sum":3.0}"#);
    }
}
