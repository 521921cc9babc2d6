"""Sample application logs, and the metrics they must produce, computed independently here.

Formats follow the design brief: JSON lines (with every field alias), CloudWatch Embedded Metric
Format, nginx/Apache combined with an optional trailing request time (seconds). The truth is a list
of observations (service, minute, metric, value) built while writing each line, never by parsing
the files back, so a parser bug cannot hide in both sides.
"""

from __future__ import annotations

import gzip
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

ERROR_LEVELS = ("ERROR", "FATAL", "CRITICAL")


@dataclass
class LogObject:
    key: str
    body: bytes
    lines: int
    bad_lines: int = 0


@dataclass
class Truth:
    # (service, minute RFC 3339, metric) -> list of values
    values: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, service: str, when: datetime, metric: str, value: float) -> None:
        minute = when.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.values[(service, minute, metric)].append(float(value))

    def services(self) -> list[str]:
        return sorted({s for s, _, _ in self.values})

    def minutes(self) -> list[str]:
        return sorted({m for _, m, _ in self.values})

    def metrics(self, service: str | None = None) -> list[str]:
        return sorted({k for s, _, k in self.values if service in (None, s)})

    def series(self, service: str | None, metric: str) -> list[float]:
        """Every value of `metric` for one service (or all), over every minute."""
        return [v for (s, _, k), vs in self.values.items() if k == metric and service in (None, s) for v in vs]

    def stats(self, service: str | None, metric: str) -> dict:
        return summarize(self.series(service, metric))


def summarize(vals: list[float]) -> dict:
    if not vals:
        return {"count": 0}
    return {"count": len(vals), "sum": sum(vals), "min": min(vals), "max": max(vals),
            "avg": sum(vals) / len(vals), "p50": pct(vals, 50), "p90": pct(vals, 90),
            "p95": pct(vals, 95), "p99": pct(vals, 99)}


def pct(vals: list[float], p: float) -> float:
    """Nearest-rank percentile (the sketch's error bound is stated against exact ranks)."""
    s = sorted(vals)
    rank = max(1, math.ceil(p / 100 * len(s)))
    return s[rank - 1]


def _rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _json_lines(rng: random.Random, base: datetime, truth: Truth) -> LogObject:
    """service `checkout` (from the key when the line has none) plus a few `payments` lines."""
    out, bad = [], 0
    aliases_ts = ("timestamp", "time", "@timestamp", "ts")
    aliases_lat = ("latency_ms", "duration_ms", "response_time_ms")
    for i in range(240):
        when = base + timedelta(seconds=i * 3 + rng.random())  # spans 12 minutes
        rec: dict = {"message": f"request {i}", "path": rng.choice(["/cart", "/pay", "/items"])}
        ts_field = aliases_ts[i % 4]
        if ts_field == "time":
            rec[ts_field] = int(when.timestamp())  # epoch seconds
            when = datetime.fromtimestamp(int(when.timestamp()), timezone.utc)
        elif ts_field == "ts":
            rec[ts_field] = int(when.timestamp() * 1000)  # epoch milliseconds
        else:
            rec[ts_field] = _rfc3339(when)
        service = "payments" if i % 10 == 7 else "checkout"
        if service == "payments":
            rec[("service", "service_name", "app")[i % 3]] = service
        elif i % 2:
            rec["service"] = service  # else: taken from logs/checkout/
        level = "ERROR" if i % 17 == 0 else ("FATAL" if i == 101 else "INFO")
        rec["level" if i % 2 else "severity"] = level
        status = 503 if i % 23 == 0 else (404 if i % 11 == 0 else 200)
        rec["status" if i % 3 else "status_code"] = status
        latency = round(rng.lognormvariate(3.5, 0.6), 3)
        rec[aliases_lat[i % 3]] = latency
        out.append(json.dumps(rec))
        truth.add(service, when, "requests", 1)
        truth.add(service, when, "errors", 1 if (status >= 500 or level in ERROR_LEVELS) else 0)
        truth.add(service, when, "latency_ms", latency)
        if i in (50, 150):  # bad lines: truncated JSON, binary junk
            out.append('{"timestamp": "2026-01-01T00:00:00Z", "service": "checkout", "lat')
            out.append("\x00\x01\x02 not a log line \xff")
            bad += 2
    body = ("\n".join(out) + "\n").encode("utf-8", errors="surrogateescape")
    return LogObject(f"logs/checkout/{base:%Y/%m/%d}/app-1.jsonl", body, len(out), bad)


def _combined(rng: random.Random, base: datetime, truth: Truth) -> LogObject:
    """service `web` from the key (combined lines carry none); gzip-compressed object."""
    out = []
    for i in range(300):
        when = (base + timedelta(seconds=i * 2)).replace(microsecond=0)
        status = rng.choice([200] * 12 + [301, 404, 500, 502])
        size = rng.randint(100, 50_000)
        path = rng.choice(["/", "/index.html", "/static/app.js", "/api/v1/items?page=2"])
        stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
        line = (f'203.0.113.{i % 250} - - [{stamp}] "GET {path} HTTP/1.1" {status} {size} '
                f'"https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)"')
        truth.add("web", when, "requests", 1)
        truth.add("web", when, "errors", 1 if status >= 500 else 0)
        if i % 5:  # most lines carry nginx's $request_time (seconds, ms resolution)
            secs = rng.randint(1, 2500) / 1000
            line += f" {secs:.3f}"
            truth.add("web", when, "latency_ms", secs * 1000)
        out.append(line)
    body = gzip.compress(("\n".join(out) + "\n").encode(), mtime=0)
    return LogObject(f"logs/web/{base:%Y-%m-%d}/access log 1.gz", body, len(out))


def _emf(rng: random.Random, base: datetime, truth: Truth) -> LogObject:
    """service `worker` (from the key); each declared metric becomes a custom metric."""
    out = []
    for i in range(120):
        when = base + timedelta(seconds=i * 5, milliseconds=rng.randint(0, 999))
        jobs = rng.randint(1, 40)
        depth = rng.randint(0, 500)
        rec = {
            "_aws": {
                "Timestamp": int(when.timestamp() * 1000),
                "CloudWatchMetrics": [{
                    "Namespace": "Worker",
                    "Dimensions": [["queue"]],
                    "Metrics": [{"Name": "JobsProcessed", "Unit": "Count"},
                                {"Name": "QueueDepth", "Unit": "Count"}],
                }],
            },
            "queue": "default",
            # EMF allows an array of observations for one metric.
            "JobsProcessed": [jobs, jobs + 1] if i % 10 == 0 else jobs,
            "QueueDepth": depth,
            "requestId": f"req-{i}",
        }
        when = datetime.fromtimestamp(rec["_aws"]["Timestamp"] / 1000, timezone.utc)
        truth.add("worker", when, "JobsProcessed", jobs)
        if i % 10 == 0:
            truth.add("worker", when, "JobsProcessed", jobs + 1)
        truth.add("worker", when, "QueueDepth", depth)
        out.append(json.dumps(rec))
    return LogObject(f"logs/worker/{base:%Y%m%d}/emf.log", ("\n".join(out) + "\n").encode(), len(out))


def build(now: datetime | None = None, seed: int = 7) -> tuple[list[LogObject], Truth]:
    """Objects to upload and the truth. Data starts 30 minutes before `now`, minute-aligned."""
    now = now or datetime.now(timezone.utc)
    base = (now - timedelta(minutes=30)).replace(second=0, microsecond=0)
    rng = random.Random(seed)
    truth = Truth()
    objects = [_json_lines(rng, base, truth), _combined(rng, base, truth), _emf(rng, base, truth)]
    return objects, truth


def service_object(now: datetime, service: str = "checkout", minutes: int = 5, per_minute: int = 50,
                   error_every: int = 5, seed: int = 11) -> tuple[LogObject, Truth]:
    """`minutes` complete minutes before `now` of `service`'s JSON access lines, every
    `error_every`-th a 500 (error_every=5: a 20 % error rate), and their truth."""
    rng = random.Random(seed)
    truth = Truth()
    end = now.replace(second=0, microsecond=0)
    lines = []
    for m in range(minutes, 0, -1):
        minute = end - timedelta(minutes=m)
        for i in range(per_minute):
            when = minute + timedelta(seconds=i * 60 / per_minute)
            status = 500 if i % error_every == 0 else 200
            latency = round(rng.lognormvariate(4.0, 0.5), 3)
            lines.append(json.dumps({"timestamp": _rfc3339(when), "service": service, "status": status,
                                     "latency_ms": latency, "path": "/pay"}))
            truth.add(service, when, "requests", 1)
            truth.add(service, when, "errors", 1 if status >= 500 else 0)
            truth.add(service, when, "latency_ms", latency)
    body = ("\n".join(lines) + "\n").encode()
    return LogObject(f"logs/{service}/{end:%Y/%m/%d/%H%M}-burn.jsonl", body, len(lines), 0), truth
