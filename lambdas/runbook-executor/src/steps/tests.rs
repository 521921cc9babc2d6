//! Executor logic over in-memory ports: ordering, claims, dry run, on_failure, state rules.
//! (The same flows against real AWS APIs are in tests/moto.rs.)

use chrono::Utc;

use super::*;
use crate::alarm::{classify_message, Classified};
use crate::runbook::{Loaded, Runbook};
use crate::testing::Memory;

fn alarm(state: &str) -> crate::alarm::AlarmNotification {
    let json = format!(
        r#"{{"AlarmName":"a1","NewStateValue":"{state}","StateChangeTime":"2026-11-29T18:05:31.123+0000",
        "Trigger":{{"MetricName":"errors","Namespace":"appmon","Statistic":"SUM","Period":60,
        "Dimensions":[{{"name":"ServiceName","value":"checkout"}}]}}}}"#
    );
    match classify_message(&json) {
        Classified::Alarm(a) => *a,
        Classified::Ignored(r) => panic!("{r}"),
    }
}

const ALL_STEPS: &str = r#"[{"type":"record_incident"},{"type":"gather_context"},{"type":"notify"},
    {"type":"start_automation","document":"AWS-RestartEC2Instance","parameters":{"InstanceId":["i-1"]}},{"type":"put_metric"}]"#;

fn loaded(on_failure: &str, steps: &str) -> Loaded {
    let raw = format!(r#"{{"alarm":"a1","on_failure":"{on_failure}","steps":{steps}}}"#);
    Loaded {
        runbook: Runbook::parse(&raw, "a1").unwrap(),
        fallback_reason: None,
    }
}

fn settings(dry_run: bool) -> Settings {
    Settings {
        topic_arn: "arn:t".into(),
        dry_run,
        metric_namespace: "ns".into(),
        service_metrics_namespace: Some("appmon/Services".into()),
        incident_ttl_days: 30,
    }
}

async fn exec(
    memory: &Memory,
    state: &str,
    loaded: &Loaded,
    dry_run: bool,
    message_id: &str,
) -> Executed {
    let alarm = alarm(state);
    let run = Run {
        message_id,
        alarm: &alarm,
        loaded,
        now: Utc::now(),
    };
    execute(&run, &memory.ports(), &settings(dry_run)).await
}

fn outcomes(e: &Executed) -> Vec<Outcome> {
    e.reports.iter().map(|r| r.outcome).collect()
}

#[tokio::test]
async fn runs_every_step_in_order() {
    let m = Memory::default();
    let e = exec(&m, "ALARM", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Ok; 5], "{e:#?}");
    let ops: Vec<String> = m
        .calls()
        .iter()
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(
        ops,
        [
            "claim",
            "open",
            "metric_data",
            "service_minutes",
            "claim",
            "publish",
            "claim",
            "automation",
            "claim",
            "put_metric"
        ]
    );
    assert!(m.calls().contains(
        &r#"put_metric RunbookExecutions [("AlarmName", "a1"), ("Outcome", "succeeded")]"#
            .to_string()
    ));
    let (_, body) = &m.published.lock().unwrap()[0];
    assert!(body.contains("Service checkout"), "{body}");
    assert!(body.contains("4. start_automation: runs next"), "{body}");
}

#[tokio::test]
async fn redelivery_runs_no_side_effect_twice() {
    let m = Memory::default();
    let rb = loaded("continue", ALL_STEPS);
    exec(&m, "ALARM", &rb, false, "m1").await;
    let before = m.calls().len();
    let again = exec(&m, "ALARM", &rb, false, "m1").await;
    let expected = [
        Outcome::Skipped,
        Outcome::Ok,
        Outcome::Skipped,
        Outcome::Skipped,
        Outcome::Skipped,
    ];
    assert_eq!(outcomes(&again), expected);
    let new_calls: Vec<String> = m.calls()[before..]
        .iter()
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    assert_eq!(
        new_calls,
        [
            "claim",
            "metric_data",
            "service_minutes",
            "claim",
            "claim",
            "claim"
        ]
    );
    // A different message for the same alarm is a new delivery.
    let other = exec(&m, "ALARM", &rb, false, "m2").await;
    assert_eq!(outcomes(&other), [Outcome::Ok; 5]);
}

#[tokio::test]
async fn dry_run_calls_nothing() {
    let m = Memory::default();
    let e = exec(&m, "OK", &loaded("continue", ALL_STEPS), true, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::DryRun; 5]);
    assert_eq!(m.calls(), Vec::<String>::new());
    let plans: Vec<&str> = e
        .reports
        .iter()
        .map(|r| r.detail.as_deref().unwrap())
        .collect();
    assert_eq!(plans[0], "would close the open incident under #incident#a1");
    assert!(
        plans[1].contains("service Some(\"checkout\")"),
        "{}",
        plans[1]
    );
    assert!(
        plans[3].starts_with("would skip: automation runs on ALARM only"),
        "{}",
        plans[3]
    );
}

#[tokio::test]
async fn on_failure_stop_skips_the_rest_and_continue_does_not() {
    let m = Memory::failing(&["open"]);
    let stop = exec(&m, "ALARM", &loaded("stop", ALL_STEPS), false, "m1").await;
    assert_eq!(
        outcomes(&stop),
        [
            Outcome::Failed,
            Outcome::Skipped,
            Outcome::Skipped,
            Outcome::Skipped,
            Outcome::Skipped
        ]
    );
    assert_eq!(stop.reports[0].error.as_deref(), Some("open is down"));
    assert!(!m.calls().iter().any(|c| c.starts_with("publish")));
    assert_eq!(m.claims.lock().unwrap()["#delivery#m1#0"], "failed");

    let m = Memory::failing(&["open"]);
    let cont = exec(&m, "ALARM", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(
        outcomes(&cont),
        [
            Outcome::Failed,
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Ok
        ]
    );
    assert!(
        m.calls()
            .iter()
            .any(|c| c.contains(r#"("Outcome", "failed")"#)),
        "{:?}",
        m.calls()
    );
    let (_, body) = &m.published.lock().unwrap()[0];
    assert!(
        body.contains("1. record_incident: failed - open is down"),
        "{body}"
    );
}

#[tokio::test]
async fn claim_store_failure_aborts_before_the_step_runs() {
    let m = Memory::failing(&["claim"]);
    let e = exec(&m, "ALARM", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Failed]);
    assert!(e
        .aborted
        .as_deref()
        .unwrap()
        .contains("idempotency claim failed"));
    assert_eq!(m.calls(), ["claim #delivery#m1#0"]);
}

#[tokio::test]
async fn state_decides_which_steps_apply() {
    let m = Memory::default();
    let ok = exec(&m, "OK", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(
        outcomes(&ok),
        [
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Ok,
            Outcome::Skipped,
            Outcome::Ok
        ]
    );
    assert!(m.calls().iter().any(|c| c == "close #incident#a1"));
    assert!(!m.calls().iter().any(|c| c.starts_with("automation")));

    let m = Memory::default();
    let insufficient = exec(
        &m,
        "INSUFFICIENT_DATA",
        &loaded("continue", ALL_STEPS),
        false,
        "m2",
    )
    .await;
    assert_eq!(outcomes(&insufficient)[0], Outcome::Skipped);
    assert_eq!(outcomes(&insufficient)[3], Outcome::Skipped);
}

#[tokio::test]
async fn partial_context_is_still_used_when_cloudwatch_fails() {
    let m = Memory::failing(&["metric_data"]);
    let steps = r#"[{"type":"gather_context","lookback_minutes":10},{"type":"notify"}]"#;
    let e = exec(&m, "ALARM", &loaded("continue", steps), false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Failed, Outcome::Ok]);
    assert!(e.reports[0]
        .error
        .as_deref()
        .unwrap()
        .contains("CloudWatch GetMetricData: metric_data is down"));
    let (_, body) = &m.published.lock().unwrap()[0];
    assert!(
        body.contains("Service checkout") && body.contains("10 requests"),
        "{body}"
    );
}
