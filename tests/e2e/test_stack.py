"""`just e2e`: the whole stack on a private moto server, one line per step.

  1 moto   2 terraform apply of examples/local   3 resources as specified
  4 logs -> log-processor (real bootstrap, S3 events, one delivered twice)
  5 metrics API over HTTP vs. values computed here   6 alarm -> runbook-executor (twice)
  7 plan shows no changes, destroy leaves nothing
Tests run in file order and share one moto and one apply (the apply is the slow part).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from . import checks, package, procs
from .moto_server import MotoServer
from .steps import note, step
from .tf import Terraform, copy_config, declared_variables

REPO = Path(__file__).resolve().parents[2]
# Dev knob: take terraform/ and examples/local from another tree (e.g. a scratch module).
TF_ROOT = Path(os.environ.get("E2E_TF_ROOT") or REPO)


def tf_vars(config_dir: Path, endpoint: str, pkg_dir: Path) -> list[str]:
    """Values for examples/local's variables that only the harness knows."""
    args = []
    for name in sorted(declared_variables(config_dir)):
        if "endpoint" in name:
            args.append(f"-var={name}={endpoint}")
        elif name in ("lambda_package_dir", "package_dir"):
            args.append(f"-var={name}={pkg_dir.resolve()}")
        elif name in ("lambda_architecture", "architecture"):
            args.append(f"-var={name}=x86_64")
    return args


class Env:
    """Everything the steps share."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.moto: MotoServer | None = None
        self.tf: Terraform | None = None
        self.packages: dict = {}
        self.stack: checks.Stack | None = None
        self.data: dict = {}

    def aws(self, service: str):
        return self.moto.client(service)


@pytest.fixture(scope="module")
def env():
    workdir = Path(tempfile.mkdtemp(prefix="e2e-"))
    e = Env(workdir)
    note(f"work dir {workdir} (moto, terraform and function logs)")
    try:
        yield e
    finally:
        if e.moto:
            e.moto.stop()
        procs.stop_all()
        if os.environ.get("E2E_KEEP_WORKDIR") != "1" and not getattr(sys, "last_value", None):
            shutil.rmtree(workdir, ignore_errors=True)


def test_step_1_moto(env):
    with step(1, "start moto server"):
        env.packages = package.load(package.package_dir(REPO))
        env.moto = MotoServer(env.workdir, python=sys.executable).start()
        note(f"moto at {env.moto.endpoint}, packages from {package.package_dir(REPO)}")


def test_step_2_apply(env):
    assert env.moto, "step 1 failed"
    with step(2, "terraform apply examples/local"):
        config = copy_config(TF_ROOT, "local", env.workdir / "config")
        env.tf = Terraform(config, env.workdir / "tf-data", env.moto.aws_env(), env.workdir / "terraform.log")
        env.tf.var_args = tf_vars(config, env.moto.endpoint, package.package_dir(REPO))
        env.tf.init()
        env.tf.apply()
        note(f"{len(env.tf.state_resources())} resources in state")


def test_step_3_resources(env):
    assert env.tf, "step 2 failed"
    with step(3, "resources as specified"):
        env.stack, problems = checks.check_all(env.aws, env.packages)
        assert not problems, f"{len(problems)} problems:\n  " + "\n  ".join(problems)


def test_step_7_replan_and_destroy(env):
    assert env.tf, "step 2 failed"
    with step(7, "re-plan shows no changes, destroy leaves nothing"):
        code, plan = env.tf.plan_changes()
        assert code == 0, "plan after apply shows changes:\n" + "\n".join(
            line for line in plan.splitlines() if line.strip().startswith(("~", "+", "-", "#")))
        env.tf.destroy()
        left = checks.leftovers(env.aws)
        assert not left, "left behind after destroy: " + "; ".join(left)
