#!/usr/bin/env python3
"""`just local`: the whole stack on a local moto server, left running for a person to try.

    python scripts/local.py                  # start: moto, terraform apply, functions, HTTP API
    python scripts/local.py upload FILE      # put a log file into the bucket (service from --service)
    python scripts/local.py upload --sample  # the e2e sample logs (JSON lines, EMF, combined gzip)
    python scripts/local.py alarm            # list the alarms and their states
    python scripts/local.py alarm NAME       # move an alarm to ALARM (or --state OK)
    python scripts/local.py post SERVICE METRIC=VALUE ...   # POST /metrics, signed as the API requires

moto enforces IAM as in `just e2e`: Terraform and these commands use an administrator made first,
each function runs as a user holding its deployed role's statements, and the HTTP front checks API
keys and SigV4 per method as API Gateway would.

What AWS would do on its own is relayed here: a new object in the logs bucket becomes the S3 event
the real log-processor binary receives; an alarm state change becomes the SNS notification the
real runbook-executor receives; HTTP requests become API Gateway REST proxy events for metrics-api.
A page (tests/e2e/page_server.py; URL in the banner) charts GET /metrics per service and shows the
alarms' states; its server adds the API's credentials, so the browser holds none.
Ctrl-C stops everything (add --destroy to run `terraform destroy` first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from e2e import events, flows, procs, samples, sns_filter  # noqa: E402
from e2e.apigw_front import ApiFront, client_headers, routes_from_moto  # noqa: E402
from e2e.harness import Env  # noqa: E402
from e2e.moto_server import Creds, MotoServer  # noqa: E402
from e2e.page_server import PageServer  # noqa: E402
from e2e.runtime_api import InvocationError  # noqa: E402
from e2e.steps import note, step  # noqa: E402

WORKDIR = REPO / "dist" / "local"
STATE = WORKDIR / "stack.json"
TAG = "local"


def say(msg: str) -> None:
    print(f"[{TAG}] {msg}", flush=True)


# ---- relays: what S3 notifications, CloudWatch -> SNS and SNS -> email would do ----------------

class Relays:
    def __init__(self, env: Env, log_fn, runbook_fn, tap_queue: str):
        self.env, self.log_fn, self.runbook_fn, self.tap_queue = env, log_fn, runbook_fn, tap_queue
        s3, cw = env.aws("s3"), env.aws("cloudwatch")
        self.seen = {(v["Key"], v.get("VersionId")) for v in self._versions(s3)}
        self.states = {a["AlarmName"]: a["StateValue"] for a in cw.describe_alarms()["MetricAlarms"]}
        sns = env.aws("sns")
        self.subscription = next(s["SubscriptionArn"] for s in
                                 sns.list_subscriptions_by_topic(TopicArn=env.stack.topic_arn)["Subscriptions"]
                                 if s["Protocol"] == "lambda")
        self.stop = threading.Event()

    def _versions(self, s3) -> list[dict]:
        out, kw = [], {"Bucket": self.env.stack.bucket, "Prefix": self.env.stack.logs_prefix}
        while True:
            page = s3.list_object_versions(**kw)
            out += page.get("Versions", [])
            if not page.get("IsTruncated"):
                return out
            kw.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])

    def run(self) -> None:
        s3, cw, sqs = self.env.aws("s3"), self.env.aws("cloudwatch"), self.env.aws("sqs")
        while not self.stop.wait(1.0):
            try:
                self._objects(s3)
                self._alarms(cw)
                self._tap(sqs)
            except Exception as e:  # keep relaying; say what went wrong
                say(f"relay error: {type(e).__name__}: {e}")

    def _objects(self, s3) -> None:
        for v in sorted(self._versions(s3), key=lambda v: v["LastModified"]):
            ident = (v["Key"], v.get("VersionId"))
            if ident in self.seen:
                continue
            self.seen.add(ident)
            rec = events.s3_record(self.env.stack.bucket, v["Key"], v["Size"], v["ETag"], v.get("VersionId"),
                                   f"{int(time.time() * 1e6):016X}", self.env.stack.notification_id)
            self._invoke(self.log_fn, events.s3_event([rec]), f"s3 ObjectCreated:Put {v['Key']}")

    def _alarms(self, cw) -> None:
        for a in cw.describe_alarms()["MetricAlarms"]:
            old = self.states.get(a["AlarmName"])
            self.states[a["AlarmName"]] = a["StateValue"]
            if old is None or not notifies(a, old, a["StateValue"], self.env.stack.topic_arn):
                continue
            msg = events.alarm_message(a, a["StateValue"], old, a.get("StateReason") or "set locally")
            ev = events.sns_event(self.env.stack.topic_arn, events.alarm_subject(msg), json.dumps(msg),
                                  self.subscription)
            self._deliver(ev, f"alarm {a['AlarmName']} {old} -> {a['StateValue']}")

    def _deliver(self, ev, what: str) -> None:
        """SNS -> the executor's subscription: only what its filter policy passes, evaluated as AWS
        documents it (tests/e2e/sns_filter.py), read from the deployed subscription each time."""
        policy, scope = flows.subscription_filter(self.env.aws("sns"), self.subscription)
        if sns_filter.matches(policy, scope, ev["Records"][0]["Sns"]):
            self._invoke(self.runbook_fn, ev, what)
        else:
            say(f"{what}: not delivered to {self.runbook_fn.name} (subscription filter {scope} {json.dumps(policy)})")

    def _tap(self, sqs) -> None:
        msgs = sqs.receive_message(QueueUrl=self.tap_queue, MaxNumberOfMessages=10).get("Messages", [])
        for raw in msgs:
            sqs.delete_message(QueueUrl=self.tap_queue, ReceiptHandle=raw["ReceiptHandle"])
            m = json.loads(raw["Body"])
            # The notification topic: what on-call's e-mail subscriptions get in AWS (the
            # executor's message, or CloudWatch's forwarded by it). The executor does not
            # subscribe to this topic, so nothing goes back to it.
            say(f"e-mail to on-call (notification topic): Subject: {m.get('Subject')}")
            for line in m["Message"].splitlines()[:40]:
                print(f"    {line}", flush=True)

    def _invoke(self, fn, event, what: str) -> None:
        start = time.monotonic()
        try:
            out = fn.invoke(event)
            say(f"{what} -> {fn.name} ok ({(time.monotonic() - start) * 1000:.0f} ms): {summary(out)}")
        except InvocationError as e:
            say(f"{what} -> {fn.name} FAILED: {str(e)[:400]}")


def summary(out) -> str:
    """One readable line from a function's result (the full result is in its log)."""
    if isinstance(out, dict) and "objects" in out:
        parts = []
        for o in out["objects"]:
            rejected = o.get("rejected") or {}
            n_rej = sum(rejected.values()) if isinstance(rejected, dict) else len(rejected)
            line = (f"{o.get('accepted')} lines accepted, {n_rej or 0} rejected, "
                    f"{o.get('groups_written')} (service, minute) groups written")
            if o.get("groups_rejected"):  # groups the table can never take: why, with examples
                examples = ", ".join(f"{e.get('service')}@{e.get('minute')} {e.get('reason')}"
                                     for e in o.get("rejected_group_examples") or [])
                line += f", {o['groups_rejected']} groups rejected ({examples})"
            parts.append(line)
        return "; ".join(parts) or json.dumps(out)[:200]
    if isinstance(out, dict) and "records" in out:
        return "; ".join(f"{r.get('status')}: " + ", ".join(f"{st.get('step')} {st.get('outcome')}"
                                                           for st in r.get("steps", []))
                         for r in out["records"])
    return json.dumps(out)[:200]


# ---- decisions (pure, tested in tests/local without a stack) ------------------------------------

# CloudWatch runs an alarm's actions only when its state changes, and only the actions configured
# for the new state (AlarmActions, OKActions, InsufficientDataActions), when actions are enabled:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
_ACTIONS = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}


def notifies(alarm: dict, old: str, new: str, topic_arn: str) -> bool:
    """Does CloudWatch notify the topic when `alarm` goes from `old` to `new`?"""
    return (old != new and alarm.get("ActionsEnabled", True)
            and topic_arn in (alarm.get(_ACTIONS[new]) or []))


def alarm_plan(alarms: list[dict], name: str | None, state: str, topic_arn: str) -> tuple[bool, str]:
    """What `alarm NAME --state STATE` should do: (set it?, the one line to print)."""
    names = sorted(a["AlarmName"] for a in alarms)
    if not name:
        return False, ("alarms (state now):\n" + "".join(f"  {a['AlarmName']} ({a['StateValue']})\n"
                                                        for a in sorted(alarms, key=lambda a: a["AlarmName"]))
                       + "fire one with: scripts/local.py alarm NAME [--state OK|ALARM|INSUFFICIENT_DATA]")
    alarm = next((a for a in alarms if a["AlarmName"] == name), None)
    if alarm is None:
        close = [n for n in names if name.lower() in n.lower()]
        return False, (f"alarm: no alarm named {name!r}; "
                       + (f"did you mean {', '.join(close)}? " if close else "")
                       + "`scripts/local.py alarm` lists them")
    current = alarm["StateValue"]
    if current == state:
        other = "OK" if state != "OK" else "ALARM"
        return False, (f"alarm: {name} is already {state}; CloudWatch notifies only on a state change, "
                       f"so nothing would be sent: run `scripts/local.py alarm {name} --state {other}` first")
    if notifies(alarm, current, state, topic_arn):
        return True, f"alarm {name} {current} -> {state}; the runbook executor gets the SNS notification within a second"
    return True, (f"alarm {name} {current} -> {state}; it has no {_ACTIONS[state]} on the topic, "
                  "so CloudWatch sends no notification (as on AWS)")


def upload_key(prefix: str, path: Path, service: str | None, key: str | None) -> str:
    """The object key for `upload FILE`; SystemExit with what to do instead when nothing would
    process it (the bucket notifies the log processor only under the logs prefix)."""
    prefix = prefix.rstrip("/") + "/"
    if key is None:
        return f"{prefix}{service or 'local'}/{path.name}"
    if not key.startswith(prefix) or key == prefix:
        raise SystemExit(f"upload: --key {key!r} is outside {prefix!r}: S3 notifies the log processor only "
                         f"for keys under it; use --key {prefix}<service>/{path.name}")
    return key


def check_upload_file(path: Path) -> None:
    if not path.exists():
        raise SystemExit(f"upload: {path} does not exist; give the path of a log file, or --sample")
    if not path.is_file():
        raise SystemExit(f"upload: {path} is not a file; give the path of a log file, or --sample")


def sample_query(truth: samples.Truth, service: str = "web") -> str:
    """A GET /metrics query string over exactly the uploaded sample's minutes for `service`: one
    point per metric (period = the whole range), valid under the API's rules (period <= range, a
    multiple of 60 s)."""
    minutes = sorted({m for s, m, _ in truth.values if s == service})
    first = datetime.fromisoformat(minutes[0].replace("Z", "+00:00"))
    last = datetime.fromisoformat(minutes[-1].replace("Z", "+00:00")) + timedelta(minutes=1)
    period = int((last - first).total_seconds())
    return (f"service={service}&from={flows.iso(first)}&to={flows.iso(last)}"
            f"&period={period}&stat=count,avg,p99")


# ---- serve ---------------------------------------------------------------------------------------

def serve(args) -> int:
    if STATE.exists():
        other = json.loads(STATE.read_text()).get("pid")
        if other and Path(f"/proc/{other}").exists():
            raise SystemExit(f"a local stack is already running (pid {other}); stop it with Ctrl-C first")
    shutil.rmtree(WORKDIR, ignore_errors=True)  # a fresh moto has none of the old state anyway
    WORKDIR.mkdir(parents=True)
    env = Env(WORKDIR, tag=TAG)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    front = relays = policy = page = None
    started = time.monotonic()
    try:
        with step(1, "start moto server", TAG):
            env.start_moto(port=args.moto_port)
        with step(2, "terraform apply examples/local (about 90 s)", TAG):
            env.apply()
        with step(3, "read the stack back", TAG):
            for p in env.discover():
                note(f"warning: {p}", TAG)
            notes, problems = env.enforce_functions()  # each function's user from its applied role
            for line in notes + [f"warning: {p}" for p in problems]:
                note(line, TAG)
        s3 = env.aws("s3")
        # moto gap (see tests/e2e/flows.py): the TLS-only bucket policy blocks every object
        # request; lift it while the stack runs, put it back before exit.
        policy = s3.get_bucket_policy(Bucket=env.stack.bucket)["Policy"]
        s3.delete_bucket_policy(Bucket=env.stack.bucket)
        with step(4, "start the functions and the HTTP front", TAG):
            log_fn = env.start_function("log-processor")
            api_fn = env.start_function("metrics-api")
            rb_fn = env.start_function("runbook-executor")
            port = args.api_port if args.api_port and port_free(args.api_port) else 0
            front = env.api_front(api_fn, port=port)  # API keys and SigV4 as deployed
            caller = env.api_caller()
            tap = flows.subscribe_queue(env.aws("sqs"), env.aws("sns"), env.stack.notification_topic_arn)
            relays = Relays(env, log_fn, rb_fn, tap)
            threading.Thread(target=relays.run, daemon=True).start()
            # The page: charts of GET /metrics and the alarms' states; it adds the read credentials
            # itself, so the browser holds none.
            page_port = args.page_port if args.page_port and port_free(args.page_port) else 0
            page = PageServer(front, env.stack.api_key, caller, env.aws("cloudwatch"), port=page_port,
                              log=lambda line: print(line, flush=True))
        # Local-emulator keys only (moto's users die with it); the client commands sign with them.
        STATE.write_text(json.dumps({"moto": env.moto.endpoint, "bucket": env.stack.bucket,
                                     "prefix": env.stack.logs_prefix, "api_url": front.url,
                                     "api_id": env.stack.api_id, "stage": env.stack.stage,
                                     "api_key": env.stack.api_key, "pid": os.getpid(), "page_url": page.url,
                                     "admin": env.moto.admin, "api_caller": caller,
                                     "alarms": [a["AlarmName"] for a in env.stack.alarms],
                                     "topic_arn": env.stack.topic_arn}, indent=2))
        STATE.chmod(0o600)
        banner(env, front, caller, time.monotonic() - started, page.url)
        while not stopping.wait(0.5):
            pass
        print(flush=True)
        say("stopping ...")
        return 0
    except Exception as e:
        say(f"failed: {e}")
        return 1
    finally:
        if relays:
            relays.stop.set()
        if page:
            page.close()
        if front:
            front.close()
        for fn in env.running:
            fn.stop()
        env.running.clear()
        if policy and env.moto:
            try:
                env.aws("s3").put_bucket_policy(Bucket=env.stack.bucket, Policy=policy)
            except Exception:
                pass
        if args.destroy and env.applied:
            with step(5, "terraform destroy", TAG):
                env.tf.destroy()
        env.stop()
        procs.stop_all()
        STATE.unlink(missing_ok=True)
        say("stopped (moto and every function process ended)")


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def write_examples(front: ApiFront, key: str, caller: Creds, py: str) -> list[str]:
    """How to POST, as the deployed method requires (IAM: SigV4; else the API key)."""
    auth = front.method_auth("POST", "/metrics")
    body = "{\\\"service\\\":\\\"checkout\\\",\\\"timestamp\\\":\\\"$(date -u +%FT%TZ)\\\",\\\"metrics\\\":{\\\"queue_depth\\\":7}}"
    lines = [f"{py} scripts/local.py post checkout queue_depth=7"]
    if auth.authorization == "AWS_IAM":
        lines.append(f"curl -s -X POST --aws-sigv4 'aws:amz:us-east-1:execute-api' --user "
                     f"'{caller.key_id}:{caller.secret}' \\\n       -H 'Content-Type: application/json'"
                     + (f" -H 'x-api-key: {key}'" if auth.api_key_required else "")
                     + f" -d \"{body}\" {front.url}/metrics")
    else:
        lines.append(f"curl -s -X POST -H 'x-api-key: {key}' -H 'Content-Type: application/json' \\\n"
                     f"       -d \"{body}\" {front.url}/metrics")
    return lines


def banner(env: Env, front: ApiFront, caller: Creds, took: float, page_url: str) -> None:
    key, url = env.stack.api_key, front.url
    post = front.method_auth("POST", "/metrics")
    reads = front.method_auth("GET", "/metrics")
    alarm = next((a["AlarmName"] for a in env.stack.alarms if "log-processor" in a["AlarmName"]),
                 env.stack.alarms[0]["AlarmName"] if env.stack.alarms else "NAME")
    py = os.path.relpath(sys.executable, Path.cwd()) if sys.executable.startswith(str(REPO)) else sys.executable
    admin = env.moto.admin

    def guard(a) -> str:
        return " + ".join(([] if a.authorization == "NONE" else [f"{a.authorization} (SigV4, execute-api)"])
                          + (["API key"] if a.api_key_required else [])) or "none"
    writes = "\n  ".join(write_examples(front, key, caller, py))

    def get(path: str) -> str:  # the key where the deployed GET requires it (IAM reads: sign as for POST)
        a = front.method_auth("GET", path.split("?", 1)[0])
        if a.authorization == "AWS_IAM":
            return (f"curl -s --aws-sigv4 'aws:amz:us-east-1:execute-api' --user '{caller.key_id}:{caller.secret}'"
                    + (f" -H 'x-api-key: {key}'" if a.api_key_required else "") + f" '{url}{path}'")
        return "curl -s " + (f"-H 'x-api-key: {key}' " if a.api_key_required else "") + f"'{url}{path}'"
    print(f"""
[{TAG}] ready in {took:.0f} s
  Page         {page_url}   (open in a browser: charts per service and the alarms' states, refreshed every 30 s)
  Metrics API  {url}   (GET /metrics: {guard(reads)}; POST /metrics: {guard(post)}, enforced as API Gateway does)
  API key      {key}   (send as x-api-key)
  API caller   {caller.key_id} / {caller.secret}   (user {caller['UserName']}: execute-api:Invoke on the stage)
  AWS endpoint {env.moto.endpoint}   (moto, IAM enforced; administrator {admin.key_id} / {admin.secret})
  Logs bucket  {env.stack.bucket}
  Work dir     {WORKDIR}   (moto, terraform and function logs; keys in {STATE.name})

Try, in another terminal:
  {get("/health")}
  {py} scripts/local.py upload --sample
  {py} scripts/local.py upload path/to/app.log --service checkout
  {get("/metrics?service=checkout&stat=count,avg,p99&period=300")}
  {get("/metrics?stat=count,sum&period=3600")}
  {writes}
  {py} scripts/local.py alarm              (lists the alarms)
  {py} scripts/local.py alarm {alarm}

Ctrl-C stops everything.
""", flush=True)


# ---- client commands (talk to a running `just local` through moto) ------------------------------

def load_state() -> dict:
    if not STATE.exists():
        raise SystemExit(f"no local stack is running ({STATE} missing): start one with `just local`")
    state = json.loads(STATE.read_text())
    if state.get("pid") and not Path(f"/proc/{state['pid']}").exists():
        raise SystemExit(f"the local stack (pid {state['pid']}) is not running any more: start one with `just local`")
    return state


def client(state: dict, service: str):
    """boto3 client for the running moto, signed as the administrator `just local` made."""
    moto = MotoServer.__new__(MotoServer)
    moto.endpoint = state["moto"]
    moto.admin = Creds(state["admin"])
    return moto.client(service)


def post(args) -> int:
    """POST /metrics as the deployed method requires: SigV4 with the local API caller's key for
    AWS_IAM, the API key where one is required."""
    state = load_state()
    metrics = {}
    for kv in args.metrics:
        name, _, value = kv.partition("=")
        try:
            metrics[name] = float(value)
        except ValueError:
            raise SystemExit(f"post: {kv!r} is not METRIC=NUMBER")
    ts = args.timestamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = json.dumps({"service": args.service, "timestamp": ts, "metrics": metrics}).encode()
    routes = routes_from_moto(client(state, "apigateway"), state["api_id"])
    headers = {"Content-Type": "application/json"}
    if args.idempotency_key:
        headers["Idempotency-Key"] = args.idempotency_key
    headers = client_headers(routes, state["api_url"], "POST", "/metrics", body, headers, state["api_key"],
                             Creds(state["api_caller"]))
    status, _, data = flows.http("POST", state["api_url"] + "/metrics", body, headers)
    say(f"POST /metrics -> {status} {data.decode(errors='replace')[:300]}")
    return 0 if status < 300 else 1


def upload(args) -> int:
    state = load_state()
    s3 = client(state, "s3")
    if args.sample:
        objects, truth = samples.build()
        for o in objects:
            s3.put_object(Bucket=state["bucket"], Key=o.key, Body=o.body)
            say(f"uploaded s3://{state['bucket']}/{o.key} ({o.lines} lines)")
        say(f"services {', '.join(truth.services())}; data from {truth.minutes()[0]} to {truth.minutes()[-1]}. "
            "Query e.g. (web's totals over its minutes):")
        print(f"  curl -s -H 'x-api-key: {state['api_key']}' '{state['api_url']}/metrics?{sample_query(truth)}'")
        return 0
    if not args.file:
        raise SystemExit("upload: give a FILE or --sample")
    path = Path(args.file)
    check_upload_file(path)
    key = upload_key(state["prefix"], path, args.service, args.key)
    s3.put_object(Bucket=state["bucket"], Key=key, Body=path.read_bytes())
    say(f"uploaded s3://{state['bucket']}/{key}; the log processor gets its event within a second")
    return 0


def alarm(args) -> int:
    state = load_state()
    cw = client(state, "cloudwatch")
    alarms = [a for page in cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"])
              for a in page["MetricAlarms"]]
    go, line = alarm_plan(alarms, args.name, args.state, state["topic_arn"])
    if go:
        reason = args.reason or f"Set by scripts/local.py at {time.strftime('%H:%M:%S')}"
        cw.set_alarm_state(AlarmName=args.name, StateValue=args.state, StateReason=reason)
    say(line)
    return 0 if go or not args.name else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")
    ap.add_argument("--api-port", type=int, default=8080, help="HTTP port of the metrics API (default 8080, or any free)")
    ap.add_argument("--page-port", type=int, default=8081, help="HTTP port of the page (default 8081, or any free)")
    ap.add_argument("--moto-port", type=int, default=None, help="port of the moto server (default: a free one)")
    ap.add_argument("--destroy", action="store_true", help="terraform destroy before stopping")
    up = sub.add_parser("upload", help="put a log file into the logs bucket")
    up.add_argument("file", nargs="?")
    up.add_argument("--service", help="service name for lines without one (key logs/<service>/...)")
    up.add_argument("--key", help="full object key instead")
    up.add_argument("--sample", action="store_true", help="upload the e2e sample logs")
    al = sub.add_parser("alarm", help="list the alarms (no NAME) or change one's state")
    al.add_argument("name", nargs="?")
    al.add_argument("--state", default="ALARM", choices=["ALARM", "OK", "INSUFFICIENT_DATA"])
    al.add_argument("--reason")
    po = sub.add_parser("post", help="POST data points to the metrics API (signed when the method is AWS_IAM)")
    po.add_argument("service")
    po.add_argument("metrics", nargs="+", metavar="METRIC=VALUE")
    po.add_argument("--timestamp", help="RFC 3339 UTC (default: now)")
    po.add_argument("--idempotency-key")
    args = ap.parse_args()
    if args.cmd == "upload":
        return upload(args)
    if args.cmd == "alarm":
        return alarm(args)
    if args.cmd == "post":
        return post(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
