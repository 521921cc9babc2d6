//! The committed SNS fixtures have the shape Lambda delivers (they deserialize with
//! `aws_lambda_events`' own `SnsEvent`) and classify as expected.

use std::path::PathBuf;

use aws_lambda_events::sns::SnsEvent;
use runbook_executor::alarm::{classify, AlarmState, Classified};

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
