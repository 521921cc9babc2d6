"""The page server alone (no stack): what it forwards to the API and with which credentials, what
it answers itself, and how it reads a dashboard's sections. Step 6d runs it against the stack."""

import json
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .page_server import CHART_JS, PageServer, dashboard_sections, describe_alarms

KEY = "k-secret-api-key-0000000000"


class FakeApi:
    """Stands in for the API front: records each request, answers 200 with what it saw."""

    def __init__(self):
        self.seen = []
        api = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                api.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                body = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def client_headers(self, method, path_q, body, headers, api_key, creds):
        return {**headers, "x-api-key": api_key}  # as a key-guarded GET asks


class FakeCloudWatch:
    def __init__(self, pages, body=None):
        self.pages, self.body, self.calls = pages, body, []

    def describe_alarms(self, **kw):
        self.calls.append(kw)
        return self.pages[kw.get("NextToken", 0)]

    def list_dashboards(self):
        return {"DashboardEntries": [{"DashboardName": "d1"}] if self.body else []}

    def get_dashboard(self, DashboardName):
        return {"DashboardBody": json.dumps(self.body)}


BODY = {"widgets": [  # as the module writes it (generator/src/module/dashboard.rs), shuffled
    {"type": "metric", "x": 12, "y": 4, "properties": {"title": "checkout: latency (ms)"}},
    {"type": "text", "x": 0, "y": 10, "properties": {"markdown": "## API performance"}},
    {"type": "alarm", "x": 0, "y": 0, "properties": {"title": "Alarms", "alarms": []}},
    {"type": "text", "x": 0, "y": 3, "properties": {"markdown": "## Service checkout"}},
    {"type": "metric", "x": 0, "y": 4, "properties": {"title": "checkout: requests, errors, error rate"}},
    {"type": "metric", "x": 0, "y": 11, "properties": {"title": "Requests and errors"}},
]}


@pytest.fixture
def served():
    api = FakeApi()
    t = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)
    cw = FakeCloudWatch({0: {"MetricAlarms": [{"AlarmName": "b", "StateValue": "OK", "StateUpdatedTimestamp": t}],
                             "NextToken": 1},
                         1: {"MetricAlarms": [{"AlarmName": "a", "StateValue": "ALARM", "StateReason": "r",
                                               "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:t"]}],
                             "CompositeAlarms": [{"AlarmName": "c", "StateValue": "INSUFFICIENT_DATA"}]}}, BODY)
    page = PageServer(api, KEY, None, cw)
    yield page, api, cw
    page.close()
    api.server.shutdown()


def get(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_metrics_are_forwarded_with_the_key_added_and_the_query_unchanged(served):
    page, api, _ = served
    q = "metric=requests%2Cerrors&from=2026-12-02T06:00:00Z&stat=sum,p99&period=60"
    status, _, body = get(page.url + "api/metrics?" + q)
    assert status == 200 and json.loads(body) == {"path": "/v1/metrics?" + q}
    assert api.seen[-1][1].get("x-api-key") == KEY
    status, _, body = get(page.url + "api/health")
    assert json.loads(body) == {"path": "/v1/health"}


def test_no_answer_carries_the_key_and_nothing_else_is_forwarded(served):
    page, api, _ = served
    answers = [get(page.url + p) for p in ("", "page.js", "api/alarms", "api/dashboard", "api/metrics",
                                           "api/../metrics", "v1/metrics", "api/metricsx")]
    assert all(KEY.encode() not in body and KEY not in json.dumps(h) for _, h, body in answers)
    assert [a[0] for a in answers[-3:]] == [404, 404, 404]
    assert len(api.seen) == 1  # only api/metrics went to the API
    req = urllib.request.Request(page.url + "api/metrics", method="POST", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 405 and len(api.seen) == 1  # the page only reads


def test_static_files_and_a_strict_content_security_policy(served):
    page, _, _ = served
    status, headers, body = get(page.url)
    assert status == 200 and b'src="chart.umd.min.js"' in body and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"].startswith("default-src 'self'")
    status, _, body = get(page.url + "chart.umd.min.js")
    if CHART_JS.exists():
        assert status == 200 and b"Chart" in body
    else:  # says how to install it
        assert status == 500 and b"--with-chart" in body


def test_alarms_every_page_and_kind_with_state_only(served):
    page, _, cw = served
    status, _, body = get(page.url + "api/alarms")
    alarms = json.loads(body)["alarms"]
    assert [(a["name"], a["state"]) for a in alarms] == [("a", "ALARM"), ("b", "OK"), ("c", "INSUFFICIENT_DATA")]
    assert alarms[1]["since"] == "2026-12-02T07:00:00+00:00" and alarms[0]["reason"] == "r"
    assert all(set(a) == {"name", "state", "reason", "since"} for a in alarms)  # no ARNs or actions
    assert [c.get("NextToken") for c in cw.calls] == [None, 1]
    assert describe_alarms(cw)[0]["name"] == "a"


def test_dashboard_sections_top_to_bottom_with_each_services_panels():
    assert dashboard_sections(BODY) == {
        "sections": ["Alarms", "Service checkout", "API performance"],
        "service_panels": {"checkout": ["checkout: requests, errors, error rate", "checkout: latency (ms)"]}}
    assert dashboard_sections({"widgets": []}) == {"sections": [], "service_panels": {}}
