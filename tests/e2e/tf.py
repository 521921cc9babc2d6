"""Terraform against the local emulator, without touching the repository.

The example and the module it calls are copied to a temp dir with their relative layout, so
`.terraform/`, the lock file and the state never land in the checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

INSTALL_HINT = (
    "terraform is not on PATH. Install Terraform >= 1.5 (this project is tested with 1.11.4), e.g. "
    "from https://releases.hashicorp.com/terraform/ into /usr/local/bin."
)


class TerraformError(RuntimeError):
    pass


def copy_config(repo: Path, example: str, dest: Path) -> Path:
    """Copy terraform/ and examples/<example>/ into dest; returns the example's copy."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    shutil.copytree(repo / "terraform", dest / "terraform", ignore=ignore)
    shutil.copytree(repo / "examples" / example, dest / "examples" / example, ignore=ignore)
    return dest / "examples" / example


def declared_variables(config_dir: Path) -> set[str]:
    names: set[str] = set()
    for tf in config_dir.glob("*.tf"):
        names.update(re.findall(r'^\s*variable\s+"([^"]+)"', tf.read_text(), re.M))
    return names


class Terraform:
    def __init__(self, config_dir: Path, data_dir: Path, env: dict[str, str], log_path: Path):
        if shutil.which("terraform") is None:
            raise TerraformError(INSTALL_HINT)
        self.dir = config_dir
        self.log_path = log_path
        from .moto_server import scrub_env

        self.env = scrub_env(dict(os.environ))  # only the credentials handed in
        self.env.pop("LAMBDA_PACKAGE_DIR", None)  # the package reaches terraform only as a -var
        self.env.update(env)
        self.env.update({
            "TF_CLI_CONFIG_FILE": "/dev/null",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_DATA_DIR": str(data_dir),
            "CHECKPOINT_DISABLE": "1",
        })
        self.plugin_dir = os.environ.get("TF_PLUGIN_MIRROR") or "/opt/tf-plugins"
        if not Path(self.plugin_dir).is_dir():
            raise TerraformError(
                f"provider mirror {self.plugin_dir} is missing: set TF_PLUGIN_MIRROR to a folder laid out "
                "like `terraform providers mirror` output holding hashicorp/aws 5.x")
        self.var_args: list[str] = []

    def run(self, *args: str, ok_codes=(0,), timeout: float = 900) -> subprocess.CompletedProcess:
        argv = ["terraform", f"-chdir={self.dir}", *args]
        start = time.monotonic()
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout)
        with open(self.log_path, "a") as log:
            log.write(f"$ {' '.join(argv)}  # exit {proc.returncode} in {time.monotonic() - start:.1f}s\n")
            log.write(proc.stdout)
            log.write(proc.stderr)
        if proc.returncode not in ok_codes:
            text = proc.stderr.strip() or proc.stdout.strip()
            at = text.find("Error:")  # terraform prints the diagnostics after the plan
            raise TerraformError(f"`terraform {args[0]}` exited {proc.returncode} (full log {self.log_path}):\n"
                                 + (text[at:] if at >= 0 else text)[-6000:])
        return proc

    def init(self) -> None:
        self.run("init", "-input=false", "-no-color", f"-plugin-dir={self.plugin_dir}")

    def apply(self) -> None:
        self.run("apply", "-input=false", "-no-color", "-auto-approve", *self.var_args)

    def plan_to_file(self, name: str = "tfplan") -> None:
        """`plan -out=<name>` (in the configuration directory): what job 1 of a split pipeline keeps."""
        self.run("plan", "-input=false", "-no-color", f"-out={name}", *self.var_args)

    def apply_saved(self, name: str = "tfplan") -> None:
        """`apply <plan>`: exactly the saved plan, no variables and no re-plan (Terraform refuses
        -var with a saved plan, and a plan whose state has moved on as stale)."""
        self.run("apply", "-input=false", "-no-color", name)

    def plan_changes(self) -> tuple[int, str]:
        """`plan -detailed-exitcode`: (0 no changes | 2 changes, the plan text)."""
        p = self.run("plan", "-input=false", "-no-color", "-detailed-exitcode", *self.var_args, ok_codes=(0, 2))
        return p.returncode, p.stdout

    def destroy(self) -> None:
        self.run("destroy", "-input=false", "-no-color", "-auto-approve", *self.var_args)

    def outputs(self) -> dict:
        import json

        raw = json.loads(self.run("output", "-json").stdout or "{}")
        return {k: v.get("value") for k, v in raw.items()}

    def state_resources(self) -> list[str]:
        p = self.run("state", "list", ok_codes=(0, 1))
        return [line for line in p.stdout.splitlines() if line.strip()]
