//! One object's lines -> a [`Batch`] plus counts. Shared by the Lambda handler (chunks
//! from S3) and `--file` (chunks from disk); nothing here does I/O.

use crate::aggregate::{Accumulator, ServiceId};
use crate::event::service_from_key;
use crate::lines::LineHandler;
use crate::parse::{parse_line, Record};
use crate::reader::{CorruptGzip, Decoder};
use crate::rejects::{Reason, Rejects};
use metrics_core::aggregate::Batch;
use serde::Serialize;

/// Accepted timestamps: `[reference - 14 days, reference + 1 day]`, edges included, defined
/// once for logs and API writes (`contract::acceptance`, which says why these bounds). The
/// reference is the object's S3 `LastModified` (a retry days later judges the same lines the
/// same way), or the file's modification time for `--file`.
pub use contract::acceptance::{Window, MAX_AGE_MS, MAX_FUTURE_MS};

/// Line counts of one object.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Every line, blank and rejected ones included.
    pub lines: u64,
    pub accepted: u64,
    pub blank: u64,
    pub rejected: Rejects,
}

pub struct Processor {
    acc: Accumulator,
    window: Window,
    /// Service for lines that name none, or why there is none.
    key_service: Result<ServiceId, Reason>,
    stats: Stats,
}

impl Processor {
    pub fn new(key: Option<&str>, logs_prefix: &str, window: Window) -> Processor {
        let mut acc = Accumulator::new();
        let key_service = match key.and_then(|k| service_from_key(logs_prefix, k)) {
            None => Err(Reason::NoService),
            Some(name) => acc.service_id(name),
        };
        Processor {
            acc,
            window,
            key_service,
            stats: Stats::default(),
        }
    }

    fn service(&mut self, named: Option<&str>) -> Result<ServiceId, Reason> {
        match named {
            Some(name) => self.acc.service_id(name),
            None => self.key_service,
        }
    }

    fn accept(&mut self, line: &[u8]) -> Result<(), Reason> {
        match parse_line(line)? {
            Record::Request(r) => {
                if !self.window.contains(r.ts_ms) {
                    return Err(Reason::TimestampOutOfRange);
                }
                let service = self.service(r.service.as_deref())?;
                self.acc.request(service, r.ts_ms, r.error, r.latency_ms);
            }
            Record::Emf(e) => {
                if !self.window.contains(e.ts_ms) {
                    return Err(Reason::TimestampOutOfRange);
                }
                let service = self.service(e.service.as_deref())?;
                // Checked before recording so that a bad line leaves no partial trace.
                let ok = e
                    .metrics
                    .iter()
                    .flat_map(|(_, vs)| vs)
                    .all(|v| metrics_core::aggregate::check_value(*v).is_ok());
                if !ok {
                    return Err(Reason::BadEmf);
                }
                for (name, values) in &e.metrics {
                    for v in values {
                        self.acc.custom(service, e.ts_ms, name, *v);
                    }
                }
            }
        }
        Ok(())
    }
}

impl LineHandler for Processor {
    #[inline]
    fn line(&mut self, line: &[u8]) {
        self.stats.lines += 1;
        if line.iter().all(|b| matches!(b, b' ' | b'\t')) {
            self.stats.blank += 1;
            return;
        }
        match self.accept(line) {
            Ok(()) => self.stats.accepted += 1,
            Err(r) => self.stats.rejected.add(r),
        }
    }

    fn too_long(&mut self) {
        self.stats.lines += 1;
        self.stats.rejected.add(Reason::TooLong);
    }
}

/// The result of one object.
#[derive(Debug)]
pub struct Outcome {
    pub batch: Batch,
    pub stats: Stats,
    /// Uncompressed bytes.
    pub bytes: u64,
    pub gzip: bool,
}

/// Feed chunks with [`ObjectPipeline::push`], then [`ObjectPipeline::finish`].
pub struct ObjectPipeline {
    decoder: Decoder<Processor>,
}

impl ObjectPipeline {
    /// `key` supplies the service for lines without one (`<logs_prefix><service>/...`).
    pub fn new(key: Option<&str>, logs_prefix: &str, window: Window) -> Self {
        ObjectPipeline {
            decoder: Decoder::new(Processor::new(key, logs_prefix, window)),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CorruptGzip> {
        self.decoder.push(chunk)
    }

    pub fn finish(self) -> Result<Outcome, CorruptGzip> {
        let gzip = self.decoder.is_gzip();
        let splitter = self.decoder.finish()?;
        let p = splitter.handler;
        Ok(Outcome {
            batch: p.acc.into_batch(),
            stats: p.stats,
            bytes: splitter.bytes,
            gzip,
        })
    }
}

/// Reads everything from `r` in 1 MiB chunks (the `--file` path and tests).
pub fn process_read(
    mut r: impl std::io::Read,
    key: Option<&str>,
    logs_prefix: &str,
    window: Window,
) -> std::io::Result<Outcome> {
    let mut p = ObjectPipeline::new(key, logs_prefix, window);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        p.push(&buf[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    }
    p.finish()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::MAX_LINE;

    const REF: i64 = 1_795_975_500_000; // 2026-11-29T18:05:00Z

    fn run(key: Option<&str>, chunks: &[&[u8]]) -> Outcome {
        run_under("logs/", key, chunks)
    }

    fn run_under(logs_prefix: &str, key: Option<&str>, chunks: &[&[u8]]) -> Outcome {
        let mut p = ObjectPipeline::new(key, logs_prefix, Window::around(REF));
        for c in chunks {
            p.push(c).unwrap();
        }
        p.finish().unwrap()
    }

    fn line_at(ms: i64) -> String {
        format!("{{\"ts\":{ms},\"latency_ms\":1}}\n")
    }

    #[test]
    fn window_edges_are_inclusive() {
        let text = [
            line_at(REF - MAX_AGE_MS),
            line_at(REF - MAX_AGE_MS - 1),
            line_at(REF + MAX_FUTURE_MS),
            line_at(REF + MAX_FUTURE_MS + 1),
        ]
        .concat();
        let o = run(Some("logs/api/x.log"), &[text.as_bytes()]);
        assert_eq!(o.stats.accepted, 2);
        assert_eq!(o.stats.rejected.get(Reason::TimestampOutOfRange), 2);
    }

    #[test]
    fn service_from_line_or_key_and_why_not() {
        let no_service = line_at(REF);
        let named = format!("{{\"ts\":{REF},\"service\":\"db\"}}\n");
        let text = [no_service.as_str(), named.as_str()].concat();
        // A key without the logs/<service>/ prefix: only the named line counts.
        let o = run(Some("uploads/x.log"), &[text.as_bytes()]);
        assert_eq!(
            (o.stats.accepted, o.stats.rejected.get(Reason::NoService)),
            (1, 1)
        );
        // An invalid service in the key is a bad service, not a missing one.
        let o = run(Some("logs/bad name/x.log"), &[text.as_bytes()]);
        assert_eq!(
            (o.stats.accepted, o.stats.rejected.get(Reason::BadService)),
            (1, 1)
        );
        let o = run(Some("logs/api/x.log"), &[text.as_bytes()]);
        let services: Vec<_> = o.batch.0.keys().map(|k| k.service.as_str()).collect();
        assert_eq!(services, ["api", "db"]);
    }

    /// With the module's `logs_prefix = "app-logs/"`, a line without a `service` field takes the
    /// service from the key under that prefix (it was rejected as `no_service` while `logs/`
    /// was hard-coded).
    #[test]
    fn the_key_names_the_service_under_a_non_default_prefix() {
        let text = line_at(REF);
        let o = run_under("app-logs/", Some("app-logs/api/x.log"), &[text.as_bytes()]);
        assert_eq!((o.stats.accepted, o.stats.rejected.total()), (1, 0));
        let services: Vec<_> = o.batch.0.keys().map(|k| k.service.as_str()).collect();
        assert_eq!(services, ["api"]);
        // The default prefix does not apply when the stack uses another.
        let o = run_under("app-logs/", Some("logs/api/x.log"), &[text.as_bytes()]);
        assert_eq!(o.stats.rejected.get(Reason::NoService), 1);
    }

    #[test]
    fn huge_lines_blank_lines_and_totals() {
        let huge = vec![b'{'; MAX_LINE + 10];
        let ok = line_at(REF);
        let o = run(
            Some("logs/api/x.log"),
            &[
                ok.as_bytes(),
                b"\n   \n",
                &huge,
                b"\n",
                ok.as_bytes(),
                &huge,
            ],
        );
        assert_eq!(o.stats.lines, 6);
        assert_eq!(
            (
                o.stats.accepted,
                o.stats.blank,
                o.stats.rejected.get(Reason::TooLong)
            ),
            (2, 2, 2)
        );
        assert_eq!(
            o.stats.lines,
            o.stats.accepted + o.stats.blank + o.stats.rejected.total(),
            "every line accounted for"
        );
    }

    /// Access lines cut off after the status (a logger's line-length limit, here also inside a
    /// multi-byte character of the user agent) count as requests, without a latency; a line cut
    /// inside the request does not.
    #[test]
    fn access_lines_cut_after_the_status_are_accepted() {
        let head = r#"192.0.2.1 - - [29/Nov/2026:18:05:00 +0000] "GET /a HTTP/1.1" 502"#;
        let lines = [
            head.to_owned(),
            format!("{head} 512"),
            format!(r#"{head} 512 "https://ref.exa"#),
            format!(r#"{head} 512 "https://ref.example/" "Mozilla/5.0 (X11; Lin"#),
        ];
        let mut text = lines.join("\n").into_bytes();
        text.extend_from_slice(format!("\n{head} 512 \"-\" \"Caf\u{e9}").as_bytes());
        text.pop(); // half of the é
        text.extend_from_slice(b"\n192.0.2.1 - - [29/Nov/2026:18:05:00 +0000] \"GET /a HT\n");
        let o = run(Some("logs/web/access.log"), &[&text]);
        assert_eq!(o.stats.accepted, 5, "{:?}", o.stats);
        assert_eq!(o.stats.rejected.get(Reason::UnknownFormat), 1);
        assert_eq!(o.stats.rejected.total(), 1);
        let key = metrics_core::GroupKey::new(
            "web",
            metrics_core::Minute::from_epoch_seconds(REF / 1000),
        );
        let m = &o.batch.0[&key];
        assert_eq!(m.get(metrics_core::aggregate::REQUESTS).unwrap().count, 5);
        assert_eq!(
            m.get(metrics_core::aggregate::ERRORS).unwrap().sum,
            5.0,
            "502s are errors"
        );
        assert!(
            m.get(metrics_core::aggregate::LATENCY_MS).is_none(),
            "no latency from cut fields"
        );
    }

    #[test]
    fn emf_values_out_of_range_reject_the_whole_line() {
        let line = format!(
            "{{\"_aws\":{{\"Timestamp\":{REF},\"CloudWatchMetrics\":[{{\"Metrics\":[{{\"Name\":\"a\"}},{{\"Name\":\"b\"}}]}}]}},\"a\":1,\"b\":1e300}}\n"
        );
        let o = run(Some("logs/api/x.log"), &[line.as_bytes()]);
        assert_eq!(o.stats.rejected.get(Reason::BadEmf), 1);
        assert!(o.batch.is_empty(), "nothing of the bad line is recorded");
    }
}
