# shellcheck shell=bash
# common.sh — settings and small helpers shared by scripts/stack's modules.
# Sourced, never run. Expects ROOT (the repository root) to be set.

# The processes a stack runs, in start order. The six workers are the
# "services"; every name here is also a valid SERVICE for pids/logs/start/stop.
PARLEY_SERVICES=(intake matching scheduling notify training feedback)
# The supervisor (scripts/lib/supervise.sh) restarts the others when they die.
PARLEY_COMPONENTS=(postgres redis broker "${PARLEY_SERVICES[@]}" gateway supervisor)

die() {
	printf 'stack: error: %s\n' "$*" >&2
	exit 1
}

say() {
	printf 'stack: %s\n' "$*" >&2
}

# abspath PATH: PATH made absolute against the repository root and
# normalised (no ., .. or symlinks; the path need not exist). To stdout.
abspath() {
	case $1 in
	/*) realpath -m -- "$1" ;;
	*) realpath -m -- "$ROOT/$1" ;;
	esac
}

# shell_quote VALUE: VALUE as one shell word, quoted only when it needs it.
shell_quote() {
	local v=$1
	if [[ -n $v && $v =~ ^[A-Za-z0-9_./:@%+,=-]+$ ]]; then
		printf '%s' "$v"
	else
		printf "'%s'" "${v//\'/\'\\\'\'}"
	fi
}

# is_service NAME: true when NAME is one of the six worker services.
is_service() {
	local s
	for s in "${PARLEY_SERVICES[@]}"; do
		[[ $s == "$1" ]] && return 0
	done
	return 1
}

is_component() {
	local s
	for s in "${PARLEY_COMPONENTS[@]}"; do
		[[ $s == "$1" ]] && return 0
	done
	return 1
}

# port_in_use PORT: true when something listens on TCP PORT on this machine.
port_in_use() {
	[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# time_left: seconds until the deadline of `stack up` (UP_DEADLINE).
time_left() {
	printf '%d\n' $((UP_DEADLINE - SECONDS))
}

# show_log FILE [LINES]: the tail of a log, indented, on stderr.
show_log() {
	local f=$1 n=${2:-40}
	if [[ -s $f ]]; then
		printf -- '--- last %d lines of %s ---\n' "$n" "$f" >&2
		tail -n "$n" "$f" | sed 's/^/  /' >&2
		printf -- '---\n' >&2
	else
		printf -- '--- %s is empty or missing ---\n' "$f" >&2
	fi
}

# stack_settings: read the environment into the stack's variables. All paths
# are made absolute so that the stack does not depend on the caller's cwd.
stack_settings() {
	VAR=$(abspath "${PARLEY_VAR_DIR:-var}")
	BIN=$(abspath "${PARLEY_BIN_DIR:-build}")
	HTTP_PORT=${PARLEY_HTTP_PORT:-8080}
	PG_PORT=${PARLEY_PG_PORT:-55432}
	REDIS_PORT=${PARLEY_REDIS_PORT:-56379}
	BROKER_PORT=${PARLEY_BROKER_PORT:-55555}
	PG_FSYNC=${PARLEY_PG_FSYNC:-on}
	local p
	for p in "$HTTP_PORT" "$PG_PORT" "$REDIS_PORT" "$BROKER_PORT"; do
		if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
			die "not a TCP port: '$p'"
		fi
	done
	[[ $PG_FSYNC == on || $PG_FSYNC == off ]] || die "PARLEY_PG_FSYNC must be on or off, not '$PG_FSYNC'"
	case $VAR in
	/ | "$ROOT" | "$ROOT"/) die "PARLEY_VAR_DIR must be a directory of its own, not $VAR" ;;
	esac
	[[ $ROOT/ != "$VAR"/* ]] || die "PARLEY_VAR_DIR ($VAR) must not contain the repository"

	# shellcheck disable=SC2034 # used by the other modules
	URL=http://127.0.0.1:$HTTP_PORT
	# shellcheck disable=SC2034
	BROKER_URL=tcp://127.0.0.1:$BROKER_PORT
	# shellcheck disable=SC2034
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT
	# shellcheck disable=SC2034 # the bus's CURVE keys (parley.sh: bus_keys_ensure)
	BUS_KEYS=$VAR/bus-keys
	# shellcheck disable=SC2034
	SUPER_DSN="host=127.0.0.1 port=$PG_PORT dbname=parley user=parley"
}

# service_dsn ROLE: the DSN a process logs in with (ROLE is parley_<svc>).
service_dsn() {
	printf 'host=127.0.0.1 port=%s dbname=parley user=%s\n' "$PG_PORT" "$1"
}

# sanitizer_env: the environment the C processes get (as KEY=value words) so
# that a sanitized build writes its reports where run-tests looks for them.
sanitizer_env() {
	if [[ $BIN == *san* ]]; then
		# LeakSanitizer reports at exit; tests/lsan.supp names the
		# third-party leaks it is told to ignore, each with its reason.
		printf '%s\n' "ASAN_OPTIONS=log_path=$VAR/log/asan:detect_leaks=1:abort_on_error=0" \
			"LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0" \
			"UBSAN_OPTIONS=print_stacktrace=1:log_path=$VAR/log/ubsan"
	fi
}
