"""What `just e2e` and `just local` share: the running stack and how functions are started."""

from __future__ import annotations

import os
from pathlib import Path

from . import checks, gateway_auth, local_iam, package
from .apigw_front import ApiFront, gateway_response_headers, routes_from_moto
from .moto_server import ACCOUNT_ID, REGION, Creds, MotoServer
from .runtime_api import LambdaFunction
from .steps import note
from .tf import Terraform, declared_variables

REPO = Path(__file__).resolve().parents[2]
# Dev knob: take terraform/ and examples/local from another tree (e.g. a scratch module).
TF_ROOT = Path(os.environ.get("E2E_TF_ROOT") or REPO)
# Execution environments (processes) per function on this machine: Lambda would start one per
# concurrent invocation up to the reserved (or account) concurrency; beyond this local cap an
# invocation waits for a free one (docs/e2e.md).
LOCAL_ENVIRONMENTS = int(os.environ.get("LOCAL_LAMBDA_ENVIRONMENTS") or 4)


def tf_vars(config_dir: Path, endpoint: str, pkg_dir: Path | None) -> list[str]:
    """Values for examples/local's variables that only the harness knows (no package folder when
    `pkg_dir` is None: the code then comes from S3)."""
    args = []
    for name in sorted(declared_variables(config_dir)):
        if "endpoint" in name:
            args.append(f"-var={name}={endpoint}")
        elif name in ("lambda_package_dir", "package_dir"):
            if pkg_dir is not None:
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
        self.identities: dict[str, local_iam.FunctionIdentity] = {}  # function key -> its local user

    def aws(self, service: str):
        return self.moto.client(service)

    def identity(self, key: str) -> local_iam.FunctionIdentity:
        """The local IAM user holding the deployed role's statements (made once per function)."""
        if key not in self.identities:
            self.identities[key] = local_iam.function_user(self.moto, self.stack.functions[key]["FunctionName"])
        return self.identities[key]

    def enforce_functions(self) -> tuple[list[str], list[str]]:
        """Make each function's local user from its applied role and prove that calls outside the
        role are refused. Returns (notes, problems)."""
        notes, problems = [], []
        for key in sorted(self.stack.functions):
            ident = self.identity(key)
            refused, bad = local_iam.probe_outside(self.moto, ident, self.stack.table)
            problems += bad
            notes.append(f"{key}: {len(ident.role_actions)} actions of role {ident.role} -> user "
                         f"{ident.creds['UserName']}; refused {', '.join(refused) or 'nothing probed'}")
            notes += [f"  {n}" for n in ident.notes]
        return notes, problems

    def api_caller(self) -> Creds:
        """A user allowed to invoke the stage's methods (execute-api:Invoke), for IAM-authorised calls."""
        if "api_caller" not in self.data:
            arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.stack.api_id}/{self.stack.stage}/*"
            self.data["api_caller"] = local_iam.make_user(self.moto, local_iam.LOCAL_USER_PREFIX + "api-caller", {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": arn}]})
        return self.data["api_caller"]

    def api_front(self, fn: LambdaFunction, port: int = 0) -> ApiFront:
        """The HTTP front for the deployed API: routes, method auth, keys and gateway responses from moto."""
        apigw = self.aws("apigateway")
        return ApiFront(fn, routes_from_moto(apigw, self.stack.api_id), self.stack.stage, self.stack.api_id,
                        port=port, gateway=gateway_auth.from_moto(self.moto, self.stack.api_id, self.stack.stage),
                        response_headers=gateway_response_headers(apigw, self.stack.api_id))

    def start_function(self, key: str, endpoint: str | None = None, extra_env: dict | None = None) -> LambdaFunction:
        """The real bootstrap from the zip, with the environment the module gave the deployed function,
        signing as the local user derived from its role. `endpoint` overrides where its SDK calls go
        (default: moto). A function already running with the same endpoint is reused (its
        bootstrap file is in use)."""
        started = getattr(self, "_started", {})
        self._started = started
        if (key, endpoint) in started:
            return started[(key, endpoint)]
        cfg = self.stack.functions[key]
        # A second instance of a function (another endpoint) gets its own task dir: the first
        # one's bootstrap is in use and cannot be rewritten.
        others = sum(1 for (k, _) in started if k == key)
        task = self.workdir / ("task" if not others else f"task-{others}")
        bootstrap = package.extract_bootstrap(self.packages[key], task)
        fn_env = dict(cfg.get("Environment", {}).get("Variables", {}))
        fn_env.update(self.moto.aws_env(self.identity(key).creds))
        if endpoint:
            fn_env["AWS_ENDPOINT_URL"] = endpoint
        fn_env.update(extra_env or {})
        fn_env.setdefault("RUST_LOG", "info")
        reserved = self.reserved_concurrency(cfg["FunctionName"])
        fn = LambdaFunction(cfg["FunctionName"], bootstrap, fn_env, self.workdir,
                            memory_mb=cfg.get("MemorySize", 128), timeout_s=cfg.get("Timeout", 30),
                            max_environments=LOCAL_ENVIRONMENTS, reserved_concurrency=reserved)
        self.running.append(fn)
        started[(key, endpoint)] = fn
        note(f"{key}: bootstrap up in {fn.cold_start_s * 1000:.0f} ms (log {fn.log_path}); timeout "
             f"{fn.timeout_s:g} s, up to {fn.max_environments} execution environments"
             + (f", reserved concurrency {reserved}" if reserved is not None else ", unreserved"), self.tag)
        return fn

    def reserved_concurrency(self, function_name: str) -> int | None:
        """The function's reserved concurrency as deployed (None: unreserved)."""
        got = self.aws("lambda").get_function_concurrency(FunctionName=function_name)
        return got.get("ReservedConcurrentExecutions")

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
        admin = self.moto.admin  # examples/local's provider takes its key from these variables
        tf_env = {**self.moto.aws_env(), "TF_VAR_access_key": admin.key_id, "TF_VAR_secret_key": admin.secret}
        self.tf = Terraform(config, self.workdir / "tf-data", tf_env, self.workdir / "terraform.log")
        self.tf.var_args = tf_vars(config, self.moto.endpoint, self.package_dir)
        self.tf.init()
        self.tf.apply()
        self.applied = True

    def apply_split(self) -> list[str]:
        """The split pipeline (tests/e2e/pipeline.py): `gen publish` to moto's S3, `plan -out` in
        one directory, the saved plan applied from another that has no package folder. `self.tf`
        is then the applying runner (step 7 re-plans and destroys there). Returns notes."""
        import json
        import time

        from . import pipeline
        from .tf import copy_config

        admin = self.moto.admin
        tf_env = {**self.moto.aws_env(), "TF_VAR_access_key": admin.key_id, "TF_VAR_secret_key": admin.secret}
        notes = []
        s3 = self.aws("s3")
        pipeline.make_artifact_bucket(s3)
        manifest = json.loads((self.package_dir / "manifest.json").read_text())

        # Job 1: build once (the package), publish, plan with the printed inputs.
        plan_dir = copy_config(TF_ROOT, "local", self.workdir / "plan-runner")
        started = time.monotonic()
        pipeline.publish(REPO, self.package_dir, plan_dir / pipeline.INPUTS, self.moto.aws_env())
        inputs = pipeline.read_inputs(plan_dir / pipeline.INPUTS)
        problems = pipeline.check_published(s3, inputs, manifest)
        assert not problems, "gen publish:\n  " + "\n  ".join(problems)
        # Publishing the same zips again uploads nothing and prints the same inputs.
        again_path = self.workdir / "republished.json"
        report = pipeline.publish(REPO, self.package_dir, again_path, self.moto.aws_env())
        assert report.count("already there") == len(manifest["functions"]) and "uploaded" not in report, \
            f"a second publish of the same zips uploaded again:\n{report}"
        assert pipeline.read_inputs(again_path) == inputs, "a second publish printed other inputs"
        notes.append(f"gen publish: {len(inputs['lambda_s3_code'])} zips to s3://{pipeline.ARTIFACT_BUCKET}/"
                     f"{pipeline.ARTIFACT_PREFIX}/<function>/<sha256>.zip, checksums verified, versions pinned; "
                     f"again: nothing uploaded ({time.monotonic() - started:.1f}s)")
        planner = Terraform(plan_dir, self.workdir / "plan-runner" / "tf-data", tf_env, self.workdir / "terraform.log")
        planner.var_args = tf_vars(plan_dir, self.moto.endpoint, None)
        started = time.monotonic()
        planner.init()
        planner.plan_to_file()
        notes.append(f"runner 1: init + plan -out=tfplan ({time.monotonic() - started:.1f}s)")

        # Job 2: another directory and data dir, the same configuration, what job 1 handed over.
        apply_dir = copy_config(TF_ROOT, "local", self.workdir / "apply-runner")
        pipeline.hand_over(plan_dir, apply_dir)
        self.tf = Terraform(apply_dir, self.workdir / "apply-runner" / "tf-data", tf_env, self.workdir / "terraform.log")
        self.tf.var_args = tf_vars(apply_dir, self.moto.endpoint, None)  # for step 7's re-plan and destroy
        started = time.monotonic()
        self.tf.init()
        self.tf.apply_saved()
        self.applied = True
        problems = pipeline.check_state(json.loads((apply_dir / "terraform.tfstate").read_text()), inputs, manifest)
        assert not problems, "applied functions:\n  " + "\n  ".join(problems)
        notes.append(f"runner 2: init + apply tfplan, no package folder ({time.monotonic() - started:.1f}s)")
        return notes

    def discover(self) -> list[str]:
        """Read the deployed stack back (step 3); returns the problems found."""
        self.stack, problems = checks.check_all(self.aws, self.packages)
        return problems

    def access_denials(self) -> list[str]:
        """Lines of the running functions' logs where a call was refused: a call outside the
        function's policy fails the run even when the function only logs it."""
        found = []
        for fn in self.running:
            try:
                lines = fn.log_path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            found += [f"{fn.name}: {line.strip()[:300]}" for line in lines if local_iam.is_access_denied(line)]
        return found

    def stop(self) -> None:
        for fn in self.running:
            fn.stop()
        self.running.clear()
        if self.moto:
            self.moto.stop()
