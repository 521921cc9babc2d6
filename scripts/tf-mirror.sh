#!/usr/bin/env bash
# Prints the filesystem mirror folder that holds registry.terraform.io/hashicorp/aws, for
# `terraform init -plugin-dir=<it>`. $TF_PLUGIN_MIRROR wins; then the usual places; prints
# nothing (and exits 1) when none is found, so callers can say how to fix it.
set -uo pipefail
has_aws() { [[ -d "$1/registry.terraform.io/hashicorp/aws" ]]; }
if [[ -n "${TF_PLUGIN_MIRROR:-}" ]]; then
  has_aws "$TF_PLUGIN_MIRROR" && { echo "$TF_PLUGIN_MIRROR"; exit 0; }
  echo "TF_PLUGIN_MIRROR=$TF_PLUGIN_MIRROR holds no registry.terraform.io/hashicorp/aws" >&2
  exit 1
fi
for dir in /opt/tf-plugins "$HOME/.terraform.d/plugins" "$HOME/.local/share/terraform/plugins" \
           /usr/local/share/terraform/plugins /usr/share/terraform/plugins; do
  has_aws "$dir" && { echo "$dir"; exit 0; }
done
found="$(find / -maxdepth 5 -type d -path '*/registry.terraform.io/hashicorp/aws' \
          -not -path '/proc/*' 2>/dev/null | head -n 1)"
[[ -n "$found" ]] && { dirname "$(dirname "$(dirname "$found")")"; exit 0; }
exit 1
