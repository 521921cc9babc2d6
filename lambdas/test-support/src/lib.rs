//! Scaffolding for the Lambda crates' integration tests (a dev-dependency only).
//!
//! * [`Moto`]: a moto server (the local AWS emulator) on a free loopback port, killed on drop.
//! * [`dynamo`]: SDK configuration for such an endpoint and the metric table of the data contract.
//! * [`cloudwatch`]: reads back what the functions published (GetMetricData statistics).
//! * [`fault_proxy`]: injects DynamoDB's error responses in front of moto, which never sends them.
//! * [`bench`]: what the benchmark examples share (seeded generator, machine line, doc blocks).
//!
//! Helpers tied to one function (event builders, schema checks) stay in that crate's `tests/`.

pub mod bench;
pub mod cloudwatch;
pub mod dynamo;
pub mod fault_proxy;
pub mod moto;

pub use moto::{free_port, Moto};
