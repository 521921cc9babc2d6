use std::process::ExitCode;

fn main() -> ExitCode {
    monitoring_gen::cli::main()
}
