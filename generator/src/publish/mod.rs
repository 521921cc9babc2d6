//! `gen publish`: uploads the zips `gen package` wrote to S3 under content-addressed keys and
//! prints the module inputs (`lambda_s3_code`) that deploy them, so a plan made on one machine
//! can be applied on another that has neither `dist/` nor cargo.
//!
//! The key of a zip is `<prefix>/<function>/<sha256 hex>.zip`: the same bytes always have the
//! same key and other bytes never do, so a key once written never needs to change, a rebuild
//! that reproduces the zip uploads nothing, and a plan names exactly the code it was made with.
//! `source_code_hash` and `architecture` in the printed inputs come from `manifest.json`, the
//! values a plan from the zips would use, so the two kinds of plan agree.
//!
//! Integrity rests on S3's own SHA-256 checksums ("Checking object integrity",
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>):
//! the upload carries `x-amz-checksum-sha256` (base64 of the digest: the manifest's
//! `source_code_hash`), which S3 checks against the bytes it received and stores with the object
//! ([PutObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html)); HeadObject
//! with `x-amz-checksum-mode: ENABLED` returns the stored `ChecksumSHA256`
//! ([HeadObject](https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html)). It is
//! asked before (an object already holding the digest is not uploaded again) and after the upload.

mod s3;

use anyhow::{bail, Context, Result};
use base64::Engine;
use contract::Function;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::package::{FunctionPackage, Manifest};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bucket to publish to (it must exist; gen never creates or configures it).
    #[arg(long, value_name = "NAME")]
    pub bucket: String,
    /// Key prefix: each zip goes to <PREFIX>/<function>/<sha256>.zip ("" for none).
    #[arg(long, default_value = "lambda", value_name = "PREFIX")]
    pub prefix: String,
    /// Folder with manifest.json and the zips (`gen package --out`).
    #[arg(long, default_value = "dist/lambda", value_name = "DIR")]
    pub package_dir: PathBuf,
    /// Write the module inputs to FILE (e.g. lambda.auto.tfvars.json) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// S3 endpoint URL (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS's).
    /// With an endpoint override requests are path-style (http://host/bucket/key).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Region (default: the SDK's chain: AWS_REGION, then the profile). Credentials always come
    /// from the SDK's default chain (environment, profile files, web identity, ECS/EC2 metadata).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// One function's zip as the manifest names it, read and checked against the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub function: String,
    pub path: PathBuf,
    pub package: FunctionPackage,
    pub key: String,
    /// The zip itself.
    pub bytes: Vec<u8>,
}

/// What S3 says about a key (HeadObject with checksum mode enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub checksum_sha256: Option<String>,
    pub size: Option<i64>,
    pub version_id: Option<String>,
}

/// What to do with one artifact, given what S3 holds under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing there: upload.
    Upload,
    /// The object holds these bytes (same SHA-256 checksum and size): nothing to do.
    Skip,
    /// The object has no SHA-256 checksum (written by another tool): upload it again with one,
    /// which S3 verifies. Under a content-addressed key the bytes are meant to be the same.
    Replace,
}

/// The object key of a zip: `<prefix>/<function>/<sha256 hex>.zip` (no leading prefix when empty).
pub fn object_key(prefix: &str, function: &str, sha256_hex: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        format!("{function}/{sha256_hex}.zip")
    } else {
        format!("{prefix}/{function}/{sha256_hex}.zip")
    }
}

/// S3 keys are at most 1,024 bytes (UTF-8).
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>
pub const MAX_KEY_BYTES: usize = 1024;

/// A prefix must give keys that every tool reads the same way: only the characters AWS calls
/// safe in object keys (letters, digits, `! - _ . * ' ( )` and `/` as separator), no empty,
/// `.` or `..` segment (S3 console and SDK path handling rewrite those), no leading `/`.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(());
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()/".contains(*c)))
    {
        return Err(format!(
            "--prefix {prefix:?}: {bad:?} is not one of the characters S3 calls safe in keys \
             (letters, digits, ! - _ . * ' ( ) and / between segments)"
        ));
    }
    if trimmed.starts_with('/') {
        return Err(format!("--prefix {prefix:?}: must not start with '/'"));
    }
    if let Some(seg) = trimmed
        .split('/')
        .find(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(format!(
            "--prefix {prefix:?}: has an empty, '.' or '..' segment ({seg:?})"
        ));
    }
    // The longest key: prefix + '/' + the longest function slug + '/' + 64 hex + ".zip".
    let longest = Function::ALL
        .iter()
        .map(|f| f.slug().len())
        .max()
        .unwrap_or(0);
    let len = trimmed.len() + 1 + longest + 1 + 64 + 4;
    if len > MAX_KEY_BYTES {
        return Err(format!(
            "--prefix is {} bytes: keys would be {len} bytes, S3 allows {MAX_KEY_BYTES}",
            trimmed.len()
        ));
    }
    Ok(())
}

/// Reads `<dir>/manifest.json` and every zip it names; each must be there, match its
/// manifest entry (size, SHA-256, base64 form) and share one architecture. Every function the
/// module deploys must be in it: a missing one would make the plan read `dist/` again.
pub fn load_artifacts(dir: &Path, prefix: &str) -> Result<(Manifest, Vec<Artifact>)> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "{}: cannot read the package manifest (run `gen package --out {}` first)",
            manifest_path.display(),
            dir.display()
        )
    })?;
    let manifest = parse_manifest(&text)
        .with_context(|| format!("{}: not a gen package manifest", manifest_path.display()))?;
    check_manifest(&manifest).with_context(|| format!("{}", manifest_path.display()))?;
    let mut out = Vec::new();
    for (function, package) in &manifest.functions {
        let path = dir.join(&package.zip);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "{}: cannot read {function}'s zip named in {}",
                path.display(),
                manifest_path.display()
            )
        })?;
        let actual = FunctionPackage::describe(&package.architecture, &package.zip, &bytes);
        if actual.sha256 != package.sha256 || actual.size != package.size {
            bail!(
                "{}: sha256 {} ({} bytes) differs from manifest.json's {} ({} bytes): the zip \
                 changed after `gen package`; package again",
                path.display(),
                actual.sha256,
                actual.size,
                package.sha256,
                package.size
            );
        }
        let key = object_key(prefix, function, &package.sha256);
        out.push(Artifact {
            function: function.clone(),
            path,
            package: package.clone(),
            key,
            bytes,
        });
    }
    Ok((manifest, out))
}

pub fn parse_manifest(text: &str) -> Result<Manifest> {
    let manifest: Manifest = serde_json::from_str(text)?;
    if manifest.format_version != crate::package::FORMAT_VERSION {
        bail!(
            "format_version {} (this gen reads {})",
            manifest.format_version,
            crate::package::FORMAT_VERSION
        );
    }
    Ok(manifest)
}

/// The manifest's own consistency: the functions the module deploys, hashes well-formed and
/// agreeing with each other, one architecture, zip paths inside the package folder.
pub fn check_manifest(manifest: &Manifest) -> Result<()> {
    let expected: Vec<&str> = Function::ALL.iter().map(|f| f.slug()).collect();
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|f| !manifest.functions.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        bail!(
            "no entry for {}: the module deploys {}; package them all with `gen package`",
            missing.join(", "),
            expected.join(", ")
        );
    }
    if let Some(other) = manifest
        .functions
        .keys()
        .find(|f| !expected.contains(&f.as_str()))
    {
        bail!(
            "functions.{other}: not a function the module deploys ({})",
            expected.join(", ")
        );
    }
    for (function, p) in &manifest.functions {
        let field = |name: &str| format!("functions.{function}.{name}");
        if p.sha256.len() != 64
            || !p
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            bail!(
                "{}: {:?} is not 64 lower-case hex digits",
                field("sha256"),
                p.sha256
            );
        }
        let digest: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&p.sha256[2 * i..2 * i + 2], 16).expect("checked hex"))
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&digest);
        if p.source_code_hash != b64 {
            bail!(
                "{}: {:?} is not the base64 form of sha256 {} ({b64})",
                field("source_code_hash"),
                p.source_code_hash,
                p.sha256
            );
        }
        if !["arm64", "x86_64"].contains(&p.architecture.as_str()) {
            bail!(
                "{}: {:?} (arm64 or x86_64)",
                field("architecture"),
                p.architecture
            );
        }
        let zip = Path::new(&p.zip);
        if zip.is_absolute()
            || zip
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            bail!(
                "{}: {:?} must be a path inside the package folder",
                field("zip"),
                p.zip
            );
        }
    }
    let archs: std::collections::BTreeSet<&str> = manifest
        .functions
        .values()
        .map(|p| p.architecture.as_str())
        .collect();
    if archs.len() > 1 {
        bail!(
            "functions are packaged for several architectures ({}); the module deploys one",
            archs.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Decides from HeadObject's answer (None: no such key). A checksum other than the artifact's
/// means the key does not hold the bytes it names: an error, never overwritten silently.
pub fn decide(artifact: &Artifact, bucket: &str, stored: Option<&Stored>) -> Result<Action> {
    let Some(stored) = stored else {
        return Ok(Action::Upload);
    };
    match stored.checksum_sha256.as_deref() {
        None => Ok(Action::Replace),
        Some(sum)
            if sum == artifact.package.source_code_hash
                && stored.size == Some(artifact.package.size as i64) =>
        {
            Ok(Action::Skip)
        }
        Some(sum) => bail!(
            "s3://{bucket}/{}: the object already there has ChecksumSHA256 {sum} and {} bytes, \
             but the key names {}'s zip with {} ({} bytes, {}): something else wrote under this \
             prefix; delete the object or publish under another --prefix",
            artifact.key,
            stored
                .size
                .map_or_else(|| "unknown".to_owned(), |s| s.to_string()),
            artifact.function,
            artifact.package.source_code_hash,
            artifact.package.size,
            artifact.path.display()
        ),
    }
}

/// After an upload, S3 must report exactly the artifact's checksum and size.
pub fn verify(artifact: &Artifact, bucket: &str, stored: Option<&Stored>) -> Result<()> {
    let want = &artifact.package.source_code_hash;
    match stored {
        Some(s)
            if s.checksum_sha256.as_deref() == Some(want.as_str())
                && s.size == Some(artifact.package.size as i64) =>
        {
            Ok(())
        }
        Some(s) => bail!(
            "s3://{bucket}/{}: after the upload S3 reports ChecksumSHA256 {:?} and size {:?}, \
             expected {want} and {} ({})",
            artifact.key,
            s.checksum_sha256,
            s.size,
            artifact.package.size,
            artifact.path.display()
        ),
        None => bail!(
            "s3://{bucket}/{}: not found right after the upload",
            artifact.key
        ),
    }
}

/// The module inputs as an `*.auto.tfvars.json` document: `lambda_s3_code` per function, with
/// `source_code_hash` and `architecture` from the manifest and the object version when the
/// bucket is versioned.
pub fn module_inputs(bucket: &str, published: &[(Artifact, Option<String>)]) -> String {
    let code: BTreeMap<&str, serde_json::Value> = published
        .iter()
        .map(|(a, version)| {
            let mut entry = json!({
                "bucket": bucket,
                "key": a.key,
                "source_code_hash": a.package.source_code_hash,
                "architecture": a.package.architecture,
            });
            if let Some(v) = version {
                entry["version"] = json!(v);
            }
            (a.function.as_str(), entry)
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&json!({ "lambda_s3_code": code })).expect("inputs serialise");
    text.push('\n');
    text
}

pub fn run(args: &Args) -> Result<()> {
    let (manifest, artifacts) = load_artifacts(&args.package_dir, &args.prefix)?;
    eprintln!(
        "[gen publish] {} zips ({}, profile {}) from {} to s3://{}/{}",
        artifacts.len(),
        manifest
            .functions
            .values()
            .next()
            .map_or("", |p| p.architecture.as_str()),
        manifest.profile,
        args.package_dir.display(),
        args.bucket,
        args.prefix.trim_end_matches('/')
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let published = runtime.block_on(async {
        let store = s3::Store::new(args.endpoint_url.as_deref(), args.region.as_deref()).await;
        let mut published = Vec::new();
        for artifact in artifacts {
            let version = publish_one(&store, &args.bucket, &artifact).await?;
            published.push((artifact, version));
        }
        anyhow::Ok(published)
    })?;
    let inputs = module_inputs(&args.bucket, &published);
    match &args.out {
        Some(path) => {
            crate::package::write_atomically(path, inputs.as_bytes())?;
            eprintln!("[gen publish] module inputs written to {}", path.display());
        }
        None => print!("{inputs}"),
    }
    Ok(())
}

async fn publish_one(
    store: &s3::Store,
    bucket: &str,
    artifact: &Artifact,
) -> Result<Option<String>> {
    let at = format!("s3://{bucket}/{}", artifact.key);
    let before = store.head(bucket, &artifact.key).await?;
    let action = decide(artifact, bucket, before.as_ref())?;
    if action == Action::Skip {
        eprintln!(
            "  {:<18} already there  {at} (ChecksumSHA256 matches)",
            artifact.function
        );
        return Ok(before.and_then(|s| s.version_id));
    }
    store
        .put(
            bucket,
            &artifact.key,
            artifact.bytes.clone(),
            &artifact.package.source_code_hash,
        )
        .await
        .with_context(|| format!("uploading {}", artifact.path.display()))?;
    let after = store.head(bucket, &artifact.key).await?;
    verify(artifact, bucket, after.as_ref())?;
    eprintln!(
        "  {:<18} {}  {at} ({}, ChecksumSHA256 verified)",
        artifact.function,
        if action == Action::Replace {
            "re-uploaded  "
        } else {
            "uploaded     "
        },
        crate::package::human_size(artifact.package.size)
    );
    Ok(after.and_then(|s| s.version_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_with(zips: &[(&str, &[u8])]) -> Manifest {
        let mut m = Manifest::new("release");
        for (f, bytes) in zips {
            m.insert(
                f,
                FunctionPackage::describe("arm64", &format!("arm64/{f}.zip"), bytes),
            );
        }
        m
    }

    fn all() -> Manifest {
        manifest_with(&[
            ("log-processor", b"lp"),
            ("metrics-api", b"api"),
            ("runbook-executor", b"rb"),
        ])
    }

    fn artifact() -> Artifact {
        let package = FunctionPackage::describe("arm64", "arm64/metrics-api.zip", b"api");
        Artifact {
            function: "metrics-api".into(),
            path: "dist/lambda/arm64/metrics-api.zip".into(),
            key: object_key("lambda", "metrics-api", &package.sha256),
            package,
            bytes: b"api".to_vec(),
        }
    }

    #[test]
    fn keys_are_prefix_function_and_the_zips_sha256() {
        let sha = "ab".repeat(32);
        assert_eq!(
            object_key("ci/appmon", "metrics-api", &sha),
            format!("ci/appmon/metrics-api/{sha}.zip")
        );
        assert_eq!(
            object_key("ci/", "metrics-api", &sha),
            format!("ci/metrics-api/{sha}.zip")
        );
        assert_eq!(
            object_key("", "log-processor", &sha),
            format!("log-processor/{sha}.zip")
        );
    }

    #[test]
    fn equal_zips_share_a_key_and_different_zips_never_do() {
        let a = FunctionPackage::describe("arm64", "a.zip", b"same bytes");
        let b = FunctionPackage::describe("arm64", "b.zip", b"same bytes");
        let c = FunctionPackage::describe("arm64", "a.zip", b"other bytes");
        let key = |p: &FunctionPackage| object_key("lambda", "metrics-api", &p.sha256);
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn prefixes_outside_the_safe_key_characters_are_refused_naming_the_flag() {
        for ok in ["", "lambda", "ci/appmon-prod/v1.2", "a/b/", "x_(1)!*'"] {
            assert_eq!(check_prefix(ok), Ok(()), "{ok:?}");
        }
        for bad in [
            "/lambda", "a//b", "a/../b", "./a", "a b", "a+b", "ü", "a\\b", "a?b",
        ] {
            let err = check_prefix(bad).unwrap_err();
            assert!(err.starts_with("--prefix"), "{bad:?}: {err}");
        }
        assert!(check_prefix(&"p".repeat(1000))
            .unwrap_err()
            .contains("1024"));
    }

    #[test]
    fn a_manifest_must_name_exactly_the_deployed_functions() {
        check_manifest(&all()).unwrap();
        let err = check_manifest(&manifest_with(&[("log-processor", b"lp")])).unwrap_err();
        assert!(
            err.to_string()
                .contains("no entry for metrics-api, runbook-executor"),
            "{err}"
        );
        let mut extra = all();
        extra.insert(
            "other",
            FunctionPackage::describe("arm64", "arm64/o.zip", b"o"),
        );
        assert!(check_manifest(&extra)
            .unwrap_err()
            .to_string()
            .contains("functions.other"));
    }

    #[test]
    fn manifest_hashes_and_paths_are_checked_naming_the_field() {
        let mut m = all();
        m.functions.get_mut("metrics-api").unwrap().source_code_hash = "AAAA".into();
        let err = check_manifest(&m).unwrap_err().to_string();
        assert!(
            err.contains("functions.metrics-api.source_code_hash"),
            "{err}"
        );

        let mut m = all();
        m.functions.get_mut("metrics-api").unwrap().sha256 = "AB".repeat(32);
        let err = check_manifest(&m).unwrap_err().to_string();
        assert!(err.contains("functions.metrics-api.sha256"), "{err}");

        let mut m = all();
        m.functions.get_mut("log-processor").unwrap().zip = "../elsewhere.zip".into();
        let err = check_manifest(&m).unwrap_err().to_string();
        assert!(err.contains("functions.log-processor.zip"), "{err}");

        let mut m = all();
        m.functions.get_mut("log-processor").unwrap().architecture = "x86_64".into();
        let err = check_manifest(&m).unwrap_err().to_string();
        assert!(err.contains("several architectures"), "{err}");

        assert!(parse_manifest(
            &all()
                .to_json()
                .replace("\"format_version\": 1", "\"format_version\": 2")
        )
        .unwrap_err()
        .to_string()
        .contains("format_version 2"));
    }

    #[test]
    fn zips_are_read_and_checked_against_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let m = all();
        std::fs::create_dir_all(dir.path().join("arm64")).unwrap();
        for (f, bytes) in [
            ("log-processor", &b"lp"[..]),
            ("metrics-api", b"api"),
            ("runbook-executor", b"rb"),
        ] {
            std::fs::write(dir.path().join(format!("arm64/{f}.zip")), bytes).unwrap();
        }
        std::fs::write(dir.path().join("manifest.json"), m.to_json()).unwrap();
        let (_, artifacts) = load_artifacts(dir.path(), "p").unwrap();
        let keys: Vec<&str> = artifacts.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            m.functions
                .iter()
                .map(|(f, p)| format!("p/{f}/{}.zip", p.sha256))
                .collect::<Vec<_>>()
        );
        assert_eq!(artifacts[1].bytes, b"api");

        // A zip rebuilt after the manifest was written is refused, naming the file.
        std::fs::write(dir.path().join("arm64/metrics-api.zip"), b"rebuilt").unwrap();
        let err = format!("{:#}", load_artifacts(dir.path(), "p").unwrap_err());
        assert!(
            err.contains("arm64/metrics-api.zip") && err.contains("package again"),
            "{err}"
        );

        std::fs::remove_file(dir.path().join("arm64/metrics-api.zip")).unwrap();
        let err = format!("{:#}", load_artifacts(dir.path(), "p").unwrap_err());
        assert!(err.contains("arm64/metrics-api.zip"), "{err}");

        let empty = tempfile::tempdir().unwrap();
        let err = format!("{:#}", load_artifacts(empty.path(), "p").unwrap_err());
        assert!(
            err.contains("manifest.json") && err.contains("gen package"),
            "{err}"
        );
    }

    #[test]
    fn an_object_with_the_same_checksum_is_not_uploaded_again() {
        let a = artifact();
        let same = Stored {
            checksum_sha256: Some(a.package.source_code_hash.clone()),
            size: Some(a.package.size as i64),
            version_id: None,
        };
        assert_eq!(decide(&a, "b", None).unwrap(), Action::Upload);
        assert_eq!(decide(&a, "b", Some(&same)).unwrap(), Action::Skip);
        let unsummed = Stored {
            checksum_sha256: None,
            ..same.clone()
        };
        assert_eq!(decide(&a, "b", Some(&unsummed)).unwrap(), Action::Replace);
        let other = Stored {
            checksum_sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
            ..same.clone()
        };
        let err = decide(&a, "b", Some(&other)).unwrap_err().to_string();
        assert!(err.starts_with(&format!("s3://b/{}", a.key)), "{err}");
        // A checksum that matches but a size that does not is not "the same object" either.
        let truncated = Stored {
            size: Some(1),
            ..same.clone()
        };
        assert!(decide(&a, "b", Some(&truncated)).is_err());
        assert!(verify(&a, "b", Some(&same)).is_ok());
        assert!(verify(&a, "b", Some(&other)).is_err());
        assert!(verify(&a, "b", None).is_err());
    }

    #[test]
    fn inputs_are_lambda_s3_code_with_the_manifests_hash_and_architecture() {
        let a = artifact();
        let doc: serde_json::Value =
            serde_json::from_str(&module_inputs("art", &[(a.clone(), Some("v1".into()))])).unwrap();
        assert_eq!(
            doc,
            json!({"lambda_s3_code": {"metrics-api": {
                "bucket": "art",
                "key": a.key,
                "source_code_hash": a.package.source_code_hash,
                "architecture": "arm64",
                "version": "v1",
            }}})
        );
        let unversioned: serde_json::Value =
            serde_json::from_str(&module_inputs("art", &[(a, None)])).unwrap();
        assert!(unversioned["lambda_s3_code"]["metrics-api"]
            .get("version")
            .is_none());
    }
}
