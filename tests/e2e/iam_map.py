"""The one table from AWS IAM actions to the names moto's enforcement checks, and what moto scopes.

moto (5.2.5, server run with INITIAL_NO_AUTH_ACTION_COUNT) authorises a request by the name
`<SigV4 signing name>:<operation name>`, taken from the request's credential scope and its
operation, against a resource that is `*` for every service but a few. AWS checks IAM actions as the
Service Authorization Reference lists them, against the real resource ARN, with conditions.
To run each function with the permissions the module gave its role, the harness copies the role's
statements onto a local IAM user, with every action expanded by this table and, where moto checks
only `*`, the resources widened to `*`.

Measured with moto 5.2.5 (tests/e2e/test_local_iam.py re-measures each point on every run):
  - `dynamodb:PutItem` + `UpdateItem` + `ConditionCheckItem` + `GetItem` on `*`: PutItem allowed,
    TransactWriteItems and TransactGetItems denied ("not authorized to perform:
    dynamodb:TransactWriteItems"), DeleteItem and Scan denied;
  - `dynamodb:PutItem` on the table's ARN: denied (moto checks the resource `*`); likewise
    `sns:Publish` on the topic's ARN;
  - `s3:GetObject` on `arn:aws:s3:::<bucket>/logs/*`: GetObject and HeadObject of `logs/a` allowed,
    GetObject of `other/a` and PutObject of `logs/z` denied: S3 object and bucket ARNs *are* matched;
  - `cloudwatch:PutMetricData`: denied; `monitoring:PutMetricData`: allowed (the signing name);
  - a Condition (`aws:RequestedRegion` = another region, `aws:SecureTransport` = true over HTTP) did
    not stop an Allow: conditions are not evaluated; a Deny on a table ARN did not stop a Scan.
So locally: actions are enforced per operation; resources only for S3 (and SQS, which moto also
scopes); conditions never. docs/e2e.md says how the rest is checked.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

# "Using IAM with DynamoDB transactions"; the Service Authorization Reference for DynamoDB
# (list_amazondynamodb.html) lists no TransactWriteItems/TransactGetItems action.
DDB_TX = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html"


@dataclass(frozen=True)
class Row:
    aws: str  # the IAM action AWS checks (Service Authorization Reference spelling)
    moto: tuple[str, ...]  # the names moto checks for calls that AWS authorises with `aws`
    reason: str
    doc: str


# Extra names an AWS action must carry locally. An action not listed here keeps its own name
# (after the prefix rename below), which is right for every other operation the functions call:
# moto's operation names equal AWS's action names there (GetItem, Query, BatchGetItem,
# DescribeTable, GetObject, GetObjectVersion, Publish, GetParameter, GetMetricData, ...).
ROWS: tuple[Row, ...] = (
    Row("dynamodb:PutItem", ("dynamodb:TransactWriteItems",),
        "AWS authorises each Put of a TransactWriteItems call with dynamodb:PutItem; "
        "TransactWriteItems is no IAM action, moto checks it as one", DDB_TX),
    Row("dynamodb:UpdateItem", ("dynamodb:TransactWriteItems",),
        "each Update of a TransactWriteItems call is authorised with dynamodb:UpdateItem", DDB_TX),
    Row("dynamodb:DeleteItem", ("dynamodb:TransactWriteItems",),
        "each Delete of a TransactWriteItems call is authorised with dynamodb:DeleteItem", DDB_TX),
    Row("dynamodb:ConditionCheckItem", ("dynamodb:TransactWriteItems",),
        "each ConditionCheck of a TransactWriteItems call is authorised with dynamodb:ConditionCheckItem",
        DDB_TX),
    Row("dynamodb:GetItem", ("dynamodb:TransactGetItems",),
        "each Get of a TransactGetItems call is authorised with dynamodb:GetItem", DDB_TX),
    Row("dynamodb:PartiQLSelect", ("dynamodb:ExecuteStatement", "dynamodb:BatchExecuteStatement"),
        "PartiQL statements are authorised per statement kind (PartiQLSelect/Insert/Update/Delete)",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html"),
    Row("dynamodb:PartiQLInsert", ("dynamodb:ExecuteStatement", "dynamodb:BatchExecuteStatement"),
        "as PartiQLSelect", "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html"),
    Row("dynamodb:PartiQLUpdate", ("dynamodb:ExecuteStatement", "dynamodb:BatchExecuteStatement"),
        "as PartiQLSelect", "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html"),
    Row("dynamodb:PartiQLDelete", ("dynamodb:ExecuteStatement", "dynamodb:BatchExecuteStatement"),
        "as PartiQLSelect", "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-iam.html"),
    Row("s3:ListBucket", ("s3:HeadBucket",),
        "HeadBucket needs s3:ListBucket in AWS; moto checks the operation name HeadBucket",
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html"),
)

# IAM service prefix -> the SigV4 signing name moto puts in front of the operation (it reads the
# credential scope). Only where they differ.
PREFIX: dict[str, str] = {
    # CloudWatch's IAM prefix is `cloudwatch`
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html);
    # its endpoint signs as `monitoring` (botocore service model signingName).
    "cloudwatch": "monitoring",
}

# Services whose requests moto checks against a real resource ARN (measured for S3; moto's SQS
# responses resolve the queue ARN the same way). Everywhere else the resource moto checks is `*`,
# so a statement scoped to an ARN would deny everything: its resources are widened to `*`.
RESOURCE_SCOPED = {"s3", "sqs"}


def moto_actions(action: str) -> list[str]:
    """The names moto must allow for everything AWS allows with `action` (may hold wildcards)."""
    if action == "*":
        return ["*"]
    prefix, _, name = action.partition(":")
    out = [f"{PREFIX.get(prefix.lower(), prefix)}:{name}"]
    for row in ROWS:  # IAM action names are case-insensitive; wildcards match like IAM's
        if fnmatch.fnmatchcase(row.aws.lower(), action.lower()):
            out.extend(m for m in row.moto if m not in out)
    return out


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def local_statement(stmt: dict) -> tuple[dict, list[str]]:
    """One statement of the role as moto can enforce it, and what was changed (for the notes)."""
    changes = []
    key = "NotAction" if "NotAction" in stmt else "Action"
    actions: list[str] = []
    for a in _as_list(stmt.get(key, [])):
        for m in moto_actions(a):
            if m not in actions:
                actions.append(m)
    extra = [a for a in actions if a not in _as_list(stmt.get(key, []))]
    if extra:
        changes.append(f"+{','.join(extra)}")
    services = {a.split(":", 1)[0].lower() for a in _as_list(stmt.get(key, []))}
    resources = _as_list(stmt.get("Resource", "*"))
    if "NotResource" in stmt or (resources != ["*"] and not services <= RESOURCE_SCOPED):
        resources = ["*"]
        changes.append("Resource->*")
    out = {"Effect": stmt["Effect"], key: actions, "Resource": resources}
    if "Condition" in stmt:
        changes.append("Condition dropped")
    return out, changes


def local_policy(documents: list[dict]) -> tuple[dict, list[str]]:
    """The role's policy documents merged into one document for the function's local user."""
    statements, notes = [], []
    for doc in documents:
        for stmt in _as_list(doc.get("Statement", [])):
            local, changes = local_statement(stmt)
            if local not in statements:
                statements.append(local)
            if changes:
                what = stmt.get("Sid") or ",".join(_as_list(stmt.get("Action", stmt.get("NotAction", []))))[:60]
                notes.append(f"{what}: {'; '.join(changes)}")
    return {"Version": "2012-10-17", "Statement": statements}, notes
