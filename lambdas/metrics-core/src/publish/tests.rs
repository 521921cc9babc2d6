use super::*;
use crate::aggregate::{ERRORS as ERRORS_STORED, LATENCY_MS, REQUESTS as REQUESTS_STORED};
use crate::env::Recorded;

/// 2026-11-29T18:05:00Z
const NOW: i64 = 1_795_975_500;

fn policy(services: &[&str], custom: &[&str]) -> PublishPolicy {
    PublishPolicy {
        namespace: "appmon/Services".into(),
        services: services.iter().map(|s| s.to_string()).collect(),
        custom_metrics: custom.iter().map(|s| s.to_string()).collect(),
    }
}

fn minute(offset_minutes: i64) -> Minute {
    Minute::from_epoch_seconds(NOW).add_minutes(offset_minutes)
}

/// `requests` lines with latencies and `errors` of which every `error_every`-th is 1.
fn requests(b: &mut Batch, service: &str, m: Minute, n: usize, error_every: usize) {
    for i in 0..n {
        b.record(service, m, REQUESTS_STORED, 1.0);
        let e = if error_every > 0 && i % error_every == 0 {
            1.0
        } else {
            0.0
        };
        b.record(service, m, ERRORS_STORED, e);
        b.record(service, m, LATENCY_MS, 1.0 + i as f64);
    }
}

fn keys(b: &Batch) -> Vec<GroupKey> {
    b.0.keys().cloned().collect()
}

fn all(plan: &Plan) -> Vec<&Datum> {
    plan.requests.iter().flatten().collect()
}

fn find<'a>(plan: &'a Plan, service: &str, metric: &str) -> Vec<&'a Datum> {
    all(plan)
        .into_iter()
        .filter(|d| d.service == service && d.metric == metric)
        .collect()
}

fn value(d: &Datum) -> f64 {
    match d.data {
        Data::Value(v) => v,
        Data::Distribution { .. } => panic!("{d:?} is a distribution"),
    }
}

#[test]
fn counts_are_the_minutes_sums_and_errors_are_always_sent() {
    let mut b = Batch::new();
    requests(&mut b, "api", minute(0), 10, 5);
    requests(&mut b, "db", minute(0), 3, 0);
    let p = plan(&b, &keys(&b), &policy(&["api", "db"], &[]), NOW);
    assert_eq!(p.namespace, "appmon/Services");
    assert_eq!(p.groups_published, 2);
    assert_eq!(p.requests.len(), 1);
    let api_requests = find(&p, "api", "Requests");
    assert_eq!(api_requests.len(), 1);
    assert_eq!(value(api_requests[0]), 10.0);
    assert_eq!(api_requests[0].unit, "Count");
    assert_eq!(api_requests[0].minute, minute(0));
    assert_eq!(value(find(&p, "api", "Errors")[0]), 2.0);
    // No error in the minute: Errors = 0 is still published.
    let db_errors = find(&p, "db", "Errors");
    assert_eq!(db_errors.len(), 1);
    assert_eq!(value(db_errors[0]), 0.0);
    let lat = find(&p, "db", "Latency");
    assert_eq!(lat.len(), 1);
    assert_eq!(lat[0].unit, "Milliseconds");
    assert_eq!(lat[0].sample_count(), 3.0);
}

#[test]
fn a_group_without_requests_still_gets_both_counts_and_no_empty_distribution() {
    let mut b = Batch::new();
    b.record("worker", minute(0), "queue_depth", 4.0);
    let p = plan(&b, &keys(&b), &policy(&["worker"], &["queue_depth"]), NOW);
    let names: Vec<&str> = all(&p).iter().map(|d| d.metric.as_str()).collect();
    assert_eq!(names, ["Requests", "Errors", "queue_depth"]);
    assert_eq!(value(find(&p, "worker", "Requests")[0]), 0.0);
    let custom = find(&p, "worker", "queue_depth");
    assert_eq!(custom[0].unit, CUSTOM_UNIT);
    assert_eq!(
        custom[0].data,
        Data::Distribution {
            values: vec![custom_value(&custom[0].data)],
            counts: vec![1.0]
        }
    );
    assert!((custom_value(&custom[0].data) - 4.0).abs() <= 0.04);
}

fn custom_value(d: &Data) -> f64 {
    match d {
        Data::Distribution { values, .. } => values[0],
        Data::Value(v) => *v,
    }
}

#[test]
fn only_opted_in_custom_metrics_are_published() {
    let mut b = Batch::new();
    requests(&mut b, "api", minute(0), 2, 0);
    b.record("api", minute(0), "cart_size", 3.0);
    b.record("api", minute(0), "secret_sauce", 3.0);
    let p = plan(
        &b,
        &keys(&b),
        &policy(&["api"], &["cart_size", "absent"]),
        NOW,
    );
    let mut names: Vec<&str> = all(&p).iter().map(|d| d.metric.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["Errors", "Latency", "Requests", "cart_size"]);
}

/// A sketch with `n` distinct buckets: values 5% apart (buckets are ~2% wide).
fn wide_latency(b: &mut Batch, service: &str, m: Minute, n: usize) -> u64 {
    let mut recorded = 0;
    for i in 0..n {
        let v = 1.05f64.powi(i as i32);
        // Some buckets hold several values, so counts are not all 1.
        for _ in 0..(1 + i % 3) {
            b.record(service, m, LATENCY_MS, v);
            recorded += 1;
        }
    }
    recorded
}

#[test]
fn distributions_are_chunked_at_150_values_and_keep_every_count() {
    let mut b = Batch::new();
    let n = wide_latency(&mut b, "api", minute(0), 400);
    // A zero and negatives are buckets too.
    b.record("api", minute(0), LATENCY_MS, 0.0);
    b.record("api", minute(0), LATENCY_MS, -2.0);
    let agg =
        b.0.values()
            .next()
            .unwrap()
            .get(LATENCY_MS)
            .unwrap()
            .clone();
    assert_eq!(agg.sketch.bin_count(), 402);
    let p = plan(&b, &keys(&b), &policy(&["api"], &[]), NOW);
    let lat = find(&p, "api", "Latency");
    let sizes: Vec<usize> = lat.iter().map(|d| d.value_count()).collect();
    assert_eq!(sizes, [150, 150, 102]);
    let total: f64 = lat.iter().map(|d| d.sample_count()).sum();
    assert_eq!(total, (n + 2) as f64);
    assert_eq!(total, agg.count as f64);
    let mut previous = f64::NEG_INFINITY;
    for d in &lat {
        let Data::Distribution { values, counts } = &d.data else {
            panic!("{d:?}")
        };
        assert_eq!(values.len(), counts.len());
        assert!(counts.iter().all(|c| *c >= 1.0 && c.fract() == 0.0));
        for v in values {
            assert!(
                *v > previous,
                "values ascend and are distinct: {v} after {previous}"
            );
            assert!(v.is_finite() && v.abs() < 2f64.powi(360));
            previous = *v;
        }
    }
    let Data::Distribution { values, .. } = &lat[0].data else {
        unreachable!()
    };
    assert!(
        (values[0] + 2.0).abs() <= 0.02 && values[1] == 0.0,
        "{values:?}"
    );
    // The bucket values stand within 1% of the values they hold.
    let sum: f64 = lat
        .iter()
        .map(|d| match &d.data {
            Data::Distribution { values, counts } => {
                values.iter().zip(counts).map(|(v, c)| v * c).sum::<f64>()
            }
            Data::Value(_) => unreachable!(),
        })
        .sum();
    assert!(
        (sum - agg.sum).abs() <= 0.01 * agg.sum.abs(),
        "{sum} vs {}",
        agg.sum
    );
}

#[test]
fn only_the_groups_this_commit_applied_are_published_with_the_batch_contribution() {
    let mut b = Batch::new();
    requests(&mut b, "api", minute(0), 4, 2);
    requests(&mut b, "api", minute(1), 6, 0);
    let pol = policy(&["api"], &[]);
    // A replay: every group was already applied, nothing is written, nothing is published.
    let replay = plan(&b, &[], &pol, NOW);
    assert!(replay.requests.is_empty());
    assert_eq!(replay.datums(), 0);
    assert_eq!(replay.groups_published + replay.groups_not_published, 0);
    // A retry after a crash part-way: only the group the retry wrote.
    let retry = plan(&b, &[GroupKey::new("api", minute(1))], &pol, NOW);
    assert_eq!(retry.groups_published, 1);
    assert!(all(&retry).iter().all(|d| d.minute == minute(1)));
    assert_eq!(value(find(&retry, "api", "Requests")[0]), 6.0);
    // A key the batch does not hold contributes nothing.
    let stray = plan(&b, &[GroupKey::new("api", minute(9))], &pol, NOW);
    assert!(stray.requests.is_empty());
}

#[test]
fn unlisted_services_are_counted_with_examples_never_sent() {
    let mut b = Batch::new();
    for s in ["a", "b", "c", "d", "e", "f", "g"] {
        requests(&mut b, s, minute(0), 1, 0);
        requests(&mut b, s, minute(1), 1, 0);
    }
    requests(&mut b, "api", minute(0), 1, 0);
    let p = plan(&b, &keys(&b), &policy(&["api"], &[]), NOW);
    assert_eq!(p.groups_published, 1);
    assert_eq!(p.groups_not_published, 14);
    assert_eq!(p.not_published_services, ["a", "b", "c", "d", "e"]);
    assert!(all(&p).iter().all(|d| d.service == "api"));
    // Empty PUBLISHED_SERVICES publishes nothing.
    let none = plan(&b, &keys(&b), &policy(&[], &[]), NOW);
    assert!(none.requests.is_empty());
    assert_eq!(none.groups_not_published, 15);
}

#[test]
fn minutes_outside_cloudwatch_s_window_are_counted_not_sent() {
    let mut b = Batch::new();
    let margin = WINDOW_MARGIN_SECONDS / 60;
    let too_old = -(MAX_AGE_SECONDS / 60) + margin - 1;
    let oldest_ok = -(MAX_AGE_SECONDS / 60) + margin;
    let newest_ok = MAX_FUTURE_SECONDS / 60 - margin;
    let too_new = newest_ok + 1;
    for offset in [too_old, oldest_ok, 0, newest_ok, too_new, 24 * 60] {
        requests(&mut b, "api", minute(offset), 1, 0);
    }
    let p = plan(&b, &keys(&b), &policy(&["api"], &[]), NOW);
    assert_eq!(
        (
            p.groups_published,
            p.too_old_for_cloudwatch,
            p.too_new_for_cloudwatch
        ),
        (3, 1, 2)
    );
    let minutes: BTreeSet<Minute> = all(&p).iter().map(|d| d.minute).collect();
    let expected: BTreeSet<Minute> = [oldest_ok, 0, newest_ok].map(minute).into();
    assert_eq!(minutes, expected);
}

#[test]
fn requests_hold_at_most_1000_datums() {
    let mut b = Batch::new();
    // 600 groups of counts only: 1200 one-value datums.
    for i in 0..600 {
        b.record(
            &format!("s{}", i % 6),
            minute(-(i / 6)),
            REQUESTS_STORED,
            1.0,
        );
    }
    let services: Vec<String> = (0..6).map(|i| format!("s{i}")).collect();
    let refs: Vec<&str> = services.iter().map(String::as_str).collect();
    let p = plan(&b, &keys(&b), &policy(&refs, &[]), NOW);
    let sizes: Vec<usize> = p.requests.iter().map(Vec::len).collect();
    assert_eq!(sizes, [MAX_DATUMS_PER_REQUEST, 200]);
}

#[test]
fn requests_stay_under_the_size_limit_by_a_real_encoding() {
    let mut b = Batch::new();
    for m in 0..40 {
        wide_latency(&mut b, "checkout-service", minute(-m), 300);
        b.record("checkout-service", minute(-m), "cart/value:eur", 1.0);
    }
    let pol = policy(&["checkout-service"], &["cart/value:eur"]);
    let p = plan(&b, &keys(&b), &pol, NOW);
    assert!(
        p.requests.len() > 1,
        "40 minutes of 300 buckets need several requests"
    );
    for r in &p.requests {
        assert!(r.len() <= MAX_DATUMS_PER_REQUEST);
        let values: usize = r
            .iter()
            .map(|d| match &d.data {
                Data::Distribution { values, .. } => values.len(),
                Data::Value(_) => 0,
            })
            .sum();
        assert!(
            values <= MAX_VALUES_PER_REQUEST,
            "{values} values in one request"
        );
        let estimate = request_overhead_bytes(&p.namespace)
            + r.iter().map(Datum::estimated_bytes).sum::<usize>();
        assert!(estimate <= MAX_REQUEST_BYTES);
        let real = form_encoded_len(&p.namespace, r);
        assert!(real <= estimate, "{real} > {estimate}");
        assert!(
            real > estimate / 3,
            "not absurdly pessimistic: {real} vs {estimate}"
        );
    }
}

/// The awsQuery body the pinned SDK sends, rebuilt here (form-encoded fields).
fn form_encoded_len(namespace: &str, datums: &[Datum]) -> usize {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let mut fields = vec![
        "Action=PutMetricData".to_owned(),
        "Version=2010-08-01".to_owned(),
        format!("Namespace={}", enc(namespace)),
    ];
    for (i, d) in datums.iter().enumerate() {
        let p = format!("MetricData.member.{}", i + 1);
        fields.push(format!("{p}.MetricName={}", enc(&d.metric)));
        fields.push(format!("{p}.Dimensions.member.1.Name={DIMENSION}"));
        fields.push(format!("{p}.Dimensions.member.1.Value={}", enc(&d.service)));
        fields.push(format!("{p}.Timestamp={}", enc(&d.minute.key())));
        match &d.data {
            Data::Value(v) => fields.push(format!("{p}.Value={v:e}")),
            Data::Distribution { values, counts } => {
                for (j, (v, c)) in values.iter().zip(counts).enumerate() {
                    // Debug prints the shortest round-trip form, as the SDK's encoder does.
                    fields.push(format!(
                        "{p}.Values.member.{}={}",
                        j + 1,
                        enc(&format!("{v:?}"))
                    ));
                    fields.push(format!(
                        "{p}.Counts.member.{}={}",
                        j + 1,
                        enc(&format!("{c:?}"))
                    ));
                }
            }
        }
        fields.push(format!("{p}.Unit={}", d.unit));
    }
    fields.join("&").len()
}

#[test]
fn the_policy_reads_its_three_variables() {
    let vars = Recorded::new(&[
        ("SERVICE_METRICS_NAMESPACE", "shop/Services"),
        ("PUBLISHED_SERVICES", "checkout, web,api"),
        ("PUBLISHED_METRICS", "cart_size"),
    ]);
    let p = PublishPolicy::from_lookup(vars.lookup()).unwrap();
    assert_eq!(p.namespace, "shop/Services");
    assert_eq!(
        p.services.iter().map(String::as_str).collect::<Vec<_>>(),
        ["api", "checkout", "web"]
    );
    assert_eq!(p.custom_metrics, ["cart_size"]);
    assert!(p.publishes("web") && !p.publishes("db"));
    assert_eq!(
        vars.read(),
        [
            "PUBLISHED_METRICS",
            "PUBLISHED_SERVICES",
            "SERVICE_METRICS_NAMESPACE"
        ]
    );
    // Blank lists: nothing published, nothing custom.
    let p = PublishPolicy::from_lookup(
        Recorded::new(&[
            ("SERVICE_METRICS_NAMESPACE", "shop/Services"),
            ("PUBLISHED_SERVICES", " "),
        ])
        .lookup(),
    )
    .unwrap();
    assert!(p.services.is_empty() && p.custom_metrics.is_empty());
}

#[test]
fn bad_policy_values_name_the_variable() {
    let load = |vars: &[(&str, &str)]| {
        PublishPolicy::from_lookup(Recorded::new(vars).lookup()).unwrap_err()
    };
    let ns = ("SERVICE_METRICS_NAMESPACE", "shop/Services");
    assert_eq!(
        load(&[]),
        ConfigError::Missing {
            name: "SERVICE_METRICS_NAMESPACE".into()
        }
    );
    for bad in ["AWS/Lambda", ":x", "a\u{e9}", &"n".repeat(256)] {
        assert_eq!(
            load(&[("SERVICE_METRICS_NAMESPACE", bad)]).name(),
            "SERVICE_METRICS_NAMESPACE"
        );
    }
    for bad in ["a,,b", "bad name", "#reserved", "a,a"] {
        assert_eq!(
            load(&[ns, ("PUBLISHED_SERVICES", bad)]).name(),
            "PUBLISHED_SERVICES",
            "{bad}"
        );
    }
    let many: Vec<String> = (0..=MAX_PUBLISHED_SERVICES)
        .map(|i| format!("s{i}"))
        .collect();
    let e = load(&[ns, ("PUBLISHED_SERVICES", &many.join(","))]);
    assert!(e.to_string().contains("at most 100"), "{e}");
    for bad in ["latency_ms", "Requests", "bad metric"] {
        assert_eq!(
            load(&[ns, ("PUBLISHED_METRICS", bad)]).name(),
            "PUBLISHED_METRICS",
            "{bad}"
        );
    }
}
