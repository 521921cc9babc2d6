#!/usr/bin/env bash
# Installs what the project needs on a fresh machine of this kind, idempotently:
#   - the Rust targets (x86_64 and aarch64 Linux) and the clippy/rustfmt components,
#   - pinned Python tools in .tools/venv (cargo-lambda, ziglang, just, moto, boto3, pytest, parliament),
#   - with `--with-checkov`, checkov in its own venv .tools/checkov (only the tests need it),
#   - with `--with-qemu`, Debian's qemu-user and libc6-arm64-cross (apt), which run the arm64
#     bootstraps on this x86_64 machine for the packaging smoke test,
#   - with `--with-chart`, the page's chart library (tools/npm/package-lock.json, npm ci) in
#     .tools/npm: `just local` serves it,
#   - with `--with-chromium`, Debian's chromium and chromium-driver (apt), which the e2e's page
#     step drives headless through Selenium (never a browser of Selenium's own download).
# Re-running is cheap: a stamp holding the requirements' hash skips work already done.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
with_checkov=false
with_qemu=false
with_chart=false
with_chromium=false
for arg in "$@"; do
  case "$arg" in
    --with-checkov) with_checkov=true ;;
    --with-qemu) with_qemu=true ;;
    --with-chart) with_chart=true ;;
    --with-chromium) with_chromium=true ;;
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

# apt_install WHAT PACKAGE...: the Debian packages, non-interactively (CI runs as root with no
# stdin); `apt-get update` only if the install fails.
apt_install() {
  local what="$1"; shift
  if ! command -v apt-get >/dev/null 2>&1; then
    say "missing $* and apt-get is not available: install $what yourself"
    exit 1
  fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || { say "installing $* needs root (or sudo)"; exit 1; }
    sudo=(sudo -n)
  fi
  local install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
                 --no-install-recommends "$@")
  say "installing $* (one-off, from apt)"
  local started=$SECONDS
  if ! "${install[@]}" </dev/null >&2; then
    say "  install failed; running apt-get update and retrying"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2
    "${install[@]}" </dev/null >&2
  fi
  say "  done in $((SECONDS - started)) s"
}

# qemu-aarch64 and the aarch64 glibc it loads with `-L /usr/aarch64-linux-gnu`, from apt when missing.
qemu() {
  local missing=()
  command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
  [[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]] || missing+=(libc6-arm64-cross)
  if ((${#missing[@]} == 0)); then return 0; fi
  apt_install "qemu-aarch64 (qemu-user) and an aarch64 glibc under /usr/aarch64-linux-gnu to run the arm64 smoke test" \
    "${missing[@]}"
}

# Debian's Chromium and its ChromeDriver at the paths tests/e2e/page_check.py drives.
chromium() {
  local missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  [[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
  if ((${#missing[@]} == 0)); then return 0; fi
  apt_install "/usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium, chromium-driver) for the e2e page step" \
    "${missing[@]}"
}

# The page's chart library, exactly as tools/npm/package-lock.json pins it (npm ci, no scripts).
chart() {
  local dir="$tools/npm" lock="$root/tools/npm/package-lock.json" stamp
  stamp="$(cat "$root/tools/npm/package.json" "$lock" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  need npm "install Node.js and npm (Debian: apt-get install npm)"
  say "installing tools/npm/package-lock.json into .tools/npm (one-off, from npm)"
  local started=$SECONDS
  mkdir -p "$dir"
  cp "$root/tools/npm/package.json" "$lock" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  echo "$stamp" > "$dir/.stamp"
  say "  done in $((SECONDS - started)) s"
}

mkdir -p "$tools"
rust
venv venv tools/requirements.txt
if $with_checkov; then
  venv checkov tools/requirements-checkov.txt
fi
if $with_qemu; then
  qemu
fi
if $with_chart; then
  chart
fi
if $with_chromium; then
  chromium
fi
