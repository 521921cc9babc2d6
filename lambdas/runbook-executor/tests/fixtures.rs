//! The committed SNS fixtures have the shape Lambda delivers (they deserialize with
//! `aws_lambda_events`' own `SnsEvent`) and classify as expected.

use std::path::PathBuf;

use aws_lambda_events::sns::SnsEvent;
use chrono::Utc;
use runbook_executor::alarm::{classify, AlarmNotification, AlarmState, Classified};
use runbook_executor::runbook::{Loaded, Runbook};
use runbook_executor::steps::gather_context::{affected_service, queries_for};
use runbook_executor::steps::Run;
use serde_json::Value;

fn read(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn classified(name: &str) -> Classified {
    let event: SnsEvent =
        serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(event.records.len(), 1, "{name}");
    assert_eq!(event.records[0].event_source, "aws:sns");
    classify(&event.records[0].sns)
}

#[test]
fn alarm_fixtures_parse_as_alarms() {
    for (name, state, description, math) in [
        (
            "sns-alarm-single-metric.json",
            AlarmState::Alarm,
            true,
            false,
        ),
        (
            "sns-alarm-null-description.json",
            AlarmState::Alarm,
            false,
            false,
        ),
        ("sns-ok-transition.json", AlarmState::Ok, true, false),
        ("sns-alarm-metric-math.json", AlarmState::Alarm, true, true),
    ] {
        let Classified::Alarm(a) = classified(name) else {
            panic!("{name} was ignored")
        };
        assert_eq!(a.new_state_value, state, "{name}");
        assert_eq!(a.alarm_description.is_some(), description, "{name}");
        assert_eq!(a.region.as_deref(), Some("US East (N. Virginia)"));
        assert!(
            a.state_change_time().is_some(),
            "{name}: {}",
            a.state_change_time
        );
        let trigger = a.trigger.as_ref().unwrap();
        assert_eq!(!trigger.metrics.is_empty(), math, "{name}");
        assert_eq!(trigger.metric_name.is_some(), !math, "{name}");
    }
}

#[test]
fn non_alarm_fixtures_are_ignored() {
    assert!(
        matches!(classified("sns-not-json.json"), Classified::Ignored(r) if r == "message is not JSON")
    );
    // A subscription confirmation lacks UnsubscribeUrl: it is not even an SnsEvent, which is why
    // the handler parses records one by one (tests/moto.rs shows it ignored, not failing).
    assert!(serde_json::from_str::<SnsEvent>(&read("sns-subscription-confirmation.json")).is_err());
}

fn alarm(name: &str) -> AlarmNotification {
    match classified(name) {
        Classified::Alarm(a) => *a,
        Classified::Ignored(r) => panic!("{name} was ignored: {r}"),
    }
}

/// The raw `Message` JSON of a fixture.
fn message(name: &str) -> Value {
    let event: Value = serde_json::from_str(&read(name)).unwrap();
    serde_json::from_str(event["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap()
}

fn service_of(a: &AlarmNotification, runbook_service: Option<&str>) -> Option<String> {
    let loaded = Loaded {
        runbook: Runbook {
            service: runbook_service.map(str::to_string),
            ..Runbook::fallback(&a.alarm_name)
        },
        fallback_reason: None,
    };
    let run = Run {
        raw: runbook_executor::steps::Raw {
            message: "{}",
            subject: None,
        },
        message_id: "m",
        alarm: a,
        loaded: &loaded,
        now: Utc::now(),
    };
    affected_service(&run)
}

const SERVICE_FIXTURES: [&str; 3] = [
    "sns-alarm-service-p99.json",
    "sns-alarm-service-error-rate.json",
    "sns-alarm-anomaly-band.json",
];

/// Every alarm notification, composite included, has the `AlarmArn` the subscription's
/// `MessageBody` filter policy `{"AlarmArn": [{"prefix": "arn:"}]}` matches on.
#[test]
fn every_alarm_fixture_passes_the_subscription_filter() {
    for name in [
        "sns-alarm-single-metric.json",
        "sns-alarm-null-description.json",
        "sns-ok-transition.json",
        "sns-alarm-metric-math.json",
        "sns-composite-alarm.json",
    ]
    .into_iter()
    .chain(SERVICE_FIXTURES)
    {
        let arn = message(name)[contract::sns::ALARM_ARN_FIELD]
            .as_str()
            .map(str::to_string);
        assert!(
            arn.as_deref()
                .is_some_and(|a| a.starts_with(contract::sns::ALARM_ARN_PREFIX)),
            "{name}: {arn:?}"
        );
        assert_eq!(alarm(name).alarm_arn, arn, "{name}");
    }
}

#[test]
fn composite_fixture_has_a_rule_and_no_metric() {
    let a = alarm("sns-composite-alarm.json");
    assert!(a.is_composite());
    assert_eq!(a.new_state_value, AlarmState::Alarm);
    assert!(a.state_change_time().is_some());
    assert!(a
        .alarm_rule
        .as_deref()
        .unwrap()
        .contains(r#"ALARM("appmon-checkout-availability-page-1h")"#));
    let children: Vec<&str> = a.triggering_children.iter().map(|c| c.name()).collect();
    assert_eq!(children, ["appmon-checkout-availability-page-5m"]);
    assert!(queries_for(&a).is_empty());
    // No dimensions: the service can only come from the runbook.
    assert_eq!(service_of(&a, None), None);
    assert_eq!(
        service_of(&a, Some("checkout")).as_deref(),
        Some("checkout")
    );
    assert!(message("sns-composite-alarm.json").get("Trigger").is_none());
}

#[test]
fn service_alarm_fixtures_name_the_service_and_reproduce_their_queries() {
    for name in SERVICE_FIXTURES {
        let a = alarm(name);
        assert!(!a.is_composite(), "{name}");
        assert_eq!(service_of(&a, None).as_deref(), Some("checkout"), "{name}");
        // The runbook's service comes first.
        assert_eq!(
            service_of(&a, Some("cart")).as_deref(),
            Some("cart"),
            "{name}"
        );
        for q in queries_for(&a) {
            if let Some(m) = &q.metric {
                assert_eq!(m.namespace, "appmon/Services", "{name}");
            }
        }
    }

    let p99 = queries_for(&alarm("sns-alarm-service-p99.json"));
    assert_eq!(p99.len(), 1);
    let m = p99[0].metric.as_ref().unwrap();
    assert_eq!(
        (m.name.as_str(), m.stat.as_str(), m.period),
        ("Latency", "p99", 60)
    );
    assert_eq!(m.dimensions[0].name, "ServiceName");

    let rate = queries_for(&alarm("sns-alarm-service-error-rate.json"));
    let shape: Vec<(&str, Option<&str>, Option<&str>, bool)> = rate
        .iter()
        .map(|q| {
            (
                q.id.as_str(),
                q.expression.as_deref(),
                q.metric.as_ref().map(|m| m.name.as_str()),
                q.return_data,
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("rate", Some("100*errors/requests"), None, true),
            ("errors", None, Some("Errors"), false),
            ("requests", None, Some("Requests"), false),
        ]
    );

    let band = alarm("sns-alarm-anomaly-band.json");
    let t = band.trigger.as_ref().unwrap();
    assert_eq!(t.threshold_metric_id.as_deref(), Some("ad1"));
    assert_eq!(t.threshold, None);
    let q = queries_for(&band);
    assert_eq!(q.len(), 2);
    assert_eq!(
        (
            q[0].id.as_str(),
            q[0].metric.as_ref().unwrap().stat.as_str(),
            q[0].return_data
        ),
        ("m1", "Sum", true)
    );
    assert_eq!(
        (
            q[1].id.as_str(),
            q[1].expression.as_deref(),
            q[1].metric.is_none(),
            q[1].return_data
        ),
        ("ad1", Some("ANOMALY_DETECTION_BAND(m1, 2)"), true, true)
    );
}
