//! Builds responses: JSON bodies, the error body, CORS headers, and the
//! proxy-integration reply in the payload shape the request came in.

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::request::PayloadVersion;

/// Request headers a browser may send (API key, idempotency, SigV4 for IAM auth).
pub use contract::http::{CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS};
const CORS_MAX_AGE_SECONDS: &str = "600";

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json<T: Serialize>(status: u16, body: &T) -> Self {
        // Serialising our own plain structs cannot fail; fall back to an
        // empty object rather than panic if it ever does.
        let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body,
        }
    }

    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn error(err: &ApiError) -> Self {
        let mut r = Self::json(
            err.status,
            &json!({"error": err.code, "field": err.field, "message": err.message}),
        );
        if let Some(allow) = err.allow {
            r.headers.push(("Allow".to_owned(), allow.to_owned()));
        }
        r
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The proxy-integration reply. Both payload versions accept
    /// `statusCode`/`headers`/`body`/`isBase64Encoded`; 1.0 also reads
    /// `multiValueHeaders`, 2.0 `cookies` (both empty here).
    pub fn into_event(self, version: PayloadVersion) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let mut out = json!({
            "statusCode": self.status,
            "headers": headers,
            "body": self.body,
            "isBase64Encoded": false,
        });
        match version {
            PayloadVersion::V1 => out["multiValueHeaders"] = json!({}),
            PayloadVersion::V2 => out["cookies"] = json!([]),
        }
        out
    }
}

/// Which browser origins may read responses (`CORS_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// `*`: any origin; responses say `Access-Control-Allow-Origin: *`.
    Any,
    /// Exact origins; the matching request `Origin` is echoed back.
    List(Vec<String>),
}

impl Cors {
    /// Parses `*` or a comma list of origins. Empty means no origin is allowed
    /// (the headers are still sent, without `Access-Control-Allow-Origin`).
    pub fn parse(value: &str) -> Self {
        let items: Vec<String> = value
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if items.iter().any(|s| s == "*") {
            Cors::Any
        } else {
            Cors::List(items)
        }
    }

    /// Adds the CORS headers to any response. `Vary: Origin` always, because
    /// the answer depends on the request's origin when a list is configured.
    pub fn apply(&self, origin: Option<&str>, resp: &mut Response) {
        let allow = match self {
            Cors::Any => Some("*".to_owned()),
            Cors::List(list) => origin
                .filter(|o| list.iter().any(|allowed| allowed == o))
                .map(str::to_owned),
        };
        if let Some(allow) = allow {
            resp.headers
                .push(("Access-Control-Allow-Origin".to_owned(), allow));
        }
        for (k, v) in [
            ("Access-Control-Allow-Methods", CORS_ALLOW_METHODS),
            ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
            ("Access-Control-Max-Age", CORS_MAX_AGE_SECONDS),
            ("Vary", "Origin"),
        ] {
            resp.headers.push((k.to_owned(), v.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_origin_is_echoed_and_others_are_not() {
        let cors = Cors::parse("https://a.example, https://b.example/");
        let mut r = Response::empty(204);
        cors.apply(Some("https://b.example"), &mut r);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://b.example")
        );
        assert_eq!(r.header("vary"), Some("Origin"));

        let mut r = Response::empty(204);
        cors.apply(Some("https://evil.example"), &mut r);
        assert_eq!(r.header("access-control-allow-origin"), None);
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some(CORS_ALLOW_METHODS)
        );
    }

    #[test]
    fn star_allows_any_origin() {
        let mut r = Response::empty(200);
        Cors::parse("*").apply(None, &mut r);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    }

    #[test]
    fn error_body_has_the_documented_fields() {
        let r = Response::error(&ApiError::method_not_allowed("PUT", "GET, OPTIONS"));
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["error"], "method_not_allowed");
        assert_eq!(v["field"], Value::Null);
        assert!(v["message"].as_str().unwrap().contains("PUT"));
        assert_eq!(r.header("allow"), Some("GET, OPTIONS"));
    }
}
