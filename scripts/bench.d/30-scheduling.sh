#!/usr/bin/env bash
# scripts/bench.d/30-scheduling.sh — scheduling's figure: free slots for one
# supporter over 8 weeks with 1,000 appointments booked, through the
# gateway, one request at a time (bench/free_slots.py; issue 14's target:
# p99 under 20 ms). Run by scripts/bench; run alone against a running stack
# with BENCH_OUT set (a directory) and stack.env exported:
#   set -a; . var/stack.env; set +a; BENCH_OUT=var/bench-sched bash scripts/bench.d/30-scheduling.sh
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
mkdir -p "$BENCH_OUT"
/usr/bin/python3 bench/free_slots.py "$PARLEY_URL" "${BENCH_KEY_A:-$PARLEY_KEY_CASEWORKER_A}" \
	"${BENCH_AUTH_A:-$PARLEY_AUTHORITY_A}" "$BENCH_OUT" "${BENCH_FREE_SLOTS_REQUESTS:-500}"
