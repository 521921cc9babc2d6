#!/usr/bin/env python3
"""Smoke test of packaged zips: each `bootstrap` runs as Lambda would run it.

    python tests/packaging/smoke.py PACKAGE_DIR [--host-package DIR]

PACKAGE_DIR holds manifest.json and one zip per function (`gen package --out`). For each zip the
bootstrap is extracted and started against the Runtime API emulator of the e2e harness
(tests/e2e/runtime_api.py) with the environment the Terraform module gives the function; an arm64
build runs under `qemu-aarch64 -L /usr/aarch64-linux-gnu` on an x86_64 host. Checked, per function:

- it starts and polls GET /2018-06-01/runtime/invocation/next;
- one invocation with an event shaped as AWS sends it, chosen so the function needs no AWS call,
  answers exactly the expected result, and the runtime polls again afterwards;
- nothing reaches AWS: AWS_ENDPOINT_URL points at a local listener that must see no connection;
- log-processor only: its `--file` mode on examples/sample-logs prints byte-for-byte what the
  host build (the x86_64 bootstrap of --host-package, default dist/e2e/lambda) prints.

Exits non-zero on the first difference, printing it and the function's log.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from e2e import events  # noqa: E402
from e2e.runtime_api import InvocationError, LambdaFunction  # noqa: E402

FUNCTIONS = ["log-processor", "metrics-api", "runbook-executor"]
QEMU = ("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu")
MODULE = ROOT / "terraform/modules/functions/main.tf"
TOPIC_ARN = f"arn:aws:sns:{events.REGION}:{events.ACCOUNT_ID}:smoke-alarms"
ORIGIN = "https://dashboard.example.com"

# Values for the variables the module sets on each function (the names are read from the module).
ENV_VALUES = {
    "METRICS_TABLE": "smoke-ApplicationMetrics",
    "CORS_ALLOWED_ORIGINS": ORIGIN,
    "MAX_BODY_BYTES": "262144",
    "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
    "RUNBOOK_PARAMETER_PREFIX": "/smoke/runbooks/",
    "DRY_RUN": "false",
    "METRIC_NAMESPACE": "smoke/Runbooks",
    "INCIDENT_TTL_DAYS": "30",
    "LOGS_PREFIX": "logs/",
    "SERVICE_METRICS_NAMESPACE": "smoke/Services",
    "PUBLISHED_SERVICES": "checkout",
    "PUBLISHED_METRICS": "",
    # Retention per resolution: a bound value, blank (for ever, what the module writes for null).
    "MINUTE_RETENTION_DAYS": "30",
    "HOUR_RETENTION_DAYS": "",
    "DAY_RETENTION_DAYS": "400",
    "LOG_LEVEL": "info",
}

# log-processor --file: each sample with the key its README gives (the service comes from it).
SAMPLES = [
    ("checkout-app.jsonl", "logs/checkout/2026/11/29/app.jsonl"),
    ("web-access.log", "logs/web/access.log"),
    ("web-access.log.gz", "logs/web/access.log.gz"),
    ("worker-emf.log", "logs/worker/emf.log"),
]
REFERENCE_TIME = "2026-11-29T18:10:00Z"


class SmokeFailure(AssertionError):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise SmokeFailure(what)


def contract_const(name: str) -> str:
    """A string constant of the contract crate's `http` module (the one place the CORS lists live)."""
    text = (ROOT / "lambdas/contract/src/http.rs").read_text()
    m = re.search(rf'pub const {name}: &str =\s*"([^"]*)";', text)
    check(m is not None, f"{name} in lambdas/contract/src/http.rs")
    return m.group(1)


def module_env_names() -> dict[str, list[str]]:
    """Variable names of each aws_lambda_function's `environment` block in the module."""
    text = MODULE.read_text()
    out = {}
    for name in FUNCTIONS:
        block = re.search(rf'resource "aws_lambda_function" "{name.replace("-", "_")}" \{{(.*?)\n\}}',
                          text, re.S)
        check(block is not None, f"{MODULE}: no aws_lambda_function for {name}")
        env = re.search(r"environment \{\s*variables = \{(.*?)\}", block.group(1), re.S)
        check(env is not None, f"{MODULE}: {name} has no environment block")
        out[name] = re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*=", env.group(1), re.M)
    return out


class NoAws:
    """A loopback listener for AWS_ENDPOINT_URL that counts connections (expected: none)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()  # the SDK sees a dispatch failure


# One invocation per function: (event, expected result), exact.
def log_processor_case() -> tuple[dict, dict]:
    # A delete in the logs bucket: not ObjectCreated, so it is reported as ignored, no S3 read.
    record = events.s3_record("smoke-logs", "logs/web/old.log", 0, "", None, "0065A1B2C3D4E5F6A7",
                              "log-processor")
    record["eventName"] = "ObjectRemoved:Delete"
    for field in ("size", "eTag"):  # delete notifications carry neither
        record["s3"]["object"].pop(field)
    return events.s3_event([record]), {"objects": [], "ignored": ["ObjectRemoved:Delete"]}


def metrics_api_case() -> tuple[dict, dict]:
    # GET /metrics?limit=0 through the REST API: a 400 decided before any table read, with CORS.
    event = events.apigw_v1_event("GET", "/metrics?limit=0", [("Origin", ORIGIN), ("Accept", "*/*")],
                                  None, "/metrics", None, "v1", "smoke00api")
    body = {"error": "invalid_parameter", "field": "limit",
            "message": "limit must be an integer in 1..=1440"}
    return event, {
        "statusCode": 400,
        "headers": {
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": ORIGIN,
            "Access-Control-Allow-Methods": contract_const("CORS_ALLOW_METHODS"),
            "Access-Control-Allow-Headers": contract_const("CORS_ALLOW_HEADERS"),
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        },
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
        "multiValueHeaders": {},
    }


def runbook_executor_case() -> tuple[dict, dict]:
    # A JSON message on the topic that is not a CloudWatch alarm: logged and ignored, no AWS call.
    message_id = "5f1c3a52-9d0e-4c55-8a0b-0b2d6f6d7e01"
    message = json.dumps({"source": "deploy-bot", "text": "checkout v1.4.2 deployed"})
    event = events.sns_event(TOPIC_ARN, "deploy", message, message_id=message_id)
    return event, {"records": [{
        "message_id": message_id, "status": "ignored",
        "reason": "JSON message is not a CloudWatch alarm notification",
        "dry_run": False, "steps": []}]}


CASES = {"log-processor": log_processor_case, "metrics-api": metrics_api_case,
         "runbook-executor": runbook_executor_case}


def launcher_for(arch: str) -> tuple[str, ...]:
    host = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine())
    if arch == host:
        return ()
    if arch == "arm64" and host == "x86_64":
        check(shutil.which(QEMU[0]) is not None and Path(QEMU[2], "lib/ld-linux-aarch64.so.1").exists(),
              "qemu-aarch64 or /usr/aarch64-linux-gnu is missing: run scripts/bootstrap.sh --with-qemu")
        return QEMU
    raise SmokeFailure(f"cannot run {arch} binaries on a {host} host")


def extract(package: Path, name: str, dest: Path) -> tuple[Path, str]:
    check((package / "manifest.json").is_file(), f"{package}/manifest.json is missing: package it first "
                                                 "(`just package-e2e`, `just package-e2e-arm64`, `gen package`)")
    manifest = json.loads((package / "manifest.json").read_text())
    check(sorted(manifest["functions"]) == FUNCTIONS, f"{package}: manifest lists {sorted(manifest['functions'])}")
    entry = manifest["functions"][name]
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(package / entry["zip"]) as archive:
        check(archive.namelist() == ["bootstrap"], f"{entry['zip']}: holds {archive.namelist()}")
        binary = dest / "bootstrap"
        binary.write_bytes(archive.read("bootstrap"))
    binary.chmod(0o755)
    return binary, entry["architecture"]


def wait_polls(fn: LambdaFunction, n: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while fn.api.polls < n and time.monotonic() < deadline and fn.proc.poll() is None:
        time.sleep(0.05)
    return fn.api.polls >= n


def smoke_function(name: str, bootstrap: Path, launcher: tuple[str, ...], env: dict, workdir: Path) -> float:
    no_aws = NoAws()
    event, expected = CASES[name]()
    started = time.monotonic()
    fn = LambdaFunction(name, bootstrap, {**env, "AWS_ENDPOINT_URL": no_aws.url}, workdir,
                        launcher=launcher, ready_timeout_s=120.0)
    try:
        try:
            check(fn.api.polls >= 1, f"{name}: no GET /runtime/invocation/next within 120 s")
            first_poll = time.monotonic() - started
            got = fn.invoke(event)
            # Canonical JSON, so that types count too (false is not 0).
            same = json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
            check(same, f"{name}: result differs\n  expected {json.dumps(expected)}\n"
                                   f"  got      {json.dumps(got)}")
            check(wait_polls(fn, 2, 30.0), f"{name}: no second poll after the invocation")
            check(no_aws.connections == 0, f"{name}: {no_aws.connections} connection(s) to AWS_ENDPOINT_URL")
        except BaseException:
            print(f"--- {name} log:\n{fn.log_text()}", file=sys.stderr)
            raise
    finally:
        fn.stop()
        no_aws.sock.close()
    print(f"  {name}: first poll after {first_poll:.2f} s, invocation answered as expected "
          f"({time.monotonic() - started:.1f} s)")
    return first_poll


def run_file_mode(launcher: tuple[str, ...], bootstrap: Path, sample: Path, key: str) -> subprocess.CompletedProcess:
    argv = [*launcher, str(bootstrap), "--file", str(sample), "--key", key, "--reference-time", REFERENCE_TIME]
    return subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})


def compare_file_mode(bootstrap: Path, launcher: tuple[str, ...], host: Path,
                      host_launcher: tuple[str, ...]) -> None:
    for file, key in SAMPLES:
        sample = ROOT / "examples/sample-logs" / file
        target = run_file_mode(launcher, bootstrap, sample, key)
        reference = run_file_mode(host_launcher, host, sample, key)
        for run, who in ((target, "packaged"), (reference, "host")):
            check(run.returncode == 0, f"log-processor --file {file} ({who}) exited {run.returncode}:\n"
                                       f"{run.stderr.decode(errors='replace')}")
        check(reference.stdout.count(b"\n") > 0, f"host log-processor --file {file}: no aggregates")
        check(target.stdout == reference.stdout, f"log-processor --file {file}: aggregates differ from the host build")
        check(target.stderr == reference.stderr, f"log-processor --file {file}: line counts differ from the host build:\n"
                                                 f"  packaged {target.stderr!r}\n  host     {reference.stderr!r}")
        rows = reference.stdout.count(b"\n")
        same = " (the same binary: a trivial comparison)" if bootstrap.read_bytes() == host.read_bytes() else ""
        print(f"  log-processor --file {file}: {rows} aggregate rows, identical to the host build{same}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="directory with manifest.json and the zips")
    parser.add_argument("--host-package", type=Path, default=ROOT / "dist/e2e/lambda",
                        help="packages runnable here whose log-processor is the --file reference "
                             "(default: %(default)s, the x86_64 e2e build)")
    args = parser.parse_args()
    started = time.monotonic()
    env_names = module_env_names()
    with tempfile.TemporaryDirectory(prefix="smoke-") as tmp:
        workdir = Path(tmp)
        host_bootstrap, host_arch = extract(args.host_package, "log-processor", workdir / "host")
        host_launcher = launcher_for(host_arch)
        for name in FUNCTIONS:
            bootstrap, arch = extract(args.package, name, workdir / name)
            launcher = launcher_for(arch)
            missing = [v for v in env_names[name] if v not in ENV_VALUES]
            check(not missing, f"{name}: no smoke value for module variable(s) {missing}")
            env = {v: ENV_VALUES[v] for v in env_names[name]}
            env.update({"AWS_ACCESS_KEY_ID": "smoke", "AWS_SECRET_ACCESS_KEY": "smoke",
                        "AWS_EC2_METADATA_DISABLED": "true", "RUST_LOG": "info"})
            if name == FUNCTIONS[0]:
                print(f"smoke test of {args.package} ({arch}{', under ' + ' '.join(launcher) if launcher else ''}):")
            smoke_function(name, bootstrap, launcher, env, workdir)
            if name == "log-processor":
                compare_file_mode(bootstrap, launcher, host_bootstrap, host_launcher)
    print(f"smoke test passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (SmokeFailure, InvocationError) as e:
        print(f"smoke test FAILED: {e}", file=sys.stderr)
        sys.exit(1)
