//! Hand-written timestamp parsers for the hot path (no allocation, no chrono).
//! All results are milliseconds since the Unix epoch, UTC.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    let mut v = 0u32;
    for &b in part {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u32;
    }
    Some(v)
}

/// Validated calendar fields to epoch milliseconds.
#[allow(clippy::too_many_arguments)]
fn to_millis(
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
    offset_min: i64,
) -> Option<i64> {
    // Second 60 is a leap second; it lands in the next minute, as in most loggers.
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + (h as i64) * 3600 + (mi as i64) * 60 + s as i64 - offset_min * 60;
    Some(secs * 1000 + ms as i64)
}

/// RFC 3339 / ISO 8601 date-time: `YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|±HH:MM|±HHMM)`.
/// A missing offset is rejected: a local time without a zone cannot be placed in a UTC minute.
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || s[13] != b':' || s[16] != b':' {
        return None;
    }
    if !matches!(s[10], b'T' | b't' | b' ') {
        return None;
    }
    let y = digits(s, 0, 4)? as i64;
    let mo = digits(s, 5, 2)?;
    let d = digits(s, 8, 2)?;
    let h = digits(s, 11, 2)?;
    let mi = digits(s, 14, 2)?;
    let sec = digits(s, 17, 2)?;
    let mut i = 19;
    let mut ms = 0u32;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            // Keep millisecond precision; further digits only need to be digits.
            if i - start < 3 {
                ms = ms * 10 + (s[i] - b'0') as u32;
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..3 {
            ms *= 10;
        }
    }
    let offset_min: i64 = match s.get(i) {
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2)? as i64;
            let om = match s.len() - (i + 3) {
                3 if s[i + 3] == b':' => digits(s, i + 4, 2)?,
                2 => digits(s, i + 3, 2)?,
                _ => return None,
            } as i64;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 60 + om;
            if sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    to_millis(y, mo, d, h, mi, sec, ms, offset_min)
}

/// Common/combined log time: `10/Oct/2000:13:55:36 -0700`.
pub fn parse_clf(s: &[u8]) -> Option<i64> {
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[20] != b' ' {
        return None;
    }
    let d = digits(s, 0, 2)?;
    let mo = match &s[3..6] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let y = digits(s, 7, 4)? as i64;
    if s[14] != b':' || s[17] != b':' {
        return None;
    }
    let h = digits(s, 12, 2)?;
    let mi = digits(s, 15, 2)?;
    let sec = digits(s, 18, 2)?;
    let sign = s[21];
    let oh = digits(s, 22, 2)? as i64;
    let om = digits(s, 24, 2)? as i64;
    let off = match sign {
        b'+' => oh * 60 + om,
        b'-' => -(oh * 60 + om),
        _ => return None,
    };
    to_millis(y, mo, d, h, mi, sec, 0, off)
}

/// Epoch number: seconds or milliseconds, told apart by magnitude. 1e11 seconds is the
/// year 5138 and 1e11 milliseconds is 1973, so no plausible log time is ambiguous.
pub fn epoch_to_millis(v: f64) -> Option<i64> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let ms = if v >= 1e11 { v } else { v * 1000.0 };
    if ms >= 1e15 {
        // Beyond year 33658: microseconds or nanoseconds are not supported.
        return None;
    }
    Some(ms.floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn rfc3339_variants_match_chrono() {
        for s in [
            "2026-11-29T18:05:00Z",
            "2026-11-29T18:05:07.123Z",
            "2026-11-29T18:05:07.123456789Z",
            "2026-11-29T18:05:07.1Z",
            "2026-11-29T18:05:07+02:00",
            "2026-11-29T18:05:07.5-07:30",
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2000-03-01T00:00:00+14:00",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), Some(chrono_ms(s)), "{s}");
        }
        assert_eq!(
            parse_rfc3339(b"2026-11-29 18:05:00z"),
            Some(chrono_ms("2026-11-29T18:05:00Z"))
        );
        assert_eq!(
            parse_rfc3339(b"2026-11-29T18:05:00+0200"),
            Some(chrono_ms("2026-11-29T18:05:00+02:00"))
        );
    }

    #[test]
    fn rfc3339_rejects_bad_input() {
        for s in [
            "2026-11-29T18:05:00",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-29T24:00:00Z",
            "2026-11-29T18:60:00Z",
            "2026-11-29T18:05:00.Z",
            "2026-11-29T18:05:00Zjunk",
            "2026-11-29T18:05:00+2:00",
            "2026/11/29T18:05:00Z",
            "yesterday",
            "",
        ] {
            assert_eq!(parse_rfc3339(s.as_bytes()), None, "{s}");
        }
    }

    #[test]
    fn clf_time() {
        // The example from the Apache log documentation.
        assert_eq!(
            parse_clf(b"10/Oct/2000:13:55:36 -0700"),
            Some(chrono_ms("2000-10-10T13:55:36-07:00"))
        );
        assert_eq!(
            parse_clf(b"29/Nov/2026:18:05:07 +0000"),
            Some(chrono_ms("2026-11-29T18:05:07Z"))
        );
        assert_eq!(parse_clf(b"10/Foo/2000:13:55:36 -0700"), None);
        assert_eq!(parse_clf(b"10/Oct/2000:13:55:36"), None);
    }

    #[test]
    fn epoch_seconds_and_millis() {
        assert_eq!(epoch_to_millis(1_795_543_507.0), Some(1_795_543_507_000));
        assert_eq!(epoch_to_millis(1_795_543_507.25), Some(1_795_543_507_250));
        assert_eq!(
            epoch_to_millis(1_795_543_507_123.0),
            Some(1_795_543_507_123)
        );
        assert_eq!(epoch_to_millis(-1.0), None);
        assert_eq!(epoch_to_millis(f64::NAN), None);
        assert_eq!(epoch_to_millis(1e18), None);
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_roundtrips_any_instant(ms in 0i64..32_503_680_000_000) {
            let dt = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let s = dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            proptest::prop_assert_eq!(parse_rfc3339(s.as_bytes()), Some(ms));
        }
    }
}
