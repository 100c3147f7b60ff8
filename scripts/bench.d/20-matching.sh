#!/usr/bin/env bash
# scripts/bench.d/20-matching.sh — matching's figures beside the main table
# (which has the candidates route at BENCH_CONNECTIONS with one and two
# matching processes):
#   - ranking one case among 10,000 supporters in process (the pure scoring,
#     build/bench/bench_matching_rank): median and p99;
#   - POST /v1/cases/{id}/candidates through the gateway one request at a
#     time (one connection), over the first BENCH_HOT seeded cases, each
#     asked once before: median and p99 of loading the case's pool from
#     PostgreSQL, ranking and JSON.
# Run by scripts/bench (see lib.bash for the settings).
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/bench.d/lib.bash
. "$ROOT/scripts/bench.d/lib.bash"
BIN=${PARLEY_BIN_DIR:-build}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
export BENCH_HOT=${BENCH_HOT:-64}

# "rank 1 case among N supporters in process   p50 0.47ms   p99 0.70ms (...)"
line=$("$BIN/bench/bench_matching_rank" 10000 1000)
echo "  $line"
awk '{for (i = 1; i < NF; i++) {if ($i == "p50") p50 = $(i + 1); if ($i == "p99") p99 = $(i + 1)}
	sub("ms", "", p50); sub("ms", "", p99); printf "rank\t1\t1\t\t%d\t%d\t1000\t0\t0\t\n", p50 * 1000, p99 * 1000}' \
	<<<"$line" >>"$BENCH_OUT/results.tsv"

read -r side case_id _ <"$BENCH_CASES"
key=BENCH_KEY_$side
considered=$(curl -fsS -X POST "$PARLEY_URL/v1/cases/$case_id/candidates" -H "Authorization: Bearer ${!key}" \
	-H 'Content-Type: application/json' -d '{"limit":10}' |
	/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["considered"])')
printf 'considered\t%s\n' "$considered" >>"$BENCH_OUT/meta.tsv"
echo "  (a case of authority $side: $considered supporters considered)"
figure candidates-serial 1 candidates "$PARLEY_URL" 1
