//! The two S3 calls `gen publish` makes: HeadObject (checksum mode enabled) and PutObject with
//! the SHA-256 checksum. Errors name the bucket and key and carry the SDK's whole context.

use super::Stored;
use anyhow::{anyhow, Result};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use aws_smithy_http_client::tls;

pub struct Store {
    client: aws_sdk_s3::Client,
}

/// `--endpoint-url`, else the variables aws-config reads for S3's endpoint.
fn endpoint_override(flag: Option<&str>) -> Option<String> {
    flag.map(str::to_owned)
        .or_else(|| std::env::var("AWS_ENDPOINT_URL_S3").ok())
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .filter(|v| !v.trim().is_empty())
}

impl Store {
    /// Region and credentials from the SDK's default chain unless given; one TLS stack (rustls
    /// with ring), as the functions use. With an endpoint override (an emulator, MinIO)
    /// requests are path-style: `bucket.localhost` does not resolve.
    pub async fn new(endpoint_url: Option<&str>, region: Option<&str>) -> Store {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = region {
            loader = loader.region(Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let path_style = endpoint_override(endpoint_url).is_some();
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(path_style)
                .build(),
        );
        Store { client }
    }

    /// HeadObject with `x-amz-checksum-mode: ENABLED` (without it S3 returns no checksum);
    /// `None` when there is no such key.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<Stored>> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(out) => Ok(Some(Stored {
                checksum_sha256: out.checksum_sha256().map(str::to_owned),
                size: out.content_length(),
                version_id: out.version_id().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(anyhow!(
                "s3://{bucket}/{key}: HeadObject failed: {}",
                describe(&e)
            )),
        }
    }

    /// PutObject with `x-amz-checksum-sha256`: S3 computes the digest of what it received and
    /// refuses the upload (BadDigest) when it differs, so a corrupted transfer never lands.
    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        sha256_base64: &str,
    ) -> Result<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/zip")
            // The algorithm is named too (x-amz-sdk-checksum-algorithm): S3 ignores it when the
            // checksum itself is given, and requires the two to agree (PutObject page); some
            // S3-compatible stores, moto among them, only keep a checksum whose algorithm is named.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(sha256_base64)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| anyhow!("s3://{bucket}/{key}: PutObject failed: {}", describe(&e)))
    }
}

/// S3's error code and message with the HTTP status for an answer from S3 (the SDK's whole
/// context repeats the raw response); the whole chain otherwise (no connection, no credentials).
fn describe<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            format!(
                "HTTP {} {}: {}",
                service.raw().status().as_u16(),
                err.code().unwrap_or("(no error code)"),
                err.message().unwrap_or("(no message)")
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}
