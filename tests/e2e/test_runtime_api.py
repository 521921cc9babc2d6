"""The Runtime API emulator speaks the protocol a custom runtime expects."""

import json
import time
from pathlib import Path

import pytest

from .runtime_api import InvocationError, LambdaFunction

BOOT = Path(__file__).parent / "fixtures" / "py_bootstrap.py"


@pytest.fixture
def fn(tmp_path):
    with LambdaFunction("echo-fn", BOOT, {}, tmp_path, timeout_s=10) as f:
        yield f


def test_delivers_event_with_lambda_headers(fn):
    before_ms = time.time() * 1000
    out = fn.invoke({"echo": {"a": [1, 2]}})
    assert out["echo"] == {"a": [1, 2]}
    assert out["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo-fn"
    assert out["fn"] == "echo-fn"
    assert out["trace"].startswith("Root=1-") and ";Sampled=1" in out["trace"]
    # Deadline is the invocation timeout from now, in epoch milliseconds.
    assert before_ms + 9_000 < out["deadline_ms"] < before_ms + 11_000 + 1_000


def test_each_invocation_gets_its_own_request_id(fn):
    ids = {fn.invoke({"echo": i})["request_id"] for i in range(5)}
    assert len(ids) == 5


def test_function_error_is_raised_with_its_body(fn):
    with pytest.raises(InvocationError, match="Handled.*boom"):
        fn.invoke({"fail": "boom"})
    assert fn.invoke({"echo": "still alive"})["echo"] == "still alive"


def test_crash_is_reported_with_exit_code(fn):
    with pytest.raises(InvocationError, match="exited with code 3"):
        fn.invoke({"crash": 1})


def test_init_error_is_reported(tmp_path):
    with pytest.raises(InvocationError, match="init error.*bad config"):
        LambdaFunction("broken", BOOT, {"INIT_FAIL": "1"}, tmp_path)


def test_raw_bytes_payload_passes_through_unchanged(fn):
    assert fn.invoke(json.dumps({"echo": "ü"}).encode())["echo"] == "ü"
