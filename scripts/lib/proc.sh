# shellcheck shell=bash
# proc.sh — starting, finding and stopping the stack's processes by PID.
#
# Every process is an instance NAME-N with a PID file $VAR/run/NAME-N.pid and
# a log $VAR/log/NAME-N.log. A process counts as running when its PID file
# names a live, non-zombie process whose command line carries the instance's
# signature (so a recycled PID is never mistaken for ours, and never signalled).

proc_pidfile() { printf '%s/run/%s-%s.pid\n' "$VAR" "$1" "$2"; }
proc_logfile() { printf '%s/log/%s-%s.log\n' "$VAR" "$1" "$2"; }

# proc_signature NAME: a string the command line of NAME's process contains.
proc_signature() {
	case $1 in
	postgres) printf '%s\n' "-D $PGDATA " ;;
	redis) printf '%s\n' "redis-server 127.0.0.1:$REDIS_PORT " ;;
	supervisor) printf '%s\n' "$ROOT/scripts/stack supervise $VAR " ;;
	*) printf '%s\n' "$BIN/parley-$1 " ;;
	esac
}

# pid_alive PID SIGNATURE: true when PID is a live process (not a zombie)
# whose command line contains SIGNATURE.
pid_alive() {
	local pid=$1 sig=$2 stat cmd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	{ read -r stat </proc/"$pid"/stat; } 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] || return 1
	cmd=$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline) || return 1
	[[ $cmd == *"$sig"* ]]
}

# proc_pid NAME N: the PID of instance N of NAME if it runs; fails otherwise.
proc_pid() {
	local f pid
	f=$(proc_pidfile "$1" "$2")
	[[ -r $f ]] || return 1
	read -r pid <"$f" || return 1
	pid_alive "$pid" "$(proc_signature "$1")" || return 1
	printf '%s\n' "$pid"
}

proc_running() { proc_pid "$1" "$2" >/dev/null; }

# proc_instances NAME: the instance numbers that have a PID file, ascending
# (running or not: a PID file whose process died marks a crashed instance).
proc_instances() {
	local f n
	for f in "$VAR/run/$1"-*.pid; do
		[[ -e $f ]] || continue
		n=${f##*-}
		n=${n%.pid}
		[[ $n =~ ^[0-9]+$ ]] && printf '%s\n' "$n"
	done | sort -n
}

# proc_running_instances NAME: the instance numbers that run, ascending.
proc_running_instances() {
	local n
	for n in $(proc_instances "$1"); do
		proc_running "$1" "$n" && printf '%s\n' "$n"
	done
	return 0
}

# proc_launch NAME N [KEY=value ...] -- COMMAND [ARG ...]
# Starts COMMAND detached (own session, no terminal, stdin from /dev/null,
# cwd at the repository root, stdout and stderr appended to its log) with the
# given variables added to its environment, and waits for its PID file. The
# process writes its own PID just before it execs COMMAND, so the file names
# COMMAND itself, whatever setsid does. Values never appear on a command line.
proc_launch() {
	local name=$1 n=$2 pidf log i
	shift 2
	local envs=()
	while (($#)) && [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	(($#)) && shift
	(($#)) || die "proc_launch $name: no command"
	pidf=$(proc_pidfile "$name" "$n")
	log=$(proc_logfile "$name" "$n")
	rm -f "$pidf" "$pidf.tmp"
	LAUNCHING=$name:$n
	(
		cd "$ROOT" || exit 1
		for kv in "${envs[@]}"; do
			export "${kv?}"
		done
		# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
		exec setsid -f nohup bash -c 'echo "$$" >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
			"$pidf" "$@" </dev/null >>"$log" 2>&1 9>&-
	)
	for ((i = 0; i < 100; i++)); do
		if [[ -s $pidf ]]; then
			LAUNCHED+=("$name:$n")
			LAUNCHING=
			return 0
		fi
		sleep 0.05
	done
	show_log "$log"
	die "$name-$n did not start (no PID file after 5 s)"
}

# The instances launched by this run of the script, as NAME:N, and the one
# being launched (its PID file may not be written yet).
LAUNCHED=()
# shellcheck disable=SC2034 # read by scripts/stack's up_interrupted
LAUNCHING=

# proc_check_started NAME N: fails, with the tail of its log, when instance N
# of NAME has died since it was launched.
proc_check_started() {
	if ! proc_running "$1" "$2"; then
		show_log "$(proc_logfile "$1" "$2")"
		die "$1-$2 exited right after it started (log above: $(proc_logfile "$1" "$2"))"
	fi
}

# proc_stop SIGNAL TIMEOUT NAME:N ... — sends SIGNAL to every listed instance
# that runs, waits up to TIMEOUT seconds for all of them to exit, then sends
# SIGKILL to whatever is left. Removes the PID files.
proc_stop() {
	local sig=$1 timeout=$2 item name n pid
	shift 2
	local pids=() sigs=() names=() files=()
	for item in "$@"; do
		name=${item%%:*}
		n=${item##*:}
		files+=("$(proc_pidfile "$name" "$n")")
		if pid=$(proc_pid "$name" "$n"); then
			pids+=("$pid")
			sigs+=("$(proc_signature "$name")")
			names+=("$name-$n")
			kill -s "$sig" "$pid" 2>/dev/null || true
		fi
	done
	local deadline=$((SECONDS + timeout)) left i
	while :; do
		left=0
		for i in "${!pids[@]}"; do
			pid_alive "${pids[$i]}" "${sigs[$i]}" && left=1
		done
		((left == 0 || SECONDS >= deadline)) && break
		sleep 0.1
	done
	for i in "${!pids[@]}"; do
		if pid_alive "${pids[$i]}" "${sigs[$i]}"; then
			say "${names[$i]} (pid ${pids[$i]}) ignored SIG$sig for ${timeout} s: sending SIGKILL"
			kill -s KILL "${pids[$i]}" 2>/dev/null || true
		fi
	done
	for i in "${!pids[@]}"; do
		for ((n = 0; n < 50; n++)); do
			pid_alive "${pids[$i]}" "${sigs[$i]}" || break
			sleep 0.1
		done
		say "stopped ${names[$i]} (pid ${pids[$i]})"
	done
	((${#files[@]} == 0)) || rm -f "${files[@]}"
}

# proc_stop_all NAME SIGNAL TIMEOUT: stops every instance of NAME.
proc_stop_all() {
	local name=$1 n items=()
	for n in $(proc_instances "$name"); do
		items+=("$name:$n")
	done
	((${#items[@]} == 0)) || proc_stop "$2" "$3" "${items[@]}"
}
