//! Settings from the function's environment (set by the Terraform module; the names are
//! `contract::env`'s).

use contract::env;
use metrics_core::env::{invalid, ConfigError, Env, FromEnv};
use metrics_core::store::Retention;
use metrics_core::PublishPolicy;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `METRICS_TABLE`: where the per-minute aggregates go.
    pub table: String,
    /// `LOGS_PREFIX`: the key prefix of the log objects (the module's `logs_prefix`, e.g.
    /// `logs/`); a key `<prefix><service>/...` names the service of lines that carry none.
    /// Required, not defaulted: the module always sets it, and a default of `logs/` is how a
    /// stack with another prefix came to reject every line without a `service` field.
    pub logs_prefix: String,
    /// `SERVICE_METRICS_NAMESPACE`, `PUBLISHED_SERVICES`, `PUBLISHED_METRICS`: what each
    /// commit publishes to CloudWatch (`metrics_core::publish`).
    pub publish: PublishPolicy,
    /// `MINUTE_RETENTION_DAYS`, `HOUR_RETENTION_DAYS`, `DAY_RETENTION_DAYS`: the TTL its writes set.
    pub retention: Retention,
}

impl FromEnv for Config {
    fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
        let logs_prefix = env.required(env::LOGS_PREFIX)?;
        if !logs_prefix.ends_with('/') || logs_prefix.starts_with('/') {
            return Err(invalid(
                env::LOGS_PREFIX,
                format!("expected a key prefix ending in '/', like \"logs/\", got {logs_prefix:?}"),
            ));
        }
        Ok(Config {
            table: env.required(env::METRICS_TABLE)?,
            logs_prefix,
            publish: PublishPolicy::read(env)?,
            retention: Retention::read(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_core::env::Recorded;

    const BASE: [(&str, &str); 3] = [
        ("METRICS_TABLE", "ApplicationMetrics"),
        ("LOGS_PREFIX", "app-logs/"),
        ("SERVICE_METRICS_NAMESPACE", "appmon/Services"),
    ];

    /// The module's values: every variable it sets on the function.
    const ALL: [(&str, &str); 8] = [
        BASE[0],
        BASE[1],
        BASE[2],
        ("PUBLISHED_SERVICES", "api,web"),
        ("PUBLISHED_METRICS", "cart_size"),
        ("MINUTE_RETENTION_DAYS", "30"),
        // Blank: for ever (what the module writes for null).
        ("HOUR_RETENTION_DAYS", ""),
        ("DAY_RETENTION_DAYS", "400"),
    ];

    #[test]
    fn reads_table_and_prefix() {
        let vars = Recorded::new(&BASE);
        let c = Config::from_lookup(vars.lookup()).unwrap();
        assert_eq!(
            c,
            Config {
                table: "ApplicationMetrics".into(),
                logs_prefix: "app-logs/".into(),
                publish: PublishPolicy {
                    namespace: "appmon/Services".into(),
                    services: Default::default(),
                    custom_metrics: Vec::new(),
                },
                retention: Retention::default(),
            }
        );
        let c = Config::from_lookup(Recorded::new(&ALL).lookup()).unwrap();
        assert!(c.publish.publishes("api") && c.publish.publishes("web"));
        assert_eq!(c.publish.custom_metrics, ["cart_size"]);
        assert_eq!(
            c.retention,
            Retention {
                minute_days: Some(30),
                hour_days: None,
                day_days: Some(400),
            }
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for missing in BASE.map(|(k, _)| k) {
            let vars: Vec<_> = BASE
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let e = Config::from_lookup(Recorded::new(&vars).lookup()).unwrap_err();
            assert_eq!(
                e,
                ConfigError::Missing {
                    name: missing.into()
                }
            );
        }
        for bad in ["logs", "/logs/"] {
            let vars = Recorded::new(&[BASE[0], ("LOGS_PREFIX", bad), BASE[2]]);
            let e = Config::from_lookup(vars.lookup()).unwrap_err();
            assert_eq!(e.name(), "LOGS_PREFIX", "{bad}: {e}");
        }
        // Shorter than the acceptance window needs, or not whole days.
        for bad in ["15", "0", "1.5", "forever"] {
            let vars = Recorded::new(&[BASE[0], BASE[1], BASE[2], ("HOUR_RETENTION_DAYS", bad)]);
            let e = Config::from_lookup(vars.lookup()).unwrap_err();
            assert_eq!(e.name(), "HOUR_RETENTION_DAYS", "{bad}: {e}");
        }
    }

    /// Reads exactly the variables the module sets on this function (`LOG_LEVEL` is read by
    /// `metrics_core::aws::init_tracing`); the generator writes the same list.
    #[test]
    fn reads_the_variables_the_module_sets() {
        Recorded::assert_reads_module_keys::<Config>(contract::Function::LogProcessor, &ALL);
    }
}
