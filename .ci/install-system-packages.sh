#!/usr/bin/env bash
# Debian packages the test tiers need. Idempotent: installs only what is missing.
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
command -v kubectl >/dev/null || need+=(kubectl)
# The browser tier (authorization code flow) drives Debian's Chromium with playwright-core.
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v jq >/dev/null || need+=(jq)
command -v go >/dev/null || { echo "Go 1.24+ is required to build the control plane (see docs)"; exit 1; }
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
