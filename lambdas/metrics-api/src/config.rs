//! Settings from the function's environment (set by the Terraform module; the names are
//! `contract::env`'s).

use contract::env;
use metrics_core::env::{ConfigError, Env, FromEnv};
use metrics_core::store::Retention;
use metrics_core::PublishPolicy;

use crate::ingest::DEFAULT_MAX_BODY_BYTES;
use crate::respond::Cors;

/// Lambda's synchronous invocation payload limit: no body can be larger.
pub const MAX_BODY_BYTES_CEILING: usize = 6 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `METRICS_TABLE`.
    pub table: String,
    pub cors: Cors,
    pub max_body_bytes: usize,
    /// `SERVICE_METRICS_NAMESPACE`, `PUBLISHED_SERVICES`, `PUBLISHED_METRICS`: what each
    /// `POST /metrics` commit publishes to CloudWatch (`metrics_core::publish`).
    pub publish: PublishPolicy,
    /// `MINUTE_RETENTION_DAYS`, `HOUR_RETENTION_DAYS`, `DAY_RETENTION_DAYS`: the TTL its writes set.
    pub retention: Retention,
}

impl FromEnv for Config {
    fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.required(env::METRICS_TABLE)?,
            publish: PublishPolicy::read(env)?,
            retention: Retention::read(env)?,
            cors: Cors::parse(
                &env.optional(env::CORS_ALLOWED_ORIGINS)?
                    .unwrap_or_else(|| "*".to_owned()),
            ),
            max_body_bytes: env.parse(
                env::MAX_BODY_BYTES,
                DEFAULT_MAX_BODY_BYTES,
                1..=MAX_BODY_BYTES_CEILING,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_core::env::Recorded;

    const TABLE: (&str, &str) = ("METRICS_TABLE", "ApplicationMetrics");
    const NAMESPACE: (&str, &str) = ("SERVICE_METRICS_NAMESPACE", "appmon/Services");

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(Recorded::new(vars).lookup())
    }

    #[test]
    fn defaults_and_validation() {
        let c = config(&[TABLE, NAMESPACE]).unwrap();
        assert_eq!((c.cors, c.max_body_bytes), (Cors::Any, 262_144));
        assert_eq!(c.table, "ApplicationMetrics");
        assert_eq!(c.publish.namespace, "appmon/Services");
        assert!(
            c.publish.services.is_empty(),
            "no services listed: none published"
        );
        let c = config(&[TABLE, NAMESPACE, ("MAX_BODY_BYTES", "1024")]).unwrap();
        assert_eq!(c.max_body_bytes, 1024);
        for bad in ["lots", "0"] {
            let e = config(&[TABLE, NAMESPACE, ("MAX_BODY_BYTES", bad)]).unwrap_err();
            assert_eq!(e.name(), "MAX_BODY_BYTES", "{e}");
        }
        assert_eq!(
            config(&[]).unwrap_err(),
            ConfigError::Missing {
                name: "METRICS_TABLE".into()
            }
        );
        assert_eq!(
            config(&[TABLE]).unwrap_err(),
            ConfigError::Missing {
                name: "SERVICE_METRICS_NAMESPACE".into()
            }
        );
    }

    /// Reads exactly the variables the module sets on this function (`LOG_LEVEL` is read by
    /// `metrics_core::aws::init_tracing`); the generator writes the same list.
    #[test]
    fn reads_the_variables_the_module_sets() {
        Recorded::assert_reads_module_keys::<Config>(
            contract::Function::MetricsApi,
            &[
                TABLE,
                NAMESPACE,
                ("PUBLISHED_SERVICES", "api"),
                ("PUBLISHED_METRICS", "cart_size"),
                ("MINUTE_RETENTION_DAYS", "16"),
                ("HOUR_RETENTION_DAYS", "90"),
                ("DAY_RETENTION_DAYS", ""),
            ],
        );
    }
}
