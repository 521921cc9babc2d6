//! Settings from the function's environment (set by the Terraform module; names are a contract).

use contract::env;
use metrics_core::env::{ConfigError, Env, FromEnv};

use crate::steps::Settings;

pub const DEFAULT_METRIC_NAMESPACE: &str = "appmon/Runbooks";
pub const DEFAULT_INCIDENT_TTL_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `METRICS_TABLE`: incidents and idempotency claims live here, beside the metrics.
    pub table: String,
    /// `RUNBOOK_PARAMETER_PREFIX`: the runbook of alarm `A` is parameter `<prefix>A`.
    pub runbook_prefix: String,
    pub settings: Settings,
}

impl FromEnv for Config {
    fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Config, ConfigError> {
        Ok(Config {
            table: env.required(env::METRICS_TABLE)?,
            runbook_prefix: env.required(env::RUNBOOK_PARAMETER_PREFIX)?,
            settings: Settings {
                topic_arn: env.required(env::NOTIFICATION_TOPIC_ARN)?,
                dry_run: env.flag(env::DRY_RUN, false)?,
                metric_namespace: env
                    .optional(env::METRIC_NAMESPACE)?
                    .unwrap_or_else(|| DEFAULT_METRIC_NAMESPACE.into()),
                service_metrics_namespace: env.optional(env::SERVICE_METRICS_NAMESPACE)?,
                incident_ttl_days: env.parse(
                    env::INCIDENT_TTL_DAYS,
                    DEFAULT_INCIDENT_TTL_DAYS,
                    1..=3650,
                )?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    const BASE: [(&str, &str); 3] = [
        ("METRICS_TABLE", "ApplicationMetrics"),
        ("RUNBOOK_PARAMETER_PREFIX", "/appmon/runbooks/"),
        (
            "NOTIFICATION_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:notifications",
        ),
    ];

    #[test]
    fn defaults_and_overrides() {
        let c = config(&BASE).unwrap();
        assert!(!c.settings.dry_run);
        assert_eq!(c.settings.incident_ttl_days, 30);
        assert_eq!(c.settings.metric_namespace, "appmon/Runbooks");
        assert_eq!(c.settings.service_metrics_namespace, None);
        let mut vars = BASE.to_vec();
        vars.extend([
            ("DRY_RUN", "TRUE"),
            ("INCIDENT_TTL_DAYS", "7"),
            ("METRIC_NAMESPACE", "x/y"),
            ("SERVICE_METRICS_NAMESPACE", "appmon/Services"),
        ]);
        let c = config(&vars).unwrap();
        assert!(c.settings.dry_run);
        assert_eq!(c.settings.incident_ttl_days, 7);
        assert_eq!(c.settings.metric_namespace, "x/y");
        assert_eq!(
            c.settings.service_metrics_namespace.as_deref(),
            Some("appmon/Services")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&BASE[1..]).unwrap_err().to_string();
        assert!(e.contains("METRICS_TABLE"), "{e}");
        let mut vars = BASE.to_vec();
        vars.push(("DRY_RUN", "yes"));
        assert!(config(&vars).unwrap_err().to_string().contains("DRY_RUN"));
        let mut vars = BASE.to_vec();
        vars.push(("INCIDENT_TTL_DAYS", "0"));
        assert!(config(&vars)
            .unwrap_err()
            .to_string()
            .contains("INCIDENT_TTL_DAYS"));
    }

    /// Reads exactly the variables the module sets on this function (`LOG_LEVEL` is read by
    /// `metrics_core::aws::init_tracing`); the generator writes the same list.
    #[test]
    fn reads_the_variables_the_module_sets() {
        metrics_core::env::Recorded::assert_reads_module_keys::<Config>(
            contract::Function::RunbookExecutor,
            &BASE,
        );
    }
}
