# shellcheck shell=bash
# supervise.sh — the stack's supervisor: while the stack is up, a process
# that dies is started again, with a back-off, and every restart is logged.
#
# `scripts/stack up` starts it (unless PARLEY_SUPERVISE=0) as the instance
# supervisor-1, a detached `scripts/stack supervise VAR` with its own PID
# file and log. Each round it takes the stack's lock without waiting: while
# another scripts/stack command runs (down, stop, scale, a restart by hand)
# the round is skipped, so it never races one. What it restarts is what has
# a PID file but no live process — a crash or a kill; anything stopped on
# purpose (down, stop, scale) has had its PID file removed and stays down.
#
# Back-off per instance: the first restart is immediate, then 1, 2, 4 … 60 s
# after each further one; an instance that has run for 60 s since its last
# restart is forgiven its count.

SUPERVISE_MAX_BACKOFF=60
SUPERVISE_HEALTHY_AFTER=60

# supervise_log MESSAGE: one timestamped line in the supervisor's log.
supervise_log() {
	printf '%s supervisor: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"
}

# supervise_restart NAME N: starts instance N of NAME again, in a subshell
# (a failed start `die`s there, not in the supervisor). 0 when it runs.
# Its output goes to the supervisor's log.
supervise_restart() {
	local name=$1 n=$2 rc=0
	# In the background and waited for: a condition (if, ||) would switch off
	# `set -e` inside the start functions, which rely on it.
	(
		# shellcheck disable=SC2034 # read by time_left and proc_launch
		UP_DEADLINE=$((SECONDS + 60))
		# shellcheck disable=SC2034 # proc_launch appends to it
		LAUNCHED=()
		case $name in
		postgres) pg_start ;;
		redis) redis_start ;;
		broker) broker_start ;;
		gateway) gateway_start ;;
		*) service_start "$name" "$n" ;;
		esac
		# The same check `up` makes: still running a moment after the start.
		sleep 0.5
		proc_running "$name" "$n"
	) &
	wait $! || rc=$?
	return "$rc"
}

# supervise_round: one look at every recorded instance, restarting the dead
# ones whose back-off has passed. Expects the stack's lock to be held.
supervise_round() {
	local name n key now
	now=$SECONDS
	for name in "${PARLEY_COMPONENTS[@]}"; do
		[[ $name == supervisor ]] && continue
		for n in $(proc_instances "$name"); do
			key=$name-$n
			if proc_running "$name" "$n"; then
				if ((${SUP_FAILS[$key]:-0} > 0 && now - ${SUP_STARTED[$key]:-0} >= SUPERVISE_HEALTHY_AFTER)); then
					supervise_log "$key has run for ${SUPERVISE_HEALTHY_AFTER} s since its restart; back-off reset"
					SUP_FAILS[$key]=0
				fi
				continue
			fi
			((now >= ${SUP_NEXT[$key]:-0})) || continue
			local fails=${SUP_FAILS[$key]:-0} delay
			supervise_log "$key is not running (log: $(proc_logfile "$name" "$n")); restart $((fails + 1))"
			tail -n 3 "$(proc_logfile "$name" "$n")" 2>/dev/null | sed 's/^/  last log line: /' || true
			if supervise_restart "$name" "$n"; then
				supervise_log "$key restarted (pid $(proc_pid "$name" "$n" || echo '?'))"
			else
				supervise_log "$key did not start"
			fi
			SUP_FAILS[$key]=$((fails + 1))
			SUP_STARTED[$key]=$SECONDS
			delay=$((1 << fails))
			((delay <= SUPERVISE_MAX_BACKOFF)) || delay=$SUPERVISE_MAX_BACKOFF
			SUP_NEXT[$key]=$((SECONDS + delay))
			supervise_log "$key: the next restart, if it dies again, waits at least ${delay} s"
		done
	done
}

# cmd_supervise: the supervisor's loop (run detached by supervisor_start).
# Ends when its PID file is removed (down, stop supervisor) or on SIGTERM.
cmd_supervise() {
	local interval=${PARLEY_SUPERVISE_INTERVAL:-1}
	[[ $interval =~ ^[0-9]+([.][0-9]+)?$ ]] || die "PARLEY_SUPERVISE_INTERVAL must be seconds, not '$interval'"
	declare -gA SUP_FAILS=() SUP_NEXT=() SUP_STARTED=()
	local pidf
	pidf=$(proc_pidfile supervisor 1)
	pg_settings
	trap 'supervise_log "stopping (SIGTERM)"; exit 0' TERM
	supervise_log "watching $VAR every ${interval} s"
	while :; do
		sleep "$interval" &
		wait $! || true
		[[ -e $pidf ]] || {
			supervise_log "PID file gone: the stack was stopped; exiting"
			exit 0
		}
		exec 9>>"$VAR/run/stack.lock"
		if flock -n 9; then
			supervise_round
		fi
		exec 9>&-
	done
}

# supervisor_start: starts the supervisor unless it runs (or PARLEY_SUPERVISE=0).
supervisor_start() {
	[[ ${PARLEY_SUPERVISE:-1} != 0 ]] || return 0
	proc_running supervisor 1 && return 0
	say "starting the supervisor (restarts what dies; log $(proc_logfile supervisor 1))"
	proc_launch supervisor 1 -- "$ROOT/scripts/stack" supervise "$VAR"
}
