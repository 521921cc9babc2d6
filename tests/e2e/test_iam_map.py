"""The harness's IAM table agrees with the contract the module's policies are written from.

`gen contract` prints each AWS operation the functions perform with its request name (what moto
authorises) and the IAM actions AWS authorises it with (what the module grants). Wherever the two
differ (a TransactWriteItems of Puts is authorised as dynamodb:PutItem, per item:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html),
a function user built from the role by `iam_map` must be allowed the request name, or the local
run would fail where AWS succeeds. Fast: no moto.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from . import iam_map

REPO = Path(__file__).resolve().parents[2]


def contract() -> dict:
    gen = os.environ.get("GEN_BIN")
    cmd = [gen, "contract"] if gen else ["cargo", "run", "--quiet", "--locked", "-p", "monitoring-gen", "--", "contract"]
    return json.loads(subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout)


def test_every_contract_operation_is_allowed_locally_by_the_actions_aws_checks():
    ops = contract()["operations"]
    assert any(op["api_action"] == "dynamodb:TransactWriteItems" for op in ops)
    for op in ops:
        if op["operation"] == "IamPassRole":
            continue  # not a request of its own: moto never checks it (docs/e2e.md)
        allowed = {m for action in op["iam_actions"] for m in iam_map.moto_actions(action)}
        request = iam_map.moto_actions(op["api_action"])[0]  # the request name under moto's prefix
        assert request in allowed, \
            f"{op['operation']}: a role granting {op['iam_actions']} gives the local user {sorted(allowed)}, not {request}"
