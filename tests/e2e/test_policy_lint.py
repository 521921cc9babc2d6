"""parliament runs offline on policy documents, and the accepted findings are mirrored in docs/security.md."""

import re
from pathlib import Path

from . import policy_lint
from .policy_lint import Document

SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def test_parliament_finds_what_it_should():
    findings = policy_lint.lint([
        Document("bad", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},  # needs an object ARN
            {"Effect": "Allow", "Action": "dynamodb:TransactWriteItems", "Resource": "*"}]}),  # no such IAM action
        Document("good", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/logs/*"}]}),
    ])
    assert {(f.document, f.issue) for f in findings} == {("bad", "RESOURCE_MISMATCH"), ("bad", "UNKNOWN_ACTION")}


def section() -> str:
    text = SECURITY_MD.read_text()
    m = re.search(r"^## Policy lint \(parliament\)\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"{SECURITY_MD} has no '## Policy lint (parliament)' section"
    return m.group(1)


def test_accepted_findings_have_reasons_and_are_documented():
    doc = section()
    for (issue, where), reason in policy_lint.ACCEPTED.items():
        assert len(reason) > 20, (issue, where)
        assert f"`{issue}`" in doc and f"`{where}`" in doc, \
            f"docs/security.md, Policy lint: no row for `{issue}` on `{where}`"
    rows = re.findall(r"^\| `([A-Z_]+)` \| `([^`]+)` \|", doc, re.M)
    assert set(rows) == set(policy_lint.ACCEPTED), "docs/security.md lists findings that ACCEPTED does not"

