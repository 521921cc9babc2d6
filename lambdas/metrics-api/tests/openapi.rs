//! `docs/openapi.yaml` against the handler, both ways: every documented
//! route/method answers and every implemented one is documented; documented
//! parameters are exactly the accepted ones; error bodies match the schema.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use metrics_api::query::{self, MAX_LIMIT, PARAMS};
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
    let token = q.token_for(q.page().next.unwrap());
    let mut all: Vec<(&str, &str)> = base.to_vec();
    all.push(("next_token", &token));
    assert_eq!(
        all.iter()
            .map(|(k, _)| k.to_string())
            .collect::<BTreeSet<_>>(),
        accepted
    );
    for make in [v1, v2] {
        let r = call(&app, make("GET", "/metrics", &all, &[], None)).await;
        assert_eq!(r.status, 503, "{}", r.raw_body);
        check_against_doc(&doc, "/metrics", "GET", &r);
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
