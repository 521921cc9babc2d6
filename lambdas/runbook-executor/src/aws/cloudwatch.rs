//! CloudWatch: the alarm's recent datapoints (GetMetricData) and the execution metric
//! (PutMetricData).

use aws_sdk_cloudwatch::primitives::DateTime as SmithyTime;
use aws_sdk_cloudwatch::types::{
    Dimension as CwDimension, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy,
    StandardUnit,
};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};
use contract::iam::{AwsClient, Operation};

use crate::ports::BoxFuture;
use crate::steps::gather_context::{AlarmMetricSource, MetricQuery, Series};
use crate::steps::put_metric::MetricSink;

pub struct CloudWatch(pub(super) Client);

impl AwsClient for CloudWatch {
    const OPERATIONS: &'static [Operation] = &[
        Operation::CloudWatchGetMetricData,
        Operation::CloudWatchPutMetricData,
    ];
}

/// Pages followed at most; a 1-day window at 1-minute period fits in one.
const MAX_PAGES: usize = 10;

fn to_sdk(q: &MetricQuery) -> MetricDataQuery {
    let stat = q.metric.as_ref().map(|m| {
        let dims = m
            .dimensions
            .iter()
            .map(|d| CwDimension::builder().name(&d.name).value(&d.value).build());
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .namespace(&m.namespace)
                    .metric_name(&m.name)
                    .set_dimensions(Some(dims.collect()))
                    .build(),
            )
            .period(m.period)
            .stat(&m.stat)
            .build()
    });
    MetricDataQuery::builder()
        .id(&q.id)
        .set_label(q.label.clone())
        .set_expression(q.expression.clone())
        .set_metric_stat(stat)
        .return_data(q.return_data)
        .set_account_id(q.account_id.clone())
        .build()
}

fn smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_secs(t.timestamp())
}

impl AlarmMetricSource for CloudWatch {
    fn metric_data<'a>(
        &'a self,
        queries: &'a [MetricQuery],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Series>>> {
        Box::pin(async move {
            let sdk_queries: Vec<_> = queries.iter().map(to_sdk).collect();
            let mut series: Vec<Series> = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let out = self
                    .0
                    .get_metric_data()
                    .set_metric_data_queries(Some(sdk_queries.clone()))
                    .start_time(smithy(start))
                    .end_time(smithy(end))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| super::sdk_error("CloudWatch GetMetricData", e))?;
                let page = out.metric_data_results().iter().map(|r| {
                    let points = r.timestamps().iter().zip(r.values()).filter_map(|(t, v)| {
                        DateTime::from_timestamp(t.secs(), 0).map(|t| (t, *v))
                    });
                    Series {
                        id: r.id().unwrap_or("?").to_string(),
                        label: r.label().or(r.id()).unwrap_or("?").to_string(),
                        points: points.collect(),
                    }
                });
                merge_page(&mut series, page);
                token = out.next_token;
                if token.is_none() {
                    break;
                }
            }
            for s in &mut series {
                s.points.sort_by_key(|(t, _)| *t);
            }
            Ok(series)
        })
    }
}

/// Adds one page of results to the series read so far. A result is the same series as an
/// earlier page's when it has the same id and label and comes at the same position among the
/// page's results with that id and label: a query can answer with more than one series under
/// one id (an `ANOMALY_DETECTION_BAND` expression returns its band's two bounds), and the next
/// page continues each of them in the same order.
fn merge_page(series: &mut Vec<Series>, page: impl IntoIterator<Item = Series>) {
    let mut seen: Vec<(String, String)> = Vec::new();
    for result in page {
        let key = (result.id.clone(), result.label.clone());
        let nth = seen.iter().filter(|k| **k == key).count();
        seen.push(key);
        let existing = series
            .iter_mut()
            .filter(|s| s.id == result.id && s.label == result.label)
            .nth(nth);
        match existing {
            Some(s) => s.points.extend(result.points),
            None => series.push(result),
        }
    }
}

impl MetricSink for CloudWatch {
    fn put<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        dimensions: &'a [(String, String)],
        value: f64,
        timestamp: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let dims = dimensions
                .iter()
                .map(|(k, v)| CwDimension::builder().name(k).value(v).build());
            let datum = MetricDatum::builder()
                .metric_name(name)
                .set_dimensions(Some(dims.collect()))
                .value(value)
                .unit(StandardUnit::Count)
                .timestamp(smithy(timestamp))
                .build();
            self.0
                .put_metric_data()
                .namespace(namespace)
                .metric_data(datum)
                .send()
                .await
                .map_err(|e| super::sdk_error("CloudWatch PutMetricData", e))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_000_000 + minute * 60, 0).unwrap()
    }

    fn series(id: &str, label: &str, points: &[(i64, f64)]) -> Series {
        Series {
            id: id.into(),
            label: label.into(),
            points: points.iter().map(|(m, v)| (at(*m), *v)).collect(),
        }
    }

    #[test]
    fn pages_continue_each_series_including_two_under_one_id() {
        let mut all = Vec::new();
        merge_page(
            &mut all,
            [
                series("m1", "Requests", &[(0, 100.0)]),
                series("ad1", "Requests (expected)", &[(0, 160.0)]),
                series("ad1", "Requests (expected)", &[(0, 95.0)]),
            ],
        );
        merge_page(
            &mut all,
            [
                series("m1", "Requests", &[(1, 12.0)]),
                series("ad1", "Requests (expected)", &[(1, 161.0)]),
                series("ad1", "Requests (expected)", &[(1, 96.0)]),
            ],
        );
        assert_eq!(
            all,
            [
                series("m1", "Requests", &[(0, 100.0), (1, 12.0)]),
                series("ad1", "Requests (expected)", &[(0, 160.0), (1, 161.0)]),
                series("ad1", "Requests (expected)", &[(0, 95.0), (1, 96.0)]),
            ]
        );
    }

    #[test]
    fn expressions_and_accounts_are_passed_through() {
        let q = MetricQuery {
            id: "ad1".into(),
            label: Some("Requests (expected)".into()),
            expression: Some("ANOMALY_DETECTION_BAND(m1, 2)".into()),
            metric: None,
            return_data: true,
            account_id: Some("111122223333".into()),
        };
        let sdk = to_sdk(&q);
        assert_eq!(sdk.expression(), Some("ANOMALY_DETECTION_BAND(m1, 2)"));
        assert_eq!(sdk.metric_stat(), None);
        assert_eq!(sdk.account_id(), Some("111122223333"));
        assert_eq!(sdk.return_data(), Some(true));
    }
}
