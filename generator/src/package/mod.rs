//! `gen package`: builds the three Lambda functions for `provided.al2023` with cargo-lambda,
//! checks each `bootstrap` (architecture, GLIBC bound), packs it into a byte-reproducible zip and
//! writes `manifest.json`, which the Terraform module reads for paths and `source_code_hash`.

mod elf;
mod manifest;
mod zip;

pub use manifest::{FunctionPackage, Manifest, FORMAT_VERSION};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use contract::Function;

/// The functions the module deploys; each one's `slug` is its Cargo package (= binary) name.
const FUNCTIONS: [Function; 3] = Function::ALL;

/// The CPU architecture is the one `monitoring.toml` names (`project.architecture`).
pub use crate::config::model::Architecture as Arch;

fn cargo_lambda_flag(arch: Arch) -> &'static str {
    match arch {
        Arch::Arm64 => "--arm64",
        Arch::X86_64 => "--x86-64",
    }
}

fn elf_machine(arch: Arch) -> elf::Machine {
    match arch {
        Arch::Arm64 => elf::Machine::Aarch64,
        Arch::X86_64 => elf::Machine::X86_64,
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CPU architecture to build for.
    #[arg(long, value_enum, default_value_t = Arch::Arm64)]
    pub arch: Arch,
    /// Cargo profile: `release` to deploy; `e2e` builds faster (no LTO) for local tests.
    #[arg(long, default_value = "release", value_name = "NAME")]
    pub profile: String,
    /// Directory for the zips and manifest.json.
    #[arg(long, default_value = "dist/lambda", value_name = "DIR")]
    pub out: PathBuf,
    /// Newest GLIBC symbol version a binary may need (provided.al2023 has glibc 2.34).
    #[arg(long, default_value = "2.34", value_name = "VERSION")]
    pub max_glibc: String,
    /// Package the binaries a previous build left instead of running cargo lambda.
    #[arg(long)]
    pub skip_build: bool,
    /// Workspace root; default: the nearest parent of the current directory with a workspace Cargo.toml.
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    let max_glibc = elf::GlibcVersion::parse(&args.max_glibc).with_context(|| {
        format!(
            "--max-glibc {:?}: expected a version like 2.34",
            args.max_glibc
        )
    })?;
    let workspace = match &args.workspace {
        Some(dir) => dir.clone(),
        None => find_workspace_root(&std::env::current_dir()?)?,
    };
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let lambda_dir =
        target_dir
            .join("lambda")
            .join(format!("{}-{}", args.arch.as_str(), args.profile));
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        std::env::current_dir()?.join(&args.out)
    };
    let started = Instant::now();

    if args.skip_build {
        step(1, "build skipped (--skip-build)");
    } else {
        step(
            1,
            &format!(
                "cargo lambda build: {} ({}, profile {})",
                FUNCTIONS.map(Function::slug).join(", "),
                args.arch.as_str(),
                args.profile
            ),
        );
        build(&workspace, args, &lambda_dir)?;
        eprintln!("      built in {}", elapsed(started));
    }

    step(
        2,
        &format!("checking binaries (machine, newest GLIBC <= {max_glibc})"),
    );
    let mut binaries = Vec::new();
    for function in FUNCTIONS.map(Function::slug) {
        let path = lambda_dir.join(function).join("bootstrap");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "{}: cannot read the built bootstrap (run without --skip-build?)",
                path.display()
            )
        })?;
        check_binary(function, &bytes, args.arch, max_glibc)?;
        binaries.push((function, bytes));
    }

    step(
        3,
        &format!("writing zips and manifest to {}", out.display()),
    );
    let arch_dir = out.join(args.arch.as_str());
    std::fs::create_dir_all(&arch_dir)
        .with_context(|| format!("creating {}", arch_dir.display()))?;
    let mut manifest = Manifest::new(&args.profile);
    for (function, bytes) in &binaries {
        let zip = zip::single_file_zip("bootstrap", bytes)?;
        let relative = format!("{}/{function}.zip", args.arch.as_str());
        write_atomically(&out.join(&relative), &zip)?;
        manifest.insert(
            function,
            FunctionPackage::describe(args.arch.as_str(), &relative, &zip),
        );
    }
    write_atomically(&out.join("manifest.json"), manifest.to_json().as_bytes())?;

    eprintln!("\npackaged in {}:", elapsed(started));
    for (function, package) in &manifest.functions {
        println!(
            "  {:<18} {:>9}  {}  sha256 {}",
            function,
            human_size(package.size),
            out.join(&package.zip).display(),
            package.sha256
        );
    }
    Ok(())
}

fn step(n: u32, what: &str) {
    eprintln!("[gen package] step {n}/3: {what}");
}

fn build(workspace: &Path, args: &Args, lambda_dir: &Path) -> Result<()> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace)
        .args([
            "lambda",
            "build",
            "--profile",
            &args.profile,
            cargo_lambda_flag(args.arch),
        ])
        .arg("--lambda-dir")
        .arg(lambda_dir);
    for function in FUNCTIONS.map(Function::slug) {
        cmd.args(["--package", function]);
    }
    let status = cmd.status().context(
        "running `cargo lambda build` (install it with `pip install cargo-lambda ziglang`, or run ./just build)",
    )?;
    if !status.success() {
        bail!("cargo lambda build failed ({status})");
    }
    Ok(())
}

fn check_binary(function: &str, bytes: &[u8], arch: Arch, max: elf::GlibcVersion) -> Result<()> {
    let info = elf::inspect(bytes).with_context(|| format!("{function}: bootstrap"))?;
    if info.machine != elf_machine(arch) {
        bail!(
            "{function}: bootstrap is built for {:?}, expected {}",
            info.machine,
            arch.as_str()
        );
    }
    match info.newest_glibc() {
        Some(newest) if newest > max => bail!(
            "{function}: bootstrap needs {newest}, newer than {max} (the provided.al2023 runtime): \
             build with cargo-lambda's zig linker, not a plain `cargo build`"
        ),
        Some(newest) => eprintln!("      {function:<18} ok, needs up to {newest}"),
        None => eprintln!("      {function:<18} ok, no GLIBC symbol versions (static)"),
    }
    Ok(())
}

/// The nearest directory at or above `start` whose Cargo.toml declares a `[workspace]`.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf> {
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if text.lines().any(|line| line.trim() == "[workspace]") {
                return Ok(dir.to_path_buf());
            }
        }
    }
    bail!(
        "no workspace Cargo.toml above {} (use --workspace)",
        start.display()
    )
}

/// Writes through a temporary file in the same directory, so a reader (or Terraform) never
/// sees half a zip.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("output path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn elapsed(since: Instant) -> String {
    let secs = since.elapsed().as_secs_f64();
    if secs >= 60.0 {
        format!("{}m{:02}s", (secs / 60.0) as u64, secs as u64 % 60)
    } else {
        format!("{secs:.1}s")
    }
}

pub(crate) fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_this_workspace() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = find_workspace_root(here).unwrap();
        assert_eq!(root, here.parent().unwrap());
    }

    #[test]
    fn refuses_wrong_architecture() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let newest = elf::GlibcVersion(9, 99, 0);
        let err = check_binary("x", &me, Arch::Arm64, newest).unwrap_err();
        assert!(err.to_string().contains("expected arm64"), "{err}");
        check_binary("x", &me, Arch::X86_64, newest).unwrap();
    }

    #[test]
    fn refuses_glibc_newer_than_the_runtime() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let err = check_binary("x", &me, Arch::X86_64, elf::GlibcVersion(2, 0, 0)).unwrap_err();
        assert!(err.to_string().contains("newer than GLIBC_2.0"), "{err}");
    }
}
