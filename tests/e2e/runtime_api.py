"""A Lambda Runtime API emulator, and a real bootstrap binary driven through it.

Implements the four endpoints a custom runtime (provided.al2023) talks to:
  GET  /2018-06-01/runtime/invocation/next          (long poll; blocks until an event is queued)
  POST /2018-06-01/runtime/invocation/{id}/response
  POST /2018-06-01/runtime/invocation/{id}/error
  POST /2018-06-01/runtime/init/error
with the headers Lambda sends (request id, deadline, function ARN, X-Ray trace id).
"""

from __future__ import annotations

import json
import os
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import procs
from .http_body import read_body

PREFIX = "/2018-06-01/runtime"
_RESULT = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")


@dataclass
class Invocation:
    payload: bytes
    function_arn: str
    timeout_s: float
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""  # "response" or "error"
    body: bytes = b""
    error_type: str = ""


class InvocationError(RuntimeError):
    """The function answered with an error, crashed, or timed out."""


class RuntimeApi:
    """The HTTP side. One function instance per emulator, as in Lambda."""

    def __init__(self) -> None:
        self._pending: "queue.Queue[Invocation]" = queue.Queue()
        self._by_id: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self.init_error: bytes | None = None
        self.polls = 0  # GET /next count: 1 after init means the runtime is ready
        self.polled = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet: the harness prints its own lines
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                with api.polled:
                    api.polls += 1
                    api.polled.notify_all()
                inv = api._pending.get()  # blocks, like Lambda's long poll
                deadline_ms = int((time.time() + inv.timeout_s) * 1000)
                trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", inv.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", inv.function_arn)
                self.send_header("Lambda-Runtime-Trace-Id", trace)
                self.send_header("Content-Length", str(len(inv.payload)))
                self.end_headers()
                self.wfile.write(inv.payload)

            def do_POST(self) -> None:
                body = read_body(self)
                if self.path == f"{PREFIX}/init/error":
                    api.init_error = body or b"(empty init error)"
                    return self._reply(202, {"status": "OK"})
                m = _RESULT.match(self.path)
                if not m:
                    return self._reply(404, {"errorMessage": f"unknown path {self.path}"})
                with api._lock:
                    inv = api._by_id.get(m.group(1))
                if inv is None or inv.done.is_set():
                    return self._reply(400, {"errorMessage": "unknown or finished request id"})
                inv.outcome, inv.body = m.group(2), body
                inv.error_type = self.headers.get("Lambda-Runtime-Function-Error-Type", "")
                self._reply(202, {"status": "OK"})
                inv.done.set()

            def _reply(self, status: int, doc: dict) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def submit(self, payload: bytes, function_arn: str, timeout_s: float) -> Invocation:
        inv = Invocation(payload=payload, function_arn=function_arn, timeout_s=timeout_s)
        with self._lock:
            self._by_id[inv.request_id] = inv
        self._pending.put(inv)
        return inv

    def wait_ready(self, timeout_s: float, alive) -> float:
        """Block until the runtime's first GET /next; returns seconds waited."""
        start = time.monotonic()
        with self.polled:
            while self.polls == 0:
                if self.init_error is not None or not alive():
                    break
                if time.monotonic() - start > timeout_s:
                    break
                self.polled.wait(0.05)
        return time.monotonic() - start

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class LambdaFunction:
    """A real `bootstrap` run as Lambda runs it, against a private RuntimeApi."""

    def __init__(self, name: str, bootstrap: Path, env: dict[str, str], workdir: Path,
                 memory_mb: int = 256, timeout_s: float = 30.0, region: str = "us-east-1",
                 account_id: str = "123456789012", launcher: tuple[str, ...] = (),
                 ready_timeout_s: float = 20.0):
        """`launcher` prefixes the command, e.g. `("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu")`
        to run an arm64 bootstrap on an x86_64 host."""
        self.name = name
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        self.log_path = workdir / f"{name}.log"
        self.api = RuntimeApi()
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        full_env.update(env)
        full_env.update({
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"e2e/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "_HANDLER": "bootstrap",
            "LAMBDA_TASK_ROOT": str(bootstrap.parent),
        })
        self.proc = procs.spawn([*launcher, str(bootstrap)], full_env, self.log_path, cwd=bootstrap.parent)
        try:
            self.cold_start_s = self.api.wait_ready(ready_timeout_s, lambda: self.proc.poll() is None)
            self._check_alive("starting")
        except BaseException:
            self.stop()
            raise

    def _check_alive(self, doing: str) -> None:
        if self.api.init_error is not None:
            raise InvocationError(f"{self.name}: init error while {doing}: {self.api.init_error.decode(errors='replace')}")
        if self.proc.poll() is not None:
            raise InvocationError(
                f"{self.name}: bootstrap exited with code {self.proc.returncode} while {doing}; log:\n"
                f"{procs.tail(self.log_path)}")

    def invoke_raw(self, event) -> Invocation:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = self.api.submit(payload, self.arn, self.timeout_s)
        deadline = time.monotonic() + self.timeout_s + 5
        while not inv.done.wait(0.05):
            self._check_alive(f"handling request {inv.request_id}")
            if time.monotonic() > deadline:
                raise InvocationError(f"{self.name}: timed out after {self.timeout_s:.0f}s; log:\n{procs.tail(self.log_path)}")
        return inv

    def invoke(self, event):
        """Invoke and return the decoded JSON response; raise on a function error."""
        inv = self.invoke_raw(event)
        if inv.outcome == "error":
            raise InvocationError(f"{self.name}: function error {inv.error_type}: {inv.body.decode(errors='replace')}")
        return json.loads(inv.body) if inv.body else None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        procs.stop(self.proc)
        self.api.close()

    def __enter__(self) -> "LambdaFunction":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
