"""`terraform init` against the provider mirror + `terraform validate` for the module, each
sub-module on its own, and each example."""

import pytest

import tools

SUBMODULES = sorted(p.name for p in (tools.MODULE / "modules").iterdir() if p.is_dir())
EXAMPLES = sorted(p.name for p in tools.EXAMPLES.iterdir() if any(p.glob("*.tf")))
TARGETS = ["terraform"] + [f"terraform/modules/{m}" for m in SUBMODULES] + [f"examples/{e}" for e in EXAMPLES]


@pytest.mark.parametrize("target", TARGETS)
def test_init_and_validate(tree, target):
    where = tree / target
    assert where.is_dir(), f"{target} is missing"
    # No backend: validate needs none, and examples/split-pipeline's S3 backend is configured at
    # init in its pipeline.
    tools.init(where, backend=False)
    proc = tools.terraform(["validate", "-no-color", "-json"], where, check=False)
    assert proc.returncode == 0, f"{target} is invalid:\n{proc.stdout}\n{proc.stderr}"
    import json

    result = json.loads(proc.stdout)
    assert result["valid"] is True
    assert result["warning_count"] == 0, f"{target} validates with warnings: {result['diagnostics']}"
