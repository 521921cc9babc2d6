//! What travels on the alarm topic, as the generator's subscription and the executor agree.

/// Field every CloudWatch alarm notification body carries (metric and composite alarms):
/// the executor's `MessageBody`-scoped filter policy matches on it, the executor parses it.
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html>
pub const ALARM_ARN_FIELD: &str = "AlarmArn";

/// Message attribute the executor sets on what it publishes, and the value: its own loop guard
/// (its notifications are plain text, so the body filter already keeps them away).
pub const ORIGIN_ATTRIBUTE: &str = "origin";
pub const ORIGIN_EXECUTOR: &str = "runbook-executor";

/// The executor's subscription filter policy (scope `MessageBody`) is
/// `{"AlarmArn": [{"prefix": "arn:"}]}`: only alarm notifications reach it.
/// <https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html#string-prefix-matching>
pub const ALARM_ARN_PREFIX: &str = "arn:";
