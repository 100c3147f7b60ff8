# shellcheck shell=bash
# pg.sh — the stack's private PostgreSQL cluster: initdb once, start, wait,
# bootstrap the database, roles and schemas (deploy/bootstrap.sql), stop.
#
# The server programs refuse to run as root: as root, initdb and postgres run
# as the `postgres` user on a data directory it owns. The data directory is
# $VAR/pg and the socket directory $VAR/pgsock; if the postgres user cannot
# reach $VAR (a repository under /root, say), both go to a directory of this
# stack's own under /var/tmp instead.

# pg_settings: PG_BINDIR, PG_HOME, PGDATA, PG_SOCK, PG_RUN_AS.
pg_settings() {
	PG_BINDIR=${PARLEY_PG_BINDIR:-}
	if [[ -z $PG_BINDIR ]]; then
		if command -v pg_config >/dev/null && [[ -x $(pg_config --bindir)/postgres ]]; then
			PG_BINDIR=$(pg_config --bindir)
		else
			local d
			for d in /usr/lib/postgresql/*/bin; do
				[[ -x $d/postgres ]] && PG_BINDIR=$d
			done
		fi
	fi
	PG_RUN_AS=()
	PG_HOME=$VAR
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (apt-get install postgresql)"
		PG_RUN_AS=(runuser -u postgres --)
		if [[ ! -d $VAR/pg ]] && ! pg_reachable "$VAR"; then
			PG_HOME=/var/tmp/parley-pg-$(printf '%s' "$VAR" | sha256sum | cut -c1-16)
		fi
	fi
	PGDATA=$PG_HOME/pg
	PG_SOCK=$PG_HOME/pgsock
}

# pg_reachable DIR: true when the postgres user can traverse every directory
# down to DIR, or down to its nearest existing ancestor.
pg_reachable() {
	local d=$1
	while [[ ! -d $d ]]; do d=$(dirname "$d"); done
	runuser -u postgres -- test -x "$d"
}

pg_need_bindir() {
	[[ -n $PG_BINDIR && -x $PG_BINDIR/postgres ]] ||
		die "PostgreSQL server programs not found (looked at \$(pg_config --bindir) and /usr/lib/postgresql/*/bin; run scripts/install-deps.sh or set PARLEY_PG_BINDIR)"
}

# pg_psql DB [psql args...]: psql as the superuser `parley` over loopback.
pg_psql() {
	local db=$1
	shift
	PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$PG_PORT" -U parley -d "$db" "$@"
}

# pg_initdb: creates the cluster once. A half-made cluster from a failed
# attempt is removed so that the next attempt starts clean.
pg_initdb() {
	[[ -s $PGDATA/PG_VERSION ]] && return 0
	pg_need_bindir
	local log=$VAR/log/initdb.log locale=C
	if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
		locale=C.UTF-8
	fi
	rm -rf "$PGDATA"
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA"
	if ((EUID == 0)); then
		mkdir -p "$PG_HOME"
		chmod 755 "$PG_HOME"
		chown postgres:postgres "$PGDATA"
	fi
	say "initdb $PGDATA (locale $locale)"
	if ! (cd / && "${PG_RUN_AS[@]}" "$PG_BINDIR/initdb" -D "$PGDATA" --auth=trust --username=parley \
		--encoding=UTF8 --locale="$locale") >"$log" 2>&1; then
		show_log "$log"
		rm -rf "$PGDATA"
		die "initdb failed (log: $log)"
	fi
}

# pg_adopt: when a postmaster of this data directory runs but its PID file in
# $VAR/run is missing (an interrupted `up`), record it instead of starting a
# second one.
pg_adopt() {
	local pid
	[[ -r $PGDATA/postmaster.pid ]] || return 1
	{ read -r pid <"$PGDATA/postmaster.pid"; } 2>/dev/null || return 1
	pid_alive "$pid" "$(proc_signature postgres)" || return 1
	printf '%s\n' "$pid" >"$(proc_pidfile postgres 1)"
}

# pg_start: starts the postmaster if it does not run, then waits until it
# accepts connections. An immediate exit is retried for a while: after a
# SIGKILL of the old postmaster its backends take a moment to go away and
# the new one refuses to start until they have.
pg_start() {
	pg_need_bindir
	pg_initdb
	if ! proc_running postgres 1 && ! pg_adopt; then
		port_in_use "$PG_PORT" && die "port $PG_PORT (PARLEY_PG_PORT) is already in use by another process"
		local sock=$PG_SOCK log attempt i
		# A Unix socket path is limited to 107 bytes; without one, TCP only.
		if ((${#PG_SOCK} + 20 > 107)); then
			sock=
			say "socket directory path too long; PostgreSQL listens on TCP only"
		fi
		mkdir -p "$PG_SOCK"
		((EUID != 0)) || chown postgres:postgres "$PG_SOCK"
		log=$(proc_logfile postgres 1)
		local args=(-D "$PGDATA" -p "$PG_PORT" -k "$sock"
			-c listen_addresses=127.0.0.1 -c "fsync=$PG_FSYNC"
			-c "max_connections=${PARLEY_PG_MAX_CONNECTIONS:-200}")
		if [[ $PG_FSYNC == off ]]; then
			args+=(-c synchronous_commit=off -c full_page_writes=off)
		fi
		local launcher=()
		if ((EUID == 0)); then
			# setpriv execs in place, so the recorded PID is the postmaster's.
			launcher=(setpriv --reuid=postgres --regid=postgres --init-groups --)
			command -v setpriv >/dev/null || launcher=("${PG_RUN_AS[@]}")
		fi
		for ((attempt = 1; ; attempt++)); do
			say "starting postgres on 127.0.0.1:$PG_PORT"
			proc_launch postgres 1 -- "${launcher[@]}" "$PG_BINDIR/postgres" "${args[@]}"
			# Up once it has written postmaster.pid (whose PID replaces the
			# launcher's); still running after 3 s without it: let the
			# readiness wait below judge.
			for ((i = 0; i < 30; i++)); do
				proc_running postgres 1 || break
				pg_adopt && break
				sleep 0.1
			done
			proc_running postgres 1 && break
			if ((attempt >= 15 || $(time_left) <= 0)); then
				show_log "$log"
				die "postgres did not start (log: $log)"
			fi
			sleep 1
		done
	fi
	pg_wait_ready
}

pg_wait_ready() {
	local log
	log=$(proc_logfile postgres 1)
	until "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U parley -d postgres; do
		if ! proc_running postgres 1; then
			show_log "$log"
			die "postgres exited while starting (log: $log)"
		fi
		if (($(time_left) <= 0)); then
			show_log "$log"
			die "postgres not accepting connections on port $PG_PORT in time (log: $log)"
		fi
		sleep 0.2
	done
}

# pg_bootstrap: the database `parley`, then deploy/bootstrap.sql (a login role
# and a schema per service) — the same file docker-compose runs. Idempotent.
pg_bootstrap() {
	local sql=$ROOT/deploy/bootstrap.sql
	[[ -r $sql ]] || die "missing $sql"
	if [[ -z $(pg_psql postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'parley'") ]]; then
		pg_psql postgres -c 'CREATE DATABASE parley' || die "could not create database parley"
	fi
	pg_psql parley -f "$sql" >/dev/null || die "bootstrap failed: $sql"
}

# pg_stop: a fast shutdown (SIGINT: roll back open transactions, checkpoint,
# exit), waited for up to 30 s before a SIGKILL. A postmaster of this data
# directory that no PID file records (an interrupted `up`) is stopped too.
pg_stop() {
	proc_stop_all postgres INT 30
	if pg_adopt; then
		proc_stop INT 30 postgres:1
	fi
	return 0
}
