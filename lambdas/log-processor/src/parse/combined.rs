//! nginx/Apache "combined" (and "common") access log lines, with an optional trailing
//! request time in seconds (nginx `$request_time`, Apache `%T` with a fraction):
//!
//! `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "ref" "ua" 0.005`

use crate::timeparse::parse_clf;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessLine {
    pub ts_ms: i64,
    pub status: u16,
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CombinedError {
    /// The line does not have the access-log shape.
    Shape,
    /// The shape is right but the `[time]` field does not parse.
    Time,
}

/// Position just past the closing quote of a quoted field starting at `i` (which must be `"`).
/// Apache escapes quotes as `\"`, nginx as `\x22`; both are skipped correctly.
fn quoted_end(s: &[u8], i: usize) -> Option<usize> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Next space-separated token starting at `i`; returns (token, index after it and one space).
fn token(s: &[u8], i: usize) -> Option<(&[u8], usize)> {
    let rest = s.get(i..)?;
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    (end > 0).then(|| (&rest[..end], (i + end + 1).min(s.len())))
}

pub fn parse(s: &[u8]) -> Result<AccessLine, CombinedError> {
    use CombinedError::Shape;
    // remote address, identity, user: three tokens, then `[time]`.
    let (_, i) = token(s, 0).ok_or(Shape)?;
    let (_, i) = token(s, i).ok_or(Shape)?;
    let (_, i) = token(s, i).ok_or(Shape)?;
    if s.get(i) != Some(&b'[') {
        return Err(Shape);
    }
    let close = i + memchr::memchr(b']', &s[i..]).ok_or(Shape)?;
    let ts_ms = parse_clf(&s[i + 1..close]).ok_or(CombinedError::Time)?;
    if s.get(close + 1) != Some(&b' ') {
        return Err(Shape);
    }
    let i = quoted_end(s, close + 2).ok_or(Shape)?;
    if s.get(i) != Some(&b' ') {
        return Err(Shape);
    }
    let (status, i) = token(s, i + 1).ok_or(Shape)?;
    let status = match status {
        [a @ b'1'..=b'5', b, c] if b.is_ascii_digit() && c.is_ascii_digit() => {
            (a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16
        }
        _ => return Err(Shape),
    };
    let (bytes, mut i) = token(s, i).ok_or(Shape)?;
    if bytes != b"-" && !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Shape);
    }
    // Combined adds quoted referer and user agent; common log format stops here.
    if i < s.len() && s[i] == b'"' {
        let after_ref = quoted_end(s, i).ok_or(Shape)?;
        if s.get(after_ref) != Some(&b' ') {
            return Err(Shape);
        }
        i = quoted_end(s, after_ref + 1).ok_or(Shape)?;
    }
    // Anything after that is custom; a final numeric token (optionally `rt=`) is the request time.
    let tail = s.get(i..).unwrap_or_default();
    let latency_ms = tail
        .rsplit(|b| *b == b' ')
        .find(|t| !t.is_empty())
        .map(|t| {
            t.strip_prefix(b"rt=")
                .or_else(|| t.strip_prefix(b"request_time="))
                .unwrap_or(t)
        })
        .filter(|t| t.first().is_some_and(u8::is_ascii_digit))
        .and_then(|t| std::str::from_utf8(t).ok()?.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .map(|secs| secs * 1000.0);
    Ok(AccessLine {
        ts_ms,
        status,
        latency_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn apache_docs_combined_example() {
        // From the Apache httpd "Log Files" documentation.
        let line = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        assert_eq!(
            parse(line),
            Ok(AccessLine {
                ts_ms: ms("2000-10-10T13:55:36-07:00"),
                status: 200,
                latency_ms: None
            })
        );
    }

    #[test]
    fn apache_common_log_format() {
        let line = br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        assert_eq!(parse(line).unwrap().status, 200);
    }

    #[test]
    fn nginx_combined_with_request_time() {
        // nginx `log_format combined` plus ` $request_time`; nginx escapes quotes as \x22.
        let line = br#"192.0.2.10 - - [29/Nov/2026:18:05:07 +0000] "POST /api/orders?q=\x22x\x22 HTTP/1.1" 502 157 "-" "curl/8.5.0" 0.250"#;
        let p = parse(line).unwrap();
        assert_eq!(p.ts_ms, ms("2026-11-29T18:05:07Z"));
        assert_eq!(p.status, 502);
        assert_eq!(p.latency_ms, Some(250.0));
        // `-` for bytes, an escaped quote in the user agent (Apache style), rt= prefix.
        let line = br#"::1 - - [29/Nov/2026:18:05:07 +0100] "GET / HTTP/2.0" 304 - "-" "say \"hi\"" "10.0.0.1" rt=1.5"#;
        let p = parse(line).unwrap();
        assert_eq!(p.status, 304);
        assert_eq!(p.latency_ms, Some(1500.0));
    }

    #[test]
    fn not_access_logs() {
        assert_eq!(parse(b"hello world"), Err(CombinedError::Shape));
        assert_eq!(
            parse(b"2026-11-29 18:05:07 INFO started"),
            Err(CombinedError::Shape)
        );
        assert_eq!(
            parse(br#"1.2.3.4 - - [29/Nov/2026:18:05:07 +0000] "GET /" 2000 1"#),
            Err(CombinedError::Shape)
        );
        assert_eq!(
            parse(br#"1.2.3.4 - - [29/Nov/2026:18:05:07 +0000] "GET / 200 1"#),
            Err(CombinedError::Shape)
        );
        assert_eq!(
            parse(br#"1.2.3.4 - - [31/Feb/2026:18:05:07 +0000] "GET /" 200 1"#),
            Err(CombinedError::Time)
        );
    }
}
