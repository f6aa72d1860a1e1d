#!/usr/bin/env bash
# cfn-lint for the synthesized-template check (infra/test/stacks.test.ts requires it when CI is set).
# This project's machines ship it; GitHub's hosted runners get it with pipx. Idempotent.
set -euo pipefail

if command -v cfn-lint >/dev/null; then
  echo "install-cfn-lint: cfn-lint $(cfn-lint --version 2>&1 | awk '{print $NF}') present"
  exit 0
fi
if command -v pipx >/dev/null; then
  pipx install --quiet cfn-lint
  # pipx puts its shims in ~/.local/bin; later steps of a GitHub job find it through GITHUB_PATH.
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$HOME/.local/bin" >>"$GITHUB_PATH"; fi
  export PATH="$HOME/.local/bin:$PATH"
else
  python3 -m pip install --quiet --user cfn-lint
  export PATH="$HOME/.local/bin:$PATH"
fi
echo "install-cfn-lint: $(cfn-lint --version)"
