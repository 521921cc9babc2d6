//! Reads the items that answer one page of `GET /metrics`, at the coarsest resolution that fits
//! (`metrics_core::rollup::cover`), and ranks services for `top`. [`fetch`] does the reading;
//! [`answer`] is pure (merge, statistics, order), so it is benchmarked without DynamoDB.
//!
//! * One service: each run of adjacent pieces of one resolution is one key-range Query.
//! * Every service: each piece is one `TimestampIndex` Query (its partition holds every
//!   service's item of that minute, hour or day), read in time order; the page ends after the
//!   period that reaches the query's cell budget ([`MetricsQuery::cell_budget`], from
//!   [`MAX_PAGE_VALUES`]), so its size follows the answer, not the range.
//! * `top`: the ranked services, each as one service, over as many periods as keep the page
//!   within the cell budget.
//! * A `Partial` rollup (its merge would not fit an item) is replaced by its children, read as
//!   one run of that service.
//!
//! Items are merged in (service, time) order whatever order the Queries answered in, so the same
//! data always gives the same sums to the last digit.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt, TryStreamExt};
use metrics_core::aggregate::Aggregate;
use metrics_core::rollup::{runs, Piece};
use metrics_core::store::rollup::{FetchReport, Fetched};
use metrics_core::{MetricReader, StoreError};

use crate::aggregate::{Merger, Series, StatValue};
pub use crate::query::MAX_PAGE_VALUES;
use crate::query::{MetricsQuery, Page, Top};

/// Queries in flight at once.
pub const QUERY_CONCURRENCY: usize = 8;

/// What one page read: the page actually answered (it may end before the one asked for, see
/// [`MetricsQuery::cell_budget`]), its items (each service's in time order), the ranking of a
/// `top` query.
pub struct Rows {
    pub page: Page,
    pub rows: Vec<(String, Fetched)>,
    pub ranking: Option<Vec<(String, f64)>>,
    pub fetch: FetchReport,
}

/// One page's answer and what reading it cost.
pub struct Answer {
    pub page: Page,
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
    Ok(answer(q, fetch(reader, q, page).await?))
}

/// Reads the items of one page (`page` as [`MetricsQuery::page`] planned it).
pub async fn fetch(
    reader: &MetricReader,
    q: &MetricsQuery,
    page: Page,
) -> Result<Rows, StoreError> {
    let mut fetch = FetchReport::default();
    let (page, rows, ranking) = match (&q.service, &q.top) {
        (Some(service), _) => {
            let rows = one_service(reader, service, &page.pieces(), &mut fetch).await?;
            (page, rows, None)
        }
        (None, None) => {
            let (page, rows) =
                every_service_page(reader, page, q.cell_budget(), &mut fetch).await?;
            (page, rows, None)
        }
        (None, Some(top)) => {
            let ranking = match &top.ranked {
                Some(r) => r.clone(),
                None => rank(reader, top, q.from, q.to, &mut fetch).await?,
            };
            let page = page.within_cells(q.cell_budget(), ranking.len(), q.to);
            let pieces = page.pieces();
            let per_service: Vec<(Vec<(String, Fetched)>, FetchReport)> =
                stream::iter(ranking.iter().map(|(s, _)| s.as_str()))
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
                fetch.add(&f);
                rows.extend(r);
            }
            (page, rows, Some(ranking))
        }
    };
    Ok(Rows {
        page,
        rows,
        ranking,
        fetch,
    })
}

/// Merges the rows of one page into series and computes their statistics (pure).
pub fn answer(q: &MetricsQuery, rows: Rows) -> Answer {
    let Rows {
        page,
        rows,
        ranking,
        fetch,
    } = rows;
    let mut merger = Merger::new(page, q.metrics.as_deref());
    for (service, item) in rows {
        merger.add_owned(&service, item.piece.start, item.metrics);
    }
    let mut series = merger.finish(&q.stats);
    if let Some(ranking) = &ranking {
        let position = |s: &str| ranking.iter().position(|(r, _)| r == s);
        series.sort_by_key(|x| position(&x.service));
    }
    Answer {
        page,
        series,
        ranking,
        fetch,
    }
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
            fetch.add(&f);
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
    sort_rows(&mut out);
    Ok(out)
}

fn sort_rows(rows: &mut [(String, Fetched)]) {
    rows.sort_by(|a, b| (&a.0, a.1.piece.start).cmp(&(&b.0, b.1.piece.start)));
}

/// Every service's items for `pieces`, in (service, time) order.
pub async fn every_service(
    reader: &MetricReader,
    pieces: &[Piece],
    fetch: &mut FetchReport,
) -> Result<Vec<(String, Fetched)>, StoreError> {
    let results: Vec<(Vec<(String, Fetched)>, FetchReport)> = stream::iter(pieces.iter().copied())
        .map(|piece| query_piece(reader, piece))
        .buffer_unordered(QUERY_CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    for (items, f) in results {
        fetch.add(&f);
        out.extend(items);
    }
    let mut out = replace_partial(reader, out, fetch).await?;
    sort_rows(&mut out);
    Ok(out)
}

async fn query_piece(
    reader: &MetricReader,
    piece: Piece,
) -> Result<(Vec<(String, Fetched)>, FetchReport), StoreError> {
    let mut f = FetchReport::default();
    let items = reader.query_piece(piece, &mut f).await?;
    Ok((items, f))
}

/// `rows` with each partial rollup replaced by its children (read per service).
async fn replace_partial(
    reader: &MetricReader,
    rows: Vec<(String, Fetched)>,
    fetch: &mut FetchReport,
) -> Result<Vec<(String, Fetched)>, StoreError> {
    let mut out = Vec::with_capacity(rows.len());
    let mut partial: BTreeMap<String, Vec<Piece>> = BTreeMap::new();
    for (service, item) in rows {
        if item.partial {
            partial
                .entry(service)
                .or_default()
                .extend(item.piece.children());
        } else {
            out.push((service, item));
        }
    }
    for (service, mut children) in partial {
        children.sort();
        out.extend(one_service(reader, &service, &children, fetch).await?);
    }
    Ok(out)
}

/// One page of every service: the periods of `page` in time order, each period's pieces one
/// `TimestampIndex` Query ([`QUERY_CONCURRENCY`] in flight, answers taken in order), until the
/// period that brings the page to `cell_budget` (service, period) cells; the page then ends
/// after it (at least one period).
///
/// Reads go in waves sized by what the budget can still take at the most services a period has
/// shown so far (one period first), so a page reads no period past its end unless a later period
/// has more services than any before it; with no data yet, a wave is `QUERY_CONCURRENCY` periods.
async fn every_service_page(
    reader: &MetricReader,
    page: Page,
    cell_budget: usize,
    fetch: &mut FetchReport,
) -> Result<(Page, Vec<(String, Fetched)>), StoreError> {
    let periods = page.period_covers();
    let (mut rows, mut period_rows) = (Vec::new(), Vec::new());
    let (mut cells, mut widest, mut end) = (0usize, 0usize, page.end);
    let mut first = 0usize;
    'waves: while first < periods.len() {
        let take = match widest {
            0 if first == 0 => 1,
            0 => QUERY_CONCURRENCY,
            w => (cell_budget - cells).div_ceil(w),
        };
        let wave = first..(first + take).min(periods.len());
        first = wave.end;
        // (period index, piece, whether it is the period's last piece)
        let pieces = wave.flat_map(|i| {
            let covering = &periods[i].1;
            let last = covering.len() - 1;
            covering
                .iter()
                .enumerate()
                .map(move |(k, p)| (i, *p, k == last))
        });
        let mut answers = stream::iter(pieces)
            .map(|(i, piece, last)| async move {
                Ok::<_, StoreError>((i, last, query_piece(reader, piece).await?))
            })
            .buffered(QUERY_CONCURRENCY);
        while let Some(answer) = answers.next().await {
            let (i, last, (items, f)) = answer?;
            fetch.add(&f);
            period_rows.extend(items);
            if !last {
                continue;
            }
            let services: BTreeSet<&str> = period_rows.iter().map(|(s, _)| s.as_str()).collect();
            widest = widest.max(services.len());
            cells += services.len();
            rows.append(&mut period_rows);
            if cells >= cell_budget {
                end = periods.get(i + 1).map_or(page.end, |(start, _)| *start);
                break 'waves;
            }
        }
    }
    let mut rows = replace_partial(reader, rows, fetch).await?;
    sort_rows(&mut rows);
    let page = Page {
        end,
        next: if end < page.end { Some(end) } else { page.next },
        ..page
    };
    Ok((page, rows))
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
