#!/usr/bin/env python3
"""Time from process start to the first request a function makes to the Lambda Runtime API.

Runs each packaged `bootstrap` (extracted from the zips in a manifest) against a local
runtime-API endpoint that only records when `GET /2018-06-01/runtime/invocation/next` arrives,
then kills the process. That interval is the function's own init cost (SDK config, clients,
tracing) that Lambda bills on every cold start. The binaries must be runnable here (x86_64).

Usage: cold_start.py MANIFEST_DIR [--runs N] [--markdown FILE]
       cold_start.py --binary-dir target/release [--runs N]   (host builds, named after the function)
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

# What the functions read at init; none of it is contacted before the first invocation.
FUNCTION_ENV = {
    "METRICS_TABLE": "bench-ApplicationMetrics",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alarms",
    "RUNBOOK_PARAMETER_PREFIX": "/bench/runbooks/",
    "METRIC_NAMESPACE": "bench/Runbooks",
    "DRY_RUN": "false",
    "CORS_ALLOWED_ORIGINS": "*",
}


def time_to_first_poll(bootstrap: Path, timeout: float = 10.0) -> float:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(timeout)
        port = server.getsockname()[1]
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": bootstrap.parent.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            # A closed port: init must not need the network.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            **FUNCTION_ENV,
        }
        started = time.perf_counter()
        proc = subprocess.Popen([str(bootstrap)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(timeout)
                request = conn.recv(4096)
                elapsed = time.perf_counter() - started
            if b"/runtime/invocation/next" not in request:
                raise RuntimeError(f"{bootstrap}: unexpected first request {request[:80]!r}")
            return elapsed
        except socket.timeout:
            proc.kill()
            err = proc.communicate()[1].decode(errors="replace")
            raise RuntimeError(f"{bootstrap}: no runtime API request within {timeout}s; stderr:\n{err}")
        finally:
            proc.kill()
            proc.wait()


FUNCTIONS = ["log-processor", "metrics-api", "runbook-executor"]


def binaries(args, tmp: Path):
    """(name, arch, profile, path) of each bootstrap to time."""
    if args.binary_dir:
        for name in FUNCTIONS:
            yield name, "host", args.binary_dir.name, args.binary_dir / name
        return
    manifest = json.loads((args.manifest_dir / "manifest.json").read_text())
    for name, entry in sorted(manifest["functions"].items()):
        binary = tmp / name / "bootstrap"
        binary.parent.mkdir()
        with zipfile.ZipFile(args.manifest_dir / entry["zip"]) as archive:
            binary.write_bytes(archive.read("bootstrap"))
        binary.chmod(0o755)
        yield name, entry["architecture"], manifest["profile"], binary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest_dir", type=Path, nargs="?")
    parser.add_argument("--binary-dir", type=Path, help="run DIR/<function> instead of zips")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--markdown", type=Path, help="append a results table to this file")
    args = parser.parse_args()
    if (args.manifest_dir is None) == (args.binary_dir is None):
        parser.error("give either MANIFEST_DIR or --binary-dir")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, arch, profile, binary in binaries(args, Path(tmp)):
            time_to_first_poll(binary)  # warm the page cache: Lambda's own disk is warm too
            samples = sorted(time_to_first_poll(binary) * 1000 for _ in range(args.runs))
            p90 = samples[max(0, int(len(samples) * 0.9) - 1)]
            rows.append((name, arch, profile, statistics.median(samples), p90, samples[-1]))

    lines = ["| function | arch | profile | median ms | p90 ms | max ms |",
             "|---|---|---|---:|---:|---:|"]
    lines += [f"| {n} | {a} | {p} | {m:.1f} | {p9:.1f} | {mx:.1f} |" for n, a, p, m, p9, mx in rows]
    table = "\n".join(lines)
    print(table)
    if args.markdown:
        with args.markdown.open("a") as out:
            out.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
