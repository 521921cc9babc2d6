//! The step traits implemented over the AWS SDK clients.

pub mod cloudwatch;
pub mod dynamodb;
pub mod sns;
pub mod ssm;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::DisplayErrorContext;

use crate::config::Config;

/// `<call>: <error with its source chain>`. An SDK error's own `Display` is only
/// "service error"; the chain carries the code and message an operator needs.
fn sdk_error(call: &str, e: impl std::error::Error + 'static) -> anyhow::Error {
    anyhow::anyhow!("{call}: {}", DisplayErrorContext(e))
}

/// Every client the function uses, built once per cold start: every AWS operation it may perform.
pub struct AwsPorts {
    pub dynamodb: dynamodb::Table,
    pub cloudwatch: cloudwatch::CloudWatch,
    pub sns: sns::Topic,
    pub ssm: ssm::Ssm,
}

// `Table` holds a `MetricReader` for the affected service's metrics.
contract::assert_clients!(
    contract::Function::RunbookExecutor;
    dynamodb::Table,
    metrics_core::MetricReader,
    cloudwatch::CloudWatch,
    sns::Topic,
    ssm::Ssm,
);

impl AwsPorts {
    pub fn new(sdk: &SdkConfig, config: &Config) -> AwsPorts {
        AwsPorts {
            dynamodb: dynamodb::Table::new(metrics_core::aws::dynamodb_client(sdk), &config.table),
            cloudwatch: cloudwatch::CloudWatch(aws_sdk_cloudwatch::Client::new(sdk)),
            sns: sns::Topic(aws_sdk_sns::Client::new(sdk)),
            ssm: ssm::Ssm(aws_sdk_ssm::Client::new(sdk)),
        }
    }

    pub fn ports(&self) -> crate::steps::Ports<'_> {
        crate::steps::Ports {
            claims: &self.dynamodb,
            incidents: &self.dynamodb,
            alarm_metrics: &self.cloudwatch,
            service_metrics: &self.dynamodb,
            publisher: &self.sns,
            automation: &self.ssm,
            metric_sink: &self.cloudwatch,
        }
    }
}
