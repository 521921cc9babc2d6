"""Sub-modules planned on their own with literal inputs: they work without the root module, and
values that depend on other modules' ARNs in the full plan are known here and checked exactly
(IAM policy documents, the runbook executor's environment, the dashboard's widgets)."""

import json
import shutil

import pytest

import tools

ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/solo-ApplicationMetrics"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:solo-alarms"
NOTIFICATIONS = f"arn:aws:sns:us-east-1:{ACCOUNT}:solo-notifications"

LOGS_PREFIX = "app-logs/"

PROVIDER = tools.OFFLINE_PROVIDER.replace('provider "aws" {', 'provider "aws" {\n  region = "us-east-1"')


def plan_module(name: str, variables: dict, tmp_path) -> dict:
    where = tmp_path / name
    shutil.copytree(tools.MODULE / "modules" / name, where)
    (where / "offline_provider.tf").write_text(PROVIDER)
    (where / "test.auto.tfvars.json").write_text(json.dumps(variables))
    tools.init(where)
    tools.terraform(["plan", "-input=false", "-no-color", "-lock=false", "-out=solo.tfplan"], where)
    return json.loads(tools.terraform(["show", "-json", "solo.tfplan"], where).stdout)


def data_values(plan: dict) -> dict:
    """Data sources read during plan, by address."""
    out = {}

    def walk(module):
        for r in module.get("resources", []):
            out[r["address"]] = r["values"]
        for child in module.get("child_modules", []):
            walk(child)

    walk(plan["prior_state"]["values"]["root_module"])
    return out


@pytest.fixture(scope="module")
def functions_plan(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("functions")
    manifest = tools.fake_package(tmp / "package")
    code = {n: {"filename": str(tmp / "package" / e["zip"]), "source_code_hash": e["source_code_hash"], "architecture": "arm64"}
            for n, e in manifest["functions"].items()}
    variables = {
        "name_prefix": "solo", "kms_key_arn": KEY, "code": code, "table_name": "solo-ApplicationMetrics",
        "table_arn": TABLE, "logs_bucket_arn": "arn:aws:s3:::solo-logs",
        "notification_topic_arn": NOTIFICATIONS,
        # Not the defaults: both must reach the functions' environment.
        "logs_prefix": LOGS_PREFIX, "log_level": "debug",
        "automation_documents": ["AWS-RestartEC2Instance"],
        "automation_assume_role_arns": [f"arn:aws:iam::{ACCOUNT}:role/restarter"],
    }
    return plan_module("functions", variables, tmp)


def policy(functions_plan, fn) -> dict:
    doc = data_values(functions_plan)[f"data.aws_iam_policy_document.{fn}"]
    return {s["Sid"]: s for s in json.loads(doc["json"])["Statement"]}


def as_list(v):
    return v if isinstance(v, list) else [v]


def test_log_processor_policy_is_exact(functions_plan):
    p = policy(functions_plan, "log_processor")
    assert as_list(p["ReadLogObjects"]["Resource"]) == [f"arn:aws:s3:::solo-logs/{LOGS_PREFIX}*"]
    assert as_list(p["MergeMetricItemsAndRollups"]["Resource"]) == [TABLE]
    assert as_list(p["UseStackKey"]["Resource"]) == [KEY]
    assert as_list(p["WriteOwnLogs"]["Resource"]) == [
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/solo-log-processor:*"]
    assert as_list(p["SendFailedEvents"]["Resource"]) == [f"arn:aws:sqs:us-east-1:{ACCOUNT}:solo-log-processor-failures"]


def test_metrics_api_policy_is_exact(functions_plan):
    p = policy(functions_plan, "metrics_api")
    assert sorted(as_list(p["QueryMetrics"]["Resource"])) == sorted([TABLE, f"{TABLE}/index/*"])
    assert "SendFailedEvents" not in p, "the API is invoked synchronously: no failure queue"


def test_runbook_executor_policy_is_exact(functions_plan):
    p = policy(functions_plan, "runbook_executor")
    assert as_list(p["ReadRunbooks"]["Resource"]) == [f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/solo/runbooks/*"]
    assert as_list(p["Notify"]["Resource"]) == [NOTIFICATIONS]
    # Its on-failure destination is that topic (sent with this role): no queue of its own.
    assert "SendFailedEvents" not in p
    assert p["PutRunbookMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "solo/Runbooks"}}
    assert as_list(p["StartListedAutomations"]["Resource"]) == [
        "arn:aws:ssm:us-east-1:*:automation-definition/AWS-RestartEC2Instance:*"]
    assert set(as_list(p["StartListedAutomations"]["Action"])) == {"ssm:StartAutomationExecution"}
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html: exactly the
    # documents' assume role, and only to SSM.
    assert as_list(p["PassAutomationAssumeRoles"]["Resource"]) == [f"arn:aws:iam::{ACCOUNT}:role/restarter"]
    assert as_list(p["PassAutomationAssumeRoles"]["Action"]) == ["iam:PassRole"]
    assert p["PassAutomationAssumeRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}


def test_runbook_executor_environment(functions_plan):
    fn = next(rc for rc in functions_plan["resource_changes"] if rc["address"] == "aws_lambda_function.runbook_executor")
    assert fn["change"]["after"]["environment"][0]["variables"] == {
        "METRICS_TABLE": "solo-ApplicationMetrics", "NOTIFICATION_TOPIC_ARN": NOTIFICATIONS, "RUNBOOK_PARAMETER_PREFIX": "/solo/runbooks/",
        "DRY_RUN": "false", "METRIC_NAMESPACE": "solo/Runbooks", "SERVICE_METRICS_NAMESPACE": "solo/Services",
        "INCIDENT_TTL_DAYS": "30", "LOG_LEVEL": "debug"}


def test_log_processor_environment_carries_a_non_default_logs_prefix(functions_plan):
    """The prefix the module reads objects under is the one the processor derives services under
    (it used to hard-code logs/, rejecting every line without a service field under app-logs/)."""
    fn = next(rc for rc in functions_plan["resource_changes"] if rc["address"] == "aws_lambda_function.log_processor")
    assert fn["change"]["after"]["environment"][0]["variables"] == {
        "METRICS_TABLE": "solo-ApplicationMetrics", "LOGS_PREFIX": LOGS_PREFIX, "LOG_LEVEL": "debug",
        # No services handed in: nothing is published (and the namespace is the prefix's).
        "SERVICE_METRICS_NAMESPACE": "solo/Services", "PUBLISHED_SERVICES": "", "PUBLISHED_METRICS": "",
        "MINUTE_RETENTION_DAYS": "", "HOUR_RETENTION_DAYS": "", "DAY_RETENTION_DAYS": ""}



def test_dashboard_widgets(tmp_path):
    # 150 alarms: an alarm status widget holds at most 100 (Dashboard Body Structure, alarm widget).
    alarms = [f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:solo-a{i}" for i in range(150)]
    plan = plan_module("dashboard", {
        "name_prefix": "solo", "api_name": "solo-metrics", "api_stage_name": "v1", "table_name": "solo-ApplicationMetrics",
        "function_names": {"log-processor": "solo-log-processor", "metrics-api": "solo-metrics-api",
                           "runbook-executor": "solo-runbook-executor"},
        "alarm_arns": alarms, "services": {"search": {}, "checkout": {}},
    }, tmp_path)
    [dash] = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_cloudwatch_dashboard"]
    widgets = json.loads(dash["dashboard_body"])["widgets"]
    texts = [w["properties"]["markdown"] for w in widgets if w["type"] == "text"]
    assert texts == ["## Service checkout", "## Service search", "## API performance", "## Lambda health",
                     "## DynamoDB performance"]
    status = [w for w in widgets if w["type"] == "alarm"]
    assert [len(w["properties"]["alarms"]) for w in status] == [100, 50]
    assert [a for w in status for a in w["properties"]["alarms"]] == alarms
    metrics = [m for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    # Services: requests, errors, error rate (math), p50/p99 latency of the published metrics.
    for service in ("checkout", "search"):
        assert ["solo/Services", "Requests", "ServiceName", service, {"id": "requests", "label": "Requests"}] in metrics
        assert ["solo/Services", "Latency", "ServiceName", service, {"stat": "p99", "label": "p99"}] in metrics
    assert [{"expression": "IF(requests > 0, 100 * errors / requests, 0)", "label": "Error rate (%)", "id": "rate",
             "yAxis": "right"}] in metrics
    assert ["AWS/ApiGateway", "5XXError", "ApiName", "solo-metrics", "Stage", "v1", {"label": "5XX"}] in metrics
    lambda_fns = {m[3] for m in metrics if m[0] == "AWS/Lambda"}
    assert lambda_fns == {"solo-log-processor", "solo-metrics-api", "solo-runbook-executor"}
    assert any(m[0] == "AWS/DynamoDB" and m[1] == "ReadThrottleEvents" for m in metrics)
    assert all(w["properties"].get("region", "us-east-1") == "us-east-1" for w in widgets if w["type"] == "metric")
    # No two widgets overlap on the grid.
    cells = set()
    for w in widgets:
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, f"widgets overlap at {(x, y)}"
                cells.add((x, y))


def test_alerting_with_a_handed_in_alarm_topic_and_both_messages(tmp_path):
    """A caller's own alarm topic (`sns_topic_arn`): the module still creates its notification
    topic, where the executor publishes and alarm_emails subscribe; with alarm_email_messages =
    "both" they subscribe to the caller's topic too, for CloudWatch's own notification."""
    theirs = f"arn:aws:sns:us-east-1:{ACCOUNT}:platform-oncall"
    plan = plan_module("alerting", {
        "name_prefix": "solo", "kms_key_arn": KEY, "topic_arn": theirs, "alarm_emails": ["a@example.com"],
        "alarm_email_messages": "both",
    }, tmp_path)
    changes = {rc["address"]: rc["change"] for rc in plan["resource_changes"] if rc["mode"] == "managed"}
    assert set(changes) == {
        "aws_sns_topic.notifications[0]", "aws_sns_topic_policy.notifications[0]",
        'aws_sns_topic_subscription.email["a@example.com"]', 'aws_sns_topic_subscription.email_alarm_topic["a@example.com"]',
    }, "no alarm topic of the module's own"
    assert changes["aws_sns_topic.notifications[0]"]["after"]["kms_master_key_id"] == KEY
    assert changes['aws_sns_topic_subscription.email["a@example.com"]']["after_unknown"]["topic_arn"], \
        "on the module's notification topic"
    assert changes['aws_sns_topic_subscription.email_alarm_topic["a@example.com"]']["after"]["topic_arn"] == theirs
    assert plan["planned_values"]["outputs"]["topic_arn"]["value"] == theirs
