#!/usr/bin/env python3
"""`just bench`: runs every benchmark and writes docs/benchmarks.md.

Sections (each also runnable alone with --only NAME[,NAME]):
  build          clean release build of the three functions for arm64 (`gen package` in a fresh
                 target dir, timed) and each zip's size, arm64 and x86_64
  cold-start     process start -> first Runtime API request, x86_64 release binaries
  log-processor  scripts/bench-log-processor.sh (throughput, RSS, Python ratio, DynamoDB requests)
  rollup-writes  write units, conflicts and index partition load per log object with 1, 8, 32
                 concurrent writers, before and after rollups, against moto
                 (lambdas/metrics-core/examples/bench_rollup_writes.rs)
  metrics-api    handler overhead without DynamoDB (lambdas/metrics-api/examples/bench_handler.rs)
  metrics-api-queries  per query against moto, today (minute items) against after (rollups):
                 DynamoDB requests, items, read units, pages, handler time
                 (lambdas/metrics-api/examples/bench_queries.rs, a few minutes)
  generator      gen terraform wall time / peak RSS, offline plan time of examples/complete

Each section writes docs/benchmarks/<section>.md; docs/benchmarks.md is then rebuilt from those
files, so a section that was not re-run keeps its last figures (with the date they were taken).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs/benchmarks"
ORDER = ["build", "cold-start", "log-processor", "rollup-writes", "metrics-api", "metrics-api-queries",
         "generator"]
# Sections whose figures this script writes; the others' own tools write docs/benchmarks/<name>.md.
WRITES_OWN_FILE = {"build": "build.md", "cold-start": "cold-start.md",
                   "log-processor": "log-processor-run.md", "generator": "generator.md"}
# Assembly order of docs/benchmarks/*.md into docs/benchmarks.md.
ASSEMBLY = ["build.md", "cold-start.md", "log-processor.md", "log-processor-run.md",
            "rollup-writes.md", "metrics-api.md", "metrics-api-queries.md", "generator.md"]


def sh(cmd, **kw):
    print(f"[bench] $ {cmd if isinstance(cmd, str) else ' '.join(map(str, cmd))}", flush=True)
    return subprocess.run(cmd, cwd=ROOT, check=True, shell=isinstance(cmd, str), **kw)


def machine() -> str:
    cpu = "unknown cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, {rustc}; load average {load:.1f} at start"


def gen(*args, env=None):
    sh(["cargo", "run", "--quiet", "--locked", "-p", "monitoring-gen", "--", *args], env=env)


def size_rows(out: Path):
    manifest = json.loads((out / "manifest.json").read_text())
    for name, e in sorted(manifest["functions"].items()):
        yield f"| {name} | {e['architecture']} | {manifest['profile']} | {e['size'] / 1e6:.2f} MB | {e['sha256'][:16]}… |"


def section_build() -> str:
    clean_target = ROOT / "target/bench-clean"
    shutil.rmtree(clean_target, ignore_errors=True)
    env = dict(os.environ, CARGO_TARGET_DIR=str(clean_target))
    started = time.monotonic()
    gen("package", "--arch", "arm64", "--profile", "release", "--out", "target/bench-dist/arm64", env=env)
    arm_clean = time.monotonic() - started
    return "\n".join([
        "## Build and package",
        "",
        "```sh",
        "CARGO_TARGET_DIR=target/bench-clean gen package --arch arm64 --profile release   # empty target dir",
        "```",
        "",
        f"- clean release build + packaging of the three functions for arm64: **{arm_clean / 60:.1f} min** wall",
        "",
        "| function | arch | profile | zip size (target ≤ 4 MB) | sha256 |",
        "|---|---|---|---:|---|",
        *size_rows(ROOT / "target/bench-dist/arm64"),
        "",
    ])


def host_release_build():
    """One host release build serves the cold-start, log-processor and metrics-api sections."""
    sh(["cargo", "build", "--release", "--locked", "-p", "log-processor", "-p", "metrics-api",
        "-p", "runbook-executor", "--bins", "--examples"])


def section_cold_start() -> str:
    host_release_build()
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    table = sh([sys.executable, "scripts/bench/cold_start.py", "--binary-dir", str(target / "release"),
                "--runs", "30"], capture_output=True, text=True).stdout
    return "\n".join([
        "## Cold start: process start to first Runtime API request",
        "",
        "Target ≤ 25 ms. Each binary is started against a local endpoint that records when",
        "`GET /runtime/invocation/next` arrives; 30 runs after one warm-up. The binaries are the",
        "host (x86_64) release builds of the same code and profile as the zips: this machine cannot",
        "run arm64, and the init path (SDK config, clients, tracing) does not depend on the linker.",
        "",
        "```sh",
        "cargo build --release -p log-processor -p metrics-api -p runbook-executor",
        "scripts/bench/cold_start.py --binary-dir target/release --runs 30",
        "```",
        "",
        table,
    ])


def section_log_processor() -> str:
    host_release_build()
    run = sh(["bash", "scripts/bench-log-processor.sh"], env=dict(os.environ, BENCH_SKIP_BUILD="1"),
             capture_output=True, text=True).stdout
    print(run)
    return "\n".join([
        "## Log processor: latest `just bench` run",
        "",
        "```sh",
        "scripts/bench-log-processor.sh   # 1 GiB JSON lines, seed 42; plain, gzip, naive Python, DynamoDB requests",
        "```",
        "",
        run,
    ])


def section_rollup_writes() -> str:
    # Counts, not times: the dev profile (the tests' build) measures the same, without a
    # release build of the SDK. The example rewrites its block of docs/benchmarks/rollup-writes.md.
    sh(["cargo", "run", "--locked", "-p", "metrics-core", "--example", "bench_rollup_writes", "--", "--write-doc"])
    return (DOCS / "rollup-writes.md").read_text()


def section_metrics_api() -> str:
    host_release_build()
    sh(["cargo", "run", "--release", "--locked", "-p", "metrics-api", "--example", "bench_handler", "--", "--write-doc"])
    return (DOCS / "metrics-api.md").read_text()


def section_metrics_api_queries() -> str:
    host_release_build()
    sh(["cargo", "run", "--release", "--locked", "-p", "metrics-api", "--example", "bench_queries", "--", "--write-doc"])
    return (DOCS / "metrics-api-queries.md").read_text()


def section_generator() -> str:
    sh(["cargo", "build", "--release", "--locked", "-p", "monitoring-gen"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    runs = []
    for i in range(5):
        out = ROOT / f"target/bench-gen/{i}"
        shutil.rmtree(out, ignore_errors=True)
        # Wall time from here (GNU time's %e has 10 ms resolution), peak RSS from GNU time.
        started = time.perf_counter()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", str(target / "release/gen"),
                              "terraform", "--out", str(out)],
                             cwd=ROOT, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
        runs.append((wall, int(res.stderr.strip().splitlines()[-1])))
    files = sum(1 for p in (ROOT / "target/bench-gen/0").rglob("*") if p.is_file())
    plans = []
    for _ in range(3):
        res = sh([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                  "tests/terraform/test_plan.py", "-k", "test_plan_inventory"],
                 capture_output=True, text=True,
                 env=dict(os.environ, GEN_BIN=str(target / "release/gen")))
        plans += [line.strip() for line in res.stdout.splitlines() if "offline plan" in line]
    walls = sorted(w for w, _ in runs)
    return "\n".join([
        "## Generator",
        "",
        "```sh",
        "cargo build --release -p monitoring-gen",
        "/usr/bin/time -f '%M KB' target/release/gen terraform --out <empty dir>   # 5 runs, wall timed around it",
        "pytest -q -s tests/terraform/test_plan.py -k test_plan_inventory               # 3 runs",
        "```",
        "",
        f"- `gen terraform`, full module from the starter config ({files} files): median "
        f"{walls[len(walls) // 2] * 1000:.1f} ms wall, peak RSS {max(r for _, r in runs) / 1024:.1f} MB",
        "- offline `terraform plan` of examples/complete (provider initialised, dummy credentials):",
        *[f"  - {p}" for p in plans],
        "",
    ])


SECTIONS = {
    "build": section_build,
    "cold-start": section_cold_start,
    "log-processor": section_log_processor,
    "rollup-writes": section_rollup_writes,
    "metrics-api": section_metrics_api,
    "metrics-api-queries": section_metrics_api_queries,
    "generator": section_generator,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated sections: " + ",".join(ORDER))
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else ORDER
    unknown = sorted(set(chosen) - set(ORDER))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {ORDER}")
    DOCS.mkdir(parents=True, exist_ok=True)
    header = f"_Measured {datetime.date.today()} on {machine()}._\n\n"
    for name in chosen:
        text = SECTIONS[name]()
        if name in WRITES_OWN_FILE:
            (DOCS / WRITES_OWN_FILE[name]).write_text(header + text)

    parts = ["# Benchmarks", "",
             "Produced by `./just bench` (`scripts/bench/run_all.py`); each section says the command",
             "behind its figures and when and where they were taken. Sections are kept in",
             "`docs/benchmarks/` and assembled here.", ""]
    for name in ASSEMBLY:
        path = DOCS / name
        if path.exists():
            text = path.read_text().strip()
            if text.startswith("# "):  # demote a section file's own title
                text = "#" + text
            parts += [text, ""]
    (ROOT / "docs/benchmarks.md").write_text("\n".join(parts))
    print("[bench] wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
