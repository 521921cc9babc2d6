//! Log processor: S3 log objects in, per-minute metric aggregates out.
//!
//! The pipeline is push-based and synchronous at its core so that the Lambda handler
//! and the offline `--file` mode share it: bytes -> [`reader::Decoder`] (gzip sniffing)
//! -> [`lines::Splitter`] -> [`parse::parse_line`] -> aggregation.

pub mod aggregate;
pub mod cli;
pub mod config;
pub mod event;
pub mod handler;
pub mod lines;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod reader;
pub mod rejects;
pub mod s3;
pub mod source_id;
pub mod timeparse;
