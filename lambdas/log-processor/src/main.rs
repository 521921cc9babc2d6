use lambda_runtime::{service_fn, Error, LambdaEvent};
use log_processor::handler::{handle, Deps};
use metrics_core::MetricWriter;
use serde_json::Value;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Display, not Debug: this is what the Lambda init error log and the CLI user see.
    let result = match log_processor::cli::parse_args(&args) {
        Ok(Some(file_args)) => log_processor::cli::run(&file_args).map_err(Error::from),
        Ok(None) => lambda(),
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

fn lambda() -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async {
            metrics_core::aws::init_tracing();
            let table = metrics_core::aws::required_env("METRICS_TABLE")?;
            let config = metrics_core::aws::sdk_config().await;
            let deps = Deps {
                s3: log_processor::s3::LogObjects::new(&config),
                store: MetricWriter::new(metrics_core::aws::dynamodb_client(&config), table),
            };
            lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
                let deps = deps.clone();
                async move { handle(&deps, event.payload).await }
            }))
            .await
        })
}
