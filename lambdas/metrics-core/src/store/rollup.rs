//! Keeping the hourly and daily rollups up to date, and reading items of any resolution.
//!
//! ## Derived from committed children, not from contributions
//! A rollup is never merged into: it is **recomputed** from its committed children (an hour from
//! its minute items, a day from its hourly rollups) and records in `Basis` the `Version` of each
//! child it was computed from. Exactly-once therefore comes for free from the minute items
//! (which already hold each contribution once), and no source list is needed (one per hour would
//! pass the 2,000 sources an item can hold).
//!
//! After a write commits, the writer makes sure each rollup above the minutes it settled includes
//! them ([`MetricStore::refresh_rollups`]): for the hour of a minute at version `v`,
//! 1. read the rollup (consistent GetItem); if its basis already holds the minute at `v` or later,
//!    someone else's recompute included it: done, nothing written;
//! 2. else read the hour's children (consistent Query) and merge them in time order;
//! 3. Put the result with `Version + 1`, conditioned on the `Version` read in 1 (or on absence). A
//!    failed condition means another writer recomputed in between: go back to 1, where that
//!    writer's result usually already includes this minute.
//!
//! The children are read after the rollup, so everything in the rollup's basis (committed before
//! the rollup was written) is in what they return, and versions only grow: a recompute never goes
//! back. Any recompute includes every child committed before it started, so a rollup left stale
//! by a crash between a commit and its refresh is repaired by the retry (Lambda retries the
//! object, whose groups are then already applied and refreshed again) or by the next write to
//! that hour. The same step then runs for the day, from its hourly rollups.
//!
//! Cost per object: per (service, hour) it touched 1 GetItem, and when not yet included 1 Query
//! of ≤ 60 minute items and 1 Put; the same per (service, day) with ≤ 24 hourly items. Many
//! writers of one hour do not retry with the number of writers: a writer whose Put loses finds
//! its minutes in the winner's rollup unless the winner read before this writer's commit.
//!
//! A rollup whose merge would pass the item limit (by our estimate, or by DynamoDB's count when
//! it refuses the Put with a `ValidationException`), or one with a child that does not decode,
//! is written `Partial` (no metrics): readers then answer from its children
//! ([`MetricStore::query_run`] reports it), and a corrupt child is reported by key to the reader
//! that meets it instead of failing every later write to its hour.

use super::{
    backoff_delay, bump, is_retryable, item_size, MetricStore, StoreError, VersionCondition,
    MAX_ATTEMPTS, MAX_CONFLICT_ROUNDS, MAX_ITEM_BYTES,
};
use crate::aggregate::{GroupKey, MinuteMetrics};
use crate::codec::{
    decode_group, decode_rollup, encode_rollup, piece_key, StoredRollup, GSI_TIMESTAMP, PK, SK,
    VERSION,
};
use crate::rollup::{Piece, Resolution, Run};
use crate::service::{is_reserved_key, validate_service_name};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};

/// Rollups refreshed at once after a write.
const REFRESH_CONCURRENCY: usize = 8;

/// What [`MetricStore::refresh_rollups`] did (summed over every rollup it looked at).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Rollups recomputed and written.
    pub written: usize,
    /// Rollups that already included what was asked (nothing written).
    pub up_to_date: usize,
    /// Puts that lost to a concurrent recompute (their condition failed), each followed by a re-read.
    pub conflicts: usize,
    /// GetItem + Query requests.
    pub read_requests: usize,
    /// Put requests.
    pub write_requests: usize,
    /// Reads and Puts sent again after throttling or a transient error (included in the counts
    /// above).
    pub retries: usize,
    /// Child items read by the recomputes.
    pub items_read: usize,
    /// Write units of the successful Puts on the table, by AWS's rule: 1 per KB of item, rounded up
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html>).
    pub write_units: u64,
    /// The same Puts' write units on `TimestampIndex`, by resolution (hour, day): the index
    /// projects every attribute, so each Put costs the same units there, in the partition of its
    /// sort key (`PT1H#…` holds every service's hour, `P1D#…` every service's day).
    pub index_write_units_hour: u64,
    pub index_write_units_day: u64,
    /// Rollups written `Partial` (too large to hold their merge, or a child does not decode).
    pub partial: usize,
    /// Child items that did not decode (each logged; their parent was written `Partial`).
    pub corrupt_children: usize,
    /// Puts DynamoDB refused as invalid (`ValidationException`), each sent again `Partial`.
    pub refused_as_invalid: usize,
}

impl RollupReport {
    fn add(&mut self, o: &RollupReport) {
        self.written += o.written;
        self.up_to_date += o.up_to_date;
        self.conflicts += o.conflicts;
        self.read_requests += o.read_requests;
        self.write_requests += o.write_requests;
        self.retries += o.retries;
        self.items_read += o.items_read;
        self.write_units += o.write_units;
        self.index_write_units_hour += o.index_write_units_hour;
        self.index_write_units_day += o.index_write_units_day;
        self.partial += o.partial;
        self.corrupt_children += o.corrupt_children;
        self.refused_as_invalid += o.refused_as_invalid;
    }
}

/// Write units of a standard (non-transactional) write of `bytes`: 1 per KB, rounded up.
pub fn write_units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// One item read back for an answer: its start and resolution, its metrics, whether it is a
/// partial rollup (then `metrics` is empty and the caller reads its children).
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub piece: Piece,
    pub metrics: MinuteMetrics,
    pub partial: bool,
}

/// Items read by one or more [`MetricStore::query_run`] or [`MetricStore::query_piece`] calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchReport {
    /// Responses received (requests sent again after throttling are in `retries`).
    pub requests: u32,
    /// Requests sent again after throttling or a transient error.
    pub retries: u32,
    pub items: usize,
    /// The items' sizes (DynamoDB's item size rules, `item_size`).
    pub bytes: usize,
    /// Read units of a strongly consistent read, by AWS's rule for a Query: per request, the
    /// sizes of the items it returned summed, then 1 per 4 KB rounded up (at least 1)
    /// (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>).
    pub units_4k: u64,
}

impl FetchReport {
    /// Read units: [`FetchReport::units_4k`], halved for an eventually consistent read.
    pub fn read_units(&self, consistent: bool) -> f64 {
        let units = self.units_4k as f64;
        if consistent {
            units
        } else {
            units / 2.0
        }
    }

    /// Adds another report's counts to this one.
    pub fn add(&mut self, other: &FetchReport) {
        self.requests += other.requests;
        self.retries += other.retries;
        self.items += other.items;
        self.bytes += other.bytes;
        self.units_4k += other.units_4k;
    }

    /// Records one Query response holding items of these sizes.
    fn record_response(&mut self, sizes: impl Iterator<Item = usize>) {
        let bytes: usize = sizes.sum();
        self.requests += 1;
        self.bytes += bytes;
        self.units_4k += bytes.div_ceil(4096).max(1) as u64;
    }
}

/// A child of a rollup as read for a recompute.
struct Child {
    offset: i64,
    version: u64,
    metrics: MinuteMetrics,
    /// No metrics to merge (a `Partial` rollup, or an item that does not decode): the parent
    /// is written `Partial`.
    partial: bool,
}

/// A child item that does not decode, as far as it can be placed: its offset from the sort key
/// (an unplaceable key still makes the parent partial, at the offset -1, outside the basis),
/// its `Version` if readable, else the one the parent's basis holds (so it is not taken for a
/// version going back).
fn corrupt_child(
    item: &HashMap<String, AttributeValue>,
    piece: Piece,
    child: Resolution,
    basis: &BTreeMap<i64, u64>,
) -> Child {
    let offset = item
        .get(SK)
        .and_then(|v| v.as_s().ok())
        .and_then(|k| Resolution::parse_key(k))
        .filter(|(r, t)| *r == child && (piece.start..piece.end()).contains(t))
        .map_or(-1, |(_, t)| (t - piece.start) / child.seconds());
    let version = item
        .get(VERSION)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<u64>().ok())
        .or_else(|| basis.get(&offset).copied())
        .unwrap_or(0);
    Child {
        offset,
        version,
        metrics: MinuteMetrics::new(),
        partial: true,
    }
}

impl MetricStore {
    /// Brings the hourly and then the daily rollups above `settled` up to date: each entry is a
    /// minute group and the `Version` of its item that holds the writer's contribution (0 when
    /// unknown, which makes the hour recompute whenever its children changed). See the module
    /// docs for why this is safe under retries and concurrent writers.
    pub async fn refresh_rollups(
        &self,
        settled: &[(GroupKey, u64)],
    ) -> Result<RollupReport, StoreError> {
        let mut hours: BTreeMap<(String, i64), Vec<(i64, u64)>> = BTreeMap::new();
        for (key, version) in settled {
            let t = key.minute.epoch_seconds();
            let hour = Resolution::Hour.floor(t);
            hours
                .entry((key.service.clone(), hour))
                .or_default()
                .push(((t - hour) / 60, *version));
        }
        let mut report = RollupReport::default();
        let refreshed = self
            .refresh_level(Resolution::Hour, hours, &mut report)
            .await?;
        let mut days: BTreeMap<(String, i64), Vec<(i64, u64)>> = BTreeMap::new();
        for ((service, hour), version) in refreshed {
            let day = Resolution::Day.floor(hour);
            days.entry((service, day))
                .or_default()
                .push(((hour - day) / 3600, version));
        }
        self.refresh_level(Resolution::Day, days, &mut report)
            .await?;
        Ok(report)
    }

    /// Refreshes every rollup of one resolution, a few at once; the version each ended at.
    async fn refresh_level(
        &self,
        resolution: Resolution,
        wanted: BTreeMap<(String, i64), Vec<(i64, u64)>>,
        report: &mut RollupReport,
    ) -> Result<Vec<((String, i64), u64)>, StoreError> {
        let results: Vec<_> = stream::iter(wanted)
            .map(|((service, start), required)| async move {
                let mut r = RollupReport::default();
                let piece = Piece { resolution, start };
                let version = self.refresh_one(&service, piece, &required, &mut r).await?;
                Ok::<_, StoreError>((((service, start), version), r))
            })
            .buffer_unordered(REFRESH_CONCURRENCY)
            .try_collect()
            .await?;
        let mut out = Vec::with_capacity(results.len());
        for (entry, r) in results {
            report.add(&r);
            // Version 0: the rollup has no data (nothing to pass up).
            if entry.1 > 0 {
                out.push(entry);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Makes the rollup `piece` of `service` include each required child (offset, version).
    /// Returns the rollup's version that does.
    async fn refresh_one(
        &self,
        service: &str,
        piece: Piece,
        required: &[(i64, u64)],
        report: &mut RollupReport,
    ) -> Result<u64, StoreError> {
        let (mut conflicts, mut busy) = (0u32, 0u32);
        loop {
            let (version, basis) = self.rollup_state(service, piece, report).await?;
            let included = |(offset, v): &(i64, u64)| basis.get(offset).is_some_and(|b| b >= v);
            if version > 0 && required.iter().all(|r| r.1 > 0) && required.iter().all(included) {
                report.up_to_date += 1;
                return Ok(version);
            }
            let children = self.read_children(service, piece, &basis, report).await?;
            let new_basis: BTreeMap<i64, u64> = children
                .iter()
                .filter(|c| c.offset >= 0)
                .map(|c| (c.offset, c.version))
                .collect();
            if new_basis == basis {
                report.up_to_date += 1;
                return Ok(version);
            }
            // A child the rollup holds but the table no longer does (expired under a retention
            // shorter than the acceptance window allows, or deleted by hand): keep the rollup.
            if basis.keys().any(|o| !new_basis.contains_key(o)) {
                tracing::warn!(service, rollup = %piece.key(), "rollup holds children the table no longer has; left as is");
                report.up_to_date += 1;
                return Ok(version);
            }
            if basis.iter().any(|(o, v)| new_basis[o] < *v) {
                // Only a read overlapping another writer's could see this: read again.
                conflicts += 1;
            } else {
                match self
                    .put_rollup(service, piece, version, new_basis, &children, report)
                    .await?
                {
                    PutOutcome::Written(v) => return Ok(v),
                    PutOutcome::Lost => {
                        report.conflicts += 1;
                        conflicts += 1;
                    }
                    PutOutcome::Busy(reason) => {
                        busy += 1;
                        report.retries += 1;
                        if busy >= MAX_ATTEMPTS {
                            return Err(self.exhausted("PutItem", busy, reason));
                        }
                        tokio::time::sleep(backoff_delay(busy)).await;
                        continue;
                    }
                }
            }
            if conflicts >= MAX_CONFLICT_ROUNDS {
                return Err(self.exhausted(
                    "PutItem",
                    conflicts,
                    format!(
                        "rollup {} kept changing under concurrent writers",
                        piece.key()
                    ),
                ));
            }
            tokio::time::sleep(backoff_delay(conflicts)).await;
        }
    }

    /// The stored rollup's version and basis (0 and empty when absent). A rollup whose basis
    /// does not decode is derived data: it is recomputed over (its version still guards the Put).
    async fn rollup_state(
        &self,
        service: &str,
        piece: Piece,
        report: &mut RollupReport,
    ) -> Result<(u64, BTreeMap<i64, u64>), StoreError> {
        let (out, retries) = self
            .send_read("GetItem", || {
                bump(&self.counters.get);
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(piece_key(service, piece)))
                    .consistent_read(true)
                    .send()
            })
            .await?;
        report.read_requests += 1 + retries as usize;
        report.retries += retries as usize;
        let Some(item) = out.item() else {
            return Ok((0, BTreeMap::new()));
        };
        match decode_rollup(item) {
            Ok(r) => Ok((r.version, r.basis)),
            Err(e) => {
                let version = item
                    .get(VERSION)
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .ok_or_else(|| self.corrupt(item, e.clone()))?;
                tracing::warn!(service, rollup = %piece.key(), error = %e, "rollup does not decode; recomputing it");
                Ok((version, BTreeMap::new()))
            }
        }
    }

    /// The children of `piece`, consistently read, in time order.
    ///
    /// A child that does not decode must not block every later write to its parent (each would
    /// fail on it again): it becomes a `partial` child without metrics, so the rollup is written
    /// `Partial` and readers go to the children, where they meet the corrupt item and report it
    /// by key ([`StoreError::Corrupt`]). Its `Version` still enters the basis when it can be
    /// read (else the one `basis` holds for it), so the rollup is recomputed when it changes.
    async fn read_children(
        &self,
        service: &str,
        piece: Piece,
        basis: &BTreeMap<i64, u64>,
        report: &mut RollupReport,
    ) -> Result<Vec<Child>, StoreError> {
        let Some(child) = piece.resolution.child() else {
            return Ok(Vec::new());
        };
        let run = Run {
            resolution: child,
            start: piece.start,
            end: piece.end(),
        };
        let mut fetch = FetchReport::default();
        let items = self.query_run_items(service, run, true, &mut fetch).await?;
        report.read_requests += (fetch.requests + fetch.retries) as usize;
        report.retries += fetch.retries as usize;
        report.items_read += items.len();
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let decoded = if child == Resolution::Minute {
                decode_group(item)
                    .map(|g| (g.key.minute.epoch_seconds(), g.version, g.metrics, false))
            } else {
                decode_rollup(item).map(|r| (r.piece.start, r.version, r.metrics, r.partial))
            };
            match decoded {
                Ok((start, version, metrics, partial)) => out.push(Child {
                    offset: (start - piece.start) / child.seconds(),
                    version,
                    metrics,
                    partial,
                }),
                Err(e) => {
                    report.corrupt_children += 1;
                    let error = self.corrupt(item, e);
                    tracing::warn!(service, rollup = %piece.key(), %error, "a child does not decode; the rollup is written Partial");
                    out.push(corrupt_child(item, piece, child, basis));
                }
            }
        }
        Ok(out)
    }

    async fn put_rollup(
        &self,
        service: &str,
        piece: Piece,
        expected: u64,
        basis: BTreeMap<i64, u64>,
        children: &[Child],
        report: &mut RollupReport,
    ) -> Result<PutOutcome, StoreError> {
        let version = expected.checked_add(1).ok_or_else(|| {
            StoreError::Invalid(format!(
                "rollup {service}@{}: version at its maximum",
                piece.key()
            ))
        })?;
        // Children in time order, so the sums do not depend on which writer recomputed.
        let mut metrics = MinuteMetrics::new();
        for c in children {
            metrics.merge(&c.metrics);
        }
        let mut rollup = StoredRollup {
            service: service.to_owned(),
            piece,
            metrics,
            version,
            basis,
            partial: children.iter().any(|c| c.partial),
        };
        let expires_at = self.retention.expires_at(piece);
        let mut item = encode_rollup(&rollup, expires_at);
        if item_size(&item) > MAX_ITEM_BYTES {
            rollup.partial = true;
            item = encode_rollup(&rollup, expires_at);
        }
        let mut next = Some(item);
        loop {
            let item = next
                .take()
                .unwrap_or_else(|| encode_rollup(&rollup, expires_at));
            let bytes = item_size(&item);
            let condition = VersionCondition::at(expected);
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition.expression)
                .set_expression_attribute_names(Some(condition.names))
                .set_expression_attribute_values(condition.values);
            bump(&self.counters.put);
            report.write_requests += 1;
            return match put.send().await {
                Ok(_) => {
                    report.written += 1;
                    report.partial += usize::from(rollup.partial);
                    let units = write_units(bytes);
                    report.write_units += units;
                    match piece.resolution {
                        Resolution::Day => report.index_write_units_day += units,
                        _ => report.index_write_units_hour += units,
                    }
                    Ok(PutOutcome::Written(version))
                }
                Err(err) if is_retryable(&err) => Ok(PutOutcome::Busy(
                    aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
                )),
                Err(err) if err.code() == Some("ConditionalCheckFailedException") => {
                    Ok(PutOutcome::Lost)
                }
                // DynamoDB counts an item's size its own way (400 KB at most:
                // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html),
                // which `item_size` only estimates: a merge it refuses as invalid is sent again
                // `Partial` (no metrics, a few hundred bytes), so the hour stays writable and
                // readers use its children. A `Partial` Put refused too fails as before.
                Err(err) if err.code() == Some("ValidationException") && !rollup.partial => {
                    tracing::warn!(
                        service,
                        rollup = %piece.key(),
                        error = %aws_smithy_types::error::display::DisplayErrorContext(&err),
                        "rollup Put refused as invalid; written Partial instead"
                    );
                    rollup.partial = true;
                    report.refused_as_invalid += 1;
                    continue;
                }
                Err(err) => Err(self.aws_error("PutItem", err)),
            };
        }
    }

    /// Raw items of `service` in one run (a key range of one resolution), following pages.
    async fn query_run_items(
        &self,
        service: &str,
        run: Run,
        consistent: bool,
        fetch: &mut FetchReport,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        validate_service_name(service).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let (out, retries) = self
                .send_read("Query", || {
                    bump(&self.counters.query);
                    self.client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                        .expression_attribute_names("#pk", PK)
                        .expression_attribute_names("#sk", SK)
                        .expression_attribute_values(":pk", AttributeValue::S(service.to_owned()))
                        .expression_attribute_values(":from", AttributeValue::S(run.first_key()))
                        .expression_attribute_values(":to", AttributeValue::S(run.last_key()))
                        .consistent_read(consistent)
                        .set_exclusive_start_key(start_key.clone())
                        .send()
                })
                .await?;
            fetch.retries += retries;
            fetch.record_response(out.items().iter().map(item_size));
            fetch.items += out.items().len();
            items.extend(out.items().iter().cloned());
            start_key = out.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(items);
            }
        }
    }

    /// The items of `service` in `run`, ascending (a partial rollup is returned as such).
    pub async fn query_run(
        &self,
        service: &str,
        run: Run,
        fetch: &mut FetchReport,
    ) -> Result<Vec<Fetched>, StoreError> {
        let items = self.query_run_items(service, run, false, fetch).await?;
        items.iter().map(|item| self.fetched(item)).collect()
    }

    /// Every service's item of `piece` (`TimestampIndex`, one partition), ascending by service.
    pub async fn query_piece(
        &self,
        piece: Piece,
        fetch: &mut FetchReport,
    ) -> Result<Vec<(String, Fetched)>, StoreError> {
        let mut out = Vec::new();
        let mut start_key = None;
        loop {
            let (result, retries) = self
                .send_read("Query", || {
                    bump(&self.counters.query);
                    self.client
                        .query()
                        .table_name(&self.table)
                        .index_name(GSI_TIMESTAMP)
                        // Reserved keys start with '#', below '$': the key condition never reads them.
                        .key_condition_expression("#sk = :t AND #pk > :after")
                        .expression_attribute_names("#pk", PK)
                        .expression_attribute_names("#sk", SK)
                        .expression_attribute_values(":t", AttributeValue::S(piece.key()))
                        .expression_attribute_values(
                            ":after",
                            AttributeValue::S(super::ABOVE_RESERVED.to_owned()),
                        )
                        .set_exclusive_start_key(start_key.clone())
                        .send()
                })
                .await?;
            fetch.retries += retries;
            fetch.record_response(result.items().iter().map(item_size));
            fetch.items += result.items().len();
            for item in result.items() {
                let Some(pk) = item.get(PK).and_then(|v| v.as_s().ok()) else {
                    continue;
                };
                if is_reserved_key(pk) {
                    continue;
                }
                out.push((pk.clone(), self.fetched(item)?));
            }
            start_key = result.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(out);
            }
        }
    }

    fn fetched(&self, item: &HashMap<String, AttributeValue>) -> Result<Fetched, StoreError> {
        let sort_key = item.get(SK).and_then(|v| v.as_s().ok());
        match sort_key.and_then(|k| Resolution::parse_key(k)) {
            Some((Resolution::Minute, _)) | None => {
                let g = decode_group(item).map_err(|e| self.corrupt(item, e))?;
                Ok(Fetched {
                    piece: Piece {
                        resolution: Resolution::Minute,
                        start: g.key.minute.epoch_seconds(),
                    },
                    metrics: g.metrics,
                    partial: false,
                })
            }
            Some(_) => {
                let r = decode_rollup(item).map_err(|e| self.corrupt(item, e))?;
                Ok(Fetched {
                    piece: r.piece,
                    metrics: r.metrics,
                    partial: r.partial,
                })
            }
        }
    }
}

enum PutOutcome {
    Written(u64),
    /// The condition failed: another writer recomputed first.
    Lost,
    Busy(String),
}
