//! CloudWatch alarm notifications as they arrive through SNS: the model, parsing, and the
//! decision whether a record is ours to act on at all.
//!
//! Our own serde types on purpose: `aws_lambda_events`' `CloudWatchAlarmPayload` declares
//! `AlarmDescription` as a plain string, and CloudWatch sends `null` for an alarm without one.

use std::collections::HashMap;

use aws_lambda_events::sns::{MessageAttribute, SnsMessage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// SNS message attribute (and its value) that marks notifications this function published itself.
pub use contract::sns::{ORIGIN_ATTRIBUTE, ORIGIN_EXECUTOR as ORIGIN_VALUE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// The JSON document CloudWatch publishes to SNS when a metric or composite alarm changes state.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmNotification {
    pub alarm_name: String,
    #[serde(default)]
    pub alarm_description: Option<String>,
    #[serde(rename = "AWSAccountId", default)]
    pub aws_account_id: Option<String>,
    pub new_state_value: AlarmState,
    #[serde(default)]
    pub new_state_reason: Option<String>,
    /// CloudWatch's own format, e.g. `2026-11-29T18:05:31.123+0000`.
    pub state_change_time: String,
    /// Display name, e.g. "US East (N. Virginia)".
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub alarm_arn: Option<String>,
    #[serde(default)]
    pub old_state_value: Option<AlarmState>,
    /// Absent for composite alarms (they carry `AlarmRule` instead).
    #[serde(default)]
    pub trigger: Option<Trigger>,
    /// Composite alarms only: the rule over the child alarms, e.g.
    /// `ALARM("slo-fast-long") AND ALARM("slo-fast-short")`.
    #[serde(default)]
    pub alarm_rule: Option<String>,
    /// Composite alarms only, and not always present (an empty list or missing when no child
    /// state caused the change, e.g. a rule update): the children whose states triggered it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub triggering_children: Vec<TriggeringChild>,
}

/// A composite alarm's notification carries no `Trigger` (no metric, no dimensions): the state
/// of its children is all it says. Shape, as CloudWatch publishes it to SNS:
/// `{"AlarmName", "AlarmDescription", "AWSAccountId", "NewStateValue", "NewStateReason",
/// "StateChangeTime", "Region", "AlarmArn", "OldStateValue", "OKActions", "AlarmActions",
/// "InsufficientDataActions", "AlarmRule", "TriggeringChildren": [{"Arn", "State": {"Value",
/// "Timestamp"}}]}`. AWS documents composite alarms and their `AlarmRule`
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-combining.html>,
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html>)
/// but prints no SNS body for them; the field names and nesting here are those of real
/// composite notifications as delivered by SNS, published in public repositories' test events
/// (the same `TriggeringChildren` entries that the Lambda-action
/// payload calls `triggeringAlarms` in `alarmData.state.reasonData`, see `aws_lambda_events`'
/// fixture `example-cloudwatch-alarm-composite.json`). `AlarmArn` is there too, so the
/// subscription's body filter (`contract::sns::ALARM_ARN_FIELD`) lets it through.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TriggeringChild {
    pub arn: String,
    #[serde(default)]
    pub state: Option<ChildState>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildState {
    pub value: AlarmState,
    #[serde(default)]
    pub timestamp: Option<String>,
}

impl TriggeringChild {
    /// The child alarm's name: what follows `:alarm:` in its ARN.
    pub fn name(&self) -> &str {
        self.arn
            .split_once(":alarm:")
            .map_or(self.arn.as_str(), |(_, name)| name)
    }
}

/// `Trigger`: either a single metric (`MetricName`/`Namespace`/`Dimensions`) or metric math (`Metrics`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trigger {
    #[serde(default)]
    pub metric_name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    /// `Statistic` or `ExtendedStatistic`.
    #[serde(default)]
    pub statistic_type: Option<String>,
    /// Upper case, e.g. `AVERAGE`, `SAMPLE_COUNT`.
    #[serde(default)]
    pub statistic: Option<String>,
    /// e.g. `p99`, when `StatisticType` is `ExtendedStatistic`.
    #[serde(default)]
    pub extended_statistic: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub dimensions: Vec<Dimension>,
    #[serde(default)]
    pub period: Option<i64>,
    #[serde(default)]
    pub evaluation_periods: Option<i64>,
    #[serde(default)]
    pub comparison_operator: Option<String>,
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Anomaly-detection alarms: the id of the `ANOMALY_DETECTION_BAND(...)` query in
    /// `Metrics` that is the threshold (they carry no `Threshold`).
    #[serde(default)]
    pub threshold_metric_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metrics: Vec<MetricDataQuery>,
}

/// Dimensions in alarm notifications are lower case (`{"value": ..., "name": ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricDataQuery {
    pub id: String,
    #[serde(default)]
    pub expression: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub metric_stat: Option<MetricStat>,
    #[serde(default)]
    pub return_data: Option<bool>,
    /// Set on queries of a metric in another account (cross-account observability).
    #[serde(default)]
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: MetricId,
    pub period: i64,
    pub stat: String,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricId {
    #[serde(default, deserialize_with = "null_as_default")]
    pub dimensions: Vec<Dimension>,
    pub metric_name: String,
    pub namespace: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

impl AlarmNotification {
    /// `StateChangeTime` as UTC; CloudWatch writes `+0000`, which RFC 3339 parsers reject.
    pub fn state_change_time(&self) -> Option<DateTime<Utc>> {
        parse_cloudwatch_time(&self.state_change_time)
    }

    /// A composite alarm: no metric of its own, only a rule over other alarms.
    pub fn is_composite(&self) -> bool {
        self.alarm_rule.is_some() && self.trigger.is_none()
    }

    /// Every dimension the alarm's metrics carry (single metric and metric math alike).
    pub fn dimensions(&self) -> impl Iterator<Item = &Dimension> {
        let trigger = self.trigger.iter();
        trigger.flat_map(|t| {
            t.dimensions.iter().chain(
                t.metrics
                    .iter()
                    .filter_map(|m| m.metric_stat.as_ref())
                    .flat_map(|s| s.metric.dimensions.iter()),
            )
        })
    }
}

/// Parses `2026-11-29T18:05:31.123+0000` (and, leniently, RFC 3339).
pub fn parse_cloudwatch_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// What to do with one SNS record.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    Alarm(Box<AlarmNotification>),
    Ignored(String),
}

/// Decides whether an SNS message is a CloudWatch alarm notification we should act on.
pub fn classify(sns: &SnsMessage) -> Classified {
    if is_own(&sns.message_attributes) {
        return Classified::Ignored(
            "published by runbook-executor itself (origin attribute)".into(),
        );
    }
    if sns.sns_message_type != "Notification" {
        return Classified::Ignored(format!(
            "SNS message type {:?}, not Notification",
            sns.sns_message_type
        ));
    }
    classify_message(&sns.message)
}

/// Classifies the `Message` body alone.
pub fn classify_message(message: &str) -> Classified {
    let value: Value = match serde_json::from_str(message) {
        Ok(v) => v,
        Err(_) => return Classified::Ignored("message is not JSON".into()),
    };
    let looks_like_alarm = value.get("AlarmName").is_some_and(Value::is_string)
        && value.get("NewStateValue").is_some_and(Value::is_string);
    if !looks_like_alarm {
        return Classified::Ignored("JSON message is not a CloudWatch alarm notification".into());
    }
    match serde_json::from_value::<AlarmNotification>(value) {
        Ok(n) => Classified::Alarm(Box::new(n)),
        Err(e) => Classified::Ignored(format!("malformed CloudWatch alarm notification: {e}")),
    }
}

fn is_own(attrs: &HashMap<String, MessageAttribute>) -> bool {
    attrs
        .get(ORIGIN_ATTRIBUTE)
        .is_some_and(|a| a.value == ORIGIN_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINGLE: &str = r#"{"AlarmName":"checkout-5xx","AlarmDescription":null,"AWSAccountId":"123456789012","NewStateValue":"ALARM","NewStateReason":"Threshold Crossed","StateChangeTime":"2026-11-29T18:05:31.123+0000","Region":"US East (N. Virginia)","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx","OldStateValue":"OK","OKActions":[],"AlarmActions":["arn:aws:sns:us-east-1:123456789012:alerts"],"InsufficientDataActions":[],"Trigger":{"MetricName":"5XXError","Namespace":"AWS/ApiGateway","StatisticType":"Statistic","Statistic":"SUM","Unit":null,"Dimensions":[{"value":"checkout","name":"ServiceName"}],"Period":60,"EvaluationPeriods":1,"ComparisonOperator":"GreaterThanThreshold","Threshold":5.0,"TreatMissingData":"missing","EvaluateLowSampleCountPercentile":""}}"#;

    fn alarm(msg: &str) -> AlarmNotification {
        match classify_message(msg) {
            Classified::Alarm(a) => *a,
            Classified::Ignored(r) => panic!("ignored: {r}"),
        }
    }

    #[test]
    fn parses_single_metric_with_null_description() {
        let a = alarm(SINGLE);
        assert_eq!(a.alarm_name, "checkout-5xx");
        assert_eq!(a.alarm_description, None);
        assert_eq!(a.new_state_value, AlarmState::Alarm);
        assert_eq!(a.old_state_value, Some(AlarmState::Ok));
        let t = a.trigger.as_ref().unwrap();
        assert_eq!(t.statistic.as_deref(), Some("SUM"));
        assert_eq!(t.unit, None);
        assert_eq!(a.dimensions().next().unwrap().value, "checkout");
        assert_eq!(
            a.state_change_time().unwrap().to_rfc3339(),
            "2026-11-29T18:05:31.123+00:00"
        );
    }

    #[test]
    fn parses_metric_math_dimensions() {
        let msg = r#"{"AlarmName":"a","NewStateValue":"ALARM","StateChangeTime":"2026-11-29T18:05:31.123+0000","Trigger":{"Period":60,"Metrics":[{"Expression":"m1*100","Id":"e1","Label":"pct","ReturnData":true},{"Id":"m1","MetricStat":{"Metric":{"Dimensions":[{"value":"cart","name":"service"}],"MetricName":"Errors","Namespace":"appmon"},"Period":60,"Stat":"Sum"},"ReturnData":false}]}}"#;
        let a = alarm(msg);
        let t = a.trigger.as_ref().unwrap();
        assert_eq!(t.metrics.len(), 2);
        assert_eq!(t.metric_name, None);
        let dims: Vec<_> = a.dimensions().map(|d| d.value.as_str()).collect();
        assert_eq!(dims, ["cart"]);
    }

    #[test]
    fn parses_composite_without_trigger() {
        let msg = r#"{"AlarmName":"slo-page","AlarmDescription":null,"AWSAccountId":"123456789012","NewStateValue":"ALARM","NewStateReason":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:slo-page-5m transitioned to ALARM at Sunday 29 November, 2026 18:05:31 UTC","StateChangeTime":"2026-11-29T18:05:31.123+0000","Region":"US East (N. Virginia)","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:slo-page","OldStateValue":"OK","OKActions":[],"AlarmActions":["arn:aws:sns:us-east-1:123456789012:alerts"],"InsufficientDataActions":[],"AlarmRule":"ALARM(\"slo-page-1h\") AND ALARM(\"slo-page-5m\")","TriggeringChildren":[{"Arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:slo-page-5m","State":{"Value":"ALARM","Timestamp":"2026-11-29T18:05:31.123+0000"}}]}"#;
        let a = alarm(msg);
        assert!(a.is_composite());
        assert_eq!(a.trigger, None);
        assert_eq!(a.dimensions().count(), 0);
        assert_eq!(
            a.alarm_rule.as_deref(),
            Some(r#"ALARM("slo-page-1h") AND ALARM("slo-page-5m")"#)
        );
        assert_eq!(a.triggering_children.len(), 1);
        let child = &a.triggering_children[0];
        assert_eq!(child.name(), "slo-page-5m");
        assert_eq!(child.state.as_ref().unwrap().value, AlarmState::Alarm);
        // TriggeringChildren may be empty, null or missing; a metric alarm is never composite.
        for children in [
            r#","TriggeringChildren":[]"#,
            r#","TriggeringChildren":null"#,
            "",
        ] {
            let m = format!(
                r#"{{"AlarmName":"c","NewStateValue":"OK","StateChangeTime":"2026-11-29T18:05:31.123+0000","AlarmRule":"ALARM(x)"{children}}}"#
            );
            let a = alarm(&m);
            assert!(a.is_composite() && a.triggering_children.is_empty(), "{m}");
        }
        assert!(!alarm(SINGLE).is_composite());
    }

    #[test]
    fn ignores_what_is_not_an_alarm() {
        assert!(
            matches!(classify_message("hello"), Classified::Ignored(r) if r.contains("not JSON"))
        );
        assert!(
            matches!(classify_message(r#"{"a":1}"#), Classified::Ignored(r) if r.contains("not a CloudWatch"))
        );
        let bad_state = r#"{"AlarmName":"a","NewStateValue":"PANIC","StateChangeTime":"x"}"#;
        assert!(
            matches!(classify_message(bad_state), Classified::Ignored(r) if r.contains("malformed"))
        );
    }

    fn sns(message: &str, attributes: Value) -> SnsMessage {
        serde_json::from_value(serde_json::json!({
            "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
            "Subject": null, "Message": message, "Timestamp": "2026-11-29T18:05:32.000Z",
            "SignatureVersion": "1", "Signature": "sig", "SigningCertUrl": "https://example.invalid/cert.pem",
            "UnsubscribeUrl": "https://example.invalid/unsub", "MessageAttributes": attributes,
        }))
        .unwrap()
    }

    #[test]
    fn own_notifications_are_ignored() {
        let own = sns(
            SINGLE,
            serde_json::json!({"origin": {"Type": "String", "Value": "runbook-executor"}}),
        );
        assert!(matches!(classify(&own), Classified::Ignored(r) if r.contains("itself")));
        let other = sns(
            SINGLE,
            serde_json::json!({"origin": {"Type": "String", "Value": "someone-else"}}),
        );
        assert!(matches!(classify(&other), Classified::Alarm(_)));
        assert!(matches!(
            classify(&sns(SINGLE, serde_json::json!({}))),
            Classified::Alarm(_)
        ));
    }

    #[test]
    fn cloudwatch_time_forms() {
        assert!(parse_cloudwatch_time("2015-06-03T17:43:27.123+0000").is_some());
        assert!(parse_cloudwatch_time("2015-06-03T17:43:27+0000").is_some());
        assert!(parse_cloudwatch_time("2015-06-03T17:43:27Z").is_some());
        assert!(parse_cloudwatch_time("yesterday").is_none());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn classifying_never_panics(s in "\\PC{0,200}") {
            let _ = classify_message(&s);
        }

        #[test]
        fn alarm_shaped_json_with_any_values_never_panics(name in "\\PC{0,40}", state in "\\PC{0,20}", time in "\\PC{0,40}") {
            let msg = serde_json::json!({"AlarmName": name, "NewStateValue": state, "StateChangeTime": time}).to_string();
            if let Classified::Alarm(a) = classify_message(&msg) {
                let _ = a.state_change_time();
            }
        }
    }
}
