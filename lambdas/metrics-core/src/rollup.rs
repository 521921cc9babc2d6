//! Hourly and daily rollups: what they are keyed by, and which items answer an interval.
//!
//! A rollup is the merge of its children (an hour of minute items, a day of hourly rollups),
//! stored beside the minute items in the same table under its own sort-key form
//! ([`Resolution::key`]). It is recomputed from the committed children after every write
//! (`store::rollup`), so it inherits their exactly-once guarantees instead of keeping a source list
//! of its own. Everything here is pure.

use crate::minute::Minute;
use chrono::{DateTime, SecondsFormat, Utc};
pub use contract::table::{DAY_ROLLUP_PREFIX, HOUR_ROLLUP_PREFIX};

pub const MINUTE_SECONDS: i64 = 60;
pub const HOUR_SECONDS: i64 = 3_600;
pub const DAY_SECONDS: i64 = 86_400;

/// The resolutions the table holds, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    pub const fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => MINUTE_SECONDS,
            Resolution::Hour => HOUR_SECONDS,
            Resolution::Day => DAY_SECONDS,
        }
    }

    /// The resolution a rollup of this one is computed from (`None` for minutes).
    pub const fn child(self) -> Option<Resolution> {
        match self {
            Resolution::Minute => None,
            Resolution::Hour => Some(Resolution::Minute),
            Resolution::Day => Some(Resolution::Hour),
        }
    }

    /// The rollup this resolution's items are merged into (`None` for days).
    pub const fn parent(self) -> Option<Resolution> {
        match self {
            Resolution::Minute => Some(Resolution::Hour),
            Resolution::Hour => Some(Resolution::Day),
            Resolution::Day => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Resolution::Minute => "minute",
            Resolution::Hour => "hour",
            Resolution::Day => "day",
        }
    }

    /// Start of the item of this resolution holding `t` (epoch seconds).
    pub fn floor(self, t: i64) -> i64 {
        t - t.rem_euclid(self.seconds())
    }

    /// The sort key of the item starting at `start` (a multiple of [`Resolution::seconds`]):
    /// `2026-11-29T18:05:00Z`, `PT1H#2026-11-29T18:00:00Z`, `P1D#2026-11-29T00:00:00Z`.
    pub fn key(self, start: i64) -> String {
        match self {
            Resolution::Minute => Minute::from_epoch_seconds(start).key(),
            Resolution::Hour => format!("{HOUR_ROLLUP_PREFIX}{}", rfc3339(start)),
            Resolution::Day => format!("{DAY_ROLLUP_PREFIX}{}", rfc3339(start)),
        }
    }

    /// Reads a sort key back: its resolution and start. Minute keys go through
    /// [`Minute::parse_key`]; a rollup key must be exactly what [`Resolution::key`] writes.
    pub fn parse_key(key: &str) -> Option<(Resolution, i64)> {
        let rollup = |res: Resolution, rest: &str| {
            let t = DateTime::parse_from_rfc3339(rest).ok()?.timestamp();
            (res.floor(t) == t && res.key(t) == key).then_some((res, t))
        };
        if let Some(rest) = key.strip_prefix(HOUR_ROLLUP_PREFIX) {
            rollup(Resolution::Hour, rest)
        } else if let Some(rest) = key.strip_prefix(DAY_ROLLUP_PREFIX) {
            rollup(Resolution::Day, rest)
        } else {
            Minute::parse_key(key)
                .ok()
                .map(|m| (Resolution::Minute, m.epoch_seconds()))
        }
    }

    /// How many children one item of this resolution has (60 minutes, 24 hours).
    pub fn children(self) -> i64 {
        self.child().map_or(0, |c| self.seconds() / c.seconds())
    }
}

fn rfc3339(epoch: i64) -> String {
    DateTime::<Utc>::from_timestamp(epoch, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// The offset of a child inside its parent, as the `Basis` map keys it: `"05"`.
pub fn basis_key(offset: i64) -> String {
    format!("{offset:02}")
}

/// One item of the cover of an interval: `resolution`'s item starting at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Piece {
    pub resolution: Resolution,
    pub start: i64,
}

impl Piece {
    pub fn end(&self) -> i64 {
        self.start + self.resolution.seconds()
    }

    pub fn key(&self) -> String {
        self.resolution.key(self.start)
    }

    /// The pieces this one is the merge of (what a reader uses when the rollup is partial).
    pub fn children(&self) -> Vec<Piece> {
        let Some(child) = self.resolution.child() else {
            return Vec::new();
        };
        (0..self.resolution.children())
            .map(|i| Piece {
                resolution: child,
                start: self.start + i * child.seconds(),
            })
            .collect()
    }
}

/// The fewest items that exactly cover `[from, to)` (minute boundaries): minutes up to the
/// first hour boundary, hours up to the first day boundary, whole days, then hours and minutes
/// again. Ascending. An interval whose edges lie on day boundaries is days only.
pub fn cover(from: i64, to: i64) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut t = Resolution::Minute.floor(from);
    let to = Resolution::Minute.floor(to + MINUTE_SECONDS - 1);
    while t < to {
        // The coarsest resolution whose item starts at t and ends by `to`.
        let resolution = [Resolution::Day, Resolution::Hour, Resolution::Minute]
            .into_iter()
            .find(|r| r.floor(t) == t && t + r.seconds() <= to)
            .unwrap_or(Resolution::Minute);
        out.push(Piece {
            resolution,
            start: t,
        });
        t += resolution.seconds();
    }
    out
}

/// Consecutive pieces of one resolution: one key-range Query of a service's items each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub resolution: Resolution,
    /// First item's start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

impl Run {
    pub fn first_key(&self) -> String {
        self.resolution.key(self.start)
    }

    pub fn last_key(&self) -> String {
        self.resolution.key(self.end - self.resolution.seconds())
    }
}

/// Groups ascending pieces into runs of adjacent pieces of one resolution.
pub fn runs(pieces: &[Piece]) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for p in pieces {
        match out.last_mut() {
            Some(run) if run.resolution == p.resolution && run.end == p.start => run.end = p.end(),
            _ => out.push(Run {
                resolution: p.resolution,
                start: p.start,
                end: p.end(),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY0: i64 = 1_795_910_400; // 2026-11-29T00:00:00Z

    #[test]
    fn keys_round_trip_and_never_sort_among_minutes() {
        for (res, t, key) in [
            (
                Resolution::Minute,
                DAY0 + 18 * 3600 + 300,
                "2026-11-29T18:05:00Z",
            ),
            (
                Resolution::Hour,
                DAY0 + 18 * 3600,
                "PT1H#2026-11-29T18:00:00Z",
            ),
            (Resolution::Day, DAY0, "P1D#2026-11-29T00:00:00Z"),
        ] {
            assert_eq!(res.key(t), key);
            assert_eq!(Resolution::parse_key(key), Some((res, t)));
        }
        // A rollup key is above every minute key (years 0000-9999) and is not a minute.
        for rollup in ["PT1H#0000-01-01T00:00:00Z", "P1D#0000-01-01T00:00:00Z"] {
            assert!(rollup > "9999-12-31T23:59:00Z");
            assert!(Minute::parse_key(rollup).is_err());
        }
        // Not what `key` writes: refused.
        for bad in [
            "PT1H#2026-11-29T18:05:00Z",
            "P1D#2026-11-29T01:00:00Z",
            "PT1H#2026-11-29T18:00:00+00:00",
            "P1D#",
        ] {
            assert_eq!(Resolution::parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn cover_uses_the_coarsest_items_that_fit() {
        let day = cover(DAY0, DAY0 + 3 * DAY_SECONDS);
        assert_eq!(day.len(), 3);
        assert!(day.iter().all(|p| p.resolution == Resolution::Day));

        // 13:27 -> next day 02:10: 33 minutes, 10 hours, 2 hours, 10 minutes.
        let from = DAY0 + 13 * 3600 + 27 * 60;
        let to = DAY0 + DAY_SECONDS + 2 * 3600 + 10 * 60;
        let pieces = cover(from, to);
        let count = |r| pieces.iter().filter(|p| p.resolution == r).count();
        assert_eq!(count(Resolution::Minute), 33 + 10);
        assert_eq!(count(Resolution::Hour), 10 + 2);
        assert_eq!(count(Resolution::Day), 0);
        // Exact cover: contiguous, from `from` to `to`.
        assert_eq!(pieces.first().unwrap().start, from);
        assert_eq!(pieces.last().unwrap().end(), to);
        assert!(pieces.windows(2).all(|w| w[0].end() == w[1].start));
        // Minutes, the 12 adjacent hours across midnight, minutes.
        assert_eq!(runs(&pieces).len(), 3);
    }

    #[test]
    fn children_cover_their_parent() {
        let day = Piece {
            resolution: Resolution::Day,
            start: DAY0,
        };
        let hours = day.children();
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[23].end(), day.end());
        assert_eq!(hours[0].children().len(), 60);
        assert!(hours[0].children()[0].children().is_empty());
        assert_eq!(basis_key(5), "05");
    }
}
