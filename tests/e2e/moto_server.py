"""A private moto server on a free loopback port, stopped whatever happens."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import procs

INSTALL_HINT = (
    "moto[server] is missing from this Python. Run `./just tools` (scripts/bootstrap.sh installs the "
    "pinned tools into .tools/venv) and run the tests with .tools/venv/bin/python, or "
    "`pip install 'moto[server]==5.2.5' boto3 pytest` into the Python you use."
)

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ADMIN_USER = "local-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# moto counts requests that reach its authorisation check; these first ones create the admin
# (CreateUser, PutUserPolicy, CreateAccessKey) and every later request is authenticated and
# authorised. https://docs.getmoto.org/en/latest/docs/iam.html
BOOTSTRAP_REQUESTS = 3
# Variables that would make an SDK sign with something other than the key handed to it
# (a session token makes moto look for an assumed role; a profile points elsewhere).
FOREIGN_CREDENTIAL_VARS = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
                           "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_ROLE_ARN",
                           "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")


class Creds(dict):
    """An access key the harness created: {"AccessKeyId", "SecretAccessKey", "UserName"}."""

    @property
    def key_id(self) -> str:
        return self["AccessKeyId"]

    @property
    def secret(self) -> str:
        return self["SecretAccessKey"]

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret}


class MotoServer:
    """Context manager: `with MotoServer(workdir) as moto: moto.endpoint`."""

    def __init__(self, workdir: Path, python: str = sys.executable, port: int | None = None):
        self.python = python
        self.port = port or procs.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "moto.log"
        self.workdir = workdir
        self.proc = None
        self.admin: Creds | None = None
        # IAM never returns a secret again: every key the harness makes is kept here (by key id),
        # e.g. for the HTTP front's SigV4 check.
        self.keys: dict[str, Creds] = {}

    def start(self) -> "MotoServer":
        try:
            import moto.server  # noqa: F401  (fail early with an install hint, not a stack trace)
        except ImportError as e:
            raise RuntimeError(f"{INSTALL_HINT} ({e})") from e
        env = dict(os.environ)
        # AWS-managed policies (AWSLambdaBasicExecutionRole, ...) exist only with this switch.
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        # Where moto's request recorder writes (tests/e2e/cw_eval.py reads PutMetricData from it):
        # the run's work dir, never the checkout.
        env["MOTO_RECORDER_FILEPATH"] = str(self.workdir / "moto_recording")
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(BOOTSTRAP_REQUESTS)
        # moto's server, with its SigV4 check fixed for bodiless requests (see moto_main.py).
        argv = [self.python, str(Path(__file__).with_name("moto_main.py")), "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = procs.spawn(argv, env, self.log_path)
        procs.wait_for_port(self.port, self.proc, 60, "moto server", self.log_path)
        self._bootstrap_admin()
        return self

    def _bootstrap_admin(self) -> None:
        """Create the administrator in the unauthenticated requests, then prove enforcement is on."""
        import json

        from botocore.exceptions import ClientError

        iam = self._client("iam", "bootstrap", "bootstrap")
        iam.create_user(UserName=ADMIN_USER)
        iam.put_user_policy(UserName=ADMIN_USER, PolicyName="administrator", PolicyDocument=json.dumps(ADMIN_POLICY))
        self.admin = self.remember(iam.create_access_key(UserName=ADMIN_USER)["AccessKey"])
        try:
            self._client("sts", "testing", "testing").get_caller_identity()
        except ClientError as e:
            if e.response["Error"]["Code"] != "InvalidClientTokenId":
                raise
        else:
            raise RuntimeError("moto accepted an unknown access key after the bootstrap requests: "
                               "IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT) is not on")

    def remember(self, access_key: dict) -> Creds:
        creds = Creds(AccessKeyId=access_key["AccessKeyId"], SecretAccessKey=access_key["SecretAccessKey"],
                      UserName=access_key["UserName"])
        self.keys[creds.key_id] = creds
        return creds

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
            self.proc = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _client(self, service: str, key_id: str, secret: str):
        import boto3

        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def client(self, service: str, creds: Creds | None = None):
        """A boto3 client signing with `creds` (default: the administrator)."""
        creds = creds or self.admin
        return self._client(service, creds.key_id, creds.secret)

    def aws_env(self, creds: Creds | None = None) -> dict[str, str]:
        """Environment that points an AWS SDK (Rust or Python) at this server, signing with `creds`
        (default: the administrator). Apply with `scrub_env` so no other credential source leaks in."""
        env = {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",  # never wait on IMDS on a laptop
        }
        env.update((creds or self.admin).env())
        return env


def scrub_env(env: dict[str, str]) -> dict[str, str]:
    """`env` without variables that would make an SDK use other credentials than its access key."""
    return {k: v for k, v in env.items() if k not in FOREIGN_CREDENTIAL_VARS}
