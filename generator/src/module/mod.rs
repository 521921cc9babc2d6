//! The AWS components of the generated Terraform module, built on the generic HCL layer.
//!
//! One file per concern; each returns a [`Component`] (main.tf, variables.tf, outputs.tf,
//! versions.tf) usable as a module on its own. `root` wires them together.

mod alarms;
mod alerting;
mod api;
pub mod common;
mod dashboard;
pub mod docs;
mod functions;
mod kms;
mod root;
mod runbooks;
mod storage;

pub use common::Component;
pub use runbooks::runbook_json;

use crate::config::model::Config;
use crate::output::OutputFile;

/// The sub-modules this configuration deploys, in dependency order.
pub fn components(config: &Config) -> Vec<Component> {
    let c = &config.components;
    let mut out = vec![
        kms::component(),
        storage::component(config),
        alerting::component(config),
        functions::component(config),
    ];
    if c.api {
        out.push(api::component(config));
    }
    if c.runbooks {
        out.push(runbooks::component(config));
    }
    if !config.active_alarms().is_empty() {
        out.push(alarms::component(config));
    }
    if c.dashboard {
        out.push(dashboard::component(config));
    }
    out
}

/// The root module (its variables and outputs feed the README tables).
pub fn root(config: &Config) -> Component {
    let children = components(config);
    // kms is wired by hand (it has a count): its outputs are not re-exported one by one.
    let exported: Vec<&Component> = children.iter().filter(|c| c.dir != "kms").collect();
    root::component(config, &exported)
}

/// Every file of `terraform/`: the root module and one sub-module per concern.
pub fn render(config: &Config) -> Vec<OutputFile> {
    let mut files = root(config).files();
    for component in components(config) {
        files.extend(component.files());
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcl::Expr;

    fn starter() -> Config {
        toml::from_str(crate::config::STARTER).expect("starter parses")
    }

    #[test]
    fn render_is_byte_stable_and_complete() {
        let first = render(&starter());
        assert_eq!(first, render(&starter()));
        let paths: Vec<String> = first.iter().map(|f| f.path.display().to_string()).collect();
        for dir in [
            "",
            "modules/kms/",
            "modules/storage/",
            "modules/functions/",
            "modules/api/",
            "modules/alerting/",
            "modules/alarms/",
            "modules/dashboard/",
            "modules/runbooks/",
        ] {
            for file in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
                assert!(
                    paths.contains(&format!("{dir}{file}")),
                    "{dir}{file} missing"
                );
            }
        }
    }

    #[test]
    fn no_provider_blocks_and_every_skip_has_a_reason() {
        for file in render(&starter()) {
            for line in file.contents.lines() {
                assert!(
                    !line.starts_with("provider "),
                    "{}: provider block",
                    file.path.display()
                );
                if let Some((_, skip)) = line.split_once("checkov:skip=") {
                    let reason = skip.split_once(':').map(|(_, r)| r.trim()).unwrap_or("");
                    assert!(reason.len() > 20, "{}: {line}", file.path.display());
                }
            }
        }
    }

    #[test]
    fn switched_off_components_leave_no_files_or_references() {
        let mut config = starter();
        config.components.api = false;
        config.components.dashboard = false;
        config.components.runbooks = false;
        let files = render(&config);
        let all: String = files.iter().map(|f| f.contents.as_str()).collect();
        assert!(!all.contains("module.api."));
        assert!(!all.contains("aws_api_gateway"));
        assert!(!all.contains("runbook_executor"));
        assert!(files
            .iter()
            .all(|f| !f.path.starts_with("modules/dashboard")));
    }

    #[test]
    fn interpolation_in_config_text_stays_literal() {
        let mut config = starter();
        if let Some(runbook) = config.alarms[0].runbook.as_mut() {
            runbook.link = "https://r.example.com/${var.secret}".into();
        }
        let all: String = render(&config).into_iter().map(|f| f.contents).collect();
        assert!(all.contains("https://r.example.com/$${var.secret}"));
        assert!(!all.contains("https://r.example.com/${var.secret}"));
    }

    /// Variables without a `validation` block, reviewed: any value of their type is acceptable.
    const FREE_VARIABLES: &[&str] = &[
        "force_destroy",
        "table_deletion_protection",
        "manage_account_logging_role",
        "manage_api_gateway_account_role",
        "runbook_dry_run",
        "lambda_package_dir",
    ];

    #[test]
    fn every_variable_is_typed_described_and_validated_unless_reviewed() {
        let config = starter();
        let mut all = vec![root(&config)];
        all.extend(components(&config));
        for component in &all {
            for var in component.variables.iter().filter(|b| b.kind == "variable") {
                let name = var.labels[0].as_str();
                let at = format!("{}/{name}", component.dir);
                assert!(var.body.attr("type").is_some(), "{at}: no type");
                assert!(
                    matches!(var.body.attr("description"), Some(Expr::Str(d)) if d.len() > 10),
                    "{at}: no description"
                );
                let validated = var.body.blocks("validation").next().is_some();
                assert!(
                    validated || FREE_VARIABLES.contains(&name),
                    "{at}: add a validation or review it into FREE_VARIABLES"
                );
            }
        }
    }

    #[test]
    fn alarm_descriptions_name_the_ssm_parameter_only_when_it_is_written() {
        let alarms_tf = |config: &Config| -> String {
            render(config)
                .into_iter()
                .find(|f| f.path.as_os_str() == "modules/alarms/main.tf")
                .map(|f| f.contents)
                .unwrap_or_default()
        };
        let mut config = starter();
        let with = alarms_tf(&config);
        assert!(
            with.contains("Runbook: https://")
                && with.contains(
                    "Procedure: SSM parameter /${var.name_prefix}/runbooks/${var.name_prefix}-"
                )
        );
        config.components.runbooks = false;
        let without = alarms_tf(&config);
        assert!(without.contains("Runbook: https://"));
        assert!(
            !without.contains("SSM parameter"),
            "no runbooks component, no parameter to name"
        );
    }

    #[test]
    fn created_topic_admits_cloudwatch_alarms_of_its_account() {
        let all: String = render(&starter()).into_iter().map(|f| f.contents).collect();
        let policy = &all[all
            .find("data \"aws_iam_policy_document\" \"topic\"")
            .expect("topic policy")..];
        let policy = &policy[..policy.find("\n}\n").unwrap_or(policy.len())];
        let flat = policy.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(r#"identifiers = ["cloudwatch.amazonaws.com"]"#),
            "{flat}"
        );
        assert!(flat.contains(r#"actions = ["sns:Publish"]"#));
        assert!(flat.contains(r#"variable = "aws:SourceAccount""#));
        assert!(all.contains("resource \"aws_sns_topic_policy\" \"alarms\""));
    }

    #[test]
    fn readme_prose_names_what_is_deployed() {
        let text = docs::what_it_creates(&starter());
        assert!(text.contains("REST API") && text.contains("`api-5xx-rate`"));
        let mut config = starter();
        config.components.api = false;
        assert!(!docs::what_it_creates(&config).contains("REST API"));
    }
}
