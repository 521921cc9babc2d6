//! nginx/Apache "combined" (and "common") access log lines, with an optional trailing
//! request time in seconds (nginx `$request_time`, Apache `%T` with a fraction):
//!
//! `127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "ref" "ua" 0.005`
//!
//! Real logs get cut off (a logger's or shipper's line-length limit): a line that still has its
//! time, request and status counts, whatever is missing after the status (bytes, referer, user
//! agent, request time) is ignored, and no request time is read from a cut field. Only a line
//! without time, complete request or status is not an access log line.

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

/// A quoted field starting at some index.
#[derive(Debug, PartialEq, Eq)]
enum Quoted {
    /// Position just past the closing quote.
    End(usize),
    /// Opened but the line ends before it closes.
    Cut,
    /// Not a quote there.
    Absent,
}

/// The quoted field starting at `i`. Apache escapes quotes as `\"`, nginx as `\x22`; both are
/// skipped correctly.
fn quoted(s: &[u8], i: usize) -> Quoted {
    if s.get(i) != Some(&b'"') {
        return Quoted::Absent;
    }
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'\\' => j += 2,
            b'"' => return Quoted::End(j + 1),
            _ => j += 1,
        }
    }
    Quoted::Cut
}

fn quoted_end(s: &[u8], i: usize) -> Option<usize> {
    match quoted(s, i) {
        Quoted::End(j) => Some(j),
        Quoted::Cut | Quoted::Absent => None,
    }
}

/// Nothing but spaces from `i` on: the line was cut there.
fn ends_at(s: &[u8], i: usize) -> bool {
    s.get(i..).unwrap_or_default().iter().all(|b| *b == b' ')
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
    // Cut after the status: the request counts, the rest is unknown.
    let cut = AccessLine {
        ts_ms,
        status,
        latency_ms: None,
    };
    if ends_at(s, i) {
        return Ok(cut);
    }
    let (bytes, mut i) = token(s, i).ok_or(Shape)?;
    if bytes != b"-" && !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Shape);
    }
    // Combined adds quoted referer and user agent; common log format stops here. Either may be
    // cut off, and then so is anything after it.
    if i < s.len() && s[i] == b'"' {
        let after_ref = match quoted(s, i) {
            Quoted::End(j) => j,
            Quoted::Cut | Quoted::Absent => return Ok(cut),
        };
        if ends_at(s, after_ref) {
            return Ok(cut);
        }
        if s[after_ref] != b' ' {
            return Err(Shape);
        }
        i = match quoted(s, after_ref + 1) {
            Quoted::End(j) => j,
            Quoted::Cut => return Ok(cut),
            Quoted::Absent => return Err(Shape),
        };
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

    const FULL: &[u8] = br#"192.0.2.10 - - [29/Nov/2026:18:05:07 +0000] "GET / HTTP/1.1" 503 512 "https://ref.example/a b" "Mozilla/5.0 (X11; Linux x86_64) Firefox/5.0" 0.250"#;

    /// Cut anywhere after the status (a line-length limit), the line still counts with its time
    /// and status, and no request time is read from the cut field (the UA ends in "5.0" and
    /// the referer in "a b" here: read as a request time they would be 5 s, or garbage).
    #[test]
    fn lines_cut_after_the_status_count_without_the_missing_fields() {
        let text = std::str::from_utf8(FULL).unwrap();
        let full = parse(FULL).unwrap();
        assert_eq!(full.latency_ms, Some(250.0));
        let at = |pat: &str| text.find(pat).unwrap_or_else(|| panic!("{pat}"));
        let cuts = [
            ("after the status", at(" 512")),
            ("after the status and a space", at("512")),
            ("in the bytes", at("12 \"https")),
            ("after the bytes", at(" \"https")),
            ("after the bytes and a space", at("\"https")),
            ("at the referer's quote", at("https")),
            ("in the referer", at(" b\" ")),
            ("after the referer", at(" \"Mozilla")),
            ("after the referer and a space", at("\"Mozilla")),
            ("in the user agent", at(" Firefox/5.0")),
            ("in the user agent after 5.0", at(" (X11")),
            ("at the user agent's end", at("\" 0.250")),
        ];
        for (what, n) in cuts {
            let line = &FULL[..n];
            let got = parse(line);
            let want = Ok(AccessLine {
                ts_ms: full.ts_ms,
                status: 503,
                latency_ms: None,
            });
            assert_eq!(got, want, "cut {what}: {}", String::from_utf8_lossy(line));
        }
    }

    /// Without time, complete request or status there is nothing to count.
    #[test]
    fn lines_cut_before_the_status_are_not_access_lines() {
        let text = std::str::from_utf8(FULL).unwrap();
        for pat in ["29/Nov", "+0000]", "HTTP/1.1\"", "\" 503", " 503", "03 512"] {
            let line = &FULL[..text.find(pat).unwrap()];
            assert!(parse(line).is_err(), "{}", String::from_utf8_lossy(line));
        }
        // A closed referer followed by something that is not a quoted user agent is not a cut.
        assert_eq!(
            parse(br#"1.2.3.4 - - [29/Nov/2026:18:05:07 +0000] "GET / HTTP/1.1" 200 1 "r"x"#),
            Err(CombinedError::Shape)
        );
        assert_eq!(
            parse(br#"1.2.3.4 - - [29/Nov/2026:18:05:07 +0000] "GET / HTTP/1.1" 200 1 "r" ua"#),
            Err(CombinedError::Shape)
        );
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
