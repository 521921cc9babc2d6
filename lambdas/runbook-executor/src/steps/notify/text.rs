//! The human-readable notification: a pure formatter from what the executor knows to an SNS
//! subject and body. No I/O, so every line is unit-tested.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use contract::service_metrics;
use contract::slo::SloContext;

use crate::alarm::{AlarmNotification, AlarmState};
use crate::steps::gather_context::{duration, Counts, GatheredContext, Series, SloReading};
use crate::steps::StepReport;

/// SNS wants subjects "less than 100 characters" (API reference); 99 is safe either way.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// Recent values shown per series.
const MAX_POINTS: usize = 10;

/// Everything the message is made of.
pub struct Message<'a> {
    pub alarm: &'a AlarmNotification,
    /// The affected service (the runbook's `service`, else the alarm's `ServiceName` dimension).
    pub service: Option<&'a str>,
    /// The SLO an SLO alert guards (from the runbook).
    pub slo: Option<&'a SloContext>,
    pub link: Option<&'a str>,
    pub fallback_reason: Option<&'a str>,
    pub context: Option<&'a GatheredContext>,
    /// Steps already run, in order.
    pub reports: &'a [StepReport],
    /// Index of the notify step itself.
    pub own_index: usize,
    /// Kinds of the steps still to run after this one.
    pub remaining: &'a [&'a str],
    /// CloudWatch's notification as it arrived: appended when a step before this one failed,
    /// so that what the executor could not do cannot hide what CloudWatch said.
    pub raw: Option<&'a str>,
}

/// `(subject, body)`.
pub fn render(m: &Message<'_>) -> (String, String) {
    (subject(m.alarm), body(m))
}

/// e.g. `ALARM: checkout-5xx (was OK)`; printable ASCII only, at most [`MAX_SUBJECT_CHARS`].
pub fn subject(alarm: &AlarmNotification) -> String {
    let mut s = format!("{}: {}", alarm.new_state_value.as_str(), alarm.alarm_name);
    if let Some(old) = alarm.old_state_value {
        let _ = write!(s, " (was {})", old.as_str());
    }
    sanitize_subject(&s)
}

/// SNS subjects must be ASCII without control characters; long ones are cut with "...".
pub fn sanitize_subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    let clean = clean.trim().to_string();
    if clean.len() <= MAX_SUBJECT_CHARS {
        return clean;
    }
    // ASCII only, so byte indexing is character indexing.
    format!("{}...", &clean[..MAX_SUBJECT_CHARS - 3])
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn body(m: &Message<'_>) -> String {
    let a = m.alarm;
    let mut out = String::new();
    let headline = match a.new_state_value {
        AlarmState::Alarm => "is in ALARM",
        AlarmState::Ok => "has recovered (OK)",
        AlarmState::InsufficientData => "has INSUFFICIENT_DATA",
    };
    let _ = writeln!(out, "Alarm {:?} {headline}.", a.alarm_name);
    let since = a
        .state_change_time()
        .map(when)
        .unwrap_or_else(|| a.state_change_time.clone());
    let was = a
        .old_state_value
        .map(|s| format!(" (previous state {})", s.as_str()))
        .unwrap_or_default();
    let _ = writeln!(out, "Since: {since}{was}");
    if let Some(region) = &a.region {
        let _ = writeln!(out, "Region: {region}");
    }
    if let Some(d) = a
        .alarm_description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        let _ = writeln!(out, "Description: {d}");
    }
    if let Some(r) = &a.new_state_reason {
        let _ = writeln!(out, "Reason: {r}");
    }
    if let Some(rule) = &a.alarm_rule {
        let _ = writeln!(out, "Composite alarm rule: {rule}");
        if !a.triggering_children.is_empty() {
            let children: Vec<String> = a
                .triggering_children
                .iter()
                .map(|c| match &c.state {
                    Some(s) => format!(
                        "{} ({}{})",
                        c.name(),
                        s.value.as_str(),
                        s.timestamp
                            .as_deref()
                            .and_then(crate::alarm::parse_cloudwatch_time)
                            .map(|t| format!(" since {}", when(t)))
                            .unwrap_or_default()
                    ),
                    None => c.name().to_string(),
                })
                .collect();
            let _ = writeln!(out, "Triggered by: {}", children.join(", "));
        }
    }
    if let Some(service) = m.service {
        let _ = writeln!(out, "Service: {service}");
    }
    if let Some(slo) = m.slo {
        let pairs: Vec<String> = slo
            .windows
            .iter()
            .map(|w| {
                format!(
                    "{} and {} both above {}x",
                    duration(w.long_seconds),
                    duration(w.short_seconds),
                    plain(w.burn_rate)
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "SLO: {}% of requests without error over {} days; alerts when the burn rate over {}",
            plain(slo.target_percent),
            slo.window_days,
            pairs.join(", or ")
        );
    }
    if let Some(t) = &a.trigger {
        if let (Some(ns), Some(name)) = (&t.namespace, &t.metric_name) {
            let dims: Vec<String> = t
                .dimensions
                .iter()
                .map(|d| format!("{}={}", d.name, d.value))
                .collect();
            let stat = t
                .extended_statistic
                .as_ref()
                .or(t.statistic.as_ref())
                .map(String::as_str)
                .unwrap_or("?");
            let _ = write!(out, "Metric: {ns} {name} [{}] {stat}", dims.join(", "));
            if let (Some(op), Some(th)) = (&t.comparison_operator, t.threshold) {
                let _ = write!(out, ", {op} {}", number(th));
            }
            out.push('\n');
        } else if !t.metrics.is_empty() {
            let exprs: Vec<String> = t
                .metrics
                .iter()
                .filter(|q| q.return_data.unwrap_or(true))
                .map(|q| q.expression.clone().unwrap_or_else(|| q.id.clone()))
                .collect();
            let _ = write!(out, "Metric math: {}", exprs.join(", "));
            match (&t.comparison_operator, &t.threshold_metric_id, t.threshold) {
                (Some(op), Some(band), _) => {
                    let _ = write!(out, ", {op} band {band}");
                }
                (Some(op), None, Some(th)) => {
                    let _ = write!(out, ", {op} {}", number(th));
                }
                _ => {}
            }
            out.push('\n');
        }
    }

    if let Some(ctx) = m.context {
        out.push('\n');
        write_context(&mut out, ctx);
    }

    out.push('\n');
    match m.link {
        Some(link) => {
            let _ = writeln!(out, "Runbook: {link}");
        }
        None => out.push_str("Runbook: no link configured\n"),
    }
    if let Some(reason) = m.fallback_reason {
        let _ = writeln!(
            out,
            "No usable runbook, so only this notification was sent: {reason}"
        );
    }

    out.push_str("\nSteps:\n");
    for r in m.reports {
        let what = r.error.as_deref().or(r.detail.as_deref()).unwrap_or("");
        let _ = writeln!(
            out,
            "  {}. {}: {} - {what}",
            r.index + 1,
            r.step,
            r.outcome.as_str()
        );
    }
    let _ = writeln!(out, "  {}. notify: this message", m.own_index + 1);
    for (i, kind) in m.remaining.iter().enumerate() {
        let _ = writeln!(out, "  {}. {kind}: runs next", m.own_index + 2 + i);
    }
    if let Some(raw) = m.raw {
        out.push_str(
            "\nA step above failed, so here is CloudWatch's notification as it arrived:\n\n",
        );
        out.push_str(&pretty(raw));
    }
    out
}

/// CloudWatch's notification, indented for a mail client when it is JSON (it always is from
/// CloudWatch), else verbatim.
fn pretty(raw: &str) -> String {
    let mut out = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw.to_string());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `(subject, body)` of a forwarded CloudWatch notification: what on-call gets when the
/// executor did not deliver its own message (or a step failed after it did). The subject is
/// CloudWatch's own (e.g. `ALARM: "x" in US East (N. Virginia)`), else the enriched one's.
pub fn forward(
    alarm: &AlarmNotification,
    raw: crate::steps::Raw<'_>,
    reason: &str,
    reports: &[StepReport],
) -> (String, String) {
    let subject = raw
        .subject
        .filter(|s| !s.trim().is_empty())
        .map(sanitize_subject)
        .unwrap_or_else(|| subject(alarm));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Alarm {:?} is {} (since {}).",
        alarm.alarm_name,
        alarm.new_state_value.as_str(),
        alarm
            .state_change_time()
            .map(when)
            .unwrap_or_else(|| alarm.state_change_time.clone())
    );
    let _ = writeln!(
        out,
        "The runbook executor did not act on it as the runbook says: {reason}."
    );
    if !reports.is_empty() {
        out.push_str("\nSteps:\n");
        for r in reports {
            let what = r.error.as_deref().or(r.detail.as_deref()).unwrap_or("");
            let _ = writeln!(
                out,
                "  {}. {}: {} - {what}",
                r.index + 1,
                r.step,
                r.outcome.as_str()
            );
        }
    }
    out.push_str("\nCloudWatch's notification, as it arrived on the alarm topic:\n\n");
    out.push_str(&pretty(raw.message));
    (subject, out)
}

fn write_context(out: &mut String, ctx: &GatheredContext) {
    let _ = writeln!(out, "Recent values (last {} min):", ctx.lookback_minutes);
    if ctx.series.is_empty() {
        out.push_str("  none available\n");
    }
    for s in &ctx.series {
        let _ = writeln!(out, "  {}: {}", s.label, recent(s));
    }
    if let Some(svc) = &ctx.service {
        let _ = write!(
            out,
            "Service {} ({} to {}): {} requests, {} errors",
            svc.service,
            svc.from,
            svc.to_exclusive,
            number(svc.requests),
            number(svc.errors)
        );
        if svc.requests > 0.0 {
            let _ = write!(out, " ({:.1}%)", 100.0 * svc.errors / svc.requests);
        }
        match svc.p99_latency_ms {
            Some(p99) => {
                let _ = writeln!(out, ", p99 latency {} ms", number(p99));
            }
            None => out.push_str(", no latency data\n"),
        }
    }
    if let Some(slo) = &ctx.slo {
        write_slo(out, slo);
    }
}

/// Burn rate of one window, with the counts it comes from, or why there is none.
fn burn(c: &Counts, target_percent: f64) -> String {
    match c {
        Counts::Unavailable(e) => format!("unavailable ({e})"),
        Counts::Read { errors, requests } => match c.burn_rate(target_percent) {
            Some(b) => format!(
                "{}x ({} errors / {} requests)",
                rate(b),
                number(*errors),
                number(*requests)
            ),
            None => "no requests in the window, no burn rate".into(),
        },
    }
}

fn rate(v: f64) -> String {
    format!("{v:.2}")
}

/// At most 4 decimals, trailing zeros dropped: `99.9`, `14.4`, `6`, `0.1`, `1000`.
fn plain(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn write_slo(out: &mut String, slo: &SloReading) {
    let source = match &slo.namespace {
        Some(ns) => format!(
            "CloudWatch namespace {ns}, Sum of {} and {} with {}={}",
            service_metrics::ERRORS.name,
            service_metrics::REQUESTS.name,
            service_metrics::DIMENSION,
            slo.service
        ),
        None => "namespace not configured".into(),
    };
    let _ = writeln!(
        out,
        "SLO burn rates of {} (error ratio / error budget ratio {}%), from the published service metrics ({source}), windows ending {}:",
        slo.service,
        plain(100.0 - slo.target_percent),
        when(slo.end)
    );
    for p in &slo.pairs {
        let _ = writeln!(
            out,
            "  {}: {}; {}: {}; alerts when both are above {}x",
            duration(p.window.long_seconds),
            burn(&p.long, slo.target_percent),
            duration(p.window.short_seconds),
            burn(&p.short, slo.target_percent),
            plain(p.window.burn_rate)
        );
    }
    let budget = match &slo.budget {
        Counts::Unavailable(e) => format!("unavailable ({e})"),
        Counts::Read { errors, requests } => {
            match contract::slo::budget_remaining(*errors, *requests, slo.target_percent) {
                Some(left) => {
                    let allowed = requests * (1.0 - slo.target_percent / 100.0);
                    let over = if left < 0.0 { ", overspent" } else { "" };
                    format!(
                        "{:.1}% left{over} ({} errors of {} allowed in {} requests)",
                        100.0 * left,
                        number(*errors),
                        plain(allowed),
                        number(*requests)
                    )
                }
                None => "no requests in the window, no budget figure".into(),
            }
        }
    };
    let _ = writeln!(
        out,
        "  Error budget over the last {} days: {budget}",
        slo.window_days
    );
}

fn recent(s: &Series) -> String {
    if s.points.is_empty() {
        return "no datapoints".into();
    }
    let skip = s.points.len().saturating_sub(MAX_POINTS);
    let shown: Vec<String> = s.points[skip..]
        .iter()
        .map(|(t, v)| format!("{} {}", t.format("%H:%M"), number(*v)))
        .collect();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarm::{classify_message, Classified};
    use crate::steps::gather_context::ServiceSummary;
    use crate::steps::Outcome;
    use metrics_core::minute::Minute;

    fn alarm(json: &str) -> AlarmNotification {
        match classify_message(json) {
            Classified::Alarm(a) => *a,
            Classified::Ignored(r) => panic!("{r}"),
        }
    }

    const ALARM: &str = r#"{"AlarmName":"checkout-5xx","AlarmDescription":null,"NewStateValue":"ALARM","OldStateValue":"OK","NewStateReason":"Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).","StateChangeTime":"2026-11-29T18:05:31.123+0000","Region":"US East (N. Virginia)","Trigger":{"MetricName":"errors","Namespace":"appmon","Statistic":"SUM","Dimensions":[{"value":"checkout","name":"ServiceName"}],"Period":60,"ComparisonOperator":"GreaterThanThreshold","Threshold":5.0}}"#;

    #[test]
    fn subject_is_short_ascii() {
        assert_eq!(subject(&alarm(ALARM)), "ALARM: checkout-5xx (was OK)");
        let long = sanitize_subject(&format!("ALARM: {}\u{e9}\n", "x".repeat(200)));
        assert_eq!(long.len(), MAX_SUBJECT_CHARS);
        assert!(long.ends_with("..."));
        assert_eq!(sanitize_subject("caf\u{e9}\tbar"), "caf??bar");
    }

    #[test]
    fn body_has_what_since_why_values_service_link_and_steps() {
        let a = alarm(ALARM);
        let t = |m| DateTime::parse_from_rfc3339(m).unwrap().with_timezone(&Utc);
        let ctx = GatheredContext {
            lookback_minutes: 30,
            series: vec![Series {
                id: "m1".into(),
                label: "errors".into(),
                points: vec![
                    (t("2026-11-29T18:04:00Z"), 3.0),
                    (t("2026-11-29T18:05:00Z"), 12.0),
                ],
            }],
            service: Some(ServiceSummary {
                service: "checkout".into(),
                from: Minute::parse_key("2026-11-29T17:36:00Z").unwrap(),
                to_exclusive: Minute::parse_key("2026-11-29T18:06:00Z").unwrap(),
                minutes_with_data: 30,
                requests: 200.0,
                errors: 15.0,
                p99_latency_ms: Some(812.5),
            }),
            slo: None,
        };
        let reports = [StepReport {
            index: 0,
            step: "record_incident",
            outcome: Outcome::Ok,
            duration_ms: 12,
            detail: Some("opened incident".into()),
            error: None,
        }];
        let m = Message {
            alarm: &a,
            service: Some("checkout"),
            slo: None,
            link: Some("https://wiki.example.com/checkout-5xx"),
            fallback_reason: None,
            context: Some(&ctx),
            reports: &reports,
            own_index: 1,
            remaining: &["put_metric"],
            raw: None,
        };
        let (_, body) = render(&m);
        for want in [
            "Alarm \"checkout-5xx\" is in ALARM.",
            "Since: 2026-11-29 18:05:31 UTC (previous state OK)",
            "Region: US East (N. Virginia)",
            "Reason: Threshold Crossed",
            "Metric: appmon errors [ServiceName=checkout] SUM, GreaterThanThreshold 5",
            "errors: 18:04 3, 18:05 12",
            "Service checkout (2026-11-29T17:36:00Z to 2026-11-29T18:06:00Z): 200 requests, 15 errors (7.5%), p99 latency 812.50 ms",
            "Runbook: https://wiki.example.com/checkout-5xx",
            "1. record_incident: ok - opened incident",
            "2. notify: this message",
            "3. put_metric: runs next",
        ] {
            assert!(body.contains(want), "missing {want:?} in:\n{body}");
        }
        assert!(
            !body.contains("Description"),
            "null description must not print:\n{body}"
        );
    }

    /// The alarm inside a committed SNS fixture.
    fn fixture_alarm(event: &str) -> AlarmNotification {
        let event: serde_json::Value = serde_json::from_str(event).unwrap();
        alarm(event["Records"][0]["Sns"]["Message"].as_str().unwrap())
    }

    fn plain_body(a: &AlarmNotification, service: Option<&str>) -> String {
        let m = Message {
            alarm: a,
            service,
            slo: None,
            link: None,
            fallback_reason: None,
            context: None,
            reports: &[],
            own_index: 0,
            remaining: &[],
            raw: None,
        };
        render(&m).1
    }

    #[test]
    fn service_alarms_show_their_metric_and_service() {
        let p99 = fixture_alarm(include_str!(
            "../../../tests/fixtures/sns-alarm-service-p99.json"
        ));
        let body = plain_body(&p99, Some("checkout"));
        for want in [
            "Metric: appmon/Services Latency [ServiceName=checkout] p99, GreaterThanThreshold 500\n",
            "Service: checkout\n",
        ] {
            assert!(body.contains(want), "missing {want:?} in:\n{body}");
        }
        let band = fixture_alarm(include_str!(
            "../../../tests/fixtures/sns-alarm-anomaly-band.json"
        ));
        let body = plain_body(&band, Some("checkout"));
        assert!(
            body.contains("Metric math: m1, ANOMALY_DETECTION_BAND(m1, 2), LessThanLowerOrGreaterThanUpperThreshold band ad1\n"),
            "{body}"
        );
        let rate = fixture_alarm(include_str!(
            "../../../tests/fixtures/sns-alarm-service-error-rate.json"
        ));
        let body = plain_body(&rate, None);
        assert!(
            body.contains("Metric math: 100*errors/requests, GreaterThanThreshold 5\n"),
            "{body}"
        );
        assert!(!body.contains("Service:"), "{body}");
    }

    #[test]
    fn fallback_is_explained() {
        let a = alarm(ALARM);
        let m = Message {
            alarm: &a,
            service: Some("checkout"),
            slo: None,
            link: None,
            fallback_reason: Some("runbook parameter /appmon/runbooks/checkout-5xx does not exist"),
            context: None,
            reports: &[],
            own_index: 0,
            remaining: &[],
            raw: None,
        };
        let (_, body) = render(&m);
        assert!(body.contains("Runbook: no link configured"), "{body}");
        assert!(
            body.contains("only this notification was sent: runbook parameter"),
            "{body}"
        );
    }
}
