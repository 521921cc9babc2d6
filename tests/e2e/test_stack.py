"""`just e2e`: the whole stack on a private moto server, one line per step.

  1 moto (IAM enforced)   2 gen publish + terraform plan -out of examples/local, the saved plan applied
    from another directory without the package   3 resources as specified, function users
  3b parliament on every policy document
  4 logs -> log-processor (real bootstrap, S3 events, one delivered twice)
  5 metrics API over HTTP vs. values computed here   6 alarm -> runbook-executor (twice)
  6c runbook-executor down: CloudWatch's notification reaches e-mail through the on-failure record
  6d the local page (scripts/local.py's) in headless Chromium vs. the API and DescribeAlarms
  7 plan (on the applying runner) shows no changes, destroy leaves nothing
Tests run in file order and share one moto and one apply (the apply is the slow part).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from . import checks, cw_eval, events, flows, package, policy_lint, procs, samples, sns_filter
from .aws_proxy import RecordingProxy
from .harness import REPO, Env
from .runtime_api import InvocationError
from .steps import note, step


@pytest.fixture(scope="module")
def env(request):
    workdir = Path(tempfile.mkdtemp(prefix="e2e-"))
    e = Env(workdir)
    print(file=sys.stderr)  # start the step lines on a line of their own
    note(f"work dir {workdir} (moto, terraform and function logs)")
    try:
        yield e
    finally:
        for server in ("page", "front", "recorder"):
            if server in e.data:
                e.data[server].close()
        e.stop()
        procs.stop_all()
        # Keep the logs when something failed (or when asked); they say why.
        if request.session.testsfailed or os.environ.get("E2E_KEEP_WORKDIR") == "1":
            note(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def local_cli():
    """scripts/local.py as a module (`just local`'s decisions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("local_cli", REPO / "scripts" / "local.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_step_1_moto(env):
    with step(1, "start moto server"):
        env.start_moto()
        # moto's request recorder keeps every PutMetricData (with timestamps and dimensions, which
        # moto's own state dump drops): the service alarms' data in step 6b (tests/e2e/cw_eval.py).
        cw_eval.start_recording(env.moto.endpoint)
        profile = json.loads((env.package_dir / "manifest.json").read_text()).get("profile")
        note(f"moto at {env.moto.endpoint}; packages ({profile} profile) from {package.package_dir(REPO)}")


def test_step_2_apply(env):
    """Issue 15: the one apply goes through the split pipeline (gen publish, plan -out on one
    runner, the saved plan applied on another without the package); step 3 checks the deployed
    code is the published zips (CodeSha256), step 7 that a re-plan there shows no change."""
    assert env.moto, "step 1 failed"
    with step(2, "gen publish, terraform plan -out (runner 1), apply the saved plan (runner 2)"):
        for line in env.apply_split():
            note(line)
        note(f"{len(env.tf.state_resources())} resources in state")


def test_step_3_resources(env):
    assert env.applied, "step 2 failed"
    with step(3, "resources as specified"):
        problems = env.discover()
        assert not problems, f"{len(problems)} problems:\n  " + "\n  ".join(problems)
        # Each function runs as a user holding its applied role (iam_map); outside it, refused.
        notes, problems = env.enforce_functions()
        for line in notes:
            note(line)
        assert not problems, "\n".join(problems)


def test_step_3_policy_lint(env):
    assert env.stack, "step 3 failed"
    with step("3b", "every policy document of the stack passes parliament"):
        docs, accepted, failing = policy_lint.check(env.aws, save_to=env.workdir / "policies.json")
        kinds = sorted({d.name.split(" ", 1)[0] for d in docs})
        note(f"{len(docs)} documents ({', '.join(kinds)}); {len(accepted)} accepted findings "
             "(docs/security.md, Policy lint)")
        assert not failing, (f"{len(failing)} parliament findings not accepted in tests/e2e/policy_lint.py "
                             "ACCEPTED / docs/security.md:\n" + "\n".join(str(f)[:400] for f in failing))


def test_step_4_logs(env):
    assert env.stack and env.stack.bucket, "step 3 found no logs bucket"
    with step(4, "sample logs -> S3 -> log-processor (one event twice)"):
        s3, ddb = env.aws("s3"), env.aws("dynamodb")
        objects, truth = samples.build()
        env.data["truth"], env.data["base"] = truth, datetime.fromisoformat(truth.minutes()[0].replace("Z", "+00:00"))
        with flows.bucket_policy_lifted(s3, env.stack.bucket):
            records = flows.upload(s3, env.stack.bucket, objects, env.stack.notification_id)
            fn = env.start_function("log-processor")
            first = events.s3_event(records[:2])  # S3 may batch records; the processor must handle several
            second = events.s3_event(records[2:])
            reports = flows.object_reports(fn.invoke(first)) | flows.object_reports(fn.invoke(second))
            flows.check_line_counts(reports, objects)
            once = flows.table_snapshot(ddb, env.stack.table)
            flows.check_groups(once, truth)
            replay = flows.object_reports(fn.invoke(first))  # at-least-once delivery: the same event again
            assert replay and all(r.get("groups_written") == 0 for r in replay.values()), \
                f"replay wrote groups again: {replay}"
            again = flows.table_snapshot(ddb, env.stack.table)
            assert again == once, "replaying an event changed the table (minute items or rollups)"
            assert all(r.get("rollups_written") == 0 for r in replay.values()), \
                f"replay recomputed rollups: {replay}"
            note(f"{len(objects)} objects, {sum(o.lines for o in objects)} lines "
                 f"({sum(o.bad_lines for o in objects)} bad) -> {len(flows.metric_items(once))} (service, minute) items, "
                 f"{len(flows.rollup_keys(once))} hourly/daily rollups; replay changed nothing")
            # An unreadable object fails the invocation loudly (so Lambda retries and the
            # on-failure destination sees it), naming the object.
            broken = samples.LogObject("logs/web/broken.gz", gzip.compress(b"x" * 1000)[:40] + b"\x00garbage", 0)
            bad_rec = flows.upload(s3, env.stack.bucket, [broken], env.stack.notification_id)
            with pytest.raises(InvocationError, match="broken"):
                fn.invoke(events.s3_event(bad_rec))
        denied = env.access_denials()
        assert not denied, "calls refused by IAM:\n" + "\n".join(denied)
        env.data["ingested"] = True


def test_step_5_api(env):
    assert env.data.get("ingested"), "step 4 failed"
    with step(5, "metrics API over HTTP vs. independently computed values"):
        truth, base = env.data["truth"], env.data["base"]
        # The function's SDK calls go through a recorder, to see which DynamoDB operations it makes.
        recorder = RecordingProxy(env.moto.endpoint)
        env.data["recorder"] = recorder
        fn = env.start_function("metrics-api", endpoint=recorder.url)
        front = env.api_front(fn)  # enforces the deployed methods' API key / IAM auth
        env.data["front"] = front
        caller = env.api_caller()  # execute-api:Invoke on the stage, for AWS_IAM methods
        hdr = {"x-api-key": env.stack.api_key, "Origin": "https://example.com"}
        status, _, body = flows.http("GET", front.url + "/health", headers=hdr)
        assert status == 200, f"/health -> {status} {body!r}"
        frm, to = base, base + timedelta(hours=1)
        q = f"from={flows.iso(frm)}&to={flows.iso(to)}&period=3600&stat={flows.STATS}"
        problems: list[str] = []
        for service in truth.services():
            mark = recorder.mark()
            doc = flows.get_json(f"{front.url}/metrics?service={service}&{q}", hdr)
            flows.compare_totals(doc, truth, [service], problems)
            one_service = recorder.since(mark)
        mark = recorder.mark()
        everyone = flows.get_json(f"{front.url}/metrics?{q}", hdr)
        flows.compare_totals(everyone, truth, truth.services(), problems)
        all_services = recorder.since(mark)
        # A week across every service at a daily period, on day boundaries: one daily rollup
        # per day (one TimestampIndex Query each), equal to the raw lines' values (issue 14).
        last_day = datetime.strptime(truth.minutes()[-1][:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
        week_to = last_day + timedelta(days=1)
        week = f"from={flows.iso(week_to - timedelta(days=7))}&to={flows.iso(week_to)}&period=86400&stat={flows.STATS}"
        mark = recorder.mark()
        weekly = flows.get_json(f"{front.url}/metrics?{week}", hdr)
        week_calls = recorder.since(mark)
        flows.compare_daily(weekly, truth, truth.services(), problems)
        if weekly.get("next_token") or len(week_calls) != 7:
            problems.append(f"a week at period=86400: {flows.op_counts(week_calls)}, next_token {weekly.get('next_token')!r}")
        # The two services with the most errors over that week, ranked and charted.
        ranked = flows.get_json(f"{front.url}/metrics?{week}&top=2&order=errors:sum", hdr)
        want_rank = flows.expected_ranking(truth, "errors", 2)
        got_rank = [(r["service"], r["value"]) for r in ranked.get("ranking", [])]
        if [s for s, _ in got_rank] != [s for s, _ in want_rank] or not all(
                math.isclose(g, w, rel_tol=1e-9) for (_, g), (_, w) in zip(got_rank, want_rank)):
            problems.append(f"top=2 by errors:sum: {got_rank} != {want_rank}")
        order = list(dict.fromkeys(s["service"] for s in ranked["series"]))
        if order != [s for s, _ in want_rank]:
            problems.append(f"top=2 series in order {order}, want {[s for s, _ in want_rank]}")
        flows.compare_daily(ranked, truth, [s for s, _ in want_rank], problems)
        # The query `scripts/local.py upload --sample` suggests for these same samples answers 200
        # with every web line (issue 13: it used to be a 400).
        suggested = local_cli().sample_query(truth, "web")
        doc = flows.get_json(f"{front.url}/metrics?{suggested}", hdr)
        counts = {s["metric"]: [p["count"] for p in s["points"]] for s in doc["series"]}
        if counts != {m: [len(truth.series("web", m))] for m in truth.metrics("web")}:
            problems.append(f"suggested sample query {suggested}: counts {counts}")
        counts, pages = flows.per_minute_pages(front.url, hdr, "web", frm, base + timedelta(minutes=20), limit=4)
        if counts != flows.truth_minute_counts(truth, "web"):
            problems.append(f"per-minute counts for web differ over {pages} pages")
        assert pages >= 3, f"limit=4 over 20 minutes gave {pages} page(s)"
        assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)

        # POST one data point with an Idempotency-Key, retry it, read it back.
        ts = base + timedelta(minutes=5, seconds=7)
        point = json.dumps({"service": "e2e-post", "timestamp": flows.iso(ts), "metrics": {"queue_depth": 42.5}})
        post_hdr = {"Origin": "https://example.com", "Content-Type": "application/json", "Idempotency-Key": "e2e-post-1"}
        post_auth = front.method_auth("POST", "/metrics")
        for attempt in (1, 2):  # signed afresh each time, as an SDK does
            signed = front.client_headers("POST", "/metrics", point.encode(), post_hdr, env.stack.api_key, caller)
            status, headers, body = flows.http("POST", front.url + "/metrics", point.encode(), signed)
            assert status == 202, f"POST attempt {attempt} -> {status} {body!r}"
        assert json.loads(body).get("duplicate") is True, f"retried POST not reported as duplicate: {body!r}"
        # The same key with other data: 422 naming the header, and nothing of it written (the
        # read-back below still finds the one point).
        other = json.dumps({"service": "e2e-post", "timestamp": flows.iso(ts), "metrics": {"queue_depth": 1.0}})
        signed = front.client_headers("POST", "/metrics", other.encode(), post_hdr, env.stack.api_key, caller)
        status, _, body = flows.http("POST", front.url + "/metrics", other.encode(), signed)
        reused = json.loads(body)
        assert (status, reused.get("error"), reused.get("field")) == (422, "idempotency_key_reused", "Idempotency-Key"), \
            f"POST reusing the key with another body -> {status} {body!r}"
        doc = flows.get_json(f"{front.url}/metrics?service=e2e-post&{q}", hdr)
        pt = doc["series"][0]["points"][0]
        assert (pt["count"], pt["sum"], doc["series"][0]["metric"]) == (1, 42.5, "queue_depth"), doc
        # CORS on answers, 400 naming the bad parameter.
        cors = env.stack.functions["metrics-api"]["Environment"]["Variables"]["CORS_ALLOWED_ORIGINS"]
        status, headers, body = flows.http("GET", f"{front.url}/metrics?service=web&stat=p42", headers=hdr)
        assert status == 400 and json.loads(body).get("field") == "stat", f"bad stat -> {status} {body!r}"
        if cors.strip() == "*" or "https://example.com" in cors:
            assert "Access-Control-Allow-Origin" in headers, f"no CORS header on a 400: {headers}"
        status, headers, _ = flows.http("OPTIONS", front.url + "/metrics", headers={
            "Origin": "https://example.com", "Access-Control-Request-Method": "POST"})
        assert status in (200, 204) and "POST" in headers.get("Access-Control-Allow-Methods", ""), \
            f"CORS preflight -> {status} {headers}"
        scans = [c for c in recorder.calls if c.endswith(".Scan")]
        assert not scans, f"the metrics API scanned the table {len(scans)} time(s)"
        # The gateway's auth, as deployed: a read without the key, a write without credentials,
        # a write signed badly or by a caller without execute-api:Invoke are all refused.
        refusals = gateway_refusals(env, front, point.encode(), post_hdr)
        refusals += unrouted(env, front)
        denied = env.access_denials()
        assert not denied, "calls refused by IAM:\n" + "\n".join(denied)
        note(f"{len(truth.services())} services × {len(truth.metrics())} metrics matched; "
             f"{pages} pages; POST ({post_auth.authorization}{', API key' if post_auth.api_key_required else ''}) "
             f"+ idempotent retry read back; API at {front.url}")
        note(f"gateway refused: {'; '.join(refusals)}")
        note(f"DynamoDB calls for 1 h: one service {flows.op_counts(one_service)}; "
             f"all services {flows.op_counts(all_services)}; a week of every service at a daily "
             f"period {flows.op_counts(week_calls)}; top-2 by errors {want_rank}; "
             f"no Scan in {len(recorder.calls)} calls")


def test_step_5b_load(env):
    """Issue 13: concurrent queries run in separate execution environments up to the limit, none
    outlives its timeout, every answer is 200 or an error the front printed with its reason, and
    the stack answers normally right after."""
    assert "front" in env.data, "step 5 failed"
    n = 40
    with step("5b", f"{n} concurrent all-services queries through the front"):
        front, base = env.data["front"], env.data["base"]
        fn = front.fn
        hdr = {"x-api-key": env.stack.api_key}
        url = (f"{front.url}/metrics?from={flows.iso(base)}&to={flows.iso(base + timedelta(minutes=5))}"
               f"&period=300&stat=count,sum")
        errors_before = len(front.errors)
        with ThreadPoolExecutor(n) as pool:
            answers = list(pool.map(lambda _: flows.http("GET", url, headers=hdr), range(n)))
        printed = front.errors[errors_before:]
        statuses = Counter(status for status, _, _ in answers)
        others = [(status, body[:200]) for status, _, body in answers if status != 200]
        # A non-200 is one the front answered itself (500/502/504), each printed with its reason.
        assert len(others) == len(printed) and all(st in (500, 502, 504) for st, _ in others), \
            f"answers {dict(statuses)}; printed {printed}; non-200 {others[:5]}"
        def canonical(body: bytes) -> str:
            # Neither the series order nor the last bits of a float sum (the minutes arrive in
            # any order) are part of the contract.
            doc = json.loads(body, parse_float=lambda v: float(f"{float(v):.10g}"))
            doc["series"] = sorted(doc["series"], key=lambda x: (x["service"], x["metric"]))
            return json.dumps(doc, sort_keys=True)
        bodies = {canonical(body) for status, _, body in answers if status == 200}
        assert len(bodies) <= 1, "the same query answered differently under load:\n" + "\n".join(sorted(bodies))[:3000]
        assert fn.longest_s <= fn.timeout_s + 1.0, f"an invocation ran {fn.longest_s:.1f}s (timeout {fn.timeout_s}s)"
        assert 1 < fn.peak_environments <= fn.max_environments, \
            f"{fn.peak_environments} environments for {n} concurrent queries (limit {fn.max_environments})"
        status, _, body = flows.http("GET", front.url + "/health", headers=hdr)
        assert status == 200, f"/health after the load -> {status} {body!r}"
        # Lambda's own lines for every invocation: the API's log is never empty (it logs only problems).
        assert fn.log_text().count("REPORT RequestId: ") >= n, "no REPORT line per invocation in the API's log"
        status, _, body = flows.http("GET", url, headers=hdr)
        assert status == 200, f"query after the load -> {status} {body!r}"
        note(f"answers {dict(sorted(statuses.items()))}; {fn.peak_environments} environments "
             f"(limit {fn.max_environments}), longest invocation {fn.longest_s:.1f}s of {fn.timeout_s:g}s; "
             f"printed: {printed[:3]}")


def gateway_refusals(env, front, body: bytes, post_hdr: dict) -> list[str]:
    """Requests API Gateway refuses before the function, per the deployed method auth."""
    from .gateway_auth import sign

    out = []
    get_auth = front.method_auth("GET", "/metrics")
    if get_auth.api_key_required:
        status, _, text = flows.http("GET", front.url + "/metrics?service=web")
        assert (status, json.loads(text)) == (403, {"message": "Forbidden"}), f"GET without key -> {status} {text!r}"
        status, _, text = flows.http("GET", front.url + "/metrics?service=web", headers={"x-api-key": "not-a-key"})
        assert status == 403, f"GET with an unknown key -> {status} {text!r}"
        out.append("GET without/with a wrong API key 403 Forbidden")
    post_auth = front.method_auth("POST", "/metrics")
    assert post_auth.authorization == "AWS_IAM" or post_auth.api_key_required, f"POST /metrics unguarded: {post_auth}"
    status, _, text = flows.http("POST", front.url + "/metrics", body, post_hdr)
    want = "Missing Authentication Token" if post_auth.authorization == "AWS_IAM" else "Forbidden"
    assert (status, json.loads(text).get("message")) == (403, want), f"unsigned POST -> {status} {text!r}"
    out.append(f"unsigned POST 403 {want}")
    if post_auth.authorization == "AWS_IAM":
        url = front.url + "/metrics"
        tampered = sign("POST", url, env.api_caller(), body, {**post_hdr, "x-api-key": env.stack.api_key})
        status, _, text = flows.http("POST", url, body + b" ", tampered)
        assert status == 403 and b"signature we calculated does not match" in text, f"tampered -> {status} {text!r}"
        outsider = env.identity("metrics-api").creds  # a real key, but no execute-api:Invoke
        status, _, text = flows.http("POST", url, body, sign("POST", url, outsider, body,
                                                             {**post_hdr, "x-api-key": env.stack.api_key}))
        assert status == 403 and b"not authorized to perform: execute-api:Invoke" in text, \
            f"POST by a user without execute-api:Invoke -> {status} {text!r}"
        out.append("tampered body 403 signature mismatch; caller without execute-api:Invoke 403")
    return out


def unrouted(env, front) -> list[str]:
    """What docs/openapi.yaml promises for paths and methods it does not list: a caller with the
    reads' credentials gets the function's 404/405 JSON errors (the module's ANY and {proxy+}
    methods); one without them still meets the gateway's 403 before the function."""
    def call(method: str, path: str, creds: bool):
        headers = front.client_headers(method, path, None, {}, env.stack.api_key, env.api_caller()) if creds else {}
        status, hdrs, text = flows.http(method, front.url + path, headers=headers)
        return status, hdrs, json.loads(text)

    status, _, doc = call("GET", "/no/such/path?x=1", creds=True)
    assert (status, doc.get("error")) == (404, "not_found"), f"GET /no/such/path -> {status} {doc}"
    status, hdrs, doc = call("DELETE", "/metrics", creds=True)
    assert (status, doc.get("error"), hdrs.get("Allow")) == (405, "method_not_allowed", "GET, POST, OPTIONS"), \
        f"DELETE /metrics -> {status} {doc} Allow={hdrs.get('Allow')}"
    status, _, doc = call("GET", "/", creds=True)
    assert (status, doc.get("error")) == (404, "not_found"), f"GET / -> {status} {doc}"
    status, _, doc = call("GET", "/no/such/path", creds=False)
    assert status == 403 and "error" not in doc, f"GET /no/such/path without credentials -> {status} {doc}"
    return ["unknown path 404 and method 405 from the function; without credentials 403"]


def pick_alarms(alarms: list[dict]) -> list[dict]:
    """One alarm per Trigger shape CloudWatch publishes: single metric, metric math, percentile
    (the stack's own alarms; step 6b covers the per-service ones)."""
    alarms = [a for a in alarms if not any(d.get("Name") == "ServiceName" for q in a.get("Metrics", [])
                                           for d in q.get("MetricStat", {}).get("Metric", {}).get("Dimensions", []))
              and not any(d.get("Name") == "ServiceName" for d in a.get("Dimensions", []))]
    single = next((a for a in alarms if a.get("MetricName") == "Errors" and "log-processor" in a["AlarmName"]), None)
    math = next((a for a in alarms if a.get("Metrics")), None)
    pct = next((a for a in alarms if a.get("ExtendedStatistic")), None)
    missing = [n for n, a in (("Lambda errors", single), ("metric math", math), ("percentile", pct)) if a is None]
    assert not missing, f"no deployed alarm of kind {missing}"
    return [single, math, pct]


def test_step_5c_contract_fuzz(env):
    """Issue 13: schemathesis against the deployed API through the front, valid and invalid requests
    drawn from docs/openapi.yaml: every answer is documented for its operation and matches the
    document (status, content type, body, headers), and none is a 5XX."""
    from . import contract_fuzz

    assert "front" in env.data, "step 5 failed"
    examples = 25
    with step("5c", f"contract fuzzing: docs/openapi.yaml against the API ({examples} examples per operation and mode)"):
        front = env.data["front"]
        report = contract_fuzz.run(front, env.stack.api_key, env.api_caller(), examples=examples)
        assert report.calls > 0, "schemathesis sent nothing"
        assert not report.failures, f"{len(report.failures)} of {report.calls} answers break docs/openapi.yaml:\n" \
            + "\n".join(report.failures[:20])
        assert not [st for st in report.by_status if st >= 500], f"5XX answers: {report.by_status}"
        assert report.bad_requests_naming_a_field == report.by_status.get(400, 0) > 0, report.by_status
        note(f"{report.calls} requests, answers by status {dict(sorted(report.by_status.items()))}; none breaks "
             f"the document; each of the {report.bad_requests_naming_a_field} 400s names its field")


def test_step_6_alarm(env):
    assert env.stack and env.stack.alarms, "step 3 found no alarms"
    with step(6, "alarms -> SNS -> runbook-executor (each delivered twice) -> one e-mail per state change"):
        cw, sns, sqs, ddb = env.aws("cloudwatch"), env.aws("sns"), env.aws("sqs"), env.aws("dynamodb")
        rb_env = env.stack.functions["runbook-executor"]["Environment"]["Variables"]
        started = datetime.now(timezone.utc) - timedelta(minutes=1)
        # What on-call's addresses receive, from the subscriptions Terraform created on both topics.
        inbox = flows.Inbox(sqs, sns, [env.stack.topic_arn, env.stack.notification_topic_arn])
        env.data["inbox"] = inbox
        assert inbox.subscriptions, "no e-mail subscription on either topic"
        sub = next(s for s in sns.list_subscriptions_by_topic(TopicArn=env.stack.topic_arn)["Subscriptions"]
                   if s["Protocol"] == "lambda")
        # SNS delivers to the executor only what the deployed subscription's filter passes; the
        # harness evaluates it as AWS documents (tests/e2e/sns_filter.py), not as moto does.
        policy, scope = flows.subscription_filter(sns, sub["SubscriptionArn"])
        fn = env.start_function("runbook-executor")

        def deliver(name: str, new: str, old: str, reason: str) -> dict:
            cw.set_alarm_state(AlarmName=name, StateValue=new, StateReason=reason)
            alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
            assert alarm["StateValue"] == new
            message = events.alarm_message(alarm, new, old, reason)
            # CloudWatch publishes to the alarm topic (e-mail subscribed there would get it) ...
            message_id = flows.publish_as_cloudwatch(sns, env.stack.topic_arn, message)
            # ... and SNS invokes the executor with it (moto cannot: the harness does).
            event = events.sns_event(env.stack.topic_arn, events.alarm_subject(message), json.dumps(message),
                                     sub["SubscriptionArn"], message_id=message_id)
            assert sns_filter.matches(policy, scope, event["Records"][0]["Sns"]), \
                f"filter policy ({scope} {policy}) blocks CloudWatch's notification for {name}: on AWS the runbook never runs"
            first = fn.invoke(event)
            fn.invoke(event)  # SNS redelivers: nothing may run twice
            return first

        def incidents(name: str) -> list[dict]:
            return ddb.query(TableName=env.stack.table, KeyConditionExpression="ServiceName = :k",
                             ExpressionAttributeValues={":k": {"S": f"#incident#{name}"}})["Items"]

        picked = pick_alarms(env.stack.alarms)
        outcomes = []
        for alarm in picked:
            name = alarm["AlarmName"]
            result = deliver(name, "ALARM", "OK", "Threshold Crossed: 1 datapoint [3.0] was greater than the threshold.")
            steps = [st for r in (result or {}).get("records", []) for st in r.get("steps", [])]
            bad = [st for st in steps if st.get("outcome") != "ok"]
            assert steps and not bad, f"{name}: steps not all ok: {steps}"
            outcomes.append(f"{name.split('-', 2)[-1]}: {'+'.join(st['step'] for st in steps)}")
            assert len(incidents(name)) == 1, f"{len(incidents(name))} incident items for {name}"
        mail = inbox.collect()
        published = [e for e in inbox.envelopes[env.stack.notification_topic_arn]
                     if (e.get("MessageAttributes", {}).get("origin") or {}).get("Value") == "runbook-executor"]
        assert len(published) == len(picked), f"{len(published)} enriched notifications (want {len(picked)})"
        for alarm in picked:
            assert sum(alarm["AlarmName"] in m["Message"] for m in published) == 1, \
                f"not exactly one notification names {alarm['AlarmName']}"
        # Each address: exactly one e-mail per state change, the enriched one (never CloudWatch's JSON).
        for address, got in mail.items():
            flows.check_one_enriched_mail_each(address, got, [(a["AlarmName"], "ALARM", "OK") for a in picked])
        sample = next(iter(mail.values()))[0]
        (env.workdir / "alarm-email.txt").write_text(f"Subject: {sample['subject']}\n\n{sample['body']}")
        executions = flows.metric_sum(cw, rb_env["METRIC_NAMESPACE"], "RunbookExecutions", started)
        assert executions == len(picked), f"RunbookExecutions sum {executions} (want {len(picked)})"

        # Loop guard: SNS does not deliver the executor's own notifications back to it ...
        for m in published:
            assert not sns_filter.matches(policy, scope, m), \
                f"filter policy ({scope} {policy}) lets the executor's own notification through"
        # ... and the handler's own guard ignores one that arrives anyway (delivered here on purpose,
        # bypassing the filter: this checks the handler, not SNS).
        fn.invoke(flows.as_lambda_sns_event(published[0], sub["SubscriptionArn"]))
        assert not any(inbox.collect().values()), "own notification triggered another one"

        # Back to OK closes the incident, and on-call gets the recovery, once.
        first = picked[0]["AlarmName"]
        deliver(first, "OK", "ALARM", "Threshold Crossed: no datapoints were greater than the threshold.")
        status = [it.get("status", {}).get("S") for it in incidents(first)]
        assert status == ["closed"], f"{first}: incident status after OK {status} (want ['closed'])"
        for address, got in inbox.collect().items():
            flows.check_one_enriched_mail_each(address, got, [(first, "OK", "ALARM")])
        note(f"{len(picked)} alarms (single metric, metric math, p99): 1 incident, 1 notification, "
             f"RunbookExecutions={executions:.0f}; OK closed the incident")
        note(f"e-mail ({', '.join(sorted(mail))}, on the notification topic): one enriched message per state change "
             f"({len(picked)} ALARM + 1 OK), none of CloudWatch's; sample in {env.workdir / 'alarm-email.txt'}")
        note(f"subscription filter {scope} {json.dumps(policy)}: passed every CloudWatch notification, "
             f"stopped the executor's own {len(published)}")
        for line in outcomes:
            note(f"  {line}")


def test_step_6b_service_alarms(env):
    """Issue 12 end to end: a service's logs -> its metrics in CloudWatch exactly once -> the
    applied alarm's own query, evaluated as AWS documents (cw_eval: moto evaluates no alarm and
    no metric math), breaches with the value computed here from the logs -> the alarm's
    notification runs the service's runbook with its recent metrics."""
    assert env.data.get("ingested") and env.stack.alarms, "steps 3/4 failed"
    with step("6b", "service logs -> CloudWatch once -> error-rate + burn-rate alarms -> runbook (checkout)"):
        s3, cw, sns, sqs = env.aws("s3"), env.aws("cloudwatch"), env.aws("sns"), env.aws("sqs")
        lp_env = env.stack.functions["log-processor"]["Environment"]["Variables"]
        namespace = lp_env["SERVICE_METRICS_NAMESPACE"]
        assert lp_env["PUBLISHED_SERVICES"] == "checkout", lp_env
        now = datetime.now(timezone.utc)
        obj, burn = samples.service_object(now, "checkout", minutes=5, per_minute=50, error_every=5)
        with flows.bucket_policy_lifted(s3, env.stack.bucket):
            records = flows.upload(s3, env.stack.bucket, [obj], env.stack.notification_id)
            fn = env.start_function("log-processor")
            event = events.s3_event(records)
            first = flows.object_reports(fn.invoke(event))
            again = flows.object_reports(fn.invoke(event))  # delivered twice: nothing is published again
        assert all(r.get("groups_written") == 0 for r in again.values()), f"replay wrote: {again}"

        # Exactly once in CloudWatch: per minute, Requests and Errors sum to the logs' counts.
        data = cw_eval.published(env.moto.endpoint, cw)
        dims = {"ServiceName": "checkout"}
        t0, t1 = (now.replace(second=0, microsecond=0) - timedelta(minutes=5)).timestamp(), now.timestamp()
        for metric, truth_metric in (("Requests", "requests"), ("Errors", "errors")):
            got = cw_eval.series(cw_eval.raw_datapoints(None, namespace, metric, dims, t0, t1, data), "Sum", t0, t1, 60)
            want = {datetime.fromisoformat(m.replace("Z", "+00:00")).timestamp(): sum(burn.values[("checkout", m, truth_metric)])
                    for m in burn.minutes()}
            assert {t: v for t, v in got.items() if v is not None} == want, f"{metric} per minute: {got} vs logs {want}"
        latency = cw_eval.raw_datapoints(None, namespace, "Latency", dims, t0, t1, data)
        assert sum(c for d in latency for _, c in d.values) == len(burn.series("checkout", "latency_ms")), \
            "Latency sample count differs from the lines"

        # The applied error-rate alarm's own query, evaluated over the published data.
        alarms = {a["AlarmName"]: a for a in cw.describe_alarms(MaxRecords=100)["MetricAlarms"]}
        prefix = lp_env["METRICS_TABLE"].removesuffix("-ApplicationMetrics")
        rate_alarm = alarms[f"{prefix}-error-rate-checkout"]
        fetch = cw_eval.raw_fetch(env.moto.endpoint, cw)
        at = now.replace(second=0, microsecond=0).timestamp() + 1
        ev = cw_eval.evaluate_metric_alarm(rate_alarm, fetch, now=at, range_periods=5)
        truth = samples.Truth()
        for key, values in list(env.data["truth"].values.items()) + list(burn.values.items()):
            truth.values[key] += values

        def logs_ratio(start: float, seconds: int) -> float:
            minutes = [m for m in truth.minutes() if start <= datetime.fromisoformat(m.replace("Z", "+00:00")).timestamp() < start + seconds]
            req = sum(sum(truth.values.get(("checkout", m, "requests"), [])) for m in minutes)
            err = sum(sum(truth.values.get(("checkout", m, "errors"), [])) for m in minutes)
            return err / req if req else 0.0

        for t, value, _, _ in ev.evaluated:
            assert value is not None and abs(value - 100 * logs_ratio(t, 60)) < 1e-9, \
                f"error rate at {t}: alarm query {value} vs logs {100 * logs_ratio(t, 60)}"
        assert ev.state == "ALARM", f"error-rate alarm would be {ev.state}: {ev.reason}"
        # The burn-rate windows: errors / requests / (1 - 99.9 %) over each window, from the logs.
        burn_rates = []
        for child, seconds in (("page-5m", 300), ("page-1h", 3600)):
            alarm = alarms[f"{prefix}-availability-checkout-{child}"]
            assert not alarm.get("AlarmActions"), f"{child}: SLO children must not notify"
            bev = cw_eval.evaluate_metric_alarm(alarm, fetch, now=at, range_periods=1)
            (t, value, _, _), = bev.evaluated
            want = logs_ratio(t, seconds) / (1 - 99.9 / 100)
            assert value is not None and abs(value - want) < 1e-6 * want, f"{child}: burn rate {value} vs logs {want}"
            burn_rates.append(f"{child} {value:.1f} (> {alarm['Threshold']}: {bev.state})")
        with pytest.raises(cw_eval.NotEvaluable):  # its band is CloudWatch's model: plan tests cover it
            cw_eval.evaluate_metric_alarm(alarms[f"{prefix}-traffic-drop-checkout"], fetch, now=at)

        # ALARM -> SNS -> the executor runs checkout's runbook with checkout's recent metrics.
        inbox = env.data.get("inbox") or flows.Inbox(sqs, sns, [env.stack.topic_arn, env.stack.notification_topic_arn])
        inbox.collect()  # what earlier steps left
        sub = next(x for x in sns.list_subscriptions_by_topic(TopicArn=env.stack.topic_arn)["Subscriptions"]
                   if x["Protocol"] == "lambda")
        policy, scope = flows.subscription_filter(sns, sub["SubscriptionArn"])
        reason = f"Threshold Crossed: {len(ev.breaching)} datapoints were greater than the threshold (5.0)."
        cw.set_alarm_state(AlarmName=rate_alarm["AlarmName"], StateValue="ALARM", StateReason=reason)
        described = cw.describe_alarms(AlarmNames=[rate_alarm["AlarmName"]])["MetricAlarms"][0]
        message = events.alarm_message(described, "ALARM", "OK", reason)
        message_id = flows.publish_as_cloudwatch(sns, env.stack.topic_arn, message)
        sns_event = events.sns_event(env.stack.topic_arn, events.alarm_subject(message), json.dumps(message),
                                     sub["SubscriptionArn"], message_id=message_id)
        assert sns_filter.matches(policy, scope, sns_event["Records"][0]["Sns"]), "filter blocks the service alarm"
        executor = env.start_function("runbook-executor")
        result = executor.invoke(sns_event)
        steps = [st for r in (result or {}).get("records", []) for st in r.get("steps", [])]
        assert steps and all(st.get("outcome") == "ok" for st in steps), f"runbook steps: {steps}"
        mail = inbox.collect()
        for address, got in mail.items():
            flows.check_one_enriched_mail_each(address, got, [(rate_alarm["AlarmName"], "ALARM", "OK")])
        text = next(iter(mail.values()))[0]["body"]
        # The service alarm's e-mail is the README's sample ("the e-mail as on-call sees it"): the
        # README must show the layout the executor renders today (the values differ per run).
        captured = f"Subject: {next(iter(mail.values()))[0]['subject']}\n\n{text}"
        (env.workdir / "service-alarm-email.txt").write_text(captured)
        readme = (REPO / "README.md").read_text()
        shown = readme.split("<!-- alarm-email", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
        assert flows.email_layout(shown) == flows.email_layout(captured), (
            "README.md's sample e-mail no longer has the layout the executor renders: replace it with "
            f"{env.workdir / 'service-alarm-email.txt'}")
        recent = logs_ratio(t0, 300)
        assert "checkout" in text and "requests" in text.lower(), f"notification does not name checkout's metrics:\n{text}"
        denied = env.access_denials()
        assert not denied, "calls refused by IAM:\n" + "\n".join(denied)
        note(f"{obj.lines} checkout lines (20 % errors) delivered twice -> published once "
             f"({sum(len(d.values) for d in latency)} latency values); error-rate alarm {ev.state} "
             f"at {[round(v, 1) for _, v in ev.breaching]} %; last 5 min {100 * recent:.0f} %")
        note("burn rates " + "; ".join(burn_rates) + f"; runbook {'+'.join(st['step'] for st in steps)}")


def test_step_6c_executor_down(env):
    """When the executor cannot act, on-call still gets the alarm: Lambda's retries fail, and its
    on-failure destination (the notification topic) gets the invocation record, whose
    requestPayload is the SNS event with CloudWatch's notification."""
    assert env.data.get("inbox"), "step 6 failed"
    with step("6c", "runbook-executor failing -> on-failure record with CloudWatch's notification -> e-mail"):
        cw, sns, lam = env.aws("cloudwatch"), env.aws("sns"), env.aws("lambda")
        inbox = env.data["inbox"]
        inbox.collect()
        name = pick_alarms(env.stack.alarms)[0]["AlarmName"]  # back to OK since step 6
        sub = next(s for s in sns.list_subscriptions_by_topic(TopicArn=env.stack.topic_arn)["Subscriptions"]
                   if s["Protocol"] == "lambda")
        reason = "Threshold Crossed: 1 datapoint [7.0] was greater than the threshold."
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason=reason)
        message = events.alarm_message(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0], "ALARM", "OK", reason)
        message_id = flows.publish_as_cloudwatch(sns, env.stack.topic_arn, message)
        event = events.sns_event(env.stack.topic_arn, events.alarm_subject(message), json.dumps(message),
                                 sub["SubscriptionArn"], message_id=message_id)
        # The executor with every AWS call failing (its SDK endpoint is a closed port): it cannot
        # read the runbook nor claim a step, so each invocation fails, as Lambda's retries would.
        fn_name = env.stack.functions["runbook-executor"]["FunctionName"]
        config = lam.get_function_event_invoke_config(FunctionName=fn_name)
        attempts = 1 + config["MaximumRetryAttempts"]
        # (One SDK attempt per call: the SDK's own retries against a closed port only cost time.)
        down = env.start_function("runbook-executor", endpoint=f"http://127.0.0.1:{procs.free_port()}",
                                  extra_env={"AWS_MAX_ATTEMPTS": "1"})
        for _ in range(attempts):
            inv = down.invoke_raw(event)
            assert inv.outcome == "error", f"the executor without AWS succeeded: {inv.body!r}"
        error = json.loads(inv.body)
        # Lambda, after the last retry, with the function's role (its local user: IAM enforced).
        sns_as_executor = env.moto.client("sns", env.identity("runbook-executor").creds)
        flows.deliver_on_failure(lam, sns_as_executor, fn_name, event, error, attempts)
        mail = inbox.collect()
        for address, got in mail.items():
            assert len(got) == 1, f"{address}: {len(got)} e-mails for one state change while the executor is down"
            record = json.loads(got[0]["body"])
            assert record["requestContext"]["condition"] == "RetriesExhausted"
            assert record["responsePayload"]["errorType"] == "RecordAborted", record["responsePayload"]
            raw = record["requestPayload"]["Records"][0]["Sns"]["Message"]
            assert json.loads(raw) == message, f"{address}: the e-mail does not carry CloudWatch's notification"
        note(f"{attempts} failed invocations ({error['errorType']}: {error['errorMessage'][:80]}…); the on-failure "
             f"record reached {', '.join(sorted(mail))} once, with CloudWatch's notification for {name}")


def test_step_6d_page(env):
    """Issue 15: the page `just local` serves (tests/e2e/page_server.py, the same code), pointed at
    this stack's API front and loaded in Debian's headless Chromium: every chart holds exactly the
    API's points for the logs ingested above and laid them out on a painted canvas, the totals it
    prints are the API's, its sections are the deployed dashboard's, and each alarm's state is the
    one DescribeAlarms gives."""
    from . import page_check
    from .page_server import PageServer

    assert "front" in env.data and env.data.get("ingested"), "steps 4/5 failed"
    with step("6d", "the local page in headless Chromium: charts = the API's answers, alarm states = DescribeAlarms"):
        front, truth = env.data["front"], env.data["truth"]
        cw, caller = env.aws("cloudwatch"), env.api_caller()
        page = PageServer(front, env.stack.api_key, caller, cw)
        env.data["page"] = page
        # A fixed range (no refresh while it is read): the samples' first minute to now.
        frm = env.data["base"]
        to = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
        shot = env.workdir / "page.png"
        r = page_check.check(page.url, front, env.stack.api_key, caller, cw, frm, to, shot)
        problems, shown, want, alarms = r.problems, r.shown, r.want, r.alarms
        # The sample logs themselves, for the services nothing wrote to since step 4: every line a
        # request, every error line an error.
        for service in sorted(set(truth.services()) & set(want) - {"checkout"}):
            got = {k: shown["services"][service]["totals"][k]["exact"] for k in ("requests", "errors")}
            logs = {k: str(sum(truth.series(service, k))) for k in ("requests", "errors")}
            if {k: float(v or "nan") for k, v in got.items()} != {k: float(v) for k, v in logs.items()}:
                problems.append(f"{service}: page totals {got}, sample logs {logs}")
        assert len(want) >= 2 and len(alarms) >= 5, f"too little to check: services {sorted(want)}, {len(alarms)} alarms"
        assert len(set(alarms.values())) >= 2, f"alarm states all {set(alarms.values())}: steps 6/6b set some to ALARM"
        assert not problems, f"{len(problems)} differences (screenshot {shot}):\n" + "\n".join(problems)
        if os.environ.get("E2E_PAGE_SCREENSHOT"):  # refresh the README's picture from this run
            target = REPO / os.environ["E2E_PAGE_SCREENSHOT"]
            shutil.copyfile(shot, target)
            note(f"screenshot copied to {target}")
        points = sum(len(d["data"]) for s in shown["services"].values() for c in s["charts"].values() for d in c["datasets"])
        note(f"{len(want)} services ({', '.join(sorted(want))}), {points} points charted = the API's; "
             f"{len(alarms)} alarm states ({dict(Counter(alarms.values()))}) = DescribeAlarms; "
             f"sections {page_check.section_order(r.deployed['sections'])} as {r.dashboard}; page at {page.url}")


def test_step_7_replan_and_destroy(env):
    assert env.applied, "step 2 failed"
    with step(7, "re-plan shows no changes, destroy leaves nothing"):
        code, plan = env.tf.plan_changes()
        assert code == 0, "plan after apply shows changes:\n" + "\n".join(
            line for line in plan.splitlines() if line.strip().startswith(("~", "+", "-", "#")))
        env.tf.destroy()
        # The pipeline's artifacts are not the stack's: destroy leaves them, then the harness
        # removes its bucket.
        from . import pipeline

        kept = pipeline.empty_artifact_bucket(env.aws("s3"))
        assert kept == 3, f"destroy touched the artifact bucket: {kept} zips left of 3"
        left = checks.leftovers(env.aws)
        assert not left, "left behind after destroy: " + "; ".join(left)
        denied = env.access_denials()  # every function's log, step 6's included
        assert not denied, "calls refused by IAM:\n" + "\n".join(denied)
