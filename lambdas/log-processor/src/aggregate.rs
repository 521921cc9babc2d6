//! Per-(service, minute) accumulation on the hot path.
//!
//! Services are interned to small ids and the last service and group looked up are
//! cached, because consecutive lines nearly always share both: most lines cost two
//! byte comparisons instead of two hash lookups. Request and error counts are kept as
//! integers and turned into [`Aggregate`]s once, at the end.

use crate::rejects::Reason;
use metrics_core::aggregate::{Aggregate, Batch, MinuteMetrics, ERRORS, LATENCY_MS, REQUESTS};
use metrics_core::service::validate_service_name;
use metrics_core::{Minute, Sketch};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-rotate hasher for the (service id, minute) index: its keys are small integers
/// made by this process, so SipHash's flooding resistance buys nothing and costs a lot.
#[derive(Default)]
pub struct GroupHasher(u64);

impl Hasher for GroupHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(v as u64);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[derive(Debug, Default)]
struct Group {
    requests: u64,
    errors: u64,
    latency: Aggregate,
    custom: MinuteMetrics,
}

/// Interned service id.
pub type ServiceId = u32;

/// Distinct services one object may name. Memory grows with the groups an object makes, not
/// with its size; this bounds the groups a log that puts request ids in `service` can make.
pub const MAX_SERVICES: usize = 1_000;

#[derive(Debug, Default)]
pub struct Accumulator {
    names: Vec<String>,
    ids: HashMap<String, ServiceId>,
    last_service: Option<ServiceId>,
    index: HashMap<(ServiceId, i64), usize, BuildHasherDefault<GroupHasher>>,
    groups: Vec<(ServiceId, i64, Group)>,
    last_group: Option<usize>,
}

/// The minute (epoch minutes) containing a millisecond timestamp.
#[inline]
pub fn minute_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(60_000)
}

impl Accumulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of a valid service name; `BadService` when the name is invalid,
    /// `TooManyServices` for a new name past [`MAX_SERVICES`].
    #[inline]
    pub fn service_id(&mut self, name: &str) -> Result<ServiceId, Reason> {
        if let Some(id) = self.last_service {
            if self.names[id as usize] == name {
                return Ok(id);
            }
        }
        // A handful of services is the common case: comparing names beats hashing them.
        let found = if self.names.len() <= 16 {
            self.names
                .iter()
                .position(|n| n == name)
                .map(|i| i as ServiceId)
        } else {
            self.ids.get(name).copied()
        };
        let id = match found {
            Some(id) => id,
            None => {
                validate_service_name(name).map_err(|_| Reason::BadService)?;
                if self.names.len() >= MAX_SERVICES {
                    return Err(Reason::TooManyServices);
                }
                let id = self.names.len() as ServiceId;
                self.names.push(name.to_owned());
                self.ids.insert(name.to_owned(), id);
                id
            }
        };
        self.last_service = Some(id);
        Ok(id)
    }

    #[inline]
    fn group(&mut self, service: ServiceId, ts_ms: i64) -> &mut Group {
        let minute = minute_of(ts_ms);
        let i = match self.last_group {
            Some(i) if self.groups[i].0 == service && self.groups[i].1 == minute => i,
            _ => {
                let next = self.groups.len();
                let i = *self.index.entry((service, minute)).or_insert(next);
                if i == next {
                    self.groups.push((service, minute, Group::default()));
                }
                self.last_group = Some(i);
                i
            }
        };
        &mut self.groups[i].2
    }

    /// One request line. `latency_ms` must already be a recordable value.
    #[inline]
    pub fn request(
        &mut self,
        service: ServiceId,
        ts_ms: i64,
        error: bool,
        latency_ms: Option<f64>,
    ) {
        let g = self.group(service, ts_ms);
        g.requests += 1;
        g.errors += error as u64;
        if let Some(v) = latency_ms {
            g.latency.record(v);
        }
    }

    /// One value of a custom (EMF) metric; `false` when the value cannot be recorded.
    pub fn custom(&mut self, service: ServiceId, ts_ms: i64, metric: &str, v: f64) -> bool {
        self.group(service, ts_ms).custom.record(metric, v)
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The groups as the store wants them. `requests` records 1 per request line and
    /// `errors` 1 or 0 per request line (so its sum is the error count and its average
    /// the error rate); both are built from the counts in one step each.
    pub fn into_batch(self) -> Batch {
        let mut batch = Batch::new();
        for (service, minute, g) in self.groups {
            let name = &self.names[service as usize];
            let metrics = batch.group_mut(name, Minute::from_epoch_seconds(minute * 60));
            if g.requests > 0 {
                metrics
                    .0
                    .insert(REQUESTS.to_owned(), counts(&[(1.0, g.requests)]));
                metrics.0.insert(
                    ERRORS.to_owned(),
                    counts(&[(0.0, g.requests - g.errors), (1.0, g.errors)]),
                );
            }
            if !g.latency.is_empty() {
                metrics.0.insert(LATENCY_MS.to_owned(), g.latency);
            }
            metrics.merge(&g.custom);
        }
        batch
    }
}

/// The aggregate of `n` copies of each value, exactly as recording them one by one would be.
fn counts(values: &[(f64, u64)]) -> Aggregate {
    let mut a = Aggregate {
        sketch: Sketch::new(),
        ..Aggregate::default()
    };
    for &(v, n) in values.iter().filter(|(_, n)| *n > 0) {
        a.count += n;
        a.sum += v * n as f64;
        a.min = a.min.min(v);
        a.max = a.max.max(v);
        a.sketch.add_n(v, n);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_975_500_000; // 2026-11-29T18:05:00Z

    #[test]
    fn new_services_past_the_cap_are_refused_known_ones_still_count() {
        let mut acc = Accumulator::new();
        for i in 0..MAX_SERVICES {
            acc.service_id(&format!("svc-{i}")).unwrap();
        }
        assert_eq!(acc.service_id("one-too-many"), Err(Reason::TooManyServices));
        assert_eq!(acc.service_id("svc-0"), Ok(0));
        assert_eq!(acc.service_id("svc-999"), Ok(999));
        assert_eq!(acc.service_id("bad name"), Err(Reason::BadService));
    }

    #[test]
    fn counts_equal_recording_one_by_one() {
        let mut acc = Accumulator::new();
        let a = acc.service_id("api").unwrap();
        let b = acc.service_id("db").unwrap();
        assert_eq!(acc.service_id("api"), Ok(a));
        assert_eq!(acc.service_id("not valid!"), Err(Reason::BadService));
        let mut reference = Batch::new();
        let m = |ts: i64| Minute::from_epoch_millis(ts);
        for i in 0..1000i64 {
            let (svc, name) = if i % 3 == 0 { (b, "db") } else { (a, "api") };
            let ts = T0 + i * 250; // ~4 minutes
            let error = i % 7 == 0;
            let latency = (i % 5 != 0).then_some((i % 97) as f64 * 1.5);
            acc.request(svc, ts, error, latency);
            reference.record(name, m(ts), REQUESTS, 1.0);
            reference.record(name, m(ts), ERRORS, if error { 1.0 } else { 0.0 });
            if let Some(l) = latency {
                reference.record(name, m(ts), LATENCY_MS, l);
            }
            if i % 10 == 0 {
                assert!(acc.custom(svc, ts, "QueueDepth", i as f64));
                reference.record(name, m(ts), "QueueDepth", i as f64);
            }
        }
        let batch = acc.into_batch();
        assert_eq!(batch.len(), 10);
        assert_eq!(batch, reference);
    }

    #[test]
    fn minutes_split_at_the_boundary_and_before_1970() {
        assert_eq!(minute_of(T0 - 1), minute_of(T0) - 1);
        assert_eq!(minute_of(T0 + 59_999), minute_of(T0));
        assert_eq!(minute_of(-1), -1);
    }
}
