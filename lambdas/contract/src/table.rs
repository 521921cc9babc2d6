//! The metric table as both sides see it: the generator creates it with these names, the
//! functions (and test-support's local table) read and write it by them.
//!
//! Item layout and key semantics: docs/design.md "Data contract"; the codec is
//! `metrics_core::codec`.

/// The table is `<name_prefix>-<TABLE_SUFFIX>`.
pub const TABLE_SUFFIX: &str = "ApplicationMetrics";
/// Partition key (S): the service name, or `#kind#id` for the stack's reserved items.
pub const PARTITION_KEY: &str = "ServiceName";
/// Sort key (S): the minute start, `YYYY-MM-DDTHH:MM:00Z`; or a rollup's
/// ([`HOUR_ROLLUP_PREFIX`], [`DAY_ROLLUP_PREFIX`]).
pub const SORT_KEY: &str = "Timestamp";
/// Global secondary index with the keys inverted (hash = [`SORT_KEY`], range = [`PARTITION_KEY`],
/// all attributes projected): every service of one minute.
pub const TIMESTAMP_INDEX: &str = "TimestampIndex";
/// TTL attribute (N, epoch seconds) of reserved items, and of metric items and rollups when the
/// module sets a retention (`metric_retention_days`).
pub const TTL_ATTRIBUTE: &str = "ExpiresAt";

/// Non-key attributes of a metric item.
pub const METRICS: &str = "Metrics";
pub const VERSION: &str = "Version";
pub const SOURCES: &str = "Sources";
pub const UPDATED_AT: &str = "UpdatedAt";

/// The table's name under a name prefix.
pub fn table_name(name_prefix: &str) -> String {
    format!("{name_prefix}-{TABLE_SUFFIX}")
}

/// Sort-key prefix of an hourly rollup item (`PT1H#2026-11-29T18:00:00Z`), an ISO 8601 duration.
/// Every minute key starts with a digit and `'P'` sorts after `'9'`, so no range of minute keys
/// ever includes a rollup, and a rollup key never parses as a minute.
pub const HOUR_ROLLUP_PREFIX: &str = "PT1H#";
/// Sort-key prefix of a daily rollup item (`P1D#2026-11-29T00:00:00Z`).
pub const DAY_ROLLUP_PREFIX: &str = "P1D#";
/// Rollup attribute (M): child offset (`"05"`: minute of the hour, or hour of the day) → the
/// `Version` of the child item the rollup was computed from.
pub const BASIS: &str = "Basis";
/// Rollup attribute (BOOL, present only when true): the merged metrics would pass DynamoDB's
/// item size, so the item holds none and readers use its children instead.
pub const PARTIAL: &str = "Partial";

/// Fewest days a resolution may be kept (module variable `metric_retention_days`; environment
/// [`crate::env::MINUTE_RETENTION_DAYS`] and its siblings). A write may land anywhere in the
/// acceptance window (14 days back) and then recomputes its hour from the hour's minutes and its
/// day from the day's hours, which reach one more day back; those children must still exist.
/// One more day covers the TTL's timing (items expire at the end of their interval + the
/// retention, and DynamoDB deletes them some time later).
pub const MIN_RETENTION_DAYS: u32 = crate::acceptance::MAX_AGE_DAYS as u32 + 2;
/// Most days (100 years): beyond that, keep for ever (no TTL).
pub const MAX_RETENTION_DAYS: u32 = 36_500;
