//! In-memory implementations of every port, for unit tests of the executor and the handler.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use metrics_core::aggregate::MinuteMetrics;
use metrics_core::minute::Minute;

use crate::idempotency::{Claim, ClaimKey, ClaimStore};
use crate::ports::BoxFuture;
use crate::runbook::RunbookSource;
use crate::steps::gather_context::{AlarmMetricSource, MetricQuery, Series, ServiceMetricSource};
use crate::steps::notify::Publisher;
use crate::steps::put_metric::MetricSink;
use crate::steps::record_incident::{Closed, IncidentStore, NewIncident, Opened};
use crate::steps::start_automation::AutomationRunner;
use crate::steps::Ports;

/// Remembers every call; operations named in `failing` return an error.
#[derive(Default)]
pub struct Memory {
    pub calls: Mutex<Vec<String>>,
    pub claims: Mutex<HashMap<String, String>>,
    pub published: Mutex<Vec<(String, String)>>,
    pub failing: HashSet<&'static str>,
    /// Runbook parameters by name.
    pub runbooks: Mutex<HashMap<String, String>>,
    /// CloudWatch values by (metric name, period): a query of such a metric is answered with one
    /// datapoint of that value at the request's start; other queries get an empty series.
    pub metric_values: Mutex<HashMap<(String, i32), f64>>,
}

impl Memory {
    pub fn failing(ops: &[&'static str]) -> Memory {
        Memory {
            failing: ops.iter().copied().collect(),
            ..Memory::default()
        }
    }
    fn call(&self, op: &'static str, what: String) -> anyhow::Result<()> {
        self.calls.lock().unwrap().push(format!("{op} {what}"));
        if self.failing.contains(op) {
            anyhow::bail!("{op} is down");
        }
        Ok(())
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    pub fn ports(&self) -> Ports<'_> {
        Ports {
            claims: self,
            incidents: self,
            alarm_metrics: self,
            service_metrics: self,
            publisher: self,
            automation: self,
            metric_sink: self,
        }
    }
}

fn ready<'a, T: Send + 'a>(v: T) -> BoxFuture<'a, T> {
    Box::pin(async move { v })
}

impl ClaimStore for Memory {
    fn claim<'a>(
        &'a self,
        key: &'a ClaimKey,
        now: DateTime<Utc>,
        _: i64,
    ) -> BoxFuture<'a, anyhow::Result<Claim>> {
        let r = self.call("claim", key.pk.clone()).map(|()| {
            let mut claims = self.claims.lock().unwrap();
            match claims.get(&key.pk) {
                Some(status) => Claim::AlreadyClaimed {
                    status: status.clone(),
                    claimed_at: now.to_rfc3339(),
                },
                None => {
                    claims.insert(key.pk.clone(), "started".into());
                    Claim::Acquired
                }
            }
        });
        ready(r)
    }
    fn complete<'a>(
        &'a self,
        key: &'a ClaimKey,
        status: &'a str,
        _: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        self.claims
            .lock()
            .unwrap()
            .insert(key.pk.clone(), status.to_string());
        ready(Ok(()))
    }
}

impl IncidentStore for Memory {
    fn open<'a>(&'a self, i: &'a NewIncident) -> BoxFuture<'a, anyhow::Result<Opened>> {
        ready(self.call("open", i.pk.clone()).map(|()| Opened::Opened))
    }
    fn close<'a>(
        &'a self,
        pk: &'a str,
        _: &'a str,
        _: &'a str,
        _: i64,
    ) -> BoxFuture<'a, anyhow::Result<Closed>> {
        ready(
            self.call("close", pk.to_string())
                .map(|()| Closed::NoneOpen),
        )
    }
}

impl AlarmMetricSource for Memory {
    /// Recorded as `metric_data <ids> <periods> <start>..<end>`.
    fn metric_data<'a>(
        &'a self,
        q: &'a [MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Series>>> {
        let ids: Vec<&str> = q.iter().map(|q| q.id.as_str()).collect();
        let periods: Vec<i32> = q
            .iter()
            .filter_map(|q| Some(q.metric.as_ref()?.period))
            .collect();
        let what = format!(
            "{} {periods:?} {}..{}",
            ids.join(","),
            start.to_rfc3339(),
            end.to_rfc3339()
        );
        let r = self.call("metric_data", what).map(|()| {
            let values = self.metric_values.lock().unwrap();
            q.iter()
                .map(|q| Series {
                    id: q.id.clone(),
                    label: q.label.clone().unwrap_or_else(|| q.id.clone()),
                    points: q
                        .metric
                        .as_ref()
                        .and_then(|m| values.get(&(m.name.clone(), m.period)))
                        .map(|v| vec![(start, *v)])
                        .unwrap_or_default(),
                })
                .collect()
        });
        ready(r)
    }
}

impl ServiceMetricSource for Memory {
    fn service_minutes<'a>(
        &'a self,
        service: &'a str,
        from: Minute,
        _: Minute,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(Minute, MinuteMetrics)>>> {
        let r = self.call("service_minutes", service.to_string()).map(|()| {
            let mut m = MinuteMetrics::new();
            m.record("requests", 10.0);
            vec![(from, m)]
        });
        ready(r)
    }
}

impl Publisher for Memory {
    fn publish<'a>(
        &'a self,
        _: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        let r = self.call("publish", subject.to_string()).map(|()| {
            self.published
                .lock()
                .unwrap()
                .push((subject.to_string(), body.to_string()));
            "msg-1".to_string()
        });
        ready(r)
    }
}

impl AutomationRunner for Memory {
    fn start<'a>(
        &'a self,
        document: &'a str,
        _: &'a BTreeMap<String, Vec<String>>,
        token: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        ready(
            self.call("automation", format!("{document} {token}"))
                .map(|()| "exec-1".to_string()),
        )
    }
}

impl MetricSink for Memory {
    fn put<'a>(
        &'a self,
        _: &'a str,
        name: &'a str,
        dims: &'a [(String, String)],
        _: f64,
        _: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        ready(self.call("put_metric", format!("{name} {dims:?}")))
    }
}

impl RunbookSource for Memory {
    fn get_parameter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        let r = self
            .call("get_parameter", name.to_string())
            .map(|()| self.runbooks.lock().unwrap().get(name).cloned());
        ready(r)
    }
}
