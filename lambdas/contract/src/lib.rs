//! The contract between `gen` (which writes the Terraform module) and the three Lambda functions
//! (which run under it). Nothing here depends on the AWS SDK, so the generator can use it as
//! cheaply as the functions do.
//!
//! - [`acceptance`]: the time window in which log lines and API data points are accepted.
//! - [`iam`]: every AWS operation each function performs, declared once. The generator writes each
//!   function's IAM policy from it; each function reaches AWS only through typed clients whose
//!   operations are checked against it at compile time ([`assert_clients!`]).
//! - [`env`]: the environment variables the module sets on each function, named once.
//! - [`http`]: the CORS headers the function and API Gateway's own responses both send.
//! - [`table`]: the metric table's name, keys, index and attribute names.
//! - [`names`]: the service and metric name rules, and the reserved key space.
//! - [`runbook`]: the runbook document `gen` writes to SSM and the executor parses, with its limits.
//! - [`sns`]: the alarm notification field the executor's filter matches, its loop-guard attribute.
//! - [`service_metrics`]: the applications' metrics in CloudWatch (namespace, dimension, names).
//! - [`slo`]: SLO burn-rate windows, the evaluable alarm windows, burn rate and budget arithmetic.

pub mod acceptance;
pub mod env;
pub mod http;
pub mod iam;
pub mod names;
pub mod runbook;
pub mod service_metrics;
pub mod slo;
pub mod sns;
pub mod table;

pub use iam::{Function, Grant, Operation, Resource};
