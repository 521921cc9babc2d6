//! One-minute aggregation buckets.
//!
//! A [`Minute`] is epoch seconds floored to a multiple of 60, limited to years 0000–9999 so that
//! its key (`YYYY-MM-DDTHH:MM:00Z`, the table's sort key) always has the same width and sorts
//! lexicographically in time order.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::fmt;

/// Start of a one-minute bucket, in epoch seconds (always a multiple of 60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Minute(i64);

/// `0000-01-01T00:00:00Z`
const MIN_SECONDS: i64 = -62_167_219_200;
/// `9999-12-31T23:59:00Z`
const MAX_SECONDS: i64 = 253_402_300_740;

/// A sort key that is not a strict `YYYY-MM-DDTHH:MM:00Z` minute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid minute {input:?}: {reason} (expected YYYY-MM-DDTHH:MM:00Z, e.g. 2026-11-29T18:05:00Z)"
)]
pub struct MinuteParseError {
    pub input: String,
    pub reason: &'static str,
}

impl Minute {
    /// Earliest representable minute, `0000-01-01T00:00:00Z`.
    pub const MIN: Minute = Minute(MIN_SECONDS);
    /// Latest representable minute, `9999-12-31T23:59:00Z`.
    pub const MAX: Minute = Minute(MAX_SECONDS);

    /// The minute containing `secs`; saturates at [`Minute::MIN`]/[`Minute::MAX`].
    pub fn from_epoch_seconds(secs: i64) -> Minute {
        let secs = secs.clamp(MIN_SECONDS, MAX_SECONDS);
        Minute(secs - secs.rem_euclid(60))
    }

    /// The minute containing `millis` (epoch milliseconds); saturates like [`Minute::from_epoch_seconds`].
    pub fn from_epoch_millis(millis: i64) -> Minute {
        Self::from_epoch_seconds(millis.div_euclid(1000))
    }

    /// The minute containing `t`; saturates like [`Minute::from_epoch_seconds`].
    pub fn from_datetime(t: DateTime<Utc>) -> Minute {
        Self::from_epoch_seconds(t.timestamp())
    }

    /// The current minute.
    pub fn now() -> Minute {
        Self::from_datetime(Utc::now())
    }

    /// Parses a strict sort key `YYYY-MM-DDTHH:MM:00Z`.
    pub fn parse_key(s: &str) -> Result<Minute, MinuteParseError> {
        let err = |reason| MinuteParseError {
            input: s.chars().take(64).collect(),
            reason,
        };
        let b = s.as_bytes();
        if b.len() != 20 {
            return Err(err("wrong length"));
        }
        let layout_ok = b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'Z';
        if !layout_ok {
            return Err(err("wrong separators"));
        }
        let num = |from: usize, to: usize| -> Result<u32, MinuteParseError> {
            b[from..to].iter().try_fold(0u32, |acc, &c| {
                if c.is_ascii_digit() {
                    Ok(acc * 10 + u32::from(c - b'0'))
                } else {
                    Err(err("non-digit in a number field"))
                }
            })
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if second != 0 {
            return Err(err("seconds must be 00"));
        }
        if hour > 23 || minute > 59 {
            return Err(err("hour or minute out of range"));
        }
        let date =
            NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(|| err("no such date"))?;
        let secs = date
            .and_hms_opt(hour, minute, 0)
            .ok_or_else(|| err("no such time"))?
            .and_utc()
            .timestamp();
        Ok(Minute(secs))
    }

    /// The sort key, e.g. `2026-11-29T18:05:00Z`.
    pub fn key(&self) -> String {
        self.to_string()
    }

    /// Epoch seconds of the bucket's start.
    pub fn epoch_seconds(&self) -> i64 {
        self.0
    }

    /// The bucket's start as a `DateTime`.
    pub fn to_datetime(&self) -> DateTime<Utc> {
        // In range by construction; the fallback is unreachable but keeps this panic-free.
        DateTime::from_timestamp(self.0, 0).unwrap_or_default()
    }

    /// The following minute (saturating at [`Minute::MAX`]).
    pub fn next(&self) -> Minute {
        self.add_minutes(1)
    }

    /// `n` minutes later (earlier when negative), saturating at the bounds.
    pub fn add_minutes(&self, n: i64) -> Minute {
        Minute(self.0.saturating_add(n.saturating_mul(60))).clamp(Self::MIN, Self::MAX)
    }
}

impl fmt::Display for Minute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.to_datetime();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:00Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

impl std::str::FromStr for Minute {
    type Err = MinuteParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Minute::parse_key(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn floors_and_formats() {
        let m = Minute::from_epoch_seconds(1_796_321_159); // 2026-12-03T18:05:59Z
        assert_eq!(m.epoch_seconds(), 1_796_321_100);
        assert_eq!(m.key(), "2026-12-03T18:05:00Z");
        assert_eq!(Minute::from_epoch_millis(1_796_321_159_999), m);
        assert_eq!(Minute::from_epoch_seconds(-1).key(), "1969-12-31T23:59:00Z");
        assert_eq!(Minute::from_epoch_millis(-1).key(), "1969-12-31T23:59:00Z");
        assert_eq!(m.next().key(), "2026-12-03T18:06:00Z");
        assert_eq!(m.add_minutes(-6).key(), "2026-12-03T17:59:00Z");
        assert_eq!(
            m.add_minutes(90).epoch_seconds() - m.epoch_seconds(),
            90 * 60
        );
        let dt = DateTime::parse_from_rfc3339("2026-11-29T18:05:42.5+01:00").unwrap();
        assert_eq!(
            Minute::from_datetime(dt.with_timezone(&Utc)).key(),
            "2026-11-29T17:05:00Z"
        );
    }

    #[test]
    fn bounds() {
        assert_eq!(Minute::MIN.key(), "0000-01-01T00:00:00Z");
        assert_eq!(Minute::MAX.key(), "9999-12-31T23:59:00Z");
        assert_eq!(Minute::from_epoch_seconds(i64::MAX), Minute::MAX);
        assert_eq!(Minute::from_epoch_seconds(i64::MIN), Minute::MIN);
        assert_eq!(Minute::from_epoch_millis(i64::MIN), Minute::MIN);
        assert_eq!(Minute::MAX.next(), Minute::MAX);
        assert_eq!(Minute::MIN.add_minutes(i64::MIN), Minute::MIN);
    }

    #[test]
    fn parse_is_strict() {
        let m = Minute::parse_key("2026-11-29T18:05:00Z").unwrap();
        assert_eq!(m.key(), "2026-11-29T18:05:00Z");
        for bad in [
            "",
            "2026-11-29T18:05:01Z",
            "2026-11-29T18:05:00",
            "2026-11-29T18:05:00+00:00",
            "2026-11-29 18:05:00Z",
            "2026-02-30T18:05:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T18:60:00Z",
            "2026-1a-29T18:05:00Z",
            "2026-11-29T18:05:00z",
            "+026-11-29T18:05:00Z",
            "2026-11-29T18:05:00.000Z",
            "２026-11-29T18:05:00",
        ] {
            assert!(Minute::parse_key(bad).is_err(), "{bad}");
        }
        let e = Minute::parse_key("2026-11-29T18:05:30Z")
            .unwrap_err()
            .to_string();
        assert!(e.contains("seconds must be 00"), "{e}");
    }

    proptest! {
        #[test]
        fn key_round_trips_and_sorts(a in MIN_SECONDS..=MAX_SECONDS + 59, b in MIN_SECONDS..=MAX_SECONDS + 59) {
            let (ma, mb) = (Minute::from_epoch_seconds(a), Minute::from_epoch_seconds(b));
            prop_assert_eq!(Minute::parse_key(&ma.key()).unwrap(), ma);
            prop_assert_eq!(ma.key().cmp(&mb.key()), ma.cmp(&mb));
            prop_assert_eq!(ma.epoch_seconds() % 60, 0);
            prop_assert!(ma.epoch_seconds() <= a && a - ma.epoch_seconds() < 60);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = Minute::parse_key(&s);
        }
    }
}
