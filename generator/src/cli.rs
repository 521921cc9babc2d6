//! The `gen` command line.

use crate::{config, output, package, publish};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "gen",
    version,
    about = "Writes the monitoring stack's Terraform module and packages its Lambda functions",
    long_about = "Writes the monitoring stack's Terraform module from monitoring.toml and packages \
                  its Lambda functions.\n\nExit codes: 0 ok, 1 `--check` found differences, \
                  2 usage or config error, 3 I/O or build error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented starter monitoring.toml.
    Init(InitArgs),
    /// Write the Terraform module (and its README) described by monitoring.toml.
    Terraform(TerraformArgs),
    /// Build the Lambda functions and package them as reproducible zips.
    Package(package::Args),
    /// Upload the packaged zips to S3 under content-addressed keys and print the module inputs
    /// (`lambda_s3_code`, as *.auto.tfvars.json) that deploy them: plan on one machine, apply the
    /// saved plan on another without the zips.
    Publish(publish::Args),
    /// Print, as JSON, the contract the module and the functions share: each AWS operation's
    /// request name and the IAM actions that authorise it, and each function's grants (read by
    /// the local test harness to give each function its role's permissions under moto's names).
    Contract,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Where to write the starter config.
    #[arg(default_value = "monitoring.toml")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct TerraformArgs {
    /// The configuration to read.
    #[arg(long, default_value = "monitoring.toml", value_name = "FILE")]
    pub config: PathBuf,
    /// The module's root directory.
    #[arg(long, default_value = "terraform", value_name = "DIR")]
    pub out: PathBuf,
    /// Write nothing; show a diff and exit 1 when the directory differs from what gen would write.
    #[arg(long)]
    pub check: bool,
}

/// Exit codes, as documented in `--help`.
pub mod exit {
    pub const OK: u8 = 0;
    pub const DIFFERENT: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const IO: u8 = 3;
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(run(cli))
}

/// Runs a parsed command; returns the exit code.
pub fn run(cli: Cli) -> u8 {
    match cli.command {
        Command::Init(args) => init(&args),
        Command::Terraform(args) => terraform(&args),
        Command::Package(args) => match package::run(&args) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("gen package: {e:#}");
                exit::IO
            }
        },
        Command::Publish(args) => {
            if let Err(e) = publish::check_prefix(&args.prefix) {
                eprintln!("gen publish: {e}");
                return exit::USAGE;
            }
            if args.bucket.trim().is_empty() {
                eprintln!("gen publish: --bucket must name a bucket");
                return exit::USAGE;
            }
            match publish::run(&args) {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("gen publish: {e:#}");
                    exit::IO
                }
            }
        }
        Command::Contract => {
            println!("{}", contract_json());
            exit::OK
        }
    }
}

fn contract_json() -> String {
    use contract::{Function, Operation};
    let operations: Vec<serde_json::Value> = Operation::ALL
        .iter()
        .map(|op| {
            serde_json::json!({
                "operation": op,
                "api_action": op.api_action(),
                "iam_actions": op.iam_actions(),
                "key_actions": op.key_actions(),
            })
        })
        .collect();
    let functions: serde_json::Map<String, serde_json::Value> = Function::ALL
        .iter()
        .map(|f| {
            (
                f.slug().to_owned(),
                serde_json::json!({ "grants": f.grants() }),
            )
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "operations": operations,
        "functions": functions,
    }))
    .expect("the contract serialises")
}

fn init(args: &InitArgs) -> u8 {
    if args.path.exists() && !args.force {
        eprintln!(
            "gen init: {} exists; use --force to overwrite it",
            args.path.display()
        );
        return exit::USAGE;
    }
    match std::fs::write(&args.path, config::STARTER) {
        Ok(()) => {
            println!("wrote {}", args.path.display());
            exit::OK
        }
        Err(e) => {
            eprintln!("gen init: {}: {e}", args.path.display());
            exit::IO
        }
    }
}

fn terraform(args: &TerraformArgs) -> u8 {
    let config = match config::load_config(&args.config) {
        Ok(c) => c,
        Err(e @ config::LoadError::Io(..)) => {
            // A missing config is a usage mistake; any other read failure is I/O.
            let missing = matches!(&e, config::LoadError::Io(_, io) if io.kind() == std::io::ErrorKind::NotFound);
            if missing {
                eprintln!("gen terraform: {e} (create one with `gen init`)");
                return exit::USAGE;
            }
            eprintln!("gen terraform: {e}");
            return exit::IO;
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "gen terraform: {} is invalid; nothing written",
                args.config.display()
            );
            return exit::USAGE;
        }
    };
    // Resolved once; every writer reads the plan.
    let plan = crate::plan::Plan::resolve(&config);
    let module = crate::module::Module::build(&plan);
    let mut files = module.files();
    let readmes = crate::readme::module_readmes(&plan, &module, &files);
    for readme in readmes {
        if !files.iter().any(|f| f.path == readme.path) {
            files.push(readme);
        }
    }
    files.extend(crate::module::tftest::files(&plan, &module));
    if args.check {
        return check(&args.out, &files);
    }
    match output::write_tree(&args.out, &files) {
        Ok(summary) => {
            for path in &summary.written {
                println!("wrote   {}", args.out.join(path).display());
            }
            for path in &summary.removed {
                println!("removed {} (stale)", args.out.join(path).display());
            }
            println!(
                "gen terraform: {} files in {} ({} written, {} unchanged, {} removed)",
                files.len(),
                args.out.display(),
                summary.written.len(),
                summary.unchanged.len(),
                summary.removed.len()
            );
            exit::OK
        }
        Err(e) => {
            eprintln!("gen terraform: {e}; {} left as it was", args.out.display());
            exit::IO
        }
    }
}

fn check(out: &std::path::Path, files: &[output::OutputFile]) -> u8 {
    match output::check_tree(out, files) {
        Ok(differences) if differences.is_empty() => {
            println!("gen terraform --check: {} is up to date", out.display());
            exit::OK
        }
        Ok(differences) => {
            print!("{}", output::render_differences(out, &differences));
            eprintln!(
                "gen terraform --check: {} file(s) in {} differ from what gen writes; run `gen terraform`",
                differences.len(),
                out.display()
            );
            exit::DIFFERENT
        }
        Err(e) => {
            eprintln!("gen terraform --check: {e}");
            exit::IO
        }
    }
}
