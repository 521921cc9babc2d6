"""The page `just local` serves: charts of the metrics API and the alarms' states, on loopback.

One small HTTP server (a thread) serves the static page (tests/e2e/page/), the chart library the
project's setup installed (`scripts/bootstrap.sh --with-chart`: .tools/npm), and two JSON routes:

  GET /api/metrics?…   forwarded to the API's GET /metrics (the same query string) with what the
                       deployed method requires (API key, SigV4): the browser holds no secret
  GET /api/health      forwarded to GET /health the same way
  GET /api/alarms      DescribeAlarms on the emulator: name, state, reason, since (nothing else)
  GET /api/dashboard   the deployed CloudWatch dashboard's sections (its text headers, in order)
                       and each service's panel titles, so the page draws the same sections

Anything else is a 404; only GET. The page charts what it reads; tests/e2e/page_check.py loads it
in headless Chromium and compares what it drew with what the API answers.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import flows

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PAGE_DIR = HERE / "page"
# chart.js's self-contained UMD build (it bundles its one dependency); version pinned by
# tools/npm/package-lock.json.
CHART_JS = REPO / ".tools" / "npm" / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"

STATIC = {
    "/": (PAGE_DIR / "index.html", "text/html; charset=utf-8"),
    "/index.html": (PAGE_DIR / "index.html", "text/html; charset=utf-8"),
    "/page.js": (PAGE_DIR / "page.js", "text/javascript; charset=utf-8"),
    "/page.css": (PAGE_DIR / "page.css", "text/css; charset=utf-8"),
    "/chart.umd.min.js": (CHART_JS, "text/javascript; charset=utf-8"),
}
# The API paths the page may read (below the stage), GET only.
FORWARDED = {"/api/metrics": "/metrics", "/api/health": "/health"}


def describe_alarms(cloudwatch) -> list[dict]:
    """Every metric and composite alarm with its state (DescribeAlarms pages by NextToken:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html)."""
    out, kw = [], {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100}
    while True:
        page = cloudwatch.describe_alarms(**kw)
        for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            since = a.get("StateUpdatedTimestamp")
            out.append({"name": a["AlarmName"], "state": a["StateValue"], "reason": a.get("StateReason") or "",
                        "since": since.isoformat() if hasattr(since, "isoformat") else since})
        if not page.get("NextToken"):
            return sorted(out, key=lambda a: a["name"])
        kw["NextToken"] = page["NextToken"]


def dashboard_sections(body: dict) -> dict:
    """The sections of a dashboard body as CloudWatch shows them, top to bottom: its alarm widgets
    ("Alarms") and its markdown headers, and the metric panels' titles under each service header
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html)."""
    widgets = sorted(body.get("widgets", []), key=lambda w: (w.get("y", 0), w.get("x", 0)))
    sections: list[str] = []
    panels: dict[str, list[str]] = {}
    current = None
    for w in widgets:
        props = w.get("properties") or {}
        if w.get("type") == "alarm":
            if "Alarms" not in sections:
                sections.append("Alarms")
            current = None
        elif w.get("type") == "text":
            m = re.match(r"^\s*#+\s*(.+?)\s*$", props.get("markdown", ""))
            if m:
                current = m.group(1)
                sections.append(current)
        elif w.get("type") == "metric" and current and current.startswith("Service "):
            panels.setdefault(current.removeprefix("Service "), []).append(props.get("title", ""))
    return {"sections": sections, "service_panels": panels}


class PageServer:
    """`front` is the local API front (ApiFront); `api_key` and `caller` what its deployed methods
    ask for; `cloudwatch` a boto3 client on the emulator; `dashboard` the deployed dashboard's name
    (default: the emulator's one dashboard, as `just local` and the e2e deploy one stack)."""

    def __init__(self, front, api_key: str | None, caller, cloudwatch, dashboard: str | None = None,
                 port: int = 0, log=None):
        self.front, self.api_key, self.caller = front, api_key, caller
        self.cloudwatch, self.dashboard = cloudwatch, dashboard
        self.log = log or (lambda line: None)
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                         name="page-server").start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- routes -------------------------------------------------------------------------------

    def answer(self, method: str, raw_path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        path, _, query = raw_path.partition("?")
        with self._lock:
            self.requests.append(f"{method} {path}")
        if method != "GET":
            return 405, "application/json", json.dumps({"error": "method_not_allowed"}).encode()
        if path in STATIC:
            file, ctype = STATIC[path]
            if not file.exists():
                return 500, "text/plain; charset=utf-8", (
                    f"{file} is missing: run scripts/bootstrap.sh --with-chart (just local does)").encode()
            return 200, ctype, file.read_bytes()
        if path in FORWARDED:
            path_q = FORWARDED[path] + (f"?{query}" if query else "")
            headers = self.front.client_headers("GET", path_q, None, {}, self.api_key, self.caller)
            status, hdrs, body = flows.http("GET", self.front.url + path_q, headers=headers)
            return status, hdrs.get("Content-Type", "application/json"), body
        if path == "/api/alarms":
            return 200, "application/json", json.dumps({"alarms": describe_alarms(self.cloudwatch)}).encode()
        if path == "/api/dashboard":
            name = self.dashboard or next(
                (d["DashboardName"] for d in self.cloudwatch.list_dashboards().get("DashboardEntries", [])), None)
            doc = {"name": name, "sections": [], "service_panels": {}}
            if name:
                body = json.loads(self.cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
                doc.update(dashboard_sections(body))
            return 200, "application/json", json.dumps(doc).encode()
        return 404, "application/json", json.dumps({"error": "not_found", "path": urllib.parse.unquote(path)}).encode()

    def _handler(self):
        page = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                try:
                    status, ctype, body = page.answer(self.command, self.path)
                except Exception as e:  # say why on the page and in the log, keep serving
                    status, ctype = 502, "application/json"
                    body = json.dumps({"error": "page_server", "message": f"{type(e).__name__}: {e}"}).encode()
                    page.log(f"[page] {self.command} {self.path}: {type(e).__name__}: {e}")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                # Only this server's own files and routes: no inline script, nothing from elsewhere.
                self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):  # quiet: the page polls
                pass

        return Handler
