//! `gen publish` against a moto server's S3: content-addressed keys, no second upload of the
//! same zip, a key holding other bytes refused, an object without a SHA-256 checksum replaced,
//! versions pinned, clear errors. One server for the whole file (starting one takes seconds).
//!
//! moto keeps the checksum a PutObject sends without checking it against the body (AWS answers
//! 400 BadDigest, https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html), so the
//! bytes are read back and hashed here rather than trusting the stored checksum.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ChecksumMode, VersioningConfiguration,
};
use base64::Engine;
use monitoring_gen::package::{FunctionPackage, Manifest};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};
use test_support::Moto;

const FUNCTIONS: [&str; 3] = ["log-processor", "metrics-api", "runbook-executor"];

fn gen(dir: &Path, endpoint: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gen"));
    cmd.args(args)
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_S3")
        .env_remove("AWS_PROFILE");
    if let Some(url) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", url);
    }
    cmd.output().expect("run gen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A package folder as `gen package` writes it, with small stand-in zips of the given contents.
fn package(dir: &Path, tag: &str) -> Manifest {
    let mut manifest = Manifest::new("e2e");
    std::fs::create_dir_all(dir.join("x86_64")).unwrap();
    for f in FUNCTIONS {
        let bytes = format!("{f} {tag}").repeat(200).into_bytes();
        let zip = format!("x86_64/{f}.zip");
        std::fs::write(dir.join(&zip), &bytes).unwrap();
        manifest.insert(f, FunctionPackage::describe("x86_64", &zip, &bytes));
    }
    std::fs::write(dir.join("manifest.json"), manifest.to_json()).unwrap();
    manifest
}

async fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = test_support::dynamo::sdk_config(endpoint).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

fn inputs(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_uploads_once_under_content_addressed_keys_and_refuses_foreign_bytes() {
    let moto = Moto::start();
    let s3 = s3_client(&moto.endpoint).await;
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("pkg");
    let manifest = package(&pkg, "v1");
    s3.create_bucket().bucket("art").send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket("art")
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // First publish, endpoint from --endpoint-url, inputs to --out.
    let out = tmp.path().join("lambda.auto.tfvars.json");
    let args = [
        "publish",
        "--bucket",
        "art",
        "--prefix",
        "ci/appmon/",
        "--package-dir",
        "pkg",
        "--out",
        "lambda.auto.tfvars.json",
        "--endpoint-url",
        &moto.endpoint,
    ];
    let first = gen(tmp.path(), None, &args);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(text(&first.stderr).matches("uploaded").count(), 3);
    let doc = inputs(&out);
    for f in FUNCTIONS {
        let entry = &doc["lambda_s3_code"][f];
        let p = &manifest.functions[f];
        let key = format!("ci/appmon/{f}/{}.zip", p.sha256);
        assert_eq!(entry["bucket"], "art");
        assert_eq!(entry["key"], key.as_str());
        assert_eq!(entry["source_code_hash"], p.source_code_hash.as_str());
        assert_eq!(entry["architecture"], "x86_64");
        let obj = s3
            .get_object()
            .bucket("art")
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(
            entry["version"].as_str(),
            obj.version_id(),
            "{f}: version pinned"
        );
        assert_eq!(obj.checksum_sha256(), Some(p.source_code_hash.as_str()));
        let body = obj.body.collect().await.unwrap().into_bytes();
        assert_eq!(
            hex(&Sha256::digest(&body)),
            p.sha256,
            "{f}: the object holds the zip"
        );
    }

    // Again, endpoint from AWS_ENDPOINT_URL, inputs on stdout: nothing uploaded (no new
    // version), the same inputs.
    let again = gen(
        tmp.path(),
        Some(&moto.endpoint),
        &[
            "publish",
            "--bucket",
            "art",
            "--prefix",
            "ci/appmon",
            "--package-dir",
            "pkg",
        ],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(text(&again.stderr).matches("already there").count(), 3);
    assert!(!text(&again.stderr).contains("uploaded"));
    let printed: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(printed, doc);
    let versions = s3
        .list_object_versions()
        .bucket("art")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 3, "no second version of any zip");

    // A new build of one function: only that zip is uploaded, under a new key.
    let changed = "new metrics-api".repeat(50).into_bytes();
    std::fs::write(pkg.join("x86_64/metrics-api.zip"), &changed).unwrap();
    let mut rebuilt = manifest_from(&pkg);
    rebuilt.insert(
        "metrics-api",
        FunctionPackage::describe("x86_64", "x86_64/metrics-api.zip", &changed),
    );
    std::fs::write(pkg.join("manifest.json"), rebuilt.to_json()).unwrap();
    let third = gen(tmp.path(), None, &args);
    assert_eq!(third.status.code(), Some(0), "{}", text(&third.stderr));
    assert_eq!(text(&third.stderr).matches("already there").count(), 2);
    assert_eq!(text(&third.stderr).matches("uploaded").count(), 1);
    let new_key = inputs(&out)["lambda_s3_code"]["metrics-api"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        new_key,
        format!(
            "ci/appmon/metrics-api/{}.zip",
            hex(&Sha256::digest(&changed))
        )
    );

    // Other bytes under a key that names this zip: refused, naming bucket and key; untouched.
    let foreign = b"not the zip".to_vec();
    s3.put_object()
        .bucket("art")
        .key(&new_key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(b64(&Sha256::digest(&foreign)))
        .body(ByteStream::from(foreign.clone()))
        .send()
        .await
        .unwrap();
    let refused = gen(tmp.path(), None, &args);
    assert_eq!(refused.status.code(), Some(3));
    let err = text(&refused.stderr);
    assert!(
        err.contains(&format!("s3://art/{new_key}")) && err.contains("something else wrote"),
        "{err}"
    );
    let kept = s3
        .get_object()
        .bucket("art")
        .key(&new_key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        kept.body.collect().await.unwrap().into_bytes().as_ref(),
        &foreign[..]
    );

    // The same bytes without a SHA-256 checksum (another tool's upload): uploaded again with one.
    s3.put_object()
        .bucket("art")
        .key(&new_key)
        .body(ByteStream::from(changed.clone()))
        .send()
        .await
        .unwrap();
    let replaced = gen(tmp.path(), None, &args);
    assert_eq!(
        replaced.status.code(),
        Some(0),
        "{}",
        text(&replaced.stderr)
    );
    assert!(text(&replaced.stderr).contains("re-uploaded"));
    let head = s3
        .head_object()
        .bucket("art")
        .key(&new_key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.checksum_sha256(),
        Some(b64(&Sha256::digest(&changed)).as_str())
    );

    // No such bucket: the error names it and S3's code.
    let missing = gen(
        tmp.path(),
        None,
        &[
            "publish",
            "--bucket",
            "no-such-bucket",
            "--package-dir",
            "pkg",
            "--endpoint-url",
            &moto.endpoint,
        ],
    );
    assert_eq!(missing.status.code(), Some(3));
    let err = text(&missing.stderr);
    assert!(
        err.contains("s3://no-such-bucket/lambda/") && err.contains("NoSuchBucket"),
        "{err}"
    );

    // A bad prefix is a usage error before anything is read or sent.
    let bad = gen(
        tmp.path(),
        None,
        &["publish", "--bucket", "art", "--prefix", "a//b"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--prefix"));
}

fn manifest_from(dir: &Path) -> Manifest {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
