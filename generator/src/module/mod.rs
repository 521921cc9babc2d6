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

    #[test]
    fn readme_prose_names_what_is_deployed() {
        let text = docs::what_it_creates(&starter());
        assert!(text.contains("REST API") && text.contains("`api-5xx-rate`"));
        let mut config = starter();
        config.components.api = false;
        assert!(!docs::what_it_creates(&config).contains("REST API"));
    }
}
