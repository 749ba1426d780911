#!/usr/bin/env bash
# Builds, lints, checks formatting and runs every test (unit, HTTP in process, end to end with real
# kubectl, client-node, QEMU guests and Chromium against the console).
# Usage: scripts/test.sh [FILTER]   FILTER narrows to test files whose path contains it (and skips lint).
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npx tsc -p web/tsconfig.json
npm run --silent build:web >/dev/null
filter="${1:-}"
if [ -z "$filter" ]; then
  npx eslint src test bench web
  npx prettier --check src test bench web >/dev/null || { npx prettier --check src test bench web; exit 1; }
fi
# End-to-end files first: they are the long ones, and the many short unit files then fill the gaps
# at the end instead of one long guest test starting last.
mapfile -t files < <(
  find dist/test/e2e -name '*.test.js' | sort
  find dist/test -name '*.test.js' -not -path 'dist/test/e2e/*' | sort
)
mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -F -- "$filter")
if [ "${#files[@]}" -eq 0 ]; then echo "no test files match '$filter'" >&2; exit 1; fi
exec node --test --test-concurrency=2 "${files[@]}"
