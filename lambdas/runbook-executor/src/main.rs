use chrono::Utc;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use runbook_executor::aws::AwsPorts;
use runbook_executor::config::Config;
use runbook_executor::handler::{handle, Deps, Summary};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    metrics_core::aws::init_tracing();
    // Display, not Debug: this is the line an operator reads when the module's env is wrong.
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e.to_string())
    })?;
    let sdk = metrics_core::aws::sdk_config().await;
    let aws = AwsPorts::new(&sdk, &config);
    let (config, aws) = (&config, &aws);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deps = Deps {
            ports: aws.ports(),
            runbooks: &aws.ssm,
            runbook_prefix: &config.runbook_prefix,
            settings: &config.settings,
        };
        let summary: Summary = handle(&event.payload, &deps, Utc::now()).await?;
        // Claims could not be written: fail so Lambda retries (claimed steps will not rerun).
        if let Some(failure) = summary.failure() {
            tracing::error!(summary = %serde_json::to_string(&summary).unwrap_or_default(), "{failure}");
            return Err(Error::from(failure));
        }
        Ok::<Summary, Error>(summary)
    }))
    .await
}
