//! All-or-nothing writes of one API request ([`MetricStore::apply_atomic`]), with its
//! idempotency record.
//!
//! [`MetricStore::apply`] makes each group idempotent on its own, which suits a log object (a
//! retry skips what landed), but an API request must be applied whole or not at all, and a
//! reused `Idempotency-Key` must be recognised even when its body touches other minutes. So a
//! request is one `TransactWriteItems`
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>:
//! at most 100 items, 4 MB in all): a conditional Put per (service, minute) group (on the
//! `Version` read, or on absence) and, with a key, one Put of the key's **idempotency record**,
//! conditioned on there being none (or only an expired one). Either all of them commit or none.
//!
//! The record lives in the reserved key space (`contract::names`): partition key
//! `#idempotency#<digest of the key>`, and the same string as sort key, so that records spread
//! over the `TimestampIndex` partitions instead of sharing one; no minute and no valid service
//! name can equal it, so metric queries never read it. It holds the digest of the request's
//! canonical body, how many groups the request wrote, when, and `ExpiresAt` (the table's TTL).
//! A request whose key has a live record with the same body digest writes nothing and is a
//! duplicate; with another digest it is refused ([`AtomicError::KeyReused`]).
//!
//! Expiry: the caller sets `expires_at` to the moment its earliest point leaves the acceptance
//! window, so by the time a record is expired, a resend of that body is refused by the window
//! anyway, and no retry can count twice. DynamoDB deletes expired items only eventually
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html>), so
//! an expired record still present is treated as absent, here and in the Put's condition.
//!
//! Conflicts with concurrent writers (a condition failed) re-read every item and merge again, as
//! `apply` does; throttling and transient errors resend the identical transaction with the same
//! `ClientRequestToken`, so a resend of a transaction that did commit is answered from that commit
//! instead of applying twice.

use super::{
    backoff_delay, bump, conditional_put, is_retryable, item_size, request_token, source_digest,
    validate_batch, MetricStore, StoreError, MAX_ATTEMPTS, MAX_CONFLICT_ROUNDS,
    MAX_GROUPS_PER_REQUEST, MAX_ITEM_BYTES, MAX_TRANSACTION_BYTES,
};
use crate::aggregate::{Batch, GroupKey};
use crate::codec::{decode_group, encode_group, key_of, time_value, PK, SK, TTL_ATTRIBUTE};
use crate::service::reserved_key;
use crate::store::ApplyReport;
use crate::StoredGroup;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_smithy_types::error::display::DisplayErrorContext;
use std::collections::HashMap;

/// Most (service, minute) groups one atomic write may touch: one transaction holds 100 items,
/// and one of them is the idempotency record.
pub const MAX_ATOMIC_GROUPS: usize = MAX_GROUPS_PER_REQUEST - 1;
/// Most bytes the items of one atomic write may total (estimated as [`item_size`] does):
/// DynamoDB's 4 MB per transaction, with a margin for the estimate.
pub const MAX_ATOMIC_BYTES: usize = MAX_TRANSACTION_BYTES;
/// Kind of the idempotency records' reserved keys (`#idempotency#<digest>`).
pub const IDEMPOTENCY_KIND: &str = "idempotency";
/// Attributes of an idempotency record.
pub const BODY_DIGEST: &str = "BodyDigest";
pub const GROUPS: &str = "Groups";
pub const CREATED_AT: &str = "CreatedAt";

/// The key of one request and what it must match.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    /// The key as a source id (e.g. `api:<sha256(key)>`).
    pub source_id: &'a str,
    /// Digest of the request's canonical body: the same body gives the same digest.
    pub body_digest: &'a str,
    /// Epoch seconds after which the record no longer counts (and DynamoDB's TTL may delete it).
    pub expires_at: i64,
}

/// One request to apply whole.
#[derive(Debug, Clone, Copy)]
pub struct AtomicWrite<'a> {
    pub batch: &'a Batch,
    pub idempotency: Option<Idempotency<'a>>,
    /// The request's time, epoch seconds: the record's `CreatedAt`, and what expiry is judged by.
    pub now: i64,
}

/// A group's Put in the transaction: its key, the version it writes, its item size.
type Written = (GroupKey, u64, usize);

/// What [`MetricStore::apply_atomic`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtomicOutcome {
    /// Every group was written in one transaction (`report.applied` lists them).
    Applied(ApplyReport),
    /// The key's record holds this body: nothing was written. `groups` is what the original
    /// request wrote.
    Duplicate { groups: usize, report: ApplyReport },
}

/// Why an atomic write was refused or failed. All but `Store` are the request's own doing.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the request touches {groups} (service, minute) groups; at most {max} fit the one \
         transaction a request is applied in: split it into several requests"
    )]
    TooManyGroups { groups: usize, max: usize },
    #[error(
        "the item of service {} in minute {} would be {bytes} bytes, over DynamoDB's {max}-byte \
         item limit; use fewer metric names for this service",
        key.service, key.minute
    )]
    ItemTooLarge {
        key: GroupKey,
        bytes: usize,
        max: usize,
    },
    #[error(
        "the request's items would total {bytes} bytes, over the {max} bytes one transaction may \
         write (reached at service {} in minute {}); send fewer (service, minute) groups per request",
        at.service, at.minute
    )]
    TransactionTooLarge {
        at: GroupKey,
        bytes: usize,
        max: usize,
    },
    #[error("the idempotency key was already used at {first_used} for a different body")]
    KeyReused { first_used: String },
}

/// The partition (and sort) key of a source id's idempotency record.
pub fn record_key(source_id: &str) -> String {
    reserved_key(IDEMPOTENCY_KIND, &source_digest(source_id))
}

fn record_item_key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.to_owned())),
        (SK.to_owned(), AttributeValue::S(key.to_owned())),
    ])
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    body_digest: String,
    groups: usize,
    created_at: String,
    expires_at: i64,
}

impl Record {
    fn decode(item: &HashMap<String, AttributeValue>) -> Option<Record> {
        let s = |name: &str| item.get(name)?.as_s().ok().cloned();
        let n = |name: &str| item.get(name)?.as_n().ok()?.parse::<i64>().ok();
        Some(Record {
            body_digest: s(BODY_DIGEST)?,
            groups: usize::try_from(n(GROUPS)?).ok()?,
            created_at: s(CREATED_AT).unwrap_or_default(),
            expires_at: n(TTL_ATTRIBUTE)?,
        })
    }

    fn is_expired(&self, now: i64) -> bool {
        self.expires_at < now
    }
}

impl MetricStore {
    /// Applies every group of `write.batch` in one transaction, or none (see the module docs).
    pub async fn apply_atomic(
        &self,
        write: &AtomicWrite<'_>,
    ) -> Result<AtomicOutcome, AtomicError> {
        validate_batch(write.batch)?;
        let groups: Vec<(&GroupKey, &crate::MinuteMetrics)> = write
            .batch
            .0
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .collect();
        if groups.len() > MAX_ATOMIC_GROUPS {
            return Err(AtomicError::TooManyGroups {
                groups: groups.len(),
                max: MAX_ATOMIC_GROUPS,
            });
        }
        let record = match write.idempotency {
            Some(Idempotency { source_id: "", .. }) => {
                return Err(StoreError::Invalid("source id is empty".to_owned()).into())
            }
            Some(idem) => Some((record_key(idem.source_id), idem)),
            None => None,
        };
        let mut report = ApplyReport::default();
        let (mut busy, mut conflicts) = (0u32, 0u32);
        loop {
            // Read everything, consistently: the groups and the key's record.
            let mut keys: Vec<HashMap<String, AttributeValue>> =
                groups.iter().map(|(k, _)| key_of(k)).collect();
            if let Some((key, _)) = &record {
                keys.push(record_item_key(key));
            }
            let mut found = self.batch_get_items(keys, &mut report).await?;
            if let Some((key, idem)) = &record {
                let stored = found
                    .remove(&(key.clone(), key.clone()))
                    .map(|item| {
                        Record::decode(&item).ok_or_else(|| StoreError::Corrupt {
                            table: self.table.clone(),
                            key: key.clone(),
                            source: crate::CodecError::Invalid {
                                attribute: BODY_DIGEST.to_owned(),
                                reason: "not an idempotency record".to_owned(),
                            },
                        })
                    })
                    .transpose()?
                    .filter(|r| !r.is_expired(write.now));
                if let Some(stored) = stored {
                    if stored.body_digest == idem.body_digest {
                        report.groups_already_applied = stored.groups;
                        // The first attempt may have died between its commit and its rollups:
                        // recompute where the children changed (version unknown: 0).
                        report.settled = groups.iter().map(|(k, _)| ((*k).clone(), 0)).collect();
                        self.refresh_after_commit(&mut report).await;
                        return Ok(AtomicOutcome::Duplicate {
                            groups: stored.groups,
                            report,
                        });
                    }
                    return Err(AtomicError::KeyReused {
                        first_used: stored.created_at,
                    });
                }
            }
            let (items, written) =
                self.atomic_items(&groups, &mut found, record.as_ref(), write)?;
            // Resends of this exact transaction share its token (see the module docs).
            let token = request_token();
            let outcome = loop {
                match self.send_atomic(items.clone(), &token, &mut report).await? {
                    Sent::Committed => {
                        report.groups_written = groups.len();
                        report.applied = groups.iter().map(|(k, _)| (*k).clone()).collect();
                        for (key, version, bytes) in written {
                            report.settled.push((key, version));
                            report.write_units += 2 * super::rollup::write_units(bytes);
                            report.index_write_units += super::rollup::write_units(bytes);
                        }
                        self.refresh_after_commit(&mut report).await;
                        return Ok(AtomicOutcome::Applied(report));
                    }
                    Sent::Conflict(reason) => break reason,
                    Sent::Busy(reason) => {
                        busy += 1;
                        if busy >= MAX_ATTEMPTS {
                            return Err(self.exhausted("TransactWriteItems", busy, reason).into());
                        }
                        report.retries += 1;
                        tokio::time::sleep(backoff_delay(busy)).await;
                    }
                }
            };
            conflicts += 1;
            if conflicts >= MAX_CONFLICT_ROUNDS {
                return Err(self
                    .exhausted("TransactWriteItems", conflicts, outcome)
                    .into());
            }
            report.retries += 1;
            tokio::time::sleep(backoff_delay(conflicts)).await;
        }
    }

    /// The rollups after a commit. The request is applied whatever happens here, so a failure
    /// is logged and kept in `report.rollup_error`, not returned (a client retrying a "failed"
    /// committed request without a key would count it twice); the next write to the same hour
    /// recomputes it from the minute items.
    async fn refresh_after_commit(&self, report: &mut ApplyReport) {
        match self.refresh_rollups(&report.settled).await {
            Ok(r) => report.rollups = r,
            Err(e) => {
                tracing::error!(error = %e, "rollups not refreshed after the commit; the next write to those hours repairs them");
                report.rollup_error = Some(e.to_string());
            }
        }
    }

    /// The transaction's items: each group merged into what was read, then the record.
    fn atomic_items(
        &self,
        groups: &[(&GroupKey, &crate::MinuteMetrics)],
        found: &mut HashMap<(String, String), HashMap<String, AttributeValue>>,
        record: Option<&(String, Idempotency<'_>)>,
        write: &AtomicWrite<'_>,
    ) -> Result<(Vec<TransactWriteItem>, Vec<Written>), AtomicError> {
        let mut items = Vec::with_capacity(groups.len() + 1);
        let mut written = Vec::with_capacity(groups.len());
        let mut total = 0usize;
        for &(key, add) in groups {
            let stored = match found.remove(&(key.service.clone(), key.minute.key())) {
                Some(item) => decode_group(&item).map_err(|e| self.corrupt(&item, e))?,
                None => StoredGroup::empty(key.clone()),
            };
            let mut merged = stored.clone();
            merged.metrics.merge(add);
            merged.version = stored
                .version
                .checked_add(1)
                .ok_or_else(|| StoreError::Corrupt {
                    table: self.table.clone(),
                    key: key.to_string(),
                    source: crate::CodecError::Invalid {
                        attribute: crate::codec::VERSION.to_owned(),
                        reason: "at its maximum".to_owned(),
                    },
                })?;
            let mut item = encode_group(&merged);
            if let Some(t) = self.retention.minute_ttl(key) {
                item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(t.to_string()));
            }
            let bytes = item_size(&item);
            if bytes > MAX_ITEM_BYTES {
                return Err(AtomicError::ItemTooLarge {
                    key: key.clone(),
                    bytes,
                    max: MAX_ITEM_BYTES,
                });
            }
            total += bytes;
            if total > MAX_ATOMIC_BYTES {
                return Err(AtomicError::TransactionTooLarge {
                    at: key.clone(),
                    bytes: total,
                    max: MAX_ATOMIC_BYTES,
                });
            }
            let put = conditional_put(&self.table, item, stored.version)?;
            items.push(TransactWriteItem::builder().put(put).build());
            written.push((key.clone(), merged.version, bytes));
        }
        if let Some((key, idem)) = record {
            let mut item = record_item_key(key);
            item.insert(
                BODY_DIGEST.to_owned(),
                AttributeValue::S(idem.body_digest.to_owned()),
            );
            item.insert(
                GROUPS.to_owned(),
                AttributeValue::N(groups.len().to_string()),
            );
            let created = chrono::DateTime::from_timestamp(write.now, 0).unwrap_or_default();
            item.insert(
                CREATED_AT.to_owned(),
                AttributeValue::S(time_value(created)),
            );
            item.insert(
                TTL_ATTRIBUTE.to_owned(),
                AttributeValue::N(idem.expires_at.to_string()),
            );
            // None yet, or only one that has expired (TTL deletes lazily).
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk) OR #exp < :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", TTL_ATTRIBUTE)
                .expression_attribute_values(":now", AttributeValue::N(write.now.to_string()))
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok((items, written))
    }

    /// Sends the transaction once.
    async fn send_atomic(
        &self,
        items: Vec<TransactWriteItem>,
        token: &str,
        report: &mut ApplyReport,
    ) -> Result<Sent, StoreError> {
        bump(&self.counters.transact_write);
        report.write_requests += 1;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Sent::Committed),
            Err(err) => err,
        };
        let reason = DisplayErrorContext(&err).to_string();
        if is_retryable(&err) {
            return Ok(Sent::Busy(reason));
        }
        let service_err = err.into_service_error();
        let TransactWriteItemsError::TransactionCanceledException(cancel) = &service_err else {
            return Err(StoreError::Aws {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                code: service_err.code().map(str::to_owned),
                message: DisplayErrorContext(&service_err).to_string(),
            });
        };
        let codes: Vec<&str> = cancel
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .collect();
        if let Some(code) = codes.iter().find(|c| !super::is_retried_cancellation(c)) {
            return Err(StoreError::Aws {
                operation: "TransactWriteItems",
                table: self.table.clone(),
                code: Some((*code).to_owned()),
                message: reason,
            });
        }
        // Nothing of a cancelled transaction is written. A failed condition means another
        // writer changed an item (or wrote the record): read again. Without reasons we cannot
        // tell, so read again too.
        if codes.is_empty() || codes.contains(&"ConditionalCheckFailed") {
            Ok(Sent::Conflict(reason))
        } else {
            Ok(Sent::Busy(reason))
        }
    }
}

/// One send of an atomic transaction.
enum Sent {
    Committed,
    /// A condition failed: re-read and merge again.
    Conflict(String),
    /// Throttled or transient: resend the same transaction.
    Busy(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_live_in_the_reserved_key_space() {
        let key = record_key("api:abc");
        assert!(key.starts_with("#idempotency#") && key.len() == "#idempotency#".len() + 32);
        assert!(crate::service::is_reserved_key(&key));
        assert!(crate::service::validate_service_name(&key).is_err());
        assert_eq!(key, record_key("api:abc"));
        assert_ne!(key, record_key("api:abd"));
        assert_eq!(MAX_ATOMIC_GROUPS, 99);
    }

    #[test]
    fn expiry_is_strictly_after_expires_at() {
        let r = Record {
            body_digest: "d".into(),
            groups: 1,
            created_at: String::new(),
            expires_at: 100,
        };
        assert!(!r.is_expired(100));
        assert!(r.is_expired(101));
    }
}
