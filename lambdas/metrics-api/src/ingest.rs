//! Parses and validates a `POST /metrics` body into data points. Accepted
//! shapes: one point `{service, timestamp, metrics}`, `{points: [...]}`, or
//! a bare array of points. A metric value is a number or an array of numbers
//! (several observations, e.g. latencies, in the same point).

use contract::acceptance::{self, Window};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use metrics_core::aggregate::{check_value, validate_metric_name, Batch, GroupKey};
use metrics_core::service::validate_service_name;
use metrics_core::store::atomic::MAX_ATOMIC_GROUPS;
use metrics_core::Minute;

use crate::error::ApiError;
use crate::query::{parse_time, rfc3339, rfc3339_ms};

pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Longest `Idempotency-Key`, in characters.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Where the point is in the body (`points[3]`, `[3]`, or `""` for a lone point), for errors.
    pub at: String,
    pub service: String,
    /// Epoch seconds.
    pub timestamp: i64,
    /// Metric name and its observations.
    pub metrics: Vec<(String, Vec<f64>)>,
}

impl Point {
    pub fn values(&self) -> usize {
        self.metrics.iter().map(|(_, v)| v.len()).sum()
    }
}

/// The exactly-once source id for a request: `api:<sha256(key)>`, so a
/// retried POST with the same `Idempotency-Key` is applied once. Hashing
/// keeps arbitrary client strings out of table keys.
pub fn source_id(key: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(ApiError::param(
            "Idempotency-Key",
            format!(
                "Idempotency-Key must be 1..={MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"
            ),
        ));
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(format!("api:{hex}")))
}

/// What a 400's `field` says when the body as a whole is at fault (empty, not JSON, not points).
pub const WHOLE_BODY: &str = "body";

/// Parses a body already known to be within the size limit. Every point's timestamp must lie in
/// `window` (`contract::acceptance`, around the request's time), as log lines must.
pub fn parse_body(body: &[u8], window: &Window) -> Result<Vec<Point>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::body(
            Some(WHOLE_BODY.into()),
            "request body is empty; expected JSON data points",
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::body(
            Some(WHOLE_BODY.into()),
            format!("body is not valid JSON: {e}"),
        )
    })?;
    let (items, prefix) = match value {
        Value::Array(items) => (items, String::new()),
        Value::Object(mut obj) if obj.contains_key("points") => {
            if let Some(extra) = obj.keys().find(|k| k.as_str() != "points") {
                return Err(ApiError::body(
                    Some(extra.clone()),
                    "unknown field beside points",
                ));
            }
            match obj.remove("points") {
                Some(Value::Array(items)) => (items, "points".to_owned()),
                _ => {
                    return Err(ApiError::body(
                        Some("points".into()),
                        "points must be an array",
                    ))
                }
            }
        }
        Value::Object(obj) => return Ok(vec![parse_point(obj, "", window)?]),
        _ => {
            return Err(ApiError::body(
                Some(WHOLE_BODY.into()),
                "expected a point object, {\"points\": [...]}, or an array of points",
            ))
        }
    };
    if items.is_empty() {
        let field = if prefix.is_empty() {
            WHOLE_BODY.to_owned()
        } else {
            prefix
        };
        return Err(ApiError::body(Some(field), "no data points"));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{prefix}[{i}]");
            match item {
                Value::Object(obj) => parse_point(obj, &at, window),
                _ => Err(ApiError::body(Some(at), "a data point must be an object")),
            }
        })
        .collect()
}

fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn parse_point(mut obj: Map<String, Value>, at: &str, window: &Window) -> Result<Point, ApiError> {
    if let Some(extra) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "service" | "timestamp" | "metrics"))
    {
        return Err(ApiError::body(
            Some(path(at, extra)),
            "unknown field; a point has service, timestamp and metrics",
        ));
    }
    let service = match obj.remove("service") {
        Some(Value::String(s)) => {
            validate_service_name(&s)
                .map_err(|e| ApiError::body(Some(path(at, "service")), e.to_string()))?;
            s
        }
        Some(_) => {
            return Err(ApiError::body(
                Some(path(at, "service")),
                "service must be a string",
            ))
        }
        None => {
            return Err(ApiError::body(
                Some(path(at, "service")),
                "service is required",
            ))
        }
    };
    let ts_field = path(at, "timestamp");
    let timestamp = match obj.remove("timestamp") {
        Some(Value::String(s)) => {
            parse_time(&s).map_err(|m| ApiError::body(Some(ts_field.clone()), m))?
        }
        Some(Value::Number(n)) => n
            .as_i64()
            .map(|t| t.to_string())
            .ok_or_else(|| "epoch seconds must be a whole number".to_owned())
            .and_then(|t| parse_time(&t))
            .map_err(|m| ApiError::body(Some(ts_field.clone()), m))?,
        Some(_) => {
            return Err(ApiError::body(
                Some(ts_field),
                "timestamp must be RFC 3339 or epoch seconds",
            ))
        }
        None => return Err(ApiError::body(Some(ts_field), "timestamp is required")),
    };
    // parse_time bounds the epoch to 0..=9999-12-31, so the product cannot overflow.
    if !window.contains(timestamp * 1000) {
        return Err(ApiError::body(Some(ts_field), outside(timestamp, window)));
    }
    let metrics_field = path(at, "metrics");
    let metrics = match obj.remove("metrics") {
        Some(Value::Object(m)) if !m.is_empty() => m,
        Some(Value::Object(_)) => {
            return Err(ApiError::body(Some(metrics_field), "metrics is empty"))
        }
        Some(_) => {
            return Err(ApiError::body(
                Some(metrics_field),
                "metrics must be an object of name: number",
            ))
        }
        None => return Err(ApiError::body(Some(metrics_field), "metrics is required")),
    };
    let mut out = Vec::with_capacity(metrics.len());
    for (name, value) in metrics {
        let field = path(&metrics_field, &name);
        validate_metric_name(&name)
            .map_err(|e| ApiError::body(Some(field.clone()), e.to_string()))?;
        let values = match value {
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| number(v, &field))
                .collect::<Result<Vec<_>, _>>()?,
            Value::Array(_) => return Err(ApiError::body(Some(field), "no values")),
            v => vec![number(&v, &field)?],
        };
        out.push((name, values));
    }
    Ok(Point {
        at: at.to_owned(),
        service,
        timestamp,
        metrics: out,
    })
}

/// The 400 message of a timestamp outside the acceptance window: the value and the bounds.
fn outside(timestamp: i64, window: &Window) -> String {
    format!(
        "timestamp {} is outside the accepted window [{}, {}]: points are accepted {} the request's time",
        rfc3339(timestamp),
        rfc3339_ms(window.earliest_ms),
        rfc3339_ms(window.latest_ms),
        acceptance::describe(),
    )
}

fn number(v: &Value, field: &str) -> Result<f64, ApiError> {
    let n = v.as_f64().ok_or_else(|| {
        ApiError::body(Some(field.to_owned()), format!("value {v} is not a number"))
    })?;
    check_value(n).map_err(|e| ApiError::body(Some(field.to_owned()), e.to_string()))
}

/// Groups validated points into the per-(service, minute) aggregates the
/// store merges. Values were checked already, so `record` accepts them all.
pub fn to_batch(points: &[Point]) -> Batch {
    let mut batch = Batch::new();
    for p in points {
        let minute = Minute::from_epoch_seconds(p.timestamp);
        for (metric, values) in &p.metrics {
            for v in values {
                batch.record(&p.service, minute, metric, *v);
            }
        }
    }
    batch
}

/// A request's points as the store writes them: one transaction, so at most
/// [`MAX_ATOMIC_GROUPS`] (service, minute) groups.
#[derive(Debug)]
pub struct Write {
    pub batch: Batch,
    /// The first point of each group, so a store refusal can name a field.
    first_point: std::collections::BTreeMap<GroupKey, String>,
    /// Digest of the canonical body ([`body_digest`]).
    pub body_digest: String,
    /// The earliest point, epoch seconds.
    pub earliest: i64,
}

impl Write {
    /// The body path of the first point writing into `key` (`points` when unknown).
    pub fn field_of(&self, key: &GroupKey) -> String {
        self.first_point
            .get(key)
            .cloned()
            .unwrap_or_else(|| "points".to_owned())
    }
}

/// Groups `points` for the store; a point that opens one group too many is a 400 naming it.
pub fn to_write(points: &[Point]) -> Result<Write, ApiError> {
    let mut first_point = std::collections::BTreeMap::new();
    for p in points {
        let key = GroupKey::new(p.service.clone(), Minute::from_epoch_seconds(p.timestamp));
        if !first_point.contains_key(&key) {
            if first_point.len() == MAX_ATOMIC_GROUPS {
                return Err(ApiError::body(
                    Some(p.at.clone()),
                    format!(
                        "this point's (service, minute) is group {} of the request; a request is \
                         applied whole in one DynamoDB transaction and may touch at most \
                         {MAX_ATOMIC_GROUPS} (service, minute) groups: split it",
                        MAX_ATOMIC_GROUPS + 1
                    ),
                ));
            }
            first_point.insert(key, p.at.clone());
        }
    }
    Ok(Write {
        batch: to_batch(points),
        first_point,
        body_digest: body_digest(points),
        earliest: points.iter().map(|p| p.timestamp).min().unwrap_or(0),
    })
}

/// SHA-256 (hex) of the body's canonical form: what "the same body" means for an
/// `Idempotency-Key`. The canonical form is the sorted list of observations
/// `[service, epoch seconds, metric, value]`, as JSON, so the body's shape (one point, `points`,
/// an array), key order, whitespace, the split of observations over points, the timestamp's
/// form (RFC 3339 with any offset, or epoch seconds) and the number's spelling (`1`, `1.0`,
/// `1e0`) do not matter; only the data does.
pub fn body_digest(points: &[Point]) -> String {
    // The value's bits after `+ 0.0`, so -0 and 0 are one value; the order is total.
    let mut obs: Vec<(&str, i64, &str, u64)> = points
        .iter()
        .flat_map(|p| {
            p.metrics.iter().flat_map(move |(name, values)| {
                values.iter().map(move |v| {
                    (
                        p.service.as_str(),
                        p.timestamp,
                        name.as_str(),
                        (v + 0.0).to_bits(),
                    )
                })
            })
        })
        .collect();
    obs.sort_unstable();
    let canonical: Vec<(&str, i64, &str, f64)> = obs
        .into_iter()
        .map(|(s, t, m, bits)| (s, t, m, f64::from_bits(bits)))
        .collect();
    // Serialising strings, integers and finite floats cannot fail.
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request time of the tests: 2026-11-29T19:00:05.123Z.
    const REQUEST_MS: i64 = 1_795_978_805_123;

    fn window() -> Window {
        Window::around(REQUEST_MS)
    }

    fn parse(body: &str) -> Result<Vec<Point>, ApiError> {
        parse_body(body.as_bytes(), &window())
    }

    fn err_field(body: &str) -> Option<String> {
        parse(body).unwrap_err().field
    }

    #[test]
    fn accepts_single_wrapped_and_array_forms() {
        let one = r#"{"service":"checkout","timestamp":"2026-11-29T18:05:10Z","metrics":{"requests":1,"latency_ms":[12.5,80]}}"#;
        let p = parse(one).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].timestamp, 1_795_975_510);
        assert_eq!(p[0].values(), 3);

        let wrapped = format!(r#"{{"points":[{one},{one}]}}"#);
        assert_eq!(parse(&wrapped).unwrap().len(), 2);
        let array = format!("[{one}]");
        assert_eq!(parse(&array).unwrap().len(), 1);
        let epoch = r#"{"service":"a","timestamp":1795975510,"metrics":{"x":1}}"#;
        assert_eq!(parse(epoch).unwrap()[0].timestamp, 1_795_975_510);
    }

    #[test]
    fn errors_point_at_the_offending_field() {
        let ok = r#""timestamp":"2026-11-29T18:05:10Z","metrics":{"x":1}"#;
        assert_eq!(
            err_field(&format!(r#"{{"service":"a b",{ok}}}"#)),
            Some("service".into())
        );
        assert_eq!(
            err_field(
                r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:10Z","metrics":{"x":"fast"}}]}"#
            ),
            Some("points[0].metrics.x".into())
        );
        assert_eq!(
            err_field(r#"[{"service":"a","timestamp":"soon","metrics":{"x":1}}]"#),
            Some("[0].timestamp".into())
        );
        assert_eq!(
            err_field(r#"{"service":"a","timestamp":1.5,"metrics":{"x":1}}"#),
            Some("timestamp".into())
        );
        assert_eq!(
            err_field(r#"{"service":"a","timestamp":1795978805,"metrics":{}}"#),
            Some("metrics".into())
        );
        assert_eq!(
            err_field(r#"{"service":"a","timestamp":1795978805,"metrics":{"x":1},"extra":1}"#),
            Some("extra".into())
        );
        assert_eq!(err_field(r#"{"points":[]}"#), Some("points".into()));
        assert_eq!(err_field("{not json").as_deref(), Some(WHOLE_BODY));
        assert_eq!(err_field("42").as_deref(), Some(WHOLE_BODY));
        assert_eq!(err_field("").as_deref(), Some(WHOLE_BODY));
        assert_eq!(err_field("[]").as_deref(), Some(WHOLE_BODY));
    }

    /// The window is `contract::acceptance`'s around the request's time, edges included, and
    /// the message gives the bounds.
    #[test]
    fn timestamps_must_lie_in_the_acceptance_window() {
        let point = |t: i64| format!(r#"{{"service":"a","timestamp":{t},"metrics":{{"x":1}}}}"#);
        let w = window();
        let first = w.earliest_ms.div_euclid(1000) + 1; // the earliest whole second inside
        let last = w.latest_ms.div_euclid(1000);
        assert!(parse(&point(first)).is_ok());
        assert!(parse(&point(last)).is_ok());
        let e = parse(&point(first - 1)).unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("timestamp")));
        assert_eq!(
            e.message,
            "timestamp 2026-11-15T19:00:05Z is outside the accepted window \
             [2026-11-15T19:00:05.123Z, 2026-11-30T19:00:05.123Z]: points are accepted \
             from 14 days before to 1 day after the request's time"
        );
        assert!(parse(&point(last + 1)).is_err());
        // A typo in the year, as RFC 3339.
        let typo = r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:00Z","metrics":{"x":1}},
            {"service":"a","timestamp":"2062-11-29T18:05:00Z","metrics":{"x":1}}]}"#;
        assert_eq!(err_field(typo), Some("points[1].timestamp".into()));
        // Whole epoch seconds on a millisecond reference: the edges are inclusive.
        let exact = Window::around(1_795_978_805_000);
        let at = |t: i64| parse_body(point(t).as_bytes(), &exact);
        assert!(at(1_795_978_805 - 14 * 86_400).is_ok());
        assert!(at(1_795_978_805 + 86_400).is_ok());
        assert!(at(1_795_978_805 - 14 * 86_400 - 1).is_err());
        assert!(at(1_795_978_805 + 86_400 + 1).is_err());
    }

    /// The same data is the same body whatever its JSON spelling; any other data is not.
    #[test]
    fn the_body_digest_is_of_the_canonical_form() {
        let digest = |body: &str| body_digest(&parse(body).unwrap());
        let base = digest(
            r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:10Z","metrics":{"x":1,"y":[2.5,3]}},
                          {"service":"b","timestamp":1795975510,"metrics":{"x":-0.0}}]}"#,
        );
        for same in [
            // Other shape, key order, whitespace, number spelling, timestamp forms, point order.
            r#"[{"metrics":{"y":[3.0,2.5],"x":1.0},"timestamp":"2026-11-29T19:05:10+01:00","service":"a"},
                {"service":"b","timestamp":"1795975510","metrics":{"x":0}}]"#,
            r#"[{"service":"b","timestamp":1795975510,"metrics":{"x":0e0}},
                {"service":"a","timestamp":1795975510,"metrics":{"x":10e-1}},
                {"service":"a","timestamp":1795975510,"metrics":{"y":[25e-1,3]}}]"#,
        ] {
            assert_eq!(digest(same), base, "{same}");
        }
        for other in [
            r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:10Z","metrics":{"x":1,"y":[2.5,3,3]}},
                          {"service":"b","timestamp":1795975510,"metrics":{"x":0}}]}"#,
            r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:11Z","metrics":{"x":1,"y":[2.5,3]}},
                          {"service":"b","timestamp":1795975510,"metrics":{"x":0}}]}"#,
            r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:10Z","metrics":{"x":1,"y":[2.5,3.0000001]}},
                          {"service":"b","timestamp":1795975510,"metrics":{"x":0}}]}"#,
            r#"{"points":[{"service":"a","timestamp":"2026-11-29T18:05:10Z","metrics":{"x":1,"z":[2.5,3]}},
                          {"service":"b","timestamp":1795975510,"metrics":{"x":0}}]}"#,
        ] {
            assert_ne!(digest(other), base, "{other}");
        }
    }

    /// One transaction holds 100 items, one of them the idempotency record: the point that
    /// opens group 100 is named.
    #[test]
    fn a_request_touches_at_most_99_groups() {
        let point = |i: usize| serde_json::json!({"service": format!("s{i}"), "timestamp": REQUEST_MS / 1000, "metrics": {"x": 1}});
        let mut points: Vec<Value> = (0..MAX_ATOMIC_GROUPS).map(point).collect();
        // More points in groups already open are fine.
        points.push(point(0));
        let body = serde_json::json!({ "points": points }).to_string();
        let w = to_write(&parse(&body).unwrap()).unwrap();
        assert_eq!(w.batch.0.len(), MAX_ATOMIC_GROUPS);
        assert_eq!(w.field_of(w.batch.0.keys().next().unwrap()), "points[0]");
        points.push(point(MAX_ATOMIC_GROUPS));
        let body = serde_json::json!({ "points": points }).to_string();
        let e = to_write(&parse(&body).unwrap()).unwrap_err();
        assert_eq!((e.status, e.field.as_deref()), (400, Some("points[100]")));
        assert!(e.message.contains("at most 99"), "{}", e.message);
    }

    #[test]
    fn idempotency_key_becomes_a_hashed_source_id() {
        let id = source_id(Some("retry-me")).unwrap().unwrap();
        assert!(id.starts_with("api:") && id.len() == 4 + 64);
        assert_eq!(source_id(Some("retry-me")).unwrap(), Some(id));
        assert_eq!(source_id(None).unwrap(), None);
        assert!(source_id(Some("")).is_err());
        assert!(source_id(Some("has space")).is_err());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Arbitrary bytes and JSON-ish text never panic; failures are 400s.
            #[test]
            fn any_body_parses_or_is_a_400(body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                "[\\[\\]{}\":, a-z0-9.eE+-]{0,120}".prop_map(String::into_bytes),
            ]) {
                if let Err(e) = parse_body(&body, &window()) {
                    prop_assert_eq!(e.status, 400);
                }
            }

            #[test]
            fn valid_points_are_accepted(
                service in "[A-Za-z0-9._-]{1,128}",
                t in (REQUEST_MS - acceptance::MAX_AGE_MS).div_euclid(1000) + 1
                    ..=(REQUEST_MS + acceptance::MAX_FUTURE_MS).div_euclid(1000),
                v in -1e30f64..1e30,
            ) {
                let body = serde_json::json!({"service": service, "timestamp": t, "metrics": {"m": v}});
                let points = parse_body(body.to_string().as_bytes(), &window()).unwrap();
                prop_assert_eq!(points[0].timestamp, t);
                prop_assert_eq!(to_batch(&points).values(), 1);
            }

            /// Any time outside the window is a 400 naming the timestamp, in every body form.
            #[test]
            fn points_outside_the_window_are_refused(
                t in prop_oneof![
                    0i64..(REQUEST_MS - acceptance::MAX_AGE_MS).div_euclid(1000),
                    (REQUEST_MS + acceptance::MAX_FUTURE_MS).div_euclid(1000) + 1..253_402_300_740,
                ],
            ) {
                let p = serde_json::json!({"service": "a", "timestamp": t, "metrics": {"m": 1}});
                let ok = serde_json::json!({"service": "a", "timestamp": REQUEST_MS / 1000, "metrics": {"m": 1}});
                for (body, field) in [
                    (p.clone(), "timestamp".to_owned()),
                    (serde_json::json!({"points": [ok.clone(), p.clone()]}), "points[1].timestamp".to_owned()),
                    (serde_json::json!([ok, ok, p]), "[2].timestamp".to_owned()),
                ] {
                    let e = parse(&body.to_string()).unwrap_err();
                    prop_assert_eq!((e.status, e.field.as_deref()), (400, Some(field.as_str())));
                    prop_assert!(e.message.contains("outside the accepted window"), "{}", e.message);
                }
            }
        }
    }
}
