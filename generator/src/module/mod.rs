//! The AWS components of the generated Terraform module, built on the generic HCL layer.

use crate::config::model::Config;
use crate::output::OutputFile;

/// Every file of `terraform/`: the root module and one sub-module per concern.
pub fn render(config: &Config) -> Vec<OutputFile> {
    let _ = config;
    Vec::new()
}
