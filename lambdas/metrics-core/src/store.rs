//! Exactly-once merges into `ApplicationMetrics`, and the queries the API needs. Never a Scan.
//!
//! ## Exactly once
//! [`MetricStore::apply`] merges each (service, minute) group of a batch into its item with optimistic
//! concurrency: read (consistent `BatchGetItem`), merge in memory, write (`TransactWriteItems`, each Put
//! conditioned on the `Version` read, or on the item not existing). A group whose item already lists the
//! batch's source id in `Sources` is skipped. Every group is idempotent on its own, so a crash between
//! two transactions, a concurrent writer, or a replay of the whole source leaves each item with the
//! source applied exactly once.
//!
//! `Sources` stores a 128-bit digest of each source id ([`source_digest`], 32 hex characters) rather
//! than the id, so its size is bounded: at most [`MAX_SOURCES_PER_ITEM`] sources may contribute to one
//! (service, minute) item (~70 KB of the 400 KB item limit). Dropping old ids would silently break
//! exactly-once, so a write that would exceed the bound fails with [`StoreError::TooManySources`]
//! instead. 2000 sources per service-minute allows, e.g., 33 log objects per second for one service.
//!
//! Retries: throttling and transient errors back off (full jitter) for at most [`MAX_ATTEMPTS`];
//! rounds lost to concurrent writers are bounded separately by [`MAX_CONFLICT_ROUNDS`].
//!
//! Without a source id (`None`) nothing is recorded and a retry by the caller counts twice.
//!
//! API requests are applied whole or not at all, in one transaction with their idempotency
//! record: [`atomic`] ([`MetricStore::apply_atomic`]).
//!
//! ## Groups that can never be written
//! Some failures belong to one group and no retry can fix them: an invalid service or metric name,
//! an item that would pass 400 KB ([`StoreError::ItemTooLarge`]) or [`MAX_SOURCES_PER_ITEM`]
//! ([`StoreError::TooManySources`]), a `Version` at its maximum, a stored item that does not
//! decode ([`StoreError::Corrupt`]), a Put DynamoDB refuses as invalid (a `ValidationException`, or
//! a `ValidationError` cancellation reason). Items only grow, so each of these is also refused on
//! every replay. The caller picks the policy ([`OnReject`]):
//! * [`MetricStore::apply`] ([`OnReject::Fail`]): the call fails with the group's error. Names are
//!   checked before anything is written; the other checks run per chunk of
//!   [`MAX_GROUPS_PER_REQUEST`] groups, before that chunk's writes, so groups of earlier chunks may
//!   be committed (each still applied exactly once on a retry). A caller that wants a request
//!   applied whole or not at all keeps it to one chunk, or checks its batch before writing.
//! * [`MetricStore::apply_with`] with [`OnReject::Skip`] (the log processor): the group is left out
//!   and listed in [`ApplyReport::rejected`] with its [`RejectReason`]; the rest is committed. A
//!   rejected group records no source, so a replay rejects it again and applies nothing twice.
//!
//! Transient failures (throttling, network errors, exhausted conflict rounds) always fail the call,
//! so that the caller retries.
//!
//! ## Requests
//! Every call counts its DynamoDB requests ([`MetricStore::request_counts`], [`ApplyReport`],
//! [`ServicePage::requests`]) so that benchmarks can report them.

pub mod atomic;
pub mod rollup;

use crate::aggregate::{Batch, GroupKey, MinuteMetrics};
use crate::codec::{
    decode_group, encode_group, key_of, CodecError, StoredGroup, PK, SK, TTL_ATTRIBUTE, VERSION,
};
use crate::minute::Minute;
use crate::rollup::{Piece, Resolution};
use crate::service::{validate_metric_name, validate_service_name};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Most keys in one BatchGetItem and most items in one transaction (DynamoDB limits).
pub const MAX_GROUPS_PER_REQUEST: usize = 100;
/// Bound on `Sources` per item; see the module docs.
pub const MAX_SOURCES_PER_ITEM: usize = 2000;
/// DynamoDB's item size limit.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// Transactions are limited to 4 MB; stay clear of it.
const MAX_TRANSACTION_BYTES: usize = 3 * 1024 * 1024;
/// Attempts of one step (read, or read-merge-write round) before giving up.
pub const MAX_ATTEMPTS: u32 = 8;
/// Rounds lost to concurrent writers (conditional checks failed) before giving up. Each lost round
/// means another writer made progress, so this bounds contention, not failure; it is generous so that
/// a burst of concurrent invocations on one service-minute still converges.
pub const MAX_CONFLICT_ROUNDS: u32 = 64;
const BACKOFF_BASE_MS: u64 = 20;
const BACKOFF_CAP_MS: u64 = 2_000;
/// Lower bound for service names in GSI key conditions: every valid name sorts after `$`, every
/// reserved key (`#...`) before it.
const ABOVE_RESERVED: &str = "$";

/// Everything that can go wrong talking to the table.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("DynamoDB {operation} on table {table} failed: {message}")]
    Aws {
        operation: &'static str,
        table: String,
        code: Option<String>,
        message: String,
    },
    #[error("item {key} in table {table} is corrupt: {source}")]
    Corrupt {
        table: String,
        key: String,
        source: CodecError,
    },
    #[error("DynamoDB {operation} on table {table} gave up after {attempts} attempts: {last}")]
    Exhausted {
        operation: &'static str,
        table: String,
        attempts: u32,
        last: String,
    },
    #[error(
        "item {key} would record {count} sources, more than the limit of {max} contributions per service-minute; \
         batch the writes for this service into fewer sources"
    )]
    TooManySources {
        key: String,
        count: usize,
        max: usize,
    },
    #[error("item {key} would be {bytes} bytes, over DynamoDB's {max}-byte item limit; use fewer metric names per service")]
    ItemTooLarge {
        key: String,
        bytes: usize,
        max: usize,
    },
}

/// What to do with a group that can never be written (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnReject {
    /// Fail the call with the group's error.
    Fail,
    /// Leave the group out, list it in [`ApplyReport::rejected`], write the rest.
    Skip,
}

/// Why a group was left out under [`OnReject::Skip`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// Its service or a metric name breaks the name rules.
    InvalidName,
    /// The merged item would pass [`MAX_ITEM_BYTES`].
    ItemTooLarge,
    /// The item already records [`MAX_SOURCES_PER_ITEM`] other sources.
    TooManySources,
    /// The stored `Version` cannot be incremented.
    VersionExhausted,
    /// The stored item does not decode.
    CorruptItem,
    /// DynamoDB refused the Put as invalid (`ValidationException` / `ValidationError`).
    RefusedByDynamoDb,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidName => "invalid_name",
            RejectReason::ItemTooLarge => "item_too_large",
            RejectReason::TooManySources => "too_many_sources",
            RejectReason::VersionExhausted => "version_exhausted",
            RejectReason::CorruptItem => "corrupt_item",
            RejectReason::RefusedByDynamoDb => "refused_by_dynamodb",
        }
    }
}

/// A group left out of an [`OnReject::Skip`] apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedGroup {
    pub key: GroupKey,
    pub reason: RejectReason,
    /// The error it would have failed an [`OnReject::Fail`] apply with.
    pub message: String,
}

/// What [`MetricStore::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Items created or updated.
    pub groups_written: usize,
    /// The groups this call wrote (`groups_written` of them), in the order their transactions
    /// committed: exactly the contributions this call newly applied. A group skipped as already
    /// applied is not listed, so a replayed source lists none. What the functions publish to
    /// CloudWatch after the commit (`crate::publish`).
    pub applied: Vec<GroupKey>,
    /// Groups skipped because their item already lists the source.
    pub groups_already_applied: usize,
    /// Groups left out under [`OnReject::Skip`], in the order they were found.
    pub rejected: Vec<RejectedGroup>,
    /// BatchGetItem requests.
    pub read_requests: usize,
    /// TransactWriteItems requests.
    pub write_requests: usize,
    /// Back-offs taken (conditional-check conflicts, throttling, unprocessed keys).
    pub retries: usize,
    /// Every group this call wrote or found already applied, with the `Version` of its item
    /// that holds the contribution: what the rollups above them must include.
    pub settled: Vec<(GroupKey, u64)>,
    /// Write units of the committed minute items by AWS's rule for transactions: 2 per KB of
    /// item, rounded up (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html#transaction-capacity-handling>).
    pub write_units: u64,
    /// The same items' write units on `TimestampIndex` (1 per KB: index updates are not
    /// transactional), all in the partitions of their minutes.
    pub index_write_units: u64,
    /// The rollups' refresh after the commit ([`rollup::RollupReport`]).
    pub rollups: rollup::RollupReport,
    /// `apply_atomic` only: why the rollups could not be refreshed after its commit.
    pub rollup_error: Option<String>,
}

/// DynamoDB requests a store made since it was created (shared by its clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub batch_get: u64,
    pub transact_write: u64,
    pub query: u64,
    pub get: u64,
    pub put: u64,
    pub describe: u64,
}

impl RequestCounts {
    pub fn total(&self) -> u64 {
        self.batch_get + self.transact_write + self.query + self.get + self.put + self.describe
    }
}

#[derive(Debug, Default)]
struct Counters {
    batch_get: AtomicU64,
    transact_write: AtomicU64,
    query: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    describe: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// One page of [`MetricStore::query_service_page`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServicePage {
    /// Ascending by minute.
    pub items: Vec<(Minute, MinuteMetrics)>,
    /// Where the next page starts (pass as `from`), `None` when the range is exhausted.
    pub next: Option<Minute>,
    /// Query requests made for this page.
    pub requests: u32,
}

/// 128-bit SHA-256 prefix of a source id, hex: what `Sources` stores.
pub fn source_digest(source_id: &str) -> String {
    let digest = Sha256::digest(source_id.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// Approximate stored size of an item (names + values), as DynamoDB counts it.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        _ => 1,
    }
}

/// Full-jitter exponential back-off delay for the `attempt`-th retry (1-based).
fn backoff_delay(attempt: u32) -> Duration {
    use rand::Rng;
    let cap = BACKOFF_BASE_MS
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_CAP_MS);
    Duration::from_millis(rand::rng().random_range(cap / 4..=cap))
}

/// 128 random bits, hex (TransactWriteItems allows ≤ 36 characters).
fn request_token() -> String {
    use rand::Rng;
    format!("{:032x}", rand::rng().random::<u128>())
}

/// Error codes worth another attempt after a pause.
fn is_retryable_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ThrottlingException"
                | "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
                | "TransactionConflictException"
                | "TransactionInProgressException"
        )
    )
}

/// Cancellation reasons of a TransactWriteItems that another round can get past: no reason for
/// that item, a condition another writer broke, a conflicting transaction, throttling
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>,
/// TransactionCanceledException). Any other reason fails or rejects.
pub(crate) fn is_retried_cancellation(code: &str) -> bool {
    matches!(
        code,
        "None"
            | "ConditionalCheckFailed"
            | "TransactionConflict"
            | "ThrottlingError"
            | "ProvisionedThroughputExceeded"
    )
}

fn is_retryable<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    ) || is_retryable_code(err.code())
}

/// Why a transaction must be sent again.
enum Retry {
    /// Another writer changed some items (their conditions failed): re-read and merge again.
    Conflict(String),
    /// Throttling, transient errors, transaction conflicts: same items, after a pause.
    Busy(String),
    /// Some groups were rejected (or must go one per transaction to find which): send the rest
    /// again at once. Progress, so not counted against any bound.
    Rejected,
}

/// A group's Put and its size, or why the group can never be written.
type Prepared = Result<(TransactWriteItem, usize), (RejectReason, StoreError)>;

/// A group being merged by `apply`: its stored state (None = must be (re)read) and whether it is done.
struct Slot<'a> {
    key: &'a GroupKey,
    add: &'a MinuteMetrics,
    stored: Option<StoredGroup>,
    done: bool,
    /// The Put's item size, once prepared.
    bytes: usize,
}

/// How long items of each resolution are kept (`None`: for ever, the default), written as the
/// table's TTL attribute `ExpiresAt` = end of the item's interval + the retention. Bounds:
/// [`contract::table::MIN_RETENTION_DAYS`]..=[`contract::table::MAX_RETENTION_DAYS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    pub minute_days: Option<u32>,
    pub hour_days: Option<u32>,
    pub day_days: Option<u32>,
}

impl Retention {
    /// From the writers' environment (`contract::env::RETENTION_DAYS`; blank: for ever).
    pub fn read(
        env: &crate::env::Env<impl Fn(&str) -> Option<String>>,
    ) -> Result<Retention, crate::env::ConfigError> {
        use contract::table::{MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
        let [minute_days, hour_days, day_days] = contract::env::RETENTION_DAYS.map(|name| {
            env.optional(name)?
                .map(|raw| match raw.trim().parse::<u32>() {
                    Ok(d) if (MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&d) => Ok(d),
                    _ => Err(crate::env::invalid(
                        name,
                        format!(
                            "expected whole days in {MIN_RETENTION_DAYS}..={MAX_RETENTION_DAYS} \
                             (or blank: for ever), got {raw:?}"
                        ),
                    )),
                })
                .transpose()
        });
        Ok(Retention {
            minute_days: minute_days?,
            hour_days: hour_days?,
            day_days: day_days?,
        })
    }

    /// The TTL of the item of `piece`, if its resolution expires.
    pub fn expires_at(&self, piece: Piece) -> Option<i64> {
        let days = match piece.resolution {
            Resolution::Minute => self.minute_days,
            Resolution::Hour => self.hour_days,
            Resolution::Day => self.day_days,
        }?;
        Some(piece.end() + i64::from(days) * 86_400)
    }

    pub(crate) fn minute_ttl(&self, key: &GroupKey) -> Option<i64> {
        self.expires_at(Piece {
            resolution: Resolution::Minute,
            start: key.minute.epoch_seconds(),
        })
    }
}

/// The metric table.
#[derive(Debug, Clone)]
pub struct MetricStore {
    client: Client,
    table: String,
    counters: Arc<Counters>,
    retention: Retention,
}

impl MetricStore {
    pub fn new(client: Client, table: impl Into<String>) -> MetricStore {
        MetricStore {
            client,
            table: table.into(),
            counters: Arc::default(),
            retention: Retention::default(),
        }
    }

    /// The same table with items expiring after `retention`.
    pub fn with_retention(mut self, retention: Retention) -> MetricStore {
        self.retention = retention;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Requests made so far by this store and its clones.
    pub fn request_counts(&self) -> RequestCounts {
        let c = &self.counters;
        RequestCounts {
            batch_get: c.batch_get.load(Ordering::Relaxed),
            transact_write: c.transact_write.load(Ordering::Relaxed),
            query: c.query.load(Ordering::Relaxed),
            get: c.get.load(Ordering::Relaxed),
            put: c.put.load(Ordering::Relaxed),
            describe: c.describe.load(Ordering::Relaxed),
        }
    }

    fn aws_error<E, R>(&self, operation: &'static str, err: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        StoreError::Aws {
            operation,
            table: self.table.clone(),
            code: err.code().map(str::to_owned),
            message: DisplayErrorContext(&err).to_string(),
        }
    }

    /// `operation` gave up after `attempts` retryable failures, the last one being `last`.
    pub(crate) fn exhausted(
        &self,
        operation: &'static str,
        attempts: u32,
        last: String,
    ) -> StoreError {
        StoreError::Exhausted {
            operation,
            table: self.table.clone(),
            attempts,
            last,
        }
    }

    fn corrupt(&self, item: &HashMap<String, AttributeValue>, source: CodecError) -> StoreError {
        let part = |name| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .map_or("?", String::as_str)
        };
        StoreError::Corrupt {
            table: self.table.clone(),
            key: format!("{}@{}", part(PK), part(SK)),
            source,
        }
    }

    /// Table reachability (DescribeTable).
    pub async fn ping(&self) -> Result<(), StoreError> {
        bump(&self.counters.describe);
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.aws_error("DescribeTable", e))
    }

    /// The stored item of one group (consistent read), `None` when absent.
    pub async fn get_group(&self, key: &GroupKey) -> Result<Option<StoredGroup>, StoreError> {
        bump(&self.counters.get);
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.aws_error("GetItem", e))?;
        out.item()
            .map(|item| decode_group(item).map_err(|e| self.corrupt(item, e)))
            .transpose()
    }

    /// Merges every group of `batch` into the table, exactly once per `source_id` (see module
    /// docs); a group that can never be written fails the call ([`OnReject::Fail`]).
    pub async fn apply(
        &self,
        source_id: Option<&str>,
        batch: &Batch,
    ) -> Result<ApplyReport, StoreError> {
        self.apply_with(source_id, batch, OnReject::Fail).await
    }

    /// [`MetricStore::apply`] with a choice of what a group that can never be written does.
    pub async fn apply_with(
        &self,
        source_id: Option<&str>,
        batch: &Batch,
        on_reject: OnReject,
    ) -> Result<ApplyReport, StoreError> {
        if on_reject == OnReject::Fail {
            validate_batch(batch)?;
        }
        let digest = match source_id {
            Some("") => return Err(StoreError::Invalid("source id is empty".to_owned())),
            Some(id) => Some(source_digest(id)),
            None => None,
        };
        let mut report = ApplyReport::default();
        let mut groups: Vec<(&GroupKey, &MinuteMetrics)> = Vec::new();
        for (key, metrics) in batch.0.iter().filter(|(_, m)| !m.is_empty()) {
            match validate_group(key, metrics) {
                Ok(()) => groups.push((key, metrics)),
                Err(e) => reject(on_reject, &mut report, key, RejectReason::InvalidName, e)?,
            }
        }
        for chunk in groups.chunks(MAX_GROUPS_PER_REQUEST) {
            self.apply_chunk(chunk, digest.as_deref(), on_reject, &mut report)
                .await?;
        }
        // A failure here fails the call: the caller's retry finds the groups applied and
        // refreshes their rollups again (rollup module docs).
        report.rollups = self.refresh_rollups(&report.settled).await?;
        Ok(report)
    }

    async fn apply_chunk(
        &self,
        chunk: &[(&GroupKey, &MinuteMetrics)],
        digest: Option<&str>,
        on_reject: OnReject,
        report: &mut ApplyReport,
    ) -> Result<(), StoreError> {
        let mut slots: Vec<Slot<'_>> = chunk
            .iter()
            .map(|&(key, add)| Slot {
                key,
                add,
                stored: None,
                done: false,
                bytes: 0,
            })
            .collect();
        let (mut busy, mut conflicts) = (0u32, 0u32);
        // After DynamoDB refused a transaction of several Puts as invalid: one Put per transaction,
        // so that the refused ones are found and the others written.
        let mut one_per_transaction = false;
        loop {
            let unread: Vec<&GroupKey> = slots
                .iter()
                .filter(|s| !s.done && s.stored.is_none())
                .map(|s| s.key)
                .collect();
            if !unread.is_empty() {
                let mut found = self.batch_get(&unread, report).await?;
                for slot in slots.iter_mut().filter(|s| !s.done && s.stored.is_none()) {
                    match found.remove(slot.key) {
                        Some(Err(e)) => {
                            slot.done = true;
                            reject(on_reject, report, slot.key, RejectReason::CorruptItem, e)?;
                        }
                        Some(Ok(stored)) => slot.stored = Some(stored),
                        None => slot.stored = Some(StoredGroup::empty(slot.key.clone())),
                    }
                }
            }
            let puts = self.prepare_puts(&mut slots, digest, on_reject, report)?;
            if puts.is_empty() {
                return Ok(());
            }
            let mut retry = None;
            let max_items = if one_per_transaction {
                1
            } else {
                MAX_GROUPS_PER_REQUEST
            };
            for tx in split_transactions(puts, max_items) {
                let several = tx.len() > 1;
                match self
                    .write_transaction(tx, &mut slots, on_reject, report)
                    .await?
                {
                    None => {}
                    // A conflict outranks being busy (it also needs the re-read), and being busy
                    // outranks a rejection (it needs the pause).
                    Some(r @ Retry::Conflict(_)) => retry = Some(r),
                    Some(r @ Retry::Busy(_)) if !matches!(retry, Some(Retry::Conflict(_))) => {
                        retry = Some(r);
                    }
                    Some(Retry::Busy(_)) => {}
                    Some(Retry::Rejected) => {
                        one_per_transaction |= several;
                        retry = retry.or(Some(Retry::Rejected));
                    }
                }
            }
            let (counter, max, last) = match retry {
                None => return Ok(()),
                Some(Retry::Rejected) => continue,
                Some(Retry::Conflict(last)) => (&mut conflicts, MAX_CONFLICT_ROUNDS, last),
                Some(Retry::Busy(last)) => (&mut busy, MAX_ATTEMPTS, last),
            };
            *counter += 1;
            if *counter >= max {
                return Err(self.exhausted("TransactWriteItems", *counter, last));
            }
            report.retries += 1;
            tokio::time::sleep(backoff_delay(*counter)).await;
        }
    }

    /// Builds the conditional Puts of the groups not yet applied; marks already-applied ones done.
    fn prepare_puts(
        &self,
        slots: &mut [Slot<'_>],
        digest: Option<&str>,
        on_reject: OnReject,
        report: &mut ApplyReport,
    ) -> Result<Vec<(usize, TransactWriteItem, usize)>, StoreError> {
        let mut puts = Vec::new();
        for (i, slot) in slots.iter_mut().enumerate() {
            if slot.done {
                continue;
            }
            let Some(stored) = &slot.stored else { continue };
            if digest.is_some_and(|d| stored.sources.contains(d)) {
                slot.done = true;
                report.groups_already_applied += 1;
                report.settled.push((slot.key.clone(), stored.version));
                continue;
            }
            match self.prepare_put(slot, stored, digest)? {
                Ok((put, bytes)) => {
                    slot.bytes = bytes;
                    puts.push((i, put, bytes));
                }
                Err((reason, e)) => {
                    slot.done = true;
                    reject(on_reject, report, slot.key, reason, e)?;
                }
            }
        }
        Ok(puts)
    }

    /// The conditional Put of one group merged into its stored item, and its size; or why the
    /// group can never be written (inner `Err`).
    fn prepare_put(
        &self,
        slot: &Slot<'_>,
        stored: &StoredGroup,
        digest: Option<&str>,
    ) -> Result<Prepared, StoreError> {
        let mut merged = stored.clone();
        merged.metrics.merge(slot.add);
        let Some(version) = stored.version.checked_add(1) else {
            let e = StoreError::Corrupt {
                table: self.table.clone(),
                key: slot.key.to_string(),
                source: CodecError::Invalid {
                    attribute: VERSION.to_owned(),
                    reason: "at its maximum".to_owned(),
                },
            };
            return Ok(Err((RejectReason::VersionExhausted, e)));
        };
        merged.version = version;
        if let Some(d) = digest {
            merged.sources.insert(d.to_owned());
            if merged.sources.len() > MAX_SOURCES_PER_ITEM {
                let e = StoreError::TooManySources {
                    key: slot.key.to_string(),
                    count: merged.sources.len(),
                    max: MAX_SOURCES_PER_ITEM,
                };
                return Ok(Err((RejectReason::TooManySources, e)));
            }
        }
        let mut item = encode_group(&merged);
        if let Some(t) = self.retention.minute_ttl(slot.key) {
            item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(t.to_string()));
        }
        let bytes = item_size(&item);
        if bytes > MAX_ITEM_BYTES {
            let e = StoreError::ItemTooLarge {
                key: slot.key.to_string(),
                bytes,
                max: MAX_ITEM_BYTES,
            };
            return Ok(Err((RejectReason::ItemTooLarge, e)));
        }
        let put = conditional_put(&self.table, item, stored.version)?;
        Ok(Ok((TransactWriteItem::builder().put(put).build(), bytes)))
    }

    /// Sends one transaction. `Ok(None)`: written. `Ok(Some(retry))`: cancelled or throttled, the
    /// slots to re-read are reset, the caller backs off and retries. `Err`: give up.
    async fn write_transaction(
        &self,
        tx: Vec<(usize, TransactWriteItem)>,
        slots: &mut [Slot<'_>],
        on_reject: OnReject,
        report: &mut ApplyReport,
    ) -> Result<Option<Retry>, StoreError> {
        let (indexes, items): (Vec<usize>, Vec<TransactWriteItem>) = tx.into_iter().unzip();
        bump(&self.counters.transact_write);
        report.write_requests += 1;
        // A fresh token per attempt: if the SDK resends a request that did commit (e.g. after a
        // timeout), DynamoDB answers the resend from that commit instead of failing its conditions.
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(request_token())
            .send()
            .await;
        let err = match result {
            Ok(_) => {
                for &i in &indexes {
                    let slot = &mut slots[i];
                    slot.done = true;
                    report.applied.push(slot.key.clone());
                    let version = slot.stored.as_ref().map_or(0, |s| s.version) + 1;
                    report.settled.push((slot.key.clone(), version));
                    report.write_units += 2 * rollup::write_units(slot.bytes);
                    report.index_write_units += rollup::write_units(slot.bytes);
                }
                report.groups_written += indexes.len();
                return Ok(None);
            }
            Err(err) => err,
        };
        let reason = DisplayErrorContext(&err).to_string();
        if is_retryable(&err) {
            return Ok(Some(Retry::Busy(reason)));
        }
        let service_err = err.into_service_error();
        let TransactWriteItemsError::TransactionCanceledException(cancel) = &service_err else {
            let e = StoreError::Aws {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                code: service_err.code().map(str::to_owned),
                message: DisplayErrorContext(&service_err).to_string(),
            };
            // The request itself is invalid (e.g. an item over DynamoDB's count of 400 KB, which
            // `item_size` only approximates): deterministic. Alone in its transaction, the group
            // is rejected; with others, they are sent one per transaction to find it.
            if on_reject == OnReject::Skip && service_err.code() == Some("ValidationException") {
                if let [i] = indexes[..] {
                    slots[i].done = true;
                    reject(
                        on_reject,
                        report,
                        slots[i].key,
                        RejectReason::RefusedByDynamoDb,
                        e,
                    )?;
                }
                return Ok(Some(Retry::Rejected));
            }
            return Err(e);
        };
        let codes: Vec<Option<&str>> = cancel
            .cancellation_reasons()
            .iter()
            .map(|r| r.code())
            .collect();
        let fatal = codes.iter().flatten().find(|c| !is_retried_cancellation(c));
        // A Put DynamoDB found invalid (`ValidationError`: item too large, number overflow) is
        // refused on every retry: reject it, send the others again (nothing of a cancelled
        // transaction is written).
        let invalid: Vec<usize> = indexes
            .iter()
            .zip(&codes)
            .filter(|(_, c)| **c == Some("ValidationError"))
            .map(|(i, _)| *i)
            .collect();
        let understood = codes.len() == indexes.len()
            && codes
                .iter()
                .flatten()
                .all(|c| *c == "ValidationError" || is_retried_cancellation(c));
        if on_reject == OnReject::Skip && !invalid.is_empty() && understood {
            for (i, c) in indexes.iter().zip(&codes) {
                if *c == Some("ConditionalCheckFailed") {
                    slots[*i].stored = None;
                }
            }
            for i in invalid {
                slots[i].done = true;
                let e = StoreError::Aws {
                    operation: "TransactWriteItems",
                    table: self.table.clone(),
                    code: Some("ValidationError".to_owned()),
                    message: reason.clone(),
                };
                reject(
                    on_reject,
                    report,
                    slots[i].key,
                    RejectReason::RefusedByDynamoDb,
                    e,
                )?;
            }
            return Ok(Some(Retry::Rejected));
        }
        if let Some(code) = fatal {
            return Err(StoreError::Aws {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                code: Some((*code).to_owned()),
                message: reason,
            });
        }
        // Nothing of a cancelled transaction is written. Groups whose condition failed changed under
        // us: read them again. Without reasons we cannot tell which, so re-read all.
        let failed: Vec<usize> = if codes.len() == indexes.len() {
            indexes
                .iter()
                .zip(&codes)
                .filter(|(_, c)| **c == Some("ConditionalCheckFailed"))
                .map(|(i, _)| *i)
                .collect()
        } else {
            indexes.clone()
        };
        // Lost to another writer (its Put changed the item, or its transaction holds it: AWS's
        // `TransactionConflict`, "another transaction is in progress on the item"): bounded by
        // MAX_CONFLICT_ROUNDS, since every such round means that writer progressed. Only a
        // throttled round counts against MAX_ATTEMPTS.
        let conflict = codes.contains(&Some("ConditionalCheckFailed"))
            || codes.contains(&Some("TransactionConflict"))
            || codes.len() != indexes.len();
        for i in failed {
            slots[i].stored = None;
        }
        Ok(Some(if conflict {
            Retry::Conflict(reason)
        } else {
            Retry::Busy(reason)
        }))
    }

    /// Consistent BatchGetItem of ≤100 group keys ([`MetricStore::batch_get_items`]), decoded:
    /// a stored item that does not decode is that group's `Err`.
    async fn batch_get(
        &self,
        keys: &[&GroupKey],
        report: &mut ApplyReport,
    ) -> Result<HashMap<GroupKey, Result<StoredGroup, StoreError>>, StoreError> {
        let mut items = self
            .batch_get_items(keys.iter().map(|k| key_of(k)).collect(), report)
            .await?;
        let found = keys
            .iter()
            .filter_map(|k| {
                let item = items.remove(&(k.service.clone(), k.minute.key()))?;
                let group = decode_group(&item).map_err(|e| self.corrupt(&item, e));
                Some(((*k).clone(), group))
            })
            .collect();
        // Anything else is not a key we asked for: DynamoDB never answers one.
        if let Some(item) = items.values().next() {
            return Err(self.corrupt(
                item,
                CodecError::Missing {
                    attribute: format!("{PK}/{SK} of a requested key"),
                },
            ));
        }
        Ok(found)
    }

    /// Consistent BatchGetItem of ≤100 keys, following unprocessed keys with back-off. Items
    /// by (partition key, sort key), undecoded.
    pub(crate) async fn batch_get_items(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
        report: &mut ApplyReport,
    ) -> Result<HashMap<(String, String), HashMap<String, AttributeValue>>, StoreError> {
        let key_string = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut found = HashMap::new();
        let mut pending = keys;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            bump(&self.counters.batch_get);
            report.read_requests += 1;
            let result = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .send()
                .await;
            let retry_reason = match result {
                Ok(out) => {
                    for item in out
                        .responses()
                        .and_then(|r| r.get(&self.table))
                        .into_iter()
                        .flatten()
                    {
                        found.insert((key_string(item, PK), key_string(item, SK)), item.clone());
                    }
                    pending = out
                        .unprocessed_keys()
                        .and_then(|u| u.get(&self.table))
                        .map(|k| k.keys().to_vec())
                        .unwrap_or_default();
                    if pending.is_empty() {
                        break;
                    }
                    format!("{} keys unprocessed", pending.len())
                }
                Err(err) if is_retryable(&err) => {
                    pending = request.keys().to_vec();
                    DisplayErrorContext(&err).to_string()
                }
                Err(err) => return Err(self.aws_error("BatchGetItem", err)),
            };
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(self.exhausted("BatchGetItem", attempt, retry_reason));
            }
            report.retries += 1;
            tokio::time::sleep(backoff_delay(attempt)).await;
        }
        Ok(found)
    }

    /// Sends one read (`send` builds and sends it) until it succeeds, fails for good, or
    /// [`MAX_ATTEMPTS`] attempts were throttled or failed transiently, backing off between them
    /// like [`MetricStore::batch_get_items`] (the SDK's own retries run inside each attempt).
    /// Returns the response and how many times it was sent again.
    pub(crate) async fn send_read<T, E, R, F>(
        &self,
        operation: &'static str,
        mut send: impl FnMut() -> F,
    ) -> Result<(T, u32), StoreError>
    where
        F: std::future::Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let mut failed = 0u32;
        loop {
            match send().await {
                Ok(out) => return Ok((out, failed)),
                Err(err) if is_retryable(&err) => {
                    failed += 1;
                    if failed >= MAX_ATTEMPTS {
                        let last = DisplayErrorContext(&err).to_string();
                        return Err(self.exhausted(operation, failed, last));
                    }
                    tokio::time::sleep(backoff_delay(failed)).await;
                }
                Err(err) => return Err(self.aws_error(operation, err)),
            }
        }
    }

    /// All minutes of `service` in `[from, to_exclusive)`, ascending, following pagination.
    pub async fn query_service(
        &self,
        service: &str,
        from: Minute,
        to_exclusive: Minute,
    ) -> Result<Vec<(Minute, MinuteMetrics)>, StoreError> {
        Ok(self
            .query_service_page(service, from, to_exclusive, usize::MAX)
            .await?
            .items)
    }

    /// Up to `max_items` minutes of `service` in `[from, to_exclusive)`, ascending; `next` says
    /// where to continue.
    pub async fn query_service_page(
        &self,
        service: &str,
        from: Minute,
        to_exclusive: Minute,
        max_items: usize,
    ) -> Result<ServicePage, StoreError> {
        validate_service_name(service).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut page = ServicePage::default();
        if from >= to_exclusive || max_items == 0 {
            return Ok(page);
        }
        let last = to_exclusive.add_minutes(-1);
        let mut start_key: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let remaining = max_items - page.items.len();
            bump(&self.counters.query);
            page.requests += 1;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", AttributeValue::S(service.to_owned()))
                .expression_attribute_values(":from", AttributeValue::S(from.key()))
                .expression_attribute_values(":to", AttributeValue::S(last.key()))
                .set_limit(i32::try_from(remaining).ok())
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| self.aws_error("Query", e))?;
            for item in out.items() {
                let group = decode_group(item).map_err(|e| self.corrupt(item, e))?;
                page.items.push((group.key.minute, group.metrics));
            }
            start_key = out.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(page);
            }
            if page.items.len() >= max_items {
                page.next = page
                    .items
                    .last()
                    .map(|(m, _)| m.next())
                    .filter(|m| *m < to_exclusive);
                return Ok(page);
            }
        }
    }
}

fn validate_batch(batch: &Batch) -> Result<(), StoreError> {
    batch
        .0
        .iter()
        .try_for_each(|(key, metrics)| validate_group(key, metrics))
}

fn validate_group(key: &GroupKey, metrics: &MinuteMetrics) -> Result<(), StoreError> {
    validate_service_name(&key.service).map_err(|e| StoreError::Invalid(e.to_string()))?;
    for name in metrics.0.keys() {
        validate_metric_name(name).map_err(|e| StoreError::Invalid(format!("{key}: {e}")))?;
    }
    Ok(())
}

/// A group that can never be written: the call's error, or listed in the report.
fn reject(
    on_reject: OnReject,
    report: &mut ApplyReport,
    key: &GroupKey,
    reason: RejectReason,
    error: StoreError,
) -> Result<(), StoreError> {
    match on_reject {
        OnReject::Fail => Err(error),
        OnReject::Skip => {
            report.rejected.push(RejectedGroup {
                key: key.clone(),
                reason,
                message: error.to_string(),
            });
            Ok(())
        }
    }
}

/// The condition of an optimistic write: the item is still at `expected_version` (0 = absent).
/// Shared by the transactions' Puts and the rollups' PutItem.
pub(crate) struct VersionCondition {
    pub expression: &'static str,
    pub names: HashMap<String, String>,
    pub values: Option<HashMap<String, AttributeValue>>,
}

impl VersionCondition {
    pub(crate) fn at(expected_version: u64) -> VersionCondition {
        if expected_version == 0 {
            VersionCondition {
                expression: "attribute_not_exists(#pk)",
                names: HashMap::from([("#pk".to_owned(), PK.to_owned())]),
                values: None,
            }
        } else {
            VersionCondition {
                expression: "#v = :v",
                names: HashMap::from([("#v".to_owned(), VERSION.to_owned())]),
                values: Some(HashMap::from([(
                    ":v".to_owned(),
                    AttributeValue::N(expected_version.to_string()),
                )])),
            }
        }
    }
}

/// A Put that only succeeds if the item is still at `expected_version` (0 = absent).
fn conditional_put(
    table: &str,
    item: HashMap<String, AttributeValue>,
    expected_version: u64,
) -> Result<Put, StoreError> {
    let condition = VersionCondition::at(expected_version);
    Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition.expression)
        .set_expression_attribute_names(Some(condition.names))
        .set_expression_attribute_values(condition.values)
        .build()
        .map_err(|e| StoreError::Invalid(e.to_string()))
}

/// Splits Puts into transactions of ≤`max_items` (≤100) items and ≤3 MB.
fn split_transactions(
    puts: Vec<(usize, TransactWriteItem, usize)>,
    max_items: usize,
) -> Vec<Vec<(usize, TransactWriteItem)>> {
    let mut out: Vec<Vec<(usize, TransactWriteItem)>> = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0usize;
    for (i, put, size) in puts {
        if !current.is_empty()
            && (current.len() >= max_items.min(MAX_GROUPS_PER_REQUEST)
                || bytes + size > MAX_TRANSACTION_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push((i, put));
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_stable_and_short() {
        let d = source_digest("s3://logs/app/2026/11/29/a.log.gz#etag");
        assert_eq!(d.len(), 32);
        assert_eq!(d, source_digest("s3://logs/app/2026/11/29/a.log.gz#etag"));
        assert_ne!(d, source_digest("s3://logs/app/2026/11/29/b.log.gz#etag"));
        // SHA-256("abc") starts with ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(source_digest("abc"), "ba7816bf8f01cfea414140de5dae2223");
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 1..40 {
            let d = backoff_delay(attempt);
            assert!(d <= Duration::from_millis(BACKOFF_CAP_MS), "{d:?}");
        }
    }

    #[test]
    fn transactions_respect_count_and_size() {
        let put = || {
            let p = conditional_put("t", HashMap::new(), 0).unwrap();
            TransactWriteItem::builder().put(p).build()
        };
        let puts: Vec<_> = (0..250).map(|i| (i, put(), 10)).collect();
        let sizes: Vec<usize> = split_transactions(puts, MAX_GROUPS_PER_REQUEST)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        let big: Vec<_> = (0..10).map(|i| (i, put(), 400 * 1024)).collect();
        let sizes: Vec<usize> = split_transactions(big, MAX_GROUPS_PER_REQUEST)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![7, 3]);
    }

    #[test]
    fn invalid_batches_are_rejected() {
        let m = Minute::from_epoch_seconds(0);
        let mut b = Batch::new();
        b.record("#reserved", m, "requests", 1.0);
        let e = validate_batch(&b).unwrap_err().to_string();
        assert!(e.contains("service name"), "{e}");
        let mut b = Batch::new();
        b.record("svc", m, "bad metric", 1.0);
        let e = validate_batch(&b).unwrap_err().to_string();
        assert!(e.contains("metric name") && e.contains("svc@"), "{e}");
    }
}
