//! Why a line was skipped. Counted per object and logged once; never fatal.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Starts like JSON (`{`) but is not a complete, valid JSON object.
    InvalidJson,
    /// Not UTF-8, or contains NUL bytes.
    Binary,
    /// Longer than [`crate::lines::MAX_LINE`] bytes.
    TooLong,
    /// A timestamp field that is not RFC 3339 with an offset or epoch seconds/milliseconds.
    BadTimestamp,
    /// No timestamp field at all.
    NoTimestamp,
    /// Outside the accepted window around the object's reference time (see `window`).
    TimestampOutOfRange,
    /// A service name that is not `[A-Za-z0-9._-]{1,128}`.
    BadService,
    /// Neither the line nor the key (`logs/<service>/...`) names a service.
    NoService,
    /// A known field with the wrong JSON type (e.g. `"latency_ms": true`).
    WrongType,
    /// A known field with an impossible value (negative latency, status 1234).
    BadValue,
    /// CloudWatch EMF structure that is malformed (bad `_aws`, metric without value, bad name).
    BadEmf,
    /// Plain text that is neither JSON nor a combined/common access log line.
    UnknownFormat,
    /// A new service once the object already named [`crate::aggregate::MAX_SERVICES`]:
    /// keeps memory bounded when a log puts ids in the service field.
    TooManyServices,
}

impl Reason {
    pub const ALL: [Reason; 13] = [
        Reason::InvalidJson,
        Reason::Binary,
        Reason::TooLong,
        Reason::BadTimestamp,
        Reason::NoTimestamp,
        Reason::TimestampOutOfRange,
        Reason::BadService,
        Reason::NoService,
        Reason::WrongType,
        Reason::BadValue,
        Reason::BadEmf,
        Reason::UnknownFormat,
        Reason::TooManyServices,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidJson => "invalid_json",
            Reason::Binary => "binary",
            Reason::TooLong => "too_long",
            Reason::BadTimestamp => "bad_timestamp",
            Reason::NoTimestamp => "no_timestamp",
            Reason::TimestampOutOfRange => "timestamp_out_of_range",
            Reason::BadService => "bad_service",
            Reason::NoService => "no_service",
            Reason::WrongType => "wrong_type",
            Reason::BadValue => "bad_value",
            Reason::BadEmf => "bad_emf",
            Reason::UnknownFormat => "unknown_format",
            Reason::TooManyServices => "too_many_services",
        }
    }
}

/// Counts per reason, in a fixed array so counting costs nothing on the hot path.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejects {
    counts: [u64; Reason::ALL.len()],
}

impl Rejects {
    pub fn add(&mut self, r: Reason) {
        self.counts[r as usize] += 1;
    }

    pub fn get(&self, r: Reason) -> u64 {
        self.counts[r as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Only the non-zero reasons, for a compact log line.
    pub fn nonzero(&self) -> std::collections::BTreeMap<&'static str, u64> {
        Reason::ALL
            .iter()
            .filter(|r| self.get(**r) > 0)
            .map(|r| (r.as_str(), self.get(*r)))
            .collect()
    }
}

impl Serialize for Rejects {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.nonzero().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_serialises_nonzero_only() {
        let mut r = Rejects::default();
        r.add(Reason::TooLong);
        r.add(Reason::TooLong);
        r.add(Reason::NoService);
        assert_eq!(r.total(), 3);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"no_service":1,"too_long":2}"#
        );
        for (i, reason) in Reason::ALL.iter().enumerate() {
            assert_eq!(
                *reason as usize, i,
                "ALL must list reasons in declaration order"
            );
        }
    }
}
