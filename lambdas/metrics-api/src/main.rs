use lambda_runtime::{service_fn, Error, LambdaEvent};
use metrics_api::{config::Config, App};
use metrics_core::aws::{dynamodb_client, init_tracing, required_env, sdk_config};
use metrics_core::MetricStore;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    let table = required_env("METRICS_TABLE")?;
    let config = Config::from_env()?;
    let client = dynamodb_client(&sdk_config().await);
    let app = App::new(MetricStore::new(client, table), config);
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
