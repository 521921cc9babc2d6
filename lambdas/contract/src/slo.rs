//! SLO burn-rate alerting, as the Google SRE workbook's "Alerting on SLOs" (multiwindow,
//! multi-burn-rate alerts, https://sre.google/workbook/alerting-on-slos/) defines it: an alert
//! fires when the error rate over a long window *and* over a short window (1/12 of the long one)
//! both exceed `burn_rate` times the error budget rate `1 - target`. The generator writes one
//! metric-math alarm per window and a composite alarm per pair; the runbook executor reads the
//! same windows (from the runbook) to state the burn rates and the budget left.

use serde::{Deserialize, Serialize};

/// One long/short window pair and the burn rate both must exceed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurnWindow {
    pub long_seconds: u32,
    pub short_seconds: u32,
    pub burn_rate: f64,
}

/// Page: 2 % of a 30-day budget in 1 h (14.4), or 5 % in 6 h (6).
pub const PAGE: [BurnWindow; 2] = [
    BurnWindow {
        long_seconds: 3600,
        short_seconds: 300,
        burn_rate: 14.4,
    },
    BurnWindow {
        long_seconds: 6 * 3600,
        short_seconds: 1800,
        burn_rate: 6.0,
    },
];

/// Ticket: 10 % of a 30-day budget in 3 days (1), short window 6 h.
pub const TICKET: [BurnWindow; 1] = [BurnWindow {
    long_seconds: 3 * 24 * 3600,
    short_seconds: 6 * 3600,
    burn_rate: 1.0,
}];

/// Longest window CloudWatch evaluates: period x evaluation periods <= 7 days when the period is
/// an hour or more, else <= 1 day
/// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
pub const MAX_EVALUATION_SECONDS: u32 = 7 * 24 * 3600;
/// See [`MAX_EVALUATION_SECONDS`].
pub const MAX_SUB_HOUR_EVALUATION_SECONDS: u32 = 24 * 3600;

/// Whether CloudWatch can evaluate `period_seconds` x `evaluation_periods` (the period a multiple
/// of 60; 10/20/30 s need high-resolution data, which is never published).
pub fn evaluable(period_seconds: u32, evaluation_periods: u32) -> Result<(), String> {
    if period_seconds == 0 || period_seconds % 60 != 0 {
        return Err(format!(
            "period {period_seconds} s: must be a positive multiple of 60"
        ));
    }
    let total = u64::from(period_seconds) * u64::from(evaluation_periods);
    let max = if period_seconds >= 3600 {
        MAX_EVALUATION_SECONDS
    } else {
        MAX_SUB_HOUR_EVALUATION_SECONDS
    };
    if evaluation_periods == 0 || total > u64::from(max) {
        return Err(format!(
            "period {period_seconds} s x {evaluation_periods} evaluation periods = {total} s: CloudWatch evaluates at most {max} s for this period"
        ));
    }
    Ok(())
}

/// What the runbook of an SLO alert carries, so the executor can state burn rates and the budget
/// left: composite alarm notifications carry no metric and no dimensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloContext {
    /// Availability target in percent, in (0, 100).
    pub target_percent: f64,
    /// The SLO window (the budget's period), in days.
    pub window_days: u32,
    /// The window pairs of this alert (page or ticket).
    pub windows: Vec<BurnWindow>,
}

/// Checks an SLO target (percent) and window (days).
pub fn validate(target_percent: f64, window_days: u32) -> Result<(), String> {
    validate_target(target_percent)?;
    validate_window(window_days)
}

/// An availability target is a percentage strictly between 0 and 100.
pub fn validate_target(target_percent: f64) -> Result<(), String> {
    if target_percent > 0.0 && target_percent < 100.0 {
        Ok(())
    } else {
        Err(format!(
            "target {target_percent}: must be a percentage strictly between 0 and 100"
        ))
    }
}

/// An SLO window is 1 to [`MAX_WINDOW_DAYS`] days.
pub fn validate_window(window_days: u32) -> Result<(), String> {
    if (1..=MAX_WINDOW_DAYS).contains(&window_days) {
        Ok(())
    } else {
        Err(format!(
            "window {window_days} days: must be 1 to {MAX_WINDOW_DAYS}"
        ))
    }
}

/// Longest SLO window: CloudWatch keeps hourly data 455 days, and GetMetricData answers a window
/// in at most 100,800 points; 90 days at a daily period is far inside both.
pub const MAX_WINDOW_DAYS: u32 = 90;

/// Burn rate: the error ratio over the error budget ratio `1 - target`. `None` without requests.
pub fn burn_rate(errors: f64, requests: f64, target_percent: f64) -> Option<f64> {
    (requests > 0.0).then(|| (errors / requests) / (1.0 - target_percent / 100.0))
}

/// Fraction of the window's error budget left (negative once it is overspent). `None` without
/// requests.
pub fn budget_remaining(errors: f64, requests: f64, target_percent: f64) -> Option<f64> {
    burn_rate(errors, requests, target_percent).map(|b| 1.0 - b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbook_numbers() {
        // 99.9 %: a 1.44 % error rate burns 14.4 x the budget rate (0.1 %).
        let b = burn_rate(144.0, 10_000.0, 99.9).unwrap();
        assert!((b - 14.4).abs() < 1e-9, "{b}");
        // Over the window, errors at exactly the budget leave nothing; half leaves half.
        assert!(budget_remaining(10.0, 10_000.0, 99.9).unwrap().abs() < 1e-9);
        assert!((budget_remaining(5.0, 10_000.0, 99.9).unwrap() - 0.5).abs() < 1e-9);
        assert_eq!(burn_rate(1.0, 0.0, 99.9), None);
        for w in PAGE.iter().chain(&TICKET) {
            assert_eq!(w.long_seconds, 12 * w.short_seconds, "short = long / 12");
            evaluable(w.long_seconds, 1).unwrap();
            evaluable(w.short_seconds, 1).unwrap();
        }
    }

    #[test]
    fn evaluation_limits() {
        assert!(evaluable(60, 1440).is_ok());
        assert!(evaluable(60, 1441).is_err());
        assert!(evaluable(3600, 168).is_ok());
        assert!(evaluable(3600, 169).is_err());
        assert!(evaluable(90, 1).is_err());
        assert!(validate(100.0, 30).is_err());
        assert!(validate(0.0, 30).is_err());
        assert!(validate(99.9, 0).is_err());
        assert!(validate(99.9, 30).is_ok());
    }
}
