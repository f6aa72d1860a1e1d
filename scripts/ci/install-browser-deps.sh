#!/usr/bin/env bash
# Installs Debian's Chromium for the chat-page browser test (driven by playwright-core with
# executablePath; playwright's own browser download cannot reach its CDN). Idempotent. Runs as root or through sudo.
set -euo pipefail
# shellcheck source=as-root.sh
. "$(dirname "$0")/as-root.sh"

export DEBIAN_FRONTEND=noninteractive
if command -v chromium >/dev/null; then
  echo "install-browser-deps: $(chromium --version 2>/dev/null || echo chromium) present"
  exit 0
fi
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
echo "install-browser-deps: $(chromium --version)"
