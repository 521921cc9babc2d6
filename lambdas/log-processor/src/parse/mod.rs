//! One line in, one record (or the reason it was skipped) out. The format is detected
//! per line: `{` starts JSON (EMF when it has `_aws`), anything else is tried as an
//! access log line.

pub mod combined;
pub mod emf;
pub mod json;

use crate::rejects::Reason;
use crate::timeparse::{epoch_to_millis, parse_rfc3339};
use json::{Field, Raw};
use metrics_core::aggregate::MAX_ABS_VALUE;
use std::borrow::Cow;

/// A request-shaped line: counts towards `requests`, maybe `errors` and `latency_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    pub ts_ms: i64,
    /// From the line; `None` means "take it from the key". Not yet validated.
    pub service: Option<Cow<'a, str>>,
    pub error: bool,
    pub latency_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record<'a> {
    Request(Request<'a>),
    Emf(emf::EmfLine),
}

/// Parses one line (without its newline). Blank lines are the caller's business.
pub fn parse_line(line: &[u8]) -> Result<Record<'_>, Reason> {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(line.len());
    let line = &line[start..];
    // ASCII is checked word-at-a-time; only other lines pay for full UTF-8 validation.
    let line = if line.is_ascii() {
        line
    } else {
        match std::str::from_utf8(line) {
            Ok(_) => line,
            // Cut inside a multi-byte character (a line-length limit): the rest is text.
            Err(e) if e.error_len().is_none() => &line[..e.valid_up_to()],
            Err(_) => return Err(Reason::Binary),
        }
    };
    if line.first() == Some(&b'{') {
        // A NUL can only hide inside a string here; it is harmless to the fields we read.
        return parse_json(line);
    }
    if memchr::memchr(0, line).is_some() {
        return Err(Reason::Binary);
    }
    match combined::parse(line) {
        Ok(a) => Ok(Record::Request(Request {
            ts_ms: a.ts_ms,
            service: None,
            error: a.status >= 500,
            latency_ms: check_latency(a.latency_ms)?,
        })),
        Err(combined::CombinedError::Time) => Err(Reason::BadTimestamp),
        Err(combined::CombinedError::Shape)
            if line.iter().any(|b| b.is_ascii_control() && *b != b'\t') =>
        {
            Err(Reason::Binary)
        }
        Err(combined::CombinedError::Shape) => Err(Reason::UnknownFormat),
    }
}

fn parse_json(line: &[u8]) -> Result<Record<'_>, Reason> {
    let f = json::scan(line).map_err(|_| Reason::InvalidJson)?;
    if f.get(Field::Emf).is_some() {
        return emf::parse(line).map(Record::Emf);
    }
    let error = match f.get(Field::Status) {
        None | Some(Raw::Null) => false,
        Some(v) => status(v)? >= 500,
    } || match f.get(Field::Level) {
        None | Some(Raw::Null) => false,
        Some(v) => level_is_error(v)?,
    };
    let latency_ms = match f.get(Field::Latency) {
        None | Some(Raw::Null) => None,
        Some(v) => check_latency(Some(number(v)?))?,
    };
    let ts_ms = match f.get(Field::Timestamp) {
        None | Some(Raw::Null) => return Err(Reason::NoTimestamp),
        Some(v) => timestamp(v)?,
    };
    let service = match f.get(Field::Service) {
        None | Some(Raw::Null) => None,
        Some(v) => Some(text(v)?),
    };
    Ok(Record::Request(Request {
        ts_ms,
        service,
        error,
        latency_ms,
    }))
}

/// String contents; the line was checked to be UTF-8 before scanning.
fn text(v: Raw<'_>) -> Result<Cow<'_, str>, Reason> {
    match v {
        Raw::Str {
            raw,
            escaped: false,
        } => std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| Reason::Binary),
        Raw::Str { raw, escaped: true } => json::decode_str(raw)
            .map(Cow::Owned)
            .ok_or(Reason::InvalidJson),
        _ => Err(Reason::WrongType),
    }
}

/// A number, or a string holding one (nginx `escape=json` log formats quote every variable).
fn number(v: Raw<'_>) -> Result<f64, Reason> {
    let t = match v {
        Raw::Num(t) => t,
        Raw::Str {
            raw,
            escaped: false,
        } if !raw.is_empty() => raw,
        _ => return Err(Reason::WrongType),
    };
    std::str::from_utf8(t)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .ok_or(Reason::WrongType)
}

fn check_latency(v: Option<f64>) -> Result<Option<f64>, Reason> {
    match v {
        Some(x) if !(x.is_finite() && (0.0..=MAX_ABS_VALUE).contains(&x)) => Err(Reason::BadValue),
        v => Ok(v),
    }
}

fn status(v: Raw<'_>) -> Result<u16, Reason> {
    // Fast path: three plain digits, as nearly every status is written.
    if let Raw::Num(&[a, b, c])
    | Raw::Str {
        raw: &[a, b, c],
        escaped: false,
    } = v
    {
        if let (b'1'..=b'5', b'0'..=b'9', b'0'..=b'9') = (a, b, c) {
            return Ok((a - b'0') as u16 * 100 + (b - b'0') as u16 * 10 + (c - b'0') as u16);
        }
    }
    let x = number(v)?;
    if x.fract() != 0.0 || !(100.0..=599.0).contains(&x) {
        return Err(Reason::BadValue);
    }
    Ok(x as u16)
}

/// ERROR/FATAL/CRITICAL and their usual spellings (syslog names included), any case;
/// numeric levels follow pino/bunyan, where 50 is error and 60 fatal.
fn level_is_error(v: Raw<'_>) -> Result<bool, Reason> {
    if let Raw::Num(_) = v {
        return Ok(number(v)? >= 50.0);
    }
    let t = text(v)?;
    const ERRORS: [&str; 9] = [
        "error",
        "err",
        "fatal",
        "critical",
        "crit",
        "alert",
        "emerg",
        "emergency",
        "panic",
    ];
    Ok(ERRORS.iter().any(|e| t.eq_ignore_ascii_case(e)))
}

fn timestamp(v: Raw<'_>) -> Result<i64, Reason> {
    match v {
        Raw::Num(_) => epoch_to_millis(number(v)?).ok_or(Reason::BadTimestamp),
        Raw::Str {
            raw,
            escaped: false,
        } => parse_rfc3339(raw)
            .or_else(|| {
                // An epoch number written as a string.
                let t = std::str::from_utf8(raw).ok()?;
                if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    epoch_to_millis(t.parse().ok()?)
                } else {
                    None
                }
            })
            .ok_or(Reason::BadTimestamp),
        Raw::Str { .. } => {
            let t = text(v)?;
            parse_rfc3339(t.as_bytes()).ok_or(Reason::BadTimestamp)
        }
        _ => Err(Reason::WrongType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    fn req(line: &str) -> Request<'_> {
        match parse_line(line.as_bytes()) {
            Ok(Record::Request(r)) => r,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn json_variants_and_aliases() {
        let r = req(
            r#"{"timestamp":"2026-11-29T18:05:07.123Z","service":"checkout","level":"INFO","latency_ms":42.5,"status":200,"msg":"ok"}"#,
        );
        assert_eq!(
            r,
            Request {
                ts_ms: ms("2026-11-29T18:05:07.123Z"),
                service: Some("checkout".into()),
                error: false,
                latency_ms: Some(42.5)
            }
        );
        // pino: numeric level, epoch-millis `time`, `app` for the service.
        let r = req(
            r#"{"level":50,"time":1795543507123,"pid":1,"hostname":"h","app":"payments","msg":"boom"}"#,
        );
        assert_eq!(
            (r.ts_ms, r.service.as_deref(), r.error, r.latency_ms),
            (1_795_543_507_123, Some("payments"), true, None)
        );
        // Logstash/ECS-ish `@timestamp`, `severity`, `duration_ms`, `status_code`.
        let r = req(
            r#"{"@timestamp":"2026-11-29T18:05:07+01:00","service_name":"web","severity":"Critical","duration_ms":"7","status_code":"201"}"#,
        );
        assert_eq!(
            (r.ts_ms, r.error, r.latency_ms),
            (ms("2026-11-29T17:05:07Z"), true, Some(7.0))
        );
        // Epoch seconds in `ts` (zap), `response_time_ms`, status 503 is an error; no service.
        let r = req(r#"{"ts":1795543507.5,"response_time_ms":0,"status":503}"#);
        assert_eq!(
            (r.ts_ms, r.service, r.error, r.latency_ms),
            (1_795_543_507_500, None, true, Some(0.0))
        );
        // Escaped service name is decoded.
        let r = req(r#"  {"ts":"1795543507","service":"chec\u006bout","level":null}"#);
        assert_eq!(
            (r.ts_ms, r.service.as_deref(), r.error),
            (1_795_543_507_000, Some("checkout"), false)
        );
    }

    #[test]
    fn every_line_level_reason() {
        let cases: [(&[u8], Reason); 14] = [
            (br#"{"ts":1795543507,"service":"a""#, Reason::InvalidJson),
            (b"\x00\x01\x02\xff\xfe binary", Reason::Binary),
            (b"PK\x03\x04\x14\x00\x06\x00", Reason::Binary),
            (br#"{"ts":"yesterday","service":"a"}"#, Reason::BadTimestamp),
            (
                br#"{"ts":"2026-11-29T18:05:07","service":"a"}"#,
                Reason::BadTimestamp,
            ),
            (br#"{"service":"a","msg":"no time"}"#, Reason::NoTimestamp),
            (br#"{"ts":true,"service":"a"}"#, Reason::WrongType),
            (br#"{"ts":1795543507,"service":7}"#, Reason::WrongType),
            (
                br#"{"ts":1795543507,"latency_ms":"fast"}"#,
                Reason::WrongType,
            ),
            (br#"{"ts":1795543507,"status":[500]}"#, Reason::WrongType),
            (br#"{"ts":1795543507,"latency_ms":-3}"#, Reason::BadValue),
            (br#"{"ts":1795543507,"status":1234}"#, Reason::BadValue),
            (
                br#"{"_aws":{"Timestamp":1795543507000,"CloudWatchMetrics":[]}}"#,
                Reason::BadEmf,
            ),
            (
                b"Nov 29 18:05:07 host app[12]: started",
                Reason::UnknownFormat,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_line(line),
                Err(want),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn access_log_lines() {
        let r = req(
            r#"203.0.113.9 - - [29/Nov/2026:18:05:07 +0000] "GET /health HTTP/1.1" 500 12 "-" "kube-probe/1.29" 0.012"#,
        );
        assert_eq!(
            (r.ts_ms, r.service, r.error, r.latency_ms),
            (ms("2026-11-29T18:05:07Z"), None, true, Some(12.0))
        );
        assert_eq!(
            parse_line(br#"203.0.113.9 - - [29/Nov/2026:25:05:07 +0000] "GET / HTTP/1.1" 200 1"#),
            Err(Reason::BadTimestamp)
        );
    }

    #[test]
    fn emf_lines_are_detected() {
        let line = br#"{"_aws":{"Timestamp":1795543507000,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["service"]],"Metrics":[{"Name":"QueueDepth"}]}]},"service":"worker","QueueDepth":17}"#;
        match parse_line(line) {
            Ok(Record::Emf(e)) => {
                assert_eq!(e.metrics, vec![("QueueDepth".to_string(), vec![17.0])])
            }
            other => panic!("{other:?}"),
        }
    }
}
