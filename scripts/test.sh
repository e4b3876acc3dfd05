#!/usr/bin/env bash
# `npm test`: every bun:test file in the repository. Needs only the machine's Postgres and
# Redis; the tests start their own services and Caddy. The last line is always
# `N passed, N failed`; the exit code is non-zero unless every test passed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/ensure-tools.sh
ensure_tools chromium

# Integration tests start real processes; their own waits are bounded, this is the backstop.
TEST_TIMEOUT_MS=60000
LOG=test-artifacts/test.log
mkdir -p "$(dirname "$LOG")"

bun test --timeout "$TEST_TIMEOUT_MS" "$@" 2>&1 | tee "$LOG"
status=${PIPESTATUS[0]}

# bun's own summary: lines such as " 12 pass" and " 0 fail".
passed=$(grep -E '^ *[0-9]+ pass$' "$LOG" | tail -n 1 | tr -dc '0-9')
failed=$(grep -E '^ *[0-9]+ fail$' "$LOG" | tail -n 1 | tr -dc '0-9')
if [ -z "$passed" ] || [ -z "$failed" ]; then
  passed=$(grep -c '^(pass)' "$LOG")
  failed=$(grep -c '^(fail)' "$LOG")
  echo "bun test printed no summary (exit code $status); counts below are from its per-test lines (full output: $LOG)"
  [ "$status" -eq 0 ] && status=1
fi
if [ "$status" -eq 0 ] && [ "$failed" -ne 0 ]; then status=1; fi
echo "$passed passed, $failed failed"
exit "$status"
