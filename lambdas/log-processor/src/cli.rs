//! Offline mode: `log-processor --file PATH [--key KEY] [--logs-prefix PREFIX] [--reference-time RFC3339]
//! [--plan-publishing]`. Same pipeline as the Lambda, no AWS access. Aggregates go to stdout as
//! JSON lines, the line counts (one JSON object) to stderr. `--plan-publishing` also plans what
//! the Lambda would publish to CloudWatch for this object if every service were published (as if
//! every group were newly applied, at the reference time) and adds the request and datum counts
//! and the planning time to that object: the benchmark's cost figures.

use crate::pipeline::{process_read, Window};
use std::path::PathBuf;

#[derive(Debug, PartialEq)]
pub struct FileArgs {
    pub path: PathBuf,
    /// Supplies the service for lines without one, as an S3 key would (`logs/<service>/...`).
    pub key: Option<String>,
    /// The stack's `logs_prefix`, under which `key` names a service; default `logs/`.
    pub logs_prefix: String,
    /// Centre of the accepted time window; default: the file's modification time.
    pub reference_ms: Option<i64>,
    /// Plan the CloudWatch publishing of the object (`--plan-publishing`); nothing is sent.
    pub plan_publishing: bool,
}

/// The module's default `logs_prefix`, for `--file` runs that do not name one.
pub const DEFAULT_LOGS_PREFIX: &str = "logs/";

pub const USAGE: &str =
    "usage: log-processor --file PATH [--key logs/<service>/name.log] [--logs-prefix logs/] [--reference-time RFC3339] [--plan-publishing]\n\
     (without arguments it runs as an AWS Lambda function)";

/// `Ok(None)`: no arguments, run as a Lambda function.
pub fn parse_args(args: &[String]) -> Result<Option<FileArgs>, String> {
    if args.is_empty() {
        return Ok(None);
    }
    let (mut path, mut key, mut reference_ms) = (None, None, None);
    let mut plan_publishing = false;
    let mut logs_prefix = DEFAULT_LOGS_PREFIX.to_owned();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--file" => path = Some(PathBuf::from(value()?)),
            "--key" => key = Some(value()?),
            "--logs-prefix" => logs_prefix = value()?,
            "--reference-time" => {
                let v = value()?;
                let ms = crate::timeparse::parse_rfc3339(v.as_bytes()).ok_or_else(|| {
                    format!("--reference-time {v:?} is not an RFC 3339 time with offset")
                })?;
                reference_ms = Some(ms);
            }
            "--plan-publishing" => plan_publishing = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let path = path.ok_or_else(|| format!("--file is required\n{USAGE}"))?;
    Ok(Some(FileArgs {
        path,
        key,
        logs_prefix,
        reference_ms,
        plan_publishing,
    }))
}

pub fn run(args: &FileArgs) -> Result<(), String> {
    let name = args.path.display();
    let file = std::fs::File::open(&args.path).map_err(|e| format!("{name}: {e}"))?;
    let reference_ms = match args.reference_ms {
        Some(ms) => ms,
        None => file
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis())
            .map_err(|e| format!("{name}: {e}"))?,
    };
    let window = Window::around(reference_ms);
    let outcome = process_read(file, args.key.as_deref(), &args.logs_prefix, window)
        .map_err(|e| format!("{name}: {e}"))?;
    crate::output::write_rows(&outcome.batch, std::io::stdout().lock())
        .map_err(|e| format!("stdout: {e}"))?;
    let mut summary = serde_json::json!({
        "file": args.path,
        "bytes": outcome.bytes,
        "gzip": outcome.gzip,
        "groups": outcome.batch.len(),
        "stats": outcome.stats,
    });
    if args.plan_publishing {
        summary["publishing"] = plan_publishing(&outcome.batch, reference_ms.div_euclid(1000));
    }
    eprintln!("{summary}");
    Ok(())
}

/// Every service of the batch published, every group newly applied, at `now`.
fn plan_publishing(batch: &metrics_core::Batch, now: i64) -> serde_json::Value {
    let started = std::time::Instant::now();
    let keys: Vec<metrics_core::GroupKey> = batch.0.keys().cloned().collect();
    let policy = metrics_core::PublishPolicy {
        namespace: contract::service_metrics::namespace("bench"),
        services: keys.iter().map(|k| k.service.clone()).collect(),
        custom_metrics: Vec::new(),
    };
    let plan = metrics_core::publish::plan(batch, &keys, &policy, now);
    let elapsed = started.elapsed();
    serde_json::json!({
        "put_metric_data_requests": plan.requests.len(),
        "datums": plan.datums(),
        "groups_published": plan.groups_published,
        "too_old_for_cloudwatch": plan.too_old_for_cloudwatch,
        "too_new_for_cloudwatch": plan.too_new_for_cloudwatch,
        "plan_ms": elapsed.as_secs_f64() * 1e3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags() {
        assert_eq!(parse_args(&[]), Ok(None));
        assert_eq!(
            parse_args(&args(&[
                "--file",
                "x.log",
                "--key",
                "logs/api/x.log",
                "--reference-time",
                "2026-11-29T18:00:00Z"
            ])),
            Ok(Some(FileArgs {
                path: "x.log".into(),
                key: Some("logs/api/x.log".into()),
                logs_prefix: "logs/".into(),
                reference_ms: Some(1_795_975_200_000),
                plan_publishing: false,
            }))
        );
        assert!(parse_args(&args(&["--key", "k"]))
            .unwrap_err()
            .contains("--file is required"));
        assert!(parse_args(&args(&["--file"]))
            .unwrap_err()
            .contains("--file needs a value"));
        assert!(parse_args(&args(&["--bogus"]))
            .unwrap_err()
            .contains("unknown argument"));
        assert!(
            parse_args(&args(&["--file", "f", "--reference-time", "now"]))
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
