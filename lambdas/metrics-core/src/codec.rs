//! DynamoDB item layout of table `ApplicationMetrics`.
//!
//! ```text
//! ServiceName  S   partition key (service name, or `#kind#id` for reserved items)
//! Timestamp    S   sort key, minute start `YYYY-MM-DDTHH:MM:00Z`
//! Metrics      M   metric name -> M { n: N count, s: N sum, lo: N min, hi: N max, h: B sketch }
//! Version      N   optimistic-concurrency counter, +1 per write
//! Sources      SS  digests of contributions already applied (absent when none)
//! UpdatedAt    S   RFC 3339 time of the last write (informational)
//! ExpiresAt    N   TTL, only under a retention
//! ```
//!
//! Rollups (`crate::rollup`) share the keys: `Timestamp` = `PT1H#<hour start>` or
//! `P1D#<day start>`, `Metrics` and `Version` as above, `Basis` M (child offset `"05"` -> N the
//! child's `Version`), `Partial` BOOL (only when true: no metrics, read the children), no `Sources`.
//!
//! Decoding never trusts the item: every problem is a [`CodecError`] naming the attribute.

use crate::aggregate::{Aggregate, GroupKey, MinuteMetrics, MAX_ABS_VALUE};
use crate::minute::Minute;
use crate::rollup::{basis_key, Piece, Resolution};
use crate::service::{validate_metric_name, validate_service_name};
use crate::sketch::Sketch;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, BTreeSet, HashMap};

// Attribute, key and index names are the contract's (the generator creates the table with them).
pub use contract::table::{
    BASIS, METRICS, PARTIAL, PARTITION_KEY as PK, SORT_KEY as SK, SOURCES,
    TIMESTAMP_INDEX as GSI_TIMESTAMP, TTL_ATTRIBUTE, UPDATED_AT, VERSION,
};

/// A malformed sketch or item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Sketch(#[from] crate::sketch::DecodeError),
    #[error("attribute {attribute} is missing")]
    Missing { attribute: String },
    #[error("attribute {attribute} has the wrong type (expected {expected})")]
    WrongType {
        attribute: String,
        expected: &'static str,
    },
    #[error("attribute {attribute} is invalid: {reason}")]
    Invalid { attribute: String, reason: String },
}

/// One metric item as stored: its key, metrics, version and applied sources.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGroup {
    pub key: GroupKey,
    pub metrics: MinuteMetrics,
    /// 0 for an item that does not exist yet.
    pub version: u64,
    pub sources: BTreeSet<String>,
}

impl StoredGroup {
    /// A group that is not in the table yet.
    pub fn empty(key: GroupKey) -> StoredGroup {
        StoredGroup {
            key,
            metrics: MinuteMetrics::default(),
            version: 0,
            sources: BTreeSet::new(),
        }
    }
}

/// Primary key of a group's item.
pub fn key_of(key: &GroupKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.service.clone())),
        (SK.to_owned(), AttributeValue::S(key.minute.key())),
    ])
}

/// Formats a number for an `N` attribute: shortest round-trip form, no exponent.
pub fn number(v: f64) -> String {
    // Values are bounded by MAX_ABS_VALUE, so `{}` stays well inside DynamoDB's 38 digits.
    format!("{v}")
}

/// A time as the stack writes it into the table (`UpdatedAt`, claims, incident keys):
/// RFC 3339 UTC with milliseconds and `Z`. Fixed width for years 0000–9999, so values sort
/// lexicographically in time order (incidents find their latest by sort key).
pub fn time_value(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The `Metrics` attribute: every non-empty aggregate.
fn encode_metrics(metrics: &MinuteMetrics) -> AttributeValue {
    AttributeValue::M(
        metrics
            .0
            .iter()
            .filter(|(_, a)| !a.is_empty())
            .map(|(name, a)| (name.clone(), encode_aggregate(a)))
            .collect(),
    )
}

/// The full item of a group.
pub fn encode_group(group: &StoredGroup) -> HashMap<String, AttributeValue> {
    let mut item = key_of(&group.key);
    item.insert(METRICS.to_owned(), encode_metrics(&group.metrics));
    item.insert(
        VERSION.to_owned(),
        AttributeValue::N(group.version.to_string()),
    );
    if !group.sources.is_empty() {
        item.insert(
            SOURCES.to_owned(),
            AttributeValue::Ss(group.sources.iter().cloned().collect()),
        );
    }
    item.insert(
        UPDATED_AT.to_owned(),
        AttributeValue::S(time_value(chrono::Utc::now())),
    );
    item
}

fn encode_aggregate(a: &Aggregate) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("n".to_owned(), AttributeValue::N(a.count.to_string())),
        ("s".to_owned(), AttributeValue::N(number(a.sum))),
        ("lo".to_owned(), AttributeValue::N(number(a.min))),
        ("hi".to_owned(), AttributeValue::N(number(a.max))),
        (
            "h".to_owned(),
            AttributeValue::B(Blob::new(a.sketch.encode())),
        ),
    ]))
}

fn missing(attribute: &str) -> CodecError {
    CodecError::Missing {
        attribute: attribute.to_owned(),
    }
}

fn wrong(attribute: &str, expected: &'static str) -> CodecError {
    CodecError::WrongType {
        attribute: attribute.to_owned(),
        expected,
    }
}

fn invalid(attribute: &str, reason: impl ToString) -> CodecError {
    CodecError::Invalid {
        attribute: attribute.to_owned(),
        reason: reason.to_string(),
    }
}

fn get<'a>(
    item: &'a HashMap<String, AttributeValue>,
    attribute: &str,
) -> Result<&'a AttributeValue, CodecError> {
    item.get(attribute).ok_or_else(|| missing(attribute))
}

fn get_s<'a>(
    item: &'a HashMap<String, AttributeValue>,
    attribute: &str,
) -> Result<&'a str, CodecError> {
    get(item, attribute)?
        .as_s()
        .map(String::as_str)
        .map_err(|_| wrong(attribute, "S"))
}

fn get_n<'a>(
    item: &'a HashMap<String, AttributeValue>,
    path: &str,
    attribute: &str,
) -> Result<&'a str, CodecError> {
    let full = format!("{path}{attribute}");
    item.get(attribute)
        .ok_or_else(|| missing(&full))?
        .as_n()
        .map(String::as_str)
        .map_err(|_| wrong(&full, "N"))
}

/// Decodes the group's key (`ServiceName`, `Timestamp`) of an item.
pub fn decode_key(item: &HashMap<String, AttributeValue>) -> Result<GroupKey, CodecError> {
    let service = get_s(item, PK)?;
    validate_service_name(service).map_err(|e| invalid(PK, e))?;
    let minute = Minute::parse_key(get_s(item, SK)?).map_err(|e| invalid(SK, e))?;
    Ok(GroupKey {
        service: service.to_owned(),
        minute,
    })
}

/// Decodes a metric item written by [`encode_group`].
pub fn decode_group(item: &HashMap<String, AttributeValue>) -> Result<StoredGroup, CodecError> {
    let key = decode_key(item)?;
    let version = decode_version(item)?;
    let sources = match item.get(SOURCES) {
        None => BTreeSet::new(),
        Some(v) => v
            .as_ss()
            .map_err(|_| wrong(SOURCES, "SS"))?
            .iter()
            .cloned()
            .collect(),
    };
    Ok(StoredGroup {
        key,
        metrics: decode_metrics(item)?,
        version,
        sources,
    })
}

fn decode_version(item: &HashMap<String, AttributeValue>) -> Result<u64, CodecError> {
    let text = get_n(item, "", VERSION)?;
    text.parse::<u64>()
        .map_err(|_| invalid(VERSION, format!("{text:?} is not a count")))
}

fn decode_metrics(item: &HashMap<String, AttributeValue>) -> Result<MinuteMetrics, CodecError> {
    let raw = get(item, METRICS)?
        .as_m()
        .map_err(|_| wrong(METRICS, "M"))?;
    let mut metrics = BTreeMap::new();
    for (name, value) in raw {
        let path = format!("{METRICS}.{name}");
        validate_metric_name(name).map_err(|e| invalid(&path, e))?;
        let fields = value.as_m().map_err(|_| wrong(&path, "M"))?;
        metrics.insert(name.clone(), decode_aggregate(fields, &path)?);
    }
    Ok(MinuteMetrics(metrics))
}

/// One hourly or daily rollup item as stored (layout: docs/design.md "Rollups").
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRollup {
    pub service: String,
    pub piece: Piece,
    /// Empty when `partial`.
    pub metrics: MinuteMetrics,
    /// 0 for a rollup that does not exist yet.
    pub version: u64,
    /// Child offset → the child's `Version` this rollup was computed from.
    pub basis: BTreeMap<i64, u64>,
    /// The merge would pass the item size limit: readers use the children.
    pub partial: bool,
}

/// Primary key of a service's item of `piece` (a minute item or a rollup).
pub fn piece_key(service: &str, piece: Piece) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(service.to_owned())),
        (SK.to_owned(), AttributeValue::S(piece.key())),
    ])
}

/// The full item of a rollup; `expires_at` is its TTL (epoch seconds), if any.
pub fn encode_rollup(
    rollup: &StoredRollup,
    expires_at: Option<i64>,
) -> HashMap<String, AttributeValue> {
    let mut item = piece_key(&rollup.service, rollup.piece);
    let metrics = if rollup.partial {
        AttributeValue::M(HashMap::new())
    } else {
        encode_metrics(&rollup.metrics)
    };
    item.insert(METRICS.to_owned(), metrics);
    item.insert(
        VERSION.to_owned(),
        AttributeValue::N(rollup.version.to_string()),
    );
    item.insert(
        BASIS.to_owned(),
        AttributeValue::M(
            rollup
                .basis
                .iter()
                .map(|(o, v)| (basis_key(*o), AttributeValue::N(v.to_string())))
                .collect(),
        ),
    );
    if rollup.partial {
        item.insert(PARTIAL.to_owned(), AttributeValue::Bool(true));
    }
    if let Some(t) = expires_at {
        item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(t.to_string()));
    }
    item.insert(
        UPDATED_AT.to_owned(),
        AttributeValue::S(time_value(chrono::Utc::now())),
    );
    item
}

/// Decodes an item written by [`encode_rollup`]; the sort key must be a rollup's.
pub fn decode_rollup(item: &HashMap<String, AttributeValue>) -> Result<StoredRollup, CodecError> {
    let service = get_s(item, PK)?;
    validate_service_name(service).map_err(|e| invalid(PK, e))?;
    let sort_key = get_s(item, SK)?;
    let piece = match Resolution::parse_key(sort_key) {
        Some((resolution, start)) if resolution != Resolution::Minute => {
            Piece { resolution, start }
        }
        _ => return Err(invalid(SK, format!("{sort_key:?} is not a rollup key"))),
    };
    let version = decode_version(item)?;
    let raw = get(item, BASIS)?.as_m().map_err(|_| wrong(BASIS, "M"))?;
    let mut basis = BTreeMap::new();
    for (offset, v) in raw {
        let path = format!("{BASIS}.{offset}");
        let o = offset
            .parse::<i64>()
            .ok()
            .filter(|o| (0..piece.resolution.children()).contains(o) && basis_key(*o) == *offset)
            .ok_or_else(|| invalid(&path, "not a child offset"))?;
        let text = v.as_n().map_err(|_| wrong(&path, "N"))?;
        let n = text
            .parse::<u64>()
            .map_err(|_| invalid(&path, format!("{text:?} is not a version")))?;
        basis.insert(o, n);
    }
    let partial = match item.get(PARTIAL) {
        None => false,
        Some(v) => *v.as_bool().map_err(|_| wrong(PARTIAL, "BOOL"))?,
    };
    Ok(StoredRollup {
        service: service.to_owned(),
        piece,
        metrics: decode_metrics(item)?,
        version,
        basis,
        partial,
    })
}

fn decode_aggregate(
    fields: &HashMap<String, AttributeValue>,
    path: &str,
) -> Result<Aggregate, CodecError> {
    let prefix = format!("{path}.");
    let float = |name: &str| -> Result<f64, CodecError> {
        let text = get_n(fields, &prefix, name)?;
        let v = text.parse::<f64>().map_err(|_| {
            invalid(
                &format!("{prefix}{name}"),
                format!("{text:?} is not a number"),
            )
        })?;
        if !v.is_finite() {
            return Err(invalid(&format!("{prefix}{name}"), "not finite"));
        }
        Ok(v)
    };
    let count_text = get_n(fields, &prefix, "n")?;
    let count = count_text.parse::<u64>().map_err(|_| {
        invalid(
            &format!("{prefix}n"),
            format!("{count_text:?} is not a count"),
        )
    })?;
    let (sum, min, max) = (float("s")?, float("lo")?, float("hi")?);
    let h = format!("{prefix}h");
    let blob = fields
        .get("h")
        .ok_or_else(|| missing(&h))?
        .as_b()
        .map_err(|_| wrong(&h, "B"))?;
    let sketch = Sketch::decode(blob.as_ref()).map_err(|e| invalid(&h, e))?;
    if count == 0 {
        return Err(invalid(
            &format!("{prefix}n"),
            "an empty aggregate is never stored",
        ));
    }
    if min > max || min.abs() > MAX_ABS_VALUE || max.abs() > MAX_ABS_VALUE {
        return Err(invalid(
            path,
            format!("min {min} / max {max} are inconsistent"),
        ));
    }
    if sketch.count() != count {
        return Err(invalid(
            &h,
            format!("sketch holds {} values, n says {count}", sketch.count()),
        ));
    }
    Ok(Aggregate {
        count,
        sum,
        min,
        max,
        sketch,
    })
}

#[cfg(test)]
mod tests;
