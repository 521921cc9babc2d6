use lambda_runtime::{service_fn, Error, LambdaEvent};
use metrics_api::{config::Config, App, TableClients};
use metrics_core::env::FromEnv;
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
    let client = metrics_core::aws::dynamodb_client(&sdk);
    let cloudwatch = metrics_core::MetricPublisher::new(&sdk);
    let table = TableClients::with_retention(client, &config.table, config.retention);
    let app = App::new(table, cloudwatch, config);
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event.payload).await
    }))
    .await
}
