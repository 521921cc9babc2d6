"""The HTTP front builds REST v1 proxy events as API Gateway does and maps responses back."""

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from .apigw_front import ApiFront, Route
from .gateway_auth import GatewayAuth, MethodAuth, sign
from .runtime_api import LambdaFunction

BOOT = Path(__file__).parent / "fixtures" / "py_bootstrap.py"
WRITER = {"AccessKeyId": "AKIAWRITER0000000001", "SecretAccessKey": "s3cr3t/writer+key0000000000000000000000"}
READER = {"AccessKeyId": "AKIAREADER0000000002", "SecretAccessKey": "s3cr3t/reader+key0000000000000000000000"}
USERS = {  # user name -> (ARN, id, policy documents)
    "writer": ("arn:aws:iam::123456789012:user/writer", "AIDAWRITER", [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:abc123/v1/POST/*"}]}]),
    "reader": ("arn:aws:iam::123456789012:user/reader", "AIDAREADER", [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}]}]),
}
KEYS = {WRITER["AccessKeyId"]: (WRITER["SecretAccessKey"], "writer"),
        READER["AccessKeyId"]: (READER["SecretAccessKey"], "reader")}


def gateway(**kw) -> GatewayAuth:
    return GatewayAuth("abc123", "v1", {"k1"}, secret_of=KEYS.get,
                       user_info=lambda name, key_id: USERS[name][:2] if name in USERS else None,
                       policies=lambda name: USERS[name][2], **kw)


@pytest.fixture
def front(tmp_path):
    with LambdaFunction("api-fn", BOOT, {}, tmp_path) as fn:
        routes = [Route("/metrics", {"GET": "lambda", "POST": "lambda",
                                     "OPTIONS": {"mock": {"Access-Control-Allow-Origin": "*"}}},
                        auth={"GET": MethodAuth(api_key_required=True), "POST": MethodAuth(authorization="AWS_IAM")}),
                  Route("/items/{id}", {"GET": "lambda"}), Route("/teapot", {"GET": "lambda"})]
        f = ApiFront(fn, routes, "v1", "abc123", gateway=gateway(),
                     response_headers={"DEFAULT_4XX": [("Access-Control-Allow-Origin", "*")]})
        yield f
        f.close()


def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_get_with_repeated_query_params(front):
    status, headers, body = call(front.url + "/metrics?service=a&service=b&stat=p99", headers={"X-Api-Key": "k1"})
    ev = json.loads(body)
    assert status == 200
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert ev["resource"] == "/metrics" and ev["path"] == "/metrics" and ev["httpMethod"] == "GET"
    assert ev["queryStringParameters"] == {"service": "b", "stat": "p99"}
    assert ev["multiValueQueryStringParameters"] == {"service": ["a", "b"], "stat": ["p99"]}
    assert ev["pathParameters"] is None and ev["stageVariables"] is None
    assert ev["body"] is None and ev["isBase64Encoded"] is False
    rc = ev["requestContext"]
    assert rc["stage"] == "v1" and rc["apiId"] == "abc123" and rc["resourcePath"] == "/metrics"
    assert rc["identity"]["sourceIp"] == "127.0.0.1" and rc["identity"]["apiKey"] == "k1"
    assert rc["path"] == "/v1/metrics" and rc["requestTimeEpoch"] > 1_600_000_000_000


def signed(url, creds=WRITER, body=b'{"x": 1}', headers=None, method="POST"):
    return sign(method, url, creds, body, headers or {"Content-Type": "application/json"})


def test_post_body_and_path_parameters(front):
    url = front.url + "/metrics"
    _, _, body = call(url, "POST", b'{"x": 1}', signed(url))
    ev = json.loads(body)
    assert ev["body"] == '{"x": 1}' and ev["headers"]["Content-Type"] == "application/json"
    ident = ev["requestContext"]["identity"]
    assert (ident["accessKey"], ident["userArn"], ident["caller"]) == (WRITER["AccessKeyId"], USERS["writer"][0],
                                                                       "AIDAWRITER")
    _, _, body = call(front.url + "/items/42")
    assert json.loads(body)["pathParameters"] == {"id": "42"}


def test_binary_body_is_base64(front):
    url = front.url + "/metrics"
    _, _, body = call(url, "POST", b"\xff\xfe", signed(url, body=b"\xff\xfe", headers={}))
    ev = json.loads(body)
    assert ev["isBase64Encoded"] is True and ev["body"] == "//4="


def test_status_from_function_and_gateway_answers(front):
    assert call(front.url + "/teapot")[0] == 418
    assert call(front.url + "/nope")[0] == 403  # no such resource: "Missing Authentication Token"
    assert call(front.url + "/teapot", "DELETE")[0] == 403
    status, headers, _ = call(front.url + "/metrics", "OPTIONS")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"


def test_literal_paths_and_methods_win_over_proxy_and_any(tmp_path):
    """API Gateway prefers a literal resource over `{proxy+}` and a declared method over `ANY`, in
    whatever order the resources were created (here the greedy one first, as moto may list it)."""
    with LambdaFunction("api-fn", BOOT, {}, tmp_path) as fn:
        routes = [Route("/{proxy+}", {"ANY": "lambda"}), Route("/", {"ANY": "lambda"}),
                  Route("/metrics", {"ANY": "lambda", "GET": "lambda"},
                        auth={"GET": MethodAuth(api_key_required=True)})]
        f = ApiFront(fn, routes, "v1", "abc123", gateway=gateway())
        try:
            ev = json.loads(call(f.url + "/metrics", headers={"X-Api-Key": "k1"})[2])
            assert (ev["resource"], ev["httpMethod"], ev["pathParameters"]) == ("/metrics", "GET", None)
            assert call(f.url + "/metrics")[0] == 403, "GET keeps its own method's API key requirement"
            ev = json.loads(call(f.url + "/metrics", "DELETE")[2])
            assert (ev["resource"], ev["httpMethod"]) == ("/metrics", "DELETE")
            ev = json.loads(call(f.url + "/a/b?x=1")[2])
            assert (ev["resource"], ev["path"], ev["pathParameters"]) == ("/{proxy+}", "/a/b", {"proxy": "a/b"})
            assert json.loads(call(f.url)[2])["resource"] == "/"
        finally:
            f.close()


def refused(status_headers_body, status, message):
    st, headers, body = status_headers_body
    doc = json.loads(body)
    assert st == status and (doc.get("message") or doc.get("Message", "")).startswith(message), (st, doc)
    assert headers["Access-Control-Allow-Origin"] == "*"  # the API's DEFAULT_4XX gateway response headers
    return doc


def test_api_key_required_per_method(front):
    url = front.url + "/metrics?service=a"
    refused(call(url), 403, "Forbidden")
    refused(call(url, headers={"x-api-key": "not-a-key"}), 403, "Forbidden")
    assert call(url, headers={"x-api-key": "k1"})[0] == 200
    assert call(front.url + "/teapot")[0] == 418  # no key needed where the method requires none


def test_iam_method_refuses_unsigned_and_badly_signed(front):
    url = front.url + "/metrics"
    refused(call(url, "POST", b"{}", {"x-api-key": "k1"}), 403, "Missing Authentication Token")
    h = signed(url)
    refused(call(url, "POST", b'{"x": 2}', h), 403, "The request signature we calculated does not match")
    wrong = {**WRITER, "SecretAccessKey": "guessed" * 5}
    refused(call(url, "POST", b'{"x": 1}', signed(url, wrong)), 403, "The request signature we calculated")
    unknown = {**WRITER, "AccessKeyId": "AKIAUNKNOWN000000000"}
    refused(call(url, "POST", b'{"x": 1}', signed(url, unknown)), 403, "The security token included")
    # A signed header changed after signing (the signature covers it).
    h = signed(url, headers={"Content-Type": "application/json", "X-Custom": "a"})
    refused(call(url, "POST", b'{"x": 1}', {**h, "X-Custom": "b"}), 403, "The request signature")
    # A lying x-amz-content-sha256 does not make another body pass.
    h = signed(url, body=b"{}", headers={"x-amz-content-sha256": "0" * 64})
    refused(call(url, "POST", b'{"x": 3}', h), 403, "The request signature")
    # Signed for another service.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=url, data=b"{}")
    SigV4Auth(Credentials(WRITER["AccessKeyId"], WRITER["SecretAccessKey"]), "lambda", "us-east-1").add_auth(req)
    refused(call(url, "POST", b"{}", dict(req.headers.items())), 403, "Credential should be scoped")


def test_iam_method_needs_invoke_permission(front):
    url = front.url + "/metrics"
    doc = refused(call(url, "POST", b'{"x": 1}', signed(url, READER)), 403, "User: arn:aws:iam::123456789012:user/reader")
    assert "execute-api:Invoke" in doc["Message"] and "abc123/v1/POST/metrics" in doc["Message"]
    assert call(url, "POST", b'{"x": 1}', signed(url))[0] == 200


def test_signature_expires_after_five_minutes(tmp_path):
    later = datetime.now(timezone.utc) + timedelta(minutes=6)
    with LambdaFunction("api-fn", BOOT, {}, tmp_path) as fn:
        f = ApiFront(fn, [Route("/metrics", {"POST": "lambda"}, auth={"POST": MethodAuth(authorization="AWS_IAM")})],
                     "v1", "abc123", gateway=gateway(now=lambda: later))
        try:
            url = f.url + "/metrics"
            st, _, body = call(url, "POST", b"{}", signed(url, body=b"{}"))
            assert st == 403 and json.loads(body)["message"].startswith("Signature expired"), body
        finally:
            f.close()


def test_without_gateway_data_protected_methods_are_refused(tmp_path):
    with LambdaFunction("api-fn", BOOT, {}, tmp_path) as fn:
        f = ApiFront(fn, [Route("/m", {"GET": "lambda"}, auth={"GET": MethodAuth(api_key_required=True)})], "v1", "x")
        try:
            assert call(f.url + "/m", headers={"x-api-key": "anything"})[0] == 403
        finally:
            f.close()


# API Gateway's answers when the integration fails
# (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html): 502 for a function
# error, timeout, crash or malformed response, 500 when Lambda refuses the invocation (throttled),
# 504 past the integration timeout (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
# The front prints each with its reason.

@pytest.fixture
def failing_front(tmp_path):
    with LambdaFunction("api-fn", BOOT, {}, tmp_path, timeout_s=1, max_environments=2, reserved_concurrency=2) as fn:
        routes = [Route(p, {"GET": "lambda"}) for p in ("/ok", "/slow", "/crash", "/malformed")]
        f = ApiFront(fn, routes, "v1", "abc123", integration_timeout_s=3,
                     response_headers={"DEFAULT_5XX": [("Access-Control-Allow-Origin", "*")]})
        yield f
        f.close()


def test_integration_failures_answer_as_api_gateway_and_print_why(failing_front, capsys):
    url = failing_front.url
    cases = [("/slow?s=30", 502, "Internal server error", "timeout"),
             ("/crash", 502, "Internal server error", "crash"),
             ("/malformed", 502, "Internal server error", "malformed Lambda proxy response")]
    for path, want, message, reason in cases:
        status, headers, body = call(url + path)
        assert (status, json.loads(body)) == (want, {"message": message}), (path, status, body)
        assert headers["Access-Control-Allow-Origin"] == "*"
        printed = capsys.readouterr().err
        assert f"[apigw] {want} GET /v1{path}: {reason}" in printed, printed
        assert call(url + "/ok")[0] == 200, f"not answering normally after {path}"
    assert len(failing_front.errors) == len(cases)


def test_throttled_invocation_is_a_500_with_its_reason(failing_front, capsys):
    results = []
    threads = [threading.Thread(target=lambda: results.append(call(failing_front.url + "/slow?s=0.8")))
               for _ in range(2)]
    for t in threads:
        t.start()
    while failing_front.fn.peak_in_flight < 2:
        time.sleep(0.02)
    status, _, body = call(failing_front.url + "/ok")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    assert "[apigw] 500 GET /v1/ok: throttled" in capsys.readouterr().err
    for t in threads:
        t.join(30)
    assert [r[0] for r in results] == [200, 200]


def test_past_the_integration_timeout_the_client_gets_504(tmp_path, capsys):
    with LambdaFunction("api-fn", BOOT, {}, tmp_path, timeout_s=10) as fn:
        f = ApiFront(fn, [Route("/slow", {"GET": "lambda"})], "v1", "abc123", integration_timeout_s=0.5)
        try:
            status, _, body = call(f.url + "/slow?s=1.5")
            assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})
            assert "[apigw] 504 GET /v1/slow?s=1.5: integration timeout" in capsys.readouterr().err
        finally:
            f.close()
