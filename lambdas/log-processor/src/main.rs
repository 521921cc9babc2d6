use lambda_runtime::{service_fn, Error, LambdaEvent};
use log_processor::config::Config;
use log_processor::handler::{handle, Deps};
use metrics_core::env::FromEnv;
use serde_json::Value;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Display, not Debug: this is what the Lambda init error log and the CLI user see.
    let result = match log_processor::cli::parse_args(&args) {
        Ok(Some(file_args)) => log_processor::cli::run(&file_args).map_err(Error::from),
        Ok(None) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::from)
            .and_then(|rt| rt.block_on(lambda())),
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("log-processor: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The shape of all three functions: configuration and clients built once per execution
/// environment, borrowed by every invocation.
async fn lambda() -> Result<(), Error> {
    metrics_core::aws::init_tracing();
    let config = Config::from_env().inspect_err(
        |e| tracing::error!(error = %e, variable = e.name(), "invalid configuration"),
    )?;
    let sdk = metrics_core::aws::sdk_config().await;
    let deps = Deps::new(&sdk, &config);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(deps, event.payload).await
    }))
    .await
}
