//! Helpers of the integration tests: S3 and DynamoDB clients for moto, a bucket, S3 events.
//! The moto guard and the metric table come from the `test-support` crate.
#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::error::DisplayErrorContext;
use log_processor::handler::Deps;
use metrics_core::codec::{PK, SK};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::collections::HashMap;
use test_support::dynamo;

/// The service metrics namespace of the tests' stack.
pub const NAMESPACE: &str = "appmon/Services";
/// The services the tests' stack publishes to CloudWatch (others are counted, not sent).
pub const PUBLISHED: [&str; 2] = ["checkout", "web"];

pub struct Aws {
    pub config: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub ddb: aws_sdk_dynamodb::Client,
}

pub async fn aws(endpoint: &str) -> Aws {
    let config = dynamo::sdk_config(endpoint).await;
    // moto is addressed by IP here, but force path style as the function does for any override.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let ddb = metrics_core::aws::dynamodb_client(&config);
    Aws { config, s3, ddb }
}

impl Aws {
    pub fn deps(&self, table: &str) -> Deps {
        Deps {
            s3: log_processor::s3::LogObjects::from_client(self.s3.clone()),
            store: metrics_core::MetricWriter::new(self.ddb.clone(), table),
            cloudwatch: metrics_core::MetricPublisher::new(&self.config),
            publish: metrics_core::PublishPolicy {
                namespace: NAMESPACE.into(),
                services: PUBLISHED.iter().map(|s| s.to_string()).collect(),
                custom_metrics: Vec::new(),
            },
            logs_prefix: "logs/".into(),
        }
    }

    pub async fn bucket(&self, name: &str, versioned: bool) {
        self.s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket: {}", DisplayErrorContext(&e)));
        if versioned {
            use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
            self.s3
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .unwrap_or_else(|e| panic!("versioning: {}", DisplayErrorContext(&e)));
        }
    }

    /// Uploads and returns the record S3 would send for it.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Record {
        let size = body.len() as i64;
        let out = self
            .s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {}", DisplayErrorContext(&e)));
        Record {
            bucket: bucket.into(),
            key: key.into(),
            etag: out.e_tag().map(|e| e.trim_matches('"').to_string()),
            version_id: out.version_id().map(Into::into),
            size,
        }
    }

    pub async fn create_table(&self, table: &str) {
        dynamo::create_metric_table(&self.ddb, table).await;
    }

    /// Every item, sorted by key (a Scan is fine in a test; the function never scans).
    pub async fn scan(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let mut items = dynamo::scan_all(&self.ddb, table).await;
        let k = |i: &HashMap<String, AttributeValue>| {
            (
                i[PK].as_s().cloned().unwrap_or_default(),
                i[SK].as_s().cloned().unwrap_or_default(),
            )
        };
        items.sort_by_key(k);
        items
    }
}

/// One S3 event record's object.
#[derive(Debug, Clone)]
pub struct Record {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub size: i64,
}

/// Keys in S3 events are form-encoded: space as `+`, reserved bytes as `%XX`, `/` kept.
const KEY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*');

pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_SET)
        .to_string()
        .replace("%20", "+")
}

/// An `ObjectCreated:Put` event as S3 delivers it to Lambda.
pub fn s3_event(records: &[Record]) -> serde_json::Value {
    let recs: Vec<_> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut object = serde_json::json!({
                "key": encode_key(&r.key),
                "size": r.size,
                "sequencer": format!("0055AED6DCD9028{i:03}"),
            });
            if let Some(e) = &r.etag {
                object["eTag"] = e.clone().into();
            }
            if let Some(v) = &r.version_id {
                object["versionId"] = v.clone().into();
            }
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-29T18:06:01.512Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": { "principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": {
                    "x-amz-request-id": "C3D13FE58DE4C810",
                    "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "log-processor",
                    "bucket": {
                        "name": r.bucket,
                        "ownerIdentity": { "principalId": "A3NL1KOZZKExample" },
                        "arn": format!("arn:aws:s3:::{}", r.bucket)
                    },
                    "object": object
                }
            })
        })
        .collect();
    serde_json::json!({ "Records": recs })
}
