"""The HTTP front builds REST v1 proxy events as API Gateway does and maps responses back."""

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .apigw_front import ApiFront, Route
from .runtime_api import LambdaFunction

BOOT = Path(__file__).parent / "fixtures" / "py_bootstrap.py"


@pytest.fixture
def front(tmp_path):
    with LambdaFunction("api-fn", BOOT, {}, tmp_path) as fn:
        routes = [Route("/metrics", {"GET": "lambda", "POST": "lambda",
                                     "OPTIONS": {"mock": {"Access-Control-Allow-Origin": "*"}}}),
                  Route("/items/{id}", {"GET": "lambda"}), Route("/teapot", {"GET": "lambda"})]
        f = ApiFront(fn, routes, "v1", "abc123")
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


def test_post_body_and_path_parameters(front):
    _, _, body = call(front.url + "/metrics", "POST", b'{"x": 1}', {"Content-Type": "application/json"})
    ev = json.loads(body)
    assert ev["body"] == '{"x": 1}' and ev["headers"]["Content-Type"] == "application/json"
    _, _, body = call(front.url + "/items/42")
    assert json.loads(body)["pathParameters"] == {"id": "42"}


def test_binary_body_is_base64(front):
    _, _, body = call(front.url + "/metrics", "POST", b"\xff\xfe")
    ev = json.loads(body)
    assert ev["isBase64Encoded"] is True and ev["body"] == "//4="


def test_status_from_function_and_gateway_answers(front):
    assert call(front.url + "/teapot")[0] == 418
    assert call(front.url + "/nope")[0] == 403  # no such resource: "Missing Authentication Token"
    assert call(front.url + "/teapot", "DELETE")[0] == 403
    status, headers, _ = call(front.url + "/metrics", "OPTIONS")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
