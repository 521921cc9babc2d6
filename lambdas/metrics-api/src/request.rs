//! Normalises the two proxy payloads API Gateway can hand a function into one
//! `Request`: REST API (payload 1.0) and HTTP API / Function URL (payload
//! 2.0, which `cargo lambda watch` speaks). The reply must use the shape of
//! the payload that came in, so the version travels with the request.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use serde::Deserialize;
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
    /// Lower-cased names; repeated headers joined with commas.
    pub headers: BTreeMap<String, String>,
    /// The body bytes, base64-decoded when the gateway encoded them.
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
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

/// Parses an event. The outer `Result` fails for events that are not HTTP
/// requests; the inner one fails for HTTP requests with an undecodable body
/// (a 400 the caller still answers in the right payload shape).
pub fn parse_event(
    event: Value,
) -> Result<(PayloadVersion, Result<Request, ApiError>), EventError> {
    match payload_version(&event) {
        Some(PayloadVersion::V1) => {
            let e: V1Event =
                serde_json::from_value(event).map_err(|e| EventError(e.to_string()))?;
            Ok((PayloadVersion::V1, e.into_request()))
        }
        Some(PayloadVersion::V2) => {
            let e: V2Event =
                serde_json::from_value(event).map_err(|e| EventError(e.to_string()))?;
            Ok((PayloadVersion::V2, e.into_request()))
        }
        None => Err(EventError(
            "neither `version: \"2.0\"` nor `httpMethod` present".to_owned(),
        )),
    }
}

/// The payload 1.0 fields this function reads (AWS sends many more).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Event {
    http_method: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    multi_value_headers: Option<HashMap<String, Option<Vec<String>>>>,
    #[serde(default)]
    query_string_parameters: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    multi_value_query_string_parameters: Option<HashMap<String, Option<Vec<String>>>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

impl V1Event {
    fn into_request(self) -> Result<Request, ApiError> {
        // The multi-value maps hold every value; the single-value ones only
        // the last, so prefer the former when the gateway sent them.
        let headers = match self.multi_value_headers {
            Some(m) if !m.is_empty() => join_multi(m, true),
            _ => join_single(self.headers.unwrap_or_default(), true),
        };
        let query = match self.multi_value_query_string_parameters {
            Some(m) if !m.is_empty() => join_multi(m, false),
            _ => join_single(self.query_string_parameters.unwrap_or_default(), false),
        };
        Ok(Request {
            version: PayloadVersion::V1,
            method: self.http_method.to_ascii_uppercase(),
            path: normalise_path(self.path.as_deref().unwrap_or("/")),
            query,
            headers,
            body: decode_body(self.body, self.is_base64_encoded.unwrap_or(false))?,
        })
    }
}

/// The payload 2.0 fields this function reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Event {
    #[serde(default)]
    raw_path: Option<String>,
    #[serde(default)]
    raw_query_string: Option<String>,
    #[serde(default)]
    headers: Option<HashMap<String, Option<String>>>,
    #[serde(default)]
    query_string_parameters: Option<HashMap<String, Option<String>>>,
    request_context: V2Context,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    is_base64_encoded: Option<bool>,
}

#[derive(Deserialize)]
struct V2Context {
    http: V2Http,
    #[serde(default)]
    stage: Option<String>,
}

#[derive(Deserialize)]
struct V2Http {
    method: String,
    #[serde(default)]
    path: Option<String>,
}

impl V2Event {
    fn into_request(self) -> Result<Request, ApiError> {
        let raw = self
            .raw_path
            .or(self.request_context.http.path)
            .unwrap_or_else(|| "/".to_owned());
        // An HTTP API on a named stage puts the stage in the path; `$default`
        // (and Function URLs) do not.
        let path = match self.request_context.stage.as_deref() {
            Some(stage) if stage != "$default" && !stage.is_empty() => {
                let prefix = format!("/{stage}");
                match raw.strip_prefix(&prefix) {
                    Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
                    _ => raw,
                }
            }
            _ => raw,
        };
        let query = match self.query_string_parameters {
            Some(q) if !q.is_empty() => join_single(q, false),
            _ => parse_query_string(self.raw_query_string.as_deref().unwrap_or("")),
        };
        Ok(Request {
            version: PayloadVersion::V2,
            method: self.request_context.http.method.to_ascii_uppercase(),
            path: normalise_path(&path),
            query,
            headers: join_single(self.headers.unwrap_or_default(), true),
            body: decode_body(self.body, self.is_base64_encoded.unwrap_or(false))?,
        })
    }
}

fn join_single(map: HashMap<String, Option<String>>, lower: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let k = if lower { k.to_ascii_lowercase() } else { k };
        append(&mut out, k, v.unwrap_or_default());
    }
    out
}

fn join_multi(map: HashMap<String, Option<Vec<String>>>, lower: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, vs) in map {
        let k = if lower { k.to_ascii_lowercase() } else { k };
        for v in vs.unwrap_or_default() {
            append(&mut out, k.clone(), v);
        }
    }
    out
}

fn append(out: &mut BTreeMap<String, String>, k: String, v: String) {
    out.entry(k)
        .and_modify(|existing| {
            existing.push(',');
            existing.push_str(&v);
        })
        .or_insert(v);
}

/// Form-decodes a raw query string (`+` is a space, then percent-decoding).
fn parse_query_string(raw: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        append(&mut out, form_decode(k), form_decode(v));
    }
    out
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
        let q = parse_query_string("stat=p50&stat=p99&service=a%2Eb&x=one+two&flag");
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
