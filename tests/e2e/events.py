"""Events shaped exactly as AWS delivers them to a Lambda function.

Shapes follow the AWS docs' examples (S3 event notification 2.1, SNS -> Lambda, CloudWatch alarm
notification, API Gateway REST Lambda-proxy input format v1).
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, quote_plus, urlsplit

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
REGION_DISPLAY = {"us-east-1": "US East (N. Virginia)"}


def _iso_ms(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def s3_record(bucket: str, key: str, size: int, etag: str, version_id: str | None,
              sequencer: str, configuration_id: str, region: str = REGION) -> dict:
    """One Records[] entry of an s3:ObjectCreated:Put notification."""
    obj = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"'), "sequencer": sequencer}
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": _iso_ms(datetime.now(timezone.utc)),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAE2EHARNESSUSER"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": secrets.token_hex(8).upper(),
                             "x-amz-id-2": secrets.token_urlsafe(48)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3E2EHARNESSOWNER"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def s3_event(records: list[dict]) -> dict:
    return {"Records": records}


def alarm_message(alarm: dict, new_state: str, old_state: str, reason: str,
                  region: str = REGION, account_id: str = ACCOUNT_ID) -> dict:
    """The JSON CloudWatch publishes to SNS for `alarm` (a DescribeAlarms MetricAlarms entry)."""
    now = datetime.now(timezone.utc)
    trigger: dict = {
        "Period": alarm.get("Period"),
        "EvaluationPeriods": alarm.get("EvaluationPeriods"),
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm", alarm.get("EvaluationPeriods")),
        "ComparisonOperator": alarm.get("ComparisonOperator"),
        "Threshold": float(alarm.get("Threshold", 0.0)),
        "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        "EvaluateLowSampleCountPercentile": alarm.get("EvaluateLowSampleCountPercentile", ""),
    }
    if alarm.get("Metrics"):  # metric math: CloudWatch sends the query list, no Period at top level
        trigger.pop("Period")
        trigger["Metrics"] = [_metric_query(q) for q in alarm["Metrics"]]
    else:
        trigger["MetricName"] = alarm.get("MetricName")
        trigger["Namespace"] = alarm.get("Namespace")
        if alarm.get("ExtendedStatistic"):
            trigger["StatisticType"] = "ExtendedStatistic"
            trigger["ExtendedStatistic"] = alarm["ExtendedStatistic"]
        else:
            trigger["StatisticType"] = "Statistic"
            trigger["Statistic"] = str(alarm.get("Statistic", "")).upper()
        trigger["Unit"] = alarm.get("Unit")
        trigger["Dimensions"] = [{"value": d["Value"], "name": d["Name"]} for d in alarm.get("Dimensions", [])]
    updated = alarm.get("AlarmConfigurationUpdatedTimestamp")
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),  # null when the alarm has none
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": _cw_time(updated) if updated else _cw_time(now),
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _cw_time(now),
        "Region": REGION_DISPLAY.get(region, region),
        "AlarmArn": alarm.get("AlarmArn") or f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{alarm['AlarmName']}",
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions", []),
        "AlarmActions": alarm.get("AlarmActions", []),
        "InsufficientDataActions": alarm.get("InsufficientDataActions", []),
        "Trigger": trigger,
    }


def _metric_query(q: dict) -> dict:
    out = {"Id": q["Id"], "ReturnData": q.get("ReturnData", True)}
    if "Expression" in q:
        out["Expression"] = q["Expression"]
    if "Label" in q:
        out["Label"] = q["Label"]
    if "MetricStat" in q:
        ms = q["MetricStat"]
        out["MetricStat"] = {
            "Metric": {
                "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in ms["Metric"].get("Dimensions", [])],
                "MetricName": ms["Metric"]["MetricName"],
                "Namespace": ms["Metric"]["Namespace"],
            },
            "Period": ms["Period"],
            "Stat": ms["Stat"],
        }
    return out


def _cw_time(t) -> str:
    """CloudWatch's notification time form: 2026-11-29T18:05:00.123+0000."""
    if isinstance(t, str):
        return t
    t = t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def sns_event(topic_arn: str, subject: str, message: str, subscription_arn: str | None = None,
              message_id: str | None = None) -> dict:
    """The event SNS hands a subscribed Lambda function. `MessageAttributes` is `{}`: a message
    published without attributes (every CloudWatch alarm notification) arrives with an empty map,
    as in the aws_lambda_events CloudWatch-alarm SNS fixtures; a caller adds attributes itself."""
    region = topic_arn.split(":")[3]
    sub = subscription_arn or f"{topic_arn}:{uuid.uuid4()}"
    return {"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub,
        "Sns": {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "TopicArn": topic_arn,
            "Subject": subject[:100],
            "Message": message,
            "Timestamp": _iso_ms(datetime.now(timezone.utc)),
            "SignatureVersion": "1",
            "Signature": "EXAMPLE" + secrets.token_urlsafe(40),
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub}",
            "MessageAttributes": {},
        },
    }]}


def alarm_subject(message: dict) -> str:
    return f'{message["NewStateValue"]}: "{message["AlarmName"]}" in {message["Region"]}'


def apigw_v1_event(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes | None,
                   resource: str, path_parameters: dict | None, stage: str, api_id: str,
                   source_ip: str = "127.0.0.1", api_key: str | None = None) -> dict:
    """API Gateway REST API Lambda-proxy input (payload format 1.0)."""
    parts = urlsplit(raw_path)
    multi_q = parse_qs(parts.query, keep_blank_values=True)
    multi_h: dict[str, list[str]] = {}
    for k, v in headers:
        multi_h.setdefault(k, []).append(v)
    text_body, is_b64 = None, False
    if body:
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError:
            import base64

            text_body, is_b64 = base64.b64encode(body).decode(), True
    now = time.time()
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": parts.path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in multi_h.items()} or None,
        "multiValueHeaders": multi_h or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_q.items()} or None,
        "multiValueQueryStringParameters": multi_q or None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": f"{api_id}.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": api_id,
            "extendedRequestId": secrets.token_urlsafe(12),
            "httpMethod": method,
            "identity": {
                "accessKey": None, "accountId": None, "caller": None, "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                "principalOrgId": None, "sourceIp": source_ip, "user": None,
                "userAgent": dict((k.lower(), v) for k, v in headers).get("user-agent"),
                "userArn": None, "apiKey": api_key, "apiKeyId": None, "clientCert": None,
            },
            "path": f"/{stage}{parts.path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": secrets.token_hex(3),
            "resourcePath": resource,
            "stage": stage,
        },
        "body": text_body,
        "isBase64Encoded": is_b64,
    }
