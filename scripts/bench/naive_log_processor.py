#!/usr/bin/env python3
"""The straightforward Python version of the log processor's aggregation, for comparison.

What a user would write in a Python Lambda: json.loads per line, the same field aliases,
a dict of (service, minute) groups, every latency kept in a list and sorted at the end for
percentiles. JSON lines only (the benchmark input); gzip is read through gzip.open.
Prints the same JSON lines as `log-processor --file` (service, timestamp, metric, count,
sum, min, max, p50, p90, p99) so that the two outputs can be compared.

usage: naive_log_processor.py FILE [KEY]
"""

import gzip
import json
import math
import sys
from datetime import datetime, timezone

ERROR_LEVELS = {"ERROR", "FATAL", "CRITICAL"}


def ts_millis(v):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v if v >= 1e11 else v * 1000)
    if isinstance(v, str):
        return int(datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1000)
    raise ValueError("bad timestamp")


def first(rec, *names):
    for n in names:
        if n in rec and rec[n] is not None:
            return rec[n]
    return None


def rank(sorted_vals, q):
    # Same rank rule as the Rust sketch: element at floor(q * (n - 1)).
    return sorted_vals[math.floor(q * (len(sorted_vals) - 1))]


def main():
    path = sys.argv[1]
    key = sys.argv[2] if len(sys.argv) > 2 else ""
    parts = key.split("/")
    key_service = parts[1] if len(parts) > 2 and parts[0] == "logs" else None
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    f = gzip.open(path, "rb") if gz else open(path, "rb")
    groups = {}
    bad = 0
    for line in f:
        try:
            rec = json.loads(line)
            ms = ts_millis(first(rec, "timestamp", "time", "@timestamp", "ts"))
        except (ValueError, TypeError):
            bad += 1
            continue
        service = first(rec, "service", "service_name", "app") or key_service
        if not service:
            bad += 1
            continue
        g = groups.get((service, ms // 60000))
        if g is None:
            g = groups[(service, ms // 60000)] = {"requests": 0, "errors": 0, "latency": []}
        g["requests"] += 1
        level = str(first(rec, "level", "severity") or "").upper()
        status = first(rec, "status", "status_code") or 0
        if int(status) >= 500 or level in ERROR_LEVELS:
            g["errors"] += 1
        lat = first(rec, "latency_ms", "duration_ms", "response_time_ms")
        if lat is not None:
            g["latency"].append(float(lat))
    out = sys.stdout
    for (service, minute), g in sorted(groups.items()):
        stamp = datetime.fromtimestamp(minute * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        n, e = g["requests"], g["errors"]
        rows = {
            "errors": sorted([0.0] * (n - e) + [1.0] * e),
            "latency_ms": sorted(g["latency"]),
            "requests": [1.0] * n,
        }
        for metric, vals in rows.items():
            if not vals:
                continue
            out.write(json.dumps({
                "service": service, "timestamp": stamp, "metric": metric, "count": len(vals),
                "sum": sum(vals), "min": vals[0], "max": vals[-1], "p50": rank(vals, 0.5),
                "p90": rank(vals, 0.9), "p99": rank(vals, 0.99),
            }) + "\n")
    print(json.dumps({"groups": len(groups), "bad_lines": bad}), file=sys.stderr)


if __name__ == "__main__":
    main()
