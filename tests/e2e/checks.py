"""Step 3: the deployed stack, read back through the AWS API, is what the module promises.

Each check collects every problem it sees instead of stopping at the first, so one run shows
everything that is wrong. The functions also return what later steps need (names, ARNs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .package import FUNCTIONS

# Environment each function must receive from the module (design brief + Lambda issues).
REQUIRED_ENV = {
    "log-processor": {"METRICS_TABLE"},
    "metrics-api": {"METRICS_TABLE", "CORS_ALLOWED_ORIGINS"},
    "runbook-executor": {"METRICS_TABLE", "NOTIFICATION_TOPIC_ARN", "RUNBOOK_PARAMETER_PREFIX", "DRY_RUN",
                         "METRIC_NAMESPACE"},
}


@dataclass
class Stack:
    """What the later steps use, discovered from the deployed resources."""
    bucket: str = ""
    notification_id: str = ""
    logs_prefix: str = ""
    table: str = ""
    functions: dict = field(default_factory=dict)  # short name -> get_function_configuration
    topic_arn: str = ""  # the alarm topic (CloudWatch publishes, the executor subscribes)
    notification_topic_arn: str = ""  # the executor's messages; on-call's e-mail subscribes here
    api_id: str = ""
    stage: str = ""
    api_key: str = ""
    alarms: list = field(default_factory=list)


class Problems(list):
    def check(self, ok: bool, msg: str) -> bool:
        if not ok:
            self.append(msg)
        return ok


def _function_key(name: str) -> str | None:
    return next((f for f in FUNCTIONS if name.endswith(f) or f in name), None)


def check_functions(aws, stack: Stack, p: Problems, packages: dict) -> None:
    lam, iam, logs = aws("lambda"), aws("iam"), aws("logs")
    found = {}
    for fn in lam.list_functions()["Functions"]:
        key = _function_key(fn["FunctionName"])
        if key:
            found[key] = lam.get_function_configuration(FunctionName=fn["FunctionName"])
    roles = set()
    for key in FUNCTIONS:
        cfg = found.get(key)
        if not p.check(cfg is not None, f"function {key} not deployed (have {sorted(found)})"):
            continue
        name = cfg["FunctionName"]
        p.check(cfg.get("Runtime") == "provided.al2023", f"{name}: runtime {cfg.get('Runtime')} != provided.al2023")
        p.check(cfg.get("Handler") == "bootstrap", f"{name}: handler {cfg.get('Handler')} != bootstrap")
        p.check(cfg.get("TracingConfig", {}).get("Mode") == "Active", f"{name}: X-Ray tracing not Active")
        p.check(cfg.get("Architectures") == ["x86_64"], f"{name}: architectures {cfg.get('Architectures')}")
        p.check(cfg.get("CodeSha256") == packages[key].source_code_hash,
                f"{name}: deployed CodeSha256 {cfg.get('CodeSha256')} != packaged {packages[key].source_code_hash}")
        env = cfg.get("Environment", {}).get("Variables", {})
        missing = REQUIRED_ENV[key] - env.keys()
        p.check(not missing, f"{name}: environment lacks {sorted(missing)}")
        role_name = cfg["Role"].rsplit("/", 1)[-1]
        roles.add(role_name)
        try:
            iam.get_role(RoleName=role_name)
            inline = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
            attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
            p.check(bool(inline or attached), f"{name}: role {role_name} has no policies")
        except iam.exceptions.NoSuchEntityException:
            p.append(f"{name}: role {role_name} does not exist")
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        group = next((g for g in groups if g["logGroupName"] == f"/aws/lambda/{name}"), None)
        if p.check(group is not None, f"{name}: log group /aws/lambda/{name} missing"):
            p.check("retentionInDays" in group, f"{name}: log group has no retention")
    p.check(len(roles) == len(found), f"functions share roles: {sorted(roles)} (one role per function expected)")
    # The asynchronously invoked functions (S3, SNS) send failed events to an on-failure destination.
    for key in ("log-processor", "runbook-executor"):
        if key in found:
            try:
                dest = lam.get_function_event_invoke_config(FunctionName=found[key]["FunctionName"])
                target = dest.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            except lam.exceptions.ResourceNotFoundException:
                target = None
            p.check(bool(target), f"{found[key]['FunctionName']}: no on-failure destination")
            if key == "runbook-executor":
                # On-call's topic: the record of a failed alarm notification reaches the e-mail.
                want = found[key].get("Environment", {}).get("Variables", {}).get("NOTIFICATION_TOPIC_ARN")
                p.check(target == want, f"runbook-executor's on-failure destination {target} is not its "
                                        f"notification topic {want}")
    stack.functions = found


def check_bucket(aws, stack: Stack, p: Problems) -> None:
    s3 = aws("s3")
    lp_arn = stack.functions.get("log-processor", {}).get("FunctionArn")
    for b in s3.list_buckets()["Buckets"]:
        conf = s3.get_bucket_notification_configuration(Bucket=b["Name"])
        for n in conf.get("LambdaFunctionConfigurations", []):
            if n["LambdaFunctionArn"] == lp_arn:
                stack.bucket, stack.notification_id = b["Name"], n.get("Id", "")
                p.check(any(e in ("s3:ObjectCreated:*", "s3:ObjectCreated:Put") for e in n["Events"]),
                        f"bucket notification events {n['Events']} miss ObjectCreated")
                rules = n.get("Filter", {}).get("Key", {}).get("FilterRules", [])
                stack.logs_prefix = next((r["Value"] for r in rules if r["Name"].lower() == "prefix"), "")
                p.check(stack.logs_prefix.startswith("logs"), f"notification prefix {stack.logs_prefix!r} is not logs/")
    if not p.check(bool(stack.bucket), "no bucket notifies the log processor"):
        return
    b = stack.bucket
    enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"]
    algo = enc[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    p.check(algo in ("AES256", "aws:kms", "aws:kms:dsse"), f"bucket SSE algorithm {algo}")
    p.check(s3.get_bucket_versioning(Bucket=b).get("Status") == "Enabled", "bucket versioning not Enabled")
    pab = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
    p.check(all(pab.get(k) for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                     "RestrictPublicBuckets")), f"public access block incomplete: {pab}")
    policy = json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])
    p.check(any(st.get("Effect") == "Deny" and "aws:SecureTransport" in json.dumps(st.get("Condition", {}))
                for st in policy["Statement"]), "bucket policy does not deny non-TLS access")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]
    p.check(any(r["Status"] == "Enabled" and ("Expiration" in r or "Transitions" in r) for r in rules),
            "no enabled lifecycle rule with transition/expiry")


def check_table(aws, stack: Stack, p: Problems) -> None:
    ddb = aws("dynamodb")
    env_table = stack.functions.get("log-processor", {}).get("Environment", {}).get("Variables", {}).get("METRICS_TABLE")
    names = ddb.list_tables()["TableNames"]
    if not p.check(env_table in names, f"METRICS_TABLE {env_table!r} not among tables {names}"):
        return
    stack.table = env_table
    t = ddb.describe_table(TableName=env_table)["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in t["KeySchema"]}
    p.check(keys == {"ServiceName": "HASH", "Timestamp": "RANGE"}, f"table keys {keys}")
    gsi = {g["IndexName"]: g for g in t.get("GlobalSecondaryIndexes", [])}
    if p.check("TimestampIndex" in gsi, f"GSI TimestampIndex missing (have {sorted(gsi)})"):
        gkeys = {k["AttributeName"]: k["KeyType"] for k in gsi["TimestampIndex"]["KeySchema"]}
        p.check(gkeys == {"Timestamp": "HASH", "ServiceName": "RANGE"}, f"TimestampIndex keys {gkeys}")
    p.check(t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", "table is not on-demand")
    pitr = ddb.describe_continuous_backups(TableName=env_table)["ContinuousBackupsDescription"]
    p.check(pitr.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED", "PITR off")
    ttl = ddb.describe_time_to_live(TableName=env_table)["TimeToLiveDescription"]
    p.check(ttl.get("TimeToLiveStatus") == "ENABLED", f"TTL not enabled: {ttl}")


def check_topic(aws, stack: Stack, p: Problems) -> None:
    """Two topics (docs/design.md, topic layout): the alarm topic, which CloudWatch publishes to
    and the executor subscribes to, and the notification topic, which the executor publishes to
    and on-call's e-mail subscribes to (by default only there: one message per state change)."""
    sns = aws("sns")
    rb = stack.functions.get("runbook-executor", {})
    stack.notification_topic_arn = rb.get("Environment", {}).get("Variables", {}).get("NOTIFICATION_TOPIC_ARN", "")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    if not p.check(stack.notification_topic_arn in topics,
                   f"NOTIFICATION_TOPIC_ARN {stack.notification_topic_arn!r} not among topics {topics}"):
        return
    subs = {t: sns.list_subscriptions_by_topic(TopicArn=t)["Subscriptions"] for t in topics}
    lam = [s for t in topics for s in subs[t] if s["Protocol"] == "lambda" and s["Endpoint"] == rb.get("FunctionArn")]
    if not p.check(len(lam) == 1, f"runbook-executor subscriptions: {len(lam)} (want 1) in {subs}"):
        return
    stack.topic_arn = lam[0]["TopicArn"]
    p.check(stack.topic_arn != stack.notification_topic_arn, "the executor publishes to the topic it subscribes to")
    for t in (stack.topic_arn, stack.notification_topic_arn):
        attrs = sns.get_topic_attributes(TopicArn=t)["Attributes"]
        p.check(bool(attrs.get("KmsMasterKeyId")), f"topic {t} is not encrypted (no KmsMasterKeyId)")
    sattrs = sns.get_subscription_attributes(SubscriptionArn=lam[0]["SubscriptionArn"])["Attributes"]
    p.check(bool(sattrs.get("FilterPolicy")), "runbook-executor subscription has no filter policy (loop guard)")
    p.check(any(s["Protocol"] == "email" for s in subs[stack.notification_topic_arn]),
            "no email subscription on the notification topic")
    p.check(not any(s["Protocol"] == "email" for s in subs[stack.topic_arn]),
            "an email subscription on the alarm topic (alarm_email_messages defaults to \"enriched\")")


def check_alarms(aws, stack: Stack, p: Problems) -> None:
    cw, ssm = aws("cloudwatch"), aws("ssm")
    alarms = cw.describe_alarms()["MetricAlarms"]
    stack.alarms = alarms
    if not p.check(len(alarms) >= 5, f"{len(alarms)} alarms (want API 5XX, latency, 3× Lambda errors, DynamoDB)"):
        return
    prefix = stack.functions.get("runbook-executor", {}).get("Environment", {}).get("Variables", {}).get(
        "RUNBOOK_PARAMETER_PREFIX", "")
    params = {}
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path=prefix.rstrip("/") or "/", Recursive=True):
        params.update({x["Name"]: x["Value"] for x in page["Parameters"]})
    p.check(bool(params), f"no SSM parameters under {prefix!r}")
    for a in alarms:
        n = a["AlarmName"]
        desc = a.get("AlarmDescription") or ""
        if "the composite notifies" in desc:  # an SLO alert's burn-rate window: no actions by design
            p.check(not a.get("AlarmActions") and not a.get("OKActions"), f"alarm {n}: an SLO child must not notify")
            continue
        p.check(stack.topic_arn in a.get("AlarmActions", []), f"alarm {n}: topic not in AlarmActions")
        p.check(stack.topic_arn in a.get("OKActions", []), f"alarm {n}: topic not in OKActions")
        desc = a.get("AlarmDescription") or ""
        p.check("http" in desc or "runbook" in desc.lower(), f"alarm {n}: description has no runbook link: {desc!r}")
        p.check(any(n in k or n in v for k, v in params.items()), f"alarm {n}: no runbook parameter in SSM")
    metrics = {a.get("MetricName") for a in alarms} | {
        q["MetricStat"]["Metric"]["MetricName"] for a in alarms for q in a.get("Metrics", []) if "MetricStat" in q}
    for want in ("5XXError", "Latency", "Errors"):
        p.check(want in metrics, f"no alarm on {want} (alarm metrics: {sorted(m for m in metrics if m)})")
    p.check(any(a.get("ExtendedStatistic", "").startswith("p") or
                any(q.get("MetricStat", {}).get("Stat", "").startswith("p") for q in a.get("Metrics", []))
                for a in alarms), "no percentile latency alarm")
    dashboards = cw.list_dashboards()["DashboardEntries"]
    if p.check(len(dashboards) >= 1, "no CloudWatch dashboard"):
        body = json.loads(cw.get_dashboard(DashboardName=dashboards[0]["DashboardName"])["DashboardBody"])
        text = json.dumps(body)
        for ns in ("AWS/ApiGateway", "AWS/Lambda", "AWS/DynamoDB"):
            p.check(ns in text, f"dashboard has no {ns} panel")


def check_api(aws, stack: Stack, p: Problems) -> None:
    apigw = aws("apigateway")
    apis = apigw.get_rest_apis()["items"]
    if not p.check(len(apis) == 1, f"{len(apis)} REST APIs (want 1)"):
        return
    api = apis[0]
    stack.api_id = api["id"]
    res = {r["path"]: r for r in apigw.get_resources(restApiId=api["id"], limit=500)["items"]}
    api_fn = stack.functions.get("metrics-api", {}).get("FunctionArn", "")
    for path, methods in {"/health": ["GET"], "/metrics": ["GET", "POST", "OPTIONS"]}.items():
        if not p.check(path in res, f"API resource {path} missing (have {sorted(res)})"):
            continue
        for m in methods:
            if not p.check(m in (res[path].get("resourceMethods") or {}), f"API {m} {path} missing"):
                continue
            integ = apigw.get_integration(restApiId=api["id"], resourceId=res[path]["id"], httpMethod=m)
            if m == "OPTIONS" and integ["type"] == "MOCK":  # preflight answered by the gateway itself
                continue
            # Otherwise (OPTIONS included: the function answers preflight) a proxy to metrics-api.
            p.check(integ["type"] == "AWS_PROXY" and api_fn in integ.get("uri", ""),
                    f"{m} {path}: integration {integ['type']} {integ.get('uri')} is not a proxy to metrics-api")
            method = apigw.get_method(restApiId=api["id"], resourceId=res[path]["id"], httpMethod=m)
            if m == "OPTIONS":  # browsers send preflight without credentials or key
                p.check(not method.get("apiKeyRequired") and method.get("authorizationType") == "NONE",
                        f"OPTIONS {path}: preflight must not require a key or auth")
            elif path == "/metrics":
                p.check(method.get("apiKeyRequired") is True or method.get("authorizationType") == "AWS_IAM",
                        f"{m} {path}: neither API key nor IAM auth required")
    stages = apigw.get_stages(restApiId=api["id"])["item"]
    if p.check(len(stages) >= 1, "API has no stage"):
        st = stages[0]
        stack.stage = st["stageName"]
        p.check(bool(st.get("accessLogSettings", {}).get("destinationArn")), f"stage {st['stageName']}: no access logs")
        p.check(st.get("tracingEnabled") is True, f"stage {st['stageName']}: tracing off")
    keys = apigw.get_api_keys(includeValues=True)["items"]
    plans = apigw.get_usage_plans()["items"]
    if keys:
        stack.api_key = keys[0].get("value", "")
    p.check(bool(keys) and bool(plans), f"API keys {len(keys)}, usage plans {len(plans)} (want both)")
    if plans:
        p.check(bool(plans[0].get("throttle")), "usage plan has no throttle")


def check_all(aws, packages: dict) -> tuple[Stack, Problems]:
    stack, p = Stack(), Problems()
    for check in (check_functions, check_bucket, check_table, check_topic, check_alarms, check_api):
        try:
            if check is check_functions:
                check(aws, stack, p, packages)
            else:
                check(aws, stack, p)
        except Exception as e:  # a missing sub-resource is a finding, not a crash of the step
            p.append(f"{check.__name__}: {type(e).__name__}: {e}")
    return stack, p


def leftovers(aws) -> list[str]:
    """Everything of the stack's kinds that still exists in the emulator."""
    left = []
    s3 = aws("s3")
    left += [f"bucket {b['Name']}" for b in s3.list_buckets()["Buckets"]]
    left += [f"table {t}" for t in aws("dynamodb").list_tables()["TableNames"]]
    left += [f"function {f['FunctionName']}" for f in aws("lambda").list_functions()["Functions"]]
    left += [f"role {r['RoleName']}" for r in aws("iam").list_roles()["Roles"]]
    left += [f"topic {t['TopicArn']}" for t in aws("sns").list_topics()["Topics"]]
    left += [f"alarm {a['AlarmName']}" for a in aws("cloudwatch").describe_alarms()["MetricAlarms"]]
    left += [f"dashboard {d['DashboardName']}" for d in aws("cloudwatch").list_dashboards()["DashboardEntries"]]
    left += [f"parameter {p['Name']}" for p in aws("ssm").describe_parameters()["Parameters"]]
    left += [f"REST API {a['name']}" for a in aws("apigateway").get_rest_apis()["items"]]
    left += [f"API key {k['name']}" for k in aws("apigateway").get_api_keys()["items"]]
    left += [f"log group {g['logGroupName']}" for g in aws("logs").describe_log_groups()["logGroups"]]
    return left
