#!/usr/bin/env bash
# scripts/bench.d/matching.sh — matching's figures, run by scripts/bench with
# the bench stack's stack.env exported (it never asserts a time):
#   - ranking one case among 10,000 supporters in process (the pure scoring,
#     build/bench/bench_matching_rank): median and p99;
#   - POST /v1/cases/{id}/candidates through the gateway with 10,000
#     supporters serving the case's authority, one request at a time:
#     median and p99 (loading the pool from PostgreSQL, ranking, JSON);
#   - candidate requests per second through the gateway with 1 and with 2
#     matching instances, and the ratio.
# Settings: BENCH_SECONDS (10), BENCH_CONNECTIONS (16), BENCH_SUPPORTERS (10000).
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
BIN=${PARLEY_BIN_DIR:-build}
[[ $BIN == /* ]] || BIN=$ROOT/$BIN
DURATION=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-16}
N=${BENCH_SUPPORTERS:-10000}
A=$PARLEY_AUTHORITY_A
KEY=$PARLEY_KEY_CASEWORKER_A

echo "-- ranking ($(nproc) cores)"
"$BIN/bench/bench_matching_rank" "$N" 1000

# N supporters serving authority A, written straight into matching's tables
# (the API would take minutes to add them one by one). Languages, areas and
# specialisms vary so that the scores differ.
/usr/bin/python3 - "$PARLEY_PG_DSN" "$PARLEY_CONSORTIUM_ID" "$A" "$N" <<'PY'
import sys
import psycopg2
dsn, consortium, authority, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with psycopg2.connect(dsn) as conn, conn.cursor() as c:
    c.execute("""
        WITH s AS (
          INSERT INTO matching.supporters (id, consortium_id, given_name, family_name, authority_ids, areas,
                                           languages, specialisms, vetting_expires_on, status)
          SELECT gen_random_uuid(), %s, 'Bench', 'Supporter ' || i, ARRAY[%s::uuid],
                 ARRAY[(ARRAY['N1', 'N7', 'E2', 'SE15', 'W1', 'N'])[1 + i %% 6]],
                 CASE i %% 5 WHEN 0 THEN ARRAY['en'] WHEN 1 THEN ARRAY['en', 'pl'] WHEN 2 THEN ARRAY['en', 'ur']
                             WHEN 3 THEN ARRAY['en', 'so'] ELSE ARRAY['cy', 'en'] END,
                 CASE i %% 4 WHEN 0 THEN ARRAY['SPECIALISM_AUTISM'] WHEN 1 THEN ARRAY['SPECIALISM_ADHD', 'SPECIALISM_SEMH']
                             WHEN 2 THEN ARRAY['SPECIALISM_SPEECH_LANGUAGE'] ELSE ARRAY[]::text[] END,
                 date '2030-01-01', 'SUPPORTER_STATUS_ACTIVE'
          FROM generate_series(1, %s) AS i
          RETURNING id)
        INSERT INTO matching.supporter_places (supporter_id, capacity)
        SELECT id, 2 + (abs(hashtext(id::text)) %% 5) FROM s""", (consortium, authority, n))
with psycopg2.connect(dsn) as conn, conn.cursor() as c:  # statistics, as a live database would have
    c.execute("ANALYZE matching.supporters, matching.supporter_places")
PY

family=$(curl -fsS -X POST "$PARLEY_URL/v1/families" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	-d '{"authorityId":"'"$A"'","parents":[{"givenName":"A","familyName":"B","preferredLanguage":"en","hasParentalResponsibility":true,"address":{"line1":"1 Road","postcode":"N1 7AA"}}],"children":[{"givenName":"C","familyName":"B","dateOfBirth":"2016-03-14","needs":["autism","speech and language"]}]}')
read -r family_id child_id < <(python3 -c 'import json,sys; f=json.load(sys.stdin); print(f["id"], f["children"][0]["id"])' <<<"$family")
case_id=$(curl -fsS -X POST "$PARLEY_URL/v1/cases" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	-d '{"authorityId":"'"$A"'","familyId":"'"$family_id"'","childId":"'"$child_id"'","source":"school","needs":["supporter"],"wantsSupporter":false,"consent":{"shareWithAgencies":true,"lawfulBasis":"public_task"}}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
URL="$PARLEY_URL/v1/cases/$case_id/candidates"
considered=$(curl -fsS -X POST "$URL" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["considered"])')

LUA=$(mktemp --suffix=.lua)
trap 'rm -f "$LUA"' EXIT
cat >"$LUA" <<'LUA'
wrk.method = "POST"
wrk.body = '{"limit":10}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
LUA
export BENCH_KEY=$KEY

# run CONNECTIONS: wrk's output for POSTs of the candidates route.
run() {
	wrk -t"$(($1 < 2 ? 1 : 2))" -c"$1" -d"${DURATION}s" --latency -s "$LUA" "$URL"
}
# line NAME WRK-OUTPUT: req/s, p50, p99 and any non-2xx answers.
line() {
	local errors
	errors=$(awk '/Non-2xx/ {print $5}' <<<"$2")
	printf '%-42s %10s req/s   p50 %8s   p99 %8s%s\n' "$1" \
		"$(awk '/Requests\/sec/ {print $2}' <<<"$2")" "$(awk '$1 == "50%" {print $2}' <<<"$2")" \
		"$(awk '$1 == "99%" {print $2}' <<<"$2")" "${errors:+   ($errors answers not 2xx)}"
}
# instances N: run N matching instances, registered with the broker and warm.
instances() {
	scripts/stack scale matching "$1" >/dev/null 2>&1
	sleep 3
	for _ in 1 2 3 4 5 6; do curl -fsS -o /dev/null -X POST "$URL" -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' -d '{}'; done
}

echo "-- candidates through the gateway ($considered supporters considered; ${DURATION}s each)"
instances 1
line "POST candidates, 1 connection" "$(run 1)"
one=$(run "$CONNS")
line "POST candidates, $CONNS conns, 1 matching" "$one"
instances 2
two=$(run "$CONNS")
line "POST candidates, $CONNS conns, 2 matching" "$two"
instances 1
printf '%-42s %10s x\n' "2 instances / 1 instance" "$(awk -v a="$(awk '/Requests\/sec/ {print $2}' <<<"$one")" \
	-v b="$(awk '/Requests\/sec/ {print $2}' <<<"$two")" 'BEGIN {printf "%.2f", (a > 0 ? b / a : 0)}')"
