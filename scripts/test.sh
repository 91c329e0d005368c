#!/usr/bin/env bash
# `npm test`: every unit and integration test file (all of src, test and bench but
# test/compat and test/e2e, which have their own commands), then the API and history
# tests again on PostgreSQL (`npm run test:api-postgres`).
#
# Three files at a time: most of the suite waits on sockets, child processes and timers,
# not on the CPU (two at a time it kept the two cores 60 % busy: 436 s; three, 74 %: 359 s), and
# each file starts its own servers on free ports and its own data dirs or schemas. A file
# whose finding a busy neighbour could blur (CPU shares, RSS growth, thousands of
# connections, send deadlines) says so on a line of its own:
#   // npm test runs this file alone: <why>
# and runs after the others, one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

MARK='^// npm test runs this file alone:'
mapfile -t FILES < <(find src test bench -path test/compat -prune -o -path test/e2e -prune -o -name '*.test.ts' -print | sort)
SHARED=()
ALONE=()
for f in "${FILES[@]}"; do
  if grep -q "$MARK" "$f"; then ALONE+=("$f"); else SHARED+=("$f"); fi
done

run() {
  node --import tsx --test --test-timeout=180000 "$@"
}
# (node --test without files would look for tests everywhere.)
if [ "${#SHARED[@]}" -eq 0 ] || [ "${#ALONE[@]}" -eq 0 ]; then echo "scripts/test.sh: no test files found" >&2; exit 1; fi
run --test-concurrency=3 "${SHARED[@]}"
run --test-concurrency=1 "${ALONE[@]}"
npm run -s test:api-postgres
