//! Shared core of the monitoring stack's three Lambda functions.
//!
//! * [`service`] — service-name rules and the reserved key space (`#kind#id`) the stack keeps for itself.
//! * [`minute`] — the one-minute aggregation bucket and its RFC 3339 sort-key form.
//! * [`sketch`] — a mergeable, log-bucketed quantile sketch with 1% relative accuracy.
//! * [`aggregate`] — count/sum/min/max/sketch aggregates, per-minute and per-batch groupings.
//! * [`codec`] — the DynamoDB item layout of table `ApplicationMetrics`.
//! * [`store`] — exactly-once merges into the table and the queries the API needs (never a Scan).
//! * [`clients`] — the typed clients functions hold: [`MetricWriter`], [`MetricReader`], [`TableProbe`].
//! * [`aws`] — SDK configuration (one rustls+ring TLS stack) and the one logging path (`init_tracing`).
//! * [`publish`] — the services' metrics in CloudWatch: the pure plan of a commit's datums and [`MetricPublisher`].
//! * [`env`] — the typed reader every function's configuration goes through ([`env::Env`]).

pub mod aggregate;
pub mod aws;
pub mod clients;
pub mod codec;
pub mod env;
pub mod minute;
pub mod publish;
pub mod rollup;
/// Name rules, defined in the contract crate the generator shares.
pub use contract::names as service;
pub mod sketch;
pub mod store;

pub use aggregate::{Aggregate, Batch, GroupKey, MinuteMetrics, Stat};
pub use clients::{MetricReader, MetricWriter, TableProbe};
pub use codec::{CodecError, StoredGroup};
pub use minute::Minute;
pub use publish::{MetricPublisher, PublishPolicy};
pub use sketch::{DecodeError, Sketch};
pub use store::{ApplyReport, MetricStore, OnReject, RejectReason, RejectedGroup, StoreError};
