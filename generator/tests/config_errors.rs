//! `monitoring.toml` problems are reported as `path:line:col: key: message`, pointing at the
//! offending key, with the allowed values where there is a fixed set.

use monitoring_gen::config::load::{parse_config, LoadError};
use monitoring_gen::config::STARTER;
use std::path::Path;

/// The report for `text`, which must be rejected.
fn errors(text: &str) -> String {
    match parse_config(Path::new("cfg/monitoring.toml"), text) {
        Ok(_) => panic!("config was accepted:\n{text}"),
        Err(e @ LoadError::Invalid(..)) => e.to_string(),
        Err(e) => panic!("unexpected error kind: {e}"),
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in text"))
        + 1
}

#[test]
fn the_starter_config_is_valid() {
    parse_config(Path::new("starter.toml"), STARTER).expect("starter config loads");
}

#[test]
fn an_unknown_enum_value_names_file_line_column_key_and_allowed_values() {
    let text = STARTER.replace("write_auth           = \"iam\"", "write_auth = \"token\"");
    let line = line_of(&text, "write_auth = \"token\"");
    assert_eq!(
        errors(&text),
        format!(
            "cfg/monitoring.toml:{line}:14: api.write_auth: unknown value \"token\" (allowed: api_key, iam)"
        )
    );
}

#[test]
fn an_unknown_key_is_reported_where_it_is_written_with_the_allowed_keys() {
    let text = STARTER.replace("[components]\n", "[components]\nmetrics = true\n");
    let line = line_of(&text, "metrics = true");
    let report = errors(&text);
    assert!(
        report.starts_with(&format!(
            "cfg/monitoring.toml:{line}:1: components.metrics: unknown key \"metrics\" (allowed: "
        )),
        "{report}"
    );
    assert!(
        report.contains("api, alarms, dashboard, runbooks"),
        "{report}"
    );
}

#[test]
fn a_wrong_type_inside_an_array_of_tables_points_at_the_value() {
    let text = STARTER.replacen("threshold = 5.0", "threshold = \"high\"", 1);
    let line = line_of(&text, "threshold = \"high\"");
    let report = errors(&text);
    assert!(
        report.starts_with(&format!(
            "cfg/monitoring.toml:{line}:13: alarms[0].threshold: "
        )),
        "{report}"
    );
    assert!(report.contains("string"), "{report}");
}

#[test]
fn validation_issues_are_located_by_their_key_path() {
    // Third alarm's threshold stays valid; its function is the problem.
    let text = STARTER
        .replace("name_prefix  = \"appmon\"", "name_prefix  = \"App_Mon\"")
        .replace("log_retention_days     = 30", "log_retention_days     = 31");
    let report = errors(&text);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    let prefix_line = line_of(&text, "\"App_Mon\"");
    let retention_line = line_of(&text, "= 31");
    assert!(
        lines[0].starts_with(&format!(
            "cfg/monitoring.toml:{prefix_line}:1: project.name_prefix: \"App_Mon\" must be"
        )),
        "{report}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "cfg/monitoring.toml:{retention_line}:1: defaults.log_retention_days: 31 is not"
        )),
        "{report}"
    );
    assert!(lines[1].contains("(allowed: 1, 3, 5"), "{report}");
}

#[test]
fn an_issue_inside_a_later_array_table_entry_points_at_that_entry() {
    // Duplicate alarm name on the second alarm: the key is alarms[1].name.
    let text = STARTER.replace(
        "name       = \"api-latency-p99\"",
        "name = \"api-5xx-rate\"",
    );
    let line = line_of(&text, "name = \"api-5xx-rate\"");
    let report = errors(&text);
    assert!(
        report.starts_with(&format!(
            "cfg/monitoring.toml:{line}:1: alarms[1].name: duplicate alarm name"
        )),
        "{report}"
    );
}

#[test]
fn a_syntax_error_has_a_position() {
    let text = "[project]\nname_prefix = \"appmon\nx = 1\n";
    let report = errors(text);
    assert!(report.starts_with("cfg/monitoring.toml:2:"), "{report}");
    assert!(!report.contains('\n'), "one line per problem: {report}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_the_file() {
    let err = monitoring_gen::config::load_config(Path::new("/nonexistent/monitoring.toml"))
        .expect_err("missing file");
    assert!(matches!(err, LoadError::Io(..)));
    assert!(err
        .to_string()
        .starts_with("/nonexistent/monitoring.toml: cannot read"));
}

/// The starter's first runbook with `steps` replaced.
fn with_first_runbook_steps(steps: &str) -> String {
    let old = "steps = [{ type = \"record_incident\" }, { type = \"gather_context\", lookback_minutes = 30 }, { type = \"notify\" }, { type = \"put_metric\" }]";
    assert!(STARTER.contains(old));
    STARTER.replacen(old, &format!("steps = [{steps}]"), 1)
}

#[test]
fn a_runbook_the_executor_would_reject_is_rejected_where_it_is_written() {
    // The executor runs at most 20 steps; `gen` used to accept more, and the alarm then fell
    // back to notify-only when it fired.
    let text = with_first_runbook_steps(&vec!["{ type = \"put_metric\" }"; 21].join(", "));
    let line = line_of(&text, "steps = [{ type = \"put_metric\" }");
    let report = errors(&text);
    assert!(
        report.starts_with(&format!(
            "cfg/monitoring.toml:{line}:1: alarms[0].runbook.steps: must have 1 to 20 entries, has 21"
        )),
        "{report}"
    );

    // At most 50 Automation parameters (StartAutomationExecution's limit).
    let params: Vec<String> = (0..51).map(|i| format!("P{i} = \"v\"")).collect();
    let text = with_first_runbook_steps(&format!(
        "{{ type = \"start_automation\", document = \"AWS-RestartEC2Instance\", parameters = {{ {} }} }}",
        params.join(", ")
    ));
    let report = errors(&text);
    assert!(
        report.contains("alarms[0].runbook.steps[0].parameters: has 51 entries, at most 50"),
        "{report}"
    );

    // One e-mail per state change: a second notify step is refused where it is written.
    let text = with_first_runbook_steps("{ type = \"notify\" }, { type = \"notify\" }");
    let report = errors(&text);
    assert!(
        report.contains("alarms[0].runbook.steps[1]: a second notify step"),
        "{report}"
    );

    // At the limits, it is accepted.
    let text = with_first_runbook_steps(&vec!["{ type = \"put_metric\" }"; 20].join(", "));
    parse_config(Path::new("cfg/monitoring.toml"), &text).expect("20 steps are allowed");
}

#[test]
fn service_alarm_problems_are_located_by_their_key_path() {
    let text = format!(
        "{STARTER}
[[alarms]]
name = \"slow\"
kind = \"service_latency\"
percentile = \"p100\"
threshold = 100.0

[[alarms]]
name = \"budget\"
kind = \"slo\"
threshold = 100.5
window_days = 0

[[alarms]]
name = \"queue\"
kind = \"service_metric\"
metric = \"queue_depth\"
statistic = \"p101\"
threshold = 10.0
period_seconds = 60
evaluation_periods = 2000
"
    )
    .replace("services       = []", "services       = [\"check out\"]");
    let report = errors(&text);
    let at = |needle: &str, key: &str| {
        let line = line_of(&text, needle);
        let (file_line, want) = (format!("cfg/monitoring.toml:{line}:"), format!(": {key}: "));
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&file_line) && l.contains(&want)),
            "no {file_line}..{want:?} in:\n{report}"
        );
    };
    at("percentile = \"p100\"", "alarms[11].percentile");
    at("threshold = 100.5", "alarms[12].threshold");
    at("window_days = 0", "alarms[12].window_days");
    at("metric = \"queue_depth\"", "alarms[13].metric");
    at("statistic = \"p101\"", "alarms[13].statistic");
    at("evaluation_periods = 2000", "alarms[13].evaluation_periods");
    at("[\"check out\"]", "service_metrics.services[0]");
    assert!(
        report.contains("CloudWatch evaluates at most 86400 s"),
        "{report}"
    );
}
