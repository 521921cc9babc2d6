use chrono::Utc;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use metrics_core::env::FromEnv;
use runbook_executor::aws::AwsPorts;
use runbook_executor::config::Config;
use runbook_executor::handler::{invoke, Deps};
use serde_json::Value;

/// The shape of all three functions: configuration and clients built once per execution
/// environment, borrowed by every invocation.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    metrics_core::aws::init_tracing();
    // Logged with Display: main's own error print is Debug, this is the line an operator reads.
    let config = Config::from_env().inspect_err(
        |e| tracing::error!(error = %e, variable = e.name(), "invalid configuration"),
    )?;
    let sdk = metrics_core::aws::sdk_config().await;
    let aws = AwsPorts::new(&sdk, &config);
    let deps = Deps {
        ports: aws.ports(),
        runbooks: &aws.ssm,
        runbook_prefix: &config.runbook_prefix,
        settings: &config.settings,
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        invoke(&event.payload, deps, Utc::now()).await
    }))
    .await
}
