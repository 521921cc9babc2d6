"""Every policy document of the applied stack through `parliament` (PyPI, offline).

Gathered from the deployed resources, not from the Terraform source: each role's inline and
attached policies (AWS-managed ones included: the role grants what they say), the KMS
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
KMS = r"^kms key \S+ key policy$"
TOPIC = r"^topic \S+ policy$"
BUCKET = r"^bucket \S+ policy$"
APIGW_LOGGING = r"^role \S+-apigateway-logging-\S+ arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs$"
ACCEPTED: dict[tuple[str, str], str] = {
    ("RESOURCE_STAR", APIGW_LOGGING):
        "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-managed policy API Gateway documents for its account-wide CloudWatch Logs role: the one role writes the execution and access logs of every REST API in the region, whose log groups the module cannot know, hence Resource \"*\" (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html)",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", KMS):
        "AccountAdministers (kms:* for the account root) is AWS's default key policy statement: it lets the "
        "account's IAM policies govern the key; without it the key cannot be managed at all "
        "(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)",
    ("RESOURCE_STAR", KMS):
        "in a key policy Resource \"*\" means this key; a key policy cannot name another resource "
        "(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html)",
    ("UNKNOWN_CONDITION_FOR_ACTION", KMS):
        "CloudWatchLogsEncryptLogGroups is CloudWatch Logs' documented key policy statement: kms:Describe* under "
        "kms:EncryptionContext:aws:logs:arn never matches (no encryption context) and so grants nothing "
        "(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)",
    ("MISMATCHED_TYPE", KMS):
        "ArnLike on kms:EncryptionContext:aws:logs:arn is what CloudWatch Logs documents for log-group "
        "encryption (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", TOPIC):
        "AccountManagesTopic gives the owning account sns:SetTopicAttributes (among the topic's own actions), as "
        "SNS's default topic policy does; only the account's IAM policies can use it "
        "(https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html)",
    ("MISMATCHED_TYPE", BUCKET):
        "DenyOutdatedTls compares s3:TlsVersion with \"1.2\": Terraform's aws_iam_policy_document renders every "
        "condition value as a JSON string and IAM reads numeric strings for Numeric operators, as in S3's own "
        "example (https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html)",
    ("UNKNOWN_CONDITION_FOR_ACTION", BUCKET):
        "the TLS Deny covers s3:* as S3's example does; parliament's catalogue lacks s3:TlsVersion for a few "
        "actions (InitiateReplication, PutAccessPointPublicAccessBlock), which DenyInsecureTransport still covers",
}


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
        # Not the trust policy: parliament demands a Resource in every statement, which a trust
        # policy never has (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html);
        # the terraform tests check the trust policies' principals.
        for key, doc in local_iam.role_documents(iam, name).items():
            docs.append(Document(f"role {name} {key}", doc))
    kms = aws("kms")
    for k in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]
        aliases = [a["AliasName"] for a in kms.list_aliases(KeyId=k["KeyId"]).get("Aliases", [])]
        # moto makes AWS-managed keys (alias/aws/dynamodb, ...) with KeyManager CUSTOMER and its
        # own default policy: not the module's.
        aws_managed = meta.get("KeyManager") == "AWS" or (aliases and all(a.startswith("alias/aws/") for a in aliases))
        if not aws_managed and meta.get("KeyState") != "PendingDeletion":
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
            finding = Finding(d.name, f.issue, f.severity, str(f.detail or ""),
                              json.dumps(loc, sort_keys=True) if loc else "")
            if finding not in out:  # parliament repeats a finding per expanded action
                out.append(finding)
    return out


def accepted_reason(f: Finding) -> str | None:
    for (issue, where), reason in ACCEPTED.items():
        if issue == f.issue and re.search(where, f.document):
            return reason
    return None


def check(aws, save_to=None) -> tuple[list[Document], list[Finding], list[Finding]]:
    """(documents, accepted findings, findings that fail); the documents are written to `save_to`."""
    docs = gather(aws)
    if save_to is not None:
        save_to.write_text(json.dumps({d.name: d.policy for d in docs}, indent=2, sort_keys=True))
    findings = lint(docs)
    ok = [f for f in findings if accepted_reason(f)]
    return docs, ok, [f for f in findings if not accepted_reason(f)]
