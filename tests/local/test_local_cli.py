"""`just local`'s client commands (scripts/local.py) as a newcomer meets them: each decision is a
function, tested here without a running stack; the suggested sample query also runs against the
real API in the e2e (tests/e2e/test_stack.py step 5)."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("local_cli", REPO / "scripts" / "local.py")
local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(local)
samples = local.samples

TOPIC = "arn:aws:sns:us-east-1:123456789012:appmon-local-alarms"


def alarm(name: str, state: str, actions: bool = True, enabled: bool = True) -> dict:
    acts = [TOPIC] if actions else []
    return {"AlarmName": name, "StateValue": state, "ActionsEnabled": enabled,
            "AlarmActions": acts, "OKActions": acts, "InsufficientDataActions": []}


ALARMS = [alarm("appmon-local-log-processor-errors", "OK"), alarm("appmon-local-api-5xx", "ALARM"),
          alarm("appmon-local-availability-checkout-page-5m", "OK", actions=False)]


def parse_query(q: str) -> dict:
    return dict(kv.split("=", 1) for kv in q.split("&"))


def test_suggested_sample_query_fits_the_uploaded_data():
    # The API's rules (lambdas/metrics-api/src/query.rs): period a positive multiple of 60 s,
    # period <= to - from. Before: no `to` (so "the last hour to now") and period=3600, longer
    # than the ~30 minutes between the sample's first minute and now: always a 400.
    _, truth = samples.build()
    q = parse_query(local.sample_query(truth, "web"))
    frm, to = (datetime.fromisoformat(q[k].replace("Z", "+00:00")) for k in ("from", "to"))
    period = int(q["period"])
    assert period > 0 and period % 60 == 0 and period <= (to - frm).total_seconds()
    web = sorted({m for s, m, _ in truth.values if s == "web"})
    assert q["from"] == web[0] and to == datetime.fromisoformat(web[-1].replace("Z", "+00:00")) + timedelta(minutes=1)
    assert q["service"] == "web"


def test_alarm_without_a_name_lists_them_with_their_state():
    go, line = local.alarm_plan(ALARMS, None, "ALARM", TOPIC)
    assert not go
    for a in ALARMS:
        assert f"{a['AlarmName']} ({a['StateValue']})" in line


def test_unknown_alarm_name_is_one_line_naming_what_to_do():
    go, line = local.alarm_plan(ALARMS, "log-processor", "ALARM", TOPIC)
    assert not go and "\n" not in line
    assert "no alarm named 'log-processor'" in line and "appmon-local-log-processor-errors" in line
    go, line = local.alarm_plan(ALARMS, "nothing-like-it", "ALARM", TOPIC)
    assert not go and "`scripts/local.py alarm` lists them" in line


def test_firing_an_alarm_already_in_that_state_promises_nothing():
    # CloudWatch notifies only on a state change:
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
    go, line = local.alarm_plan(ALARMS, "appmon-local-api-5xx", "ALARM", TOPIC)
    assert not go and "already ALARM" in line and "--state OK" in line
    go, line = local.alarm_plan(ALARMS, "appmon-local-api-5xx", "OK", TOPIC)
    assert go and "gets the SNS notification" in line


def test_an_alarm_without_actions_for_the_new_state_notifies_nobody():
    go, line = local.alarm_plan(ALARMS, "appmon-local-availability-checkout-page-5m", "ALARM", TOPIC)
    assert go and "no AlarmActions" in line and "gets the SNS notification" not in line
    assert not local.notifies(ALARMS[2], "OK", "ALARM", TOPIC)
    assert not local.notifies(alarm("x", "OK", enabled=False), "OK", "ALARM", TOPIC)
    assert not local.notifies(ALARMS[0], "OK", "OK", TOPIC)
    assert not local.notifies(ALARMS[0], "OK", "INSUFFICIENT_DATA", TOPIC)
    assert local.notifies(ALARMS[0], "INSUFFICIENT_DATA", "ALARM", TOPIC)


def test_upload_key_outside_the_logs_prefix_is_refused_with_the_key_to_use():
    with pytest.raises(SystemExit, match=r"outside 'logs/'.*use --key logs/<service>/app.log"):
        local.upload_key("logs/", Path("app.log"), None, "other/app.log")
    with pytest.raises(SystemExit, match="outside"):
        local.upload_key("logs/", Path("app.log"), None, "logs")
    assert local.upload_key("logs/", Path("x/app.log"), "checkout", None) == "logs/checkout/app.log"
    assert local.upload_key("logs", Path("app.log"), None, "logs/web/a.log") == "logs/web/a.log"


def test_missing_upload_file_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": os.getpid(), "moto": "http://127.0.0.1:9", "bucket": "b", "prefix": "logs/",
                                 "admin": {"AccessKeyId": "AKIA0", "SecretAccessKey": "s", "UserName": "a"}}))
    monkeypatch.setattr(local, "STATE", state)
    args = argparse.Namespace(sample=False, file=str(tmp_path / "nope.log"), service=None, key=None)
    with pytest.raises(SystemExit, match=r"nope.log does not exist; give the path of a log file, or --sample"):
        local.upload(args)
    args.file = str(tmp_path)
    with pytest.raises(SystemExit, match="is not a file"):
        local.upload(args)


def test_a_stale_state_file_says_to_start_the_stack(tmp_path, monkeypatch):
    state = tmp_path / "stack.json"
    state.write_text(json.dumps({"pid": 2 ** 22 + 12345}))
    monkeypatch.setattr(local, "STATE", state)
    with pytest.raises(SystemExit, match="not running any more: start one with `just local`"):
        local.load_state()


def test_summary_says_which_groups_were_rejected_and_why():
    """The log processor's per-object result (lambdas/log-processor/src/s3.rs `ObjectReport`) with a
    group the table can never take: the one line `just local` prints names it and the reason."""
    out = {"objects": [{"accepted": 70, "rejected": {}, "groups_written": 1, "groups_rejected": 1,
                        "rejected_group_examples": [{"service": "web", "minute": "2026-12-02T05:00:00Z",
                                                     "reason": "item_too_large", "message": "..."}]}]}
    line = local.summary(out)
    assert line == ("70 lines accepted, 0 rejected, 1 (service, minute) groups written, "
                    "1 groups rejected (web@2026-12-02T05:00:00Z item_too_large)"), line
    del out["objects"][0]["groups_rejected"]
    assert "groups rejected" not in local.summary(out)
