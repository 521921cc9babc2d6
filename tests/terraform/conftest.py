import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tools  # noqa: E402


@pytest.fixture(scope="session")
def tree(tmp_path_factory) -> Path:
    """A private copy of terraform/ and examples/."""
    return tools.copy_tree(tmp_path_factory.mktemp("tf"))


@pytest.fixture(scope="session")
def complete_plan(tree, tmp_path_factory):
    """`terraform plan` of examples/complete offline, as `terraform show -json` data."""
    package = tmp_path_factory.mktemp("package")
    manifest = tools.fake_package(package)
    example = tree / "examples" / "complete"
    (example / "offline_override.tf").write_text(tools.OFFLINE_PROVIDER)
    tools.init(example)
    started = time.monotonic()
    tools.terraform(
        ["plan", "-input=false", "-no-color", "-lock=false", "-out=complete.tfplan", f"-var=lambda_package_dir={package}"],
        example,
    )
    elapsed = time.monotonic() - started
    shown = tools.terraform(["show", "-json", "complete.tfplan"], example)
    print(f"\noffline plan of examples/complete: {elapsed:.1f} s")
    return {"plan": json.loads(shown.stdout), "manifest": manifest, "package": package, "seconds": elapsed}
