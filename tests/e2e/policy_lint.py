"""Every policy document of the applied stack through `parliament` (PyPI, offline).

Gathered from the deployed resources, not from the Terraform source: each role's trust policy,
inline and attached policies (AWS-managed ones included: the role grants what they say), the KMS
key policies, the SNS topic policies, the S3 bucket policies, SQS queue policies and the Lambda
functions' resource policies. parliament checks identity and resource policies alike (a statement
with a Principal is a resource-policy statement), with its community auditors on.

A finding fails the step unless ACCEPTED lists it with its reason; docs/security.md,
"Policy lint (parliament)", mirrors ACCEPTED (tests/e2e/test_policy_lint.py checks the mirror).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

INSTALL_HINT = ("parliament is missing from this Python: `./just tools` installs tools/requirements.txt "
                "into .tools/venv (or `pip install parliament==1.6.4`).")
MIN_SEVERITY = "LOW"  # parliament's CLI default: INFO is advice, LOW and above are findings
SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]

# (issue, regex over the policy's name as `gather` spells it) -> why the finding is accepted.
# Keep in step with docs/security.md, "Policy lint (parliament)".
ACCEPTED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Document:
    name: str  # e.g. "role appmon-local-log-processor inline:logs" or "bucket policy appmon-..."
    policy: dict


@dataclass(frozen=True)
class Finding:
    document: str
    issue: str
    severity: str
    detail: str
    location: str

    def __str__(self) -> str:
        return f"{self.document}: {self.issue} ({self.severity}) {self.detail} {self.location}".strip()


def _json(raw) -> dict:
    from urllib.parse import unquote

    if isinstance(raw, dict):
        return raw
    return json.loads(unquote(raw) if raw.lstrip().startswith("%") else raw)


def gather(aws) -> list[Document]:
    """Every policy document of the stack in the emulator (`aws(service)` -> boto3 client)."""
    from . import local_iam

    docs: list[Document] = []
    iam = aws("iam")
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        docs.append(Document(f"role {name} trust policy", _json(role["AssumeRolePolicyDocument"])))
        for key, doc in local_iam.role_documents(iam, name).items():
            docs.append(Document(f"role {name} {key}", doc))
    kms = aws("kms")
    for k in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") == "CUSTOMER" and meta.get("KeyState") != "PendingDeletion":
            docs.append(Document(f"kms key {k['KeyId']} key policy",
                                 _json(kms.get_key_policy(KeyId=k["KeyId"], PolicyName="default")["Policy"])))
    sns = aws("sns")
    for t in sns.list_topics()["Topics"]:
        policy = sns.get_topic_attributes(TopicArn=t["TopicArn"])["Attributes"].get("Policy")
        if policy:
            docs.append(Document(f"topic {t['TopicArn'].rsplit(':', 1)[-1]} policy", _json(policy)))
    s3 = aws("s3")
    for b in s3.list_buckets()["Buckets"]:
        try:
            docs.append(Document(f"bucket {b['Name']} policy", _json(s3.get_bucket_policy(Bucket=b["Name"])["Policy"])))
        except s3.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchBucketPolicy":
                raise
    sqs = aws("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
        if policy:
            docs.append(Document(f"queue {url.rsplit('/', 1)[-1]} policy", _json(policy)))
    lam = aws("lambda")
    for fn in lam.list_functions()["Functions"]:
        try:
            policy = lam.get_policy(FunctionName=fn["FunctionName"])["Policy"]
        except lam.exceptions.ResourceNotFoundException:
            continue
        docs.append(Document(f"function {fn['FunctionName']} resource policy", _json(policy)))
    return docs


def lint(docs: list[Document]) -> list[Finding]:
    """parliament's findings at MIN_SEVERITY and above, as its CLI reports them."""
    try:
        import parliament
        from parliament.cli import is_finding_filtered
    except ImportError as e:
        raise RuntimeError(f"{INSTALL_HINT} ({e})") from e
    from pathlib import Path

    # What the CLI's --include-community-auditors does: load their finding definitions too.
    parliament.override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
    out = []
    for d in docs:
        policy = parliament.analyze_policy_string(json.dumps(d.policy), include_community_auditors=True)
        for f in policy.findings:
            f = parliament.enhance_finding(f)
            if is_finding_filtered(f, MIN_SEVERITY):
                continue
            loc = {k: v for k, v in (f.location or {}).items() if k not in ("line", "column", "filepath")}
            out.append(Finding(d.name, f.issue, f.severity, str(f.detail or ""), json.dumps(loc, sort_keys=True)
                               if loc else ""))
    return out


def accepted_reason(f: Finding) -> str | None:
    for (issue, where), reason in ACCEPTED.items():
        if issue == f.issue and re.search(where, f.document):
            return reason
    return None


def check(aws) -> tuple[list[Document], list[Finding], list[Finding]]:
    """(documents, accepted findings, findings that fail)."""
    docs = gather(aws)
    findings = lint(docs)
    ok = [f for f in findings if accepted_reason(f)]
    return docs, ok, [f for f in findings if not accepted_reason(f)]
