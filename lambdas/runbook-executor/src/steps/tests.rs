//! Executor logic over in-memory ports: ordering, claims, dry run, on_failure, state rules.
//! (The same flows against real AWS APIs are in tests/moto.rs.)

use chrono::Utc;

use super::*;
use crate::alarm::{classify_message, Classified};
use crate::runbook::{Loaded, Runbook};
use crate::testing::Memory;

fn alarm(state: &str) -> crate::alarm::AlarmNotification {
    let json = alarm_json(state);
    match classify_message(&json) {
        Classified::Alarm(a) => *a,
        Classified::Ignored(r) => panic!("{r}"),
    }
}

fn alarm_json(state: &str) -> String {
    format!(
        r#"{{"AlarmName":"a1","NewStateValue":"{state}","StateChangeTime":"2026-11-29T18:05:31.123+0000",
        "Trigger":{{"MetricName":"errors","Namespace":"appmon","Statistic":"SUM","Period":60,
        "Dimensions":[{{"name":"ServiceName","value":"checkout"}}]}}}}"#
    )
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
    let json = alarm_json(state);
    let run = Run {
        raw: crate::steps::Raw {
            message: &json,
            subject: None,
        },
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
    assert_eq!(outcomes(&e)[..5], [Outcome::DryRun; 5]);
    // Nothing but CloudWatch's notification, forwarded to on-call (no claim: a dry run writes
    // nothing); the runbook's own steps call nothing.
    assert_eq!(m.calls(), ["publish OK: a1"]);
    assert_eq!(e.reports[5].step, FORWARD);
    assert_eq!(e.reports[5].outcome, Outcome::Ok);
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
            Outcome::Skipped,
            Outcome::Ok
        ]
    );
    assert_eq!(stop.reports[0].error.as_deref(), Some("open is down"));
    // The notify step never ran, so CloudWatch's notification goes to on-call instead.
    assert_eq!(stop.reports.len(), 6);
    assert_eq!(
        (stop.reports[5].step, stop.reports[5].outcome),
        (FORWARD, Outcome::Ok)
    );
    let publishes: Vec<String> = m
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("publish"))
        .collect();
    assert_eq!(publishes, ["publish ALARM: a1"]);
    let (_, body) = m.published.lock().unwrap()[0].clone();
    assert!(
        body.contains(
            "did not act on it as the runbook says: the notify step did not publish (skipped"
        ),
        "{body}"
    );
    assert!(
        body.contains("1. record_incident: failed - open is down"),
        "{body}"
    );
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
    let published = m.published.lock().unwrap();
    assert_eq!(published.len(), 1, "one message: the enriched one");
    let (_, body) = &published[0];
    assert!(
        body.contains("1. record_incident: failed - open is down"),
        "{body}"
    );
    // A step before it failed: the enriched message carries CloudWatch's notification.
    assert!(
        body.contains("A step above failed, so here is CloudWatch's notification as it arrived:\n\n{\n  \"AlarmName\": \"a1\""),
        "{body}"
    );
}

/// On-call gets exactly one message per state change: the enriched one when the notify step
/// published it, else CloudWatch's own, forwarded once (a redelivery forwards nothing more).
#[tokio::test]
async fn cloudwatchs_notification_is_forwarded_exactly_when_no_enriched_message_went_out() {
    // A runbook without notify: forwarded, once per message.
    let m = Memory::default();
    let rb = loaded("continue", r#"[{"type":"put_metric"}]"#);
    let e = exec(&m, "ALARM", &rb, false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Ok, Outcome::Ok]);
    assert_eq!(e.reports[1].step, FORWARD);
    let again = exec(&m, "ALARM", &rb, false, "m1").await;
    assert_eq!(outcomes(&again), [Outcome::Skipped, Outcome::Skipped]);
    let published = m.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1, "{published:?}");
    let (subject, body) = &published[0];
    assert_eq!(subject, "ALARM: a1");
    assert!(body.contains("the runbook has no notify step"), "{body}");
    assert!(body.contains("\"AlarmName\": \"a1\""), "{body}");
    assert_eq!(m.claims.lock().unwrap()["#delivery#m1#1"], "done");

    // The notify step published: nothing is forwarded.
    let m = Memory::default();
    let e = exec(&m, "ALARM", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Ok; 5]);
    assert_eq!(m.published.lock().unwrap().len(), 1);

    // A step after the notification failed: the message said it "runs next", so CloudWatch's
    // notification follows with what happened.
    let m = Memory::failing(&["automation"]);
    let e = exec(&m, "ALARM", &loaded("continue", ALL_STEPS), false, "m1").await;
    assert_eq!(e.reports[3].outcome, Outcome::Failed);
    assert_eq!(
        (e.reports[5].step, e.reports[5].outcome),
        (FORWARD, Outcome::Ok)
    );
    let published = m.published.lock().unwrap().clone();
    assert_eq!(published.len(), 2);
    assert!(
        published[1].1.contains(
            "step 4 (start_automation) failed after the notification was sent: automation is down"
        ),
        "{}",
        published[1].1
    );
}

/// When SNS refuses both the notify step and the forward, the invocation fails (Lambda retries,
/// then its on-failure destination gets the event); the retry forwards again.
#[tokio::test]
async fn a_forward_that_cannot_publish_fails_the_invocation_and_a_retry_tries_again() {
    let m = Memory::failing(&["publish"]);
    let rb = loaded("continue", r#"[{"type":"notify"}]"#);
    let e = exec(&m, "ALARM", &rb, false, "m1").await;
    assert_eq!(outcomes(&e), [Outcome::Failed, Outcome::Failed]);
    assert!(e.aborted.as_deref().unwrap().contains("could not forward CloudWatch's notification (the notify step did not publish (failed: publish is down)): publish is down"), "{:?}", e.aborted);
    assert_eq!(m.claims.lock().unwrap()["#delivery#m1#1"], "failed");
    let again = exec(&m, "ALARM", &rb, false, "m1").await;
    assert_eq!(
        outcomes(&again),
        [Outcome::Skipped, Outcome::Failed],
        "the failed forward is tried again"
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

/// A composite SLO alert: no `Trigger`, the service and the SLO come from the runbook.
const COMPOSITE: &str = r#"{"AlarmName":"a1","AlarmDescription":null,"NewStateValue":"ALARM","OldStateValue":"OK",
    "NewStateReason":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a1-5m transitioned to ALARM at Sunday 29 November, 2026 18:05:31 UTC",
    "StateChangeTime":"2026-11-29T18:05:31.123+0000","AlarmArn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a1",
    "AlarmRule":"(ALARM(\"a1-1h\") AND ALARM(\"a1-5m\")) OR (ALARM(\"a1-6h\") AND ALARM(\"a1-30m\"))",
    "TriggeringChildren":[{"Arn":"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a1-5m","State":{"Value":"ALARM","Timestamp":"2026-11-29T18:05:31.123+0000"}}]}"#;

fn slo_loaded(steps: &str) -> Loaded {
    let raw = format!(
        r#"{{"alarm":"a1","service":"checkout","slo":{{"target_percent":99.9,"window_days":30,"windows":[
        {{"long_seconds":3600,"short_seconds":300,"burn_rate":14.4}},{{"long_seconds":21600,"short_seconds":1800,"burn_rate":6}}]}},
        "steps":{steps}}}"#
    );
    Loaded {
        runbook: Runbook::parse(&raw, "a1").unwrap(),
        fallback_reason: None,
    }
}

/// Errors and Requests sums the fake CloudWatch answers, by period (no Requests for 30m).
fn seed_slo_values(m: &Memory) {
    let mut v = m.metric_values.lock().unwrap();
    for (name, period, value) in [
        ("Errors", 3600, 144.0),
        ("Requests", 3600, 10_000.0),
        ("Errors", 300, 20.0),
        ("Requests", 300, 1000.0),
        ("Errors", 21600, 300.0),
        ("Requests", 21600, 60_000.0),
        ("Errors", 1800, 0.0),
        ("Errors", 86400, 500.0),
        ("Requests", 86400, 1_000_000.0),
    ] {
        v.insert((name.to_string(), period), value);
    }
}

async fn exec_composite(memory: &Memory, loaded: &Loaded, namespace: Option<&str>) -> Executed {
    let alarm = match classify_message(COMPOSITE) {
        Classified::Alarm(a) => *a,
        Classified::Ignored(r) => panic!("{r}"),
    };
    assert!(alarm.is_composite());
    let run = Run {
        raw: crate::steps::Raw {
            message: "{}",
            subject: None,
        },
        message_id: "m1",
        alarm: &alarm,
        loaded,
        now: Utc::now(),
    };
    let settings = Settings {
        service_metrics_namespace: namespace.map(str::to_string),
        ..settings(false)
    };
    execute(&run, &memory.ports(), &settings).await
}

const GATHER_NOTIFY: &str = r#"[{"type":"gather_context"},{"type":"notify"}]"#;

#[tokio::test]
async fn slo_alert_states_burn_rates_and_budget_from_the_published_metrics() {
    let m = Memory::default();
    seed_slo_values(&m);
    let e = exec_composite(&m, &slo_loaded(GATHER_NOTIFY), Some("appmon/Services")).await;
    assert_eq!(outcomes(&e), [Outcome::Ok, Outcome::Ok], "{e:#?}");

    // One GetMetricData per window length, each one period long, ending at the minute after
    // the state change; the budget in daily periods over 30 days. No alarm queries: composite.
    let reads: Vec<String> = m
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("metric_data"))
        .collect();
    assert_eq!(
        reads,
        [
            "metric_data errors,requests [3600, 3600] 2026-11-29T17:06:00+00:00..2026-11-29T18:06:00+00:00",
            "metric_data errors,requests [300, 300] 2026-11-29T18:01:00+00:00..2026-11-29T18:06:00+00:00",
            "metric_data errors,requests [21600, 21600] 2026-11-29T12:06:00+00:00..2026-11-29T18:06:00+00:00",
            "metric_data errors,requests [1800, 1800] 2026-11-29T17:36:00+00:00..2026-11-29T18:06:00+00:00",
            "metric_data errors,requests [86400, 86400] 2026-10-30T18:06:00+00:00..2026-11-29T18:06:00+00:00",
        ]
    );
    // The runbook's service is used for the table too.
    assert!(m.calls().contains(&"service_minutes checkout".to_string()));

    let (subject, body) = &m.published.lock().unwrap()[0];
    assert_eq!(subject, "ALARM: a1 (was OK)");
    for want in [
        "Composite alarm rule: (ALARM(\"a1-1h\") AND ALARM(\"a1-5m\")) OR",
        "Triggered by: a1-5m (ALARM since 2026-11-29 18:05:31 UTC)",
        "Service: checkout\n",
        "SLO: 99.9% of requests without error over 30 days; alerts when the burn rate over 1h and 5m both above 14.4x, or 6h and 30m both above 6x",
        "SLO burn rates of checkout (error ratio / error budget ratio 0.1%), from the published service metrics (CloudWatch namespace appmon/Services, Sum of Errors and Requests with ServiceName=checkout), windows ending 2026-11-29 18:06:00 UTC:",
        "  1h: 14.40x (144 errors / 10000 requests); 5m: 20.00x (20 errors / 1000 requests); alerts when both are above 14.4x",
        "  6h: 5.00x (300 errors / 60000 requests); 30m: no requests in the window, no burn rate; alerts when both are above 6x",
        "  Error budget over the last 30 days: 50.0% left (500 errors of 1000 allowed in 1000000 requests)",
    ] {
        assert!(body.contains(want), "missing {want:?} in:\n{body}");
    }
    assert!(
        e.reports[0].detail.as_deref().unwrap().contains(
            "composite alarm: no metric of its own; 1 minutes of checkout metrics; SLO burn rates of checkout over 2 window pairs and the 30-day budget"
        ),
        "{:?}",
        e.reports[0].detail
    );
}

#[tokio::test]
async fn slo_numbers_that_cannot_be_read_are_stated_and_the_rest_still_runs() {
    // CloudWatch down: gather_context fails (every SLO read named once), notify still runs with
    // the table's numbers and says why the SLO numbers are missing.
    let m = Memory::failing(&["metric_data"]);
    let e = exec_composite(
        &m,
        &slo_loaded(r#"[{"type":"gather_context"},{"type":"notify"},{"type":"put_metric"}]"#),
        Some("appmon/Services"),
    )
    .await;
    assert_eq!(
        outcomes(&e),
        [Outcome::Failed, Outcome::Ok, Outcome::Ok],
        "{e:#?}"
    );
    let error = e.reports[0].error.as_deref().unwrap();
    assert_eq!(
        error,
        "SLO 1h, 5m, 6h, 30m, 30d budget of checkout: CloudWatch GetMetricData: metric_data is down"
    );
    let body = m.published.lock().unwrap()[0].1.clone();
    for want in [
        "Service checkout (",
        "10 requests",
        "  1h: unavailable (CloudWatch GetMetricData: metric_data is down); 5m: unavailable",
        "  Error budget over the last 30 days: unavailable (CloudWatch GetMetricData: metric_data is down)",
        "1. gather_context: failed - SLO 1h, 5m",
    ] {
        assert!(body.contains(want), "missing {want:?} in:\n{body}");
    }

    // No requests at all: no burn rate and no budget figure, but no failure either.
    let m = Memory::default();
    let e = exec_composite(&m, &slo_loaded(GATHER_NOTIFY), Some("appmon/Services")).await;
    assert_eq!(outcomes(&e), [Outcome::Ok, Outcome::Ok], "{e:#?}");
    let body = m.published.lock().unwrap()[0].1.clone();
    assert!(
        body.contains("  1h: no requests in the window, no burn rate; 5m: no requests"),
        "{body}"
    );
    assert!(
        body.contains(
            "Error budget over the last 30 days: no requests in the window, no budget figure"
        ),
        "{body}"
    );

    // Deployed without SERVICE_METRICS_NAMESPACE: nothing is queried, and the message says so.
    let m = Memory::default();
    let e = exec_composite(&m, &slo_loaded(GATHER_NOTIFY), None).await;
    assert_eq!(outcomes(&e), [Outcome::Failed, Outcome::Ok], "{e:#?}");
    assert!(!m.calls().iter().any(|c| c.starts_with("metric_data")));
    assert!(
        e.reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("SERVICE_METRICS_NAMESPACE is not set on the function"),
        "{:?}",
        e.reports[0].error
    );
}

#[tokio::test]
async fn an_slo_runbook_without_gather_context_still_names_the_service_and_the_slo() {
    let m = Memory::default();
    let e = exec_composite(
        &m,
        &slo_loaded(r#"[{"type":"notify"}]"#),
        Some("appmon/Services"),
    )
    .await;
    assert_eq!(outcomes(&e), [Outcome::Ok]);
    let (_, body) = &m.published.lock().unwrap()[0];
    assert!(body.contains("Service: checkout\n"), "{body}");
    assert!(body.contains("SLO: 99.9% of requests"), "{body}");
    assert!(!body.contains("SLO burn rates"), "{body}");
}

#[tokio::test]
async fn dry_run_plans_the_slo_reads() {
    let m = Memory::default();
    let alarm = match classify_message(COMPOSITE) {
        Classified::Alarm(a) => *a,
        Classified::Ignored(r) => panic!("{r}"),
    };
    let loaded = slo_loaded(GATHER_NOTIFY);
    let run = Run {
        raw: crate::steps::Raw {
            message: "{}",
            subject: None,
        },
        message_id: "m1",
        alarm: &alarm,
        loaded: &loaded,
        now: Utc::now(),
    };
    let e = execute(&run, &m.ports(), &settings(true)).await;
    let calls = m.calls();
    assert!(
        calls.len() == 1 && calls[0].starts_with("publish ALARM: "),
        "only the forward: {calls:?}"
    );
    let plan = e.reports[0].detail.as_deref().unwrap();
    assert!(
        plan.contains("service Some(\"checkout\")")
            && plan.contains("SLO Errors/Requests sums over 1h, 5m, 6h, 30m and 30 days"),
        "{plan}"
    );
}

#[tokio::test]
async fn a_window_length_shared_by_two_pairs_is_read_once() {
    let m = Memory::default();
    seed_slo_values(&m);
    let raw = r#"{"alarm":"a1","service":"checkout","slo":{"target_percent":99.9,"window_days":7,"windows":[
        {"long_seconds":21600,"short_seconds":1800,"burn_rate":6},{"long_seconds":259200,"short_seconds":21600,"burn_rate":1}]},
        "steps":[{"type":"gather_context"},{"type":"notify"}]}"#;
    let loaded = Loaded {
        runbook: Runbook::parse(raw, "a1").unwrap(),
        fallback_reason: None,
    };
    let e = exec_composite(&m, &loaded, Some("appmon/Services")).await;
    assert_eq!(outcomes(&e), [Outcome::Ok, Outcome::Ok], "{e:#?}");
    let periods: Vec<String> = m
        .calls()
        .iter()
        .filter(|c| c.starts_with("metric_data"))
        .map(|c| c.split(' ').nth(2).unwrap().to_string())
        .collect();
    assert_eq!(periods, ["[21600,", "[1800,", "[259200,", "[86400,"]);
    let body = m.published.lock().unwrap()[0].1.clone();
    // The 6h figure appears in both pairs.
    assert_eq!(
        body.matches("6h: 5.00x (300 errors / 60000 requests)")
            .count(),
        2,
        "{body}"
    );
    assert!(
        body.contains("Error budget over the last 7 days: 50.0% left"),
        "{body}"
    );
}
