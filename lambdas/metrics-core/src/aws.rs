//! AWS SDK set-up shared by the functions, tracing, and environment helpers.
//!
//! One TLS stack: the SDK's HTTP client is aws-smithy-http-client with rustls + ring (no aws-lc-sys).
//! Region comes from `AWS_REGION` and the endpoint from `AWS_ENDPOINT_URL` (both read by
//! aws-config's default chain), which is how the functions are pointed at the local emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls;

/// A required environment variable is missing or empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "environment variable {name} is not set (the Terraform module sets it on the function)"
    )]
    Missing { name: String },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// The HTTP client every SDK client uses: rustls with the ring crypto provider.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`).
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}

/// Explicit configuration for a local emulator: fixed endpoint, region and dummy credentials;
/// nothing is read from the process environment for these three. Used by tests and local tools.
pub async fn local_sdk_config(endpoint_url: &str, region: &str) -> SdkConfig {
    let creds = Credentials::new("testing", "testing", None, None, "metrics-core-local");
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .endpoint_url(endpoint_url)
        .region(Region::new(region.to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .load()
        .await
}

/// `AWS_ENDPOINT_URL` when set and non-empty (e.g. to decide on S3 path-style addressing).
pub fn endpoint_override() -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// DynamoDB client for a configuration.
pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// The value of a required environment variable.
pub fn required_env(name: &str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        Ok(_) | Err(std::env::VarError::NotPresent) => Err(ConfigError::Missing {
            name: name.to_owned(),
        }),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Invalid {
            name: name.to_owned(),
            reason: "not valid UTF-8".to_owned(),
        }),
    }
}

/// Maps Lambda's `AWS_LAMBDA_LOG_LEVEL` values (TRACE…FATAL) to a tracing filter directive.
fn lambda_level(level: &str) -> &'static str {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "warn" | "warning" => "warn",
        "error" | "fatal" => "error",
        _ => "info",
    }
}

/// The filter directive: `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
fn filter_directive(rust_log: Option<&str>, lambda_log_level: Option<&str>) -> String {
    match (rust_log.filter(|s| !s.trim().is_empty()), lambda_log_level) {
        (Some(directive), _) => directive.to_owned(),
        (None, Some(level)) => lambda_level(level).to_owned(),
        (None, None) => "info".to_owned(),
    }
}

/// JSON lines on stdout (what CloudWatch Logs indexes), no ANSI colours. Safe to call twice.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let directive = filter_directive(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .with_target(true)
        .with_writer(std::io::stdout)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_precedence() {
        assert_eq!(
            filter_directive(Some("debug,hyper=warn"), Some("ERROR")),
            "debug,hyper=warn"
        );
        assert_eq!(filter_directive(Some(" "), Some("WARN")), "warn");
        assert_eq!(filter_directive(None, Some("FATAL")), "error");
        assert_eq!(filter_directive(None, Some("bogus")), "info");
        assert_eq!(filter_directive(None, None), "info");
    }

    #[test]
    fn missing_env_is_a_clear_error() {
        let e = required_env("METRICS_CORE_SURELY_UNSET_VARIABLE").unwrap_err();
        assert!(
            e.to_string()
                .contains("METRICS_CORE_SURELY_UNSET_VARIABLE is not set"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn local_config_is_explicit() {
        let conf = local_sdk_config("http://127.0.0.1:1", "eu-west-3").await;
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(conf.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}
