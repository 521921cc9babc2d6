"""Other configurations through the same generator: components switched off, IAM auth, x86_64,
automation steps. Each generated module must validate, and plan offline where it matters.

These compare modules generated from different monitoring.toml files, which `terraform test`
cannot do; the rules of one module (validations, plan-time switches, handed-in resources) are
in its own terraform/tests/*.tftest.hcl (`just tftest`)."""

import json
import os
import re
import shlex
import subprocess

import pytest

import tools

VARIANTS = {
    "core-only": """
[components]
api = false
alarms = false
dashboard = false
runbooks = false
""",
    "iam-x86-no-dashboard": """
[project]
name_prefix = "acme-mon"
architecture = "x86_64"
[components]
dashboard = false
[api]
read_auth = "iam"
cors_allowed_origins = ["https://a.example.com", "https://b.example.com"]
[[alarms]]
name = "latency"
kind = "api_latency"
percentile = "p90"
threshold = 800
""",
    "runbooks-without-api": """
[components]
api = false
[dashboard]
sections = ["dynamodb", "lambda"]
[[alarms]]
name = "api-errors"
kind = "lambda_errors"
function = "metrics_api"
threshold = 1
[[alarms]]
name = "throttles"
kind = "dynamodb_throttles"
threshold = 3
[alarms.runbook]
link = "https://r.example.com/throttles"
service = "checkout"
on_failure = "stop"
steps = [{ type = "notify" }, { type = "start_automation", document = "AWS-RestartEC2Instance", parameters = { InstanceId = "i-123" } }]
""",
    "service-alarms-only": """
[components]
api = false
runbooks = false
[service_metrics]
services = ["orders"]
custom_metrics = ["queue_depth"]
[[alarms]]
name = "queue"
kind = "service_metric"
metric = "queue_depth"
statistic = "Maximum"
threshold = 1000
comparison = "GreaterThanOrEqualToThreshold"
[[alarms]]
name = "slo"
kind = "slo"
threshold = 99.5
window_days = 28
[[alarms]]
name = "latency-band"
kind = "service_latency"
percentile = "p90"
anomaly_band = true
threshold = 2
""",
}


def gen_command() -> list[str]:
    if os.environ.get("GEN_BIN"):
        return shlex.split(os.environ["GEN_BIN"])
    return ["cargo", "run", "--quiet", "--locked", "-p", "monitoring-gen", "--"]


def generate(config_text: str, where) -> None:
    config = where / "monitoring.toml"
    config.write_text(config_text)
    proc = subprocess.run([*gen_command(), "terraform", "--config", str(config), "--out", str(where / "terraform")],
                          cwd=tools.REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"gen terraform failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_generates_validates_and_plans(variant, tmp_path):
    generate(VARIANTS[variant], tmp_path)
    module = tmp_path / "terraform"
    fmt = tools.terraform(["fmt", "-check", "-recursive", "-no-color", str(module)], tmp_path, check=False)
    assert fmt.returncode == 0, fmt.stdout
    root = tmp_path / "root"
    root.mkdir()
    package = tmp_path / "package"
    arch = "x86_64" if "x86" in variant else "arm64"
    tools.fake_package(package, arch)
    (root / "main.tf").write_text(
        'provider "aws" {\n  region = "us-east-1"\n}\n\n'
        f'module "monitoring" {{\n  source             = "../terraform"\n  lambda_package_dir = "{package}"\n}}\n'
    )
    (root / "offline_override.tf").write_text(tools.OFFLINE_PROVIDER)
    tools.init(root)
    tools.terraform(["plan", "-input=false", "-no-color", "-lock=false", "-out=v.tfplan"], root)
    plan = json.loads(tools.terraform(["show", "-json", "v.tfplan"], root).stdout)
    types = [rc["type"] for rc in plan["resource_changes"] if rc["mode"] == "managed"]
    functions = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_lambda_function"]
    assert all(f["architectures"] == [arch] for f in functions)
    if variant == "core-only":
        # The module's own tests, as gen writes them for this configuration, pass without the
        # components switched off (runs and variables of absent ones are left out; one file
        # suffices: both files leave them out the same way).
        tools.init(module)
        tested = tools.terraform(["test", "-no-color", "-filter=tests/inputs.tftest.hcl"], module, check=False)
        summary = re.search(r"Success! (\d+) passed, 0 failed", tested.stdout)
        assert tested.returncode == 0 and summary and int(summary.group(1)) > 0, f"{tested.stdout}\n{tested.stderr}"
        assert [f["function_name"] for f in functions] == ["appmon-log-processor"]
        for absent in ("aws_api_gateway_rest_api", "aws_cloudwatch_metric_alarm", "aws_cloudwatch_dashboard", "aws_ssm_parameter"):
            assert absent not in types
        assert "aws_s3_bucket_notification" in types and "aws_dynamodb_table" in types
    elif variant == "iam-x86-no-dashboard":
        # The config's read_auth is the module's default (what IAM auth creates: terraform/tests).
        methods = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_api_gateway_method"]
        assert {m["authorization"] for m in methods if m["http_method"] != "OPTIONS"} == {"AWS_IAM"}
        integrations = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_api_gateway_integration"]
        assert {i["type"] for i in integrations} == {"AWS_PROXY"}
        [api_fn] = [f for f in functions if f["function_name"] == "acme-mon-metrics-api"]
        assert api_fn["environment"][0]["variables"]["CORS_ALLOWED_ORIGINS"] == "https://a.example.com,https://b.example.com"
        assert "aws_cloudwatch_dashboard" not in types
        [alarm] = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_cloudwatch_metric_alarm"]
        assert alarm["extended_statistic"] == "p90" and alarm["alarm_name"] == "acme-mon-latency"
    elif variant == "service-alarms-only":
        # The config's services are the map's default; no runbooks component: no SSM, no composite
        # runbook, but the composite alarms still notify the topic.
        alarms = {rc["change"]["after"]["alarm_name"]: rc["change"]["after"] for rc in plan["resource_changes"]
                  if rc["type"] == "aws_cloudwatch_metric_alarm"}
        assert sorted(alarms) == sorted(["appmon-queue-orders", "appmon-latency-band-orders"] +
                                        [f"appmon-slo-orders-page-{w}" for w in ("1h", "5m", "6h", "30m")])
        queue = alarms["appmon-queue-orders"]
        [q] = queue["metric_query"]
        assert (q["metric"][0]["metric_name"], q["metric"][0]["stat"], queue["comparison_operator"]) == \
            ("queue_depth", "Maximum", "GreaterThanOrEqualToThreshold")
        band = {q["id"]: q for q in alarms["appmon-latency-band-orders"]["metric_query"]}
        assert band["band"]["expression"] == "ANOMALY_DETECTION_BAND(latency, 2)"
        assert band["latency"]["metric"][0]["stat"] == "p90"
        assert alarms["appmon-latency-band-orders"]["comparison_operator"] == "GreaterThanUpperThreshold"
        [composite] = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_cloudwatch_composite_alarm"]
        assert composite["alarm_name"] == "appmon-slo-orders"
        assert "1 - 99.5 / 100" in alarms["appmon-slo-orders-page-5m"]["metric_query"][0]["expression"] or any(
            "1 - 99.5 / 100" in (q["expression"] or "") for q in alarms["appmon-slo-orders-page-5m"]["metric_query"])
        lp = next(f for f in functions if f["function_name"] == "appmon-log-processor")
        assert lp["environment"][0]["variables"]["PUBLISHED_METRICS"] == "queue_depth"
        assert lp["environment"][0]["variables"]["PUBLISHED_SERVICES"] == "orders"
        assert "aws_ssm_parameter" not in types
    else:
        # The metrics-api alarm is dropped with its function; the runbook carries its steps.
        assert [a["alarm_name"] for a in (rc["change"]["after"] for rc in plan["resource_changes"]
                                          if rc["type"] == "aws_cloudwatch_metric_alarm")] == ["appmon-throttles"]
        [param] = [rc["change"]["after"] for rc in plan["resource_changes"] if rc["type"] == "aws_ssm_parameter"]
        assert json.loads(param["value"]) == {
            "alarm": "appmon-throttles", "link": "https://r.example.com/throttles", "service": "checkout", "on_failure": "stop",
            "steps": [{"type": "notify"}, {"type": "start_automation", "document": "AWS-RestartEC2Instance",
                                           "parameters": {"InstanceId": ["i-123"]}}]}
        assert "aws_api_gateway_rest_api" not in types and "aws_cloudwatch_dashboard" in types
