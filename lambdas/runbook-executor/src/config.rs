//! Settings from the function's environment (set by the Terraform module; names are a contract).

use metrics_core::aws::ConfigError;

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

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Config::from_env`] over any variable lookup (tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &str| get(name).ok_or_else(|| ConfigError::Missing { name: name.into() });
        let invalid = |name: &str, reason: String| ConfigError::Invalid {
            name: name.into(),
            reason,
        };

        let dry_run = match get("DRY_RUN").as_deref().map(str::trim) {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                return Err(invalid(
                    "DRY_RUN",
                    format!("expected true or false, got {v:?}"),
                ))
            }
        };
        let incident_ttl_days = match get("INCIDENT_TTL_DAYS") {
            None => DEFAULT_INCIDENT_TTL_DAYS,
            Some(v) => match v.trim().parse::<u32>() {
                Ok(d) if (1..=3650).contains(&d) => d,
                _ => {
                    return Err(invalid(
                        "INCIDENT_TTL_DAYS",
                        format!("expected whole days 1..=3650, got {v:?}"),
                    ))
                }
            },
        };
        Ok(Config {
            table: required("METRICS_TABLE")?,
            runbook_prefix: required("RUNBOOK_PARAMETER_PREFIX")?,
            settings: Settings {
                topic_arn: required("TOPIC_ARN")?,
                dry_run,
                metric_namespace: get("METRIC_NAMESPACE")
                    .unwrap_or_else(|| DEFAULT_METRIC_NAMESPACE.into()),
                incident_ttl_days,
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
        ("TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts"),
    ];

    #[test]
    fn defaults_and_overrides() {
        let c = config(&BASE).unwrap();
        assert!(!c.settings.dry_run);
        assert_eq!(c.settings.incident_ttl_days, 30);
        assert_eq!(c.settings.metric_namespace, "appmon/Runbooks");
        let mut vars = BASE.to_vec();
        vars.extend([
            ("DRY_RUN", "TRUE"),
            ("INCIDENT_TTL_DAYS", "7"),
            ("METRIC_NAMESPACE", "x/y"),
        ]);
        let c = config(&vars).unwrap();
        assert!(c.settings.dry_run);
        assert_eq!(c.settings.incident_ttl_days, 7);
        assert_eq!(c.settings.metric_namespace, "x/y");
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
}
