"""The comparisons the e2e relies on fail when they should (no test that cannot fail)."""

import gzip
import json
from datetime import datetime, timezone

from . import events, flows, samples, sns_filter


def test_percentile_tolerance_is_one_percent_around_exact_ranks():
    vals = [float(v) for v in range(1, 101)]
    assert flows.percentile_ok(99.0, vals, 99)
    assert flows.percentile_ok(99.0 * 1.0099, vals, 99)
    assert not flows.percentile_ok(99.0 * 1.03, vals, 99)
    assert not flows.percentile_ok(90.0, vals, 99)


def test_compare_point_reports_each_wrong_stat():
    vals = [1.0, 2.0, 3.0, 10.0]
    exact = samples.summarize(vals)
    good = {k: exact[k] for k in ("count", "sum", "min", "max", "avg", "p50", "p90", "p95", "p99")}
    problems = []
    flows.compare_point("s/m", good, vals, problems)
    assert problems == []
    flows.compare_point("s/m", {**good, "count": 5}, vals, problems)
    flows.compare_point("s/m", {**good, "sum": 16.5, "p99": 7.0}, vals, problems)
    assert [p.split(":")[1].split()[0] for p in problems] == ["count", "sum", "p99"]


def test_filter_policy_loop_guard():
    """The executor's subscription under AWS's documented semantics (tests/e2e/sns_filter.py): a
    MessageBody policy on AlarmArn passes CloudWatch's notifications (JSON, no attributes) and stops
    the executor's own (plain text, an `origin` attribute). The attribute policy it replaces never
    delivered an alarm: "exists": false does not match an empty attribute set."""
    alarm = {"AlarmName": "a", "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum",
             "Period": 60, "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1}
    msg = events.alarm_message(alarm, "ALARM", "OK", "because")
    cloudwatch = events.sns_event("arn:aws:sns:us-east-1:123456789012:t", events.alarm_subject(msg),
                                  json.dumps(msg))["Records"][0]["Sns"]
    own = {**cloudwatch, "Message": 'Alarm "a" is in ALARM.',
           "MessageAttributes": {"origin": {"Type": "String", "Value": "runbook-executor"}}}
    policy, scope = {"AlarmArn": [{"prefix": "arn:"}]}, "MessageBody"
    assert sns_filter.matches(policy, scope, cloudwatch)
    assert not sns_filter.matches(policy, scope, own)
    old = {"origin": [{"exists": False}]}
    assert not sns_filter.matches(old, "MessageAttributes", cloudwatch)  # AWS: never delivered
    assert not sns_filter.matches(old, "MessageAttributes", own)
    anything_but = {"origin": [{"anything-but": ["runbook-executor"]}]}
    assert not sns_filter.matches(anything_but, None, cloudwatch)  # an absent attribute fails anything-but too


def test_truth_counts_every_good_line_and_no_bad_one():
    objects, truth = samples.build(datetime(2026, 11, 29, 18, 0, tzinfo=timezone.utc))
    requests = sum(len(truth.series(s, "requests")) for s in truth.services())
    jsonl, combined, emf = objects
    assert requests == (jsonl.lines - jsonl.bad_lines) + combined.lines
    assert gzip.decompress(combined.body).count(b"\n") == combined.lines
    assert truth.minutes()[0] == "2026-11-29T17:30:00Z"
    assert set(truth.services()) == {"checkout", "payments", "web", "worker"}
    assert truth.metrics("worker") == ["JobsProcessed", "QueueDepth"]


def test_s3_record_encodes_key_as_s3_does():
    rec = events.s3_record("b", "logs/web/access log+1.gz", 10, '"abc"', "v1", "00A", "cfg")
    assert rec["s3"]["object"]["key"] == "logs/web/access+log%2B1.gz"
    assert rec["s3"]["object"]["eTag"] == "abc" and rec["s3"]["object"]["versionId"] == "v1"
    assert rec["eventName"] == "ObjectCreated:Put" and rec["eventVersion"] == "2.1"
    assert rec["s3"]["bucket"]["arn"] == "arn:aws:s3:::b"
    unversioned = events.s3_record("b", "k", 1, "e", None, "00B", "cfg")
    assert "versionId" not in unversioned["s3"]["object"]


def test_alarm_message_has_cloudwatch_shape():
    alarm = {"AlarmName": "a", "AlarmDescription": None, "MetricName": "Errors", "Namespace": "AWS/Lambda",
             "Statistic": "Sum", "Dimensions": [{"Name": "FunctionName", "Value": "f"}], "Period": 60,
             "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1,
             "AlarmActions": ["arn:t"], "OKActions": ["arn:t"]}
    msg = events.alarm_message(alarm, "ALARM", "OK", "because")
    assert msg["AlarmDescription"] is None and msg["Region"] == "US East (N. Virginia)"
    assert msg["StateChangeTime"].endswith("+0000") and msg["Trigger"]["Statistic"] == "SUM"
    assert msg["Trigger"]["Dimensions"] == [{"value": "f", "name": "FunctionName"}]
    ev = events.sns_event("arn:aws:sns:us-east-1:123456789012:t", events.alarm_subject(msg), json.dumps(msg))
    sns = ev["Records"][0]["Sns"]
    assert ev["Records"][0]["EventSource"] == "aws:sns" and json.loads(sns["Message"]) == msg
    assert sns["Subject"] == 'ALARM: "a" in US East (N. Virginia)'
    p99 = events.alarm_message({**alarm, "Statistic": None, "ExtendedStatistic": "p99"}, "ALARM", "OK", "r")
    assert p99["Trigger"]["StatisticType"] == "ExtendedStatistic" and p99["Trigger"]["ExtendedStatistic"] == "p99"


def test_the_mail_check_refuses_cloudwatchs_json_a_second_mail_and_a_missing_one():
    """Step 6's e-mail assertion fails on what on-call got before the notification topic
    (CloudWatch's raw JSON besides the enriched text), on a duplicate and on nothing."""
    import pytest

    enriched = {"subject": "ALARM: a1 (was OK)",
                "body": 'Alarm "a1" is in ALARM.\nSince: 2026-12-02 07:00:00 UTC\n\nRunbook: x\n\nSteps:\n  1. notify: this message\n'}
    msg = {"AlarmName": "a1", "NewStateValue": "ALARM", "Region": "US East (N. Virginia)"}
    raw = {"subject": events.alarm_subject(msg), "body": json.dumps(msg)}
    flows.check_one_enriched_mail_each("o@x", [enriched], [("a1", "ALARM", "OK")])
    for got in ([enriched, raw], [enriched, enriched], [], [raw]):
        with pytest.raises(AssertionError):
            flows.check_one_enriched_mail_each("o@x", got, [("a1", "ALARM", "OK")])
    forwarded = {**enriched, "body": enriched["body"].replace("Steps:", "CloudWatch's notification:")}
    with pytest.raises(AssertionError):
        flows.check_one_enriched_mail_each("o@x", [forwarded], [("a1", "ALARM", "OK")])


def test_email_layout_ignores_values_and_sees_a_changed_line():
    one = "Subject: ALARM: a (was OK)\n\nSince: 2026-12-02 07:24:32 UTC\n  1. record_incident: ok - x\n"
    other = "Subject: ALARM: a (was OK)\n\nSince: 2027-01-01 00:00:00 UTC\n  1. record_incident: ok - y\n"
    assert flows.email_layout(one) == flows.email_layout(other)
    assert flows.email_layout(one) != flows.email_layout(one.replace("Since:", "Started:"))
