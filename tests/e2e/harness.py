"""What `just e2e` and `just local` share: the running stack and how functions are started."""

from __future__ import annotations

import os
from pathlib import Path

from . import checks, package
from .moto_server import MotoServer
from .runtime_api import LambdaFunction
from .steps import note
from .tf import Terraform, declared_variables

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

    def __init__(self, workdir: Path, tag: str = "e2e"):
        self.workdir = workdir
        self.tag = tag
        self.moto: MotoServer | None = None
        self.tf: Terraform | None = None
        self.applied = False
        self.packages: dict = {}
        self.package_dir: Path | None = None
        self.stack: checks.Stack | None = None
        self.data: dict = {}
        self.running: list[LambdaFunction] = []

    def aws(self, service: str):
        return self.moto.client(service)

    def start_function(self, key: str, endpoint: str | None = None) -> LambdaFunction:
        """The real bootstrap from the zip, with the environment the module gave the deployed function.
        `endpoint` overrides where its SDK calls go (default: moto)."""
        cfg = self.stack.functions[key]
        bootstrap = package.extract_bootstrap(self.packages[key], self.workdir / "task")
        fn_env = dict(cfg.get("Environment", {}).get("Variables", {}))
        fn_env.update(self.moto.aws_env())
        if endpoint:
            fn_env["AWS_ENDPOINT_URL"] = endpoint
        fn_env.setdefault("RUST_LOG", "info")
        fn = LambdaFunction(cfg["FunctionName"], bootstrap, fn_env, self.workdir,
                            memory_mb=cfg.get("MemorySize", 128), timeout_s=cfg.get("Timeout", 30))
        self.running.append(fn)
        note(f"{key}: bootstrap up in {fn.cold_start_s * 1000:.0f} ms (log {fn.log_path})", self.tag)
        return fn

    def start_moto(self, port: int | None = None) -> None:
        import sys

        # A private snapshot: a rebuild into dist/ during the run must not change what is
        # deployed, run and re-planned.
        self.package_dir = package.snapshot(package.package_dir(REPO), self.workdir / "package")
        self.packages = package.load(self.package_dir)
        self.moto = MotoServer(self.workdir, python=sys.executable, port=port).start()

    def apply(self) -> None:
        """init + apply of a private copy of examples/local (the checkout stays clean)."""
        from .tf import copy_config

        config = copy_config(TF_ROOT, "local", self.workdir / "config")
        self.tf = Terraform(config, self.workdir / "tf-data", self.moto.aws_env(), self.workdir / "terraform.log")
        self.tf.var_args = tf_vars(config, self.moto.endpoint, self.package_dir)
        self.tf.init()
        self.tf.apply()
        self.applied = True

    def discover(self) -> list[str]:
        """Read the deployed stack back (step 3); returns the problems found."""
        self.stack, problems = checks.check_all(self.aws, self.packages)
        return problems

    def stop(self) -> None:
        for fn in self.running:
            fn.stop()
        self.running.clear()
        if self.moto:
            self.moto.stop()
