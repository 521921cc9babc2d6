//! `docs/openapi.yaml` against the handler, both ways: every documented
//! route/method answers and every implemented one is documented; documented
//! parameters are exactly the accepted ones; error bodies match the schema.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use metrics_api::query::{self, rfc3339, MAX_LIMIT, PARAMS};
use metrics_api::routes::ROUTES;
use metrics_core::aggregate::Stat;
use serde_json::json;
use support::schema::Doc;
use support::{call, offline_app, v1, v2, Reply};

const ALL_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn documented(doc: &Doc) -> BTreeMap<String, BTreeSet<String>> {
    doc.0["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, ops)| {
            let methods = ops
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

fn implemented() -> BTreeMap<String, BTreeSet<String>> {
    ROUTES
        .iter()
        .map(|r| {
            let mut m: BTreeSet<String> = r.methods.iter().map(|(m, _)| (*m).to_owned()).collect();
            m.insert("OPTIONS".to_owned());
            (r.path.to_owned(), m)
        })
        .collect()
}

/// A request that passes validation for each documented operation.
fn sample(method: &str, path: &str) -> (Vec<(&'static str, &'static str)>, Option<String>) {
    match (method, path) {
        // A point at the events' own request time: inside the acceptance window.
        ("POST", _) => (
            vec![],
            Some(
                json!({"service": "a", "timestamp": support::request_time_ms() / 1000, "metrics": {"x": 1}})
                    .to_string(),
            ),
        ),
        _ => (vec![], None),
    }
}

fn check_against_doc(doc: &Doc, path: &str, method: &str, r: &Reply) {
    let documented = doc.response(path, method, r.status).unwrap_or_else(|| {
        panic!(
            "{method} {path} answered undocumented status {}: {}",
            r.status, r.raw_body
        )
    });
    match documented.pointer("/content/application~1json/schema") {
        Some(schema) => doc
            .check(schema, &r.body)
            .unwrap_or_else(|e| panic!("{method} {path} {}: {e}\n{}", r.status, r.raw_body)),
        None => assert_eq!(r.raw_body, "", "{method} {path}: documented without a body"),
    }
}

#[test]
fn document_is_valid_openapi_3() {
    let validator = support::repo_root().join(".tools/venv/bin/openapi-spec-validator");
    assert!(
        validator.exists(),
        "{} missing: run `scripts/bootstrap.sh` (or `just tools`), or `pip install openapi-spec-validator`",
        validator.display()
    );
    let out = Command::new(&validator)
        .arg(support::repo_root().join("docs/openapi.yaml"))
        .output()
        .expect("run openapi-spec-validator");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn documented_routes_are_exactly_the_implemented_ones() {
    assert_eq!(documented(&Doc::load()), implemented());
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let doc = Doc::load();
    let app = offline_app().await;
    for (path, methods) in documented(&doc) {
        for method in &methods {
            let (query, body) = sample(method, &path);
            for make in [v1, v2] {
                let r = call(&app, make(method, &path, &query, &[], body.as_deref())).await;
                assert!(
                    r.status != 404 && r.status != 405,
                    "{method} {path}: {}",
                    r.raw_body
                );
                check_against_doc(&doc, &path, method, &r);
            }
        }
        // Every other method is a 405 naming exactly the documented ones.
        let allow: Vec<&str> = ALL_METHODS
            .iter()
            .copied()
            .filter(|m| methods.contains(*m))
            .collect();
        for method in ALL_METHODS.iter().filter(|m| !methods.contains(**m)) {
            let r = call(&app, v1(method, &path, &[], &[], None)).await;
            r.assert_error(405, "method_not_allowed", None);
            let got: BTreeSet<&str> = r.header("allow").unwrap().split(", ").collect();
            assert_eq!(got, allow.iter().copied().collect(), "{method} {path}");
            doc.check(doc.schema("Error"), &r.body).unwrap();
        }
    }
    let r = call(&app, v2("GET", "/undocumented", &[], &[], None)).await;
    r.assert_error(404, "not_found", None);
    doc.check(doc.schema("Error"), &r.body).unwrap();
}

fn query_params(doc: &Doc, path: &str, method: &str, location: &str) -> BTreeSet<String> {
    doc.0["paths"][path][method]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| doc.resolve(p))
        .filter(|p| p["in"] == location)
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn documented_parameters_are_exactly_the_accepted_ones() {
    let doc = Doc::load();
    let documented = query_params(&doc, "/metrics", "get", "query");
    let accepted: BTreeSet<String> = PARAMS.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(documented, accepted);
    assert_eq!(
        query_params(&doc, "/metrics", "post", "header"),
        BTreeSet::from(["Idempotency-Key".to_owned()])
    );
    assert!(query_params(&doc, "/health", "get", "query").is_empty());
    assert_eq!(metrics_api::ingest::IDEMPOTENCY_HEADER, "idempotency-key");

    // Each documented parameter passes validation with a valid value (the
    // table is offline, so passing means 503, not a 400 naming it) ...
    let app = offline_app().await;
    let base = [
        ("service", "checkout"),
        ("metric", "latency_ms,errors"),
        ("from", "2026-11-29T18:00:00Z"),
        ("to", "1795978800"),
        ("period", "120"),
        ("stat", "count,p99"),
        ("limit", "10"),
    ];
    let as_map: BTreeMap<String, String> = base
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let q = query::parse(&as_map, 0).unwrap();
    let token = q.token_for(q.page().next.unwrap(), None);
    let mut all: Vec<(&str, &str)> = base.to_vec();
    all.push(("next_token", &token));
    // `top` ranks services, so it goes without `service`: a second query.
    let ranked = [
        ("from", "2026-11-29T00:00:00Z"),
        ("to", "2026-11-30T00:00:00Z"),
        ("period", "3600"),
        ("top", "10"),
        ("order", "errors:sum"),
    ];
    assert_eq!(
        all.iter()
            .chain(&ranked)
            .map(|(k, _)| k.to_string())
            .collect::<BTreeSet<_>>(),
        accepted
    );
    for query in [&all[..], &ranked[..]] {
        for make in [v1, v2] {
            let r = call(&app, make("GET", "/metrics", query, &[], None)).await;
            assert_eq!(r.status, 503, "{}", r.raw_body);
            check_against_doc(&doc, "/metrics", "GET", &r);
        }
    }
    // ... and an undocumented one is refused by name.
    let r = call(&app, v1("GET", "/metrics", &[("region", "eu")], &[], None)).await;
    r.assert_error(400, "invalid_parameter", Some("region"));
    check_against_doc(&doc, "/metrics", "GET", &r);

    // Enumerations and bounds agree with the code.
    let stat = doc.resolve(&doc.0["components"]["parameters"]["stat"]);
    let names: Vec<&str> = Stat::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(stat["schema"]["items"]["enum"], json!(names));
    let limit = doc.resolve(&doc.0["components"]["parameters"]["limit"]);
    assert_eq!(limit["schema"]["maximum"], json!(MAX_LIMIT));
    let top = doc.resolve(&doc.0["components"]["parameters"]["top"]);
    assert_eq!(top["schema"]["maximum"], json!(metrics_api::query::MAX_TOP));
    let codes = doc.schema("Error")["properties"]["error"]["enum"].clone();
    assert_eq!(codes, json!(metrics_api::error::CODES));
}

#[tokio::test]
async fn error_bodies_match_the_documented_error_schema() {
    let doc = Doc::load();
    let app = offline_app().await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Option<&'a str>, u16);
    let cases: Vec<Case> = vec![
        ("GET", vec![("stat", "median")], None, 400),
        ("GET", vec![("period", "30")], None, 400),
        ("POST", vec![], Some("not json"), 400),
        (
            "POST",
            vec![],
            Some(r#"{"service":"a","timestamp":"x","metrics":{"m":1}}"#),
            400,
        ),
        ("GET", vec![("service", "a")], None, 503),
    ];
    for make in [v1, v2] {
        for (method, query, body, status) in &cases {
            let r = call(&app, make(method, "/metrics", query, &[], *body)).await;
            assert_eq!(r.status, *status, "{}", r.raw_body);
            check_against_doc(&doc, "/metrics", method, &r);
            doc.check(doc.schema("Error"), &r.body).unwrap();
        }
    }
}

/// The document states the server's rules from the same definitions the server validates with,
/// so a generated client validates what the server does: name patterns (`contract::names`),
/// time bounds (`query::MIN_TIME`/`MAX_TIME`), value bounds (`aggregate::MAX_ABS_VALUE`), the
/// acceptance window (`contract::acceptance`), the atomic write's limits
/// (`store::atomic`), the idempotency key's length. Each pattern is also checked, as a regular
/// expression, to accept exactly what the server's validator accepts.
#[test]
fn documented_patterns_and_bounds_are_the_servers() {
    use contract::acceptance;
    use contract::names::{
        validate_metric_name, validate_service_name, METRIC_NAME_PATTERN, SERVICE_NAME_PATTERN,
    };
    use metrics_api::ingest::MAX_IDEMPOTENCY_KEY_LEN;
    use metrics_api::query::{MAX_RANGE_SECONDS, MAX_TIME, MIN_TIME};
    use metrics_core::aggregate::MAX_ABS_VALUE;
    use metrics_core::store::atomic::{MAX_ATOMIC_BYTES, MAX_ATOMIC_GROUPS};

    let doc = Doc::load();
    let schema = |name: &str| doc.schema(name).clone();
    let param = |name: &str| {
        doc.resolve(&doc.0["components"]["parameters"][name])
            .clone()
    };

    // Names: the document's patterns are the contract's, and they agree with the validators.
    assert_eq!(
        schema("ServiceName")["pattern"],
        json!(SERVICE_NAME_PATTERN)
    );
    assert_eq!(schema("MetricName")["pattern"], json!(METRIC_NAME_PATTERN));
    assert_eq!(
        doc.resolve(&param("service")["schema"])["pattern"],
        json!(SERVICE_NAME_PATTERN)
    );
    assert_eq!(
        doc.resolve(&param("metric")["schema"]["items"])["pattern"],
        json!(METRIC_NAME_PATTERN)
    );
    let data_point = schema("DataPoint");
    assert_eq!(
        data_point["properties"]["metrics"]["x-propertyNames"]["pattern"],
        json!(METRIC_NAME_PATTERN)
    );
    let service_re = regex_lite::Regex::new(SERVICE_NAME_PATTERN).unwrap();
    let metric_re = regex_lite::Regex::new(METRIC_NAME_PATTERN).unwrap();
    let long = |n: usize| "a".repeat(n);
    for name in [
        "checkout",
        "a.b_c-d",
        "x:y/z",
        "",
        " ",
        "a b",
        "#x",
        "añ",
        "a,b",
        "a\n",
        &long(128),
        &long(129),
        &long(255),
        &long(256),
    ] {
        assert_eq!(
            service_re.is_match(name),
            validate_service_name(name).is_ok(),
            "{name:?}"
        );
        assert_eq!(
            metric_re.is_match(name),
            validate_metric_name(name).is_ok(),
            "{name:?}"
        );
    }

    // Times: the bounds, and the string forms.
    let time = schema("Time");
    assert!(doc.schema("Time")["description"]
        .as_str()
        .unwrap()
        .contains(&format!("epoch {MIN_TIME} to {MAX_TIME}")));
    let digits = format!("^[0-9]{{1,{}}}$", MAX_TIME.to_string().len());
    assert_eq!(time["oneOf"][1]["pattern"], json!(digits));
    let integer = &data_point["properties"]["timestamp"]["oneOf"][1];
    assert_eq!(
        (&integer["minimum"], &integer["maximum"]),
        (&json!(MIN_TIME), &json!(MAX_TIME))
    );
    assert_eq!(rfc3339(MAX_TIME), "9999-12-31T23:59:00Z");
    for t in [MIN_TIME, MAX_TIME] {
        assert!(support::schema::is_date_time(&rfc3339(t)));
        doc.check(&time, &json!(rfc3339(t))).unwrap();
        doc.check(&time, &json!(t.to_string())).unwrap();
    }
    assert!(doc.check(&time, &json!("+10000-01-01T00:00:00Z")).is_err());
    // The acceptance window, in words from the contract.
    let ts_doc = data_point["properties"]["timestamp"]["description"]
        .as_str()
        .unwrap()
        .replace('\n', " ");
    let window = format!(
        "{} days before to {} day after",
        acceptance::MAX_AGE_DAYS,
        acceptance::MAX_FUTURE_DAYS
    );
    assert!(ts_doc.contains(&window), "{ts_doc}");
    let post = &doc.0["paths"]["/metrics"]["post"];
    assert!(post["description"].as_str().unwrap().contains(&window));

    // Values, the period, the key, the atomic write.
    let value = schema("Value");
    assert_eq!(
        (&value["minimum"], &value["maximum"]),
        (&json!(-MAX_ABS_VALUE), &json!(MAX_ABS_VALUE))
    );
    assert_eq!(
        param("period")["schema"]["maximum"],
        json!(MAX_RANGE_SECONDS)
    );
    let key = param("idempotency_key")["schema"].clone();
    assert_eq!(key["maxLength"], json!(MAX_IDEMPOTENCY_KEY_LEN));
    assert_eq!(
        key["pattern"],
        json!(format!("^[!-~]{{1,{MAX_IDEMPOTENCY_KEY_LEN}}}$"))
    );
    assert_eq!(post["x-maxGroups"], json!(MAX_ATOMIC_GROUPS));
    assert_eq!(post["x-maxTransactionBytes"], json!(MAX_ATOMIC_BYTES));
    let text = post["description"].as_str().unwrap().replace('\n', " ");
    assert!(text.contains(&format!("at most {MAX_ATOMIC_GROUPS} (service, minute)")));
    assert!(text.contains(&format!("at most {MAX_ATOMIC_BYTES} bytes")));
}
