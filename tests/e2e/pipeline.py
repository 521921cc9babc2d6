"""Issue 15's split pipeline on the e2e's one apply: `gen publish` to the emulator's S3, then
`terraform plan -out` on one "runner" and `terraform apply <plan>` on another.

The second runner is another directory with its own copy of the configuration (a checkout of the
same commit), its own `TF_DATA_DIR` (its own `init`, providers chosen by the first runner's lock
file) and only what a pipeline hands from job to job: the saved plan, the lock file and the
module inputs `gen publish` wrote. Neither runner is given the package folder; the module's
default (`dist/lambda` beside the copied module) does not exist there, so a plan or apply that
reached for the zips would fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from .moto_server import scrub_env

# The pipeline's bucket (the stack never creates or reads it): versioned, as an artifact bucket
# should be, so the inputs pin each object's version too.
ARTIFACT_BUCKET = "appmon-ci-artifacts"
ARTIFACT_PREFIX = "ci/appmon"
INPUTS = "lambda.auto.tfvars.json"  # loaded by terraform from the working directory by itself
# What job 1 hands to job 2 besides the commit: the saved plan, the provider lock file, the inputs.
HANDED_OVER = ("tfplan", ".terraform.lock.hcl", INPUTS)


def gen_command(repo: Path) -> list[str]:
    """`gen`: $GEN_BIN when set, else `cargo run` in the workspace (`just e2e` has built it)."""
    if os.environ.get("GEN_BIN"):
        return [os.environ["GEN_BIN"]]
    return ["cargo", "run", "--quiet", "--locked", "--manifest-path", str(repo / "Cargo.toml"),
            "-p", "monitoring-gen", "--"]


def make_artifact_bucket(s3) -> None:
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    s3.put_bucket_versioning(Bucket=ARTIFACT_BUCKET, VersioningConfiguration={"Status": "Enabled"})


def publish(repo: Path, package_dir: Path, out: Path, aws_env: dict[str, str]) -> str:
    """`gen publish` with the SDK pointed at moto by AWS_ENDPOINT_URL (the standard variable);
    returns its report (stderr)."""
    argv = gen_command(repo) + ["publish", "--bucket", ARTIFACT_BUCKET, "--prefix", ARTIFACT_PREFIX,
                                "--package-dir", str(package_dir), "--out", str(out)]
    env = scrub_env(dict(os.environ))
    env.update(aws_env)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"`{shlex.join(argv)}` exited {proc.returncode}:\n{proc.stderr}{proc.stdout}")
    return proc.stderr


def check_published(s3, inputs: dict, manifest: dict) -> list[str]:
    """Every function's entry names the object holding exactly its zip: the content-addressed key,
    the manifest's hash and architecture, the object's current version; the bytes read back from
    S3 hash to the manifest's sha256 (moto keeps whatever checksum it is sent without checking it,
    so the bytes are hashed here) and S3 reports that checksum."""
    problems = []
    code = inputs.get("lambda_s3_code", {})
    if sorted(code) != sorted(manifest["functions"]):
        problems.append(f"lambda_s3_code names {sorted(code)}, the manifest {sorted(manifest['functions'])}")
    for name, entry in manifest["functions"].items():
        got = code.get(name)
        if got is None:
            continue
        want = {"bucket": ARTIFACT_BUCKET, "key": f"{ARTIFACT_PREFIX}/{name}/{entry['sha256']}.zip",
                "source_code_hash": entry["source_code_hash"], "architecture": entry["architecture"]}
        extra = {k: v for k, v in got.items() if k != "version"}
        if extra != want:
            problems.append(f"{name}: inputs {extra} != {want}")
            continue
        obj = s3.get_object(Bucket=ARTIFACT_BUCKET, Key=want["key"], ChecksumMode="ENABLED")
        body = obj["Body"].read()
        digest = hashlib.sha256(body).digest()
        if digest.hex() != entry["sha256"]:
            problems.append(f"{name}: s3://{ARTIFACT_BUCKET}/{want['key']} holds sha256 {digest.hex()}")
        if obj.get("ChecksumSHA256") != base64.b64encode(digest).decode():
            problems.append(f"{name}: S3 reports ChecksumSHA256 {obj.get('ChecksumSHA256')}")
        if got.get("version") != obj.get("VersionId"):
            problems.append(f"{name}: inputs version {got.get('version')} != the object's {obj.get('VersionId')}")
    return problems


def check_state(state: dict, inputs: dict, manifest: dict) -> list[str]:
    """What the applying runner recorded for each function (its state file, local backend): code
    from the published object (no file name), the manifest's source_code_hash, so a later plan
    from the same inputs compares like with like."""
    problems, seen = [], set()
    for r in state.get("resources", []):
        if r.get("type") != "aws_lambda_function":
            continue
        name = r["name"].replace("_", "-")
        seen.add(name)
        a = r["instances"][0]["attributes"]
        entry, want = inputs["lambda_s3_code"].get(name, {}), manifest["functions"].get(name, {})
        got = (a.get("filename"), a.get("s3_bucket"), a.get("s3_key"), a.get("s3_object_version"), a.get("source_code_hash"))
        expected = (None, entry.get("bucket"), entry.get("key"), entry.get("version"), want.get("source_code_hash"))
        if got != expected:
            problems.append(f"{name}: state (filename, s3_bucket, s3_key, s3_object_version, source_code_hash) "
                            f"{got} != {expected}")
    if seen != set(manifest["functions"]):
        problems.append(f"functions in state {sorted(seen)}, in the manifest {sorted(manifest['functions'])}")
    return problems


def hand_over(plan_dir: Path, apply_dir: Path) -> None:
    for name in HANDED_OVER:
        shutil.copyfile(plan_dir / name, apply_dir / name)


def read_inputs(path: Path) -> dict:
    return json.loads(path.read_text())


def empty_artifact_bucket(s3) -> int:
    """Delete every version in the artifact bucket and the bucket; returns how many zips it held."""
    versions = s3.list_object_versions(Bucket=ARTIFACT_BUCKET).get("Versions", [])
    for v in versions:
        s3.delete_object(Bucket=ARTIFACT_BUCKET, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=ARTIFACT_BUCKET)
    return len(versions)
