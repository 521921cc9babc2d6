// The page `just local` serves (tests/e2e/page_server.py): the CloudWatch dashboard's sections,
// drawn from the metrics API and the alarms' states. No build step; Chart.js is the one library.
"use strict";

// The standard metrics the log processor writes (lambdas/contract); the dashboard's service
// panels show the same three.
const METRICS = { requests: "requests", errors: "errors", latency: "latency_ms" };
const STATE_ORDER = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
const REFRESH_MS = 30000;

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16);
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
};

async function getJSON(url) {
  const r = await fetch(url);
  const text = await r.text();
  if (!r.ok) throw new Error(`${url} -> ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

// Every page of one GET /metrics query (next_token with otherwise identical parameters).
async function metrics(params) {
  const series = [];
  let token = null;
  do {
    const q = new URLSearchParams(params);
    if (token) q.set("next_token", token);
    const doc = await getJSON(`api/metrics?${q}`);
    series.push(...doc.series);
    token = doc.next_token;
  } while (token);
  return series;
}

// The range: ?from=&to= as given (a fixed picture, not refreshed), else the last N minutes up
// to the end of the current minute (the API's default end), refreshed.
function range() {
  const q = new URLSearchParams(location.search);
  if (q.get("from") && q.get("to")) {
    return { from: q.get("from"), to: q.get("to"), fixed: true, last: null };
  }
  const last = Math.max(1, Math.min(180, parseInt(q.get("last") || "60", 10) || 60));
  const to = Math.ceil(Date.now() / 60000) * 60000;
  return { from: iso(to - last * 60000), to: iso(to), fixed: false, last };
}

// One service's series (metric -> points) per minute, as charted.
function perMinute(bySeries) {
  const pts = (m) => new Map((bySeries[m] || []).map((p) => [Date.parse(p.timestamp), p]));
  const req = pts(METRICS.requests), err = pts(METRICS.errors), lat = pts(METRICS.latency);
  const minutes = [...new Set([...req.keys(), ...err.keys()])].sort((a, b) => a - b);
  const requests = minutes.filter((t) => req.has(t)).map((t) => ({ x: t, y: req.get(t).sum }));
  const errors = minutes.filter((t) => err.has(t)).map((t) => ({ x: t, y: err.get(t).sum }));
  // The dashboard's expression: IF(requests > 0, 100 * errors / requests, 0); no errors point
  // in a minute with requests counts as no errors.
  const rate = minutes.filter((t) => req.has(t)).map((t) => {
    const r = req.get(t).sum, e = err.has(t) ? err.get(t).sum : 0;
    return { x: t, y: r > 0 ? (100 * e) / r : 0 };
  });
  const lmin = [...lat.keys()].sort((a, b) => a - b);
  return {
    requests, errors, rate,
    p50: lmin.map((t) => ({ x: t, y: lat.get(t).p50 })),
    p99: lmin.map((t) => ({ x: t, y: lat.get(t).p99 })),
  };
}

// Time on a linear axis (a time axis would need a date adapter: a second library), labelled
// at round minutes only.
function timeScale(r) {
  const minutes = (Date.parse(r.to) - Date.parse(r.from)) / 60000;
  const step = 60000 * ([1, 2, 5, 10, 15, 30, 60].find((m) => minutes / m <= 8) || 120);
  const min = Date.parse(r.from), max = Date.parse(r.to);
  return {
    type: "linear", min, max,
    // Chart.js spreads a fixed range's ticks evenly; place them on the round minutes instead.
    afterBuildTicks: (axis) => {
      axis.ticks = [];
      for (let v = Math.ceil(min / step) * step; v <= max; v += step) axis.ticks.push({ value: v });
    },
    ticks: { autoSkip: false, maxRotation: 0, callback: (v) => hhmm(v) },
    title: { display: true, text: "UTC" },
  };
}

const charts = [];

function chart(canvas, r, datasets, y, y1) {
  const scales = { x: timeScale(r), y: { beginAtZero: true, title: { display: true, text: y } } };
  if (y1) scales.y1 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: y1 } };
  const c = new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      scales,
    },
  });
  charts.push(c);
  return c;
}

function line(label, data, color, extra = {}) {
  return { label, data, borderColor: color, backgroundColor: color, pointRadius: 2, borderWidth: 2, spanGaps: false, ...extra };
}

function fmt(v, digits = 0) {
  return v === undefined || v === null ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits });
}

function serviceSection(service, r, bySeries, totals) {
  const d = perMinute(bySeries);
  const traffic = el("canvas", { "data-chart": "traffic" });
  const latency = el("canvas", { "data-chart": "latency" });
  const t = (m) => (totals[m] || [])[0] || {};
  const req = t(METRICS.requests).sum, err = t(METRICS.errors).sum;
  const rate = req > 0 ? (100 * (err || 0)) / req : 0;
  // Each number once: the text shown and, for the test, the exact value it was rounded from.
  const num = (key, v, digits = 0) => el("b", { "data-value": key, "data-exact": v === undefined ? "" : String(v), textContent: fmt(v, digits) });
  const lat = t(METRICS.latency);
  const sum = el("p", { class: "totals", "data-totals": service },
    "Over the range: ", num("requests", req), " requests, ", num("errors", err), " errors (",
    num("error_rate", rate, 1), " %), latency p50 ", num("p50", lat.p50), " ms, p99 ", num("p99", lat.p99), " ms");
  const section = el("section", { class: "service", "data-service": service },
    el("h2", { textContent: `Service ${service}` }),
    el("div", { class: "row" },
      el("figure", {}, el("figcaption", { textContent: `${service}: requests, errors, error rate` }), el("div", { class: "chart" }, traffic)),
      el("figure", {}, el("figcaption", { textContent: `${service}: latency (ms)` }), el("div", { class: "chart" }, latency))),
    sum);
  document.getElementById("sections").append(section);
  chart(traffic, r, [
    line("Requests", d.requests, "#1f77b4"),
    line("Errors", d.errors, "#d62728"),
    line("Error rate (%)", d.rate, "#ff9f1c", { yAxisID: "y1", borderDash: [5, 3] }),
  ], "per minute", "%");
  chart(latency, r, [line("p50", d.p50, "#2ca02c"), line("p99", d.p99, "#9467bd")], "ms");
}

function alarmsSection(alarms) {
  const by = {};
  for (const a of alarms) by[a.state] = (by[a.state] || 0) + 1;
  const rows = [...alarms].sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || a.name.localeCompare(b.name));
  const table = el("table", {},
    el("thead", {}, el("tr", {}, el("th", { textContent: "State" }), el("th", { textContent: "Alarm" }),
      el("th", { textContent: "Since (UTC)" }), el("th", { textContent: "Reason" }))),
    el("tbody", {}, ...rows.map((a) => el("tr", { "data-alarm": a.name, "data-state": a.state },
      el("td", {}, el("span", { class: `state state-${a.state}`, textContent: a.state })),
      el("td", { textContent: a.name }),
      el("td", { textContent: a.since ? a.since.slice(0, 19).replace("T", " ") : "" }),
      el("td", { class: "reason", textContent: a.reason })))));
  const counts = Object.entries(by).sort((a, b) => (STATE_ORDER[a[0]] ?? 9) - (STATE_ORDER[b[0]] ?? 9))
    .map(([s, n]) => `${n} ${s}`).join(", ");
  document.getElementById("sections").append(el("section", { id: "alarms" },
    el("h2", { textContent: `Alarms (${counts || "none"})` }), table));
}

// A dashboard section drawn from AWS's own metrics (AWS/ApiGateway, AWS/Lambda, AWS/DynamoDB),
// which the metrics API does not serve: named in its place, side by side with its neighbours.
function cloudwatchOnly(name, dashboard) {
  const main = document.getElementById("sections");
  let row = main.lastElementChild;
  if (!row || !row.classList.contains("cw-row")) main.append(row = el("div", { class: "cw-row" }));
  row.append(el("section", { class: "cw-only", "data-section": name },
    el("h2", { textContent: name }),
    el("p", { textContent: `AWS's own metrics of the deployed resources: on the CloudWatch dashboard ${dashboard || ""}, not in the metrics API.` })));
}

async function render() {
  if (typeof Chart === "undefined") {
    throw new Error("the chart library did not load (chart.umd.min.js): run scripts/bootstrap.sh --with-chart, as just local does");
  }
  const r = range();
  const params = { metric: Object.values(METRICS).join(","), from: r.from, to: r.to, stat: "sum,p50,p99" };
  const [series, alarms, dashboard] = await Promise.all([
    metrics({ ...params, period: 60 }),
    getJSON("api/alarms").then((d) => d.alarms),
    getJSON("api/dashboard"),
  ]);
  const byService = {};
  for (const s of series) (byService[s.service] ||= {})[s.metric] = s.points;
  const services = Object.keys(byService).sort();
  // Totals over the whole range: one point per metric (percentiles merged by the API, never averaged).
  const seconds = (Date.parse(r.to) - Date.parse(r.from)) / 1000;
  const totals = {};
  await Promise.all(services.map(async (s) => {
    const t = await metrics({ ...params, service: s, period: seconds });
    totals[s] = Object.fromEntries(t.map((x) => [x.metric, x.points]));
  }));

  while (charts.length) charts.pop().destroy();
  document.getElementById("sections").replaceChildren();
  // The dashboard's sections in its order; the service block where its first service is.
  const order = dashboard.sections.length ? dashboard.sections : ["Alarms", "Service"];
  let servicesDone = false;
  for (const name of order) {
    if (name === "Alarms") alarmsSection(alarms);
    else if (name.startsWith("Service")) {
      if (servicesDone) continue;
      servicesDone = true;
      if (!services.length) {
        document.getElementById("sections").append(el("section", { class: "service-none" },
          el("h2", { textContent: "Services" }), el("p", { textContent: "No service has requests, errors or latency in this range: upload logs (scripts/local.py upload --sample)." })));
      }
      for (const s of services) serviceSection(s, r, byService[s], totals[s]);
    } else cloudwatchOnly(name, dashboard.name);
  }
  for (const a of document.querySelectorAll("#ranges a")) a.classList.toggle("current", !r.fixed && a.getAttribute("href") === `?last=${r.last}`);
  document.getElementById("status").textContent =
    `${r.from} to ${r.to} (per minute, UTC) · ${services.length} service(s) with data · ${alarms.length} alarms · drawn ${new Date().toISOString().slice(11, 19)}` +
    (r.fixed ? "" : ` · refreshes every ${REFRESH_MS / 1000} s`);
  window.pageData = { range: r, query: params, services, alarms: alarms.length };
  return r;
}

async function cycle() {
  let r = null;
  try {
    document.body.dataset.state = "loading";
    r = await render();
    document.body.dataset.state = "ready";
  } catch (e) {
    document.body.dataset.state = "error";
    document.getElementById("status").textContent = `could not draw: ${e.message}`;
  }
  if (!r || !r.fixed) setTimeout(cycle, REFRESH_MS);
}

cycle();
