//! The HTTP API's CORS answer, shared by the metrics-api function (its responses and preflights)
//! and the module (API Gateway's own error responses), so a browser sees the same on both.

/// Request headers a browser may send: the API key, the idempotency key, and SigV4's headers for
/// IAM-authorised methods (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
pub const CORS_ALLOW_HEADERS: &str = "Content-Type,X-Api-Key,Idempotency-Key,Authorization,X-Amz-Date,X-Amz-Security-Token,X-Amz-Content-Sha256";

/// The API's methods.
pub const CORS_ALLOW_METHODS: &str = "GET,POST,OPTIONS";
