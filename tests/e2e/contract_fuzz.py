"""Contract fuzzing: schemathesis draws requests from docs/openapi.yaml, valid ones and ones that
break it, sends them through the local API Gateway front to the real metrics-api, and checks every
answer against the same document (status documented for the operation, content type, body schema,
headers, no 5XX). Authentication is added as the deployed method requires (API key, SigV4), so
the requests reach the function instead of the gateway's 403.

Bounded and reproducible: a fixed number of examples per operation and mode, derandomized, no
shrinking (a failure is reported as drawn, with the request that caused it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation.modes import GenerationMode

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


class FrontAuth(requests.auth.AuthBase):
    """Signs each prepared request (final URL and body bytes) as `front.client_headers` says the
    deployed method needs: the API key where required, SigV4 for AWS_IAM methods."""

    def __init__(self, front, api_key: str | None, creds):
        self.front, self.api_key, self.creds = front, api_key, creds

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        path_q = r.url[len(self.front.url):] or "/"
        body = r.body.encode() if isinstance(r.body, str) else r.body
        signed = self.front.client_headers(r.method, path_q, body, dict(r.headers), self.api_key, self.creds)
        r.headers.update(signed)
        return r


@dataclass
class Report:
    calls: int = 0
    by_status: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # "METHOD path?query -> status: what failed"


def run(front, api_key: str | None, creds, examples: int = 25) -> Report:
    schema = schemathesis.openapi.from_path(str(DOC))
    session = requests.Session()
    session.auth = FrontAuth(front, api_key, creds)
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                response = case.call(base_url=front.url, session=session, timeout=30)
                report.calls += 1
                report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response)
                except Exception as e:  # a failed check: keep going, report them all
                    request = response.request
                    report.failures.append(f"{mode} {request.method} {request.path_url} -> {response.status_code} "
                                           f"{response.text[:200]!r}: {str(e).strip()[:600]}")

            check()
    return report
