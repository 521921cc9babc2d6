"""The Runtime API emulator speaks the protocol a custom runtime expects."""

import json
import threading
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


# Execution environments as Lambda keeps them: an invocation past its timeout ends and its
# environment is reset (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
# "Failures during the invoke phase"); each concurrent invocation has its own environment, up to
# the function's concurrency (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).

def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def concurrently(fn, events, **kw):
    """Invoke each event from its own thread; returns results or the InvocationError of each."""
    out = [None] * len(events)

    def run(i):
        try:
            out[i] = fn.invoke(events[i], **kw)
        except InvocationError as e:
            out[i] = e
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(events))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_timed_out_invocation_ends_and_its_process_is_replaced(tmp_path):
    with LambdaFunction("slow-fn", BOOT, {}, tmp_path, timeout_s=1) as fn:
        first = fn.invoke({"echo": 1})["pid"]
        with pytest.raises(InvocationError, match="Task timed out after 1.00 seconds") as err:
            fn.invoke({"sleep": 60})
        assert err.value.kind == "timeout"
        assert gone(first), "the timed-out invocation's process still runs"
        assert fn.environment_pids() == []
        after = fn.invoke({"echo": "next"})
        assert after["echo"] == "next" and after["pid"] != first
        assert fn.environment_pids() == [after["pid"]]
        log = fn.log_text()
        assert "Task timed out after 1.00 seconds" in log and "Status: timeout" in log


def test_crashed_environment_is_replaced_for_the_next_invocation(fn):
    pid = fn.invoke({"echo": 0})["pid"]
    with pytest.raises(InvocationError) as err:
        fn.invoke({"crash": 1})
    assert err.value.kind == "crash" and gone(pid)
    assert fn.invoke({"echo": 1})["pid"] != pid


def test_concurrent_invocations_run_in_separate_processes_up_to_the_limit(tmp_path):
    with LambdaFunction("pool-fn", BOOT, {}, tmp_path, timeout_s=20, max_environments=3) as fn:
        results = concurrently(fn, [{"sleep": 1.0, "echo": i} for i in range(5)])
        assert all(isinstance(r, dict) for r in results), results
        assert sorted(r["echo"] for r in results) == list(range(5))
        pids = {r["pid"] for r in results}
        assert len(pids) == 3, f"5 concurrent invocations with 3 environments used {len(pids)} processes"
        assert fn.peak_environments == 3 and fn.peak_in_flight == 5
        # Started on demand, kept warm: a lone invocation reuses one of them.
        assert fn.invoke({"echo": "warm"})["pid"] in pids


def test_beyond_reserved_concurrency_an_invocation_is_throttled(tmp_path):
    # Lambda's Invoke answers 429 TooManyRequestsException (Reason
    # ReservedFunctionConcurrentInvocationLimitExceeded) without running the function:
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    with LambdaFunction("reserved-fn", BOOT, {}, tmp_path, timeout_s=20, max_environments=8,
                        reserved_concurrency=2) as fn:
        busy = threading.Thread(target=concurrently, args=(fn, [{"sleep": 1}, {"sleep": 1}]))
        busy.start()
        while fn.peak_in_flight < 2:
            time.sleep(0.02)
        with pytest.raises(InvocationError, match="TooManyRequestsException") as err:
            fn.invoke({"echo": "third"})
        assert err.value.kind == "throttled" and fn.throttles == 1
        busy.join(30)
        assert fn.peak_environments == 2
        assert fn.invoke({"echo": "later"})["echo"] == "later"


def test_wait_for_a_free_environment_is_bounded(tmp_path):
    with LambdaFunction("one-fn", BOOT, {}, tmp_path, timeout_s=20) as fn:
        busy = threading.Thread(target=fn.invoke, args=({"sleep": 1},))
        busy.start()
        while fn.peak_in_flight < 1:
            time.sleep(0.02)
        with pytest.raises(InvocationError, match="no free execution environment") as err:
            fn.invoke({"echo": 1}, wait_s=0.2)
        assert err.value.kind == "no_environment"
        busy.join(30)


def test_platform_lines_in_the_function_log(fn):
    rid = fn.invoke({"echo": 1})["request_id"]
    log = fn.log_text()
    # What Lambda writes to the log stream around each invocation:
    # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
    assert f"START RequestId: {rid} Version: $LATEST" in log and f"END RequestId: {rid}" in log
    assert f"REPORT RequestId: {rid}\tDuration: " in log and "Init Duration: " in log
