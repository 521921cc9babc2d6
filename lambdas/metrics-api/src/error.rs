//! The one error type every request path returns; `respond` turns it into
//! the documented `{error, field, message}` body.

use std::fmt;

/// Every `error` code a response can carry (the OpenAPI `Error` enum).
pub const CODES: &[&str] = &[
    "invalid_parameter",
    "invalid_body",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "item_too_large",
    "transaction_too_large",
    "idempotency_key_reused",
    "unavailable",
];

/// A client-visible failure. `code` is a stable machine-readable string
/// (documented in `docs/openapi.yaml`), `field` names the parameter or body
/// path at fault when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub field: Option<String>,
    pub message: String,
    /// Methods for the `Allow` header of a 405.
    pub allow: Option<&'static str>,
}

impl ApiError {
    fn new(status: u16, code: &'static str, field: Option<String>, message: String) -> Self {
        Self {
            status,
            code,
            field,
            message,
            allow: None,
        }
    }

    /// A bad query parameter or header.
    pub fn param(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            400,
            "invalid_parameter",
            Some(field.to_owned()),
            message.into(),
        )
    }

    /// A bad request body; `field` is a JSON path such as `points[2].service`.
    pub fn body(field: Option<String>, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_body", field, message.into())
    }

    pub fn not_found(path: &str) -> Self {
        Self::new(404, "not_found", None, format!("no route for path {path}"))
    }

    pub fn method_not_allowed(method: &str, allow: &'static str) -> Self {
        let mut e = Self::new(
            405,
            "method_not_allowed",
            None,
            format!("method {method} not allowed; allowed: {allow}"),
        );
        e.allow = Some(allow);
        e
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "payload_too_large",
            None,
            format!("request body exceeds {limit} bytes"),
        )
    }

    /// The write is valid but the table's per-item limits refuse it.
    pub fn store_limit(status: u16, code: &'static str, message: String) -> Self {
        Self::new(status, code, None, message)
    }

    /// The field at fault, for errors found past parsing (e.g. a store limit a point hit).
    pub fn at(mut self, field: String) -> Self {
        self.field = Some(field);
        self
    }

    /// An `Idempotency-Key` reused with a different body: 422, as the IETF draft
    /// (draft-ietf-httpapi-idempotency-key-header, "Error Scenarios") specifies.
    pub fn key_reused(message: String) -> Self {
        Self::new(
            422,
            "idempotency_key_reused",
            Some("Idempotency-Key".to_owned()),
            message,
        )
    }

    /// The table could not be reached; details go to the log, not the client.
    pub fn unavailable() -> Self {
        Self::new(
            503,
            "unavailable",
            None,
            "the metrics store is unavailable; retry later".to_owned(),
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl std::error::Error for ApiError {}
