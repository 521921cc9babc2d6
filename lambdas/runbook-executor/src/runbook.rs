//! The runbook an alarm points at: its model, loading from SSM Parameter Store, validation,
//! and the notify-only fallback used when the runbook is missing or malformed.
//!
//! Format reference: docs/runbooks.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ports::BoxFuture;

/// Longest runbook we accept; an alarm's response should be short and reviewable.
pub const MAX_STEPS: usize = 20;
/// `gather_context` looks back at most one day.
pub const MAX_LOOKBACK_MINUTES: u32 = 1440;
pub const DEFAULT_LOOKBACK_MINUTES: u32 = 30;
const MAX_AUTOMATION_PARAMETERS: usize = 50;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Later steps still run after a failed step (the default: notify even if recording failed).
    #[default]
    Continue,
    /// Later steps are skipped after a failed step.
    Stop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub alarm: String,
    #[serde(default)]
    pub link: Option<String>,
    /// Affected service; when absent it is taken from a `ServiceName`/`service` alarm dimension.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    RecordIncident {},
    GatherContext {
        #[serde(default = "default_lookback")]
        lookback_minutes: u32,
    },
    Notify {},
    StartAutomation {
        document: String,
        #[serde(default)]
        parameters: BTreeMap<String, Vec<String>>,
    },
    PutMetric {},
}

fn default_lookback() -> u32 {
    DEFAULT_LOOKBACK_MINUTES
}

impl Step {
    /// The `type` name, used in logs and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::RecordIncident {} => "record_incident",
            Step::GatherContext { .. } => "gather_context",
            Step::Notify {} => "notify",
            Step::StartAutomation { .. } => "start_automation",
            Step::PutMetric {} => "put_metric",
        }
    }

    /// Steps that change something outside this invocation; only these need an idempotency claim.
    pub fn has_side_effects(&self) -> bool {
        !matches!(self, Step::GatherContext { .. })
    }
}

/// Why a runbook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunbookError {
    #[error("runbook parameter {0} does not exist")]
    Missing(String),
    #[error("runbook parameter {name} could not be read: {reason}")]
    Unreadable { name: String, reason: String },
    #[error("runbook is not valid JSON or has an unknown field or step type: {0}")]
    Malformed(String),
    #[error("runbook is invalid: {0}")]
    Invalid(String),
}

impl Runbook {
    /// What runs when the alarm has no usable runbook: tell the humans.
    pub fn fallback(alarm: &str) -> Runbook {
        Runbook {
            alarm: alarm.to_string(),
            link: None,
            service: None,
            on_failure: OnFailure::Continue,
            steps: vec![Step::Notify {}],
        }
    }

    /// Parses and validates the parameter value for `alarm_name`.
    pub fn parse(raw: &str, alarm_name: &str) -> Result<Runbook, RunbookError> {
        let runbook: Runbook =
            serde_json::from_str(raw).map_err(|e| RunbookError::Malformed(e.to_string()))?;
        runbook.validate(alarm_name)?;
        Ok(runbook)
    }

    fn validate(&self, alarm_name: &str) -> Result<(), RunbookError> {
        let invalid = |m: String| Err(RunbookError::Invalid(m));
        if self.alarm != alarm_name {
            return invalid(format!(
                "\"alarm\" is {:?} but the alarm that fired is {alarm_name:?}",
                self.alarm
            ));
        }
        if let Some(link) = &self.link {
            let scheme_ok = link.starts_with("https://") || link.starts_with("http://");
            if !scheme_ok || link.len() > 2048 || link.chars().any(char::is_whitespace) {
                return invalid(format!(
                    "\"link\" must be an http(s) URL without spaces, got {link:?}"
                ));
            }
        }
        if let Some(service) = &self.service {
            if let Err(e) = metrics_core::service::validate_service_name(service) {
                return invalid(format!("\"service\": {e}"));
            }
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            return invalid(format!(
                "\"steps\" must have 1 to {MAX_STEPS} entries, has {}",
                self.steps.len()
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            step.validate()
                .or_else(|m| invalid(format!("steps[{i}] ({}): {m}", step.kind())))?;
        }
        Ok(())
    }
}

impl Step {
    fn validate(&self) -> Result<(), String> {
        match self {
            Step::GatherContext { lookback_minutes } => {
                if !(1..=MAX_LOOKBACK_MINUTES).contains(lookback_minutes) {
                    return Err(format!("lookback_minutes must be 1..={MAX_LOOKBACK_MINUTES}, got {lookback_minutes}"));
                }
            }
            Step::StartAutomation {
                document,
                parameters,
            } => {
                // SSM document names, or a document ARN.
                let name_ok = (3..=256).contains(&document.len())
                    && document.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/')
                    });
                if !name_ok {
                    return Err(format!(
                        "document {document:?} is not an SSM document name or ARN"
                    ));
                }
                if parameters.len() > MAX_AUTOMATION_PARAMETERS {
                    return Err(format!("at most {MAX_AUTOMATION_PARAMETERS} parameters"));
                }
                if let Some(k) = parameters.keys().find(|k| k.is_empty() || k.len() > 50) {
                    return Err(format!("parameter name {k:?} must be 1 to 50 characters"));
                }
            }
            Step::RecordIncident {} | Step::Notify {} | Step::PutMetric {} => {}
        }
        Ok(())
    }
}

/// Reads a parameter (decrypted when it is a SecureString). `Ok(None)` when it does not exist.
pub trait RunbookSource: Send + Sync {
    fn get_parameter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Option<String>>>;
}

/// A runbook ready to run, and why the fallback replaced the configured one (if it did).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub runbook: Runbook,
    pub fallback_reason: Option<String>,
}

/// Loads `<prefix><alarm name>`; any problem yields the notify-only fallback with its reason.
pub async fn load(source: &dyn RunbookSource, prefix: &str, alarm_name: &str) -> Loaded {
    let name = format!("{prefix}{alarm_name}");
    let result = match source.get_parameter(&name).await {
        Ok(Some(raw)) => Runbook::parse(&raw, alarm_name),
        Ok(None) => Err(RunbookError::Missing(name)),
        Err(e) => Err(RunbookError::Unreadable {
            name,
            reason: format!("{e:#}"),
        }),
    };
    match result {
        Ok(runbook) => Loaded {
            runbook,
            fallback_reason: None,
        },
        Err(e) => Loaded {
            runbook: Runbook::fallback(alarm_name),
            fallback_reason: Some(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"alarm": "checkout-5xx", "link": "https://wiki.example.com/runbooks/checkout-5xx",
        "service": "checkout", "on_failure": "stop", "steps": [
        {"type": "record_incident"}, {"type": "gather_context", "lookback_minutes": 15}, {"type": "notify"},
        {"type": "start_automation", "document": "AWS-RestartEC2Instance", "parameters": {"InstanceId": ["i-123"]}},
        {"type": "put_metric"}]}"#;

    #[test]
    fn parses_every_step_kind() {
        let r = Runbook::parse(FULL, "checkout-5xx").unwrap();
        assert_eq!(r.on_failure, OnFailure::Stop);
        let kinds: Vec<_> = r.steps.iter().map(Step::kind).collect();
        assert_eq!(
            kinds,
            [
                "record_incident",
                "gather_context",
                "notify",
                "start_automation",
                "put_metric"
            ]
        );
        assert_eq!(
            r.steps[1],
            Step::GatherContext {
                lookback_minutes: 15
            }
        );
        let Step::StartAutomation { parameters, .. } = &r.steps[3] else {
            panic!()
        };
        assert_eq!(parameters["InstanceId"], ["i-123"]);
    }

    #[test]
    fn defaults() {
        let r =
            Runbook::parse(r#"{"alarm":"a","steps":[{"type":"gather_context"}]}"#, "a").unwrap();
        assert_eq!(r.on_failure, OnFailure::Continue);
        assert_eq!(
            r.steps[0],
            Step::GatherContext {
                lookback_minutes: 30
            }
        );
    }

    #[test]
    fn parses_what_terraform_jsonencode_writes() {
        // jsonencode sorts keys, so "type" is not first; it also escapes <, > and &.
        let raw = r#"{"alarm":"appmon-api-5xx-rate","link":"https://runbooks.example.com/api-5xx?a=1\u0026b=2","on_failure":"continue","steps":[{"type":"record_incident"},{"lookback_minutes":30,"type":"gather_context"},{"type":"notify"},{"document":"AWS-RestartEC2Instance","parameters":{"InstanceId":["i-1"]},"type":"start_automation"},{"type":"put_metric"}]}"#;
        let r = Runbook::parse(raw, "appmon-api-5xx-rate").unwrap();
        assert_eq!(
            r.link.as_deref(),
            Some("https://runbooks.example.com/api-5xx?a=1&b=2")
        );
        assert_eq!(
            r.steps[1],
            Step::GatherContext {
                lookback_minutes: 30
            }
        );
        assert_eq!(r.steps[3].kind(), "start_automation");
    }

    fn err(raw: &str) -> String {
        Runbook::parse(raw, "a").unwrap_err().to_string()
    }

    #[test]
    fn rejects_bad_runbooks_with_a_reason() {
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"reboot_everything"}]}"#)
                .contains("unknown variant `reboot_everything`")
        );
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"notify","channel":"x"}]}"#)
                .contains("unknown field")
        );
        assert!(err(r#"{"alarm":"a","steps":[],"extra":1}"#).contains("unknown field `extra`"));
        assert!(err(r#"{"alarm":"a","steps":[]}"#).contains("1 to 20"));
        assert!(err(r#"{"alarm":"b","steps":[{"type":"notify"}]}"#).contains("alarm that fired"));
        assert!(
            err(r#"{"alarm":"a","link":"javascript:x","steps":[{"type":"notify"}]}"#)
                .contains("link")
        );
        assert!(
            err(r##"{"alarm":"a","service":"#x","steps":[{"type":"notify"}]}"##)
                .contains("service")
        );
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"gather_context","lookback_minutes":0}]}"#)
                .contains("steps[0]")
        );
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"gather_context","lookback_minutes":-5}]}"#)
                .contains("invalid value")
        );
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"start_automation","document":"x y"}]}"#)
                .contains("SSM document")
        );
        assert!(
            err(r#"{"alarm":"a","steps":[{"type":"start_automation"}]}"#)
                .contains("missing field `document`")
        );
        assert!(
            err(r#"{"alarm":"a","on_failure":"retry","steps":[{"type":"notify"}]}"#)
                .contains("retry")
        );
        assert!(err("not json").contains("not valid JSON"));
    }

    struct Fixed(anyhow::Result<Option<String>>);
    impl RunbookSource for Fixed {
        fn get_parameter<'a>(
            &'a self,
            name: &'a str,
        ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
            assert_eq!(name, "/appmon/runbooks/checkout-5xx");
            let r = match &self.0 {
                Ok(v) => Ok(v.clone()),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            };
            Box::pin(async move { r })
        }
    }

    #[tokio::test]
    async fn load_falls_back_to_notify_only() {
        let prefix = "/appmon/runbooks/";
        let ok = load(&Fixed(Ok(Some(FULL.into()))), prefix, "checkout-5xx").await;
        assert_eq!(ok.fallback_reason, None);
        assert_eq!(ok.runbook.steps.len(), 5);
        for (source, why) in [
            (Fixed(Ok(None)), "does not exist"),
            (Fixed(Ok(Some("{".into()))), "not valid JSON"),
            (Fixed(Err(anyhow::anyhow!("AccessDenied"))), "AccessDenied"),
        ] {
            let l = load(&source, prefix, "checkout-5xx").await;
            assert_eq!(l.runbook, Runbook::fallback("checkout-5xx"));
            assert!(
                l.fallback_reason.as_deref().unwrap().contains(why),
                "{:?}",
                l.fallback_reason
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,200}") {
            let _ = Runbook::parse(&s, "a");
        }

        #[test]
        fn lookback_is_accepted_exactly_in_range(n in 0u32..3000) {
            let raw = format!(r#"{{"alarm":"a","steps":[{{"type":"gather_context","lookback_minutes":{n}}}]}}"#);
            prop_assert_eq!(Runbook::parse(&raw, "a").is_ok(), (1..=MAX_LOOKBACK_MINUTES).contains(&n));
        }
    }
}
