#!/usr/bin/env bash
# Log-processor benchmark: parse + aggregate throughput and peak RSS of the release binary on a
# reproducible JSON-lines file (plain and gzip), the naive Python version on the same data,
# DynamoDB requests per million lines (against moto), and the CloudWatch publishing plan of the
# object (PutMetricData requests per object and per million lines, its CPU cost).
#
#   scripts/bench-log-processor.sh            # 1 GiB input, seed 42
#   BENCH_SIZE_MB=200 scripts/bench-log-processor.sh
#
# Env: BENCH_SIZE_MB (1024), BENCH_SEED (42), BENCH_DIR (target/bench/log-processor),
#      BENCH_SKIP_BUILD=1, BENCH_SKIP_NAIVE=1, BENCH_SKIP_DYNAMODB=1.
# MB = 10^6 bytes of uncompressed log. "cpu" = user + sys seconds of the process; on a shared
# machine it is the steadier figure, wall time is printed too.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
size_mb=${BENCH_SIZE_MB:-1024}
seed=${BENCH_SEED:-42}
work=${BENCH_DIR:-$root/target/bench/log-processor}
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/log-processor
python=$root/.tools/venv/bin/python
[ -x "$python" ] || python=python3
reference=2026-11-29T18:00:00Z
key=logs/bench/app.jsonl

command -v /usr/bin/time >/dev/null || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
mkdir -p "$work"
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    (cd "$root" && cargo build --release -p log-processor)
fi

input=$work/bench-${size_mb}m-seed${seed}.jsonl
if [ ! -s "$input" ]; then
    "$python" "$root/lambdas/log-processor/benches/generate_logs.py" "$input.tmp" "$size_mb" "$seed"
    mv "$input.tmp" "$input"
fi
if [ ! -s "$input.gz" ]; then
    gzip -6 -n -c "$input" > "$input.gz.tmp" && mv "$input.gz.tmp" "$input.gz"
fi
bytes=$(stat -c %s "$input")
lines=$(wc -l < "$input")

# run NAME CMD...: /usr/bin/time -v around CMD; stdout to NAME.out; prints a result row.
run() {
    local name=$1; shift
    /usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.time"
    awk -v name="$name" -v bytes="$bytes" -v lines="$lines" -F': ' '
        /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {rss=$2}
        /Elapsed \(wall clock\)/ { n=split($2, p, ":"); w=0; for (i=1;i<=n;i++) w=w*60+p[i] }
        END { cpu=u+s; printf "| %s | %.1f | %.1f | %.0f | %.0f | %.1f |\n", name, w, cpu, bytes/1e6/cpu, bytes/1e6/w, rss/1024 }
    ' "$work/$name.time" | tee "$work/$name.row"
}

echo "input: $input ($bytes bytes, $lines lines; gzip $(stat -c %s "$input.gz") bytes)"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | wall s | cpu s | MB/s (cpu) | MB/s (wall) | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
run rust-plain "$bin" --file "$input" --key "$key" --reference-time "$reference"
run rust-gzip "$bin" --file "$input.gz" --key "$key" --reference-time "$reference"
# The same plain run plus planning what the Lambda would publish to CloudWatch for the object
# (every service published): the datum building must not cost throughput (target: < 5%).
run rust-plain-publishing "$bin" --file "$input" --key "$key" --reference-time "$reference" --plan-publishing
"$python" - "$work/rust-plain-publishing.time" "$lines" "$work/rust-plain.row" "$work/rust-plain-publishing.row" <<'PY'
import json, sys
summary = next(json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and '"publishing"' in l)
p, lines = summary["publishing"], int(sys.argv[2])
cpu = [float(open(f).read().split("|")[3]) for f in sys.argv[3:5]]
print(f"\nBENCH put_metric_data_requests_per_object={p['put_metric_data_requests']} "
      f"per_1M_lines={p['put_metric_data_requests'] * 1e6 / lines:.1f} datums={p['datums']} "
      f"groups_published={p['groups_published']} plan_ms={p['plan_ms']:.1f} "
      f"cpu_s_without={cpu[0]:.2f} cpu_s_with={cpu[1]:.2f}")
PY
if [ "${BENCH_SKIP_NAIVE:-0}" != 1 ]; then
    run python-naive "$python" "$root/scripts/bench/naive_log_processor.py" "$input" "$key"
    # Same aggregates? Counts and sums must agree exactly, percentiles within the sketch's 1%.
    "$python" - "$work/rust-plain.out" "$work/python-naive.out" <<'PY'
import json, sys
def load(p):
    return {(r["service"], r["timestamp"], r["metric"]): r for r in map(json.loads, open(p))}
rust, naive = load(sys.argv[1]), load(sys.argv[2])
assert rust.keys() == naive.keys(), f"groups differ: {len(rust)} vs {len(naive)}"
worst = 0.0
for k, n in naive.items():
    r = rust[k]
    assert r["count"] == n["count"], (k, r, n)
    assert abs(r["sum"] - n["sum"]) <= 1e-9 * max(1.0, abs(n["sum"])), (k, r, n)
    assert (r["min"], r["max"]) == (n["min"], n["max"]), (k, r, n)
    for q in ("p50", "p90", "p99"):
        if n[q]:
            worst = max(worst, abs(r[q] - n[q]) / abs(n[q]))
assert worst <= 0.01, worst
print(f"\noutputs agree: {len(rust)} rows; worst percentile relative error {worst:.4%}")
PY
    awk -F'|' 'NR==1 {r=$5} NR==2 {p=$5} END {printf "speed-up vs naive Python (cpu MB/s): %.1fx\n", r/p}' \
        "$work/rust-plain.row" "$work/python-naive.row"
fi
if [ "${BENCH_SKIP_DYNAMODB:-0}" != 1 ]; then
    echo
    (cd "$root" && cargo test -q -p log-processor --test moto a_million_lines -- --nocapture 2>&1) | grep '^BENCH' || {
        echo "DynamoDB request count test failed" >&2; exit 1; }
fi
