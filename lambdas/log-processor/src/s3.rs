//! Reads one object from S3 as a stream into the pipeline, then applies its batch.

use crate::event::ObjectRef;
use crate::pipeline::{ObjectPipeline, Outcome, Window};
use crate::source_id::source_id;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use contract::iam::{AwsClient, Operation};
use metrics_core::publish::{self, PublishSummary};
use metrics_core::store::{ApplyReport, OnReject, StoreError};
use metrics_core::{MetricPublisher, MetricWriter, PublishPolicy};
use serde::Serialize;
use std::collections::BTreeMap;

/// Rejected groups an object's report names as examples; the counts cover them all.
pub const REJECTED_GROUP_EXAMPLES: usize = 5;

/// The log objects the function reads: its only S3 access.
#[derive(Clone)]
pub struct LogObjects(aws_sdk_s3::Client);

impl AwsClient for LogObjects {
    const OPERATIONS: &'static [Operation] = &[Operation::S3GetObject];
}

impl LogObjects {
    /// From the shared SDK configuration. With an endpoint override (the local emulator)
    /// addressing is path-style: `bucket.localhost` does not resolve.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        let force = metrics_core::aws::endpoint_override().is_some();
        Self::from_client(aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(config)
                .force_path_style(force)
                .build(),
        ))
    }

    pub fn from_client(client: aws_sdk_s3::Client) -> Self {
        Self(client)
    }

    /// GetObject pinned to the event's version (versioned bucket) or eTag (If-Match), so a
    /// later overwrite is never processed under this event's source id.
    async fn get(&self, obj: &ObjectRef) -> Result<GetObjectOutput, SdkError<GetObjectError>> {
        let mut req = self.0.get_object().bucket(&obj.bucket).key(&obj.key);
        match (&obj.version_id, &obj.etag) {
            (Some(v), _) => req = req.version_id(v),
            (None, Some(e)) => req = req.if_match(format!("\"{}\"", e.trim_matches('"'))),
            (None, None) => {}
        }
        req.send().await
    }
}

/// Why an object could not be processed. Every message names the object, because it
/// is what the on-failure destination and the operator see.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("s3://{bucket}/{key}: cannot read object: {message}")]
    Read {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("s3://{bucket}/{key}: {source}")]
    Corrupt {
        bucket: String,
        key: String,
        source: crate::reader::CorruptGzip,
    },
    #[error("s3://{bucket}/{key}: writing metrics failed: {source}")]
    Store {
        bucket: String,
        key: String,
        source: StoreError,
    },
}

impl ObjectError {
    /// The stable `errorType` of this failure kind (see `handler::HandlerError`).
    pub const fn error_type(&self) -> &'static str {
        match self {
            ObjectError::Read { .. } => "LogObjectReadFailed",
            ObjectError::Corrupt { .. } => "LogObjectCorrupt",
            ObjectError::Store { .. } => "StoreWriteFailed",
        }
    }
}

/// What one object contributed; logged as one JSON line and returned by the handler.
#[derive(Debug, Serialize)]
pub struct ObjectReport {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub source_id: String,
    pub bytes: u64,
    pub gzip: bool,
    #[serde(flatten)]
    pub stats: crate::pipeline::Stats,
    pub groups: usize,
    pub groups_written: usize,
    pub groups_already_applied: usize,
    /// Groups the table can never take (see `metrics_core::store`, "Groups that can never be
    /// written"): left out, the rest committed. `groups` = written + already applied + rejected.
    pub groups_rejected: usize,
    /// Rejected groups per reason (`item_too_large`, `too_many_sources`, ...), non-zero only.
    pub groups_rejected_by_reason: BTreeMap<&'static str, usize>,
    /// The first [`REJECTED_GROUP_EXAMPLES`] rejected groups, with why.
    pub rejected_group_examples: Vec<RejectedExample>,
    /// Every DynamoDB request for the object: the minute items' and the rollups'.
    pub dynamodb_requests: usize,
    pub retries: usize,
    /// Hourly and daily rollups recomputed after the commit, and requests and lost races that
    /// took (`metrics_core::store::rollup`).
    pub rollups_written: usize,
    pub rollup_requests: usize,
    pub rollup_conflicts: usize,
    /// What this object's commit published to CloudWatch, and what it did not and why.
    #[serde(flatten)]
    pub published: PublishSummary,
}

/// One rejected (service, minute) group, as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedExample {
    pub service: String,
    /// Minute start, `YYYY-MM-DDTHH:MM:00Z`.
    pub minute: String,
    pub reason: &'static str,
    pub message: String,
}

/// Where the newly applied groups go after the commit: the services' CloudWatch namespace.
pub struct Publishing<'a> {
    pub client: &'a MetricPublisher,
    pub policy: &'a PublishPolicy,
}

/// Streams the object (memory stays flat), aggregates it fully, and only then writes:
/// a failure while reading writes nothing, and the store applies the batch at most
/// once per (source id, service, minute), so retries converge to one clean run.
///
/// A group the table can never take (too large, too many sources, ...) is rejected and reported,
/// the rest committed ([`OnReject::Skip`]): a retry could not fix it, so failing would block the
/// whole object forever. Transient store failures (throttling, network) fail the object.
///
/// After the commit, the groups it newly applied (never those a replay finds already applied)
/// are published to CloudWatch. A publishing failure is logged and reported
/// (`datums_not_published`), not an error: the commit has happened, so a retry of the
/// invocation would publish nothing; missing CloudWatch data is preferred to double counting.
pub async fn process_object(
    s3: &LogObjects,
    store: &MetricWriter,
    publishing: &Publishing<'_>,
    logs_prefix: &str,
    obj: &ObjectRef,
) -> Result<ObjectReport, ObjectError> {
    let outcome = read_object(s3, logs_prefix, obj).await?;
    let source = source_id(obj);
    let applied = store
        .apply_with(Some(&source), &outcome.batch, OnReject::Skip)
        .await
        .map_err(|source| ObjectError::Store {
            bucket: obj.bucket.clone(),
            key: obj.key.clone(),
            source,
        })?;
    let plan = publish::plan(
        &outcome.batch,
        &applied.applied,
        publishing.policy,
        chrono::Utc::now().timestamp(),
    );
    let sent = publishing.client.publish(&plan).await;
    let published = PublishSummary::new(&plan, sent);
    Ok(report(obj, source, &outcome, &applied, published))
}

/// Streams the object into the pipeline. `logs_prefix`: see [`crate::event::service_from_key`].
pub async fn read_object(
    s3: &LogObjects,
    logs_prefix: &str,
    obj: &ObjectRef,
) -> Result<Outcome, ObjectError> {
    let read_err = |message: String| ObjectError::Read {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        message,
    };
    let resp = s3
        .get(obj)
        .await
        .map_err(|e| read_err(format!("GetObject failed: {}", sdk_error_summary(&e))))?;
    let reference_ms = resp
        .last_modified()
        .and_then(|t| t.to_millis().ok())
        .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
    let mut pipeline =
        ObjectPipeline::new(Some(&obj.key), logs_prefix, Window::around(reference_ms));
    let mut body = resp.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            read_err(format!(
                "reading the body failed: {}",
                DisplayErrorContext(&e)
            ))
        })?;
        pipeline
            .push(&chunk)
            .map_err(|source| corrupt(obj, source))?;
    }
    pipeline.finish().map_err(|source| corrupt(obj, source))
}

/// `Code: message` for an error S3 answered; the full context chain for anything else
/// (timeouts, connection errors), where the chain is the useful part.
fn sdk_error_summary<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("Unknown"),
                err.message().unwrap_or("no message")
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}

fn corrupt(obj: &ObjectRef, source: crate::reader::CorruptGzip) -> ObjectError {
    ObjectError::Corrupt {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        source,
    }
}

fn report(
    obj: &ObjectRef,
    source_id: String,
    o: &Outcome,
    a: &ApplyReport,
    published: PublishSummary,
) -> ObjectReport {
    ObjectReport {
        bucket: obj.bucket.clone(),
        key: obj.key.clone(),
        version_id: obj.version_id.clone(),
        source_id,
        bytes: o.bytes,
        gzip: o.gzip,
        stats: o.stats.clone(),
        groups: o.batch.len(),
        groups_written: a.groups_written,
        groups_already_applied: a.groups_already_applied,
        groups_rejected: a.rejected.len(),
        groups_rejected_by_reason: a.rejected.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.reason.as_str()).or_default() += 1;
            m
        }),
        rejected_group_examples: a
            .rejected
            .iter()
            .take(REJECTED_GROUP_EXAMPLES)
            .map(|r| RejectedExample {
                service: r.key.service.clone(),
                minute: r.key.minute.key(),
                reason: r.reason.as_str(),
                message: r.message.clone(),
            })
            .collect(),
        dynamodb_requests: a.read_requests
            + a.write_requests
            + a.rollups.read_requests
            + a.rollups.write_requests,
        retries: a.retries,
        rollups_written: a.rollups.written,
        rollup_requests: a.rollups.read_requests + a.rollups.write_requests,
        rollup_conflicts: a.rollups.conflicts,
        published,
    }
}
