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
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class MotoServer:
    """Context manager: `with MotoServer(workdir) as moto: moto.endpoint`."""

    def __init__(self, workdir: Path, python: str = sys.executable, port: int | None = None):
        self.python = python
        self.port = port or procs.free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "moto.log"
        self.proc = None

    def start(self) -> "MotoServer":
        try:
            import moto.server  # noqa: F401  (fail early with an install hint, not a stack trace)
        except ImportError as e:
            raise RuntimeError(f"{INSTALL_HINT} ({e})") from e
        env = dict(os.environ)
        env.update(DUMMY_CREDENTIALS)
        # AWS-managed policies (AWSLambdaBasicExecutionRole, ...) exist only with this switch.
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        argv = [self.python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = procs.spawn(argv, env, self.log_path)
        procs.wait_for_port(self.port, self.proc, 60, "moto server", self.log_path)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc)
            self.proc = None

    def __enter__(self) -> "MotoServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, service: str):
        import boto3

        return boto3.client(
            service, region_name=REGION, endpoint_url=self.endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token="testing",
        )

    def aws_env(self) -> dict[str, str]:
        """Environment that points an AWS SDK (Rust or Python) at this server."""
        env = {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",  # never wait on IMDS on a laptop
        }
        env.update(DUMMY_CREDENTIALS)
        return env
