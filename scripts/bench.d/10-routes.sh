#!/usr/bin/env bash
# scripts/bench.d/10-routes.sh — the main table: each route at
# BENCH_CONNECTIONS keep-alive connections beside the floor, first with one
# process of every service, then with two of intake and of matching; the
# resident memory of every Parley process sampled throughout. Each floor
# figure runs just before the Parley figures compared with it, so that both
# see the same machine. Run by scripts/bench (see lib.bash for the settings).
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/bench.d/lib.bash
. "$ROOT/scripts/bench.d/lib.bash"
trap rss_watch_stop EXIT

# Matching learns of a case from intake on its first candidates request;
# the figure measures the requests after that one, for the first
# BENCH_HOT cases (both authorities).
export BENCH_HOT=${BENCH_HOT:-64}
head -n "$BENCH_HOT" "$BENCH_CASES" | while read -r side case_id _; do
	key=BENCH_KEY_$side
	curl -fsS -o /dev/null -X POST "$PARLEY_URL/v1/cases/$case_id/candidates" -H "Authorization: Bearer ${!key}" \
		-H 'Content-Type: application/json' -d '{"limit":10}'
done

F=$BENCH_FLOOR_URL
P=$PARLEY_URL
echo "-- one process of each service"
rss_watch_start load-1
figure healthz 1 healthz "$P"
figure floor-select 1 floor-select "$F"
figure case 1 case "$P"
figure family 1 family "$P"
figure list 1 list "$P"
figure candidates 1 candidates "$P"
figure floor-insert 1 floor-insert "$F"
figure create 1 create "$P"
wait_quiet
figure floor-mix 1 floor-mix "$F"
figure mix 1 mix "$P"
wait_quiet
rss_watch_stop

echo "-- two processes of intake and of matching"
scale intake 2
scale matching 2
rss_watch_start load-2
figure case 2 case "$P"
figure family 2 family "$P"
figure list 2 list "$P"
figure candidates 2 candidates "$P"
figure create 2 create "$P"
wait_quiet
figure mix 2 mix "$P"
wait_quiet
rss_watch_stop
scale intake 1
scale matching 1
