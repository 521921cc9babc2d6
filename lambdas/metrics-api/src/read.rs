//! Reads the items that answer one page of `GET /metrics`, at the coarsest resolution that fits
//! (`metrics_core::rollup::cover`), and ranks services for `top`.
//!
//! * One service: each run of adjacent pieces of one resolution is one key-range Query.
//! * Every service: each piece is one `TimestampIndex` Query (its partition holds every
//!   service's item of that minute, hour or day).
//! * A `Partial` rollup (its merge would not fit an item) is replaced by its children, read as
//!   one run of that service.
//!
//! Items are merged in (service, time) order whatever order the Queries answered in, so the same
//! data always gives the same sums to the last digit.

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use metrics_core::aggregate::Aggregate;
use metrics_core::rollup::{runs, Piece};
use metrics_core::store::rollup::{FetchReport, Fetched};
use metrics_core::{MetricReader, StoreError};

use crate::aggregate::{Merger, Series, StatValue};
use crate::query::{MetricsQuery, Page, Top};

/// Queries in flight at once.
pub const QUERY_CONCURRENCY: usize = 8;

/// One page's answer and what reading it cost.
pub struct Answer {
    pub series: Vec<Series>,
    /// `top` queries: the ranked services and their value, best first.
    pub ranking: Option<Vec<(String, f64)>>,
    pub fetch: FetchReport,
}

/// Reads and merges one page.
pub async fn page(
    reader: &MetricReader,
    q: &MetricsQuery,
    page: Page,
) -> Result<Answer, StoreError> {
    let pieces = page.pieces();
    let mut fetch = FetchReport::default();
    let (rows, ranking) = match (&q.service, &q.top) {
        (Some(service), _) => (
            one_service(reader, service, &pieces, &mut fetch).await?,
            None,
        ),
        (None, None) => (every_service(reader, &pieces, &mut fetch).await?, None),
        (None, Some(top)) => {
            let ranking = match &top.ranked {
                Some(r) => r.clone(),
                None => rank(reader, top, q.from, q.to, &mut fetch).await?,
            };
            let services: Vec<&str> = ranking.iter().map(|(s, _)| s.as_str()).collect();
            let per_service: Vec<(Vec<(String, Fetched)>, FetchReport)> = stream::iter(services)
                .map(|s| {
                    let pieces = &pieces;
                    async move {
                        let mut f = FetchReport::default();
                        let rows = one_service(reader, s, pieces, &mut f).await?;
                        Ok::<_, StoreError>((rows, f))
                    }
                })
                .buffered(QUERY_CONCURRENCY)
                .try_collect()
                .await?;
            let mut rows = Vec::new();
            for (r, f) in per_service {
                add(&mut fetch, &f);
                rows.extend(r);
            }
            (rows, Some(ranking))
        }
    };
    let mut merger = Merger::new(page, q.metrics.as_deref());
    for (service, item) in &rows {
        merger.add(service, item.piece.start, &item.metrics);
    }
    let mut series = merger.finish(&q.stats);
    if let Some(ranking) = &ranking {
        let position = |s: &str| ranking.iter().position(|(r, _)| r == s);
        series.sort_by_key(|x| position(&x.service));
    }
    Ok(Answer {
        series,
        ranking,
        fetch,
    })
}

fn add(total: &mut FetchReport, f: &FetchReport) {
    total.requests += f.requests;
    total.items += f.items;
    total.bytes += f.bytes;
}

/// One service's items for `pieces` (ascending), partial rollups replaced by their children.
pub async fn one_service(
    reader: &MetricReader,
    service: &str,
    pieces: &[Piece],
    fetch: &mut FetchReport,
) -> Result<Vec<(String, Fetched)>, StoreError> {
    let mut out = Vec::new();
    let mut wanted = pieces.to_vec();
    while !wanted.is_empty() {
        let results: Vec<(Vec<Fetched>, FetchReport)> = stream::iter(runs(&wanted))
            .map(|run| async move {
                let mut f = FetchReport::default();
                let items = reader.query_run(service, run, &mut f).await?;
                Ok::<_, StoreError>((items, f))
            })
            .buffered(QUERY_CONCURRENCY)
            .try_collect()
            .await?;
        wanted.clear();
        for (items, f) in results {
            add(fetch, &f);
            for item in items {
                if item.partial {
                    wanted.extend(item.piece.children());
                } else {
                    out.push((service.to_owned(), item));
                }
            }
        }
        wanted.sort();
    }
    out.sort_by(|a, b| (&a.0, a.1.piece.start).cmp(&(&b.0, b.1.piece.start)));
    Ok(out)
}

/// Every service's items for `pieces`, in (service, time) order.
pub async fn every_service(
    reader: &MetricReader,
    pieces: &[Piece],
    fetch: &mut FetchReport,
) -> Result<Vec<(String, Fetched)>, StoreError> {
    let results: Vec<(Vec<(String, Fetched)>, FetchReport)> = stream::iter(pieces.iter().copied())
        .map(|piece| async move {
            let mut f = FetchReport::default();
            let items = reader.query_piece(piece, &mut f).await?;
            Ok::<_, StoreError>((items, f))
        })
        .buffer_unordered(QUERY_CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    let mut partial: BTreeMap<String, Vec<Piece>> = BTreeMap::new();
    for (items, f) in results {
        add(fetch, &f);
        for (service, item) in items {
            if item.partial {
                partial
                    .entry(service)
                    .or_default()
                    .extend(item.piece.children());
            } else {
                out.push((service, item));
            }
        }
    }
    for (service, mut children) in partial {
        children.sort();
        out.extend(one_service(reader, &service, &children, fetch).await?);
    }
    out.sort_by(|a, b| (&a.0, a.1.piece.start).cmp(&(&b.0, b.1.piece.start)));
    Ok(out)
}

/// The `top.n` services with the highest `top.stat` of `top.metric` over `[from, to)`, best
/// first (ties by name); services without the metric in the range are not ranked.
pub async fn rank(
    reader: &MetricReader,
    top: &Top,
    from: i64,
    to: i64,
    fetch: &mut FetchReport,
) -> Result<Vec<(String, f64)>, StoreError> {
    let rows = every_service(reader, &metrics_core::rollup::cover(from, to), fetch).await?;
    Ok(ranking(top, &rows))
}

/// The ranking of already-read rows (pure).
pub fn ranking(top: &Top, rows: &[(String, Fetched)]) -> Vec<(String, f64)> {
    let mut totals: BTreeMap<&str, Aggregate> = BTreeMap::new();
    for (service, item) in rows {
        let Some(agg) = item.metrics.0.get(&top.metric) else {
            continue;
        };
        match totals.get_mut(service.as_str()) {
            Some(acc) => acc.merge(agg),
            None => {
                totals.insert(service, agg.clone());
            }
        }
    }
    let mut ranked: Vec<(String, f64)> = totals
        .into_iter()
        .filter_map(|(service, agg)| {
            let value = match crate::aggregate::stat_value(&agg, top.stat) {
                StatValue::Count(n) => n as f64,
                StatValue::Number(v) => v?,
            };
            Some((service.to_owned(), value))
        })
        .collect();
    // Highest first; ties by name (the map gave name order, and the sort is stable).
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(top.n);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_core::aggregate::{MinuteMetrics, Stat};
    use metrics_core::rollup::Resolution;

    fn row(service: &str, start: i64, errors: &[f64]) -> (String, Fetched) {
        let mut m = MinuteMetrics::new();
        for e in errors {
            m.record("errors", *e);
        }
        (
            service.to_owned(),
            Fetched {
                piece: Piece {
                    resolution: Resolution::Minute,
                    start,
                },
                metrics: m,
                partial: false,
            },
        )
    }

    #[test]
    fn ranking_orders_by_the_statistic_over_the_whole_range_then_by_name() {
        let top = Top {
            n: 2,
            metric: "errors".into(),
            stat: Stat::Sum,
            ranked: None,
        };
        let rows = vec![
            row("a", 0, &[1.0, 0.0]),
            row("a", 60, &[1.0]),
            row("b", 0, &[1.0, 1.0]),
            row("c", 0, &[5.0]),
            row("d", 0, &[]),
        ];
        // c: 5, a: 2, b: 2 -> c, then a before b (tie by name); d has no errors metric.
        assert_eq!(
            ranking(&top, &rows),
            vec![("c".to_owned(), 5.0), ("a".to_owned(), 2.0)]
        );
        let avg = Top {
            stat: Stat::Avg,
            n: 5,
            ..top
        };
        let r = ranking(&avg, &rows);
        assert_eq!(r[0], ("c".to_owned(), 5.0));
        assert_eq!(r.len(), 3);
    }
}
