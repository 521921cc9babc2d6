"""checkov on the generated module: zero failed checks; every skip is inline with a reason and
listed in the module README."""

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
