"""What API Gateway checks before a REST method reaches its integration: API keys and IAM (SigV4).

Read from the deployed API in moto (each method's `apiKeyRequired` and `authorizationType`, the
enabled keys of the usage plans attached to the stage); callers' secrets are the keys the harness
made (IAM never returns a secret again). The signature is recomputed here with botocore's SigV4
over exactly the headers the caller says it signed and the body actually received: nothing the
client sends about its own signature is trusted.

AWS behaviour emulated, with its source:
  - API keys: a method with apiKeyRequired answers 403 {"message": "Forbidden"} (INVALID_API_KEY)
    unless `x-api-key` is an enabled key of a usage plan attached to the API stage.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
  - AWS_IAM: no Authorization header -> 403 "Missing Authentication Token"
    (MISSING_AUTHENTICATION_TOKEN); a signature that does not verify -> 403 INVALID_SIGNATURE
    "The request signature we calculated does not match ..."; an unknown access key -> 403
    "The security token included in the request is invalid."; a timestamp more than 5 minutes
    off -> 403 "Signature expired"; a caller whose policies do not allow execute-api:Invoke on the
    method's ARN -> 403 ACCESS_DENIED "User: ... is not authorized to perform: execute-api:Invoke".
    https://docs.aws.amazon.com/apigateway/latest/developerguide/permissions.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-troubleshooting.html
  - The caller's identity policy is evaluated for the action and the method's resource ARN
    (arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>) with IAM's wildcards,
    an explicit Deny winning. Conditions, permission boundaries, SCPs and a resource policy on the
    API are not evaluated (the module attaches none).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
SERVICE = "execute-api"
MAX_SKEW = timedelta(minutes=5)

MSG_FORBIDDEN = {"message": "Forbidden"}
MSG_MISSING_TOKEN = {"message": "Missing Authentication Token"}
MSG_BAD_SIGNATURE = {"message": "The request signature we calculated does not match the signature you provided. "
                                "Check your AWS Secret Access Key and signing method. "
                                "Consult the service documentation for details."}
MSG_UNKNOWN_KEY = {"message": "The security token included in the request is invalid."}


@dataclass
class MethodAuth:
    api_key_required: bool = False
    authorization: str = "NONE"  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS


@dataclass
class Denied:
    status: int
    body: dict
    response_type: str  # the gateway response type, for its headers (e.g. CORS)


@dataclass
class Caller:
    access_key: str
    user_name: str
    user_arn: str
    user_id: str


@dataclass
class GatewayAuth:
    """Everything the gateway needs besides the request, as callables over moto and the harness:
    `secret_of(key_id)` -> (secret, user name) for a key the harness made, else None;
    `user_info(user_name, key_id)` -> (user ARN, user id) while the user and that key are active;
    `policies(user_name)` -> the user's policy documents."""
    api_id: str
    stage: str
    api_keys: set[str] = field(default_factory=set)
    secret_of: object = None
    user_info: object = None
    policies: object = None
    region: str = REGION
    account: str = ACCOUNT_ID
    now: object = None  # clock for tests

    def check(self, auth: MethodAuth, method: str, path: str, raw_path: str, headers: list[tuple[str, str]],
              body: bytes | None) -> tuple[Denied | None, Caller | None]:
        """None when API Gateway would pass the request on (with the IAM caller, if any)."""
        caller = None
        if auth.authorization == "AWS_IAM":
            denied, caller = self._check_iam(method, path, raw_path, headers, body or b"")
            if denied:
                return denied, None
        if auth.api_key_required:
            key = next((v for k, v in headers if k.lower() == "x-api-key"), None)
            if key is None or key not in self.api_keys:
                return Denied(403, MSG_FORBIDDEN, "INVALID_API_KEY"), None
        return None, caller

    def method_arn(self, method: str, path: str) -> str:
        return f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}/{self.stage}/{method}{path}"

    def _check_iam(self, method, path, raw_path, headers, body):
        hdr = {}
        for k, v in headers:
            hdr.setdefault(k.lower(), []).append(v)
        authz = (hdr.get("authorization") or [None])[0]
        if not authz:
            return Denied(403, MSG_MISSING_TOKEN, "MISSING_AUTHENTICATION_TOKEN"), None
        m = re.fullmatch(r"AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                         r"SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})\s*", authz)
        if not m:
            return Denied(403, {"message": f"Authorization header requires 'Credential', 'Signature' and "
                                           f"'SignedHeaders' parameters. Authorization={authz}"},
                          "INCOMPLETE_SIGNATURE"), None
        key_id, day, region, service, signed, signature = m.groups()
        if service != SERVICE or region != self.region:
            return Denied(403, {"message": f"Credential should be scoped to correct service: '{SERVICE}'."
                                if service != SERVICE else
                                f"Credential should be scoped to a valid region, not '{region}'."},
                          "INVALID_SIGNATURE"), None
        secret, user_name = (self.secret_of(key_id) if self.secret_of else None) or (None, None)
        info = self.user_info(user_name, key_id) if secret else None
        if not info:
            return Denied(403, MSG_UNKNOWN_KEY, "UNRECOGNIZED_CLIENT"), None
        amz_date = (hdr.get("x-amz-date") or [""])[0]
        try:
            stamp = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return Denied(403, MSG_BAD_SIGNATURE, "INVALID_SIGNATURE"), None
        now = (self.now or (lambda: datetime.now(timezone.utc)))()
        if abs(now - stamp) > MAX_SKEW:
            return Denied(403, {"message": f"Signature expired: {amz_date} is now earlier than "
                                           f"{(now - MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} - 5 min.)"}
                          if stamp < now else
                          {"message": f"Signature not yet current: {amz_date} is still later than "
                                      f"{(now + MAX_SKEW):%Y%m%dT%H%M%SZ} ({now:%Y%m%dT%H%M%SZ} + 5 min.)"},
                          "INVALID_SIGNATURE"), None
        if day != amz_date[:8] or not _signature_ok(method, raw_path, hdr, signed.split(";"), body,
                                                    key_id, secret, region, amz_date, signature):
            return Denied(403, MSG_BAD_SIGNATURE, "INVALID_SIGNATURE"), None
        arn, user_id = info
        caller = Caller(key_id, user_name, arn, user_id)
        resource = self.method_arn(method, path)
        if not _allows(self.policies(user_name) if self.policies else [], "execute-api:Invoke", resource):
            return Denied(403, {"Message": f"User: {arn} is not authorized to perform: execute-api:Invoke "
                                           f"on resource: {resource}"}, "ACCESS_DENIED"), None
        return None, caller


class _ExactSigV4(SigV4Auth):
    """botocore's SigV4, canonicalising exactly the headers the caller listed as signed (botocore's
    signer would drop some, e.g. User-Agent, and add Host)."""

    def __init__(self, creds, region, signed: list[str]):
        super().__init__(creds, SERVICE, region)
        self._signed = signed

    def headers_to_sign(self, request):
        out = HTTPHeaders()
        for name in self._signed:
            for v in request.headers.get_all(name) or []:
                out[name] = v
        return out


def _signature_ok(method, raw_path, hdr, signed, body, key_id, secret, region, amz_date, signature) -> bool:
    if "host" not in signed or any(name not in hdr for name in signed):
        return False
    body_hash = hashlib.sha256(body).hexdigest()
    claimed = (hdr.get("x-amz-content-sha256") or [None])[0]
    if claimed is not None and claimed != body_hash:  # never take the client's word for the body
        return False
    req = AWSRequest(method=method, url=raw_path, data=body)
    req.headers = HTTPHeaders()
    for name in signed:
        for v in hdr[name]:
            req.headers[name] = v
    req.context["timestamp"] = amz_date
    auth = _ExactSigV4(Credentials(key_id, secret), region, signed)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    return hmac.compare_digest(expected, signature)


def _match(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)  # IAM wildcards: * any run, ? one character


def _allows(documents: list[dict], action: str, resource: str) -> bool:
    """Identity-policy evaluation, action and resource (IAM: explicit Deny > Allow > implicit deny).
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    def hits(st) -> bool:
        acts = st.get("Action", st.get("NotAction", []))
        acts = acts if isinstance(acts, list) else [acts]
        act = any(_match(a.lower(), action.lower()) for a in acts)
        if "NotAction" in st:
            act = not act
        res = st.get("Resource", st.get("NotResource", "*"))
        res = res if isinstance(res, list) else [res]
        r = any(_match(x, resource) for x in res)
        if "NotResource" in st:
            r = not r
        return act and r

    allowed = False
    for doc in documents:
        sts = doc.get("Statement", [])
        for st in sts if isinstance(sts, list) else [sts]:
            if hits(st):
                if st.get("Effect") == "Deny":
                    return False
                allowed = True
    return allowed


def sign(method: str, url: str, creds, body: bytes | None = None, headers: dict | None = None,
         region: str = REGION) -> dict:
    """Headers for a SigV4-signed `execute-api` request (what an AWS SDK or `curl --aws-sigv4` sends)."""
    req = AWSRequest(method=method, url=url, data=body or b"", headers=dict(headers or {}))
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"]), SERVICE, region).add_auth(req)
    return dict(req.headers.items())


def from_moto(moto, api_id: str, stage: str) -> GatewayAuth:
    """The stage's usable API keys and the callers' secrets, read from moto and the harness."""
    from . import local_iam

    apigw, iam = moto.client("apigateway"), moto.client("iam")
    keys: set[str] = set()
    for plan in apigw.get_usage_plans().get("items", []):
        if not any(s.get("apiId") == api_id and s.get("stage") == stage for s in plan.get("apiStages", [])):
            continue
        for k in apigw.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", []):
            key = apigw.get_api_key(apiKey=k["id"], includeValue=True)
            if key.get("enabled") and key.get("value"):
                keys.add(key["value"])

    def secret_of(key_id):  # moto.keys is live: keys made after the front started count
        c = moto.keys.get(key_id)
        return (c.secret, c["UserName"]) if c else None

    def user_info(name, key_id):
        try:
            u = iam.get_user(UserName=name)["User"]
            active = {k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
                      if k.get("Status") == "Active"}
        except iam.exceptions.NoSuchEntityException:
            return None
        return (u["Arn"], u["UserId"]) if key_id in active else None

    return GatewayAuth(api_id, stage, keys, secret_of, user_info,
                       policies=lambda name: local_iam.user_documents(iam, name))
