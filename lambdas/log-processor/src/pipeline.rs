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

const DAY_MS: i64 = 86_400_000;
/// Lines stamped further ahead of the reference time than this are clock errors.
pub const MAX_FUTURE_MS: i64 = DAY_MS;
/// Lines older than this, relative to the reference time, are rejected: later than any
/// shipping delay we expect, and most likely a re-upload of archived logs.
pub const MAX_AGE_MS: i64 = 14 * DAY_MS;

/// Accepted timestamps: `[reference - 14 days, reference + 1 day]`. The reference is the
/// object's S3 `LastModified` (a retry days later judges the same lines the same way),
/// or the file's modification time for `--file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub earliest_ms: i64,
    pub latest_ms: i64,
}

impl Window {
    pub fn around(reference_ms: i64) -> Window {
        Window {
            earliest_ms: reference_ms - MAX_AGE_MS,
            latest_ms: reference_ms + MAX_FUTURE_MS,
        }
    }

    pub fn contains(&self, ts_ms: i64) -> bool {
        (self.earliest_ms..=self.latest_ms).contains(&ts_ms)
    }
}

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
    pub fn new(key: Option<&str>, window: Window) -> Processor {
        let mut acc = Accumulator::new();
        let key_service = match key.and_then(service_from_key) {
            None => Err(Reason::NoService),
            Some(name) => acc.service_id(name).ok_or(Reason::BadService),
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
            Some(name) => self.acc.service_id(name).ok_or(Reason::BadService),
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
    /// `key` supplies the service for lines without one (`logs/<service>/...`).
    pub fn new(key: Option<&str>, window: Window) -> Self {
        ObjectPipeline {
            decoder: Decoder::new(Processor::new(key, window)),
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
    window: Window,
) -> std::io::Result<Outcome> {
    let mut p = ObjectPipeline::new(key, window);
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
