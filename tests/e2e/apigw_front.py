"""A local HTTP front that does what API Gateway (REST, Lambda proxy) does for the metrics API.

Routes come from the API as deployed in moto (resources, methods, integrations), so the front also
proves the module's routing. Before a method reaches its integration the front checks what API
Gateway checks, per method as deployed (`apiKeyRequired`, `authorizationType`): API keys of the
stage's usage plans and SigV4 for AWS_IAM methods (`gateway_auth.py`). It turns each HTTP request
into a REST v1 proxy event, invokes the real function through the Runtime API emulator, and maps
the proxy response back to HTTP.
Errors are API Gateway's (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html):
a throttled invocation (Lambda's 429, the function never ran) is a 500, a function error, timeout,
crash or malformed proxy response a 502, both `{"message": "Internal server error"}`; no answer
within the integration timeout (29 s, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html)
is a 504 `{"message": "Endpoint request timed out"}`. Each one is printed to stderr with its reason.
Not emulated (documented in docs/e2e.md): usage-plan throttling and quotas, access logs.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import events
from .gateway_auth import GatewayAuth, MethodAuth
from .runtime_api import InvocationError, LambdaFunction


@dataclass
class Route:
    resource: str  # e.g. /metrics or /items/{id}
    methods: dict = field(default_factory=dict)  # method -> "lambda" | {"mock": {header: value}}
    auth: dict = field(default_factory=dict)  # method -> MethodAuth (absent: none required)

    def specificity(self) -> tuple:
        """Sort key, most specific first: API Gateway matches a literal path before a `{param}`
        segment and both before a greedy `{proxy+}`
        (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html)."""
        segs = self.resource.strip("/").split("/")
        greedy = any(s.endswith("+}") for s in segs)
        params = sum(s.startswith("{") for s in segs)
        return (greedy, params, -len(segs))

    def match(self, path: str) -> dict | None:
        parts = []
        for seg in self.resource.strip("/").split("/"):
            name = re.fullmatch(r"\{([A-Za-z0-9_]+)(\+?)\}", seg)
            if name:  # {param} is one segment, {proxy+} the rest of the path
                parts.append(f"(?P<{name.group(1)}>{'.+' if name.group(2) else '[^/]+'})")
            else:
                parts.append(re.escape(seg))
        m = re.fullmatch("/" + "/".join(p for p in parts if p) + "/?", path)
        return m.groupdict() if m else None


def routes_from_moto(apigw, api_id: str) -> list[Route]:
    """Read resources/methods/integrations of a deployed REST API."""
    routes = []
    for res in apigw.get_resources(restApiId=api_id, limit=500)["items"]:
        route = Route(res["path"])
        for method in res.get("resourceMethods", {}) or {}:
            m = apigw.get_method(restApiId=api_id, resourceId=res["id"], httpMethod=method)
            route.auth[method] = MethodAuth(bool(m.get("apiKeyRequired")), m.get("authorizationType") or "NONE")
            integ = apigw.get_integration(restApiId=api_id, resourceId=res["id"], httpMethod=method)
            if integ.get("type") == "MOCK":
                params = (integ.get("integrationResponses", {}).get("200", {}) or {}).get("responseParameters", {}) or {}
                route.methods[method] = {"mock": {
                    k.removeprefix("method.response.header."): v.strip("'") for k, v in params.items()}}
            else:
                route.methods[method] = "lambda"
        if route.methods:
            routes.append(route)
    routes.sort(key=Route.specificity)
    return routes


def method_auth(routes: list[Route], method: str, path: str) -> MethodAuth:
    for route in routes:
        if route.match(path) is not None:
            return route.auth.get(method) or route.auth.get("ANY") or MethodAuth()
    return MethodAuth()


def client_headers(routes: list[Route], base_url: str, method: str, path_q: str, body: bytes | None,
                   headers: dict, api_key: str | None, creds) -> dict:
    """What a client of the deployed API sends: the API key where the method requires one, a SigV4
    signature (service execute-api) with `creds` where the method is AWS_IAM."""
    from .gateway_auth import sign

    auth = method_auth(routes, method, path_q.split("?", 1)[0])
    out = dict(headers)
    if auth.api_key_required and api_key:
        out["x-api-key"] = api_key
    if auth.authorization == "AWS_IAM":
        out = sign(method, base_url + path_q, creds, body, out)
    return out


def gateway_response_headers(apigw, api_id: str) -> dict[str, list[tuple[str, str]]]:
    """Headers of the API's gateway responses by type (e.g. CORS on DEFAULT_4XX), as deployed.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html"""
    out = {}
    try:
        items = apigw.get_gateway_responses(restApiId=api_id, limit=500).get("items", [])
    except Exception:  # moto without gateway responses: API Gateway's defaults carry no headers
        return out
    for gr in items:
        params = gr.get("responseParameters") or {}
        out[gr["responseType"]] = [(k.removeprefix("gatewayresponse.header."), v.strip("'"))
                                   for k, v in params.items() if k.startswith("gatewayresponse.header.")]
    return out


# API Gateway's maximum integration timeout for REST APIs (the default).
INTEGRATION_TIMEOUT_S = 29.0


class ApiFront:
    def __init__(self, fn: LambdaFunction, routes: list[Route], stage: str, api_id: str, port: int = 0,
                 gateway: GatewayAuth | None = None, response_headers: dict | None = None,
                 integration_timeout_s: float = INTEGRATION_TIMEOUT_S, log=None):
        self.fn, self.stage, self.api_id = fn, stage, api_id
        self.routes = sorted(routes, key=Route.specificity)
        self.integration_timeout_s = integration_timeout_s
        # Every error the front itself answers (500/502/504), with its reason: "STATUS METHOD path: reason".
        self.errors: list[str] = []
        self._log = log or _print_line
        # Without a GatewayAuth no key and no caller is known: protected methods are refused.
        self.gateway = gateway or GatewayAuth(api_id, stage)
        self.response_headers = response_headers or {}
        self.requests = 0
        self.denied: list[str] = []  # "METHOD path -> status type", what the gateway refused
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, data = front.handle(self.command, self.path, list(self.headers.items()),
                                                     body, self.client_address[0])
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/{stage}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def method_auth(self, method: str, path: str) -> MethodAuth:
        """How the deployed API guards `method path` (path below the stage, e.g. /metrics)."""
        return method_auth(self.routes, method, path)

    def client_headers(self, method: str, path_q: str, body: bytes | None, headers: dict,
                       api_key: str | None, creds) -> dict:
        return client_headers(self.routes, self.url, method, path_q, body, headers, api_key, creds)

    def handle(self, method: str, raw_path: str, headers, body, source_ip):
        self.requests += 1
        prefix = f"/{self.stage}"
        path_q = raw_path[len(prefix):] if raw_path.startswith(prefix + "/") or raw_path.split("?")[0] == prefix else None
        if path_q is None:
            return _json(403, {"message": "Forbidden"})
        path = path_q.split("?", 1)[0] or "/"
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            target = route.methods.get(method) or route.methods.get("ANY")
            if target is None:
                break
            auth = route.auth.get(method) or route.auth.get("ANY") or MethodAuth()
            refused, caller = self.gateway.check(auth, method, path, raw_path, headers, body)
            if refused:
                self.denied.append(f"{method} {path} -> {refused.status} {refused.response_type}")
                extra = self.response_headers.get(refused.response_type, self.response_headers.get("DEFAULT_4XX", []))
                status, hdrs, data = _json(refused.status, refused.body)
                return status, hdrs + [("x-amzn-ErrorType", _error_type(refused.response_type))] + list(extra), data
            if isinstance(target, dict):  # MOCK integration (CORS preflight)
                return 200, list(target["mock"].items()) + [("Content-Type", "application/json")], b""
            api_key = dict((k.lower(), v) for k, v in headers).get("x-api-key") if auth.api_key_required else None
            event = events.apigw_v1_event(method, path_q or "/", headers, body, route.resource,
                                          params or None, self.stage, self.api_id, source_ip, api_key)
            if caller:  # what API Gateway puts in the context of an IAM-authorised call
                event["requestContext"]["identity"].update({
                    "accessKey": caller.access_key, "accountId": self.gateway.account, "caller": caller.user_id,
                    "user": caller.user_id, "userArn": caller.user_arn})
            return self._integrate(method, raw_path, event)
        # What API Gateway answers for a path/method it has no route for.
        return _json(403, {"message": "Missing Authentication Token"})

    def _integrate(self, method: str, raw_path: str, event: dict):
        """Invoke the function as the Lambda proxy integration does, within the integration timeout."""
        result: dict = {}
        started = time.monotonic()

        def call() -> None:
            try:
                result["inv"] = self.fn.invoke_raw(event, wait_s=self.integration_timeout_s)
            except InvocationError as e:
                result["error"] = e

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(self.integration_timeout_s)
        if worker.is_alive():  # the invocation goes on (until its own timeout), the client is answered
            return self._error(504, "Endpoint request timed out", method, raw_path,
                               f"integration timeout: no answer from {self.fn.name} within "
                               f"{self.integration_timeout_s:g}s")
        took = f" after {time.monotonic() - started:.1f}s"
        if "error" in result:
            e = result["error"]
            if e.kind == "no_environment":  # never ran: nothing answered within the integration timeout
                return self._error(504, "Endpoint request timed out", method, raw_path, f"integration timeout: {e}")
            status = 500 if e.kind == "throttled" else 502
            return self._error(status, "Internal server error", method, raw_path, f"{e.kind}{took}: {e}")
        inv = result["inv"]
        if inv.outcome == "error":
            return self._error(502, "Internal server error", method, raw_path,
                               f"function error{took} ({inv.error_type or 'unhandled'}): "
                               f"{inv.body.decode(errors='replace')[:500]}")
        try:
            return _proxy_response(json.loads(inv.body) if inv.body else None)
        except (ValueError, TypeError, KeyError, AttributeError, binascii.Error) as e:
            return self._error(502, "Internal server error", method, raw_path,
                               f"malformed Lambda proxy response{took} ({e}): {inv.body.decode(errors='replace')[:300]}")

    def _error(self, status: int, message: str, method: str, raw_path: str, reason: str):
        line = f"{status} {method} {raw_path}: {reason}"
        self.errors.append(line)
        self._log(f"[apigw] {line.splitlines()[0][:2000]}")
        status, hdrs, data = _json(status, {"message": message})
        return status, hdrs + list(self.response_headers.get("DEFAULT_5XX", [])), data

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    # Accept a burst of clients at once (socketserver's default backlog is 5): under load a client
    # waits for the function, as with API Gateway, not for a TCP accept.
    request_queue_size = 256


_print_lock = threading.Lock()


def _print_line(line: str) -> None:
    with _print_lock:  # one whole line at a time from the request threads
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _error_type(response_type: str) -> str:
    """x-amzn-ErrorType API Gateway sets on its own 403s."""
    return {"INVALID_API_KEY": "ForbiddenException", "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
            "ACCESS_DENIED": "AccessDeniedException", "UNRECOGNIZED_CLIENT": "UnrecognizedClientException",
            "INCOMPLETE_SIGNATURE": "IncompleteSignatureException"}.get(response_type, "InvalidSignatureException")


def _json(status: int, doc: dict):
    return status, [("Content-Type", "application/json")], json.dumps(doc).encode()


def _proxy_response(out) -> tuple[int, list, bytes]:
    """Map a Lambda proxy response; raises ValueError on a malformed one (API Gateway's 502)."""
    if not isinstance(out, dict) or not isinstance(out.get("statusCode"), int):
        raise ValueError("no integer statusCode")
    headers: list[tuple[str, str]] = []
    single = out.get("headers") or {}
    multi = out.get("multiValueHeaders") or {}
    for k, vs in multi.items():
        headers.extend((k, str(v)) for v in vs)
    headers.extend((k, str(v)) for k, v in single.items() if k not in multi)
    body = out.get("body") or ""
    data = base64.b64decode(body) if out.get("isBase64Encoded") else body.encode()
    return out["statusCode"], headers, data
