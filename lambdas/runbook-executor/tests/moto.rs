//! The executor against a real moto server: runbook in SSM, table, topic with an SQS queue
//! subscribed to capture notifications, CloudWatch for datapoints and the execution metric.
//! Events are the committed fixtures, shaped exactly as Lambda hands SNS records to a function.
//!
//! moto lacks SSM StartAutomationExecution: the test that uses it asserts the failure path.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_config::SdkConfig;
use aws_sdk_cloudwatch::primitives::DateTime as SmithyTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, Statistic};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Duration, Utc};
use metrics_core::aggregate::Batch;
use metrics_core::minute::Minute;
use metrics_core::store::MetricStore;
use runbook_executor::aws::AwsPorts;
use runbook_executor::config::Config;
use runbook_executor::handler::{handle, Deps, RecordStatus, Summary};
use runbook_executor::steps::Outcome;
use serde_json::{json, Value};
use test_support::{dynamo, Moto};

const TABLE: &str = "ApplicationMetrics";
const PREFIX: &str = "/appmon/runbooks/";
const ALARM: &str = "appmon-checkout-errors";
const NAMESPACE: &str = "appmon/Runbooks";

fn full_runbook() -> String {
    json!({
        "alarm": ALARM,
        "link": "https://runbooks.example.com/checkout-errors",
        "service": "checkout",
        "on_failure": "continue",
        "steps": [
            {"type": "record_incident"},
            {"type": "gather_context", "lookback_minutes": 30},
            {"type": "notify"},
            {"type": "put_metric"}
        ]
    })
    .to_string()
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

struct Stack {
    _moto: Moto,
    sdk: SdkConfig,
    config: Config,
    aws: AwsPorts,
    queue_url: String,
}

impl Stack {
    async fn new(runbooks: &[(&str, &str)], dry_run: bool) -> Stack {
        let moto = Moto::start();
        let sdk = dynamo::sdk_config(&moto.endpoint).await;
        // The table as deployed (keys and the inverted GSI).
        dynamo::create_metric_table(&metrics_core::aws::dynamodb_client(&sdk), TABLE).await;

        let sns = aws_sdk_sns::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let topic_arn = sns
            .create_topic()
            .name("appmon-alerts")
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name("oncall-capture")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();

        let ssm = aws_sdk_ssm::Client::new(&sdk);
        for (alarm, value) in runbooks {
            ssm.put_parameter()
                .name(format!("{PREFIX}{alarm}"))
                .value(*value)
                .r#type(ParameterType::SecureString)
                .send()
                .await
                .expect("put runbook parameter");
        }

        seed_cloudwatch(&sdk).await;
        seed_table(&sdk).await;

        let config = Config {
            table: TABLE.into(),
            runbook_prefix: PREFIX.into(),
            settings: runbook_executor::steps::Settings {
                topic_arn,
                dry_run,
                metric_namespace: NAMESPACE.into(),
                service_metrics_namespace: Some(contract::service_metrics::namespace("appmon")),
                incident_ttl_days: 30,
            },
        };
        let aws = AwsPorts::new(&sdk, &config);
        Stack {
            _moto: moto,
            sdk,
            config,
            aws,
            queue_url,
        }
    }

    async fn deliver(&self, event: &Value) -> Summary {
        let deps = Deps {
            ports: self.aws.ports(),
            runbooks: &self.aws.ssm,
            runbook_prefix: &self.config.runbook_prefix,
            settings: &self.config.settings,
        };
        let summary = handle(event, &deps, Utc::now()).await.expect("SNS event");
        assert_eq!(summary.failure(), None, "{summary:#?}");
        summary
    }

    /// Every notification that reached the SQS subscription (SNS JSON envelopes), draining the queue.
    async fn notifications(&self) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                return out;
            }
            for m in messages {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn items(&self, pk: &str) -> Vec<HashMap<String, AttributeValue>> {
        aws_sdk_dynamodb::Client::new(&self.sdk)
            .query()
            .table_name(TABLE)
            .key_condition_expression("ServiceName = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
            .send()
            .await
            .unwrap()
            .items
            .unwrap_or_default()
    }

    /// Every partition key in the reserved space (test-only Scan of a tiny table).
    async fn reserved_keys(&self) -> Vec<String> {
        let items = aws_sdk_dynamodb::Client::new(&self.sdk)
            .scan()
            .table_name(TABLE)
            .send()
            .await
            .unwrap()
            .items;
        let mut keys: Vec<String> = items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| i.get("ServiceName")?.as_s().ok().cloned())
            .filter(|k| k.starts_with('#'))
            .collect();
        keys.sort();
        keys
    }

    /// Number of `RunbookExecutions` datapoints with the given Outcome, read back from CloudWatch.
    async fn executions(&self, outcome: &str) -> f64 {
        let now = Utc::now();
        let dim = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
        let out = aws_sdk_cloudwatch::Client::new(&self.sdk)
            .get_metric_statistics()
            .namespace(NAMESPACE)
            .metric_name("RunbookExecutions")
            .dimensions(dim("AlarmName", ALARM))
            .dimensions(dim("Outcome", outcome))
            .start_time(SmithyTime::from_secs(
                (now - Duration::hours(1)).timestamp(),
            ))
            .end_time(SmithyTime::from_secs(
                (now + Duration::hours(1)).timestamp(),
            ))
            .period(7200)
            .statistics(Statistic::SampleCount)
            .send()
            .await
            .expect("GetMetricStatistics");
        out.datapoints()
            .iter()
            .filter_map(|d| d.sample_count())
            .sum()
    }

    async fn metrics_in_namespace(&self) -> usize {
        let out = aws_sdk_cloudwatch::Client::new(&self.sdk)
            .list_metrics()
            .namespace(NAMESPACE)
            .send()
            .await
            .expect("ListMetrics");
        out.metrics().len()
    }
}

/// The alarm metric's datapoints, 17:50–18:05 on the fixtures' day.
async fn seed_cloudwatch(sdk: &SdkConfig) {
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let start = t("2026-11-29T17:50:00Z");
    for (metric, values) in [
        ("errors", [0.0, 1.0, 3.0, 8.0, 12.0, 12.0]),
        ("requests", [100.0; 6]),
    ] {
        let data = values.iter().enumerate().map(|(i, v)| {
            let at = start + Duration::minutes(3 * i as i64);
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("ServiceName")
                        .value("checkout")
                        .build(),
                )
                .value(*v)
                .timestamp(SmithyTime::from_secs(at.timestamp()))
                .build()
        });
        cw.put_metric_data()
            .namespace("appmon/Services")
            .set_metric_data(Some(data.collect()))
            .send()
            .await
            .expect("seed PutMetricData");
    }
}

/// Ten minutes of `checkout` metrics in the table, as the log processor would have written them.
async fn seed_table(sdk: &SdkConfig) {
    let mut batch = Batch::new();
    let first = Minute::parse_key("2026-11-29T17:56:00Z").unwrap();
    for m in 0..10 {
        let minute = first.add_minutes(m);
        for i in 0..20 {
            batch.record("checkout", minute, "requests", 1.0);
            batch.record("checkout", minute, "latency_ms", 50.0 + f64::from(i) * 10.0);
        }
        batch.record("checkout", minute, "errors", 2.0);
    }
    MetricStore::new(metrics_core::aws::dynamodb_client(sdk), TABLE)
        .apply(Some("seed"), &batch)
        .await
        .expect("seed table");
}

fn outcomes(summary: &Summary) -> Vec<(&'static str, Outcome)> {
    summary.records[0]
        .steps
        .iter()
        .map(|s| (s.step, s.outcome))
        .collect()
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn alarm_delivered_twice_runs_once() {
    let stack = Stack::new(&[(ALARM, &full_runbook())], false).await;
    let event = fixture("sns-alarm-single-metric.json");

    let first = stack.deliver(&event).await;
    assert_eq!(first.records[0].status, RecordStatus::Executed);
    assert_eq!(
        outcomes(&first),
        [
            ("record_incident", Outcome::Ok),
            ("gather_context", Outcome::Ok),
            ("notify", Outcome::Ok),
            ("put_metric", Outcome::Ok)
        ],
        "{first:#?}"
    );

    let second = stack.deliver(&event).await;
    assert_eq!(
        outcomes(&second),
        [
            ("record_incident", Outcome::Skipped),
            ("gather_context", Outcome::Ok),
            ("notify", Outcome::Skipped),
            ("put_metric", Outcome::Skipped)
        ],
        "{second:#?}"
    );
    let skipped = second.records[0].steps[2].detail.as_deref().unwrap();
    assert!(
        skipped.contains("already done by an earlier delivery"),
        "{skipped}"
    );

    // Exactly one incident, open, in the reserved key space, with a TTL.
    let incidents = stack.items(&format!("#incident#{ALARM}")).await;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let incident = &incidents[0];
    assert_eq!(text(incident, "status"), "open");
    assert_eq!(text(incident, "Timestamp"), "2026-11-29T18:05:31.123Z");
    assert_eq!(
        text(incident, "runbook_link"),
        "https://runbooks.example.com/checkout-errors"
    );
    assert!(text(incident, "reason").starts_with("Threshold Crossed"));
    let ttl: i64 = incident["ExpiresAt"].as_n().unwrap().parse().unwrap();
    assert!(
        (ttl - (Utc::now().timestamp() + 30 * 86_400)).abs() < 600,
        "{ttl}"
    );

    // Exactly one notification, enriched, marked with the origin attribute.
    let notes = stack.notifications().await;
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let note = &notes[0];
    assert_eq!(note["Subject"], "ALARM: appmon-checkout-errors (was OK)");
    assert_eq!(
        note["MessageAttributes"]["origin"]["Value"],
        "runbook-executor"
    );
    let body = note["Message"].as_str().unwrap();
    for want in [
        "Alarm \"appmon-checkout-errors\" is in ALARM.",
        "Since: 2026-11-29 18:05:31 UTC (previous state OK)",
        "Description: checkout 5xx errors above 5 per minute",
        "Reason: Threshold Crossed",
        "errors: 17:50 0, 17:53 1, 17:56 3, 17:59 8, 18:02 12, 18:05 12",
        "Service checkout (2026-11-29T17:36:00Z to 2026-11-29T18:06:00Z): 200 requests, 20 errors (10.0%), p99 latency",
        "Runbook: https://runbooks.example.com/checkout-errors",
        "1. record_incident: ok - opened incident",
        "2. gather_context: ok",
        "3. notify: this message",
        "4. put_metric: runs next",
    ] {
        assert!(body.contains(want), "missing {want:?} in:\n{body}");
    }

    // Exactly one execution datapoint.
    assert_eq!(stack.executions("succeeded").await, 1.0);
    assert_eq!(stack.executions("failed").await, 0.0);

    // Claims are reserved items with a TTL, one per side-effecting step.
    let claims: Vec<String> = stack
        .reserved_keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("#delivery#"))
        .collect();
    assert_eq!(claims.len(), 3, "{claims:?}");
    let claim = stack
        .items("#delivery#5a0c1d2e-3f40-5b6c-8d9e-0f1a2b3c4d5e#2")
        .await;
    assert_eq!(text(&claim[0], "status"), "done");
    assert!(claim[0].contains_key("ExpiresAt"));
}

#[tokio::test(flavor = "multi_thread")]
async fn ok_transition_closes_the_incident() {
    let stack = Stack::new(&[(ALARM, &full_runbook())], false).await;
    stack
        .deliver(&fixture("sns-alarm-single-metric.json"))
        .await;
    // Null description, different message: the incident is already open, nothing new opens.
    let again = stack
        .deliver(&fixture("sns-alarm-null-description.json"))
        .await;
    assert!(
        again.records[0].steps[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("already open since"),
        "{again:#?}"
    );
    let ok = stack.deliver(&fixture("sns-ok-transition.json")).await;
    assert_eq!(ok.records[0].steps[0].outcome, Outcome::Ok);

    let incidents = stack.items(&format!("#incident#{ALARM}")).await;
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(text(&incidents[0], "status"), "closed");
    assert_eq!(text(&incidents[0], "closed_at"), "2026-11-29T18:25:02.456Z");

    let notes = stack.notifications().await;
    let subjects: Vec<&str> = notes
        .iter()
        .map(|n| n["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "ALARM: appmon-checkout-errors (was OK)",
            "ALARM: appmon-checkout-errors (was INSUFFICIENT_DATA)",
            "OK: appmon-checkout-errors (was ALARM)"
        ]
    );
    let body = notes[2]["Message"].as_str().unwrap();
    assert!(
        body.contains("has recovered (OK)")
            && body.contains("closed incident opened at 2026-11-29T18:05:31.123Z"),
        "{body}"
    );
    assert!(!notes[1]["Message"]
        .as_str()
        .unwrap()
        .contains("Description:"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_touches_nothing() {
    let stack = Stack::new(&[(ALARM, &full_runbook())], true).await;
    let summary = stack
        .deliver(&fixture("sns-alarm-single-metric.json"))
        .await;
    assert!(summary.records[0].dry_run);
    let steps = &summary.records[0].steps;
    let (last, runbook) = steps.split_last().unwrap();
    assert!(
        runbook.iter().all(|s| s.outcome == Outcome::DryRun),
        "{summary:#?}"
    );
    // The one thing a dry run publishes: CloudWatch's notification, forwarded to on-call.
    assert_eq!(
        (last.step, last.outcome),
        ("forward_alarm", Outcome::Ok),
        "{summary:#?}"
    );
    let plan = summary.records[0].steps[0].detail.as_deref().unwrap();
    assert_eq!(
        plan,
        "would open incident #incident#appmon-checkout-errors / 2026-11-29T18:05:31.123Z"
    );

    assert_eq!(stack.reserved_keys().await, Vec::<String>::new());
    let notes = stack.notifications().await;
    assert_eq!(notes.len(), 1);
    let body = notes[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("dry run (DRY_RUN=true)")
            && body.contains("\"AlarmName\": \"appmon-checkout-errors\""),
        "{body}"
    );
    assert_eq!(stack.metrics_in_namespace().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_or_missing_runbook_still_notifies() {
    let broken = r#"{"alarm": "appmon-checkout-errors", "steps": [{"type": "reboot_everything"}]}"#;
    let stack = Stack::new(&[(ALARM, broken)], false).await;

    let summary = stack
        .deliver(&fixture("sns-alarm-single-metric.json"))
        .await;
    let record = &summary.records[0];
    assert!(
        record
            .runbook_fallback
            .as_deref()
            .unwrap()
            .contains("unknown variant `reboot_everything`"),
        "{record:#?}"
    );
    assert_eq!(outcomes(&summary), [("notify", Outcome::Ok)]);

    // No runbook parameter at all for the metric-math alarm.
    let summary = stack.deliver(&fixture("sns-alarm-metric-math.json")).await;
    let reason = summary.records[0].runbook_fallback.as_deref().unwrap();
    assert!(
        reason.contains("/appmon/runbooks/appmon-checkout-error-rate does not exist"),
        "{reason}"
    );

    let notes = stack.notifications().await;
    assert_eq!(notes.len(), 2);
    let body = notes[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("No usable runbook, so only this notification was sent"),
        "{body}"
    );
    let body = notes[1]["Message"].as_str().unwrap();
    assert!(body.contains("Metric math: 100*errors/requests"), "{body}");
    assert_eq!(stack.items(&format!("#incident#{ALARM}")).await.len(), 0);
}

/// Turns an SNS envelope read from SQS into the record Lambda would hand the function.
fn as_lambda_record(envelope: &Value) -> Value {
    let e = |k: &str| envelope[k].clone();
    json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{}:0b7c2f4e-1d2a-4b3c-9e8f-7a6b5c4d3e2f", envelope["TopicArn"].as_str().unwrap()),
        "Sns": {
            "Type": e("Type"), "MessageId": e("MessageId"), "TopicArn": e("TopicArn"), "Subject": e("Subject"),
            "Message": e("Message"), "Timestamp": e("Timestamp"), "SignatureVersion": e("SignatureVersion"),
            "Signature": e("Signature"), "SigningCertUrl": e("SigningCertURL"), "UnsubscribeUrl": e("UnsubscribeURL"),
            "MessageAttributes": e("MessageAttributes"),
        }
    }]})
}

#[tokio::test(flavor = "multi_thread")]
async fn own_and_non_alarm_messages_are_ignored() {
    let stack = Stack::new(&[(ALARM, &full_runbook())], false).await;
    stack
        .deliver(&fixture("sns-alarm-single-metric.json"))
        .await;
    let notes = stack.notifications().await;
    assert_eq!(notes.len(), 1);
    let keys_before = stack.reserved_keys().await;

    let own = stack.deliver(&as_lambda_record(&notes[0])).await;
    assert_eq!(own.records[0].status, RecordStatus::Ignored, "{own:#?}");
    assert!(own.records[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("origin attribute"));

    for (name, why) in [
        ("sns-not-json.json", "message is not JSON"),
        (
            "sns-subscription-confirmation.json",
            "not an SNS notification record",
        ),
    ] {
        let s = stack.deliver(&fixture(name)).await;
        assert_eq!(s.records[0].status, RecordStatus::Ignored, "{name}");
        assert!(
            s.records[0].reason.as_deref().unwrap().contains(why),
            "{name}: {s:#?}"
        );
    }

    assert_eq!(
        stack.notifications().await.len(),
        0,
        "ignored records must not notify"
    );
    assert_eq!(
        stack.reserved_keys().await,
        keys_before,
        "ignored records must not write"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_step_continues_or_stops_as_the_runbook_says() {
    // moto has no StartAutomationExecution, so the step fails for real here.
    let runbook = |on_failure: &str, alarm: &str| {
        json!({"alarm": alarm, "on_failure": on_failure, "steps": [
            {"type": "start_automation", "document": "AWS-RestartEC2Instance", "parameters": {"InstanceId": ["i-0abc"]}},
            {"type": "notify"}, {"type": "put_metric"}]})
        .to_string()
    };
    let stack = Stack::new(
        &[
            (ALARM, &runbook("continue", ALARM)),
            (
                "appmon-checkout-error-rate",
                &runbook("stop", "appmon-checkout-error-rate"),
            ),
        ],
        false,
    )
    .await;

    let cont = stack
        .deliver(&fixture("sns-alarm-single-metric.json"))
        .await;
    assert_eq!(
        outcomes(&cont),
        [
            ("start_automation", Outcome::Failed),
            ("notify", Outcome::Ok),
            ("put_metric", Outcome::Ok)
        ],
        "{cont:#?}"
    );
    assert!(cont.records[0].steps[0]
        .error
        .as_deref()
        .unwrap()
        .contains("StartAutomationExecution"));
    assert_eq!(stack.executions("failed").await, 1.0);

    let stop = stack.deliver(&fixture("sns-alarm-metric-math.json")).await;
    assert_eq!(
        outcomes(&stop),
        [
            ("start_automation", Outcome::Failed),
            ("notify", Outcome::Skipped),
            ("put_metric", Outcome::Skipped),
            // "stop" skipped the notify step: on-call gets CloudWatch's notification instead.
            ("forward_alarm", Outcome::Ok)
        ],
        "{stop:#?}"
    );

    let notes = stack.notifications().await;
    assert_eq!(
        notes.len(),
        2,
        "one message per alarm: enriched, then forwarded"
    );
    let body = notes[0]["Message"].as_str().unwrap();
    assert!(
        body.contains("1. start_automation: failed - SSM StartAutomationExecution")
            && body.contains("A step above failed, so here is CloudWatch's notification"),
        "{body}"
    );
    let forwarded = notes[1]["Message"].as_str().unwrap();
    assert!(
        forwarded.contains("the notify step did not publish (skipped")
            && forwarded.contains("CloudWatch's notification, as it arrived on the alarm topic:"),
        "{forwarded}"
    );
    assert!(
        notes[1]["Subject"]
            .as_str()
            .unwrap()
            .starts_with("ALARM: \""),
        "CloudWatch's subject: {}",
        notes[1]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metric_math_alarm_gathers_its_queries_and_the_dimension_service() {
    // No "service" in the runbook: it comes from the ServiceName dimension of the math's metrics.
    let runbook = json!({"alarm": "appmon-checkout-error-rate", "link": "https://runbooks.example.com/error-rate",
        "steps": [{"type": "gather_context", "lookback_minutes": 30}, {"type": "notify"}]})
    .to_string();
    let stack = Stack::new(&[("appmon-checkout-error-rate", &runbook)], false).await;
    let summary = stack.deliver(&fixture("sns-alarm-metric-math.json")).await;
    assert_eq!(
        outcomes(&summary),
        [("gather_context", Outcome::Ok), ("notify", Outcome::Ok)],
        "{summary:#?}"
    );

    let notes = stack.notifications().await;
    let body = notes[0]["Message"].as_str().unwrap();
    // The expression's series is reported under its label (moto 5.2.5 does not evaluate metric
    // math, so it comes back empty there; real CloudWatch fills it).
    assert!(body.contains("  error rate %: "), "{body}");
    assert!(
        body.contains(
            "Service checkout (2026-11-29T17:36:00Z to 2026-11-29T18:06:00Z): 200 requests"
        ),
        "{body}"
    );
    assert!(body.contains("Metric math: 100*errors/requests"), "{body}");
}

/// Published service metrics as the log processor would have put them: `Requests` 100 a minute
/// for the hour before the fixtures' state change (17:06–18:05), `Errors` 2 a minute in its last
/// five minutes (18:01–18:05).
async fn seed_published(sdk: &SdkConfig) {
    let cw = aws_sdk_cloudwatch::Client::new(sdk);
    let namespace = contract::service_metrics::namespace("appmon");
    let first = t("2026-11-29T17:06:00Z");
    for (metric, from_minute, value) in [("Requests", 0, 100.0), ("Errors", 55, 2.0)] {
        let data = (from_minute..60).map(|i| {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name(contract::service_metrics::DIMENSION)
                        .value("checkout")
                        .build(),
                )
                .value(value)
                .unit(aws_sdk_cloudwatch::types::StandardUnit::Count)
                .timestamp(SmithyTime::from_secs(
                    (first + Duration::minutes(i)).timestamp(),
                ))
                .build()
        });
        cw.put_metric_data()
            .namespace(&namespace)
            .set_metric_data(Some(data.collect()))
            .send()
            .await
            .expect("seed published metrics");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn composite_slo_alert_reads_burn_rates_from_the_published_metrics() {
    let alarm = "appmon-checkout-availability-page";
    let runbook = json!({"alarm": alarm, "service": "checkout",
        "slo": {"target_percent": 99.9, "window_days": 30,
            "windows": [{"long_seconds": 3600, "short_seconds": 300, "burn_rate": 14.4}]},
        "steps": [{"type": "gather_context"}, {"type": "notify"}]})
    .to_string();
    let stack = Stack::new(&[(alarm, &runbook)], false).await;
    seed_published(&stack.sdk).await;

    let summary = stack.deliver(&fixture("sns-composite-alarm.json")).await;
    assert_eq!(
        outcomes(&summary),
        [("gather_context", Outcome::Ok), ("notify", Outcome::Ok)],
        "{summary:#?}"
    );
    let notes = stack.notifications().await;
    assert_eq!(notes.len(), 1);
    let body = notes[0]["Message"].as_str().unwrap();
    for want in [
        "Service: checkout\n",
        "from the published service metrics (CloudWatch namespace appmon/Services, Sum of Errors and Requests with ServiceName=checkout), windows ending 2026-11-29 18:06:00 UTC",
        // 10 errors in 6000 requests over the hour, 10 in 500 over the last 5 minutes.
        "  1h: 1.67x (10 errors / 6000 requests); 5m: 20.00x (10 errors / 500 requests); alerts when both are above 14.4x",
        // The same data is all there is in the 30 days: the budget is overspent.
        "  Error budget over the last 30 days: -66.7% left, overspent (10 errors of 6 allowed in 6000 requests)",
        "Service checkout (2026-11-29T17:36:00Z to 2026-11-29T18:06:00Z): 200 requests",
    ] {
        assert!(body.contains(want), "missing {want:?} in:\n{body}");
    }
}
