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
                for r in out.metric_data_results() {
                    let label = r.label().or(r.id()).unwrap_or("?").to_string();
                    let points = r.timestamps().iter().zip(r.values()).filter_map(|(t, v)| {
                        DateTime::from_timestamp(t.secs(), 0).map(|t| (t, *v))
                    });
                    match series.iter_mut().find(|s| s.label == label) {
                        Some(s) => s.points.extend(points),
                        None => series.push(Series {
                            label,
                            points: points.collect(),
                        }),
                    }
                }
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
