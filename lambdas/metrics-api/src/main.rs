use lambda_runtime::{service_fn, Error, LambdaEvent};
use metrics_api::{config::Config, App, TableClients};
use metrics_core::aws::{dynamodb_client, init_tracing, required_env, sdk_config};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    init_tracing();
    // Display, not Debug: main's own error print is `Missing { name: .. }`, while this is
    // the line an operator reads when the module's environment is wrong.
    let (table, config) = read_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        Error::from(e)
    })?;
    let client = dynamodb_client(&sdk_config().await);
    let app = App::new(TableClients::new(client, &table), config);
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        app.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}

fn read_env() -> Result<(String, Config), String> {
    let table = required_env("METRICS_TABLE").map_err(|e| e.to_string())?;
    Ok((table, Config::from_env()?))
}
