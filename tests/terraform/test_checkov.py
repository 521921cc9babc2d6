"""checkov on the generated module: zero failed checks; every skip is inline with a reason and
listed in the module README."""

import fnmatch
import json
import re

import tools


def test_checkov_passes_with_only_reviewed_skips(tmp_path):
    proc = tools.run(
        [tools.checkov_bin(), "-d", str(tools.MODULE), "--framework", "terraform", "--skip-download",
         "--compact", "-o", "json", "--output-file-path", str(tmp_path)],
        tools.REPO, check=False, timeout=900,
    )
    report_file = tmp_path / "results_json.json"
    assert report_file.exists(), f"checkov wrote no report (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(report_file.read_text())
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    assert not failed, "checkov failed:\n" + "\n".join(f"{c['check_id']} {c['resource']} {c['file_path']}" for c in failed)
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 100, "checkov checked suspiciously little"
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    assert skipped, "expected the reviewed inline skips to be reported as skipped"
    readme = (tools.MODULE / "README.md").read_text()
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason) > 20, f"{c['check_id']} on {c['resource']} has no real reason: {reason!r}"
        assert c["check_id"] in readme, f"README does not list the skip {c['check_id']}"


def test_inline_skips_have_reasons():
    for path in tools.MODULE.rglob("*.tf"):
        for m in re.finditer(r"checkov:skip=([A-Z0-9_]+)(:?)(.*)", path.read_text()):
            assert m.group(2) == ":" and len(m.group(3).strip()) > 20, f"{path}: {m.group(0)} lacks a reason"


def test_readme_lists_every_skip_with_its_reason():
    """The module README's skip table is what a reviewer reads: each inline skip, resource and reason."""
    readme = (tools.MODULE / "README.md").read_text()
    table = readme[readme.index("## Accepted checkov skips"):]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    found = 0
    for path in tools.MODULE.rglob("*.tf"):
        rel = str(path.relative_to(tools.MODULE))
        for m in re.finditer(r"checkov:skip=([A-Z0-9_]+):(.*)", path.read_text()):
            check, reason = m.group(1), m.group(2).strip().replace("|", "\\|")
            found += 1
            assert any(f"`{rel}`" in r and f"`{check}`" in r and r.rstrip(" |").endswith(reason) for r in rows), (
                f"README has no row for {check} in {rel} with reason {reason!r}")
    assert found and len(rows) <= found, "the README lists skips that are not in the module"


SECURITY = tools.REPO / "docs" / "security.md"


def justified_plan_findings() -> list[tuple[str, str]]:
    """(check id, resource glob) rows of docs/security.md's plan table."""
    text = SECURITY.read_text()
    section = text[text.index("## checkov on the plan of examples/complete"):]
    section = section[:section.index("\n## ", 1)]
    rows = []
    for line in section.splitlines():
        m = re.match(r"\| `([A-Z0-9_]+)` \| `([^`]+)` \| (.+) \|$", line)
        if m:
            assert len(m.group(3).strip()) > 20, f"no real reason in {line!r}"
            rows.append((m.group(1), m.group(2)))
    return rows


def test_checkov_on_the_plan_of_examples_complete_finds_only_justified_checks(complete_plan, tmp_path):
    """The plan (`terraform show -json` of the offline plan test_plan.py uses) through
    `checkov --framework terraform_plan`: inline skips do not apply there, so every failed check
    must be a row of docs/security.md, and every row must still match a finding."""
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(complete_plan["plan"]))
    out = tmp_path / "out"
    proc = tools.run(
        [tools.checkov_bin(), "-f", str(plan_file), "--framework", "terraform_plan", "--skip-download",
         "--compact", "-o", "json", "--output-file-path", str(out)],
        tools.REPO, check=False, timeout=900,
    )
    report_file = out / "results_json.json"
    assert report_file.exists(), f"checkov wrote no report (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(report_file.read_text())
    reports = report if isinstance(report, list) else [report]
    assert sum(r["summary"]["passed"] for r in reports) > 100, "checkov checked suspiciously little"
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    rows = justified_plan_findings()
    unjustified = [f for f in failed if not any(f[0] == cid and fnmatch.fnmatchcase(f[1], glob) for cid, glob in rows)]
    assert not unjustified, "checkov on the plan failed checks docs/security.md does not justify:\n" + "\n".join(
        f"{cid} {res}" for cid, res in unjustified)
    stale = [(cid, glob) for cid, glob in rows if not any(f[0] == cid and fnmatch.fnmatchcase(f[1], glob) for f in failed)]
    assert not stale, f"docs/security.md justifies plan findings that no longer occur: {stale}"


def test_security_md_lists_every_inline_skip():
    text = SECURITY.read_text()
    section = text[text.index("## checkov: inline skips on the module"):]
    section = section[:section.index("\n## ", 1)]
    for path in tools.MODULE.rglob("*.tf"):
        for m in re.finditer(r"checkov:skip=([A-Z0-9_]+):", path.read_text()):
            assert f"`{m.group(1)}`" in section, f"docs/security.md does not list the inline skip {m.group(1)} ({path.name})"
    assert "## Policy lint (parliament)" in text
