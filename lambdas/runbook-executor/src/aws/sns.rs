//! SNS publisher that marks its messages as ours (`origin` = `runbook-executor`).

use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sns::Client;
use contract::iam::{AwsClient, Operation};

use crate::alarm::{ORIGIN_ATTRIBUTE, ORIGIN_VALUE};
use crate::ports::BoxFuture;
use crate::steps::notify::Publisher;

pub struct Topic(pub(super) Client);

impl AwsClient for Topic {
    const OPERATIONS: &'static [Operation] = &[Operation::SnsPublish];
}

impl Publisher for Topic {
    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let origin = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(ORIGIN_VALUE)
                .build()?;
            let out = self
                .0
                .publish()
                .topic_arn(topic_arn)
                .subject(subject)
                .message(body)
                .message_attributes(ORIGIN_ATTRIBUTE, origin)
                .send()
                .await
                .map_err(|e| super::sdk_error("SNS Publish", e))?;
            Ok(out.message_id.unwrap_or_default())
        })
    }
}
