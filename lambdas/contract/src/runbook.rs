//! The runbook an alarm points at: the JSON document the generator writes to SSM Parameter Store
//! and the runbook executor parses, with every limit the executor enforces.
//!
//! Both sides use these types: `gen` validates a `monitoring.toml` runbook by building a
//! [`Runbook`] and calling [`Runbook::validate`], the executor calls [`Runbook::parse`] (serde +
//! the same validation), so a runbook `gen` accepts cannot degrade to notify-only when its
//! alarm fires. Format reference: docs/runbooks.md.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::names::validate_service_name;

/// Longest runbook accepted; an alarm's response should be short and reviewable.
pub const MAX_STEPS: usize = 20;
/// `gather_context` looks back at most one day.
pub const MAX_LOOKBACK_MINUTES: u32 = 1440;
pub const DEFAULT_LOOKBACK_MINUTES: u32 = 30;
/// Automation parameters per `start_automation` step, and the length of their names
/// (StartAutomationExecution allows 1-50 keys of 1-50 characters:
/// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_StartAutomationExecution.html>).
pub const MAX_AUTOMATION_PARAMETERS: usize = 50;
pub const MAX_PARAMETER_NAME_LEN: usize = 50;
/// Longest runbook link.
pub const MAX_LINK_LEN: usize = 2048;
/// SSM document names are 3-128 characters of `[A-Za-z0-9_.-]`; an ARN may be up to 256.
/// <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_CreateDocument.html>
pub const MAX_DOCUMENT_LEN: usize = 256;

/// The runbook of alarm `A` is SSM parameter `<prefix>A` with prefix `/<name_prefix>/runbooks/`.
pub fn parameter_prefix(name_prefix: &str) -> String {
    format!("/{name_prefix}/{PARAMETER_PATH}/")
}
/// The path segment under the name prefix that holds the runbooks.
pub const PARAMETER_PATH: &str = "runbooks";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// Later steps still run after a failed step (the default: notify even if recording failed).
    #[default]
    Continue,
    /// Later steps are skipped after a failed step.
    Stop,
}

impl OnFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            OnFailure::Continue => "continue",
            OnFailure::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    /// Full name of the alarm this runbook answers; the executor refuses another alarm's.
    pub alarm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Affected service; when absent it is taken from a `ServiceName`/`service` alarm dimension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The SLO an SLO alert guards (its composite notification has no metric to read it from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::slo::SloContext>,
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
        /// SSM Automation parameters are lists of strings; a single string is read as a
        /// one-element list (convenient in `monitoring.toml`; `gen` always writes lists).
        #[serde(default, deserialize_with = "string_or_list_map")]
        parameters: BTreeMap<String, Vec<String>>,
    },
    PutMetric {},
}

fn default_lookback() -> u32 {
    DEFAULT_LOOKBACK_MINUTES
}

fn string_or_list_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let raw = BTreeMap::<String, OneOrMany>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| match v {
            OneOrMany::One(s) => (k, vec![s]),
            OneOrMany::Many(v) => (k, v),
        })
        .collect())
}

impl Step {
    /// Every step type, as written in `"type"`.
    pub const KINDS: [&'static str; 5] = [
        "record_incident",
        "gather_context",
        "notify",
        "start_automation",
        "put_metric",
    ];

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

    /// The steps of a runbook that names none: record, look, tell, count.
    pub fn defaults() -> Vec<Step> {
        vec![
            Step::RecordIncident {},
            Step::GatherContext {
                lookback_minutes: DEFAULT_LOOKBACK_MINUTES,
            },
            Step::Notify {},
            Step::PutMetric {},
        ]
    }
}

/// One rule a runbook breaks: `path` is the field inside the runbook (`steps[2].document`),
/// so `gen` can point at the `monitoring.toml` key and the executor can log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" {}", self.path, self.message)
    }
}

/// Why a runbook document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not JSON, or an unknown field or step type.
    Malformed(String),
    /// Well-formed, but it breaks a rule (the first one found).
    Invalid(Violation),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Malformed(e) => write!(
                f,
                "runbook is not valid JSON or has an unknown field or step type: {e}"
            ),
            ParseError::Invalid(v) => write!(f, "runbook is invalid: {v}"),
        }
    }
}

impl std::error::Error for ParseError {}

impl Runbook {
    /// What runs when the alarm has no usable runbook: tell the humans.
    pub fn fallback(alarm: &str) -> Runbook {
        Runbook {
            alarm: alarm.to_string(),
            link: None,
            service: None,
            slo: None,
            on_failure: OnFailure::Continue,
            steps: vec![Step::Notify {}],
        }
    }

    /// Parses the parameter value and validates it for the alarm that fired.
    pub fn parse(raw: &str, alarm_name: &str) -> Result<Runbook, ParseError> {
        let runbook: Runbook =
            serde_json::from_str(raw).map_err(|e| ParseError::Malformed(e.to_string()))?;
        if runbook.alarm != alarm_name {
            return Err(ParseError::Invalid(Violation {
                path: "alarm".into(),
                message: format!(
                    "is {:?} but the alarm that fired is {alarm_name:?}",
                    runbook.alarm
                ),
            }));
        }
        match runbook.validate().into_iter().next() {
            Some(v) => Err(ParseError::Invalid(v)),
            None => Ok(runbook),
        }
    }

    /// Every rule this runbook breaks (empty when the executor will run it as written).
    pub fn validate(&self) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut fail = |path: String, message: String| out.push(Violation { path, message });
        if let Some(link) = &self.link {
            let scheme_ok = link.starts_with("https://") || link.starts_with("http://");
            if !scheme_ok || link.len() > MAX_LINK_LEN || link.chars().any(char::is_whitespace) {
                fail(
                    "link".into(),
                    format!("must be an http(s) URL of at most {MAX_LINK_LEN} characters without spaces, got {link:?}"),
                );
            }
        }
        if let Some(service) = &self.service {
            if let Err(e) = validate_service_name(service) {
                fail("service".into(), e.to_string());
            }
        }
        if self.steps.is_empty() || self.steps.len() > MAX_STEPS {
            fail(
                "steps".into(),
                format!(
                    "must have 1 to {MAX_STEPS} entries, has {} (step types: {})",
                    self.steps.len(),
                    Step::KINDS.join(", ")
                ),
            );
        }
        for (i, step) in self.steps.iter().enumerate() {
            if let Err((field, message)) = step.validate() {
                fail(format!("steps[{i}].{field}"), message);
            }
        }
        // On-call's e-mail is the notify step's message: one per state change (docs/design.md,
        // "Topic layout"), so a second notify would page twice.
        if let Some(i) = self
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Step::Notify {}))
            .nth(1)
            .map(|(i, _)| i)
        {
            fail(
                format!("steps[{i}]"),
                "a second notify step: e-mail subscribers get one message per state change, so a runbook has at most one notify".into(),
            );
        }
        out
    }
}

impl Step {
    /// The first field of this step that breaks a rule, and why.
    fn validate(&self) -> Result<(), (String, String)> {
        match self {
            Step::GatherContext { lookback_minutes } => {
                if !(1..=MAX_LOOKBACK_MINUTES).contains(lookback_minutes) {
                    return Err((
                        "lookback_minutes".into(),
                        format!("must be 1..={MAX_LOOKBACK_MINUTES}, got {lookback_minutes}"),
                    ));
                }
            }
            Step::StartAutomation {
                document,
                parameters,
            } => {
                if !is_document_name_or_arn(document) {
                    return Err((
                        "document".into(),
                        format!("{document:?} is not an SSM document name or ARN"),
                    ));
                }
                if parameters.len() > MAX_AUTOMATION_PARAMETERS {
                    return Err((
                        "parameters".into(),
                        format!(
                            "has {} entries, at most {MAX_AUTOMATION_PARAMETERS} are allowed",
                            parameters.len()
                        ),
                    ));
                }
                if let Some(k) = parameters
                    .keys()
                    .find(|k| k.is_empty() || k.len() > MAX_PARAMETER_NAME_LEN)
                {
                    return Err((
                        "parameters".into(),
                        format!("name {k:?} must be 1 to {MAX_PARAMETER_NAME_LEN} characters"),
                    ));
                }
            }
            Step::RecordIncident {} | Step::Notify {} | Step::PutMetric {} => {}
        }
        Ok(())
    }
}

/// An SSM document name, or a document ARN (`:` and `/` allowed).
fn is_document_name_or_arn(document: &str) -> bool {
    (3..=MAX_DOCUMENT_LEN).contains(&document.len())
        && document
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'))
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
        assert_eq!(kinds, Step::KINDS);
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
        assert_eq!(r.steps[3].kind(), "start_automation");
    }

    #[test]
    fn a_single_parameter_string_is_a_list_of_one() {
        let raw = r#"{"alarm":"a","steps":[{"type":"start_automation","document":"Doc-1","parameters":{"Id":"i-1"}}]}"#;
        let r = Runbook::parse(raw, "a").unwrap();
        let Step::StartAutomation { parameters, .. } = &r.steps[0] else {
            panic!()
        };
        assert_eq!(parameters["Id"], ["i-1"]);
        assert!(serde_json::to_string(&r)
            .unwrap()
            .contains(r#""Id":["i-1"]"#));
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
                .contains("steps[0].lookback_minutes")
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

    #[test]
    fn limits_are_inclusive() {
        let puts = |n: usize| Runbook {
            steps: vec![Step::PutMetric {}; n],
            ..Runbook::fallback("a")
        };
        assert!(puts(MAX_STEPS).validate().is_empty());
        assert_eq!(puts(MAX_STEPS + 1).validate()[0].path, "steps");
        let automation = |n: usize| Runbook {
            steps: vec![Step::StartAutomation {
                document: "Doc-1".into(),
                parameters: (0..n)
                    .map(|i| (format!("P{i}"), vec!["v".into()]))
                    .collect(),
            }],
            ..Runbook::fallback("a")
        };
        assert!(automation(MAX_AUTOMATION_PARAMETERS).validate().is_empty());
        assert_eq!(
            automation(MAX_AUTOMATION_PARAMETERS + 1).validate()[0].path,
            "steps[0].parameters"
        );
    }

    /// One e-mail per state change: a second notify step is refused, naming it.
    #[test]
    fn at_most_one_notify_step() {
        let with = |steps: Vec<Step>| Runbook {
            steps,
            ..Runbook::fallback("a")
        };
        assert!(with(vec![Step::RecordIncident {}, Step::Notify {}])
            .validate()
            .is_empty());
        let v = with(vec![Step::Notify {}, Step::PutMetric {}, Step::Notify {}]).validate();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].path, "steps[2]");
        assert!(v[0].message.contains("at most one notify"), "{v:?}");
    }
}
