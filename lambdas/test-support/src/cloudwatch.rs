//! Reads back the services' metrics the functions published: one statistic of one metric of one
//! service, summed over every period of a time range (GetMetricData).
//!
//! moto 5.2.5 stores `Values` + `Counts` and answers `Sum`, `SampleCount`, `Minimum` and
//! `Maximum` from them; it answers HTTP 500 to percentile statistics (`p99`), so tests ask for
//! those four only.

use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
use contract::service_metrics::DIMENSION;

/// A CloudWatch client for a local endpoint (fixed region, dummy credentials).
pub async fn client(endpoint: &str) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&crate::dynamo::sdk_config(endpoint).await)
}

/// `stat` (`Sum`, `SampleCount`, ...) of `metric` for `service` in `namespace`, added up over
/// `[start, end)` (epoch seconds) at one-minute periods; 0 when nothing was published.
pub async fn total(
    cw: &aws_sdk_cloudwatch::Client,
    namespace: &str,
    metric: &str,
    service: &str,
    stat: &str,
    start: i64,
    end: i64,
) -> f64 {
    let query = MetricDataQuery::builder()
        .id("q")
        .metric_stat(
            MetricStat::builder()
                .metric(
                    Metric::builder()
                        .namespace(namespace)
                        .metric_name(metric)
                        .dimensions(Dimension::builder().name(DIMENSION).value(service).build())
                        .build(),
                )
                .period(60)
                .stat(stat)
                .build(),
        )
        .return_data(true)
        .build();
    let mut sum = 0.0;
    let mut token = None;
    loop {
        let out = cw
            .get_metric_data()
            .metric_data_queries(query.clone())
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .set_next_token(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetMetricData: {}", DisplayErrorContext(&e)));
        sum += out
            .metric_data_results()
            .iter()
            .flat_map(|r| r.values())
            .sum::<f64>();
        token = out.next_token;
        if token.is_none() {
            return sum;
        }
    }
}
