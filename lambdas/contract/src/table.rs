//! The metric table as both sides see it: the generator creates it with these names, the
//! functions (and test-support's local table) read and write it by them.
//!
//! Item layout and key semantics: docs/design.md "Data contract"; the codec is
//! `metrics_core::codec`.

/// The table is `<name_prefix>-<TABLE_SUFFIX>`.
pub const TABLE_SUFFIX: &str = "ApplicationMetrics";
/// Partition key (S): the service name, or `#kind#id` for the stack's reserved items.
pub const PARTITION_KEY: &str = "ServiceName";
/// Sort key (S): the minute start, `YYYY-MM-DDTHH:MM:00Z`.
pub const SORT_KEY: &str = "Timestamp";
/// Global secondary index with the keys inverted (hash = [`SORT_KEY`], range = [`PARTITION_KEY`],
/// all attributes projected): every service of one minute.
pub const TIMESTAMP_INDEX: &str = "TimestampIndex";
/// TTL attribute (N, epoch seconds) of reserved items; metric items never carry it.
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
