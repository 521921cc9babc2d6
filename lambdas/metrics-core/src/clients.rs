//! The typed clients the functions reach the metrics table through, one per capability, each
//! stating the AWS operations its methods perform ([`contract::iam::AwsClient`]). A function holds
//! only the capabilities it is granted: `contract::assert_clients!` in its crate checks them
//! against its declared grants at compile time, so the log processor, which holds a
//! [`MetricWriter`] alone, cannot read the index, and its policy cannot grant it.
//!
//! [`MetricStore`] is the engine behind all three (and what this crate's tests drive directly).

use crate::aggregate::Batch;
use crate::minute::Minute;
use crate::store::atomic::{AtomicError, AtomicOutcome, AtomicWrite};
use crate::store::rollup::{FetchReport, Fetched};
use crate::store::{ApplyReport, MetricStore, OnReject, RequestCounts, ServicePage, StoreError};
use crate::MinuteMetrics;
use aws_sdk_dynamodb::Client;
use contract::iam::{AwsClient, Operation};

/// Exactly-once merges of batches into the table ([`MetricStore::apply`], and
/// [`MetricStore::apply_atomic`] for API requests).
#[derive(Clone)]
pub struct MetricWriter(MetricStore);

impl AwsClient for MetricWriter {
    const OPERATIONS: &'static [Operation] = &[
        Operation::DynamoDbBatchGetItem,
        Operation::DynamoDbTransactPuts,
        // The rollups' refresh after each commit (`store::rollup`).
        Operation::DynamoDbGetItem,
        Operation::DynamoDbQuery,
        Operation::DynamoDbPutItem,
    ];
}

impl MetricWriter {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self(MetricStore::new(client, table))
    }

    /// A client over an existing store (clones share its request counters).
    pub fn from_store(store: MetricStore) -> Self {
        Self(store)
    }

    pub async fn apply(
        &self,
        source_id: Option<&str>,
        batch: &Batch,
    ) -> Result<ApplyReport, StoreError> {
        self.0.apply(source_id, batch).await
    }

    /// See [`MetricStore::apply_with`].
    pub async fn apply_with(
        &self,
        source_id: Option<&str>,
        batch: &Batch,
        on_reject: OnReject,
    ) -> Result<ApplyReport, StoreError> {
        self.0.apply_with(source_id, batch, on_reject).await
    }

    /// One request's groups in one transaction, whole or not at all, with its idempotency
    /// record ([`MetricStore::apply_atomic`]).
    pub async fn apply_atomic(
        &self,
        write: &AtomicWrite<'_>,
    ) -> Result<AtomicOutcome, AtomicError> {
        self.0.apply_atomic(write).await
    }

    pub fn table(&self) -> &str {
        self.0.table()
    }

    pub fn request_counts(&self) -> RequestCounts {
        self.0.request_counts()
    }
}

/// Queries of one service's minutes (table) and of every service in one minute (TimestampIndex).
#[derive(Clone)]
pub struct MetricReader(MetricStore);

impl AwsClient for MetricReader {
    const OPERATIONS: &'static [Operation] = &[Operation::DynamoDbQuery];
}

impl MetricReader {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self(MetricStore::new(client, table))
    }

    /// A client over an existing store (clones share its request counters).
    pub fn from_store(store: MetricStore) -> Self {
        Self(store)
    }

    /// A service's items of one run (any resolution), ascending ([`MetricStore::query_run`]).
    pub async fn query_run(
        &self,
        service: &str,
        run: crate::rollup::Run,
        fetch: &mut FetchReport,
    ) -> Result<Vec<Fetched>, StoreError> {
        self.0.query_run(service, run, fetch).await
    }

    /// Every service's item of one piece (`TimestampIndex`), ascending by service.
    pub async fn query_piece(
        &self,
        piece: crate::rollup::Piece,
        fetch: &mut FetchReport,
    ) -> Result<Vec<(String, Fetched)>, StoreError> {
        self.0.query_piece(piece, fetch).await
    }

    pub async fn query_service(
        &self,
        service: &str,
        from: Minute,
        to_exclusive: Minute,
    ) -> Result<Vec<(Minute, MinuteMetrics)>, StoreError> {
        self.0.query_service(service, from, to_exclusive).await
    }

    pub async fn query_service_page(
        &self,
        service: &str,
        from: Minute,
        to_exclusive: Minute,
        max_items: usize,
    ) -> Result<ServicePage, StoreError> {
        self.0
            .query_service_page(service, from, to_exclusive, max_items)
            .await
    }

    pub fn request_counts(&self) -> RequestCounts {
        self.0.request_counts()
    }
}

/// The table's reachability, for health checks ([`MetricStore::ping`]).
#[derive(Clone)]
pub struct TableProbe(MetricStore);

impl AwsClient for TableProbe {
    const OPERATIONS: &'static [Operation] = &[Operation::DynamoDbDescribeTable];
}

impl TableProbe {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self(MetricStore::new(client, table))
    }

    /// A client over an existing store (clones share its request counters).
    pub fn from_store(store: MetricStore) -> Self {
        Self(store)
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}
