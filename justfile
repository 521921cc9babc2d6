# Tasks for the monitoring stack. On a fresh clone, run them through ./just (it installs just).
# Every recipe installs the pinned tools it needs first (scripts/bootstrap.sh, idempotent).

set shell := ["bash", "-euo", "pipefail", "-c"]

root := justfile_directory()
python := root / ".tools/venv/bin/python"
gen := "cargo run --quiet --locked -p monitoring-gen --"

# Pinned tools first on PATH: cargo-lambda needs the venv's zig shim.
export PATH := root / ".tools/venv/bin" + ":" + env_var("PATH")
# No personal Terraform CLI config: providers come from the mirror via -plugin-dir.
export TF_CLI_CONFIG_FILE := "/dev/null"
export TF_IN_AUTOMATION := "1"
export TF_PLUGIN_MIRROR := `scripts/tf-mirror.sh 2>/dev/null || true`
# Packages the tests deploy and run: x86_64 (this machine runs them), faster `e2e` profile.
export LAMBDA_PACKAGE_DIR := root / "dist/e2e/lambda"

# List the recipes.
default:
    @just --list --unsorted

# Build and package the three functions (arm64, release), smoke-test the zips, write the Terraform module.
build arch="arm64" profile="release": tools && (smoke "dist/lambda")
    {{gen}} package --arch {{arch}} --profile {{profile}} --out dist/lambda
    {{gen}} terraform

# Run every test: lint, unit, generated-code check, terraform test, Terraform + checkov, packaging, arm64 smoke, end to end.
test: tools-all lint unit local-tests generated tftest terraform-tests packaging-tests smoke-arm64 e2e
    @echo "just test: all suites passed"

# cargo fmt --check, clippy -D warnings, terraform fmt -check.
lint: tools
    cargo fmt --all --check
    cargo clippy --locked --workspace --all-targets -- -D warnings
    terraform fmt -check -recursive terraform examples

# Unit and crate-level integration tests (moto-backed ones start their own server).
unit: tools
    cargo test --locked --workspace

# scripts/local.py's decisions (`just local`'s client commands), without a stack: about a second.
local-tests: tools
    {{python}} -m pytest -q tests/local

# Fail when the committed terraform/ differs from what `gen terraform` writes.
generated: tools
    {{gen}} terraform --check

# The module's own `terraform test` files (terraform/tests/, written by gen): offline, mock provider.
tftest: tools
    @[[ -n "$TF_PLUGIN_MIRROR" ]] || { echo "tftest: no provider mirror with hashicorp/aws found (scripts/tf-mirror.sh); set TF_PLUGIN_MIRROR" >&2; exit 1; }
    cd terraform && terraform init -input=false -no-color -backend=false -plugin-dir="$TF_PLUGIN_MIRROR" >/dev/null
    cd terraform && terraform test -no-color

# terraform fmt/init/validate/plan assertions and checkov on the generated module.
terraform-tests: tools-all
    cargo build --quiet --locked -p monitoring-gen
    GEN_BIN="${CARGO_TARGET_DIR:-{{root}}/target}/debug/gen" {{python}} -m pytest -q tests/terraform

# Package the x86_64 test build into dist/e2e/lambda (what e2e deploys and runs).
package-e2e: tools
    {{gen}} package --arch x86_64 --profile e2e --out "$LAMBDA_PACKAGE_DIR"

# Reproducible zips and the GLIBC bound, on the e2e packages.
packaging-tests: package-e2e
    {{python}} -m pytest -q tests/packaging

# Run the zips in DIR (arm64 under qemu): start, first poll, one invocation, log-processor vs host build.
smoke dir="dist/lambda": package-e2e
    if grep -q '"architecture": "arm64"' "{{dir}}/manifest.json" && [[ "$(uname -m)" != aarch64 ]]; then scripts/bootstrap.sh --with-qemu; fi
    {{python}} tests/packaging/smoke.py "{{dir}}"

# Package the arm64 build of the `e2e` profile into dist/e2e-arm64/lambda (smoke-tested, never deployed).
package-e2e-arm64: tools
    {{gen}} package --arch arm64 --profile e2e --out dist/e2e-arm64/lambda

# The smoke test on the arm64 e2e packages: CI covers the deployed architecture without a release build.
smoke-arm64: package-e2e-arm64 (smoke "dist/e2e-arm64/lambda")

# The whole stack on a local moto server: apply, ingest, query, alarm, the local page in headless Chromium, re-plan, destroy.
e2e: package-e2e
    scripts/bootstrap.sh --with-chart --with-chromium
    {{python}} -m pytest -q -s tests/e2e

# The same stack left running locally for a person to try, with a page charting it (Ctrl-C stops it).
local: package-e2e
    scripts/bootstrap.sh --with-chart
    {{python}} scripts/local.py

# Benchmarks; figures go to docs/benchmarks.md.
bench: tools
    {{python}} scripts/bench/run_all.py

# Format Rust and Terraform sources (the generated module is formatted by gen itself).
fmt: tools
    cargo fmt --all
    terraform fmt -recursive examples

# Regenerate terraform/ from monitoring.toml.
generate: tools
    {{gen}} terraform

# Install the pinned tools (idempotent).
tools:
    @scripts/bootstrap.sh

# Install the tools plus checkov (only the tests need it).
tools-all:
    @scripts/bootstrap.sh --with-checkov
