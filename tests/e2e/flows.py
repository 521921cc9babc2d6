"""Steps 4-6 as plain functions over boto3 clients and the running functions.

Everything compared here comes from the deployed resources (names, environment, alarm definitions)
and from `samples.Truth`, never from the functions' own output.
"""

from __future__ import annotations

import json
import math
import re
import time
from contextlib import contextmanager
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from . import events, samples, sns_filter

PERCENTILE_TOLERANCE = 0.01  # the sketch's stated relative error
STATS = "count,sum,avg,min,max,p50,p90,p95,p99"


class Mismatch(AssertionError):
    pass


# ---- step 4: logs into the bucket, S3 events into the log processor ----------------------------

@contextmanager
def bucket_policy_lifted(s3, bucket: str):
    """moto 5.2.5 gap: it evaluates a *conditional* Deny (the TLS-only statement,
    aws:SecureTransport=false) as unconditional on object requests, so every GetObject/PutObject
    gets 403 even though nothing here breaks the condition's intent (moto has no TLS to test).
    Step 3 has checked the policy's content; it is lifted while objects are written and read,
    and the same document is put back (step 7's re-plan proves it is back unchanged)."""
    policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    s3.delete_bucket_policy(Bucket=bucket)
    try:
        yield
    finally:
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)


def upload(s3, bucket: str, objects: list[samples.LogObject], notification_id: str) -> list[dict]:
    """PUT each object; returns the S3 event record S3 would send for each write."""
    records = []
    for i, obj in enumerate(objects):
        out = s3.put_object(Bucket=bucket, Key=obj.key, Body=obj.body)
        sequencer = f"{int(time.time() * 1e6):014X}{i:02X}"  # S3's sequencers grow per key
        records.append(events.s3_record(bucket, obj.key, len(obj.body), out["ETag"], out.get("VersionId"),
                                        sequencer, notification_id))
    return records


def object_reports(result) -> dict[str, dict]:
    """The log processor's per-object report, by object key."""
    return {o.get("key"): o for o in (result or {}).get("objects", [])}


def check_line_counts(reports: dict[str, dict], objects: list[samples.LogObject]) -> None:
    """Every good line accepted, every bad one rejected (counted, not fatal)."""
    for obj in objects:
        r = reports.get(obj.key)
        if r is None:
            raise Mismatch(f"no report for {obj.key} in {sorted(reports)}")
        if r.get("accepted") != obj.lines - obj.bad_lines:
            raise Mismatch(f"{obj.key}: accepted {r.get('accepted')} of {obj.lines} lines, "
                           f"want {obj.lines - obj.bad_lines} ({obj.bad_lines} bad): {r}")


def table_snapshot(ddb, table: str) -> list[dict]:
    """Every item, in key order (a Scan is fine in a test; the functions never scan)."""
    items, kwargs = [], {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=lambda it: (it["ServiceName"]["S"], it["Timestamp"]["S"]))


# Sort-key prefixes of the hourly and daily rollups (lambdas/contract/src/table.rs).
HOUR_ROLLUP_PREFIX, DAY_ROLLUP_PREFIX = "PT1H#", "P1D#"


def is_rollup(sort_key: str) -> bool:
    return sort_key.startswith((HOUR_ROLLUP_PREFIX, DAY_ROLLUP_PREFIX))


def metric_items(snapshot: list[dict]) -> dict[tuple[str, str], dict]:
    """(service, minute) -> item, skipping the reserved key space (markers, incidents) and the
    rollups."""
    return {(it["ServiceName"]["S"], it["Timestamp"]["S"]): it for it in snapshot
            if not it["ServiceName"]["S"].startswith("#") and not is_rollup(it["Timestamp"]["S"])}


def rollup_keys(snapshot: list[dict]) -> set[tuple[str, str]]:
    return {(it["ServiceName"]["S"], it["Timestamp"]["S"]) for it in snapshot
            if not it["ServiceName"]["S"].startswith("#") and is_rollup(it["Timestamp"]["S"])}


def check_groups(snapshot: list[dict], truth: samples.Truth) -> None:
    """One item per (service, minute) of the truth, and one hourly and one daily rollup per
    (service, hour) and (service, day) holding data (their values are checked through the API
    in step 5)."""
    have = set(metric_items(snapshot))
    want = {(s, m) for (s, m, _) in truth.values}
    if have != want:
        raise Mismatch(f"(service, minute) items differ: missing {sorted(want - have)[:5]}, "
                       f"unexpected {sorted(have - want)[:5]}")
    have = rollup_keys(snapshot)
    want = ({(s, f"{HOUR_ROLLUP_PREFIX}{m[:13]}:00:00Z") for (s, m, _) in truth.values}
            | {(s, f"{DAY_ROLLUP_PREFIX}{m[:10]}T00:00:00Z") for (s, m, _) in truth.values})
    if have != want:
        raise Mismatch(f"rollups differ: missing {sorted(want - have)[:5]}, unexpected {sorted(have - want)[:5]}")


# ---- step 5: the metrics API over HTTP ---------------------------------------------------------

def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()  # case-insensitive, as HTTP headers are
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(url: str, headers: dict) -> dict:
    status, _, body = http("GET", url, headers=headers)
    if status != 200:
        raise Mismatch(f"GET {url} -> {status}: {body[:300]!r}")
    return json.loads(body)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def percentile_ok(got: float, vals: list[float], p: float) -> bool:
    """Within 1% of the exact quantile under a common rank definition: nearest-rank, the lower or
    upper 0-based rank q*(n-1), or linear interpolation between them."""
    s = sorted(vals)
    n = len(s)
    h = p / 100 * (n - 1)
    lo, hi = s[math.floor(h)], s[math.ceil(h)]
    candidates = (s[max(0, math.ceil(p / 100 * n) - 1)], lo, hi, lo + (h - math.floor(h)) * (hi - lo))
    return any(abs(got - c) <= PERCENTILE_TOLERANCE * abs(c) + 1e-9 for c in candidates)


def compare_point(where: str, point: dict, vals: list[float], problems: list[str]) -> None:
    exact = samples.summarize(vals)
    if point.get("count") != exact["count"]:
        problems.append(f"{where}: count {point.get('count')} != {exact['count']}")
        return
    for k in ("sum", "min", "max", "avg"):
        if not math.isclose(point.get(k) or 0.0, exact[k], rel_tol=1e-9, abs_tol=1e-9):
            problems.append(f"{where}: {k} {point.get(k)} != {exact[k]}")
    for p in (50, 90, 95, 99):
        got = point.get(f"p{p}")
        if got is None or not percentile_ok(got, vals, p):
            problems.append(f"{where}: p{p} {got} not within 1% of exact {exact[f'p{p}']}")


def compare_totals(doc: dict, truth: samples.Truth, services: list[str], problems: list[str]) -> None:
    """One period covering all data: each (service, metric) point equals the truth."""
    got = {(s["service"], s["metric"]): s["points"] for s in doc["series"]}
    for service in services:
        for metric in truth.metrics(service):
            points = got.get((service, metric))
            if not points or len(points) != 1:
                problems.append(f"{service}/{metric}: want one point, got {points}")
                continue
            compare_point(f"{service}/{metric}", points[0], truth.series(service, metric), problems)
    extra = set(got) - {(s, m) for s in services for m in truth.metrics(s)}
    if extra:
        problems.append(f"unexpected series {sorted(extra)}")


def compare_daily(doc: dict, truth: samples.Truth, services: list[str], problems: list[str]) -> None:
    """`period=86400` on day boundaries: each (service, metric, UTC day) point equals the truth
    of that day's minutes."""
    got = {(s["service"], s["metric"]): {p["timestamp"]: p for p in s["points"]} for s in doc["series"]}
    want_keys = set()
    for service in services:
        for metric in truth.metrics(service):
            days: dict[str, list[float]] = {}
            for (s, minute, k), vals in truth.values.items():
                if s == service and k == metric:
                    days.setdefault(minute[:10] + "T00:00:00Z", []).extend(vals)
            want_keys.add((service, metric))
            points = got.get((service, metric), {})
            if sorted(points) != sorted(days):
                problems.append(f"{service}/{metric}: days {sorted(points)} != {sorted(days)}")
                continue
            for day, vals in days.items():
                compare_point(f"{service}/{metric}@{day}", points[day], vals, problems)
    extra = set(got) - want_keys
    if extra:
        problems.append(f"unexpected series {sorted(extra)}")


def expected_ranking(truth: samples.Truth, metric: str, n: int) -> list[tuple[str, float]]:
    """What `top=n&order=<metric>:sum` must answer: services by their sum, highest first, ties
    by name; services without the metric are not ranked."""
    totals = {s: sum(truth.series(s, metric)) for s in truth.services() if metric in truth.metrics(s)}
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def per_minute_pages(base_url: str, headers: dict, service: str, frm: datetime, to: datetime,
                     limit: int) -> tuple[dict, int]:
    """Per-minute counts of every metric for one service, following next_token; and the page count."""
    counts: dict = {}
    token, pages = None, 0
    while True:
        url = (f"{base_url}/metrics?service={service}&from={iso(frm)}&to={iso(to)}&period=60"
               f"&stat=count&limit={limit}" + (f"&next_token={urllib.parse.quote(token)}" if token else ""))
        doc = get_json(url, headers)
        pages += 1
        for s in doc["series"]:
            for pt in s["points"]:
                counts[(s["metric"], pt["timestamp"])] = pt["count"]
        token = doc.get("next_token")
        if not token:
            return counts, pages
        if pages > 100:
            raise Mismatch("pagination does not end")


def op_counts(calls: list[str]) -> str:
    """'3 Query' style summary of recorded operations (DynamoDB_20120810.Query -> Query)."""
    counts: dict[str, int] = {}
    for c in calls:
        op = c.rsplit(".", 1)[-1] if "." in c and " " not in c else c
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) or "none"


def truth_minute_counts(truth: samples.Truth, service: str) -> dict:
    return {(m, minute): len(v) for (s, minute, m), v in truth.values.items() if s == service}


# ---- step 6: alarm -> SNS -> runbook executor ----------------------------------------------------

def subscribe_queue(sqs, sns, topic_arn: str) -> str:
    url = sqs.create_queue(QueueName="e2e-topic-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def drain(sqs, url: str, settle_s: float = 2.0) -> list[dict]:
    """Every message in the queue until it has stayed empty for settle_s (SNS envelopes, decoded)."""
    out, quiet_since = [], time.monotonic()
    while time.monotonic() - quiet_since < settle_s:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if msgs:
            quiet_since = time.monotonic()
    return out


def as_lambda_sns_event(envelope: dict, subscription_arn: str) -> dict:
    """An SNS envelope as it reached SQS, re-shaped as SNS hands it to Lambda."""
    ev = events.sns_event(envelope["TopicArn"], envelope.get("Subject") or "", envelope["Message"],
                          subscription_arn, envelope["MessageId"])
    ev["Records"][0]["Sns"]["MessageAttributes"] = envelope.get("MessageAttributes", {})
    return ev


def subscription_filter(sns, subscription_arn: str) -> tuple[dict, str]:
    """The deployed subscription's FilterPolicy and FilterPolicyScope, for `sns_filter.matches`
    (the harness evaluates them as AWS documents; moto's own evaluation is not trusted)."""
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription_arn)["Attributes"]
    return (sns_filter.parse_policy(attributes.get("FilterPolicy")),
            sns_filter.normalise_scope(attributes.get("FilterPolicyScope")))


def metric_sum(cw, namespace: str, metric: str, since: datetime) -> float:
    total = 0.0
    for m in cw.list_metrics(Namespace=namespace, MetricName=metric)["Metrics"]:
        stats = cw.get_metric_statistics(Namespace=namespace, MetricName=metric, Dimensions=m["Dimensions"],
                                         StartTime=since, EndTime=datetime.now(timezone.utc) + timedelta(minutes=5),
                                         Period=60, Statistics=["Sum"])
        total += sum(d["Sum"] for d in stats["Datapoints"])
    return total


def to_plain(v):
    return float(v) if isinstance(v, Decimal) else v


# ---- what on-call's e-mail gets ----------------------------------------------------------------

class Inbox:
    """The messages each e-mail subscription of the deployed stack would receive.

    moto sends no e-mail, but it does fan a topic's messages out to SQS for real: a capture queue
    subscribed to each topic that has e-mail subscriptions sees everything published there (the
    executor's messages, Lambda's on-failure records, CloudWatch's notifications the harness
    publishes as CloudWatch does). Each e-mail subscription, read from the topics Terraform
    created, then gets the topic's messages its filter policy passes (`sns_filter`, AWS's
    semantics). An e-mail is the published `Subject` and the `Message` as its text: SNS's e-mail
    protocol delivers exactly those, `email-json` the JSON envelope
    (https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html,
    https://docs.aws.amazon.com/sns/latest/api/API_Publish.html: "Subject ... used as the
    'Subject' line when the message is delivered to email endpoints")."""

    def __init__(self, sqs, sns, topics: list[str]):
        self.sqs, self.sns = sqs, sns
        self.subscriptions: list[dict] = []  # e-mail subscriptions: topic, address, filter
        self.queues: dict[str, str] = {}  # topic -> capture queue URL
        for topic in topics:
            for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
                if s["Protocol"] == "email":
                    policy, scope = subscription_filter(sns, s["SubscriptionArn"])
                    self.subscriptions.append({"topic": topic, "address": s["Endpoint"], "policy": policy,
                                               "scope": scope})
            self.queues[topic] = self._capture(topic)
        self.envelopes: dict[str, list[dict]] = {t: [] for t in topics}

    def _capture(self, topic: str) -> str:
        name = "e2e-mail-" + topic.rsplit(":", 1)[-1]
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        return url

    def collect(self, settle_s: float = 0.5) -> dict[str, list[dict]]:
        """address -> the e-mails it received since the last call: {subject, body, topic, envelope}.
        moto fans a message out to SQS before Publish returns, so what the functions published is
        in the queues once their invocations have returned; the queues are read until all of them
        have been empty for `settle_s`."""
        mail: dict[str, list[dict]] = {s["address"]: [] for s in self.subscriptions}
        got_by_topic: dict[str, list[dict]] = {t: [] for t in self.queues}
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < settle_s:
            for topic, url in self.queues.items():
                msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                for m in msgs:
                    got_by_topic[topic].append(json.loads(m["Body"]))
                    self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                if msgs:
                    quiet_since = time.monotonic()
            time.sleep(0.05)
        for topic, got in got_by_topic.items():
            self.envelopes[topic] += got
            for envelope in got:
                for s in self.subscriptions:
                    if s["topic"] == topic and sns_filter.matches(s["policy"], s["scope"], envelope):
                        mail[s["address"]].append({"subject": envelope.get("Subject"), "body": envelope["Message"],
                                                   "topic": topic, "envelope": envelope})
        return mail


def publish_as_cloudwatch(sns, topic_arn: str, message: dict) -> str:
    """Publish an alarm notification to the alarm topic as CloudWatch does: the JSON body, the
    subject CloudWatch uses, no message attributes; returns the SNS MessageId (which the
    executor's event then carries). moto cannot invoke the Lambda subscription (no docker); the
    harness invokes the executor itself with the same message."""
    return sns.publish(TopicArn=topic_arn, Subject=events.alarm_subject(message), Message=json.dumps(message))["MessageId"]


def deliver_on_failure(lam, sns_as_function, function_name: str, event: dict, error: dict, attempts: int) -> dict:
    """What Lambda does after the last retry of a failed asynchronous invocation: publish the
    invocation record to the function's on-failure destination, with the function's execution
    role (`sns_as_function` signs as the function's local user). The destination is read from the
    deployed event invoke config; the record has the documented shape
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html:
    version, timestamp, requestContext {requestId, functionArn, condition, approximateInvokeCount},
    requestPayload = the event, responseContext, responsePayload = the function's error)."""
    import uuid

    config = lam.get_function_event_invoke_config(FunctionName=function_name)
    destination = config["DestinationConfig"]["OnFailure"]["Destination"]
    fn = lam.get_function_configuration(FunctionName=function_name)
    record = {
        "version": "1.0",
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": fn["FunctionArn"] + ":$LATEST",
                           "condition": "RetriesExhausted", "approximateInvokeCount": attempts},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": error,  # what the runtime posted to /error: errorType, errorMessage
    }
    assert destination.split(":")[2] == "sns", f"on-failure destination {destination} is not a topic"
    sns_as_function.publish(TopicArn=destination, Message=json.dumps(record))
    return record


def email_layout(text: str) -> list[str]:
    """An e-mail's lines without their values: each line's label (up to its first ':'), digits
    folded, so two renderings of the same layout compare equal whatever the times and counts."""
    return [re.sub(r"[0-9]+", "N", line.split(":", 1)[0]) for line in text.strip("\n").splitlines()]


def check_one_enriched_mail_each(address: str, got: list[dict], changes: list[tuple[str, str, str]]) -> None:
    """`got` is exactly one e-mail per (alarm, new state, old state), each the executor's
    enriched message for it: its subject, what fired and since when, the runbook, the steps."""
    assert len(got) == len(changes), f"{address}: {len(got)} e-mails for {len(changes)} state changes: " + \
        "; ".join(str(m["subject"]) for m in got)
    for name, new, old in changes:
        mine = [m for m in got if m["subject"] == f"{new}: {name} (was {old})"]
        assert len(mine) == 1, f"{address}: {len(mine)} e-mails about {name} -> {new}: {[m['subject'] for m in got]}"
        body = mine[0]["body"]
        headline = {"ALARM": "is in ALARM", "OK": "has recovered (OK)"}[new]
        assert body.startswith(f'Alarm "{name}" {headline}.\nSince: '), f"{address}: not the enriched message:\n{body}"
        for part in ("\nRunbook: ", "\nSteps:\n", "notify: this message"):
            assert part in body, f"{address}: the e-mail about {name} lacks {part!r}:\n{body}"
        assert len(mine[0]["subject"]) < 100, "SNS: subjects under 100 characters"
