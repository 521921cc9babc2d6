"""Dev only: a package dir in `gen package`'s format from bootstraps you name (NOT used by `just e2e`).

    python -m e2e.devpack OUT log-processor=PATH metrics-api=PATH runbook-executor=PATH
Lets the harness run before/without cargo-lambda, e.g. with host `cargo build` binaries.
"""

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path


def main(out: Path, bins: dict[str, Path]) -> None:
    functions = {}
    for name, path in sorted(bins.items()):
        zpath = out / "x86_64" / f"{name}.zip"
        zpath.parent.mkdir(parents=True, exist_ok=True)
        info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(zpath, "w") as z:
            z.writestr(info, path.read_bytes())
        data = zpath.read_bytes()
        digest = hashlib.sha256(data).digest()
        functions[name] = {"architecture": "x86_64", "zip": f"x86_64/{name}.zip", "sha256": digest.hex(),
                           "source_code_hash": base64.b64encode(digest).decode(), "size": len(data)}
    manifest = {"format_version": 1, "profile": "dev", "functions": functions}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), {k: Path(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])})
