//! Normalises the two proxy payloads API Gateway can hand a function into one
//! `Request`: REST API (payload 1.0) and HTTP API / Function URL (payload
//! 2.0, which `cargo lambda watch` speaks), both parsed with `aws_lambda_events`'
//! types. The reply must use the shape of the payload that came in, so the
//! version travels with the request.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::query_map::QueryMap;
use base64::Engine as _;
use serde_json::Value;

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    /// API Gateway REST API, Lambda proxy integration.
    V1,
    /// HTTP API or Function URL.
    V2,
}

/// One HTTP request, whatever payload it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub version: PayloadVersion,
    /// Upper case, e.g. `GET`.
    pub method: String,
    /// Without the stage prefix and without a trailing slash.
    pub path: String,
    /// Decoded query parameters; a repeated parameter is joined with commas
    /// (what payload 2.0 does already), so both payloads read the same.
    pub query: BTreeMap<String, String>,
    /// Query parameters that came more than once (`a=1&a=2`), so that a parameter taking one
    /// value can say so instead of complaining about a comma the caller never typed.
    pub repeated: BTreeSet<String>,
    /// Lower-cased names; repeated headers joined with commas.
    pub headers: BTreeMap<String, String>,
    /// The body bytes, base64-decoded when the gateway encoded them.
    pub body: Vec<u8>,
    /// When API Gateway received the request, epoch milliseconds: `requestContext.requestTimeEpoch`
    /// (REST, payload 1.0) or `requestContext.timeEpoch` (HTTP API, payload 2.0), both in ms
    /// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html,
    /// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
    /// `None` when the event carries none (`aws_lambda_events` reads an absent one as 0).
    pub request_time_ms: Option<i64>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The request's reference time, epoch milliseconds: the gateway's request time, so a retry
    /// of a request is judged by the time of its own arrival and tests can set it; the system
    /// clock only when the event has none.
    pub fn reference_time_ms(&self) -> i64 {
        self.request_time_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
    }
}

/// Below this an epoch in milliseconds would be before 1973-03-03: no real request time.
const SECONDS_BELOW: i64 = 100_000_000_000;

/// The request time in ms. API Gateway sends milliseconds; `cargo lambda watch` (the local HTTP
/// front of `tests/http.rs`) sends seconds in `timeEpoch`, measured. A value below 1e11 cannot
/// be milliseconds of a real request, and as seconds it is any time before the year 5138, so it
/// is read as seconds. 0 (absent) is `None`.
fn request_time(epoch: i64) -> Option<i64> {
    match epoch {
        ..=0 => None,
        s if s < SECONDS_BELOW => Some(s * 1000),
        ms => Some(ms),
    }
}

/// The invocation event was not an API Gateway proxy event at all. This is
/// not an HTTP client's mistake (the gateway always sends a valid shape), so
/// it fails the invocation instead of producing a response.
#[derive(Debug, thiserror::Error)]
#[error("not an API Gateway proxy event: {0}")]
pub struct EventError(String);

impl EventError {
    /// The stable `errorType` Lambda reports for it (every HTTP outcome, a 503 included, is a
    /// response, so this is the function's only failure kind).
    pub const ERROR_TYPE: &'static str = "InvalidEvent";
}

/// What Lambda reports as `errorType`: a fixed name, not the Rust type's.
impl From<EventError> for lambda_runtime::Diagnostic {
    fn from(e: EventError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: EventError::ERROR_TYPE.to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Reads the payload version without committing to either shape.
pub fn payload_version(event: &Value) -> Option<PayloadVersion> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        Some(PayloadVersion::V2)
    } else if event.get("httpMethod").is_some() {
        Some(PayloadVersion::V1)
    } else {
        None
    }
}

/// Parses an event with `aws_lambda_events`' own payload types (REST: `ApiGatewayProxyRequest`,
/// HTTP API / Function URL: `ApiGatewayV2httpRequest`). The outer `Result` fails for events that
/// are not HTTP requests; the inner one fails for HTTP requests with an undecodable body (a 400
/// the caller still answers in the right payload shape).
pub fn parse_event(
    event: Value,
) -> Result<(PayloadVersion, Result<Request, ApiError>), EventError> {
    match payload_version(&event) {
        Some(PayloadVersion::V1) => {
            let e: ApiGatewayProxyRequest =
                serde_json::from_value(event).map_err(|e| EventError(e.to_string()))?;
            Ok((PayloadVersion::V1, v1_request(e)))
        }
        Some(PayloadVersion::V2) => {
            let e: ApiGatewayV2httpRequest =
                serde_json::from_value(event).map_err(|e| EventError(e.to_string()))?;
            Ok((PayloadVersion::V2, v2_request(e)))
        }
        None => Err(EventError(
            "neither `version: \"2.0\"` nor `httpMethod` present".to_owned(),
        )),
    }
}

fn v1_request(e: ApiGatewayProxyRequest) -> Result<Request, ApiError> {
    // The multi-value maps hold every value; the single-value ones only the last, so prefer
    // the former when the gateway sent them.
    let headers = if e.multi_value_headers.is_empty() {
        join_headers(&e.headers)
    } else {
        join_headers(&e.multi_value_headers)
    };
    let (query, repeated) = if e.multi_value_query_string_parameters.is_empty() {
        join_query(&e.query_string_parameters)
    } else {
        join_query(&e.multi_value_query_string_parameters)
    };
    Ok(Request {
        version: PayloadVersion::V1,
        method: e.http_method.as_str().to_ascii_uppercase(),
        path: normalise_path(e.path.as_deref().unwrap_or("/")),
        query,
        repeated,
        headers,
        body: decode_body(e.body, e.is_base64_encoded)?,
        request_time_ms: request_time(e.request_context.request_time_epoch),
    })
}

fn v2_request(e: ApiGatewayV2httpRequest) -> Result<Request, ApiError> {
    let context = e.request_context;
    let raw = e
        .raw_path
        .or(context.http.path)
        .unwrap_or_else(|| "/".to_owned());
    // An HTTP API on a named stage puts the stage in the path; `$default` (and Function URLs)
    // do not.
    let path = match context.stage.as_deref() {
        Some(stage) if stage != "$default" && !stage.is_empty() => {
            let prefix = format!("/{stage}");
            match raw.strip_prefix(&prefix) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
                _ => raw,
            }
        }
        _ => raw,
    };
    // Payload 2.0 joins a repeated parameter with commas in `queryStringParameters`; only the
    // raw query string still shows which parameters were repeated.
    let (raw_query, repeated) = parse_query_string(e.raw_query_string.as_deref().unwrap_or(""));
    let query = if e.query_string_parameters.is_empty() {
        raw_query
    } else {
        join_query(&e.query_string_parameters).0
    };
    Ok(Request {
        version: PayloadVersion::V2,
        method: context.http.method.as_str().to_ascii_uppercase(),
        path: normalise_path(&path),
        query,
        repeated,
        headers: join_headers(&e.headers),
        body: decode_body(e.body, e.is_base64_encoded)?,
        request_time_ms: request_time(context.time_epoch),
    })
}

/// Header names come lower-cased from `HeaderMap`; repeated headers are joined with commas.
fn join_headers(map: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in map {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        append(&mut out, name.as_str().to_owned(), value);
    }
    out
}

/// Repeated parameters joined with commas, in the order they came, and the names repeated.
fn join_query(map: &QueryMap) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut out = BTreeMap::new();
    let mut repeated = BTreeSet::new();
    for (k, v) in map.iter() {
        if append(&mut out, k.to_owned(), v.to_owned()) {
            repeated.insert(k.to_owned());
        }
    }
    (out, repeated)
}

/// True when `k` was already there.
fn append(out: &mut BTreeMap<String, String>, k: String, v: String) -> bool {
    match out.entry(k) {
        std::collections::btree_map::Entry::Occupied(mut e) => {
            let existing = e.get_mut();
            existing.push(',');
            existing.push_str(&v);
            true
        }
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(v);
            false
        }
    }
}

/// Form-decodes a raw query string (`+` is a space, then percent-decoding).
fn parse_query_string(raw: &str) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut out = BTreeMap::new();
    let mut repeated = BTreeSet::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = form_decode(k);
        if append(&mut out, k.clone(), form_decode(v)) {
            repeated.insert(k);
        }
    }
    (out, repeated)
}

fn form_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_decode(&spaced)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

fn decode_body(body: Option<String>, base64: bool) -> Result<Vec<u8>, ApiError> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    if !base64 {
        return Ok(body.into_bytes());
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| {
            ApiError::body(
                None,
                format!("body is marked base64 but does not decode: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
    }

    fn parsed(name: &str) -> Request {
        let (_, request) = parse_event(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        request.unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    /// The payloads `aws_lambda_events` ships (copied under tests/fixtures/aws_lambda_events).
    #[test]
    fn the_crates_own_fixtures_parse() {
        let r = parsed("aws_lambda_events/example-apigw-request.json");
        assert_eq!(
            (r.version, r.method.as_str(), r.path.as_str()),
            (PayloadVersion::V1, "POST", "/hello/world")
        );
        assert_eq!(r.query["name"], "me");
        assert!(r.header("accept").is_some());
        let r = parsed("aws_lambda_events/example-apigw-request-multi-value-parameters.json");
        assert_eq!(
            r.query["name"], "me,me2",
            "every value of the multi-value map"
        );
        let r = parsed("aws_lambda_events/example-apigw-console-test-request.json");
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/myPath"));
        let r = parsed("aws_lambda_events/example-apigw-v2-request-no-authorizer.json");
        assert_eq!(
            (r.version, r.method.as_str(), r.path.as_str()),
            (PayloadVersion::V2, "GET", "/")
        );
        let r = parsed("aws_lambda_events/example-apigw-v2-request-multi-value-parameters.json");
        assert_eq!(
            (r.path.as_str(), r.query["Parameter1"].as_str()),
            ("/my/path", "value1,value2")
        );
    }

    /// The repository's own captured payloads (REST stage, HTTP API stage, base64 body).
    #[test]
    fn the_repos_fixtures_parse() {
        let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        assert!(names.len() >= 8, "{names:?}");
        for name in &names {
            let r = parsed(name);
            let want = if name.starts_with("v2-") {
                PayloadVersion::V2
            } else {
                PayloadVersion::V1
            };
            assert_eq!(r.version, want, "{name}");
            assert!(
                r.path == "/health" || r.path == "/metrics",
                "{name}: {}",
                r.path
            );
        }
        let r = parsed("v2-get-health-stage.json");
        assert_eq!(r.path, "/health", "the stage is not part of the route");
        let r = parsed("v1-post-metrics-base64.json");
        assert!(r.body.starts_with(b"{"), "base64 body decoded");
    }

    /// The gateway's request time, in ms, from either payload; absent (or 0) is `None`.
    #[test]
    fn the_request_time_comes_from_the_request_context() {
        assert_eq!(
            parsed("v1-post-metrics.json").request_time_ms,
            Some(1_795_978_805_123)
        );
        assert_eq!(
            parsed("v2-post-metrics.json").request_time_ms,
            Some(1_795_978_805_123)
        );
        assert_eq!(
            parsed("aws_lambda_events/example-apigw-v2-request-no-authorizer.json").request_time_ms,
            Some(1_587_481_701_067)
        );
        let mut e = fixture("v1-post-metrics.json");
        e["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("requestTimeEpoch");
        let r = parse_event(e).unwrap().1.unwrap();
        assert_eq!(r.request_time_ms, None);
        // Seconds, as `cargo lambda watch` sends them.
        let mut e = fixture("v2-post-metrics.json");
        e["requestContext"]["timeEpoch"] = serde_json::json!(1_795_978_805);
        let seconds = parse_event(e).unwrap().1.unwrap();
        assert_eq!(seconds.request_time_ms, Some(1_795_978_805_000));
        let clock = chrono::Utc::now().timestamp_millis();
        assert!(
            (r.reference_time_ms() - clock).abs() < 60_000,
            "falls back to the clock"
        );
    }

    #[test]
    fn a_non_http_event_fails_with_a_stable_error_type() {
        let e = parse_event(serde_json::json!({"Records": []})).unwrap_err();
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "InvalidEvent");
        assert!(
            d.error_message
                .starts_with("not an API Gateway proxy event"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn raw_query_string_is_form_decoded_and_repeats_joined() {
        let (q, repeated) = parse_query_string("stat=p50&stat=p99&service=a%2Eb&x=one+two&flag");
        assert_eq!(repeated, BTreeSet::from(["stat".to_owned()]));
        assert_eq!(q["stat"], "p50,p99");
        assert_eq!(q["service"], "a.b");
        assert_eq!(q["x"], "one two");
        assert_eq!(q["flag"], "");
    }

    #[test]
    fn malformed_percent_escapes_are_kept_literally() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn paths_lose_trailing_slashes() {
        assert_eq!(normalise_path("/metrics/"), "/metrics");
        assert_eq!(normalise_path(""), "/");
        assert_eq!(normalise_path("health"), "/health");
    }
}
