//! The acceptance window of data points, shared by the log processor (log lines) and
//! `POST /metrics` (API points), so that a point one path accepts the other accepts too.
//!
//! A point is accepted when its time lies in `[reference − 14 days, reference + 1 day]`, both
//! edges included ([`Window`]). The reference is the time AWS recorded the data's arrival, never
//! the clock of the function handling it, so a retry hours or days later judges every point the
//! same way: the S3 object's `LastModified` for a log object, the API Gateway request time
//! (`requestContext.requestTimeEpoch` / `timeEpoch`) for a POST.
//!
//! Why these bounds:
//! - **1 day ahead**: a point stamped further ahead comes from a wrong clock (or a typo in the
//!   year); storing it would put data in minutes nobody looks at yet, silently.
//! - **14 days back**: later than any shipping delay we expect. An older point is most likely a
//!   re-upload of archived logs or a typo, and would re-open minutes the dashboards already
//!   show as final. It is also CloudWatch's own horizon: PutMetricData takes data up to two
//!   weeks old, so within the window the table and the services' CloudWatch metrics can agree.

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// How far before the reference a point may lie, in days.
pub const MAX_AGE_DAYS: i64 = 14;
/// How far after the reference a point may lie, in days.
pub const MAX_FUTURE_DAYS: i64 = 1;
/// [`MAX_AGE_DAYS`] in milliseconds.
pub const MAX_AGE_MS: i64 = MAX_AGE_DAYS * DAY_MS;
/// [`MAX_FUTURE_DAYS`] in milliseconds.
pub const MAX_FUTURE_MS: i64 = MAX_FUTURE_DAYS * DAY_MS;

/// Accepted point times, epoch milliseconds: `[reference − MAX_AGE_MS, reference + MAX_FUTURE_MS]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub earliest_ms: i64,
    pub latest_ms: i64,
}

impl Window {
    /// The window around a reference time (epoch milliseconds).
    pub fn around(reference_ms: i64) -> Window {
        Window {
            earliest_ms: reference_ms.saturating_sub(MAX_AGE_MS),
            latest_ms: reference_ms.saturating_add(MAX_FUTURE_MS),
        }
    }

    /// Edges included.
    pub fn contains(&self, ts_ms: i64) -> bool {
        (self.earliest_ms..=self.latest_ms).contains(&ts_ms)
    }
}

/// The window in words, for error messages and documents.
pub fn describe() -> String {
    format!(
        "from {MAX_AGE_DAYS} days before to {MAX_FUTURE_DAYS} day{} after",
        if MAX_FUTURE_DAYS == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_inclusive() {
        let w = Window::around(1_795_975_500_000);
        assert!(w.contains(1_795_975_500_000 - MAX_AGE_MS));
        assert!(!w.contains(1_795_975_500_000 - MAX_AGE_MS - 1));
        assert!(w.contains(1_795_975_500_000 + MAX_FUTURE_MS));
        assert!(!w.contains(1_795_975_500_000 + MAX_FUTURE_MS + 1));
        assert_eq!(describe(), "from 14 days before to 1 day after");
    }

    #[test]
    fn extreme_references_do_not_overflow() {
        assert!(Window::around(i64::MAX).contains(i64::MAX));
        assert!(Window::around(i64::MIN).contains(i64::MIN));
    }
}
