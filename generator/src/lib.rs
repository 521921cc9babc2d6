//! `gen`: writes the monitoring stack's Terraform module and packages its Lambda functions.
//! A library so the integration tests in `generator/tests` can drive the same code as the CLI.

pub mod cli;
pub mod config;
pub mod hcl;
pub mod module;
pub mod output;
pub mod package;
pub mod plan;
pub mod publish;
pub mod readme;
pub mod tfdocs;
