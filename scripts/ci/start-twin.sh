#!/usr/bin/env bash
# Start the twin in the background with every stack deployed to it (`npm run twin -- --provision`,
# docs/infra.md's first deploy through the real CDK CLI) and return once it says so. The process
# outlives this step; the runner stops it at the end of the job (elsewhere: kill -- -"$(cat
# .local/twin.pid)", its own process group). Its output goes to .local/twin.log.
set -euo pipefail
mkdir -p .local
log=.local/twin.log
setsid nohup npm run twin -- --provision > "$log" 2>&1 &
pid=$!
echo "$pid" > .local/twin.pid
for _ in $(seq 1 600); do
  # Printed after the stacks are deployed (local/src/cli.ts).
  if grep -q '^point the AWS SDK' "$log"; then
    grep '^provision: stacks ready' "$log"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log"
    echo "the twin exited before it was ready (its output is above)" >&2
    exit 1
  fi
  sleep 1
done
cat "$log"
echo "the twin was not ready within 10 minutes (its output is above)" >&2
exit 1
