//! The handler driven by API Gateway events as AWS sends them (committed
//! fixtures, payload 1.0 and 2.0). These paths answer without the table, so
//! the app's table endpoint is a closed port.

mod support;

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use metrics_api::request::{parse_event, PayloadVersion};
use serde_json::{json, Value};
use support::{call, fixture, offline_app, v1, v2};

const V1_FIXTURES: &[&str] = &[
    "v1-get-metrics.json",
    "v1-get-health.json",
    "v1-post-metrics.json",
    "v1-post-metrics-base64.json",
    "v1-options-metrics.json",
];
const V2_FIXTURES: &[&str] = &[
    "v2-get-metrics.json",
    "v2-post-metrics.json",
    "v2-get-health-stage.json",
];

#[test]
fn fixtures_have_the_shapes_aws_sends() {
    for name in V1_FIXTURES {
        serde_json::from_value::<ApiGatewayProxyRequest>(fixture(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for name in V2_FIXTURES {
        serde_json::from_value::<ApiGatewayV2httpRequest>(fixture(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn v1_and_v2_normalise_to_the_same_request() {
    let (ver1, r1) = parse_event(fixture("v1-get-metrics.json")).unwrap();
    let (ver2, r2) = parse_event(fixture("v2-get-metrics.json")).unwrap();
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    assert_eq!((ver1, ver2), (PayloadVersion::V1, PayloadVersion::V2));
    assert_eq!((r1.method.as_str(), r1.path.as_str()), ("GET", "/metrics"));
    assert_eq!((r2.method.as_str(), r2.path.as_str()), ("GET", "/metrics"));
    // The repeated `stat` survives in both: multi-value map (1.0), comma join (2.0).
    assert_eq!(r1.query["stat"], "avg,p99");
    assert_eq!(r1.query, r2.query);
    assert_eq!(r1.header("origin"), Some("https://dashboard.example.com"));
    assert_eq!(r2.header("origin"), Some("https://dashboard.example.com"));
    assert!(r1
        .headers
        .keys()
        .all(|k| k.chars().all(|c| !c.is_ascii_uppercase())));
}

#[test]
fn base64_bodies_are_decoded_and_named_stages_stripped() {
    let plain = parse_event(fixture("v1-post-metrics.json"))
        .unwrap()
        .1
        .unwrap();
    let b64 = parse_event(fixture("v1-post-metrics-base64.json"))
        .unwrap()
        .1
        .unwrap();
    assert!(!plain.body.is_empty());
    assert_eq!(plain.body, b64.body);
    assert_eq!(plain.header("idempotency-key"), Some("deploy-42-batch-1"));

    let v2post = parse_event(fixture("v2-post-metrics.json"))
        .unwrap()
        .1
        .unwrap();
    let body: Value = serde_json::from_slice(&v2post.body).unwrap();
    assert_eq!(body["service"], "checkout");

    let health = parse_event(fixture("v2-get-health-stage.json"))
        .unwrap()
        .1
        .unwrap();
    assert_eq!(health.path, "/health");
}

#[tokio::test]
async fn events_that_are_not_http_requests_fail_the_invocation() {
    let app = offline_app().await;
    let err = app.handle(json!({"Records": []})).await.unwrap_err();
    assert!(
        err.to_string().contains("not an API Gateway proxy event"),
        "{err}"
    );
}

#[tokio::test]
async fn preflight_echoes_a_listed_origin_in_both_payload_shapes() {
    let config = support::config(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://other.example, https://dashboard.example.com",
    )]);
    let app = support::app_at("http://127.0.0.1:9", config).await;

    let out = app
        .handle(fixture("v1-options-metrics.json"))
        .await
        .unwrap();
    let resp: ApiGatewayProxyResponse = serde_json::from_value(out.clone()).unwrap();
    assert_eq!(resp.status_code, 204);
    let r = support::Reply::from_event(&out);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://dashboard.example.com")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    assert!(r
        .header("access-control-allow-headers")
        .unwrap()
        .contains("Idempotency-Key"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));

    let out = app
        .handle(v2(
            "OPTIONS",
            "/health",
            &[],
            &[("Origin", "https://evil.example")],
            None,
        ))
        .await
        .unwrap();
    serde_json::from_value::<ApiGatewayV2httpResponse>(out.clone()).unwrap();
    let r = support::Reply::from_event(&out);
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        None,
        "unlisted origin is not allowed"
    );
    assert_eq!(r.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn unreachable_table_is_a_503_health_not_a_crash() {
    let app = offline_app().await;
    for event in [
        fixture("v1-get-health.json"),
        fixture("v2-get-health-stage.json"),
    ] {
        let r = call(&app, event).await;
        assert_eq!(r.status, 503, "{}", r.raw_body);
        assert_eq!(
            r.body,
            json!({"status": "unavailable", "table": "unreachable"})
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = offline_app().await;
    for make in [v1, v2] {
        call(&app, make("GET", "/metricz", &[], &[], None))
            .await
            .assert_error(404, "not_found", None);
        let r = call(&app, make("DELETE", "/metrics", &[], &[], None)).await;
        r.assert_error(405, "method_not_allowed", None);
        assert_eq!(r.header("allow"), Some("GET, POST, OPTIONS"));
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("*"),
            "CORS on errors too"
        );
        let r = call(&app, make("POST", "/health", &[], &[], Some("{}"))).await;
        r.assert_error(405, "method_not_allowed", None);
        assert_eq!(r.header("allow"), Some("GET, OPTIONS"));
    }
}

#[tokio::test]
async fn bad_query_parameters_are_400s_naming_the_parameter() {
    let app = offline_app().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("stat", "p42")], "stat"),
        (&[("stats", "avg")], "stats"),
        (&[("service", "bad service")], "service"),
        (&[("service", "")], "service"),
        (&[("metric", "a,,b")], "metric"),
        (
            &[
                ("from", "2026-11-29T19:00:00Z"),
                ("to", "2026-11-29T18:00:00Z"),
            ],
            "from",
        ),
        (
            &[
                ("from", "2026-10-01T00:00:00Z"),
                ("to", "2026-11-29T00:00:00Z"),
            ],
            "to",
        ),
        (&[("from", "last tuesday")], "from"),
        (&[("period", "61")], "period"),
        (&[("period", "abc")], "period"),
        (&[("service", "a"), ("period", "7260")], "period"),
        (&[("limit", "100000")], "limit"),
        (&[("next_token", "not-a-token")], "next_token"),
    ];
    for make in [v1, v2] {
        for (query, field) in cases {
            call(&app, make("GET", "/metrics", query, &[], None))
                .await
                .assert_error(400, "invalid_parameter", Some(field));
        }
    }
}

#[tokio::test]
async fn bad_bodies_are_400s_and_oversized_ones_413() {
    let app = offline_app().await;
    let cases: &[(&str, Option<&str>)] = &[
        // The body as a whole: every 400 names a field (docs/openapi.yaml, Error.field).
        ("{\"service\": ", Some("body")),
        ("[]", Some("body")),
        ("", Some("body")),
        (
            r#"{"service":"a!","timestamp":"2026-11-29T18:05:00Z","metrics":{"x":1}}"#,
            Some("service"),
        ),
        (
            r#"{"service":"a","timestamp":"2026-11-29T18:05:00Z","metrics":{"x":"7"}}"#,
            Some("metrics.x"),
        ),
        (
            r#"{"service":"a","timestamp":"2026-11-29T18:05:00Z","metrics":{"x":1e31}}"#,
            Some("metrics.x"),
        ),
        (
            r#"{"points":[{"service":"a","metrics":{"x":1}}]}"#,
            Some("points[0].timestamp"),
        ),
    ];
    for make in [v1, v2] {
        for (body, field) in cases {
            call(&app, make("POST", "/metrics", &[], &[], Some(body)))
                .await
                .assert_error(400, "invalid_body", *field);
        }
        call(
            &app,
            make(
                "POST",
                "/metrics",
                &[],
                &[("Idempotency-Key", "")],
                Some("{}"),
            ),
        )
        .await
        .assert_error(400, "invalid_parameter", Some("Idempotency-Key"));
    }

    let small = support::config(&[("MAX_BODY_BYTES", "64")]);
    let app = support::app_at("http://127.0.0.1:9", small).await;
    // The committed fixtures' bodies are over 64 bytes, text and base64 alike.
    for name in [
        "v1-post-metrics.json",
        "v1-post-metrics-base64.json",
        "v2-post-metrics.json",
    ] {
        call(&app, fixture(name))
            .await
            .assert_error(413, "payload_too_large", None);
    }
}

/// `POST /metrics` accepts points in the same window as log lines (`contract::acceptance`),
/// around the time API Gateway received the request: `requestContext.requestTimeEpoch` (REST)
/// or `timeEpoch` (HTTP API), in ms. Outside it is a 400 naming the point's timestamp, with
/// the bounds. Passing validation shows as 503 here (the table is offline).
#[tokio::test]
async fn post_timestamps_must_lie_in_the_window_around_the_request_time() {
    use contract::acceptance::{MAX_AGE_MS, MAX_FUTURE_MS};
    let app = offline_app().await;
    let request_ms = support::request_time_ms();
    let body = |t: i64| {
        json!({"points": [
            {"service": "a", "timestamp": request_ms / 1000, "metrics": {"x": 1}},
            {"service": "a", "timestamp": t, "metrics": {"x": 1}},
        ]})
        .to_string()
    };
    // The whole seconds just inside and just outside each edge.
    let earliest = (request_ms - MAX_AGE_MS).div_euclid(1000) + 1;
    let latest = (request_ms + MAX_FUTURE_MS).div_euclid(1000);
    for make in [v1, v2] {
        for t in [earliest, latest] {
            let r = call(&app, make("POST", "/metrics", &[], &[], Some(&body(t)))).await;
            assert_eq!(r.status, 503, "{t} is inside: {}", r.raw_body);
        }
        for t in [
            earliest - 1,
            latest + 1,
            1,
            request_ms / 1000 + 365 * 86_400,
        ] {
            let r = call(&app, make("POST", "/metrics", &[], &[], Some(&body(t)))).await;
            r.assert_error(400, "invalid_body", Some("points[1].timestamp"));
            let m = r.body["message"].as_str().unwrap();
            assert!(
                m.contains("[2026-11-15T19:00:05.123Z, 2026-11-30T19:00:05.123Z]")
                    && m.contains("14 days before to 1 day after"),
                "{m}"
            );
        }
        // The reference is the event's time, not the function's clock: the same body is
        // refused when the gateway received it a year later.
        let year_later = support::at(
            make("POST", "/metrics", &[], &[], Some(&body(latest))),
            Some(request_ms + 365 * 86_400_000),
        );
        call(&app, year_later)
            .await
            .assert_error(400, "invalid_body", Some("points[0].timestamp"));
    }
}

/// Without a request time in the event (not something API Gateway sends) the system clock is
/// the reference.
#[tokio::test]
async fn without_a_request_time_the_clock_is_the_reference() {
    let app = offline_app().await;
    let now = chrono::Utc::now().timestamp();
    let body = |t: i64| json!({"service": "a", "timestamp": t, "metrics": {"x": 1}}).to_string();
    for make in [v1, v2] {
        let at_now = support::at(make("POST", "/metrics", &[], &[], Some(&body(now))), None);
        assert_eq!(call(&app, at_now).await.status, 503);
        let old = support::at(
            make("POST", "/metrics", &[], &[], Some(&body(now - 15 * 86_400))),
            None,
        );
        call(&app, old)
            .await
            .assert_error(400, "invalid_body", Some("timestamp"));
    }
}

/// A parameter that takes one value, given twice, is refused by name; before, its values were
/// joined and the caller read about a `','` they never typed. `stat` may repeat.
#[tokio::test]
async fn a_repeated_single_valued_parameter_is_named() {
    let app = offline_app().await;
    for make in [v1, v2] {
        let r = call(
            &app,
            make(
                "GET",
                "/metrics",
                &[("service", "checkout"), ("service", "search")],
                &[],
                None,
            ),
        )
        .await;
        r.assert_error(400, "invalid_parameter", Some("service"));
        let m = r.body["message"].as_str().unwrap();
        assert!(m.contains("more than once") && !m.contains("','"), "{m}");
        let r = call(
            &app,
            make(
                "GET",
                "/metrics",
                &[
                    ("from", "2026-11-29T18:00:00Z"),
                    ("from", "2026-11-29T17:00:00Z"),
                ],
                &[],
                None,
            ),
        )
        .await;
        r.assert_error(400, "invalid_parameter", Some("from"));
        // A list parameter repeated is its values joined: valid (503: the table is offline).
        let r = call(
            &app,
            make(
                "GET",
                "/metrics",
                &[("service", "a"), ("stat", "p50"), ("stat", "p99")],
                &[],
                None,
            ),
        )
        .await;
        assert_eq!(r.status, 503, "{}", r.raw_body);
    }
}
