"""Packaging guarantees, checked on real builds (the x86_64 `e2e` packages `just package-e2e` made):

- zips are byte-reproducible: a rebuild after touching every function's source gives the same
  sha256 for every zip (fixed timestamps, order and modes; `bootstrap` executable);
- every bootstrap runs on provided.al2023: no GLIBC symbol version newer than 2.34, checked with
  `readelf`, independently of gen's own ELF reader;
- manifest.json matches the zips it describes (what Terraform's source_code_hash relies on).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ["log-processor", "metrics-api", "runbook-executor"]
MAX_GLIBC = (2, 34)


def package_dir() -> Path:
    path = Path(os.environ.get("LAMBDA_PACKAGE_DIR", ROOT / "dist/e2e/lambda"))
    if not (path / "manifest.json").is_file():
        pytest.fail(f"{path}/manifest.json is missing: run `./just package-e2e` first")
    return path


def load_manifest(path: Path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def gen_package(out: Path, profile: str) -> None:
    subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "monitoring-gen", "--",
         "package", "--arch", "x86_64", "--profile", profile, "--out", str(out)],
        cwd=ROOT, check=True,
    )


def test_manifest_describes_the_zips():
    path = package_dir()
    manifest = load_manifest(path)
    assert manifest["format_version"] == 1
    assert sorted(manifest["functions"]) == FUNCTIONS
    for name, entry in manifest["functions"].items():
        data = (path / entry["zip"]).read_bytes()
        digest = hashlib.sha256(data).digest()
        assert entry["sha256"] == digest.hex(), name
        assert entry["source_code_hash"] == base64.b64encode(digest).decode(), name
        assert entry["size"] == len(data), name
        assert entry["architecture"] == "x86_64", name


def test_zip_holds_one_executable_bootstrap_with_fixed_metadata():
    path = package_dir()
    for entry in load_manifest(path)["functions"].values():
        with zipfile.ZipFile(path / entry["zip"]) as archive:
            assert archive.testzip() is None
            (info,) = archive.infolist()
            assert info.filename == "bootstrap"
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            mode = info.external_attr >> 16
            assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o755


def test_bootstraps_need_at_most_glibc_2_34():
    if shutil.which("readelf") is None:
        pytest.fail("readelf is missing: apt-get install binutils")
    path = package_dir()
    for name, entry in load_manifest(path)["functions"].items():
        with zipfile.ZipFile(path / entry["zip"]) as archive:
            binary = path / f".{name}.bootstrap"
            binary.write_bytes(archive.read("bootstrap"))
        try:
            out = subprocess.run(["readelf", "-V", "-W", str(binary)], check=True,
                                 capture_output=True, text=True).stdout
            header = subprocess.run(["readelf", "-h", str(binary)], check=True,
                                    capture_output=True, text=True).stdout
        finally:
            binary.unlink()
        assert "X86-64" in header or "x86-64" in header.lower(), name
        versions = {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_([0-9.]+)", out)}
        assert versions, f"{name}: no GLIBC versions found; is it dynamically linked?"
        newest = max(versions)
        assert newest[:2] <= MAX_GLIBC, f"{name} needs GLIBC_{'.'.join(map(str, newest))}"


def test_rebuild_after_touch_gives_identical_zips(tmp_path):
    """Touching the sources forces cargo to recompile and relink every function; the zips
    must come out byte-identical, so Terraform plans no change for an unchanged build."""
    profile = load_manifest(package_dir())["profile"]
    gen_package(tmp_path / "first", profile)  # up to date after package-e2e: packs only
    for name in FUNCTIONS:
        for source in (ROOT / "lambdas" / name / "src").rglob("*.rs"):
            source.touch()
    gen_package(tmp_path / "second", profile)
    first = (tmp_path / "first/manifest.json").read_bytes()
    second = (tmp_path / "second/manifest.json").read_bytes()
    assert json.loads(first)["functions"].keys() == set(FUNCTIONS)
    assert second == first
    for name in FUNCTIONS:
        zip_name = f"x86_64/{name}.zip"
        assert (tmp_path / "first" / zip_name).read_bytes() == \
               (tmp_path / "second" / zip_name).read_bytes(), name
