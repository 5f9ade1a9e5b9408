#!/usr/bin/env bash
# The test suite: installs what is missing, then runs unit, integration (real nats-server and
# PostgreSQL, started here) and end-to-end (real Chromium) tests, and the Windows suite under Wine.
# Usage: bash test/run.sh [unit|int|e2e|all]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
level="${1:-all}"
GC_WITH_WINE=1 bash infra/install-deps.sh
# Fail here, naming what is missing, rather than in some test much later.
GC_WITH_WINE=1 bash infra/install-deps.sh --check

# X sockets and lock files that no server serves any more (left by killed servers) would show up as
# disconnected sessions in every agent the tests start: clear them.
for sock in /tmp/.X11-unix/X*; do
  [ -S "$sock" ] || continue
  n="${sock##*/X}"
  if ! DISPLAY=":$n" timeout 5 xdpyinfo >/dev/null 2>&1; then rm -f "$sock" "/tmp/.X$n-lock"; fi
done

npx tsx proto/gen.ts --check
npm run --silent check

case "$level" in
  unit) pattern='*.unit.test.ts' ;;
  int) pattern='*.int.test.ts' ;;
  e2e) pattern='*.e2e.test.ts' ;;
  all) pattern='*.test.ts' ;;
  *) echo "usage: bash test/run.sh [unit|int|e2e|all]" >&2; exit 2 ;;
esac
mapfile -t files < <(find test agent services projections infra proto -name "$pattern" -not -path '*/node_modules/*' | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files match $pattern" >&2; exit 1; fi
echo "running ${#files[@]} test files ($level)"
# --experimental-websocket: Node 20 has WebSocket only behind this flag (the WebSocket bad-input tests use it).
node --experimental-websocket --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"

if [ "$level" = all ] && [ -f test/windows/run.sh ]; then
  bash test/windows/run.sh
fi
