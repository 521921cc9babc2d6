//! The `monitoring.toml` model: what changes the generated module's *structure*.
//!
//! Values a user may want to change at apply time (thresholds, retention, emails, memory) are
//! only *defaults* here: the module turns them into Terraform variables.

use crate::plan::{Field, KindDescriptor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A problem found by [`Config::validate`]; `key` is a dotted path such as `alarms[2].threshold`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub project: Project,
    #[serde(default)]
    pub components: Components,
    #[serde(default)]
    pub api: Api,
    #[serde(default)]
    pub notifications: Notifications,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub dashboard: Dashboard,
    #[serde(default)]
    pub service_metrics: ServiceMetrics,
    #[serde(default)]
    pub alarms: Vec<Alarm>,
}

/// The applications' own metrics in CloudWatch (`contract::service_metrics`): which services are
/// published (and get the service alarms) by default, and which custom metrics besides the
/// built-in ones. Both become variable defaults: an estate adds services in its `module` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ServiceMetrics {
    /// Default keys of `var.services`.
    #[serde(default)]
    pub services: Vec<String>,
    /// Default of `var.published_metrics`: custom (EMF / API) metric names also published.
    #[serde(default)]
    pub custom_metrics: Vec<String>,
}

/// How an alarm compares its value with the threshold (CloudWatch's `ComparisonOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    /// The anomaly-band operator for the same direction
    /// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    pub fn band(self) -> &'static str {
        match self {
            Comparison::GreaterThanThreshold | Comparison::GreaterThanOrEqualToThreshold => {
                "GreaterThanUpperThreshold"
            }
            Comparison::LessThanThreshold | Comparison::LessThanOrEqualToThreshold => {
                "LessThanLowerThreshold"
            }
        }
    }
}

/// CloudWatch's `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl MissingData {
    pub fn as_str(self) -> &'static str {
        match self {
            MissingData::Missing => "missing",
            MissingData::NotBreaching => "notBreaching",
            MissingData::Breaching => "breaching",
            MissingData::Ignore => "ignore",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Default of `var.name_prefix`; every resource name derives from it.
    #[serde(default = "default_name_prefix")]
    pub name_prefix: String,
    #[serde(default)]
    pub architecture: Architecture,
}

impl Default for Project {
    fn default() -> Self {
        Self {
            name_prefix: default_name_prefix(),
            architecture: Architecture::default(),
        }
    }
}

fn default_name_prefix() -> String {
    "appmon".into()
}

/// The functions' CPU architecture: in `monitoring.toml` and for `gen package --arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// AWS Graviton (the default: cheaper per GB-second).
    #[default]
    Arm64,
    /// Intel/AMD; also what the local end-to-end tests run, since they execute the binaries here.
    #[value(name = "x86_64", alias = "x86-64")]
    X86_64,
}

impl Architecture {
    /// The value Lambda's `architectures` attribute and the packaging manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Components {
    #[serde(default = "yes")]
    pub api: bool,
    #[serde(default = "yes")]
    pub alarms: bool,
    #[serde(default = "yes")]
    pub dashboard: bool,
    /// Runbook executor + SSM parameters + its SNS subscription.
    #[serde(default = "yes")]
    pub runbooks: bool,
}

impl Default for Components {
    fn default() -> Self {
        Self {
            api: true,
            alarms: true,
            dashboard: true,
            runbooks: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// How callers of a group of routes authenticate at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiAuth {
    /// `x-api-key` + usage plan: identifies and meters a caller; AWS says keys are not for
    /// authorization (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).
    ApiKey,
    /// SigV4-signed requests (`AWS_IAM`), authorized by the caller's IAM policy.
    Iam,
}

impl ApiAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiAuth::ApiKey => "api_key",
            ApiAuth::Iam => "iam",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Reads (`GET /metrics`, `GET /health`): API key + usage plan by default.
    #[serde(default = "default_read_auth")]
    pub read_auth: ApiAuth,
    /// Writes (`POST /metrics`): IAM (SigV4) by default.
    #[serde(default = "default_write_auth")]
    pub write_auth: ApiAuth,
    #[serde(default = "default_cors")]
    pub cors_allowed_origins: Vec<String>,
    #[serde(default = "default_rate")]
    pub throttle_rate_limit: f64,
    #[serde(default = "default_burst")]
    pub throttle_burst_limit: u32,
    #[serde(default = "default_stage")]
    pub stage_name: String,
    /// Largest POST /metrics body the function accepts (413 above it).
    #[serde(default = "default_max_body")]
    pub max_body_bytes: u32,
}

impl Default for Api {
    fn default() -> Self {
        Self {
            read_auth: default_read_auth(),
            write_auth: default_write_auth(),
            cors_allowed_origins: default_cors(),
            throttle_rate_limit: default_rate(),
            throttle_burst_limit: default_burst(),
            stage_name: default_stage(),
            max_body_bytes: default_max_body(),
        }
    }
}

fn default_read_auth() -> ApiAuth {
    ApiAuth::ApiKey
}
fn default_write_auth() -> ApiAuth {
    ApiAuth::Iam
}
fn default_cors() -> Vec<String> {
    vec!["*".into()]
}
fn default_rate() -> f64 {
    50.0
}
fn default_burst() -> u32 {
    100
}
fn default_stage() -> String {
    "v1".into()
}
fn default_max_body() -> u32 {
    262_144
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    #[serde(default)]
    pub emails: Vec<String>,
}

/// Defaults of Terraform variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default = "d30")]
    pub log_retention_days: u32,
    #[serde(default = "d30")]
    pub logs_transition_days: u32,
    #[serde(default = "d365")]
    pub logs_expiration_days: u32,
    #[serde(default = "d256")]
    pub lambda_memory_mb: u32,
    #[serde(default = "d30")]
    pub lambda_timeout_seconds: u32,
    /// The metrics-api function's own timeout: at most API Gateway's 29 s integration timeout.
    #[serde(default = "d20")]
    pub metrics_api_timeout_seconds: u32,
    #[serde(default = "d30")]
    pub incident_ttl_days: u32,
    #[serde(default)]
    pub runbook_dry_run: bool,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            log_retention_days: 30,
            logs_transition_days: 30,
            logs_expiration_days: 365,
            lambda_memory_mb: 256,
            lambda_timeout_seconds: 30,
            metrics_api_timeout_seconds: 20,
            incident_ttl_days: 30,
            runbook_dry_run: false,
        }
    }
}

fn d20() -> u32 {
    20
}
fn d30() -> u32 {
    30
}
fn d256() -> u32 {
    256
}
fn d365() -> u32 {
    365
}

/// API Gateway's default REST integration timeout, in seconds: the metrics-api function must
/// finish within it or the client gets a 504 while the function keeps running
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html:
/// "Integration timeout for Regional APIs: 50 milliseconds - 29 seconds for all integration
/// types"; raising it needs a quota increase and the integration's timeout_milliseconds, which
/// this module leaves at the default).
pub const API_INTEGRATION_TIMEOUT_SECONDS: u32 = 29;

/// Largest `max_body_bytes`: 4 MiB. Lambda's synchronous invocation payload is at most 6 MB
/// (6,291,456 bytes) for the whole event (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
/// and the REST proxy event carries the body inside a JSON envelope (headers twice, as
/// `headers` and `multiValueHeaders`, query parameters, `requestContext`: tens of KB), base64-
/// encoded when API Gateway treats it as binary (4/3 the size;
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
/// 4 MiB * 4/3 = 5.33 MiB leaves ~650 KiB for the envelope and JSON escaping. A larger body
/// would be refused by Lambda before the function could answer 413.
pub const MAX_BODY_BYTES_LIMIT: u32 = 4 * 1024 * 1024;

/// Retention values CloudWatch Logs accepts (also used for the Terraform validation).
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DashboardSection {
    /// Requests, error rate and p50/p99 latency of every service in `var.services`.
    Services,
    Api,
    Lambda,
    Dynamodb,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Sections in display order; `api` is dropped when the API component is off.
    #[serde(default = "default_sections")]
    pub sections: Vec<DashboardSection>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self {
            sections: default_sections(),
        }
    }
}

fn default_sections() -> Vec<DashboardSection> {
    vec![
        DashboardSection::Services,
        DashboardSection::Api,
        DashboardSection::Lambda,
        DashboardSection::Dynamodb,
    ]
}

/// Alarm kinds are defined, with everything about them, in [`crate::plan::alarm_kind`].
pub use crate::plan::AlarmKind;

/// The three Lambda functions of the stack (defined in the contract the functions share).
pub use contract::Function;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alarm {
    /// Short name; the CloudWatch alarm is `<name_prefix>-<name>`.
    pub name: String,
    pub kind: AlarmKind,
    /// Default of the alarm's entry in `var.alarm_thresholds`.
    pub threshold: f64,
    /// Required for `lambda_errors`: which function.
    #[serde(default)]
    pub function: Option<Function>,
    /// For `api_latency`: the percentile, `p50`..`p99.9`.
    #[serde(default)]
    pub percentile: Option<String>,
    #[serde(default = "default_period")]
    pub period_seconds: u32,
    #[serde(default = "default_evaluation_periods")]
    pub evaluation_periods: u32,
    /// M of the "M out of N" rule (default: all `evaluation_periods`).
    #[serde(default)]
    pub datapoints_to_alarm: Option<u32>,
    /// Default: the kind's (`notBreaching`; `breaching` for a traffic floor, as silence is the failure).
    #[serde(default)]
    pub treat_missing_data: Option<MissingData>,
    /// Service kinds: which way is bad (default `GreaterThanThreshold`; a traffic floor is `LessThanThreshold`).
    #[serde(default)]
    pub comparison: Option<Comparison>,
    /// Service kinds except `slo`: compare with CloudWatch's anomaly detection band instead of a
    /// static threshold; `threshold` is then the band's width in standard deviations.
    #[serde(default)]
    pub anomaly_band: bool,
    /// `service_metric`: the published metric (`Requests`, `Errors`, `Latency` or a custom one).
    #[serde(default)]
    pub metric: Option<String>,
    /// `service_metric`: `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile.
    #[serde(default)]
    pub statistic: Option<String>,
    /// `slo`: the window the availability target holds over, in days (default 30).
    #[serde(default)]
    pub window_days: Option<u32>,
    /// `slo`: also generate the ticket-level alert (3 days at burn rate 1, short window 6 h).
    #[serde(default)]
    pub ticket: bool,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub runbook: Option<Runbook>,
}

fn default_period() -> u32 {
    60
}
fn default_evaluation_periods() -> u32 {
    5
}

impl Alarm {
    /// The percentile statistic of a latency alarm.
    pub fn percentile_or_default(&self) -> &str {
        self.percentile.as_deref().unwrap_or("p99")
    }

    /// The SLO window of an `slo` alarm, in days.
    pub fn window_days_or_default(&self) -> u32 {
        self.window_days.unwrap_or(30)
    }
}

/// The runbook steps and their limits are the executor's own types (the contract crate).
pub use contract::runbook::{OnFailure, Step};

/// An alarm's runbook as `monitoring.toml` states it: the link is required, the steps default
/// to record, look, tell, count. `gen` writes it as the contract's [`contract::runbook::Runbook`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub link: String,
    /// The service whose metrics `gather_context` reads from the table.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub on_failure: OnFailure,
    #[serde(default = "Step::defaults")]
    pub steps: Vec<Step>,
}

impl Runbook {
    /// The document the executor reads for the alarm named `alarm` (its full CloudWatch name).
    pub fn document(&self, alarm: &str) -> contract::runbook::Runbook {
        contract::runbook::Runbook {
            alarm: alarm.to_owned(),
            link: Some(self.link.clone()),
            service: self.service.clone(),
            slo: None,
            on_failure: self.on_failure,
            steps: self.steps.clone(),
        }
    }
}

impl Config {
    /// Every problem in the configuration, in document order.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        validate_name_prefix(&self.project.name_prefix, &mut issues);
        self.validate_api(&mut issues);
        for (i, email) in self.notifications.emails.iter().enumerate() {
            if !looks_like_email(email) {
                issues.push(ConfigIssue::new(
                    format!("notifications.emails[{i}]"),
                    format!("{email:?} is not an email address"),
                ));
            }
        }
        self.validate_defaults(&mut issues);
        let mut seen = BTreeMap::new();
        for (i, alarm) in self.alarms.iter().enumerate() {
            if let Some(first) = seen.insert(alarm.name.as_str(), i) {
                issues.push(ConfigIssue::new(
                    format!("alarms[{i}].name"),
                    format!(
                        "duplicate alarm name {:?} (first at alarms[{first}])",
                        alarm.name
                    ),
                ));
            }
            validate_alarm(i, alarm, &mut issues);
            validate_service_alarm(i, alarm, &self.service_metrics, &mut issues);
        }
        self.validate_service_metrics(&mut issues);
        issues
    }

    fn validate_service_metrics(&self, issues: &mut Vec<ConfigIssue>) {
        use contract::service_metrics as sm;
        let m = &self.service_metrics;
        if m.services.len() > sm::MAX_PUBLISHED_SERVICES {
            issues.push(ConfigIssue::new(
                "service_metrics.services",
                format!(
                    "lists {} services, at most {} are allowed",
                    m.services.len(),
                    sm::MAX_PUBLISHED_SERVICES
                ),
            ));
        }
        for (i, name) in m.services.iter().enumerate() {
            if let Err(e) = contract::names::validate_service_name(name) {
                issues.push(ConfigIssue::new(
                    format!("service_metrics.services[{i}]"),
                    e.to_string(),
                ));
            }
        }
        if m.custom_metrics.len() > sm::MAX_PUBLISHED_METRICS {
            issues.push(ConfigIssue::new(
                "service_metrics.custom_metrics",
                format!(
                    "lists {} metrics, at most {} are allowed",
                    m.custom_metrics.len(),
                    sm::MAX_PUBLISHED_METRICS
                ),
            ));
        }
        for (i, name) in m.custom_metrics.iter().enumerate() {
            let key = format!("service_metrics.custom_metrics[{i}]");
            if let Err(e) = contract::names::validate_metric_name(name) {
                issues.push(ConfigIssue::new(key, e.to_string()));
            } else if sm::BUILT_IN.iter().any(|b| b.name == name) {
                issues.push(ConfigIssue::new(
                    key,
                    format!("{name:?} is a built-in metric, always published"),
                ));
            }
        }
    }

    fn validate_api(&self, issues: &mut Vec<ConfigIssue>) {
        let api = &self.api;
        if api.cors_allowed_origins.is_empty() {
            issues.push(ConfigIssue::new(
                "api.cors_allowed_origins",
                "must list at least one origin (use \"*\" for any)",
            ));
        }
        for (i, origin) in api.cors_allowed_origins.iter().enumerate() {
            let ok = origin == "*"
                || ((origin.starts_with("https://") || origin.starts_with("http://"))
                    && !origin.ends_with('/')
                    && !origin.contains(','));
            if !ok {
                issues.push(ConfigIssue::new(
                    format!("api.cors_allowed_origins[{i}]"),
                    format!("{origin:?} must be \"*\" or an origin like https://app.example.com (scheme and host, no trailing slash)"),
                ));
            }
        }
        if !(api.throttle_rate_limit > 0.0 && api.throttle_rate_limit <= 10_000.0) {
            issues.push(ConfigIssue::new(
                "api.throttle_rate_limit",
                "must be between 0 (exclusive) and 10000 requests per second",
            ));
        }
        if api.throttle_burst_limit == 0 || api.throttle_burst_limit > 5000 {
            issues.push(ConfigIssue::new(
                "api.throttle_burst_limit",
                "must be between 1 and 5000",
            ));
        }
        let stage_ok = !api.stage_name.is_empty()
            && api.stage_name.len() <= 64
            && api
                .stage_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !stage_ok {
            issues.push(ConfigIssue::new(
                "api.stage_name",
                "must be 1-64 characters of letters, digits, '-' and '_'",
            ));
        }
        if api.max_body_bytes < 1024 || api.max_body_bytes > MAX_BODY_BYTES_LIMIT {
            issues.push(ConfigIssue::new(
                "api.max_body_bytes",
                format!("must be between 1024 and {MAX_BODY_BYTES_LIMIT} (the body, base64-encoded, plus the event envelope must fit Lambda's 6 MB payload)"),
            ));
        }
    }

    fn validate_defaults(&self, issues: &mut Vec<ConfigIssue>) {
        let d = &self.defaults;
        if !LOG_RETENTION_DAYS.contains(&d.log_retention_days) {
            issues.push(ConfigIssue::new(
                "defaults.log_retention_days",
                format!(
                    "{} is not a CloudWatch Logs retention period (allowed: {})",
                    d.log_retention_days,
                    join(LOG_RETENTION_DAYS)
                ),
            ));
        }
        if d.logs_transition_days < 30 {
            issues.push(ConfigIssue::new(
                "defaults.logs_transition_days",
                "must be at least 30 (S3's minimum for STANDARD_IA)",
            ));
        }
        if d.logs_expiration_days <= d.logs_transition_days {
            issues.push(ConfigIssue::new(
                "defaults.logs_expiration_days",
                format!(
                    "must be greater than defaults.logs_transition_days ({})",
                    d.logs_transition_days
                ),
            ));
        }
        if !(128..=10_240).contains(&d.lambda_memory_mb) {
            issues.push(ConfigIssue::new(
                "defaults.lambda_memory_mb",
                "must be between 128 and 10240",
            ));
        }
        if !(1..=900).contains(&d.lambda_timeout_seconds) {
            issues.push(ConfigIssue::new(
                "defaults.lambda_timeout_seconds",
                "must be between 1 and 900",
            ));
        }
        if !(1..=API_INTEGRATION_TIMEOUT_SECONDS).contains(&d.metrics_api_timeout_seconds) {
            issues.push(ConfigIssue::new(
                "defaults.metrics_api_timeout_seconds",
                format!("must be between 1 and {API_INTEGRATION_TIMEOUT_SECONDS} (API Gateway's integration timeout)"),
            ));
        }
        if !(1..=3650).contains(&d.incident_ttl_days) {
            issues.push(ConfigIssue::new(
                "defaults.incident_ttl_days",
                "must be between 1 and 3650",
            ));
        }
    }
}

fn validate_name_prefix(prefix: &str, issues: &mut Vec<ConfigIssue>) {
    if !is_name_prefix(prefix) {
        issues.push(ConfigIssue::new(
            "project.name_prefix",
            format!("{prefix:?} must be 2-24 characters: a lowercase letter, then lowercase letters, digits or '-', not ending in '-'"),
        ));
    }
}

/// Same rule as the Terraform validation of `var.name_prefix` (S3 and IAM naming limits).
pub fn is_name_prefix(prefix: &str) -> bool {
    let bytes = prefix.as_bytes();
    (2..=24).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && !prefix.ends_with('-')
}

/// Alarm names become part of CloudWatch alarm names and SSM parameter paths.
pub fn is_alarm_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(|c| c.is_whitespace() || c == '"')
        }
        None => false,
    }
}

fn is_percentile(p: &str) -> bool {
    p.strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|n| n > 0.0 && n < 100.0)
        && !p.contains(['e', 'E', '+', '-'])
}

fn validate_alarm(i: usize, alarm: &Alarm, issues: &mut Vec<ConfigIssue>) {
    let key = |field: &str| format!("alarms[{i}].{field}");
    if !is_alarm_name(&alarm.name) {
        issues.push(ConfigIssue::new(
            key("name"),
            format!(
                "{:?} must be 1-64 characters of letters, digits, '-' and '_'",
                alarm.name
            ),
        ));
    }
    if !alarm.threshold.is_finite() || alarm.threshold < 0.0 {
        issues.push(ConfigIssue::new(
            key("threshold"),
            "must be a finite number >= 0",
        ));
    }
    let kind = alarm.kind.descriptor();
    if let Some((max, message)) = kind.max_threshold {
        if alarm.threshold > max {
            issues.push(ConfigIssue::new(key("threshold"), message));
        }
    }
    // Which kinds take a field, for "is only allowed for kind ..." messages.
    let kinds_with = |field: fn(&KindDescriptor) -> Field| {
        AlarmKind::ALL
            .iter()
            .filter(|k| field(k.descriptor()) != Field::Forbidden)
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (kind.function, alarm.function) {
        (Field::Required, None) => issues.push(ConfigIssue::new(
            key("function"),
            format!(
                "is required for kind {} (allowed: {})",
                kind.name,
                Function::ALL.map(|f| f.ident()).join(", ")
            ),
        )),
        // A function whose component is off just drops the alarm (see `Plan::resolve`).
        (Field::Forbidden, Some(_)) => issues.push(ConfigIssue::new(
            key("function"),
            format!("is only allowed for kind {}", kinds_with(|d| d.function)),
        )),
        _ => {}
    }
    match (&alarm.percentile, kind.percentile) {
        (Some(p), Field::Required | Field::Optional) if !is_percentile(p) => {
            issues.push(ConfigIssue::new(
                key("percentile"),
                format!("{p:?} must look like p50, p90, p99 or p99.9"),
            ))
        }
        (Some(_), Field::Forbidden) => issues.push(ConfigIssue::new(
            key("percentile"),
            format!("is only allowed for kind {}", kinds_with(|d| d.percentile)),
        )),
        (None, Field::Required) => issues.push(ConfigIssue::new(
            key("percentile"),
            format!("is required for kind {}", kind.name),
        )),
        _ => {}
    }
    if alarm.period_seconds < 60 || alarm.period_seconds % 60 != 0 {
        issues.push(ConfigIssue::new(
            key("period_seconds"),
            "must be a multiple of 60 (at least 60)",
        ));
    }
    if alarm.period_seconds >= 60 && alarm.period_seconds % 60 == 0 {
        if let Err(e) = contract::slo::evaluable(alarm.period_seconds, alarm.evaluation_periods) {
            issues.push(ConfigIssue::new(key("evaluation_periods"), e));
        }
    }
    if let Some(m) = alarm.datapoints_to_alarm {
        if m == 0 || m > alarm.evaluation_periods {
            issues.push(ConfigIssue::new(
                key("datapoints_to_alarm"),
                format!(
                    "must be 1 to evaluation_periods ({})",
                    alarm.evaluation_periods
                ),
            ));
        }
    }
    if let Some(d) = &alarm.description {
        if d.len() > 512 {
            issues.push(ConfigIssue::new(
                key("description"),
                "must be at most 512 characters (the runbook link is appended)",
            ));
        }
    }
    if let Some(runbook) = &alarm.runbook {
        validate_runbook(&key("runbook"), runbook, issues);
    }
}

/// The fields of the per-service kinds (and their absence elsewhere).
fn validate_service_alarm(
    i: usize,
    alarm: &Alarm,
    metrics: &ServiceMetrics,
    issues: &mut Vec<ConfigIssue>,
) {
    let key = |field: &str| format!("alarms[{i}].{field}");
    let kind = alarm.kind.descriptor();
    let only = |field: &str, allowed: fn(&KindDescriptor) -> bool| {
        let kinds = AlarmKind::ALL
            .iter()
            .filter(|k| allowed(k.descriptor()))
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        ConfigIssue::new(key(field), format!("is only allowed for kind {kinds}"))
    };
    if alarm.comparison.is_some() && kind.comparison.0 == Field::Forbidden {
        issues.push(only("comparison", |d| d.comparison.0 != Field::Forbidden));
    }
    if alarm.anomaly_band {
        if !kind.anomaly {
            issues.push(only("anomaly_band", |d| d.anomaly));
        } else if alarm.threshold <= 0.0 {
            issues.push(ConfigIssue::new(
                key("threshold"),
                "is the anomaly band's width in standard deviations: must be > 0",
            ));
        }
    }
    if kind.slo == Field::Forbidden {
        if alarm.window_days.is_some() {
            issues.push(only("window_days", |d| d.slo != Field::Forbidden));
        }
        if alarm.ticket {
            issues.push(only("ticket", |d| d.slo != Field::Forbidden));
        }
    } else {
        if let Err(e) = contract::slo::validate_target(alarm.threshold) {
            issues.push(ConfigIssue::new(key("threshold"), e));
        }
        if let Err(e) = contract::slo::validate_window(alarm.window_days_or_default()) {
            issues.push(ConfigIssue::new(key("window_days"), e));
        }
    }
    match (kind.metric, &alarm.metric, &alarm.statistic) {
        (Field::Forbidden, None, None) => {}
        (Field::Forbidden, _, _) => {
            let field = if alarm.metric.is_some() { "metric" } else { "statistic" };
            issues.push(only(field, |d| d.metric != Field::Forbidden));
        }
        (_, None, _) => issues.push(ConfigIssue::new(
            key("metric"),
            format!("is required for kind {}", kind.name),
        )),
        (_, _, None) => issues.push(ConfigIssue::new(
            key("statistic"),
            format!("is required for kind {}: Sum, Average, Minimum, Maximum, SampleCount or a percentile like p99", kind.name),
        )),
        (_, Some(m), Some(stat)) => {
            let built_in = contract::service_metrics::BUILT_IN.iter().any(|b| b.name == m);
            if !built_in && !metrics.custom_metrics.contains(m) {
                issues.push(ConfigIssue::new(
                    key("metric"),
                    format!("{m:?} is not published: use Requests, Errors, Latency or a name in service_metrics.custom_metrics"),
                ));
            }
            let known = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"];
            if !known.contains(&stat.as_str()) && !is_percentile(stat) {
                issues.push(ConfigIssue::new(
                    key("statistic"),
                    format!("{stat:?} must be Sum, Average, Minimum, Maximum, SampleCount or a percentile like p99"),
                ));
            }
        }
    }
    if kind.per_service() && alarm.runbook.as_ref().is_some_and(|r| r.service.is_some()) {
        issues.push(ConfigIssue::new(
            key("runbook.service"),
            "is set per service for per-service kinds (each service's runbook names its service)",
        ));
    }
}

fn validate_runbook(key: &str, runbook: &Runbook, issues: &mut Vec<ConfigIssue>) {
    // The executor's own rules (the alarm name is ours, so any name will do here).
    for violation in runbook.document("-").validate() {
        issues.push(ConfigIssue::new(
            format!("{key}.{}", violation.path),
            violation.message,
        ));
    }
    // Stricter than the executor, because the IAM policy is written from these values.
    for (j, step) in runbook.steps.iter().enumerate() {
        let Step::StartAutomation {
            document,
            parameters,
        } = step
        else {
            continue;
        };
        if !is_document_name(document) {
            issues.push(ConfigIssue::new(
                format!("{key}.steps[{j}].document"),
                format!("{document:?} is not an SSM document name ([A-Za-z0-9_.-]{{3,128}}): the executor's policy allows starting exactly the documents named"),
            ))
        }
        if parameters
            .get(AUTOMATION_ASSUME_ROLE)
            .is_some_and(|v| !matches!(&v[..], [one] if is_role_arn(one)))
        {
            issues.push(ConfigIssue::new(
                format!("{key}.steps[{j}].parameters.AutomationAssumeRole"),
                "must be one IAM role ARN (arn:aws:iam::<account>:role/<name>): the executor is allowed to pass exactly this role",
            ))
        }
    }
}

/// The Automation parameter naming the role a document runs under.
pub const AUTOMATION_ASSUME_ROLE: &str = "AutomationAssumeRole";

/// `arn:<partition>:iam::<12 digits>:role/<path/name>`.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts[..], ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty()))
}

fn is_document_name(name: &str) -> bool {
    (3..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn join(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        toml::from_str(text).expect("valid toml")
    }

    #[test]
    fn starter_config_parses_and_validates_clean() {
        let config = parse(include_str!("starter.toml"));
        assert_eq!(config.validate(), vec![]);
        assert_eq!(config.project.name_prefix, "appmon");
        assert!(config.alarms.len() >= 4);
    }

    #[test]
    fn empty_file_gives_the_documented_defaults() {
        let config = parse("");
        assert_eq!(config, Config::default());
        assert_eq!(config.project.architecture, Architecture::Arm64);
        assert_eq!(config.api.read_auth, ApiAuth::ApiKey);
        assert_eq!(config.api.write_auth, ApiAuth::Iam);
        assert_eq!(config.defaults.log_retention_days, 30);
    }

    #[test]
    fn unknown_keys_and_bad_enum_values_are_rejected() {
        let err = toml::from_str::<Config>("[project]\nname_prefx = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("name_prefx"), "{err}");
        let err = toml::from_str::<Config>("[api]\nwrite_auth = \"cognito\"\n").unwrap_err();
        assert!(err.to_string().contains("api_key"), "{err}");
    }

    #[test]
    fn steps_round_trip_in_the_executor_format() {
        let config = parse(
            r#"
[[alarms]]
name = "x"
kind = "dynamodb_throttles"
threshold = 1
[alarms.runbook]
link = "https://r.example.com"
steps = [{ type = "gather_context" }, { type = "start_automation", document = "AWS-RestartEC2Instance", parameters = { InstanceId = "i-1" } }]
"#,
        );
        let steps = &config.alarms[0].runbook.as_ref().unwrap().steps;
        let json = serde_json::to_value(steps).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"type": "gather_context", "lookback_minutes": 30},
                {"type": "start_automation", "document": "AWS-RestartEC2Instance", "parameters": {"InstanceId": ["i-1"]}}
            ])
        );
    }

    #[test]
    fn validation_names_each_bad_key() {
        let config = parse(
            r#"
[project]
name_prefix = "Bad_Prefix"
[notifications]
emails = ["oncall@example.com", "nope"]
[defaults]
log_retention_days = 31
[[alarms]]
name = "a"
kind = "lambda_errors"
threshold = 1
[[alarms]]
name = "a"
kind = "api_5xx_rate"
threshold = 150
percentile = "p99"
period_seconds = 90
"#,
        );
        let keys: Vec<_> = config.validate().into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            [
                "project.name_prefix",
                "notifications.emails[1]",
                "defaults.log_retention_days",
                "alarms[0].function",
                "alarms[1].name",
                "alarms[1].threshold",
                "alarms[1].percentile",
                "alarms[1].period_seconds",
            ]
        );
    }

    #[test]
    fn metrics_api_timeout_and_body_limit_fit_api_gateway_and_lambda() {
        let mut config = parse(include_str!("starter.toml"));
        assert_eq!(config.defaults.metrics_api_timeout_seconds, 20);
        config.defaults.metrics_api_timeout_seconds = 30;
        config.api.max_body_bytes = 6 * 1024 * 1024;
        let keys: Vec<_> = config.validate().into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            ["api.max_body_bytes", "defaults.metrics_api_timeout_seconds"]
        );
        config.defaults.metrics_api_timeout_seconds = 29;
        config.api.max_body_bytes = MAX_BODY_BYTES_LIMIT;
        assert_eq!(config.validate(), vec![]);
    }

    #[test]
    fn percentiles() {
        assert!(is_percentile("p99"));
        assert!(is_percentile("p99.9"));
        assert!(!is_percentile("p100"));
        assert!(!is_percentile("99"));
        assert!(!is_percentile("p1e1"));
    }
}
