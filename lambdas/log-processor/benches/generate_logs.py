#!/usr/bin/env python3
"""Writes a reproducible JSON-lines log file for the log-processor benchmark.

Same seed, same size -> byte-identical file. Lines look like a structured request log
(~230 bytes): RFC 3339 or epoch-millis timestamps, 8 services interleaved line by line
(the aggregation cache's worst case), levels, status codes, latencies, a nested object,
and a string with escapes. Time advances evenly over 6 hours ending at 2026-11-29T18:00Z.

usage: generate_logs.py OUT SIZE_MB [SEED]
"""

import random
import sys
from datetime import datetime, timedelta, timezone

END = datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc)
SPAN_S = 6 * 3600
SERVICES = ["checkout", "payments", "search", "cart", "auth", "inventory", "web", "notifications"]
PATHS = ["/api/v1/items", "/api/v1/cart", "/api/v1/orders/{id}", "/health", "/api/v2/search?q=shoes"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "curl/8.5.0", "okhttp/4.12.0", "python-requests/2.32"]


def main() -> None:
    out, size_mb = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    avg_line = 235
    n_lines = target // avg_line
    start = END - timedelta(seconds=SPAN_S)
    step_ms = SPAN_S * 1000 / n_lines
    start_ms = int(start.timestamp() * 1000)
    written = 0
    sec_cache: dict[int, str] = {}
    buf = []
    i = 0
    with open(out, "w", encoding="ascii", newline="\n") as f:
        while written < target:
            ms = start_ms + int(i * step_ms)
            sec = ms // 1000
            prefix = sec_cache.get(sec)
            if prefix is None:
                sec_cache.clear()
                prefix = datetime.fromtimestamp(sec, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
                sec_cache[sec] = prefix
            svc = SERVICES[rng.randrange(8)]
            r = rng.random()
            status = 200 if r < 0.93 else (404 if r < 0.97 else (500 if r < 0.99 else 503))
            level = "ERROR" if status >= 500 else ("WARN" if status == 404 else "INFO")
            latency = round(rng.lognormvariate(3.3, 0.8), 2)
            path = PATHS[rng.randrange(5)].replace("{id}", str(rng.randrange(100000)))
            if i % 4 == 3:
                ts = f'"ts":{ms}'
            else:
                ts = f'"timestamp":"{prefix}.{ms % 1000:03d}Z"'
            line = (
                f'{{{ts},"service":"{svc}","level":"{level}","msg":"GET {path} -> {status} \\"ok\\"",'
                f'"latency_ms":{latency},"status":{status},"request_id":"{rng.getrandbits(64):016x}",'
                f'"http":{{"method":"GET","path":"{path}","user_agent":"{AGENTS[i % 4]}"}},"bytes":{rng.randrange(100, 50000)}}}\n'
            )
            buf.append(line)
            written += len(line)
            i += 1
            if len(buf) >= 20000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    print(f"{out}: {written} bytes, {i} lines, seed {seed}", file=sys.stderr)


if __name__ == "__main__":
    main()
