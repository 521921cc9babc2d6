//! Parses and validates the `GET /metrics` query string into a plan for one
//! page. Everything here is pure: `now` is passed in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use metrics_core::aggregate::{validate_metric_name, Stat};
use metrics_core::rollup::{cover, Piece};
use metrics_core::service::validate_service_name;

use crate::error::ApiError;
use crate::token::{params_hash, PageToken};

/// Every parameter `GET /metrics` accepts; anything else is a 400 (strict,
/// so a typo such as `stats=` is reported instead of silently ignored).
pub const PARAMS: &[&str] = &[
    "service",
    "metric",
    "from",
    "to",
    "period",
    "stat",
    "limit",
    "top",
    "order",
    "next_token",
];

pub const MINUTE: i64 = 60;
pub const DEFAULT_RANGE_SECONDS: i64 = 3600;
pub const MAX_RANGE_SECONDS: i64 = 31 * 86_400;
pub const DEFAULT_STATS: &str = "avg";
pub const DEFAULT_LIMIT: usize = 1440;
pub const MAX_LIMIT: usize = 1440;
/// Without `service`, each item of a period's cover (a minute, an hour or a day: see
/// `metrics_core::rollup::cover`) is one `TimestampIndex` Query holding every service; a page
/// holds as many periods as fit this many Queries (always at least one period), so the items a
/// page reads, and so its response, stay bounded whatever the range and period.
pub const ALL_SERVICES_PAGE_QUERIES: usize = 96;
/// Without `service`, a period is at most a day: one period's cover is then at most 164 Queries
/// (59 + 23 minutes and hours on each side of a day boundary), the most a page can need.
pub const ALL_SERVICES_MAX_PERIOD: i64 = 86_400;
/// Most values a page holds per metric: (service, period, statistic) triples, one service's
/// largest page of one statistic. A page's cell budget, (service, period) cells, is this divided by
/// the statistics asked for ([`MetricsQuery::cell_budget`]): with `service` a page covers at most
/// that many periods, without it the page ends after the period that reaches it, a `top=N` page
/// covers budget / N periods (always at least one period). So response size and handler time
/// follow what the page shows, whatever the range, period, statistics and number of services.
pub const MAX_PAGE_VALUES: usize = MAX_LIMIT;
/// `top` ranks at most this many services (their names travel in the page token).
pub const MAX_TOP: usize = 20;
/// The ranking `top` uses when `order` is not given.
pub const DEFAULT_ORDER: &str = "requests:sum";
/// Earliest accepted time (`from`, `to`, a point's `timestamp`): 1970-01-01T00:00:00Z.
pub const MIN_TIME: i64 = 0;
/// Latest accepted time: 9999-12-31T23:59:00Z, the last minute start. `to` is rounded up to a
/// minute, and every time a response states must be an RFC 3339 `date-time` (four-digit year),
/// so 9999-12-31T23:59:01Z and later, which would round to year 10000, are refused.
pub const MAX_TIME: i64 = 253_402_300_740;
/// Parameters that take one value: given twice, they are refused by name rather than joined
/// (`metric` and `stat` are lists, and may be repeated).
pub const SINGLE_VALUED: &[&str] = &[
    "service",
    "from",
    "to",
    "period",
    "limit",
    "top",
    "order",
    "next_token",
];

#[derive(Debug, Clone)]
pub struct MetricsQuery {
    pub service: Option<String>,
    /// `None` means every metric.
    pub metrics: Option<Vec<String>>,
    /// Whole requested range `[from, to)`, epoch seconds on minute boundaries.
    pub from: i64,
    pub to: i64,
    /// Seconds, a multiple of 60.
    pub period: i64,
    /// In the order asked, without duplicates.
    pub stats: Vec<Stat>,
    pub limit: usize,
    /// Where this page starts (a period boundary in `[from, to)`).
    pub page_start: i64,
    /// `top=N`: the N services ranked first by `rank` over the whole range.
    pub top: Option<Top>,
    hash: String,
}

/// `top` and `order`: rank every service by one statistic of one metric over `[from, to)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Top {
    pub n: usize,
    pub metric: String,
    pub stat: Stat,
    /// The ranking (service, value) an earlier page of this query computed (carried by its
    /// token), so every page shows the same services.
    pub ranked: Option<Vec<(String, f64)>>,
}

/// The slice of the range one response covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub start: i64,
    /// Exclusive.
    pub end: i64,
    pub period: i64,
    /// Start of the next page, if the range goes on.
    pub next: Option<i64>,
}

impl Page {
    /// Index of the period holding `t`, if `t` is inside the page.
    pub fn period_index(&self, t: i64) -> Option<usize> {
        if t < self.start || t >= self.end {
            return None;
        }
        usize::try_from((t - self.start) / self.period).ok()
    }

    pub fn periods(&self) -> usize {
        usize::try_from((self.end - self.start + self.period - 1) / self.period).unwrap_or(0)
    }

    /// The items that answer the page: each period's cover (the fewest minute, hour and day
    /// items that exactly fill it), ascending.
    pub fn pieces(&self) -> Vec<Piece> {
        self.period_covers()
            .into_iter()
            .flat_map(|(_, pieces)| pieces)
            .collect()
    }

    /// Each period's start and cover, ascending.
    pub fn period_covers(&self) -> Vec<(i64, Vec<Piece>)> {
        (self.start..self.end)
            .step_by(self.period as usize)
            .map(|s| (s, cover(s, (s + self.period).min(self.end))))
            .collect()
    }

    /// This page cut to the periods `services` series can show within `cells` (service, period)
    /// cells (at least one period); `to`: the end of the query's range.
    pub fn within_cells(self, cells: usize, services: usize, to: i64) -> Page {
        let periods = (cells / services.max(1)).max(1) as i64;
        let end = self.end.min(self.start + periods * self.period);
        Page {
            end,
            next: (end < to).then_some(end),
            ..self
        }
    }
}

impl MetricsQuery {
    /// The (service, period) cells one page may hold: [`MAX_PAGE_VALUES`] / statistics asked.
    pub fn cell_budget(&self) -> usize {
        (MAX_PAGE_VALUES / self.stats.len().max(1)).max(1)
    }

    pub fn page(&self) -> Page {
        let periods = if self.service.is_some() {
            self.limit.min(self.cell_budget())
        } else {
            self.limit
        };
        let mut end = (self.page_start + periods as i64 * self.period).min(self.to);
        if self.service.is_none() && self.top.is_none() {
            // As many whole periods as fit the page's Query budget, at least one.
            let mut queries = 0usize;
            let mut s = self.page_start;
            while s < end {
                let e = (s + self.period).min(self.to);
                let n = cover(s, e).len();
                if queries > 0 && queries + n > ALL_SERVICES_PAGE_QUERIES {
                    end = s;
                    break;
                }
                queries += n;
                s = e;
            }
        }
        Page {
            start: self.page_start,
            end,
            period: self.period,
            next: (end < self.to).then_some(end),
        }
    }

    /// The token that resumes this query at `start`; `ranked`: the services a `top` query shows.
    pub fn token_for(&self, start: i64, ranked: Option<&[(String, f64)]>) -> String {
        PageToken {
            start,
            from: self.from,
            to: self.to,
            hash: self.hash.clone(),
            ranked: ranked.map(<[(String, f64)]>::to_vec),
        }
        .encode()
    }
}

pub fn rfc3339(epoch: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Epoch milliseconds as RFC 3339, with the fraction only when there is one.
pub fn rfc3339_ms(epoch_ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(epoch_ms)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// Parses `from`/`to`/`timestamp` values: RFC 3339, or whole epoch seconds.
pub fn parse_time(value: &str) -> Result<i64, String> {
    let v = value.trim();
    let epoch = if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        v.parse::<i64>()
            .map_err(|_| format!("{value:?} is out of range"))?
    } else {
        DateTime::parse_from_rfc3339(v)
            .map_err(|_| format!("{value:?} is neither RFC 3339 nor epoch seconds"))?
            .timestamp()
    };
    if !(MIN_TIME..=MAX_TIME).contains(&epoch) {
        return Err(format!(
            "{value:?} is outside {} ..= {}",
            rfc3339(MIN_TIME),
            rfc3339(MAX_TIME)
        ));
    }
    Ok(epoch)
}

fn floor_minute(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE)
}

fn ceil_minute(t: i64) -> i64 {
    floor_minute(t + MINUTE - 1)
}

/// Refuses a single-valued parameter given more than once (`repeated`: the names the request
/// carried several times), naming it; otherwise its values would be joined with a comma the
/// caller never typed.
pub fn check_repeats(repeated: &BTreeSet<String>) -> Result<(), ApiError> {
    match SINGLE_VALUED.iter().find(|p| repeated.contains(**p)) {
        None => Ok(()),
        Some(&name) => {
            let hint = if name == "service" {
                " (omit it to answer for every service)"
            } else {
                ""
            };
            Err(ApiError::param(
                name,
                format!("{name} is given more than once; it takes one value{hint}"),
            ))
        }
    }
}

/// Validates the query string. `now` is epoch seconds.
pub fn parse(query: &BTreeMap<String, String>, now: i64) -> Result<MetricsQuery, ApiError> {
    if let Some(unknown) = query.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(ApiError::param(
            unknown,
            format!(
                "unknown parameter {unknown:?}; accepted: {}",
                PARAMS.join(", ")
            ),
        ));
    }
    let get = |k: &str| query.get(k).map(String::as_str);

    let service = get("service")
        .map(|s| {
            validate_service_name(s)
                .map(|_| s.to_owned())
                .map_err(|e| ApiError::param("service", e.to_string()))
        })
        .transpose()?;

    let metrics = get("metric")
        .map(|list| {
            let mut out: Vec<String> = Vec::new();
            for m in list.split(',') {
                validate_metric_name(m).map_err(|e| ApiError::param("metric", e.to_string()))?;
                if !out.iter().any(|o| o == m) {
                    out.push(m.to_owned());
                }
            }
            Ok::<_, ApiError>(out)
        })
        .transpose()?;

    let stats = parse_stats(get("stat").unwrap_or(DEFAULT_STATS))?;

    let limit = match get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::param(
                    "limit",
                    format!("limit must be an integer in 1..={MAX_LIMIT}"),
                )
            })?,
    };

    let hash = params_hash(query);
    let token = get("next_token").map(PageToken::decode).transpose()?;
    if let Some(t) = &token {
        if t.hash != hash {
            return Err(ApiError::param(
                "next_token",
                "next_token belongs to a query with different parameters",
            ));
        }
        // The token is not signed: its range must be one this API could issue.
        let sane = |v: i64| (MIN_TIME..=MAX_TIME).contains(&v) && v % MINUTE == 0;
        if !sane(t.from) || !sane(t.to) {
            return Err(ApiError::param(
                "next_token",
                "next_token is not a token this API issued",
            ));
        }
    }

    // Range: explicit values win; otherwise the token's (so defaults do not
    // drift between pages); otherwise the last hour.
    let default_to = ceil_minute(now);
    let to = match get("to") {
        Some(v) => ceil_minute(parse_time(v).map_err(|m| ApiError::param("to", m))?),
        None => token.as_ref().map_or(default_to, |t| t.to),
    };
    let from = match get("from") {
        Some(v) => floor_minute(parse_time(v).map_err(|m| ApiError::param("from", m))?),
        None => token
            .as_ref()
            .map_or(to - DEFAULT_RANGE_SECONDS, |t| t.from),
    };
    if from >= to {
        return Err(ApiError::param(
            "from",
            format!(
                "from ({}) must be before to ({})",
                rfc3339(from),
                rfc3339(to)
            ),
        ));
    }
    if to - from > MAX_RANGE_SECONDS {
        return Err(ApiError::param(
            "to",
            format!(
                "range is {} s; at most {MAX_RANGE_SECONDS} s (31 days) per query",
                to - from
            ),
        ));
    }

    let period = match get("period") {
        None => MINUTE,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| *p > 0 && p % MINUTE == 0)
            .ok_or_else(|| {
                ApiError::param("period", "period must be a positive multiple of 60 seconds")
            })?,
    };
    if period > to - from {
        return Err(ApiError::param(
            "period",
            format!(
                "period ({period} s) is longer than the range ({} s)",
                to - from
            ),
        ));
    }
    if service.is_none() && period > ALL_SERVICES_MAX_PERIOD {
        return Err(ApiError::param(
            "period",
            format!(
                "without service, period is at most {ALL_SERVICES_MAX_PERIOD} s (one day); give service for longer periods"
            ),
        ));
    }
    let top = parse_top(get("top"), get("order"), service.is_some(), token.as_ref())?;

    let page_start = match &token {
        None => from,
        Some(t) => {
            if t.start < from || t.start >= to || (t.start - from) % period != 0 {
                return Err(ApiError::param(
                    "next_token",
                    "next_token does not point inside this query's range",
                ));
            }
            t.start
        }
    };

    Ok(MetricsQuery {
        service,
        metrics,
        from,
        to,
        period,
        stats,
        limit,
        page_start,
        top,
        hash,
    })
}

fn parse_top(
    top: Option<&str>,
    order: Option<&str>,
    has_service: bool,
    token: Option<&PageToken>,
) -> Result<Option<Top>, ApiError> {
    let Some(top) = top else {
        if order.is_some() {
            return Err(ApiError::param(
                "order",
                "order ranks the services of a top query; give top=N too",
            ));
        }
        return Ok(None);
    };
    if has_service {
        return Err(ApiError::param(
            "top",
            "top ranks services against each other; omit service",
        ));
    }
    let n = top
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_TOP).contains(n))
        .ok_or_else(|| {
            ApiError::param("top", format!("top must be an integer in 1..={MAX_TOP}"))
        })?;
    let order = order.unwrap_or(DEFAULT_ORDER);
    let bad_order = || {
        ApiError::param(
            "order",
            format!(
                "order must be <metric>:<stat>, e.g. errors:sum or latency_ms:p99; got {order:?}"
            ),
        )
    };
    let (metric, stat) = order.rsplit_once(':').ok_or_else(bad_order)?;
    validate_metric_name(metric).map_err(|e| ApiError::param("order", e.to_string()))?;
    let stat: Stat = stat.parse().map_err(|_| bad_order())?;
    // A token's ranking is only read back, never trusted beyond the names' rules and `n`.
    let ranked = match token.and_then(|t| t.ranked.clone()) {
        None => None,
        Some(list) => {
            let valid = list.len() <= n
                && list
                    .iter()
                    .all(|(s, v)| validate_service_name(s).is_ok() && v.is_finite());
            if !valid {
                return Err(ApiError::param(
                    "next_token",
                    "next_token is not a token this API issued",
                ));
            }
            Some(list)
        }
    };
    Ok(Some(Top {
        n,
        metric: metric.to_owned(),
        stat,
        ranked,
    }))
}

fn parse_stats(list: &str) -> Result<Vec<Stat>, ApiError> {
    let mut out: Vec<Stat> = Vec::new();
    for name in list.split(',') {
        let stat: Stat = name.parse().map_err(|_| {
            ApiError::param(
                "stat",
                format!("unknown stat {name:?}; use count, sum, avg, min, max, p50, p90, p95, p99"),
            )
        })?;
        if !out.contains(&stat) {
            out.push(stat);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000;

    fn q(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field(r: Result<MetricsQuery, ApiError>) -> String {
        r.unwrap_err().field.unwrap_or_default()
    }

    #[test]
    fn defaults_are_last_hour_one_minute_avg() {
        let m = parse(&q(&[("service", "checkout")]), NOW).unwrap();
        assert_eq!(m.to, ceil_minute(NOW));
        assert_eq!(m.to - m.from, 3600);
        assert_eq!(m.period, 60);
        assert_eq!(m.stats, vec![Stat::Avg]);
        assert_eq!(m.page().next, None);
    }

    #[test]
    fn times_accept_rfc3339_and_epoch() {
        assert_eq!(parse_time("2026-11-29T18:05:00Z").unwrap(), 1_795_975_500);
        assert_eq!(
            parse_time("2026-11-29T19:05:00+01:00").unwrap(),
            1_795_975_500
        );
        assert_eq!(parse_time("1795975500").unwrap(), 1_795_975_500);
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("99999999999999999999").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn bad_parameters_name_the_field() {
        assert_eq!(field(parse(&q(&[("stat", "p42")]), NOW)), "stat");
        assert_eq!(field(parse(&q(&[("stats", "avg")]), NOW)), "stats");
        assert_eq!(field(parse(&q(&[("service", "a b")]), NOW)), "service");
        assert_eq!(field(parse(&q(&[("period", "90")]), NOW)), "period");
        assert_eq!(field(parse(&q(&[("period", "-60")]), NOW)), "period");
        assert_eq!(field(parse(&q(&[("limit", "0")]), NOW)), "limit");
        assert_eq!(field(parse(&q(&[("from", "x")]), NOW)), "from");
        let reversed = [
            ("from", "2026-11-29T10:00:00Z"),
            ("to", "2026-11-29T09:00:00Z"),
        ];
        assert_eq!(field(parse(&q(&reversed), NOW)), "from");
        let long = [
            ("from", "2026-01-01T00:00:00Z"),
            ("to", "2026-03-01T00:00:00Z"),
        ];
        assert_eq!(field(parse(&q(&long), NOW)), "to");
        let period_over_range = [("service", "a"), ("period", "7200")];
        assert_eq!(field(parse(&q(&period_over_range), NOW)), "period");
    }

    /// Every time a response states is an RFC 3339 `date-time`: the range ends at
    /// 9999-12-31T23:59:00Z (it was `+10000-01-01T00:00:00Z` for a `to` in the last minute).
    #[test]
    fn times_near_the_year_9999_stay_four_digit_years() {
        let last = [
            ("service", "a"),
            ("from", "9999-12-31T23:00:00Z"),
            ("to", "9999-12-31T23:59:00Z"),
        ];
        let m = parse(&q(&last), NOW).unwrap();
        assert_eq!(rfc3339(m.to), "9999-12-31T23:59:00Z");
        for to in [
            "9999-12-31T23:59:01Z",
            "9999-12-31T23:59:59Z",
            "253402300799",
        ] {
            let e = parse(
                &q(&[
                    ("service", "a"),
                    ("from", "9999-12-31T23:00:00Z"),
                    ("to", to),
                ]),
                NOW,
            )
            .unwrap_err();
            assert_eq!(e.field.as_deref(), Some("to"));
            assert!(e.message.contains("9999-12-31T23:59:00Z"), "{}", e.message);
        }
        assert!(parse_time("9999-12-31T23:59:00Z").is_ok());
        assert!(parse_time("1969-12-31T23:59:59Z").is_err());
    }

    #[test]
    fn single_valued_parameters_may_not_repeat() {
        let repeated = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        assert!(check_repeats(&repeated(&["stat", "metric"])).is_ok());
        let e = check_repeats(&repeated(&["service"])).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("service"));
        assert!(e.message.contains("more than once") && !e.message.contains("','"));
        for name in SINGLE_VALUED {
            assert_eq!(
                check_repeats(&repeated(&[name]))
                    .unwrap_err()
                    .field
                    .as_deref(),
                Some(*name)
            );
        }
    }

    #[test]
    fn a_page_holds_at_most_max_page_values_per_metric() {
        let day = |stat: &str| {
            parse(
                &q(&[
                    ("service", "a"),
                    ("from", "2026-11-29T00:00:00Z"),
                    ("to", "2026-11-30T00:00:00Z"),
                    ("period", "60"),
                    ("stat", stat),
                ]),
                NOW,
            )
            .unwrap()
        };
        // One statistic: the whole day (1,440 periods) on one page.
        let one = day("avg");
        assert_eq!((one.cell_budget(), one.page().periods()), (1440, 1440));
        assert_eq!(one.page().next, None);
        // Four: a quarter of the values each, so a quarter of the periods per page.
        let four = day("count,avg,p50,p99");
        assert_eq!(four.cell_budget(), MAX_PAGE_VALUES / 4);
        assert_eq!(four.page().periods(), 360);
        assert_eq!(four.page().next, Some(four.from + 360 * 60));
        // Nine (every statistic): 160 periods.
        assert_eq!(
            day("count,sum,avg,min,max,p50,p90,p95,p99")
                .page()
                .periods(),
            160
        );
    }

    #[test]
    fn pages_follow_limit_and_tokens_resume_only_their_query() {
        let base = [
            ("service", "a"),
            ("from", "2026-11-29T00:00:00Z"),
            ("to", "2026-11-29T00:10:00Z"),
            ("limit", "4"),
        ];
        let m = parse(&q(&base), NOW).unwrap();
        let p = m.page();
        assert_eq!((p.end - p.start, p.periods()), (240, 4));
        let token = m.token_for(p.next.unwrap(), None);

        let mut next = q(&base);
        next.insert("next_token".into(), token.clone());
        let m2 = parse(&next, NOW).unwrap();
        assert_eq!(m2.page().start, p.end);

        next.insert("stat".into(), "p99".into());
        assert_eq!(field(parse(&next, NOW)), "next_token");
    }

    #[test]
    fn forged_tokens_with_absurd_ranges_are_refused() {
        let query = q(&[("service", "a")]);
        let forged = PageToken {
            start: 0,
            from: i64::MIN,
            to: i64::MAX,
            hash: params_hash(&query),
            ranked: None,
        };
        let mut with = query.clone();
        with.insert("next_token".into(), forged.encode());
        assert_eq!(field(parse(&with, NOW)), "next_token");
    }

    #[test]
    fn default_range_is_carried_by_the_token() {
        let m = parse(&q(&[("service", "a"), ("limit", "10")]), NOW).unwrap();
        let token = m.token_for(m.page().next.unwrap(), None);
        let later = parse(
            &q(&[("service", "a"), ("limit", "10"), ("next_token", &token)]),
            NOW + 600,
        )
        .unwrap();
        assert_eq!((later.from, later.to), (m.from, m.to));
    }

    #[test]
    fn all_service_pages_are_bounded_in_queries() {
        // A day at minute resolution: 96 minutes a page.
        let m = parse(&q(&[("from", "0"), ("to", "86400")]), NOW).unwrap();
        assert_eq!(m.page().pieces().len(), ALL_SERVICES_PAGE_QUERIES);
        // 31 days at a daily period, day-aligned: one page of 31 day items.
        let month = [("from", "0"), ("to", "2678400"), ("period", "86400")];
        let m = parse(&q(&month), NOW).unwrap();
        assert_eq!((m.page().pieces().len(), m.page().next), (31, None));
        // Unaligned: each period's cover has minute and hour edges, still at least a period.
        let skewed = [("from", "1380"), ("to", "2678400"), ("period", "86400")];
        let m = parse(&q(&skewed), NOW).unwrap();
        let p = m.page();
        assert!(
            p.periods() >= 1 && p.pieces().len() <= 164,
            "{}",
            p.pieces().len()
        );
        assert_eq!(
            field(parse(
                &q(&[("from", "0"), ("to", "2678400"), ("period", "172800")]),
                NOW
            )),
            "period"
        );
    }

    #[test]
    fn top_and_order_are_validated_by_name() {
        let day = [("from", "0"), ("to", "86400")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = day.to_vec();
            v.extend_from_slice(extra);
            parse(&q(&v), NOW)
        };
        let t = with(&[("top", "10"), ("order", "errors:sum")])
            .unwrap()
            .top
            .unwrap();
        assert_eq!((t.n, t.metric.as_str(), t.stat), (10, "errors", Stat::Sum));
        let t = with(&[("top", "3")]).unwrap().top.unwrap();
        assert_eq!((t.metric.as_str(), t.stat), ("requests", Stat::Sum));
        // Metric names may hold ':'; the statistic is after the last one.
        let t = with(&[("top", "3"), ("order", "http:5xx:p99")])
            .unwrap()
            .top
            .unwrap();
        assert_eq!((t.metric.as_str(), t.stat), ("http:5xx", Stat::P99));
        for (bad, name) in [
            (&[("top", "0")][..], "top"),
            (&[("top", "21")][..], "top"),
            (&[("top", "x")][..], "top"),
            (&[("top", "3"), ("service", "a")][..], "top"),
            (&[("order", "errors:sum")][..], "order"),
            (&[("top", "3"), ("order", "errors")][..], "order"),
            (&[("top", "3"), ("order", "errors:p42")][..], "order"),
            (&[("top", "3"), ("order", "a b:sum")][..], "order"),
        ] {
            assert_eq!(field(with(bad)), name, "{bad:?}");
        }
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[ -~]{0,24}",
                "-?[0-9]{1,22}",
                Just("2026-11-29T18:00:00Z".to_owned()),
                "(count|sum|avg|min|max|p50|p90|p95|p99|p42)(,(count|avg|p99|x)){0,3}",
            ]
        }

        proptest! {
            /// Any query string gives a plan or a 400 that names one of its parameters.
            #[test]
            fn never_panics_and_errors_name_a_parameter(
                pairs in proptest::collection::vec((prop_oneof![
                    proptest::sample::select(PARAMS.to_vec()).prop_map(str::to_owned),
                    "[a-z_]{1,8}",
                ], value()), 0..8),
                now in 0i64..4_000_000_000,
            ) {
                let query: BTreeMap<String, String> = pairs.into_iter().collect();
                match parse(&query, now) {
                    Ok(m) => {
                        let p = m.page();
                        prop_assert!(m.from < m.to && p.start < p.end && p.end <= m.to);
                        prop_assert!(p.periods() >= 1 && p.periods() <= MAX_LIMIT);
                    }
                    Err(e) => {
                        prop_assert_eq!(e.status, 400);
                        let field = e.field.unwrap_or_default();
                        prop_assert!(query.contains_key(&field) || field == "from" || field == "to" || field == "period", "{field}");
                    }
                }
            }
        }
    }
}
