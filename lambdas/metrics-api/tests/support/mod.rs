//! Shared by the integration tests: fixtures turned into events, the app
//! wired to a table and a small OpenAPI schema checker. The moto guard and
//! the table helper come from the `test-support` crate.
#![allow(dead_code)]

pub mod schema;

use metrics_core::env::FromEnv;
use std::collections::BTreeMap;
use std::path::PathBuf;

use metrics_api::config::Config;
use metrics_api::App;
use serde_json::{json, Value};
use test_support::dynamo;

pub const TABLE: &str = "ApplicationMetrics";

pub fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn repo_root() -> PathBuf {
    test_support::moto::workspace_root()
}

/// A REST API (payload 1.0) event: the committed fixture with this method,
/// path, query, extra headers and body, filled in the way API Gateway does
/// (single- and multi-value maps, `null` when empty).
pub fn v1(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    let mut e = fixture("v1-get-metrics.json");
    e["httpMethod"] = json!(method);
    e["path"] = json!(path);
    e["resource"] = json!(path);
    e["requestContext"]["httpMethod"] = json!(method);
    e["requestContext"]["resourcePath"] = json!(path);
    e["requestContext"]["path"] = json!(format!("/prod{path}"));
    if query.is_empty() {
        e["queryStringParameters"] = Value::Null;
        e["multiValueQueryStringParameters"] = Value::Null;
    } else {
        let mut single = serde_json::Map::new();
        let mut multi: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in query {
            single.insert((*k).to_owned(), json!(v));
            multi.entry(k).or_default().push(v);
        }
        e["queryStringParameters"] = Value::Object(single);
        e["multiValueQueryStringParameters"] = json!(multi);
    }
    for (k, v) in headers {
        e["headers"][*k] = json!(v);
        e["multiValueHeaders"][*k] = json!([v]);
    }
    e["body"] = body.map_or(Value::Null, |b| json!(b));
    e
}

/// An HTTP API (payload 2.0) event on the `$default` stage.
pub fn v2(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Value {
    let mut e = fixture("v2-get-metrics.json");
    e["rawPath"] = json!(path);
    e["requestContext"]["http"]["method"] = json!(method);
    e["requestContext"]["http"]["path"] = json!(path);
    let raw: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                v.replace('%', "%25")
                    .replace(':', "%3A")
                    .replace('+', "%2B")
                    .replace(' ', "+")
            )
        })
        .collect();
    e["rawQueryString"] = json!(raw.join("&"));
    let mut map: BTreeMap<&str, String> = BTreeMap::new();
    for (k, v) in query {
        map.entry(k)
            .and_modify(|s| {
                s.push(',');
                s.push_str(v);
            })
            .or_insert_with(|| (*v).to_owned());
    }
    if map.is_empty() {
        e.as_object_mut().map(|o| o.remove("queryStringParameters"));
    } else {
        e["queryStringParameters"] = json!(map);
    }
    for (k, v) in headers {
        e["headers"][k.to_ascii_lowercase()] = json!(v);
    }
    match body {
        Some(b) => e["body"] = json!(b),
        None => {
            e.as_object_mut().map(|o| o.remove("body"));
        }
    }
    e
}

/// When API Gateway received the committed fixtures' requests (`requestContext.requestTimeEpoch`
/// / `timeEpoch`, ms): 2026-11-29T19:00:05.123Z. `v1` and `v2` events carry it unless moved
/// with [`at`]; the API judges POST timestamps against it (`contract::acceptance`).
pub fn request_time_ms() -> i64 {
    let e = fixture("v1-get-metrics.json");
    let v1 = e["requestContext"]["requestTimeEpoch"].as_i64().unwrap();
    let v2 = fixture("v2-get-metrics.json")["requestContext"]["timeEpoch"]
        .as_i64()
        .unwrap();
    assert_eq!(
        v1, v2,
        "the v1 and v2 fixtures were received at the same time"
    );
    v1
}

/// The event as if API Gateway had received it at `epoch_ms` (`None`: an event without a
/// request time, as a hand-made or non-gateway caller may send).
pub fn at(mut event: Value, epoch_ms: Option<i64>) -> Value {
    let field = if event.get("httpMethod").is_some() {
        "requestTimeEpoch"
    } else {
        "timeEpoch"
    };
    let context = event["requestContext"].as_object_mut().unwrap();
    match epoch_ms {
        Some(ms) => context.insert(field.to_owned(), json!(ms)),
        None => context.remove(field),
    };
    event
}

/// The proxy response, decoded.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Lower-cased names.
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    pub raw_body: String,
}

impl Reply {
    pub fn from_event(v: &Value) -> Reply {
        let status = v["statusCode"].as_u64().expect("statusCode") as u16;
        let headers = v["headers"]
            .as_object()
            .expect("headers object")
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.as_str().expect("string header").to_owned(),
                )
            })
            .collect();
        assert_eq!(v["isBase64Encoded"], json!(false));
        let raw_body = v["body"].as_str().expect("body string").to_owned();
        let body = if raw_body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw_body).expect("JSON body")
        };
        Reply {
            status,
            headers,
            body,
            raw_body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Asserts a documented error: status, `error` code and `field`.
    pub fn assert_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(self.status, status, "{}", self.raw_body);
        assert_eq!(self.body["error"], json!(code), "{}", self.raw_body);
        assert_eq!(self.body["field"].as_str(), field, "{}", self.raw_body);
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

pub async fn call(app: &App, event: Value) -> Reply {
    let out = app
        .handle(event)
        .await
        .expect("an API Gateway event gets a response");
    Reply::from_event(&out)
}

/// The service metrics namespace of the tests' stack.
pub const NAMESPACE: &str = "appmon/Services";

/// The function's configuration from these variables plus `METRICS_TABLE` (the test table) and
/// `SERVICE_METRICS_NAMESPACE` unless given.
pub fn config(vars: &[(&str, &str)]) -> Config {
    Config::from_lookup(|k| match (k, vars.iter().find(|(n, _)| *n == k)) {
        ("METRICS_TABLE", None) => Some(TABLE.to_owned()),
        ("SERVICE_METRICS_NAMESPACE", None) => Some(NAMESPACE.to_owned()),
        (_, found) => found.map(|(_, v)| v.to_string()),
    })
    .expect("valid configuration")
}

pub async fn app_at(endpoint: &str, config: Config) -> App {
    let sdk = dynamo::sdk_config(endpoint).await;
    let client = metrics_core::aws::dynamodb_client(&sdk);
    App::new(
        metrics_api::TableClients::new(client, TABLE),
        metrics_core::MetricPublisher::new(&sdk),
        config,
    )
}

/// An app whose table endpoint refuses connections: for paths that must
/// answer without the store, and for the 503 health answer.
pub async fn offline_app() -> App {
    app_at("http://127.0.0.1:9", config(&[])).await
}

/// The table as the Terraform module defines it: keys, inverted GSI.
pub async fn create_table(endpoint: &str) {
    dynamo::create_metric_table(&dynamo::client(endpoint).await, TABLE).await;
}
