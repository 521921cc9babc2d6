//! AWS SDK set-up shared by the functions, and their one logging path.
//!
//! One TLS stack: the SDK's HTTP client is aws-smithy-http-client with rustls + ring (no aws-lc-sys).
//! Region comes from `AWS_REGION` and the endpoint from `AWS_ENDPOINT_URL` (both read by
//! aws-config's default chain), which is how the functions are pointed at the local emulator.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls;

pub use crate::env::ConfigError;

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

/// The filter directive: `RUST_LOG` (any tracing directive, an override for debugging), else
/// `LOG_LEVEL` (the module's `log_level` variable), else `info`. A `LOG_LEVEL` outside
/// `contract::env::LOG_LEVELS` is reported and `info` used: logging still works.
fn filter_directive(rust_log: Option<&str>, log_level: Option<&str>) -> (String, Option<String>) {
    if let Some(directive) = rust_log.filter(|s| !s.trim().is_empty()) {
        return (directive.to_owned(), None);
    }
    match log_level.map(|l| l.trim().to_ascii_lowercase()) {
        None => ("info".to_owned(), None),
        Some(l) if l.is_empty() => ("info".to_owned(), None),
        Some(l) if contract::env::LOG_LEVELS.contains(&l.as_str()) => (l, None),
        Some(l) => (
            "info".to_owned(),
            Some(format!(
                "{} {l:?} is not one of {:?}; logging at info",
                contract::env::LOG_LEVEL,
                contract::env::LOG_LEVELS
            )),
        ),
    }
}

/// The one log path of every function: JSON lines on stdout (what CloudWatch Logs indexes), the
/// event's fields at the top level beside `timestamp`, `level` and `message` (so Logs Insights
/// filters on them directly), no ANSI colours. Level from [`filter_directive`]. Safe to call twice.
pub fn init_tracing() {
    let (directive, problem) = filter_directive(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var(contract::env::LOG_LEVEL).ok().as_deref(),
    );
    let _ = tracing::subscriber::set_global_default(json_subscriber(&directive, std::io::stdout));
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// The functions' log format over any writer (stdout in [`init_tracing`], a buffer in tests):
/// one JSON object per event, filtered by a tracing directive (`info` if it does not parse).
pub fn json_subscriber<W>(directive: &str, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(directive).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_ansi(false)
        .with_current_span(false)
        .with_target(true)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_precedence() {
        let directive = |rust_log, level| filter_directive(rust_log, level).0;
        assert_eq!(
            directive(Some("debug,hyper=warn"), Some("error")),
            "debug,hyper=warn"
        );
        assert_eq!(directive(Some(" "), Some("WARN")), "warn");
        assert_eq!(directive(None, Some("debug")), "debug");
        assert_eq!(directive(None, Some("")), "info");
        assert_eq!(directive(None, None), "info");
        let (directive, problem) = filter_directive(None, Some("loud"));
        assert_eq!(directive, "info");
        assert!(problem.unwrap().contains("LOG_LEVEL \"loud\""));
    }

    #[tokio::test]
    async fn local_config_is_explicit() {
        let conf = local_sdk_config("http://127.0.0.1:1", "eu-west-3").await;
        assert_eq!(conf.region().map(|r| r.as_ref()), Some("eu-west-3"));
        assert_eq!(conf.endpoint_url(), Some("http://127.0.0.1:1"));
    }
}
