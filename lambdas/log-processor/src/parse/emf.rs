//! CloudWatch Embedded Metric Format: every metric declared under
//! `_aws.CloudWatchMetrics[].Metrics[].Name` takes its value (a number or an array of
//! numbers) from the root member of the same name; `_aws.Timestamp` is epoch milliseconds.
//! EMF lines are rare next to request logs, so this path uses `serde_json::Value`.

use crate::rejects::Reason;
use serde_json::Value;

/// Standard metrics the processor derives itself; an EMF metric may not reuse these names.
pub const RESERVED: [&str; 3] = ["requests", "errors", "latency_ms"];

/// Root members that name the service, in priority order.
const SERVICE_KEYS: [&str; 5] = ["service", "service_name", "ServiceName", "Service", "app"];

#[derive(Debug, Clone, PartialEq)]
pub struct EmfLine {
    pub ts_ms: i64,
    pub service: Option<String>,
    /// (metric name, values), each name once.
    pub metrics: Vec<(String, Vec<f64>)>,
}

pub fn parse(line: &[u8]) -> Result<EmfLine, Reason> {
    let root: Value = serde_json::from_slice(line).map_err(|_| Reason::InvalidJson)?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or(Reason::BadEmf)?;
    let ts_ms = match aws.get("Timestamp") {
        None | Some(Value::Null) => return Err(Reason::NoTimestamp),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(ms) if ms >= 0 => ms,
            _ => return Err(Reason::BadTimestamp),
        },
        Some(_) => return Err(Reason::BadTimestamp),
    };
    let service = match SERVICE_KEYS
        .iter()
        .find_map(|k| root.get(*k).filter(|v| !v.is_null()))
    {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Reason::WrongType),
    };
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or(Reason::BadEmf)?;
    let mut metrics: Vec<(String, Vec<f64>)> = Vec::new();
    for d in directives {
        let defs = d
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or(Reason::BadEmf)?;
        for def in defs {
            let name = def
                .get("Name")
                .and_then(Value::as_str)
                .ok_or(Reason::BadEmf)?;
            if metrics.iter().any(|(n, _)| n == name) {
                // Declared in several directives (different dimension sets): one value.
                continue;
            }
            if metrics_core::service::validate_metric_name(name).is_err()
                || RESERVED.contains(&name)
            {
                return Err(Reason::BadEmf);
            }
            let values = match root.get(name) {
                Some(Value::Number(n)) => vec![n.as_f64().ok_or(Reason::BadEmf)?],
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|v| v.as_f64().ok_or(Reason::BadEmf))
                    .collect::<Result<_, _>>()?,
                _ => return Err(Reason::BadEmf),
            };
            metrics.push((name.to_string(), values));
        }
    }
    if metrics.is_empty() {
        return Err(Reason::BadEmf);
    }
    Ok(EmfLine {
        ts_ms,
        service,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_specification_example() {
        // Shape of the example in the CloudWatch EMF specification.
        let line = br#"{"_aws":{"Timestamp":1574109732004,"CloudWatchMetrics":[{"Namespace":"lambda-function-metrics","Dimensions":[["functionVersion"]],"Metrics":[{"Name":"time","Unit":"Milliseconds","StorageResolution":60}]}]},"functionVersion":"$LATEST","time":100,"requestId":"989ffbf8-9ace-4817-a57c-e4dd734019ee"}"#;
        let e = parse(line).unwrap();
        assert_eq!(e.ts_ms, 1_574_109_732_004);
        assert_eq!(e.service, None);
        assert_eq!(e.metrics, vec![("time".to_string(), vec![100.0])]);
    }

    #[test]
    fn service_dimension_arrays_and_duplicates() {
        let line = br#"{"_aws":{"Timestamp":1795543507000,"CloudWatchMetrics":[{"Namespace":"shop","Dimensions":[["ServiceName"]],"Metrics":[{"Name":"ProcessingLatency","Unit":"Milliseconds"},{"Name":"CartSize"}]},{"Namespace":"shop","Dimensions":[[]],"Metrics":[{"Name":"CartSize"}]}]},"ServiceName":"cart","ProcessingLatency":[12,15.5,3],"CartSize":4}"#;
        let e = parse(line).unwrap();
        assert_eq!(e.service.as_deref(), Some("cart"));
        assert_eq!(
            e.metrics,
            vec![
                ("ProcessingLatency".into(), vec![12.0, 15.5, 3.0]),
                ("CartSize".into(), vec![4.0])
            ]
        );
    }

    #[test]
    fn malformed_emf() {
        let cases: [(&[u8], Reason); 8] = [
            (br#"{"_aws":1}"#, Reason::BadEmf),
            (br#"{"_aws":{"CloudWatchMetrics":[]}}"#, Reason::NoTimestamp),
            (br#"{"_aws":{"Timestamp":"soon","CloudWatchMetrics":[]}}"#, Reason::BadTimestamp),
            (br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"m"}]}]}}"#, Reason::BadEmf),
            (br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"m"}]}]},"m":"7"}"#, Reason::BadEmf),
            (br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"bad name"}]}]},"bad name":1}"#, Reason::BadEmf),
            (br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"requests"}]}]},"requests":1}"#, Reason::BadEmf),
            (br#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Metrics":[{"Name":"m"}]}]},"m":1,"service":7}"#, Reason::WrongType),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line), Err(want), "{}", String::from_utf8_lossy(line));
        }
    }
}
