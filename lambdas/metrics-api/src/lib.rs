//! The metrics API function: `GET /health`, `GET /metrics`, `POST /metrics`
//! behind API Gateway (REST payload 1.0) or an HTTP API / Function URL
//! (payload 2.0). See `docs/openapi.yaml` for the contract.

pub mod aggregate;
pub mod config;
pub mod error;
pub mod handler;
pub mod ingest;
pub mod query;
pub mod read;
pub mod request;
pub mod respond;
pub mod routes;
pub mod token;

pub use handler::{App, TableClients};
