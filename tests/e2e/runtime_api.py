"""A Lambda Runtime API emulator, and a real bootstrap binary driven through it.

Implements the four endpoints a custom runtime (provided.al2023) talks to:
  GET  /2018-06-01/runtime/invocation/next          (long poll; blocks until an event is queued)
  POST /2018-06-01/runtime/invocation/{id}/response
  POST /2018-06-01/runtime/invocation/{id}/error
  POST /2018-06-01/runtime/init/error
with the headers Lambda sends (request id, deadline, function ARN, X-Ray trace id).

`LambdaFunction` runs a real bootstrap as Lambda does: a pool of execution environments (one
process + its own RuntimeApi each), started on demand, one invocation at a time per environment
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html); an invocation past its
timeout, or whose process exits, ends with an error and its environment is killed, the next
invocation starts a fresh one (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
"Failures during the invoke phase"); beyond the reserved concurrency an invocation is throttled
(429 TooManyRequestsException, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
Lambda's START/END/REPORT lines go to the function's log between the function's own lines
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html).
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
    deadline_ms: int = 0  # epoch ms, set when an environment takes it (Lambda-Runtime-Deadline-Ms)
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""  # "response" or "error"
    body: bytes = b""
    error_type: str = ""


class InvocationError(RuntimeError):
    """The invocation failed; `kind` says how, as API Gateway and Lambda tell them apart:
    "function_error" (the runtime posted /error), "timeout", "crash" (the process exited),
    "init_error" (a new environment failed to start), "throttled" (over the reserved
    concurrency: Lambda's 429, the function never ran), "no_environment" (the caller's wait for a
    free local environment ran out: the function never ran)."""

    def __init__(self, message: str, kind: str = "function_error"):
        super().__init__(message)
        self.kind = kind


class RuntimeApi:
    """The HTTP side of one execution environment (one runtime process polls it)."""

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
                deadline_ms = inv.deadline_ms or int((time.time() + inv.timeout_s) * 1000)
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
        # A short poll interval: closing an environment (shutdown) then takes ~50 ms, not 0.5 s.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def submit(self, payload: bytes, function_arn: str, timeout_s: float) -> Invocation:
        return self.submit_invocation(Invocation(payload=payload, function_arn=function_arn, timeout_s=timeout_s))

    def submit_invocation(self, inv: Invocation) -> Invocation:
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


class _Environment:
    """One execution environment: a bootstrap process polling its own RuntimeApi."""

    def __init__(self, fn: "LambdaFunction", number: int):
        self.fn, self.number = fn, number
        self.api = RuntimeApi()
        self.invocations = 0
        env = dict(fn._env)
        env.update({"AWS_LAMBDA_RUNTIME_API": self.api.address,
                    # one log stream per execution environment, as in CloudWatch Logs
                    "AWS_LAMBDA_LOG_STREAM_NAME": f"e2e/[$LATEST]{uuid.uuid4().hex}"})
        self.proc = procs.spawn([*fn.launcher, str(fn.bootstrap)], env, fn.log_path, cwd=fn.bootstrap.parent)
        self.pid = self.proc.pid
        try:
            self.cold_start_s = self.api.wait_ready(fn.ready_timeout_s, self.alive)
            problem = self._problem("starting")
            if problem is None and self.api.polls == 0:
                problem = InvocationError(f"{fn.name}: no GET /runtime/invocation/next within "
                                          f"{fn.ready_timeout_s:.0f}s of starting", "init_error")
            if problem is not None:
                raise problem
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _problem(self, doing: str) -> InvocationError | None:
        if self.api.init_error is not None:
            return InvocationError(f"{self.fn.name}: init error while {doing}: "
                                   f"{self.api.init_error.decode(errors='replace')}", "init_error")
        if self.proc.poll() is not None:
            kind = "init_error" if doing == "starting" else "crash"
            return InvocationError(
                f"{self.fn.name}: bootstrap exited with code {self.proc.returncode} while {doing} "
                f"(Runtime.ExitError; environment {self.number} is gone); log:\n{procs.tail(self.fn.log_path)}", kind)
        return None

    def run(self, inv: Invocation) -> None:
        """Hand `inv` to this environment's runtime and wait for its result, at most its timeout.
        Raises InvocationError on a crash or a timeout; the environment is then stopped."""
        first = self.invocations == 0
        self.invocations += 1
        start = time.monotonic()
        inv.deadline_ms = int((time.time() + inv.timeout_s) * 1000)
        self.fn._platform_log(f"START RequestId: {inv.request_id} Version: $LATEST")
        self.api.submit_invocation(inv)
        status, error = "", None
        while not inv.done.wait(0.02):
            error = self._problem(f"handling request {inv.request_id}")
            if error is not None:
                status = "error"
                break
            if time.monotonic() - start >= inv.timeout_s:
                self.fn._platform_log(f"{_utc_now()} {inv.request_id} Task timed out after {inv.timeout_s:.2f} seconds")
                status = "timeout"
                error = InvocationError(f"{self.fn.name}: Task timed out after {inv.timeout_s:.2f} seconds "
                                        f"(request {inv.request_id}; environment {self.number}, pid {self.pid}, "
                                        "killed and replaced on demand)", "timeout")
                break
        took_ms = (time.monotonic() - start) * 1000
        memory = _max_rss_mb(self.pid)
        if error is not None:
            self.stop()
        self.fn._platform_log(f"END RequestId: {inv.request_id}")
        self.fn._platform_log(
            f"REPORT RequestId: {inv.request_id}\tDuration: {took_ms:.2f} ms\tBilled Duration: {int(took_ms) + 1} ms\t"
            f"Memory Size: {self.fn.memory_mb} MB\tMax Memory Used: {memory} MB"
            + (f"\tInit Duration: {self.cold_start_s * 1000:.2f} ms" if first else "")
            + (f"\tStatus: {status}" if status else ""))
        self.fn._record(took_ms / 1000)
        if error is not None:
            raise error

    def stop(self) -> None:
        procs.stop(self.proc, grace=0.0)  # Lambda does not let a reset environment finish its work
        self.api.close()


def _utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"


def _max_rss_mb(pid: int) -> str:
    """Peak resident memory of the process (VmHWM), what REPORT's Max Memory Used reports."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return str(max(1, round(int(line.split()[1]) / 1024)))
    except (OSError, ValueError, IndexError):
        pass
    return "?"


class LambdaFunction:
    """A real `bootstrap` run as Lambda runs it: execution environments started on demand, each its
    own process and Runtime API endpoint, one invocation at a time each.

    `reserved_concurrency` (the function's, as deployed; None: unreserved) is Lambda's limit: an
    invocation beyond it is throttled (InvocationError kind "throttled"). `max_environments` is this
    machine's limit: an invocation beyond it waits for a free environment (Lambda would start
    another; `invoke(wait_s=...)` bounds the wait). The first environment starts here, so that a
    bootstrap that cannot start fails at once."""

    def __init__(self, name: str, bootstrap: Path, env: dict[str, str], workdir: Path,
                 memory_mb: int = 256, timeout_s: float = 30.0, region: str = "us-east-1",
                 account_id: str = "123456789012", launcher: tuple[str, ...] = (),
                 ready_timeout_s: float = 20.0, max_environments: int = 1,
                 reserved_concurrency: int | None = None):
        """`launcher` prefixes the command, e.g. `("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu")`
        to run an arm64 bootstrap on an x86_64 host."""
        self.name = name
        self.bootstrap = bootstrap
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.launcher = launcher
        self.ready_timeout_s = ready_timeout_s
        self.reserved_concurrency = reserved_concurrency
        self.max_environments = max(1, min(max_environments, reserved_concurrency or max_environments))
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        self.log_path = workdir / f"{name}.log"
        self._env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        self._env.update(env)
        self._env.update({
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "_HANDLER": "bootstrap",
            "LAMBDA_TASK_ROOT": str(bootstrap.parent),
        })
        self._pool = threading.Condition()
        self._idle: list[_Environment] = []
        self._live: list[_Environment] = []  # idle or busy
        self._starting = 0
        self._in_flight = 0  # invocations accepted and not finished (Lambda's concurrency)
        self._log_lock = threading.Lock()
        self.started_environments = 0
        self.peak_environments = 0
        self.peak_in_flight = 0
        self.throttles = 0
        self.longest_s = 0.0  # the longest invocation so far, timed-out ones included
        self._stopped = False
        first = self._start_environment()
        self.cold_start_s = first.cold_start_s
        with self._pool:
            self._idle.append(first)

    # The first live environment: what single-environment callers (the smoke test) look at.
    @property
    def api(self) -> RuntimeApi:
        return (self._live or [self._last])[0].api

    @property
    def proc(self):
        return (self._live or [self._last])[0].proc

    def environment_pids(self) -> list[int]:
        """Processes of the live environments."""
        with self._pool:
            return [e.pid for e in self._live]

    def _start_environment(self) -> _Environment:
        with self._pool:
            self.started_environments += 1
            number = self.started_environments
        envr = _Environment(self, number)
        with self._pool:
            self._last = envr
            self._live.append(envr)
            self.peak_environments = max(self.peak_environments, len(self._live))
        return envr

    def _platform_log(self, line: str) -> None:
        with self._log_lock, open(self.log_path, "a") as f:
            f.write(line + "\n")

    def _record(self, seconds: float) -> None:
        with self._pool:
            self.longest_s = max(self.longest_s, seconds)

    def _acquire(self, wait_s: float | None) -> _Environment | None:
        """An idle environment, or None when a new one may be started (counted as starting)."""
        give_up = None if wait_s is None else time.monotonic() + wait_s
        with self._pool:
            if self._stopped:
                raise InvocationError(f"{self.name}: stopped", "no_environment")
            if self.reserved_concurrency is not None and self._in_flight >= self.reserved_concurrency:
                self.throttles += 1
                raise InvocationError(
                    f"{self.name}: TooManyRequestsException (ReservedFunctionConcurrentInvocationLimitExceeded): "
                    f"{self._in_flight} invocations in flight, reserved concurrency {self.reserved_concurrency}",
                    "throttled")
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            while True:
                while self._idle:
                    envr = self._idle.pop()
                    if envr.alive():
                        return envr
                    self._live.remove(envr)  # exited while idle: Lambda would just use another
                    threading.Thread(target=envr.stop, daemon=True).start()
                if len(self._live) + self._starting < self.max_environments:
                    self._starting += 1
                    return None
                left = None if give_up is None else give_up - time.monotonic()
                if left is not None and left <= 0:
                    self._in_flight -= 1
                    raise InvocationError(
                        f"{self.name}: no free execution environment within {wait_s:.1f}s "
                        f"({self.max_environments} local environments, all busy)", "no_environment")
                self._pool.wait(left if left is not None else 1.0)

    def _release(self, envr: _Environment | None) -> None:
        with self._pool:
            self._in_flight -= 1
            if envr is not None:
                if envr.alive() and not self._stopped:
                    self._idle.append(envr)
                elif envr in self._live:
                    self._live.remove(envr)
            self._pool.notify_all()

    def invoke_raw(self, event, wait_s: float | None = None) -> Invocation:
        """Run one invocation in a free environment (started if none is idle). `wait_s` bounds the
        wait for one when all `max_environments` are busy (None: no bound)."""
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        inv = Invocation(payload=payload, function_arn=self.arn, timeout_s=self.timeout_s)
        envr = self._acquire(wait_s)
        try:
            if envr is None:
                try:
                    envr = self._start_environment()
                finally:
                    with self._pool:
                        self._starting -= 1
            envr.run(inv)
        finally:
            self._release(envr)
        return inv

    def invoke(self, event, wait_s: float | None = None):
        """Invoke and return the decoded JSON response; raise on a function error."""
        inv = self.invoke_raw(event, wait_s)
        if inv.outcome == "error":
            raise InvocationError(f"{self.name}: function error {inv.error_type}: {inv.body.decode(errors='replace')}")
        return json.loads(inv.body) if inv.body else None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        with self._pool:
            self._stopped = True
            envs, self._live, self._idle = list(self._live), [], []
            self._pool.notify_all()
        for envr in envs:
            envr.stop()

    def __enter__(self) -> "LambdaFunction":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
