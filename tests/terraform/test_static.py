"""Rules a Terraform user expects of the module, checked on the committed files themselves."""

import re

import pytest

import tools

TF_FILES = sorted(tools.MODULE.rglob("*.tf"))
MODULE_DIRS = [tools.MODULE] + sorted(p for p in (tools.MODULE / "modules").iterdir() if p.is_dir())


def blocks(text: str, kind: str):
    """(label, body) of each top-level `kind "label" {...}` block (generated layout: body ends at a `}` line)."""
    for m in re.finditer(rf'^{kind} "([^"]+)" {{\n(.*?)^}}\n', text, re.M | re.S):
        yield m.group(1), m.group(2)


def test_module_exists():
    assert TF_FILES, "terraform/ is empty: run `cargo run -p monitoring-gen -- terraform`"
    names = {p.name for p in (tools.MODULE / "modules").iterdir()}
    assert {"kms", "storage", "functions", "api", "alerting", "alarms", "dashboard", "runbooks"} <= names


def test_fmt_clean():
    proc = tools.terraform(["fmt", "-check", "-recursive", "-diff", "-no-color", "terraform", "examples"], tools.REPO, check=False)
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("path", TF_FILES, ids=lambda p: str(p.relative_to(tools.MODULE)))
def test_no_provider_blocks(path):
    assert not re.search(r'^\s*provider\s+"', path.read_text(), re.M), "modules must not configure providers"


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_versions_are_minimums(module):
    text = (module / "versions.tf").read_text()
    assert 'required_version = ">= 1.5"' in text
    assert re.search(r'source\s*=\s*"hashicorp/aws"', text)
    assert re.search(r'version\s*=\s*">= 5.0"', text)
    assert "~>" not in text and not re.search(r'version\s*=\s*"=?\s*\d', text), "pin-free minimums only"


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_every_variable_typed_and_described(module):
    found = list(blocks((module / "variables.tf").read_text(), "variable"))
    assert found, f"{module} declares no variables"
    for name, body in found:
        assert re.search(r"^  type\s+=", body, re.M), f"{module.name}: variable {name} has no type"
        assert re.search(r'^  description\s+=\s+"\S', body, re.M), f"{module.name}: variable {name} has no description"


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_validations_name_only_their_own_variable(module):
    """A validation that refers to another variable needs Terraform >= 1.9; the module promises
    >= 1.5, so cross-variable rules must be preconditions instead."""
    for path in module.glob("*.tf"):
        for name, body in blocks(path.read_text(), "variable"):
            for validation in re.findall(r"validation \{(.*?)\n  \}", body, re.S):
                others = set(re.findall(r"var\.([a-z0-9_]+)", validation)) - {name}
                assert not others, f"{path.name}: variable {name} validation refers to {sorted(others)}"


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_every_output_described(module):
    for name, body in blocks((module / "outputs.tf").read_text(), "output"):
        assert re.search(r'^  description\s+=\s+"\S', body, re.M), f"{module.name}: output {name} has no description"


def test_every_taggable_resource_is_tagged():
    """Resources whose AWS type takes tags set them (the plan test checks the values)."""
    untaggable = {
        "aws_s3_bucket_ownership_controls", "aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy", "aws_s3_bucket_notification", "aws_lambda_permission", "aws_kms_key_policy",
        "aws_kms_alias", "aws_iam_role_policy", "aws_lambda_function_event_invoke_config",
        "aws_sns_topic_subscription", "aws_api_gateway_request_validator", "aws_api_gateway_resource",
        "aws_api_gateway_method", "aws_api_gateway_integration", "aws_api_gateway_method_response",
        "aws_api_gateway_integration_response", "aws_api_gateway_deployment", "aws_api_gateway_method_settings",
        "aws_api_gateway_usage_plan_key", "aws_api_gateway_account", "aws_iam_role_policy_attachment",
        "aws_cloudwatch_dashboard", "aws_sns_topic_policy", "aws_api_gateway_gateway_response",
    }
    for path in TF_FILES:
        for m in re.finditer(r'^resource "([^"]+)" "([^"]+)" \{\n(.*?)^\}\n', path.read_text(), re.M | re.S):
            ty, name, body = m.groups()
            if ty in untaggable:
                continue
            assert re.search(r"^  tags\s+=", body, re.M), f"{path.relative_to(tools.MODULE)}: {ty}.{name} has no tags"
