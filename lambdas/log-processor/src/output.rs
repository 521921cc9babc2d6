//! `--file` output: one JSON line per (service, minute, metric).

use metrics_core::aggregate::{Batch, Stat};
use serde::Serialize;
use std::io::Write;

#[derive(Debug, Serialize, PartialEq)]
pub struct Row<'a> {
    pub service: &'a str,
    pub timestamp: String,
    pub metric: &'a str,
    pub count: u64,
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p99: Option<f64>,
}

/// Rows sorted by service, minute, metric (the batch's own order), so output is stable.
pub fn rows(batch: &Batch) -> impl Iterator<Item = Row<'_>> {
    batch.0.iter().flat_map(|(key, metrics)| {
        metrics.0.iter().map(move |(metric, a)| Row {
            service: &key.service,
            timestamp: key.minute.key(),
            metric,
            count: a.count,
            sum: a.sum,
            min: a.stat(Stat::Min),
            max: a.stat(Stat::Max),
            p50: a.stat(Stat::P50),
            p90: a.stat(Stat::P90),
            p99: a.stat(Stat::P99),
        })
    })
}

pub fn write_rows(batch: &Batch, out: impl Write) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(out);
    for row in rows(batch) {
        serde_json::to_writer(&mut out, &row)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
