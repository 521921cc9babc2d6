"""Offline `terraform plan` of examples/complete, then assertions on `terraform show -json`:
every resource the brief names is planned with the settings it asks for."""

import json
from collections import Counter
from pathlib import Path

import pytest

PREFIX = "appmon"  # examples/complete's name_prefix
FUNCTIONS = ("log_processor", "metrics_api", "runbook_executor")
ALARMS = ("api-5xx-rate", "api-latency-p99", "log-processor-errors", "metrics-api-errors",
          "runbook-executor-errors", "dynamodb-throttles", "dynamodb-index-throttles")
# examples/complete's services: checkout overrides the error-rate threshold and the SLO target;
# search switches the traffic-drop alarm off.
SERVICES = ("checkout", "search")
NAMESPACE = f"{PREFIX}/Services"
SLO_CHILDREN = ("page-1h", "page-5m", "page-6h", "page-30m", "ticket-3d", "ticket-6h")


def service_alarm_names() -> list[str]:
    """The notifying per-service alarms (metric alarms and the SLO composites)."""
    names = []
    for s in SERVICES:
        names += [f"error-rate-{s}", f"latency-p99-{s}", f"availability-{s}", f"availability-{s}-ticket"]
        if s != "search":
            names.append(f"traffic-drop-{s}")
    return names


@pytest.fixture(scope="module")
def plan(complete_plan):
    return complete_plan["plan"]


@pytest.fixture(scope="module")
def after(plan):
    """address (without the module.monitoring prefix) -> planned values."""
    out = {}
    for rc in plan["resource_changes"]:
        if rc["mode"] == "data":
            continue  # deferred reads (they depend on ARNs known after apply)
        assert rc["change"]["actions"] == ["create"], rc["address"]
        out[rc["address"].removeprefix("module.monitoring.")] = rc["change"]["after"]
    return out


@pytest.fixture(scope="module")
def unknown(plan):
    return {rc["address"].removeprefix("module.monitoring."): rc["change"]["after_unknown"]
            for rc in plan["resource_changes"] if rc["mode"] == "managed"}


@pytest.fixture(scope="module")
def calls(plan):
    """Sub-module name -> its call in the root module (`expressions` are the wired arguments)."""
    return plan["configuration"]["root_module"]["module_calls"]["monitoring"]["module"]["module_calls"]


@pytest.fixture(scope="module")
def config(calls):
    """Sub-module name -> {resource address -> configuration expressions}."""
    return {name: {r["address"]: r.get("expressions", {}) for r in call["module"]["resources"]} for name, call in calls.items()}


def one(after, address):
    assert address in after, f"{address} is not planned; planned: {sorted(after)}"
    return after[address]


def test_plan_inventory(plan):
    kinds = Counter(rc["type"] for rc in plan["resource_changes"] if rc["mode"] == "managed")
    expected = {
        "aws_kms_key": 1, "aws_kms_key_policy": 1, "aws_kms_alias": 1,
        "aws_s3_bucket": 1, "aws_s3_bucket_public_access_block": 1, "aws_s3_bucket_versioning": 1,
        "aws_s3_bucket_server_side_encryption_configuration": 1, "aws_s3_bucket_lifecycle_configuration": 1,
        "aws_s3_bucket_policy": 1, "aws_s3_bucket_notification": 1, "aws_dynamodb_table": 1,
        "aws_sns_topic": 2, "aws_sns_topic_policy": 2, "aws_lambda_function": 3, "aws_iam_role": 4, "aws_iam_role_policy": 3,
        "aws_cloudwatch_log_group": 5, "aws_sqs_queue": 1, "aws_lambda_function_event_invoke_config": 2,
        "aws_lambda_permission": 3, "aws_api_gateway_rest_api": 1, "aws_api_gateway_resource": 3,
        "aws_api_gateway_method": 9, "aws_api_gateway_integration": 9, "aws_api_gateway_deployment": 1,
        "aws_api_gateway_stage": 1, "aws_api_gateway_method_settings": 1, "aws_api_gateway_usage_plan": 1,
        "aws_api_gateway_api_key": 1, "aws_api_gateway_usage_plan_key": 1, "aws_api_gateway_account": 1,
        "aws_cloudwatch_metric_alarm": 7 + 3 + 2 + 6 * 2, "aws_cloudwatch_composite_alarm": 2 * 2,
        "aws_cloudwatch_dashboard": 1, "aws_ssm_parameter": 7 + 5 + 4,
        "aws_sns_topic_subscription": 2, "aws_api_gateway_gateway_response": 2,
    }
    for kind, count in expected.items():
        assert kinds[kind] == count, f"{kind}: planned {kinds[kind]}, expected {count}"


def test_tags_and_names_derive_from_the_prefix(after):
    for address, values in after.items():
        if values.get("tags_all") is not None:
            tags = values["tags_all"]
            assert tags.get("ManagedBy") == "terraform", address
            assert tags.get("NamePrefix") == PREFIX, address
            assert tags.get("CostCenter") == "observability", f"{address}: var.tags not applied"
            assert tags.get("Environment") == "production", f"{address}: provider default tags lost"
        for key in ("name", "function_name", "alarm_name", "dashboard_name"):
            name = values.get(key)
            if isinstance(name, str):
                assert PREFIX in name, f"{address}: {key} {name!r} does not derive from name_prefix"


def test_logs_bucket_is_secure_by_default(after, unknown, config):
    assert one(after, "module.storage.aws_s3_bucket.logs")["bucket_prefix"] == f"{PREFIX}-logs-"
    pab = one(after, "module.storage.aws_s3_bucket_public_access_block.logs")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    assert one(after, "module.storage.aws_s3_bucket_versioning.logs")["versioning_configuration"][0]["status"] == "Enabled"
    sse = one(after, "module.storage.aws_s3_bucket_server_side_encryption_configuration.logs")["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert unknown["module.storage.aws_s3_bucket_server_side_encryption_configuration.logs"]["rule"][0][
        "apply_server_side_encryption_by_default"][0]["kms_master_key_id"], "bucket key must be the module's KMS key"
    rules = {r["id"]: r for r in one(after, "module.storage.aws_s3_bucket_lifecycle_configuration.logs")["rule"]}
    assert set(rules) == {"expire-logs", "remove-expired-delete-markers"}
    rule = rules["expire-logs"]
    assert rule["status"] == "Enabled"
    # Noncurrent versions follow the same variables as current ones (examples/complete: 30 / 365).
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 365
    assert [(t["noncurrent_days"], t["storage_class"]) for t in rule["noncurrent_version_transition"]] == [(30, "STANDARD_IA")]
    # ExpiredObjectDeleteMarker "cannot be specified with Days or Date" in one expiration
    # (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html): a rule of its own.
    markers = rules["remove-expired-delete-markers"]
    assert markers["status"] == "Enabled" and markers["expiration"][0]["expired_object_delete_marker"] is True
    assert not markers["expiration"][0].get("days") and not markers["expiration"][0].get("date")
    assert rule["transition"][0] == {"days": 30, "storage_class": "STANDARD_IA", "date": None} or (
        rule["transition"][0]["days"] == 30 and rule["transition"][0]["storage_class"] == "STANDARD_IA")
    assert rule["expiration"][0]["days"] == 365
    assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7
    notification = one(after, "module.storage.aws_s3_bucket_notification.logs")["lambda_function"][0]
    assert notification["events"] == ["s3:ObjectCreated:*"]
    assert notification["filter_prefix"] == "app-logs/"  # examples/complete sets logs_prefix
    permission = one(after, "module.storage.aws_lambda_permission.s3_invokes_log_processor")
    assert permission["principal"] == "s3.amazonaws.com" and permission["action"] == "lambda:InvokeFunction"
    policy = config["storage"]["data.aws_iam_policy_document.logs_tls_only"]["statement"]
    tls = [s for s in policy if s["effect"]["constant_value"] == "Deny"]
    assert any(c["variable"]["constant_value"] == "aws:SecureTransport" and c["values"]["constant_value"] == ["false"]
               for s in tls for c in s["condition"]), "no TLS-only statement"


def test_metrics_table_follows_the_data_contract(after, unknown):
    table = one(after, "module.storage.aws_dynamodb_table.metrics")
    assert table["name"] == f"{PREFIX}-ApplicationMetrics"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert (table["hash_key"], table["range_key"]) == ("ServiceName", "Timestamp")
    assert sorted((a["name"], a["type"]) for a in table["attribute"]) == [("ServiceName", "S"), ("Timestamp", "S")]
    [gsi] = table["global_secondary_index"]
    assert (gsi["name"], gsi["hash_key"], gsi["range_key"], gsi["projection_type"]) == (
        "TimestampIndex", "Timestamp", "ServiceName", "ALL")
    assert table["server_side_encryption"][0]["enabled"] is True
    # The module's customer managed key (unknown until apply; checkov on the plan reads it as unset).
    assert unknown["module.storage.aws_dynamodb_table.metrics"]["server_side_encryption"][0]["kms_key_arn"]
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["ttl"][0] == {"attribute_name": "ExpiresAt", "enabled": True}


def test_topic_key_admits_cloudwatch_alarms(after, unknown, config):
    assert unknown["module.alerting.aws_sns_topic.alarms[0]"]["kms_master_key_id"], "topic must use the module's key"
    key = one(after, "module.kms[0].aws_kms_key.this")
    assert key["enable_key_rotation"] is True
    statements = config["kms"]["data.aws_iam_policy_document.key"]["statement"]
    cw = [s for s in statements if s["principals"][0]["identifiers"].get("constant_value") == ["cloudwatch.amazonaws.com"]]
    assert cw, "the key policy must let cloudwatch.amazonaws.com use the key (alias/aws/sns does not)"
    assert set(cw[0]["actions"]["constant_value"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_topic_policy_admits_cloudwatch_alarms_of_the_account(after, config, calls):
    """Encryption with a key CloudWatch may use is half of it: the topic policy must admit the service too."""
    # Only for a topic the module creates (a handed-in one: terraform/tests/inputs.tftest.hcl).
    assert "module.alerting.aws_sns_topic_policy.alarms[0]" in after
    doc = config["alerting"]["data.aws_iam_policy_document.topic"]
    statements = {s["sid"]["constant_value"]: s for s in doc["statement"]}
    cw = statements["CloudWatchAlarmsPublish"]
    assert cw["actions"]["constant_value"] == ["sns:Publish"]
    assert cw["principals"][0]["type"]["constant_value"] == "Service"
    assert cw["principals"][0]["identifiers"]["constant_value"] == ["cloudwatch.amazonaws.com"]
    conditions = {c["variable"]["constant_value"]: c for c in cw["condition"]}
    assert set(conditions) == {"aws:SourceArn", "aws:SourceAccount"}, "scoped to this account's alarms"
    assert conditions["aws:SourceArn"]["test"]["constant_value"] == "ArnLike"
    assert all(not a.startswith("sns:") or a in {"sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:Publish",
                                                   "sns:SetTopicAttributes", "sns:Subscribe"}
               for a in statements["AccountManagesTopic"]["actions"]["constant_value"])


FIXTURES = Path(__file__).resolve().parents[2] / "lambdas/runbook-executor/tests/fixtures"
CLOUDWATCH_FIXTURES = ("sns-alarm-single-metric.json", "sns-alarm-metric-math.json",
                       "sns-alarm-null-description.json", "sns-ok-transition.json")


def test_executor_filter_key_is_in_every_cloudwatch_notification():
    """The filter keys on what CloudWatch publishes: a JSON body with AlarmArn and no message
    attributes (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html).
    A plain-text body (what the executor publishes) is not JSON, so a body policy cannot match it
    (https://docs.aws.amazon.com/sns/latest/dg/message-filtering.html)."""
    for name in CLOUDWATCH_FIXTURES:
        for record in json.loads((FIXTURES / name).read_text())["Records"]:
            sns = record["Sns"]
            assert not sns.get("MessageAttributes"), f"{name}: CloudWatch sends no message attributes"
            assert json.loads(sns["Message"])["AlarmArn"].startswith("arn:"), name
    for record in json.loads((FIXTURES / "sns-not-json.json").read_text())["Records"]:
        with pytest.raises(json.JSONDecodeError):
            json.loads(record["Sns"]["Message"])


def test_subscriptions(after, config, calls):
    subs = {a: v for a, v in after.items() if ".aws_sns_topic_subscription." in a}
    email = [v for v in subs.values() if v["protocol"] == "email"]
    assert [e["endpoint"] for e in email] == ["oncall@example.com"]
    # By default on-call's e-mail is on the notification topic the executor publishes to, not on
    # the alarm topic: one message per state change (docs/design.md, topic layout).
    assert "module.alerting.aws_sns_topic_subscription.email[\"oncall@example.com\"]" in subs
    assert config["alerting"]["aws_sns_topic_subscription.email"]["topic_arn"]["references"][0] == \
        "local.notification_topic_arn"
    assert one(after, "module.alerting.aws_sns_topic.notifications[0]")["name"] == f"{PREFIX}-notifications"
    assert calls["functions"]["expressions"]["notification_topic_arn"]["references"][0] == \
        "module.alerting.notification_topic_arn"
    [executor] = [v for v in subs.values() if v["protocol"] == "lambda"]
    # Body-scoped: CloudWatch alarm notifications carry no message attributes, and an attribute
    # policy never matches an empty attribute set, not even exists:false
    # (https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html).
    assert executor["filter_policy_scope"] == "MessageBody"
    assert json.loads(executor["filter_policy"]) == {"AlarmArn": [{"prefix": "arn:"}]}
    permission = one(after, "module.runbooks.aws_lambda_permission.sns_invokes_runbook_executor")
    assert permission["principal"] == "sns.amazonaws.com"


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_functions(after, unknown, complete_plan, fn):
    slug = fn.replace("_", "-")
    f = one(after, f"module.functions.aws_lambda_function.{fn}")
    assert f["function_name"] == f"{PREFIX}-{slug}"
    assert f["runtime"] == "provided.al2023" and f["handler"] == "bootstrap"
    assert f["architectures"] == ["arm64"]
    assert f["tracing_config"] == [{"mode": "Active"}]
    entry = complete_plan["manifest"]["functions"][slug]
    assert f["filename"] == f"{complete_plan['package']}/{entry['zip']}"
    assert f["source_code_hash"] == entry["source_code_hash"], "source_code_hash must come from the manifest"
    assert f["reserved_concurrent_executions"] == {"log_processor": 50, "metrics_api": 20, "runbook_executor": 5}[fn]
    # metrics-api answers within API Gateway's 29 s integration timeout
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
    assert f["timeout"] == {"log_processor": 30, "metrics_api": 20, "runbook_executor": 30}[fn]
    assert unknown[f"module.functions.aws_lambda_function.{fn}"]["kms_key_arn"], "environment must use the module key"
    group = one(after, f"module.functions.aws_cloudwatch_log_group.{fn}")
    assert group["name"] == f"/aws/lambda/{PREFIX}-{slug}"
    assert group["retention_in_days"] == 90
    assert unknown[f"module.functions.aws_cloudwatch_log_group.{fn}"]["kms_key_id"]
    # IAM names are global: the region keeps a second region's stack from colliding.
    assert one(after, f"module.functions.aws_iam_role.{fn}")["name"] == f"{PREFIX}-{slug}-us-east-1"


def test_function_environment(after, unknown):
    """Values known at plan; the executor's (it holds the topic ARN) are checked in test_submodules."""
    env = {fn: after[f"module.functions.aws_lambda_function.{fn}"]["environment"][0].get("variables") for fn in FUNCTIONS}
    table = f"{PREFIX}-ApplicationMetrics"
    # The root's logs_prefix reaches the log processor (it derives the service from the key).
    # Retention unset: every resolution kept for ever (blank values, read as unset).
    published = {"SERVICE_METRICS_NAMESPACE": NAMESPACE, "PUBLISHED_SERVICES": "checkout,search", "PUBLISHED_METRICS": "",
                 "MINUTE_RETENTION_DAYS": "", "HOUR_RETENTION_DAYS": "", "DAY_RETENTION_DAYS": ""}
    assert env["log_processor"] == {"METRICS_TABLE": table, "LOGS_PREFIX": "app-logs/", "LOG_LEVEL": "info", **published}
    assert env["metrics_api"] == {"METRICS_TABLE": table, "CORS_ALLOWED_ORIGINS": "https://dashboard.example.com",
                                  "MAX_BODY_BYTES": "262144", "LOG_LEVEL": "info", **published}
    assert unknown["module.functions.aws_lambda_function.runbook_executor"]["environment"][0]["variables"]


@pytest.mark.parametrize("fn", ["log_processor", "runbook_executor"])
def test_async_functions_have_an_encrypted_failure_destination(after, unknown, config, fn):
    cfg = one(after, f"module.functions.aws_lambda_function_event_invoke_config.{fn}")
    assert cfg["maximum_retry_attempts"] == 2
    assert unknown[f"module.functions.aws_lambda_function_event_invoke_config.{fn}"]["destination_config"][0]["on_failure"][0]["destination"]
    destination = config["functions"][f"aws_lambda_function_event_invoke_config.{fn}"]["destination_config"][0][
        "on_failure"][0]["destination"]["references"]
    if fn == "runbook_executor":
        # On-call's topic: the invocation record carries CloudWatch's notification, so nothing is
        # lost when the executor is down (docs/design.md, topic layout); encrypted, see below.
        assert destination == ["var.notification_topic_arn"]
        assert f"module.functions.aws_sqs_queue.{fn}_failures" not in after
        assert unknown["module.alerting.aws_sns_topic.notifications[0]"]["kms_master_key_id"]
        return
    queue = one(after, f"module.functions.aws_sqs_queue.{fn}_failures")
    assert queue["name"] == f"{PREFIX}-{fn.replace('_', '-')}-failures"
    assert unknown[f"module.functions.aws_sqs_queue.{fn}_failures"]["kms_master_key_id"]


def statements(config, fn):
    out = {}
    for s in config["functions"][f"data.aws_iam_policy_document.{fn}"]["statement"]:
        out[s["sid"]["constant_value"]] = s
    return out


def test_least_privilege_policies(config):
    allowed_star = {"xray:PutTelemetryRecords", "xray:PutTraceSegments", "cloudwatch:GetMetricData", "cloudwatch:PutMetricData"}
    for fn in FUNCTIONS:
        for sid, s in statements(config, fn).items():
            actions = s["actions"]["constant_value"]
            assert not any(a == "*" or a.endswith(":*") for a in actions), f"{fn}/{sid}: wildcard action"
            if s["resources"].get("constant_value") == ["*"]:
                assert set(actions) <= allowed_star, f"{fn}/{sid}: {actions} on every resource"
    lp = statements(config, "log_processor")
    assert lp["ReadLogObjects"]["actions"]["constant_value"] == ["s3:GetObject", "s3:GetObjectVersion"]
    # Written from the contract crate: exactly what the function's typed clients call.
    assert lp["MergeMetricItemsAndRollups"]["actions"]["constant_value"] == [
        "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
    api = statements(config, "metrics_api")
    assert api["QueryMetrics"]["actions"]["constant_value"] == ["dynamodb:Query"]
    assert not any("Scan" in a for s in api.values() for a in s["actions"]["constant_value"]), "the API never scans"
    rb = statements(config, "runbook_executor")
    assert rb["ReadRunbooks"]["actions"]["constant_value"] == ["ssm:GetParameter"]
    assert rb["Notify"]["actions"]["constant_value"] == ["sns:Publish"]
    put = rb["PutRunbookMetrics"]
    assert put["condition"][0]["variable"]["constant_value"] == "cloudwatch:namespace"


def test_rest_api(after, config, calls):
    methods = {v["http_method"]: v for a, v in after.items() if ".aws_api_gateway_method." in a and a.endswith("_get")}
    assert set(methods) == {"GET"}
    proxied = {a.split(".")[-1]: v for a, v in after.items() if ".aws_api_gateway_method." in a}
    fallbacks = {"metrics_any", "health_any", "root_any", "proxy_any"}
    assert set(proxied) == {"metrics_get", "metrics_post", "health_get", "metrics_options", "health_options"} | fallbacks
    # Other methods and paths reach the function (its 404/405 JSON) guarded like reads; how each
    # auth mode guards which method is terraform/tests/inputs.tftest.hcl's.
    assert {proxied[n]["http_method"] for n in fallbacks} == {"ANY"}
    assert {proxied[n]["http_method"] for n in ("metrics_options", "health_options")} == {"OPTIONS"}
    # Every method, OPTIONS included, goes to the metrics-api function: it echoes whichever
    # configured origin asked (a MOCK integration can answer with one fixed origin only).
    for name in proxied:
        integ = after[f"module.api.aws_api_gateway_integration.{name}"]
        assert integ["type"] == "AWS_PROXY" and integ["integration_http_method"] == "POST", name
        assert config["api"][f"aws_api_gateway_integration.{name}"]["uri"]["references"] == ["var.function_invoke_arn"], name
    wiring = calls["api"]["expressions"]["function_invoke_arn"]["references"]
    assert "module.functions.metrics_api_invoke_arn" in wiring
    assert not [a for a in after if ".aws_api_gateway_integration_response." in a or ".aws_api_gateway_method_response." in a]
    paths = sorted(v["path_part"] for a, v in after.items() if ".aws_api_gateway_resource." in a)
    assert paths == ["health", "metrics", "{proxy+}"]
    stage = one(after, "module.api.aws_api_gateway_stage.this")
    assert stage["stage_name"] == "v1" and stage["xray_tracing_enabled"] is True
    access = json.loads(stage["access_log_settings"][0]["format"])
    assert access["requestId"] == "$context.requestId" and "status" in access
    settings = one(after, "module.api.aws_api_gateway_method_settings.all")["settings"][0]
    assert settings["metrics_enabled"] is True
    assert (settings["throttling_rate_limit"], settings["throttling_burst_limit"]) == (100, 200)
    plan = one(after, "module.api.aws_api_gateway_usage_plan.this[0]")
    assert plan["throttle_settings"][0]["rate_limit"] == 100
    assert one(after, "module.api.aws_api_gateway_usage_plan_key.this[0]")["key_type"] == "API_KEY"
    assert one(after, "module.api.aws_cloudwatch_log_group.access")["retention_in_days"] == 90


def test_api_logging_works_on_a_fresh_account(after, unknown, calls):
    """AWS rejects a logging stage until the region's API Gateway CloudWatch role is set
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html): the module
    sets it by default, before the stage, and owns the execution log group API Gateway writes to
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html)."""
    assert "module.api.aws_api_gateway_account.this[0]" in after
    assert one(after, "module.api.aws_iam_role.account_logging[0]")["name"] == f"{PREFIX}-apigateway-logging-us-east-1"
    assert unknown["module.api.aws_api_gateway_account.this[0]"]["cloudwatch_role_arn"], "the module's role"
    attachment = one(after, "module.api.aws_iam_role_policy_attachment.account_logging[0]")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
    group = one(after, "module.api.aws_cloudwatch_log_group.execution")
    assert group["retention_in_days"] == 90 and unknown["module.api.aws_cloudwatch_log_group.execution"]["kms_key_id"]
    resources = {r["address"]: r for r in calls["api"]["module"]["resources"]}
    assert resources["aws_cloudwatch_log_group.execution"]["expressions"]["name"]["references"][:1] == [
        "aws_api_gateway_rest_api.this.id"]
    for address in ("aws_api_gateway_stage.this", "aws_api_gateway_method_settings.all"):
        assert set(resources[address]["depends_on"]) >= {"aws_api_gateway_account.this", "aws_cloudwatch_log_group.execution"}, address
    settings = one(after, "module.api.aws_api_gateway_method_settings.all")["settings"][0]
    assert settings["logging_level"] == "ERROR" and settings["data_trace_enabled"] is False


def test_gateway_responses_carry_cors_headers(after, config):
    """API Gateway's own 4XX/5XX (missing key, denied, throttled, quota: they fall back to
    DEFAULT_4XX/5XX, https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html)
    carry the CORS headers, so a browser sees the status, not an opaque CORS error."""
    responses = {v["response_type"]: v for a, v in after.items() if ".aws_api_gateway_gateway_response." in a}
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for ty, r in responses.items():
        params = r["response_parameters"]
        # examples/complete allows one origin: the gateway names it.
        assert params["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://dashboard.example.com'", ty
        assert params["gatewayresponse.header.Vary"] == "'Origin'"
        assert "Authorization" in params["gatewayresponse.header.Access-Control-Allow-Headers"], "SigV4 headers"
    refs = config["api"]["aws_api_gateway_deployment.this"]["triggers"]["references"]
    assert {"aws_api_gateway_gateway_response.default_4xx.id", "aws_api_gateway_gateway_response.default_5xx.id",
            "local.cors_gateway_response_headers"} <= set(refs), "a changed gateway response must redeploy the stage"


def test_redeployment_trigger_hashes_ids(config):
    triggers = config["api"]["aws_api_gateway_deployment.this"]["triggers"]
    refs = triggers["references"]
    assert {"var.read_auth", "var.write_auth", "var.function_invoke_arn"} <= set(refs), "switching auth or function must redeploy the stage"
    for route in ("metrics_get", "metrics_post", "metrics_options", "health_get", "health_options"):
        assert f"aws_api_gateway_method.{route}.id" in refs and f"aws_api_gateway_integration.{route}.id" in refs, route
    assert any(r.startswith("aws_api_gateway_integration.") and r.endswith(".id") for r in refs)
    assert any(r.startswith("aws_api_gateway_method.") and r.endswith(".id") for r in refs)
    whole = [r for r in refs if r.count(".") == 1 and not r.startswith(("var.", "local."))]
    assert all(f"{r}.id" in refs for r in whole), "hash ids, not whole objects (refresh rewrites null maps)"


def test_alarms(after, unknown):
    alarms = {v["alarm_name"]: (a, v) for a, v in after.items()
              if ".aws_cloudwatch_metric_alarm." in a and "[" not in a}
    assert sorted(alarms) == sorted(f"{PREFIX}-{n}" for n in ALARMS)
    for name, (address, alarm) in alarms.items():
        assert unknown[address]["alarm_actions"] and unknown[address]["ok_actions"], f"{name}: actions must be the topic"
        assert alarm["treat_missing_data"] == "notBreaching"
        assert f"SSM parameter /{PREFIX}/runbooks/{name}" in alarm["alarm_description"]
        assert "Runbook: https://runbooks.example.com/" in alarm["alarm_description"]
    _, rate = alarms[f"{PREFIX}-api-5xx-rate"]
    assert rate["threshold"] == 2, "threshold from var.alarm_thresholds"
    exprs = [q["expression"] for q in rate["metric_query"] if q["expression"]]
    assert exprs == ["IF(requests > 0, 100 * errors / requests, 0)"]
    metrics = sorted(q["metric"][0]["metric_name"] for q in rate["metric_query"] if q["metric"])
    assert metrics == ["5XXError", "Count"]
    _, latency = alarms[f"{PREFIX}-api-latency-p99"]
    assert latency["extended_statistic"] == "p99" and latency["threshold"] == 1500
    assert latency["dimensions"] == {"ApiName": f"{PREFIX}-metrics", "Stage": "v1"}
    _, errors = alarms[f"{PREFIX}-log-processor-errors"]
    assert errors["metric_name"] == "Errors" and errors["dimensions"] == {"FunctionName": f"{PREFIX}-log-processor"}
    assert latency["evaluate_low_sample_count_percentiles"] == "evaluate"
    _, throttles = alarms[f"{PREFIX}-dynamodb-throttles"]
    names = sorted(q["metric"][0]["metric_name"] for q in throttles["metric_query"] if q["metric"])
    assert names == ["ReadThrottleEvents", "WriteThrottleEvents"]
    # The GSI's throttles are a separate series: TableName + GlobalSecondaryIndexName
    # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
    _, index = alarms[f"{PREFIX}-dynamodb-index-throttles"]
    metrics = [q["metric"][0] for q in index["metric_query"] if q["metric"]]
    assert sorted(m["metric_name"] for m in metrics) == ["ReadThrottleEvents", "WriteThrottleEvents"]
    assert all(m["dimensions"] == {"TableName": f"{PREFIX}-ApplicationMetrics", "GlobalSecondaryIndexName": "TimestampIndex"}
               for m in metrics), metrics


def service_metric_alarms(after) -> dict:
    return {v["alarm_name"]: v for a, v in after.items() if ".aws_cloudwatch_metric_alarm." in a and "[" in a}


def queries(alarm) -> dict:
    return {q["id"]: q for q in alarm["metric_query"]}


def metric_of(query) -> dict:
    return query["metric"][0]


def test_service_alarms_watch_the_published_metrics(after, unknown):
    alarms = service_metric_alarms(after)
    children = [f"availability-{s}-{c}" for s in SERVICES for c in SLO_CHILDREN]
    metric_alarms = [n for n in service_alarm_names() if not n.startswith("availability")]
    assert sorted(alarms) == sorted(f"{PREFIX}-{n}" for n in metric_alarms + children)
    for name, alarm in alarms.items():
        service = next(s for s in SERVICES if f"-{s}" in name)
        for q in alarm["metric_query"]:
            if q["metric"]:
                m = metric_of(q)
                assert m["namespace"] == NAMESPACE and m["dimensions"] == {"ServiceName": service}, (name, m)
    # Error rate: metric math on Requests/Errors, checkout's own threshold, M of N.
    rate = alarms[f"{PREFIX}-error-rate-checkout"]
    q = queries(rate)
    assert q["rate"]["expression"] == "IF(requests > 0, 100 * errors / requests, 0)" and q["rate"]["return_data"]
    assert (metric_of(q["errors"])["metric_name"], metric_of(q["errors"])["stat"]) == ("Errors", "Sum")
    assert (metric_of(q["requests"])["metric_name"], metric_of(q["requests"])["stat"]) == ("Requests", "Sum")
    assert not q["errors"]["return_data"] and not q["requests"]["return_data"]
    assert (rate["threshold"], rate["evaluation_periods"], rate["datapoints_to_alarm"]) == (2, 5, 3)
    assert alarms[f"{PREFIX}-error-rate-search"]["threshold"] == 5, "search keeps the config's default"
    assert rate["comparison_operator"] == "GreaterThanThreshold" and rate["treat_missing_data"] == "notBreaching"
    assert f"SSM parameter /{PREFIX}/runbooks/{PREFIX}-error-rate-checkout" in rate["alarm_description"]
    assert unknown[f"module.alarms.aws_cloudwatch_metric_alarm.error_rate[\"checkout\"]"]["alarm_actions"]
    # Latency: a percentile of the Latency distribution.
    latency = queries(alarms[f"{PREFIX}-latency-p99-search"])["latency"]
    assert (metric_of(latency)["metric_name"], metric_of(latency)["stat"], latency["return_data"]) == ("Latency", "p99", True)
    # Anomaly band: the alarm compares Requests with ANOMALY_DETECTION_BAND(requests, width).
    drop = alarms[f"{PREFIX}-traffic-drop-checkout"]
    q = queries(drop)
    assert q["band"]["expression"] == "ANOMALY_DETECTION_BAND(requests, 3)" and q["band"]["return_data"]
    assert drop["threshold_metric_id"] == "band" and drop["threshold"] is None
    assert drop["comparison_operator"] == "LessThanLowerThreshold"
    assert metric_of(q["requests"])["period"] == 300 and q["requests"]["return_data"]
    assert drop["treat_missing_data"] == "breaching", "a silent service is broken"


def test_slo_burn_rate_alerts(after, unknown):
    """SRE workbook, multiwindow multi-burn-rate: children compute the burn rate and carry no
    actions; one composite per severity pages when both windows of a pair burn."""
    alarms = service_metric_alarms(after)
    windows = {"page-1h": (3600, 14.4), "page-5m": (300, 14.4), "page-6h": (21600, 6), "page-30m": (1800, 6),
               "ticket-3d": (259200, 1), "ticket-6h": (21600, 1)}
    for service, target in (("checkout", 99.95), ("search", 99.9)):
        for child, (period, burn) in windows.items():
            alarm = alarms[f"{PREFIX}-availability-{service}-{child}"]
            q = queries(alarm)
            assert q["burn"]["expression"] == f"IF(requests > 0, errors / requests / (1 - {target} / 100), 0)"
            assert {metric_of(q[i])["period"] for i in ("errors", "requests")} == {period}
            assert (alarm["threshold"], alarm["evaluation_periods"], alarm["comparison_operator"]) == \
                (burn, 1, "GreaterThanThreshold")
            assert not alarm.get("alarm_actions") and not alarm.get("ok_actions") and not alarm.get("insufficient_data_actions")
    composites = {v["alarm_name"]: (a, v) for a, v in after.items() if ".aws_cloudwatch_composite_alarm." in a}
    assert sorted(composites) == sorted(f"{PREFIX}-availability-{s}{sev}" for s in SERVICES for sev in ("", "-ticket"))
    address, page = composites[f"{PREFIX}-availability-checkout"]
    n = lambda c: f'ALARM("{PREFIX}-availability-checkout-{c}")'
    assert page["alarm_rule"] == f"({n('page-1h')} AND {n('page-5m')}) OR ({n('page-6h')} AND {n('page-30m')})"
    assert unknown[address]["alarm_actions"] and unknown[address]["ok_actions"], "only the composite notifies"
    _, ticket = composites[f"{PREFIX}-availability-checkout-ticket"]
    assert ticket["alarm_rule"] == f"({n('ticket-3d')} AND {n('ticket-6h')})"


def test_functions_publish_the_services(after, config):
    env = {fn: after[f"module.functions.aws_lambda_function.{fn}"]["environment"][0]["variables"]
           for fn in ("log_processor", "metrics_api")}
    for fn, e in env.items():
        assert (e["SERVICE_METRICS_NAMESPACE"], e["PUBLISHED_SERVICES"], e["PUBLISHED_METRICS"]) == \
            (NAMESPACE, "checkout,search", ""), fn
        put = statements(config, fn)["PublishServiceMetrics"]
        assert put["actions"]["constant_value"] == ["cloudwatch:PutMetricData"]
        assert put["condition"][0]["variable"]["constant_value"] == "cloudwatch:namespace"


def test_runbook_parameters_in_the_executor_format(after, unknown):
    params = {v["name"]: v for a, v in after.items() if ".aws_ssm_parameter." in a}
    assert all(unknown[a]["key_id"] for a in after if ".aws_ssm_parameter." in a), "SecureString under the module's key"
    assert sorted(params) == sorted(f"/{PREFIX}/runbooks/{PREFIX}-{n}" for n in ALARMS + tuple(service_alarm_names()))
    slo = json.loads(params[f"/{PREFIX}/runbooks/{PREFIX}-availability-checkout"]["value"])
    assert slo["service"] == "checkout" and slo["alarm"] == f"{PREFIX}-availability-checkout"
    assert slo["slo"] == {"target_percent": 99.95, "window_days": 30, "windows": [
        {"long_seconds": 3600, "short_seconds": 300, "burn_rate": 14.4},
        {"long_seconds": 21600, "short_seconds": 1800, "burn_rate": 6}]}
    rate = json.loads(params[f"/{PREFIX}/runbooks/{PREFIX}-error-rate-search"]["value"])
    assert rate["service"] == "search" and "slo" not in rate
    for name, p in params.items():
        assert p["type"] == "SecureString"
        value = json.loads(p["value"])
        assert value["alarm"] == name.rsplit("/", 1)[1]
        assert value["link"].startswith("https://runbooks.example.com/")
        assert value["on_failure"] in ("continue", "stop")
        assert value["steps"] and all(s["type"] in {"record_incident", "gather_context", "notify", "start_automation", "put_metric"}
                                      for s in value["steps"])
    first = json.loads(params[f"/{PREFIX}/runbooks/{PREFIX}-api-5xx-rate"]["value"])
    assert first == {"alarm": f"{PREFIX}-api-5xx-rate", "link": "https://runbooks.example.com/api-5xx", "on_failure": "continue",
                     "steps": [{"type": "record_incident"}, {"type": "gather_context", "lookback_minutes": 30},
                               {"type": "notify"}, {"type": "put_metric"}]}


def test_dashboard_planned(after):
    """Its body depends on alarm ARNs (unknown here); test_submodules checks the widgets."""
    assert one(after, "module.dashboard.aws_cloudwatch_dashboard.this")["dashboard_name"] == f"{PREFIX}-monitoring"


def test_outputs(plan):
    outputs = plan["planned_values"]["outputs"]
    assert outputs["api_key_value"]["sensitive"] is True
    assert outputs["dashboard_name"]["value"] == f"{PREFIX}-monitoring"
    assert {"api_url", "api_key_value", "logs_bucket_name", "dashboard_name", "topic_arn"} <= set(
        plan["configuration"]["root_module"]["outputs"]), "examples/complete surfaces the essentials"
    exported = set(plan["configuration"]["root_module"]["module_calls"]["monitoring"]["module"]["outputs"])
    assert complete_outputs_subset() <= exported, sorted(complete_outputs_subset() - exported)


def complete_outputs_subset():
    names = {"api_url", "api_key_value", "logs_bucket_name", "dashboard_name", "topic_arn", "kms_key_arn",
             "kms_key_alias_name", "api_access_log_group_arn", "api_stage_arn", "table_index_arn"}
    for fn in FUNCTIONS:
        names |= {f"{fn}_function_arn", f"{fn}_function_name", f"{fn}_role_arn", f"{fn}_role_name",
                  f"{fn}_log_group_name", f"{fn}_log_group_arn"}
    return names


def test_every_sub_module_output_is_exported(calls, plan):
    """Every ARN and name a sub-module outputs is an output of the module (kms is wired by hand)."""
    exported = set(plan["configuration"]["root_module"]["module_calls"]["monitoring"]["module"]["outputs"])
    for name, call in calls.items():
        if name == "kms":
            continue
        missing = set(call["module"].get("outputs", {})) - exported
        assert not missing, f"module.{name} outputs not re-exported: {sorted(missing)}"
