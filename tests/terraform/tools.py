"""Running terraform and checkov on copies of the generated module and the examples.

Copies keep `.terraform/`, lock files and plans out of the checkout. Missing tools fail the test
with a message saying how to install them: nothing here is ever skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "terraform"
EXAMPLES = REPO / "examples"
FUNCTIONS = ("log-processor", "metrics-api", "runbook-executor")

TERRAFORM_HINT = (
    "terraform is not on PATH: install Terraform >= 1.5 (tested with 1.11.4) from "
    "https://releases.hashicorp.com/terraform/ into /usr/local/bin"
)
CHECKOV_HINT = (
    "checkov is missing: run scripts/bootstrap.sh (or `python3 -m venv .tools/checkov && "
    ".tools/checkov/bin/pip install checkov`), or set CHECKOV to its path"
)


def plugin_dir() -> Path:
    path = Path(os.environ.get("TF_PLUGIN_MIRROR") or "/opt/tf-plugins")
    if not (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.fail(
            f"provider mirror {path} has no hashicorp/aws: run `terraform providers mirror <dir>` "
            "with a hashicorp/aws >= 5.0 requirement somewhere online, copy it here and set "
            "TF_PLUGIN_MIRROR to it"
        )
    return path


def terraform_bin() -> str:
    found = shutil.which("terraform")
    if found is None:
        pytest.fail(TERRAFORM_HINT)
    return found


def checkov_bin() -> str:
    candidates = [os.environ.get("CHECKOV"), str(REPO / ".tools/checkov/bin/checkov"), shutil.which("checkov")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(CHECKOV_HINT)


def tf_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TF_CLI_CONFIG_FILE": "/dev/null",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            # Dummy credentials: nothing here may reach AWS.
            "AWS_ACCESS_KEY_ID": "offline",
            "AWS_SECRET_ACCESS_KEY": "offline",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    return env


def run(args: list[str], cwd: Path, timeout: int = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=tf_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"`{' '.join(args)}` in {cwd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def terraform(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return run([terraform_bin(), *args], cwd, **kw)


def init(cwd: Path, backend: bool = True) -> None:
    terraform(["init", "-input=false", "-no-color", f"-plugin-dir={plugin_dir()}"]
              + ([] if backend else ["-backend=false"]), cwd)


def copy_tree(dest: Path) -> Path:
    """terraform/ and examples/ copied with their relative layout; returns the copy's root."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl", "*.tfplan")
    if not MODULE.is_dir() or not any(MODULE.glob("*.tf")):
        pytest.fail(f"{MODULE} holds no module: run `cargo run -p monitoring-gen -- terraform`")
    shutil.copytree(MODULE, dest / "terraform", ignore=ignore)
    shutil.copytree(EXAMPLES, dest / "examples", ignore=ignore)
    return dest


def fake_package(dest: Path, arch: str = "arm64") -> dict:
    """A manifest + tiny zips in the layout `gen package` writes; returns the manifest."""
    functions = {}
    for name in FUNCTIONS:
        rel = f"{arch}/{name}.zip"
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as z:
            info = zipfile.ZipInfo("bootstrap", (1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o755 << 16
            z.writestr(info, f"#!/bin/sh\necho {name}\n")
        data = path.read_bytes()
        digest = hashlib.sha256(data).digest()
        functions[name] = {
            "architecture": arch,
            "zip": rel,
            "sha256": digest.hex(),
            "source_code_hash": base64.b64encode(digest).decode(),
            "size": len(data),
        }
    manifest = {"format_version": 1, "profile": "release", "functions": functions}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


OFFLINE_PROVIDER = """
# Written by tests/terraform: plan without an AWS account.
provider "aws" {
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
"""
