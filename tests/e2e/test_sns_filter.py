"""Test vectors for tests/e2e/sns_filter.py, each taken from the AWS page it cites.

Policies and messages are the documentation's own examples wherever the page gives one (URL in a
comment above each test). Attributes are written as SNS delivers them ({"Type", "Value"}); bodies as
the JSON string SNS carries in `Message`. No emulator is involved: moto is not the oracle.
"""

import json

import pytest

from . import events
from .sns_filter import (FilterPolicyError, UndocumentedCase, UnknownOperator, matches, matches_attributes,
                         matches_body)


def S(v):
    return {"Type": "String", "Value": v}


def SA(*vs):
    return {"Type": "String.Array", "Value": json.dumps(list(vs))}


def N(v):
    return {"Type": "Number", "Value": v}


def attrs(policy, **attributes):
    return matches_attributes(policy, attributes)


def body(policy, doc):
    return matches_body(policy, doc if isinstance(doc, str) else json.dumps(doc))


# ---- no policy, scope ------------------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/message-filtering.html
# "If a subscription doesn't have a filter policy, the subscriber receives every message"
def test_no_policy_delivers_everything():
    msg = {"Message": "plain text", "MessageAttributes": {}}
    assert matches(None, None, msg) and matches("", "MessageBody", msg) and matches("{}", None, msg)


# https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html
# "If no filter policy scope is defined ..., the scope defaults to MessageAttributes."
def test_scope_defaults_to_message_attributes():
    policy = {"store": ["example_corp"]}
    msg = {"Message": json.dumps({"store": "example_corp"}), "MessageAttributes": {"store": S("example_corp")}}
    assert matches(policy, None, msg)
    assert not matches(policy, None, {**msg, "MessageAttributes": {}})  # the body is not looked at
    assert matches(policy, "MessageBody", {**msg, "MessageAttributes": {}})
    with pytest.raises(FilterPolicyError):
        matches(policy, "Body", msg)


# ---- example filter policies ----------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/example-filter-policies.html
EXAMPLE_ATTRIBUTES = {
    "customer_interests": {"Type": "String.Array", "Value": "[\"soccer\", \"rugby\", \"hockey\"]"},
    "store": {"Type": "String", "Value": "example_corp"},
    "event": {"Type": "String", "Value": "order_placed"},
    "price_usd": {"Type": "Number", "Value": "210.75"},
}
EXAMPLE_BODY = ('{\n      "customer_interests": ["soccer", "rugby", "hockey"],\n      "store": "example_corp",\n'
                '      "event":"order_placed",\n      "price_usd":210.75\n   }')
ACCEPTS = {"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}],
           "customer_interests": ["rugby", "football", "baseball"], "price_usd": [{"numeric": [">=", 100]}]}
REJECTS = {"store": ["example_corp"], "event": ["order_cancelled"], "encrypted": [False],
           "customer_interests": ["basketball", "baseball"]}


def test_example_policies_both_scopes():
    # "the same filter policy works for a FilterPolicyScope whether it's set to MessageAttributes or
    # MessageBody"
    assert matches_attributes(ACCEPTS, EXAMPLE_ATTRIBUTES)
    assert matches_body(ACCEPTS, EXAMPLE_BODY)
    assert not matches_attributes(REJECTS, EXAMPLE_ATTRIBUTES)
    assert not matches_body(REJECTS, EXAMPLE_BODY)
    # "because the encrypted property name isn't present ..., this policy property causes the
    # message to be rejected regardless of the value assigned to it"
    assert not matches_attributes({"encrypted": [False]}, EXAMPLE_ATTRIBUTES)
    assert not matches_attributes({"encrypted": [{"anything-but": ["x"]}]}, EXAMPLE_ATTRIBUTES)


# ---- AND / OR ------------------------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html
def test_and_across_keys_or_within_a_key():
    policy = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    assert attrs(policy, customer_interests=S("rugby"), price_usd=N("101"))
    assert not attrs(policy, customer_interests=S("rugby"), price_usd=N("100"))
    assert not attrs(policy, customer_interests=S("tennis"), price_usd=N("101"))
    assert body(policy, {"customer_interests": "rugby", "price_usd": 150})
    either = {"customer_interests": ["rugby", "football", "baseball"]}
    assert all(attrs(either, customer_interests=S(v)) for v in ("rugby", "football", "baseball"))
    assert not attrs(either, customer_interests=S("tennis"))


# https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html ("OR operator")
def test_or_operator():
    policy = {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}
    assert attrs(policy, source=S("aws.cloudwatch"), metricName=S("CPUUtilization"))
    assert attrs(policy, source=S("aws.cloudwatch"), namespace=S("AWS/EC2"))
    assert body(policy, {"source": "aws.cloudwatch", "metricName": "CPUUtilization"})
    assert body(policy, {"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    assert not attrs(policy, source=S("aws.cloudwatch"), namespace=S("AWS/S3"))
    assert not attrs(policy, metricName=S("CPUUtilization"))  # "source" && (...)
    nested = {"source": ["aws.cloudwatch"],
              "$or": [{"metricName": ["CPUUtilization", "ReadLatency"]},
                      {"metricType": ["MetricType"], "$or": [{"metricId": [1234, 4321]}, {"spaceId": [1000, 2000, 3000]}]}]}
    assert body(nested, {"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 2000})
    assert not body(nested, {"source": "aws.cloudwatch", "metricType": "MetricType", "spaceId": 4000})


# https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html
# "When all of these conditions are not met, "$or" is treated as a regular attribute name"
# (e.g. objects whose field names are reserved keywords).
def test_or_with_reserved_keywords_is_a_property_name():
    policy = {"$or": [{"prefix": "abc"}, {"suffix": "xyz"}]}
    assert body(policy, {"$or": "abc-1"}) and body(policy, {"$or": "1-xyz"})
    assert not body(policy, {"source": "abc-1"})


# ---- key matching --------------------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
def test_exists_true():
    policy = {"store": [{"exists": True}]}
    assert attrs(policy, store=S("fans"), customer_interests=SA("baseball", "basketball"))
    assert body(policy, {"store": "fans", "customer_interests": ["baseball", "basketball"]})
    assert not attrs(policy, customer_interests=SA("baseball", "basketball"))
    assert not body(policy, {"customer_interests": ["baseball", "basketball"]})
    # "The key must have a non-null and non-empty value."
    assert not body(policy, {"store": None, "x": 1}) and not body(policy, {"store": ""})


# https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
def test_exists_false():
    policy = {"store": [{"exists": False}]}
    assert not attrs(policy, store=S("fans"), customer_interests=SA("baseball", "basketball"))
    assert not body(policy, {"store": "fans", "customer_interests": ["baseball", "basketball"]})
    assert attrs(policy, customer_interests=SA("baseball", "basketball"))
    assert body(policy, {"customer_interests": ["baseball", "basketball"]})


# https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
# Note: ""exists": false only matches if at least one attribute is present. An empty set of
# attributes results in the filter not matching." (moto 5.2.x matches here; AWS does not.)
def test_exists_false_never_matches_an_empty_attribute_set():
    assert not matches_attributes({"origin": [{"exists": False}]}, {})
    assert not matches({"origin": [{"exists": False}]}, "MessageAttributes", {"Message": "{}"})  # none at all
    # Binary attributes are ignored (subscription-filter-policy-constraints.html), so they are not "present".
    assert not attrs({"origin": [{"exists": False}]}, blob={"Type": "Binary", "Value": "AAEC"})
    assert attrs({"origin": [{"exists": False}]}, other=S("x"))


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html
# "anything-but can be combined with "exists": false"; alone it does not match an absent key.
def test_anything_but_with_and_without_exists_false():
    alone = {"origin": [{"anything-but": ["runbook-executor"]}]}
    combined = {"origin": [{"anything-but": ["runbook-executor"]}, {"exists": False}]}
    assert not matches_attributes(alone, {}) and not attrs(alone, other=S("x"))
    assert attrs(combined, other=S("x")) and not matches_attributes(combined, {})
    assert not attrs(combined, origin=S("runbook-executor")) and attrs(combined, origin=S("cloudwatch"))


# ---- string matching -----------------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("Exact matching")
def test_exact_string_and_string_array():
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert attrs(policy, customer_interests=S("rugby")) and attrs(policy, customer_interests=S("tennis"))
    assert attrs(policy, customer_interests={"Type": "String.Array", "Value": "[\"rugby\", \"tennis\"]"})
    assert body(policy, {"customer_interests": "rugby"}) and body(policy, {"customer_interests": "tennis"})
    assert not attrs(policy, customer_interests=S("baseball"))
    assert not attrs(policy, customer_interests={"Type": "String.Array", "Value": "[\"baseball\"]"})
    assert not body(policy, {"customer_interests": "baseball"})
    # subscription-filter-policy-constraints.html: "the comparison is case-sensitive"
    assert not attrs(policy, customer_interests=S("Rugby"))


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("Anything-but matching")
def test_anything_but_strings():
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert attrs(policy, customer_interests=S("baseball")) and attrs(policy, customer_interests=S("football"))
    assert attrs(policy, customer_interests={"Type": "String.Array", "Value": "[\"rugby\", \"baseball\"]"})
    assert body(policy, {"customer_interests": "baseball"}) and body(policy, {"customer_interests": "football"})
    assert body(policy, {"customer_interests": ["rugby", "baseball"]})
    assert not attrs(policy, customer_interests=S("rugby"))
    assert not attrs(policy, customer_interests={"Type": "String.Array", "Value": "[\"rugby\"]"})
    assert not body(policy, {"customer_interests": ["rugby"]})


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("Using a prefix with anything-but",
# "anything-but suffix", "anything-but wildcard")
def test_anything_but_prefix_suffix_wildcard():
    policy = {"event": [{"anything-but": {"prefix": "order-"}}]}
    assert attrs(policy, event=S("data-entry")) and attrs(policy, event=S("order_number"))
    assert body(policy, {"event": "data-entry"}) and body(policy, {"event": "order_number"})
    assert not attrs(policy, event=S("order-cancelled")) and not body(policy, {"event": "order-cancelled"})
    for op in ("suffix", "wildcard"):
        p = {"customer_interests": [{"anything-but": {op: "ball" if op == "suffix" else "*ball"}}]}
        assert body(p, {"customer_interests": ["hockey", "rugby", "soccer"]})
        assert not body(p, {"customer_interests": ["baseball", "basketball"]})


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("Prefix matching", "Suffix matching")
def test_prefix_and_suffix():
    prefix = {"customer_interests": [{"prefix": "bas"}]}
    suffix = {"customer_interests": [{"suffix": "ball"}]}
    for p in (prefix, suffix):
        assert attrs(p, customer_interests=S("baseball")) and attrs(p, customer_interests=S("basketball"))
        assert body(p, {"customer_interests": "baseball"}) and body(p, {"customer_interests": "basketball"})
        assert not attrs(p, customer_interests=S("rugby")) and not body(p, {"customer_interests": "rugby"})
    # numeric-value-matching.html: "Prefixes are supported for string matching only."
    assert not body({"n": [{"prefix": "1"}]}, {"n": 123})


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("Equals-ignore-case matching", "Wildcard")
def test_equals_ignore_case_and_wildcard():
    policy = {"customer_interests": [{"equals-ignore-case": "tennis"}]}
    assert attrs(policy, customer_interests=S("TENNIS")) and attrs(policy, customer_interests=S("Tennis"))
    assert body(policy, {"customer_interests": "TENNIS"}) and body(policy, {"customer_interests": "teNnis"})
    assert not attrs(policy, customer_interests=S("tennis2"))
    wildcard = {"customer_interests": [{"wildcard": "*ball"}]}
    assert body(wildcard, {"customer_interests": ["baseball", "basketball"]})
    assert not body(wildcard, {"customer_interests": ["rugby"]})


# https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html ("IP address matching")
def test_cidr():
    policy = {"source_ip": [{"cidr": "10.0.0.0/24"}]}
    assert attrs(policy, source_ip=S("10.0.0.0")) and attrs(policy, source_ip=S("10.0.0.255"))
    assert body(policy, {"source_ip": "10.0.0.0"}) and body(policy, {"source_ip": "10.0.0.255"})
    assert not attrs(policy, source_ip=S("10.1.1.0")) and not body(policy, {"source_ip": "10.1.1.0"})
    assert not attrs(policy, source_ip=S("not an address"))


# ---- numeric matching ----------------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html
def test_numeric_exact_anything_but_and_ranges():
    exact = {"price_usd": [{"numeric": ["=", 301.5]}]}
    assert attrs(exact, price_usd={"Type": "Number", "Value": 301.5})
    assert attrs(exact, price_usd={"Type": "Number", "Value": "3.015e2"})
    assert body(exact, '{"price_usd": 301.5}') and body(exact, '{"price_usd": 3.015e2}')
    assert not body(exact, '{"price_usd": "301.5"}')  # a string is not a number
    but = {"price": [{"anything-but": [100, 500]}]}
    assert attrs(but, price=N("101")) and attrs(but, price=N("100.1"))
    assert body(but, {"price": 101}) and body(but, {"price": 100.1})
    assert attrs(but, price={"Type": "Number.Array", "Value": "[100, 50]"}) and body(but, {"price": [100, 50]})
    assert not attrs(but, price=N("100")) and not body(but, {"price": 100})
    negative = {"price_usd": [{"numeric": ["<", 0]}]}
    assert body(negative, {"price_usd": -0.5}) and not body(negative, {"price_usd": 0})
    up_to_150 = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert body(up_to_150, {"price_usd": 150}) and body(up_to_150, {"price_usd": 0.001})
    assert not body(up_to_150, {"price_usd": 0}) and not body(up_to_150, {"price_usd": 150.01})


# https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
# "the value can range from -10^9 to 10^9 ..., with five digits of accuracy after the decimal point"
def test_numeric_limits():
    assert body({"v": [{"numeric": ["=", 1.000001]}]}, {"v": 1.000002})  # equal to five digits
    with pytest.raises(FilterPolicyError):
        body({"v": [{"numeric": [">", 2e9]}]}, {"v": 1})


# ---- constraints and unknowns --------------------------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
def test_policy_constraints():
    # "Amazon SNS doesn't accept a nested filter policy for attribute-based filtering."
    with pytest.raises(FilterPolicyError):
        matches_attributes({"a": {"b": ["c"]}}, {"a": S("c")})
    # "A filter policy can have a maximum of five keys." / only leaf keys count when nested
    with pytest.raises(FilterPolicyError):
        matches_attributes({k: ["x"] for k in "abcdef"}, {"a": S("x")})
    # The page's examples: 3 x 1 x 2 = 6 (attributes); 4 x 3 x 3 x 2 = 72 (nested, body) are accepted;
    # and-or-logic.html: OR complexity is the sum over the alternatives.
    matches_attributes({"key_a": ["value_one", "value_two", "value_three"], "key_b": ["value_one"],
                        "key_c": ["value_one", "value_two"]}, {})
    body({"key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
          "key_d": {"key_e": ["value_one", "value_two", "value_three"]}}, {"x": 1})
    # "The total combination of values ... must not exceed 150."
    with pytest.raises(FilterPolicyError):
        matches_attributes({"a": [str(i) for i in range(13)], "b": [str(i) for i in range(12)]}, {})


# Unknown operators raise instead of silently matching (brief; no AWS page defines them).
def test_unknown_operator_raises():
    with pytest.raises(UnknownOperator):
        matches_attributes({"origin": [{"not-equals": "x"}]}, {"origin": S("y")})
    with pytest.raises(UnknownOperator):
        matches_attributes({"origin": [{"anything-but": {"contains": "x"}}]}, {"origin": S("y")})
    with pytest.raises(FilterPolicyError):
        matches_attributes({"origin": "runbook-executor"}, {"origin": S("runbook-executor")})  # not a list
    with pytest.raises(FilterPolicyError):
        matches_attributes({"origin": ["x"]}, {"origin": {"DataType": "String", "StringValue": "x"}})  # Publish shape


# https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
# "Amazon SNS ignores message attributes with the Binary data type."
def test_binary_attributes_are_ignored():
    blob = {"Type": "Binary", "Value": "VGVzdEJpbmFyeQ=="}
    assert not attrs({"TestBinary": [{"exists": True}]}, TestBinary=blob)
    assert not attrs({"TestBinary": ["VGVzdEJpbmFyeQ=="]}, TestBinary=blob)
    assert attrs({"TestBinary": [{"exists": False}]}, TestBinary=blob, Test=S("TestString"))


# ---- MessageBody scope: nesting, non-JSON bodies -------------------------------------------------

# https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
# "Amazon SNS accepts a nested filter policy for payload-based filtering."
def test_nested_body_policy():
    policy = {"detail": {"scope": ["Service"], "source": [{"prefix": "aws."}]}}
    assert body(policy, {"detail": {"scope": "Service", "source": "aws.cloudwatch"}})
    assert not body(policy, {"detail": {"scope": "Service", "source": "custom"}})
    assert not body(policy, {"scope": "Service", "source": "aws.cloudwatch"})  # not at top level
    assert body({"detail": {"x": [{"exists": False}]}}, {"other": 1})  # an absent leaf


# https://docs.aws.amazon.com/sns/latest/dg/message-filtering.html
# "Filter policies for the message body assume that the message payload is a well-formed JSON object."
def test_body_that_is_not_a_json_object_never_matches():
    for bad in ("Alarm \"x\" is in ALARM.", "", "[1, 2]", "\"AlarmArn\"", "{\"AlarmArn\": ", "null"):
        assert not matches_body({"AlarmArn": [{"prefix": "arn:"}]}, bad)
        assert not matches_body({"x": [{"exists": False}]}, bad)


def test_undocumented_cases_raise():
    with pytest.raises(UndocumentedCase):
        body({"x": [{"exists": False}]}, {})  # key-matching.html's note speaks of attributes only
    with pytest.raises(UndocumentedCase):
        body({"a": ["x"]}, {"a": {"b": "x"}})  # a leaf rule against an object


# ---- the stack's subscription: CloudWatch alarm notifications --------------------------------------

EXECUTOR_POLICY = {"AlarmArn": [{"prefix": "arn:"}]}

# Metric alarm notification as CloudWatch publishes it (aws_lambda_events fixture
# example-cloudwatch-alarm-sns-payload-single-metric.json, shape per
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
# "Schema when a metric alarm changes state"); the SNS record carries "MessageAttributes": {}.
METRIC_ALARM = ("{\"AlarmName\": \"EXAMPLE\",\"AlarmDescription\": \"EXAMPLE\",\"AWSAccountId\": \"123456789012\","
                "\"NewStateValue\": \"ALARM\",\"NewStateReason\": \"Threshold Crossed: 1 out of the last 1 datapoints "
                "[1234.0 (06/03/15 17:43:27)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> "
                "ALARM transition).\",\"StateChangeTime\": \"2015-06-03T17:43:27.123+0000\",\"Region\": \"EXAMPLE\","
                "\"AlarmArn\": \"arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE\",\"OldStateValue\": "
                "\"INSUFFICIENT_DATA\",\"Trigger\": {\"MetricName\": \"NetworkOut\",\"Namespace\": \"AWS/EC2\","
                "\"StatisticType\": \"Statistic\",\"Statistic\": \"AVERAGE\",\"Unit\": \"Bytes\",\"Dimensions\": "
                "[{\"value\": \"TestInstance\",\"name\": \"InstanceId\"}],\"Period\": 60,\"EvaluationPeriods\": 1,"
                "\"ComparisonOperator\": \"GreaterThanThreshold\",\"Threshold\": 0.0,\"TreatMissingData\": "
                "\"- TreatMissingData:                    missing\",\"EvaluateLowSampleCountPercentile\": \"\"}}")

# Composite alarm notification: the fields of "Schema when a composite alarm changes state"
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html), no
# Trigger, AlarmRule and TriggeringChildren instead; values in CloudWatch's forms.
COMPOSITE_ALARM = json.dumps({
    "AlarmName": "appmon-service-checkout", "AlarmDescription": None, "AWSAccountId": "123456789012",
    "NewStateValue": "ALARM",
    "NewStateReason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:appmon-checkout-errors transitioned to ALARM "
                      "at Sunday 29 November, 2026 18:05:00 UTC",
    "StateChangeTime": "2026-11-29T18:05:00.640+0000", "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:appmon-service-checkout",
    "OKActions": ["arn:aws:sns:us-east-1:123456789012:appmon-alarms"],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:appmon-alarms"], "InsufficientDataActions": [],
    "OldStateValue": "OK",
    "AlarmRule": "ALARM(appmon-checkout-errors) OR ALARM(appmon-checkout-latency-p99)",
    "TriggeringChildren": [{"Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:appmon-checkout-errors",
                            "State": {"Value": "ALARM", "Timestamp": "2026-11-29T18:05:00.640+0000"}}],
})


def sns_record(message: str, attributes: dict | None = None) -> dict:
    ev = events.sns_event("arn:aws:sns:us-east-1:123456789012:appmon-alarms", "ALARM", message)
    sns = ev["Records"][0]["Sns"]
    if attributes is not None:
        sns["MessageAttributes"] = attributes
    return sns


def test_alarm_arn_prefix_policy_passes_cloudwatch_notifications():
    for message in (METRIC_ALARM, COMPOSITE_ALARM):
        record = sns_record(message)
        assert record["MessageAttributes"] == {}  # CloudWatch's notifications carry no attributes
        assert matches(EXECUTOR_POLICY, "MessageBody", record)
    alarm = {"AlarmName": "a", "MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "Sum", "Period": 60,
             "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 1}
    built = events.alarm_message(alarm, "ALARM", "OK", "r")  # what the e2e and `just local` deliver
    assert matches(EXECUTOR_POLICY, "MessageBody", sns_record(json.dumps(built)))


def test_alarm_arn_prefix_policy_stops_everything_else():
    own = sns_record("Alarm \"appmon-local-log-processor-errors\" is in ALARM.\nSince: ...",
                     {"origin": S("runbook-executor")})
    assert not matches(EXECUTOR_POLICY, "MessageBody", own)  # the executor's own: plain text
    assert not matches(EXECUTOR_POLICY, "MessageBody", sns_record(json.dumps({"AlarmName": "x", "Region": "y"})))
    assert not matches(EXECUTOR_POLICY, "MessageBody", sns_record(json.dumps({"AlarmArn": "urn:x"})))


def test_the_old_attribute_policy_would_never_deliver_an_alarm():
    # The policy the issue reports: CloudWatch's notifications have no attributes, so AWS never
    # delivers them under it (attribute-key-matching.html), whatever moto does.
    old = {"origin": [{"exists": False}]}
    for message in (METRIC_ALARM, COMPOSITE_ALARM):
        assert not matches(old, "MessageAttributes", sns_record(message))
