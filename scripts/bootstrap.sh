#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind, idempotently:
#   - the Rust targets (x86_64 and aarch64 Linux) and the clippy/rustfmt components,
#   - pinned Python tools in .tools/venv (cargo-lambda, ziglang, just, moto, boto3, pytest, parliament),
#   - with `--with-checkov`, checkov in its own venv .tools/checkov (only the tests need it).
# Re-running is cheap: a stamp holding the requirements' hash skips work already done.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
with_checkov=false
for arg in "$@"; do
  case "$arg" in
    --with-checkov) with_checkov=true ;;
    *) echo "bootstrap: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

say() { printf '[bootstrap] %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { say "missing $1: $2"; exit 1; }
}
need python3 "install Python 3.9+ (Debian: apt-get install python3 python3-venv)"
need cargo "install the Rust toolchain with rustup (https://rustup.rs)"
need rustup "install the Rust toolchain with rustup (https://rustup.rs)"

# venv NAME REQUIREMENTS: create .tools/NAME and install REQUIREMENTS unless already current.
venv() {
  local dir="$tools/$1" req="$root/$2" stamp
  stamp="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  say "installing $2 into .tools/$1 (one-off, from PyPI)"
  local started=$SECONDS
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$stamp" > "$dir/.stamp"
  say "  done in $((SECONDS - started)) s"
}

rust() {
  local installed
  installed="$(rustup target list --installed)"
  for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
    if ! grep -qx "$target" <<<"$installed"; then
      say "adding Rust target $target"
      rustup target add "$target" >&2
    fi
  done
  installed="$(rustup component list --installed)"
  for component in clippy rustfmt; do
    if ! grep -q "^$component" <<<"$installed"; then
      say "adding Rust component $component"
      rustup component add "$component" >&2
    fi
  done
}

mkdir -p "$tools"
rust
venv venv tools/requirements.txt
if $with_checkov; then
  venv checkov tools/requirements-checkov.txt
fi
