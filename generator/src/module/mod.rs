//! The AWS components of the generated Terraform module, built on the generic HCL layer.
//!
//! One file per concern; each returns a [`Component`] (main.tf, variables.tf, outputs.tf,
//! versions.tf) usable as a module on its own. `root` wires them together.

mod alarms;
mod alerting;
mod api;
pub mod common;
mod dashboard;
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
