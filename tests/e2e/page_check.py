"""The page `just local` serves, as a browser draws it: Debian's Chromium, headless, through
Selenium (both binaries named, so Selenium Manager never downloads a browser or a driver).

`read(url)` loads the page and returns what it drew: per service section its titles, the totals it
printed and every chart's datasets as Chart.js holds them (data and the points it laid out on the
canvas), the canvas pixels painted, and the alarm rows. `expected(...)` is what the page must show
for the API's answers, computed here by the dashboard's rules; `compare` lists every difference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
import math
import time
import urllib.parse
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Runs in the page: everything the test compares, read from the DOM and from Chart.js itself.
_READ = r"""
const out = {state: document.body.dataset.state, status: document.getElementById("status").textContent,
             sections: [...document.querySelectorAll("#sections section > h2")].map(h => h.textContent),
             services: {}, alarms: {}};
for (const sec of document.querySelectorAll("section.service")) {
  const s = sec.dataset.service, charts = {};
  for (const canvas of sec.querySelectorAll("canvas")) {
    const c = Chart.getChart(canvas);
    if (!c) { charts[canvas.dataset.chart] = {painted: 0, pixels: canvas.width * canvas.height, datasets: []}; continue; }
    const ctx = canvas.getContext("2d");
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
    charts[canvas.dataset.chart] = {
      painted, pixels: canvas.width * canvas.height,
      datasets: c.data.datasets.map((d, i) => ({label: d.label, data: d.data.map(p => [p.x, p.y]),
        laid_out: c.getDatasetMeta(i).data.filter(e => Number.isFinite(e.x) && Number.isFinite(e.y)).length})),
    };
  }
  const totals = {};
  for (const b of sec.querySelectorAll("[data-totals] [data-value]"))
    totals[b.dataset.value] = {exact: b.dataset.exact, shown: b.textContent};
  out.services[s] = {header: sec.querySelector("h2").textContent,
                     titles: [...sec.querySelectorAll("figcaption")].map(f => f.textContent), charts, totals};
}
for (const tr of document.querySelectorAll("#alarms tr[data-alarm]"))
  out.alarms[tr.dataset.alarm] = {state: tr.dataset.state, shown: tr.querySelector(".state").textContent};
return JSON.stringify(out);
"""


def browser(width: int = 1280, height: int = 900):
    """Headless Debian Chromium; a clear error naming the install step when it is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        raise AssertionError(f"missing {', '.join(missing)}: run scripts/bootstrap.sh --with-chromium "
                             "(`just e2e` does; Debian packages chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--force-device-scale-factor=1", "--lang=en-US"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "SEVERE"})  # the page's errors only
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)


def read(driver, url: str, timeout_s: float = 30.0) -> dict:
    """Load `url`, wait until the page says it has drawn (or failed), return what it shows."""
    driver.get(url)
    deadline = time.monotonic() + timeout_s
    while True:
        state = driver.execute_script("return document.body && document.body.dataset.state")
        if state in ("ready", "error"):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"page still {state!r} after {timeout_s:.0f}s: {url}")
        time.sleep(0.1)
    shown = json.loads(driver.execute_script(_READ))
    shown["console"] = [e.get("message") for e in driver.get_log("browser")]
    return shown


def api_series(get, query: str) -> list[dict]:
    """Every series of one GET /metrics query, all pages (`get(path_q)` returns the JSON)."""
    series, token = [], None
    while True:
        doc = get("/metrics?" + query + (f"&next_token={urllib.parse.quote(token)}" if token else ""))
        series += doc["series"]
        token = doc.get("next_token")
        if not token:
            return series


def section_order(headings: list[str]) -> list[str]:
    """Section headings with the service block as one entry ("Service") and counts dropped
    ("Alarms (3 ALARM, 9 OK)" -> "Alarms"): the page has a block per service with data, the
    dashboard one per configured service."""
    out: list[str] = []
    for h in headings:
        h = "Service" if h.startswith("Service ") else h.split(" (", 1)[0]
        if not (out and out[-1] == h == "Service"):
            out.append(h)
    return out


def screenshot(driver, path: Path, width: int = 1280) -> None:
    """The whole page (the window grown to its height), as PNG."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, height)
    chrome = height - driver.execute_script("return window.innerHeight")  # the window's own frame
    driver.set_window_size(width, height + chrome)
    time.sleep(0.3)  # Chart.js redraws on resize
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))


def _ms(ts: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000


def expected(per_minute: list[dict], totals: dict[str, list[dict]]) -> dict:
    """What each service section must show for the API's answers: `per_minute` the series of the
    all-services query (period 60, stat sum,p50,p99), `totals` each service's series over the
    whole range. The dashboard's rules: requests and errors are sums per minute, the error rate
    IF(requests > 0, 100 * errors / requests, 0) (a minute without an errors point has none),
    latency p50 and p99."""
    by: dict[str, dict[str, list[dict]]] = {}
    for s in per_minute:
        by.setdefault(s["service"], {})[s["metric"]] = s["points"]
    out = {}
    for service, m in by.items():
        req = {_ms(p["timestamp"]): p["sum"] for p in m.get("requests", [])}
        err = {_ms(p["timestamp"]): p["sum"] for p in m.get("errors", [])}
        lat = sorted((_ms(p["timestamp"]), p) for p in m.get("latency_ms", []))
        rate = [[t, (100 * err.get(t, 0) / r) if r > 0 else 0] for t, r in sorted(req.items())]
        t = {x["metric"]: (x["points"] or [{}])[0] for x in totals.get(service, [])}
        r_sum, e_sum = t.get("requests", {}).get("sum"), t.get("errors", {}).get("sum")
        out[service] = {
            "traffic": {"Requests": sorted([t_, v] for t_, v in req.items()),
                        "Errors": sorted([t_, v] for t_, v in err.items()),
                        "Error rate (%)": rate},
            "latency": {"p50": [[t_, p["p50"]] for t_, p in lat], "p99": [[t_, p["p99"]] for t_, p in lat]},
            "totals": {"requests": r_sum, "errors": e_sum,
                       "error_rate": (100 * (e_sum or 0) / r_sum) if r_sum else 0,
                       "p50": t.get("latency_ms", {}).get("p50"), "p99": t.get("latency_ms", {}).get("p99")},
        }
    return out


def compare(shown: dict, want: dict, alarms: dict[str, str], dashboard_titles: dict[str, list[str]]) -> list[str]:
    """Every difference between what the page drew and what it should have (empty: none)."""
    problems = []
    if shown["state"] != "ready":
        return [f"page not drawn: {shown['state']}: {shown['status']}"]
    if sorted(shown["services"]) != sorted(want):
        problems.append(f"service sections {sorted(shown['services'])}, the API has data for {sorted(want)}")
    for service, w in want.items():
        got = shown["services"].get(service)
        if not got:
            continue
        for chart in ("traffic", "latency"):
            c = got["charts"].get(chart) or {"datasets": [], "painted": 0, "pixels": 0}
            sets = {d["label"]: d for d in c["datasets"]}
            for label, points in w[chart].items():
                d = sets.get(label)
                if d is None:
                    problems.append(f"{service} {chart}: no dataset {label!r} (has {sorted(sets)})")
                    continue
                if d["data"] != points:
                    problems.append(f"{service} {chart} {label}: charted {d['data'][:4]}… ({len(d['data'])}), "
                                    f"API {points[:4]}… ({len(points)})")
                if d["laid_out"] != len(points):
                    problems.append(f"{service} {chart} {label}: {d['laid_out']} of {len(points)} points laid out on the canvas")
            # A chart with data paints more than its axes: at least 1 % of the canvas.
            if c["painted"] < 0.01 * max(c["pixels"], 1):
                problems.append(f"{service} {chart}: canvas {c['painted']} of {c['pixels']} pixels painted")
        for k, v in w["totals"].items():
            cell = got["totals"].get(k) or {}
            exact = cell.get("exact")
            if v is None:
                ok = exact == ""
            else:
                ok = exact not in (None, "") and math.isclose(float(exact), float(v), rel_tol=1e-12, abs_tol=1e-12)
            if not ok:
                problems.append(f"{service} totals {k}: page {exact!r} (shown {cell.get('shown')!r}), API {v!r}")
            elif v is not None:  # the text is that value rounded (1 decimal for the rate, none else)
                shown_v = float((cell.get("shown") or "nan").replace(",", ""))
                if not abs(shown_v - float(v)) <= (0.05 if k == "error_rate" else 0.5) + 1e-9:
                    problems.append(f"{service} totals {k}: shows {cell.get('shown')!r}, API {v!r}")
    for service, titles in dashboard_titles.items():
        got = shown["services"].get(service)
        if got and (got["header"], got["titles"]) != (f"Service {service}", titles):
            problems.append(f"{service}: page section {got['header']!r} {got['titles']}, dashboard 'Service {service}' {titles}")
    states = {n: a["state"] for n, a in shown["alarms"].items()}
    if states != alarms:
        diff = sorted(set(states.items()) ^ set(alarms.items()))
        problems.append(f"alarm states on the page differ from DescribeAlarms: {diff[:6]}")
    problems += [f"alarm {n}: badge {a['shown']!r}, state {a['state']!r}" for n, a in shown["alarms"].items()
                 if a["shown"] != a["state"]]
    errors = [m for m in shown.get("console", []) if m and "favicon" not in m]
    if errors:
        problems.append(f"browser console: {errors[:3]}")
    return problems


@dataclass
class Result:
    shown: dict
    want: dict
    alarms: dict
    dashboard: str
    deployed: dict
    problems: list


def check(page_url: str, front, api_key, caller, cloudwatch, frm, to, shot: Path) -> Result:
    """Load the page for the fixed range [frm, to) in headless Chromium, save its picture to
    `shot`, and compare what it drew with what the API (read from `front` directly, not through
    the page server), DescribeAlarms and the deployed dashboard say."""
    from .flows import get_json, iso
    from .page_server import dashboard_sections, describe_alarms

    rng = f"from={iso(frm)}&to={iso(to)}"
    driver = browser()
    try:
        shown = read(driver, f"{page_url}?{rng}")
        screenshot(driver, shot)
    finally:
        driver.quit()

    def get(path_q: str) -> dict:
        return get_json(front.url + path_q, front.client_headers("GET", path_q, None, {}, api_key, caller))

    q = f"metric=requests,errors,latency_ms&{rng}&stat=sum,p50,p99"
    per_minute = api_series(get, f"{q}&period=60")
    seconds = int((to - frm).total_seconds())
    services = sorted({s["service"] for s in per_minute})
    totals = {s: api_series(get, f"{q}&service={s}&period={seconds}") for s in services}
    want = expected(per_minute, totals)
    alarms = {a["name"]: a["state"] for a in describe_alarms(cloudwatch)}
    dashboard = next(d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"])
    deployed = dashboard_sections(json.loads(cloudwatch.get_dashboard(DashboardName=dashboard)["DashboardBody"]))
    problems = compare(shown, want, alarms, deployed["service_panels"])
    if section_order(shown["sections"]) != section_order(deployed["sections"]):
        problems.append(f"sections {shown['sections']}; dashboard {dashboard}: {deployed['sections']}")
    return Result(shown, want, alarms, dashboard, deployed, problems)
