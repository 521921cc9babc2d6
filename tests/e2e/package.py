"""The packaged functions as `gen package` wrote them: manifest, zips, extracted bootstraps."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

FUNCTIONS = ("log-processor", "metrics-api", "runbook-executor")


@dataclass
class Package:
    name: str
    zip_path: Path
    sha256: str
    source_code_hash: str
    architecture: str


def package_dir(repo: Path) -> Path:
    return Path(os.environ.get("LAMBDA_PACKAGE_DIR") or repo / "dist" / "e2e" / "lambda")


def load(pkg_dir: Path) -> dict[str, Package]:
    """Read manifest.json and check every zip against it (a stale zip would test the wrong code)."""
    manifest_path = pkg_dir / "manifest.json"
    if not manifest_path.exists():
        raise RuntimeError(
            f"{manifest_path} is missing: run `just package-e2e` (gen package --arch x86_64 --profile e2e "
            f"--out {pkg_dir}) first, or set LAMBDA_PACKAGE_DIR")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format_version") != 1:
        raise RuntimeError(f"{manifest_path}: unsupported format_version {manifest.get('format_version')}")
    out = {}
    for name in FUNCTIONS:
        entry = manifest["functions"].get(name)
        if entry is None:
            raise RuntimeError(f"{manifest_path} has no entry for {name}")
        zip_path = pkg_dir / entry["zip"]
        digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise RuntimeError(f"{zip_path}: sha256 {digest} != manifest {entry['sha256']}; repackage")
        if entry["architecture"] != "x86_64":
            raise RuntimeError(f"{name} is packaged for {entry['architecture']}; e2e runs x86_64 binaries here")
        out[name] = Package(name, zip_path, entry["sha256"], entry["source_code_hash"], entry["architecture"])
    return out


def snapshot(pkg_dir: Path, dest: Path) -> Path:
    """Copy manifest.json and the zips it names to dest, checked against the manifest."""
    load(pkg_dir)  # clear error first if the package is missing or stale
    manifest = json.loads((pkg_dir / "manifest.json").read_text())
    dest.mkdir(parents=True, exist_ok=True)
    for entry in manifest["functions"].values():
        (dest / entry["zip"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pkg_dir / entry["zip"], dest / entry["zip"])
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return dest


def extract_bootstrap(pkg: Package, dest: Path) -> Path:
    """Unzip the function's `bootstrap` as Lambda does (/var/task/bootstrap, executable)."""
    with zipfile.ZipFile(pkg.zip_path) as z:
        names = z.namelist()
        if names != ["bootstrap"]:
            raise RuntimeError(f"{pkg.zip_path} must hold exactly one entry `bootstrap`, has {names}")
        target = dest / pkg.name
        target.mkdir(parents=True, exist_ok=True)
        path = Path(z.extract("bootstrap", target))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path
