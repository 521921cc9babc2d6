"""Local credentials derived from what the module deployed, for a moto that enforces IAM.

Role credentials are not to be had from moto under enforcement (sts:AssumeRole failed, see
docs/e2e.md), so each function runs as a local IAM user that holds its role's statements, made
enforceable by moto through the one table in `iam_map`. The statements are read back from the
applied role (GetFunction -> Role -> inline and attached policies), never retyped here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from . import iam_map
from .moto_server import Creds, MotoServer

LOCAL_USER_PREFIX = "local-"  # users the harness makes (never the module's)


def _doc(raw) -> dict:
    """IAM returns documents URL-encoded JSON (boto3 decodes most; moto sometimes not)."""
    if isinstance(raw, dict):
        return raw
    return json.loads(unquote(raw) if raw.lstrip().startswith("%") else raw)


def role_documents(iam, role_name: str) -> dict[str, dict]:
    """Every policy document of a role: inline by name, attached by ARN (default version)."""
    docs = {}
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        docs[f"inline:{name}"] = _doc(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"])
    for att in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        pol = iam.get_policy(PolicyArn=att["PolicyArn"])["Policy"]
        ver = iam.get_policy_version(PolicyArn=att["PolicyArn"], VersionId=pol["DefaultVersionId"])
        docs[att["PolicyArn"]] = _doc(ver["PolicyVersion"]["Document"])
    return docs


def user_documents(iam, user_name: str) -> list[dict]:
    docs = [_doc(iam.get_user_policy(UserName=user_name, PolicyName=n)["PolicyDocument"])
            for n in iam.list_user_policies(UserName=user_name)["PolicyNames"]]
    for att in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]:
        pol = iam.get_policy(PolicyArn=att["PolicyArn"])["Policy"]
        docs.append(_doc(iam.get_policy_version(PolicyArn=att["PolicyArn"], VersionId=pol["DefaultVersionId"])
                         ["PolicyVersion"]["Document"]))
    return docs


def make_user(moto: MotoServer, name: str, policy: dict) -> Creds:
    """An IAM user with one inline policy and an access key (kept in moto.keys)."""
    iam = moto.client("iam")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="local", PolicyDocument=json.dumps(policy))
    return moto.remember(iam.create_access_key(UserName=name)["AccessKey"])


@dataclass
class FunctionIdentity:
    function: str
    role: str
    creds: Creds
    policy: dict  # what the local user holds
    role_actions: list[str] = field(default_factory=list)  # as the role grants them
    notes: list[str] = field(default_factory=list)  # what the mapping changed


def function_user(moto: MotoServer, function_name: str) -> FunctionIdentity:
    """Read the function's role back from moto and make the user the function runs as."""
    cfg = moto.client("lambda").get_function(FunctionName=function_name)["Configuration"]
    role = cfg["Role"].rsplit("/", 1)[-1]
    docs = role_documents(moto.client("iam"), role)
    policy, notes = iam_map.local_policy(list(docs.values()))
    actions = sorted({a for d in docs.values() for st in iam_map._as_list(d.get("Statement", []))
                      if st.get("Effect") == "Allow" for a in iam_map._as_list(st.get("Action", []))})
    user = LOCAL_USER_PREFIX + re.sub(r"[^\w+=,.@-]", "-", function_name)[:64 - len(LOCAL_USER_PREFIX)]
    creds = make_user(moto, user, policy)
    return FunctionIdentity(function_name, role, creds, policy, actions, notes)


def is_access_denied(text: str) -> bool:
    """moto's and AWS's wording for an authorisation failure, as a function would log it."""
    return bool(re.search(r"AccessDenied|not authorized to perform|InvalidClientTokenId|SignatureDoesNotMatch",
                          text))


def delete_local_users(moto: MotoServer) -> None:
    """Remove the users the harness made (not the administrator, which the harness still uses)."""
    iam = moto.client("iam")
    for u in iam.list_users()["Users"]:
        name = u["UserName"]
        if not name.startswith(LOCAL_USER_PREFIX) or (moto.admin and name == moto.admin["UserName"]):
            continue
        for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=name, AccessKeyId=k["AccessKeyId"])
            moto.keys.pop(k["AccessKeyId"], None)
        for p in iam.list_user_policies(UserName=name)["PolicyNames"]:
            iam.delete_user_policy(UserName=name, PolicyName=p)
        iam.delete_user(UserName=name)


def _refused(call) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as e:
        err = e.response.get("Error", {})
        return e.response["ResponseMetadata"].get("HTTPStatusCode") == 403 or "AccessDenied" in (err.get("Code") or "")
    return False


def probe_outside(moto: MotoServer, ident: FunctionIdentity, table: str) -> tuple[list[str], list[str]]:
    """Calls the function's role does not grant, made with its local key: each must be refused.
    Only harmless calls (a read, a delete of a key that does not exist). Returns (refused, problems)."""
    import fnmatch

    ddb, iam = moto.client("dynamodb", ident.creds), moto.client("iam", ident.creds)
    probes = {
        "dynamodb:Scan": lambda: ddb.scan(TableName=table, Limit=1),
        "dynamodb:DeleteItem": lambda: ddb.delete_item(
            TableName=table, Key={"ServiceName": {"S": "#probe#absent"}, "Timestamp": {"S": "1970-01-01T00:00:00Z"}}),
        "iam:ListUsers": lambda: iam.list_users(),
    }
    refused, problems = [], []
    for action, call in probes.items():
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in ident.role_actions):
            continue  # granted by the role: not a probe of something outside it
        if _refused(call):
            refused.append(action.split(":", 1)[1])
        else:
            problems.append(f"{ident.function}: {action} is not in role {ident.role} but moto allowed it "
                            f"to {ident.creds['UserName']}")
    return refused, problems
