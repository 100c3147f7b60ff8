# shellcheck shell=bash
# scripts/bench.d/lib.bash — what the parts of make bench share (sourced by
# each scripts/bench.d/*.sh, never run; scripts/bench runs only the .sh
# files). Expects scripts/bench's environment: stack.env exported, and
# BENCH_OUT (the run's working directory), BENCH_FLOOR_URL, BENCH_SECONDS,
# BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS and the BENCH_* of
# bench/wrk/requests.lua.
#
# A figure is appended to $BENCH_OUT/results.tsv as
#   key  processes  round  req/s  p50_us  p99_us  requests  http_errors  socket_errors  other_cores
# (other_cores: what work other than the bench's kept busy meanwhile)
# and printed as one line as soon as it is measured; bench/report.py makes
# the tables from that file and from $BENCH_OUT/rss.tsv (phase name kB).

ROOT=${ROOT:-$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LUA=$ROOT/bench/wrk/requests.lua

# wrk_run SECONDS CONNECTIONS PROFILE URL: wrk's BENCH line for one run.
wrk_run() {
	local threads=$(($2 < 2 ? 1 : 2))
	# A slow answer is measured, not dropped: wrk's own timeout is 2 s.
	BENCH_PROFILE=$3 wrk -t"$threads" -c"$2" -d"$1s" --timeout 10s --latency -s "$LUA" "$4" |
		awk '/^BENCH / {print; exit}'
}

# our_pids: every long-lived process of the bench's own stack, one a line:
# Parley's, PostgreSQL's and Redis's with their children (the backends), and
# the floor's (BENCH_FLOOR_PIDS).
our_pids() {
	local c p
	parley_pids | awk '{print $2}'
	for c in postgres redis; do
		for p in $("$ROOT/scripts/stack" pids "$c" 2>/dev/null); do
			printf '%s\n' "$p"
			pgrep -P "$p" || true
		done
	done
	tr ' ' '\n' <<<"${BENCH_FLOOR_PIDS:-}"
}

# cpu_ticks PIDS SHELL: "busy ours" in clock ticks since boot: the machine's
# busy time (/proc/stat) and the CPU time of PIDS and of the finished
# children of SHELL (the $BASHPID that ran wrk).
cpu_ticks() {
	local files=() p
	for p in $1; do
		[[ -r /proc/$p/stat ]] && files+=("/proc/$p/stat")
	done
	awk 'FNR == 1 && FILENAME == "/proc/stat" {busy = $2 + $3 + $4 + $7 + $8 + $9; next}
		FILENAME == "/proc/stat" {next}
		{sub(/^.*\) /, ""); ours += $12 + $13} # utime, stime (after the command name)
		FILENAME == self {ours += $14 + $15} # cutime, cstime: the children it waited for
		END {print busy, ours}' self="/proc/$2/stat" /proc/stat "/proc/$2/stat" "${files[@]}" 2>/dev/null
}

# other_cores BEFORE AFTER SECONDS: how many cores work other than the
# bench's kept busy between two cpu_ticks.
other_cores() {
	awk -v a="$1" -v b="$2" -v t="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {split(a, x, " "); split(b, y, " ");
		o = ((y[1] - x[1]) - (y[2] - x[2])) / hz / t; printf "%.2f", (o > 0 ? o : 0)}'
}

# figure KEY PROCESSES PROFILE URL [CONNECTIONS]: a warm-up, then
# BENCH_ROUNDS measured runs of BENCH_SECONDS each, recorded and printed,
# each with the cores other work on the machine used meanwhile.
figure() {
	local key=$1 procs=$2 profile=$3 url=$4 conns=${5:-$BENCH_CONNECTIONS} round line pids t0 c0 c1 other me=$BASHPID
	((BENCH_WARMUP_SECONDS <= 0)) || wrk_run "$BENCH_WARMUP_SECONDS" "$conns" "$profile" "$url" >/dev/null
	pids=$(our_pids | tr '\n' ' ')
	for ((round = 1; round <= BENCH_ROUNDS; round++)); do
		c0=$(cpu_ticks "$pids" "$me")
		t0=$(date +%s.%N)
		line=$(wrk_run "$BENCH_SECONDS" "$conns" "$profile" "$url")
		c1=$(cpu_ticks "$pids" "$me")
		other=$(other_cores "$c0" "$c1" "$(awk -v t="$t0" -v n="$(date +%s.%N)" 'BEGIN {print n - t}')")
		[[ -n $line ]] || { echo "bench: wrk printed no figure for $key" >&2; return 1; }
		# "BENCH rps=1 p50_us=2 ..." -> the values alone, tab-separated.
		printf '%s\t%s\t%s\t%s\t%s\n' "$key" "$procs" "$round" \
			"$(sed 's/^BENCH //; s/[a-z0-9_]*=//g; s/ /\t/g' <<<"$line")" "$other" >>"$BENCH_OUT/results.tsv"
		awk -v k="$key" -v p="$procs" -v c="$conns" -v o="$other" '{
			split($2, r, "="); split($3, a, "="); split($4, b, "="); split($6, e, "="); split($7, s, "=")
			printf "  %-22s %d proc  %3d conns  %9.1f req/s   p50 %8.2f ms   p99 %8.2f ms   other work %s cores%s\n",
				k, p, c, r[2], a[2] / 1000, b[2] / 1000, o,
				(e[2] + s[2] > 0 ? sprintf("   (%d HTTP errors, %d socket errors)", e[2], s[2]) : "")
		}' <<<"$line"
	done
}

# psql_at SQL: one value from the bench stack's PostgreSQL, as the superuser.
psql_at() {
	PGCONNECT_TIMEOUT=5 psql -X -Atq "$PARLEY_PG_DSN" -c "$1"
}

# wait_quiet: until every service's outbox has delivered everything (at most
# 120 s), so that no figure pays for the relaying of the one before it.
wait_quiet() {
	local sql n deadline=$((SECONDS + 120))
	sql=$(psql_at "SELECT string_agg(format('(SELECT count(*) FROM %I.outbox_deliveries WHERE delivered_at IS NULL)',
		table_schema), ' + ') FROM information_schema.tables WHERE table_name = 'outbox_deliveries'")
	[[ -n $sql ]] || return 0
	while n=$(psql_at "SELECT $sql") && ((n > 0)); do
		if ((SECONDS >= deadline)); then
			echo "bench: $n event deliveries still pending after 120 s; measuring anyway" >&2
			return 0
		fi
		sleep 0.5
	done
}

# parley_pids: "name pid" lines for every Parley process of the stack (the
# gateway, the broker and each instance of each service; the stand-in
# consumer that plays notify is BENCH_NOTIFY_PID).
parley_pids() {
	local svc pid n
	for svc in gateway broker intake matching scheduling notify training feedback; do
		n=0
		for pid in $("$ROOT/scripts/stack" pids "$svc" 2>/dev/null); do
			n=$((n + 1))
			printf '%s-%d %s\n' "$svc" "$n" "$pid"
		done
	done
	if [[ -n ${BENCH_NOTIFY_PID:-} ]]; then
		printf 'notify-stand-in %s\n' "$BENCH_NOTIFY_PID"
	fi
}

# rss_sample PHASE [PIDS]: the memory of every Parley process now (or of the
# "name pid" lines in PIDS), appended to $BENCH_OUT/rss.tsv as
# "PHASE name rss_kB pss_kB": resident (Rss), and proportional (Pss: each
# shared page divided among the processes sharing it, so the sum is what
# the processes together take), from /proc/PID/smaps_rollup. Forks nothing
# but the list.
rss_sample() {
	local phase=$1 pids=${2:-$(parley_pids)} name pid k v rss pss
	while read -r name pid; do
		rss= pss=
		{ while read -r k v _; do
			case $k in
			Rss:) rss=$v ;;
			Pss:) pss=$v ;;
			esac
		done <"/proc/$pid/smaps_rollup"; } 2>/dev/null || true # it may just have exited
		if [[ -n $rss ]]; then printf '%s\t%s\t%s\t%s\n' "$phase" "$name" "$rss" "${pss:-0}"; fi
	done <<<"$pids" >>"$BENCH_OUT/rss.tsv"
}

# rss_watch_start PHASE / rss_watch_stop: a sample every second in the
# background while figures run (the report keeps each process's largest).
rss_watch_start() {
	local pids
	pids=$(parley_pids)
	(
		while :; do
			rss_sample "$1" "$pids"
			sleep 1
		done
	) &
	RSS_WATCH=$!
}
rss_watch_stop() {
	[[ -n ${RSS_WATCH:-} ]] || return 0
	kill "$RSS_WATCH" 2>/dev/null || true
	wait "$RSS_WATCH" 2>/dev/null || true
	RSS_WATCH=
}

# scale SERVICE N: N instances of SERVICE, registered with the broker.
scale() {
	"$ROOT/scripts/stack" scale "$1" "$2" >/dev/null 2>&1
	# A new worker says READY at once; the warm-up of the next figure
	# prepares its statements and fills its caches.
	sleep 2
}
