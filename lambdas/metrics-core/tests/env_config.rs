//! `aws::sdk_config()` takes region, credentials and `AWS_ENDPOINT_URL` from the environment, as
//! the functions get them from Lambda (and from the e2e harness for moto). The test re-runs
//! itself as a child process with that environment, so this process's environment is not mutated.

use metrics_core::MetricStore;
use std::process::Command;
use test_support::{dynamo, Moto};

const CHILD_MARKER: &str = "METRICS_CORE_ENV_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_config_honours_aws_endpoint_url_and_region() {
    if std::env::var_os(CHILD_MARKER).is_some() {
        return child().await;
    }
    let moto = Moto::start();
    let client = dynamo::client(&moto.endpoint).await;
    dynamo::create_metric_table(&client, "FromEnv").await;
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sdk_config_honours_aws_endpoint_url_and_region",
            "--nocapture",
        ])
        .env(CHILD_MARKER, "1")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("child: ping ok"),
        "the child did not run:\n{text}"
    );
}

async fn child() {
    let conf = metrics_core::aws::sdk_config().await;
    let endpoint = metrics_core::aws::endpoint_override().expect("AWS_ENDPOINT_URL is set");
    assert_eq!(conf.endpoint_url(), Some(endpoint.as_str()));
    assert_eq!(conf.region().map(|r| r.as_ref()), Some("us-east-1"));
    let store = MetricStore::new(metrics_core::aws::dynamodb_client(&conf), "FromEnv");
    store
        .ping()
        .await
        .expect("DescribeTable through the environment's endpoint");
    println!("child: ping ok");
}
