"""Test vectors for tests/e2e/cw_eval.py, each from the CloudWatch page it cites; moto is not the oracle
except in the last test, which measures what moto exposes (the recorder route for raw data).

Pages: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ + the name in each comment.
"""

import json
import math
import time
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlencode

import pytest

from .cw_eval import (ALARM, INSUFFICIENT_DATA, OK, Datum, NotEvaluable, Unsupported, evaluate_composite_rule,
                      evaluate_expression, evaluate_metric_alarm, low_sample_limit, percentile_neighbourhood,
                      published, raw_datapoints, raw_fetch, series, start_recording, statistic)


def values(*pairs, t=0.0):
    return [Datum("N", "M", {}, t, None, [(float(v), float(c)) for v, c in pairs])]


def stats(**s):
    return [Datum("N", "M", {}, 0.0, None, [], {k: float(v) for k, v in s.items()})]


# ---- statistics --------------------------------------------------------------------------------

# Statistics-definitions.html; API_PutMetricData (Values/Counts: "the number of times the
# corresponding value in the Values array occurred"). 10x1 + 20x2 + 30x3 = 140 (also what moto's Sum
# answers, /work/shared/notes/local-aws.md).
def test_basic_statistics_weight_values_by_counts():
    pts = values((10, 1), (20, 2), (30, 3))
    assert statistic(pts, "Sum") == 140
    assert statistic(pts, "SampleCount") == 6
    assert statistic(pts, "Average") == pytest.approx(140 / 6)  # "Sum/SampleCount"
    assert (statistic(pts, "Minimum"), statistic(pts, "Maximum")) == (10, 30)
    assert statistic([], "Sum") is None
    both = pts + stats(SampleCount=2, Sum=100, Minimum=40, Maximum=60)
    assert (statistic(both, "Sum"), statistic(both, "SampleCount"), statistic(both, "Maximum")) == (240, 8, 60)


# Statistics-definitions.html "Percentiles versus trimmed mean": p99 ignores "the 1% of the data points
# with the highest values" and "is the maximum value of the remaining 99%" (nearest rank).
def test_percentiles_nearest_rank():
    hundred = values(*[(v, 1) for v in range(1, 101)])
    assert statistic(hundred, "p99") == 99
    assert statistic(hundred, "p100") == 100 and statistic(hundred, "p50") == 50
    assert statistic(values(*[(v, 1) for v in range(1, 1001)]), "p99") == 990
    assert statistic(values(*[(v, 1) for v in range(1, 11)]), "p99") == 10  # 1% of 10 points: none ignored
    assert statistic(values((10, 1), (20, 2), (30, 3)), "p50") == 20  # counts weigh: 10 20 20 | 30 30 30
    assert statistic(values((10, 1), (20, 2), (30, 3)), "p16.6") == 10
    # p60 of 1..4: the top 40% holds 1 whole point (4); the maximum of the rest is 3, not rank round(2.4)
    assert statistic(values((1, 1), (2, 1), (3, 1), (4, 1)), "p60") == 3
    assert statistic(values((1, 990), (5000, 10)), "p99") == 1
    assert statistic(values((1, 989), (5000, 11)), "p99") == 5000
    assert percentile_neighbourhood(hundred, 99) == (98, 100)
    with pytest.raises(Unsupported):
        statistic(hundred, "tm99")


# cloudwatch_concepts.html#Percentiles: statistic sets give percentiles only if "SampleCount ... is 1 and
# Min, Max, and Sum are all equal" or "Min and Max are equal, and Sum is equal to Min multiplied by
# SampleCount"; "not available ... when any of the metric values are negative numbers".
def test_percentile_requirements():
    assert statistic(stats(SampleCount=1, Sum=7, Minimum=7, Maximum=7), "p99") == 7
    assert statistic(stats(SampleCount=4, Sum=28, Minimum=7, Maximum=7), "p50") == 7
    with pytest.raises(NotEvaluable):
        statistic(stats(SampleCount=2, Sum=3, Minimum=1, Maximum=2), "p99")
    with pytest.raises(NotEvaluable):
        statistic(values((-1, 1), (5, 1)), "p50")
    assert statistic(values((-1, 1), (5, 1)), "Sum") == 4


# percentiles-with-low-samples.html: "fewer than 10/(1-percentile)": 1000 for p99; 10/p below 0.5.
def test_low_sample_limits():
    assert low_sample_limit("p99") == pytest.approx(1000)
    assert low_sample_limit("p50") == pytest.approx(20) and low_sample_limit("p10") == pytest.approx(100)


def test_series_buckets_by_period_from_start():
    pts = [Datum("N", "M", {}, t, None, [(v, 1.0)]) for t, v in ((0, 1), (59.9, 2), (60, 4), (185, 8))]
    assert series(pts, "Sum", 0, 240, 60) == {0: 3, 60: 4, 180: 8}  # 120..180 has no data: no point
    assert series(pts, "Sum", 60, 180, 60) == {60: 4}


# ---- metric math -------------------------------------------------------------------------------

def ts(*vals):
    """A series on the grid 0, 60, ... with '-' for "no value for that timestamp"."""
    return {i * 60.0: float(v) for i, v in enumerate(vals) if v != "-"}


def run(expr, **ids):
    n = max(max((int(t // 60) for t in s), default=0) for s in ids.values()) + 1 if ids else 1
    return evaluate_expression(expr, lambda i: ids[i], 0, n * 60, 60)


def listed(series_, n):
    return [series_.get(i * 60.0, "-") for i in range(n)]


# using-metric-math.html "Comparison and logical operators": metric1 [30, 20, 0, 0], metric2
# [20, -, 20, -].
def test_comparison_table():
    env = {"metric1": ts(30, 20, 0, 0), "metric2": ts(20, "-", 20, "-")}
    assert listed(run("(metric1 < metric2)", **env), 4) == [0, 0, 1, 0]
    assert listed(run("(metric1 >= 30)", **env), 4) == [1, 0, 0, 0]
    assert listed(run("(metric1 > 15 AND metric2 > 15)", **env), 4) == [1, 0, 0, 0]
    assert listed(run("metric1 > 15 && metric2 > 15 || metric1 == 0", **env), 4) == [1, 0, 1, 1]


# using-metric-math.html "Using IF expressions": the three tables.
def test_if_tables():
    env = {"metric1": ts(1, 1, 0, 0, "-"), "metric2": ts(30, "-", 0, 0, 30), "metric3": ts(0, 0, 20, "-", 20)}
    assert listed(run("IF(metric1, metric2, metric3)", **env), 5) == [30, 0, 20, "-", "-"]
    assert listed(run("IF(metric1, 5, metric3)", **env), 5) == [5, 5, 20, "-", "-"]
    assert listed(run("IF(metric1, metric2, 5)", **env), 5) == [30, 0, 5, 5, "-"]
    assert listed(run("IF(metric1, metric2)", **env), 5) == [30, 0, "-", "-", "-"]  # no falseValue: dropped
    assert listed(run("IF(metric1 < 400, 10, 2)", metric1=ts(100, 500)), 2) == [10, 2]  # use-case example
    assert run("IF(1, metric2, metric3)", **env) == env["metric2"]  # IF(scalar1, metric2, metric3)


# using-metric-math.html "Basic arithmetic functions": "Missing values in a time series are treated as
# 0. If the value of a data point causes a function to attempt to divide by zero, the data point is
# dropped." Unary subtraction; scalar and series.
def test_arithmetic_missing_and_division_by_zero():
    env = {"m1": ts(10, "-", 6, 8), "m2": ts(2, 4, 0, "-")}
    assert listed(run("m1 - m2", **env), 4) == [8, -4, 6, 8]
    assert listed(run("m1 / m2", **env), 4) == [5, 0, "-", "-"]
    assert listed(run("5 * m1", **env), 4) == [50, "-", 30, 40]
    assert listed(run("-5*m1", **env), 4) == [-50, "-", -30, -40]
    assert listed(run("m1 - m2 - m2 + 2 ^ 2", **env), 4) == [10, -4, 10, 12]  # left associative; ^ first
    assert listed(run("100 / m2", **env), 4) == [50, 25, "-", "-"]


# The module's expressions (terraform/modules/alarms/main.tf) on data where the answer is plain.
def test_module_expressions():
    rate = "IF(requests > 0, 100 * errors / requests, 0)"
    env = {"requests": ts(200, 0, 50, "-", 10), "errors": ts(10, "-", "-", 3, 10)}
    assert listed(run(rate, **env), 5) == [5, 0, 0, "-", 100]
    fill = "FILL(reads, 0) + FILL(writes, 0)"
    assert listed(run(fill, reads=ts(1, "-", "-"), writes=ts("-", "-", 2)), 3) == [1, 0, 2]
    # FILL "Fills the missing values of a time series": every period of the range
    assert evaluate_expression(fill, {"reads": {}, "writes": {}}.get, 0, 180, 60) == {0: 0, 60: 0, 120: 0}


def test_not_evaluable_and_unsupported_are_named():
    with pytest.raises(NotEvaluable, match="ANOMALY_DETECTION_BAND"):
        run("ANOMALY_DETECTION_BAND(m1, 2)", m1=ts(1))
    for expr in ("FILL(m1, REPEAT)", "RATE(m1)", "METRICS()"):
        with pytest.raises(Unsupported):
            run(expr, m1=ts(1))
    with pytest.raises(ValueError):
        run("m1 +", m1=ts(1))


# ---- alarm evaluation: the tables of alarm-evaluation.html ---------------------------------------

PERIOD, END = 60, 1_800_000_000  # END is minute-aligned: the alarm's window ends there


def pattern_alarm(pattern, m, n, treatment, namespace="Custom/Test"):
    """'0 - X - X' (oldest first; 0 non-breaching, X breaching, - missing) as a fetch + alarm."""
    cells = pattern.split()
    start = END - len(cells) * PERIOD
    data = {start + i * PERIOD: (5.0 if c == "X" else 0.0) for i, c in enumerate(cells) if c != "-"}
    alarm = {"AlarmName": "a", "Namespace": namespace, "MetricName": "M", "Dimensions": [], "Statistic": "Sum",
             "Period": PERIOD, "EvaluationPeriods": n, "DatapointsToAlarm": m, "Threshold": 1.0,
             "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": treatment}
    return alarm, lambda *a: dict(data), len(cells)


RETAIN = "retain"
# alarm-evaluation.html, "How alarm state is evaluated when data is missing": columns MISSING, IGNORE,
# BREACHING, NOT BREACHING. Evaluation range 5.
THREE_OF_THREE = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", ALARM, RETAIN, ALARM, OK),
    # The page's earlier revision (awsdocs/amazon-cloudwatch-user-guide, AlarmThatSendsEmail.md) also had:
    ("- - - - X", INSUFFICIENT_DATA, RETAIN, ALARM, OK),
    ("X - - - -", ALARM, RETAIN, ALARM, OK),
]
TWO_OF_THREE = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - X -", ALARM, RETAIN, ALARM, OK),
]


@pytest.mark.parametrize("m,row", [(3, r) for r in THREE_OF_THREE] + [(2, r) for r in TWO_OF_THREE])
def test_alarm_evaluation_tables(m, row):
    pattern, *expected = row
    for treatment, want in zip(("missing", "ignore", "breaching", "notBreaching"), expected):
        for current in (OK, ALARM):
            alarm, fetch, r = pattern_alarm(pattern, m, 3, treatment)
            e = evaluate_metric_alarm(alarm, fetch, now=END + 30, current_state=current, range_periods=r)
            got = RETAIN if e.retained else e.state
            assert got == want, (pattern, treatment, e.reason)
            if e.retained:
                assert e.state == current


def test_evaluated_points_and_fill():
    alarm, fetch, r = pattern_alarm("0 - X - -", 3, 3, "breaching")
    e = evaluate_metric_alarm(alarm, fetch, now=END, range_periods=r)
    # all real points of the range, then the most recent missing ones filled
    assert [(v, b, f) for _, v, b, f in e.evaluated] == [(0.0, False, False), (5.0, True, False), (None, True, True)]
    assert e.state == OK and len(e.breaching) == 2
    # default range N + 2 and default DatapointsToAlarm = EvaluationPeriods
    alarm, fetch, _ = pattern_alarm("X X X X X", None, 5, "notBreaching")
    assert evaluate_metric_alarm(alarm, fetch, now=END + 59).state == ALARM


# API_PutMetricAlarm, TreatMissingData: "Alarms that evaluate metrics in the AWS/DynamoDB namespace
# always ignore missing data even if you choose a different option".
def test_dynamodb_namespace_ignores_missing_data():
    alarm, fetch, r = pattern_alarm("- - - - -", 3, 3, "notBreaching", namespace="AWS/DynamoDB")
    e = evaluate_metric_alarm(alarm, fetch, now=END, current_state=ALARM, range_periods=r)
    assert (e.treatment, e.retained, e.state) == ("ignore", True, ALARM)


def module_alarms(api="api", stage="v1"):
    """DescribeAlarms entries shaped like the module's applied alarms (terraform/modules/alarms)."""
    dims = [{"Name": "ApiName", "Value": api}, {"Name": "Stage", "Value": stage}]
    common = {"ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 5, "TreatMissingData": "notBreaching"}
    p99 = {"AlarmName": "p-api-latency-p99", "Namespace": "AWS/ApiGateway", "MetricName": "Latency", "Dimensions": dims,
           "ExtendedStatistic": "p99", "Period": 60, "Threshold": 2000.0,
           "EvaluateLowSampleCountPercentile": "evaluate", **common}
    q = lambda i, name: {"Id": i, "ReturnData": False, "MetricStat": {  # noqa: E731
        "Metric": {"Namespace": "AWS/ApiGateway", "MetricName": name, "Dimensions": dims}, "Period": 60, "Stat": "Sum"}}
    rate = {"AlarmName": "p-api-5xx-rate", "Threshold": 5.0, **common, "Metrics": [
        {"Id": "rate", "Expression": "IF(requests > 0, 100 * errors / requests, 0)", "Label": "5XX rate (%)",
         "ReturnData": True}, q("errors", "5XXError"), q("requests", "Count")]}
    return p99, rate


def test_module_alarms_from_raw_points():
    start = END - 7 * PERIOD
    pts = {"Latency": [], "5XXError": [], "Count": []}
    for k in range(2, 7):  # the last five minutes: 100 requests each, 2 of them slow, 10 failed
        t = start + k * PERIOD + 5
        pts["Latency"].append(Datum("AWS/ApiGateway", "Latency", {}, t, None, [(50.0, 98.0), (2500.0, 2.0)]))
        pts["Count"].append(Datum("AWS/ApiGateway", "Count", {}, t, None, [(1.0, 100.0)]))
        pts["5XXError"].append(Datum("AWS/ApiGateway", "5XXError", {}, t, None, [(1.0, 10.0)]))
    fetch = lambda ns, name, dims, stat, period, s, e: series(pts[name], stat, s, e, period)  # noqa: E731
    p99, rate = module_alarms()
    e = evaluate_metric_alarm(p99, fetch, now=END + 10)
    assert e.state == ALARM and [v for _, v, _, _ in e.evaluated] == [2500.0] * 5
    e = evaluate_metric_alarm(rate, fetch, now=END + 10)
    assert e.state == ALARM and [v for _, v, _, _ in e.evaluated] == [10.0] * 5
    # one quiet minute among the five: not every period breaches -> OK (5 of 5 needed)
    pts["5XXError"].pop(2)
    e = evaluate_metric_alarm(rate, fetch, now=END + 10)
    assert e.state == OK and [v for _, v, _, _ in e.evaluated] == [10.0, 10.0, 0.0, 10.0, 10.0]
    # API_PutMetricAlarm, EvaluateLowSampleCountPercentile "ignore": "the alarm state does not change
    # during periods with too few data points" (100 < 1000 for p99)
    e = evaluate_metric_alarm({**p99, "EvaluateLowSampleCountPercentile": "ignore"}, fetch, now=END + 10,
                              current_state=OK)
    assert e.retained and e.state == OK
    with pytest.raises(NotEvaluable):
        evaluate_metric_alarm({**rate, "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
                               "ThresholdMetricId": "ad1"}, fetch, now=END)


# ---- composite rules: Create_Composite_Alarm.html and API_PutCompositeAlarm (AlarmRule) ----------

STATES = {"CPUUtilizationTooHigh": ALARM, "DiskReadOpsTooHigh": OK, "NetworkOutTooHigh": OK,
          "DeploymentInProgress": INSUFFICIENT_DATA}


def test_composite_rule_examples():
    assert not evaluate_composite_rule("ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)", STATES)
    assert evaluate_composite_rule("ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)", STATES)
    assert evaluate_composite_rule("(ALARM(CPUUtilizationTooHigh) OR ALARM(DiskReadOpsTooHigh)) AND OK(NetworkOutTooHigh)",
                                   STATES)
    assert evaluate_composite_rule('(ALARM("CPUUtilizationTooHigh") OR \nALARM("DiskReadOpsTooHigh")) AND \n'
                                   'OK("NetworkOutTooHigh")', STATES)
    assert not evaluate_composite_rule('ALARM("CPUUtilizationTooHigh") AND NOT OK(NetworkOutTooHigh)', STATES)
    assert evaluate_composite_rule("INSUFFICIENT_DATA(DeploymentInProgress)", STATES)
    # "TRUE always evaluates to TRUE, and FALSE always evaluates to FALSE"
    assert evaluate_composite_rule("TRUE", {}) and not evaluate_composite_rule("FALSE", {})
    assert evaluate_composite_rule("FALSE OR TRUE AND TRUE", {})  # AND binds tighter
    assert not evaluate_composite_rule("NOT TRUE AND FALSE OR FALSE", {})


def test_composite_rule_names_and_arns():
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
    assert evaluate_composite_rule(f'ALARM("{arn}CPUUtilizationTooHigh")', STATES)
    assert evaluate_composite_rule('OK("p-api: x (y)")', {arn + "p-api: x (y)": OK})
    with pytest.raises(KeyError):
        evaluate_composite_rule("ALARM(Nope)", STATES)
    for bad in ("ALARM(CPUUtilizationTooHigh) AND", "ALARM CPUUtilizationTooHigh", "(TRUE"):
        with pytest.raises(ValueError):
            evaluate_composite_rule(bad, STATES)


# ---- live: what moto exposes for raw data --------------------------------------------------------

def _signed_query(moto, params: dict):
    """A query-protocol PutMetricData as the Rust SDK sends it (form body, SigV4)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest("POST", moto.endpoint + "/", data=urlencode(params),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(moto.admin.key_id, moto.admin.secret), "monitoring", "us-east-1").add_auth(req)
    r = urllib.request.urlopen(urllib.request.Request(req.url, data=req.body.encode() if isinstance(req.body, str)
                                                      else req.body, headers=dict(req.headers), method="POST"))
    assert r.status == 200


def test_live_moto_raw_datapoints(tmp_path):
    # MotoServer points moto's recorder (MOTO_RECORDER_FILEPATH) into its work dir, never the cwd
    try:
        from .moto_server import MotoServer
        moto = MotoServer(tmp_path).start()
    except Exception as e:  # noqa: BLE001 - no moto here: nothing to measure
        pytest.skip(f"moto server did not start: {e}")
    try:
        start_recording(moto.endpoint)
        cw = moto.client("cloudwatch")
        now = time.time()
        minute = math.floor(now / 60) * 60
        dims = [{"Name": "ApiName", "Value": "api"}, {"Name": "Stage", "Value": "v1"}]
        at = datetime.fromtimestamp(minute - 90, timezone.utc)
        cw.put_metric_data(Namespace="AWS/ApiGateway", MetricData=[
            {"MetricName": "Latency", "Dimensions": dims, "Timestamp": at, "Values": [10, 20, 30],
             "Counts": [1, 2, 3], "Unit": "Milliseconds"},
            {"MetricName": "Latency", "Dimensions": dims[:1], "Timestamp": at, "Value": 999.0}])
        # big enough for botocore's gzip request compression (PutMetricData, >= 10 KiB)
        cw.put_metric_data(Namespace="Big", MetricData=[
            {"MetricName": "B", "Timestamp": at, "Values": [float(i) for i in range(150)]}] * 10)
        _signed_query(moto, {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": "App",
                             "MetricData.member.1.MetricName": "RunbookExecutions",
                             "MetricData.member.1.Dimensions.member.1.Name": "Service",
                             "MetricData.member.1.Dimensions.member.1.Value": "svc",
                             "MetricData.member.1.Value": "3", "MetricData.member.1.Unit": "Count"})

        got = raw_datapoints(moto.endpoint, "AWS/ApiGateway", "Latency", {"ApiName": "api", "Stage": "v1"},
                             minute - 120, minute)
        assert [(d.values, d.timestamp, d.unit) for d in got] == [
            ([(10.0, 1.0), (20.0, 2.0), (30.0, 3.0)], minute - 90, "Milliseconds")]
        snap = published(moto.endpoint)
        assert len(raw_datapoints(None, "AWS/ApiGateway", "Latency", {"ApiName": "api"}, 0, now + 60, snap)) == 1
        assert len(raw_datapoints(None, "AWS/ApiGateway", "Latency", {"ApiName": "api", "Stage": "v1"},
                                  minute - 60, minute, snap)) == 0
        big = raw_datapoints(None, "Big", "B", {}, 0, now + 60, snap)
        assert len(big) == 10 and statistic(big, "SampleCount") == 1500
        query = raw_datapoints(None, "App", "RunbookExecutions", {"Service": "svc"}, now - 60, now + 60, snap)
        assert [d.values for d in query] == [[(3.0, 1.0)]]  # no Timestamp: stamped with X-Amz-Date

        # the alarm read back from moto, evaluated over the recorded data
        cw.put_metric_alarm(AlarmName="p99", Namespace="AWS/ApiGateway", MetricName="Latency", Dimensions=dims,
                            ExtendedStatistic="p99", Period=60, EvaluationPeriods=1, Threshold=25,
                            ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching")
        alarm = cw.describe_alarms(AlarmNames=["p99"])["MetricAlarms"][0]
        e = evaluate_metric_alarm(alarm, raw_fetch(moto.endpoint), now=minute + 1, range_periods=3)
        assert e.state == ALARM and e.breaching == [(minute - 120, 30.0)]

        # why not /moto-api/data.json: its MetricDatum entries have no timestamp and no dimensions
        dump = json.loads(urllib.request.urlopen(moto.endpoint + "/moto-api/data.json").read())
        datum = next(d for d in dump["cloudwatch"]["MetricDatum"] if d["name"] == "Latency")
        assert "timestamp" not in datum and "dimensions" not in datum
        assert (tmp_path / "moto_recording").stat().st_size > 0

        # a PutMetricData that moto refused is recorded too: published() notices it was not stored
        from botocore.exceptions import ClientError
        refused = moto._client("cloudwatch", "unknown-key", "x")
        with pytest.raises(ClientError):
            refused.put_metric_data(Namespace="App", MetricData=[{"MetricName": "X", "Value": 12345.0}])
        with pytest.raises(ValueError, match="did not store"):
            raw_datapoints(moto.endpoint, "App", "X", {}, 0, now + 60)
    finally:
        moto.stop()
