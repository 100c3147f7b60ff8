# shellcheck shell=bash
# parley.sh — Redis, the secret, the broker, the services, the demo seed and
# the gateway: how each is started and what environment it gets.

redis_start() {
	proc_running redis 1 && return 0
	command -v redis-server >/dev/null || die "redis-server not found (run scripts/install-deps.sh)"
	port_in_use "$REDIS_PORT" && die "port $REDIS_PORT (PARLEY_REDIS_PORT) is already in use by another process"
	mkdir -p "$VAR/redis"
	say "starting redis on 127.0.0.1:$REDIS_PORT"
	proc_launch redis 1 -- redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR/redis" \
		--save "" --appendonly no --daemonize no
	local log
	log=$(proc_logfile redis 1)
	until redis_ping; do
		if ! proc_running redis 1; then
			show_log "$log"
			die "redis exited while starting (log: $log)"
		fi
		if (($(time_left) <= 0)); then
			show_log "$log"
			die "redis not answering PING on port $REDIS_PORT in time (log: $log)"
		fi
		sleep 0.1
	done
}

# redis_ping: true when our redis answers PING (redis-cli, else bash's
# /dev/tcp speaking RESP).
redis_ping() {
	if command -v redis-cli >/dev/null; then
		[[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
	else
		local reply
		# shellcheck disable=SC2016 # $0 is the inner shell's
		reply=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 && printf "PING\r\n" >&3 && head -c 5 <&3' \
			"$REDIS_PORT" 2>/dev/null) || return 1
		[[ $reply == +PONG* ]]
	fi
}

# secret_ensure: $VAR/secret, 32 random bytes in hex, mode 600, made once.
# The gateway keys its API-key hashes (HMAC-SHA256) with it.
secret_ensure() {
	[[ -s $VAR/secret ]] && return 0
	command -v openssl >/dev/null || die "openssl not found (run scripts/install-deps.sh)"
	(
		umask 077
		openssl rand -hex 32 >"$VAR/secret.tmp"
	) || die "could not create $VAR/secret"
	mv -f "$VAR/secret.tmp" "$VAR/secret"
}

# webhook_key_ensure: $VAR/webhook-key, 32 random bytes in hex, mode 600,
# made once. Notify seals webhooks' signing secrets with it
# (PARLEY_WEBHOOK_KEY): losing it makes every webhook's secret unreadable.
webhook_key_ensure() {
	[[ -s $VAR/webhook-key ]] && return 0
	command -v openssl >/dev/null || die "openssl not found (run scripts/install-deps.sh)"
	(
		umask 077
		openssl rand -hex 32 >"$VAR/webhook-key.tmp"
	) || die "could not create $VAR/webhook-key"
	mv -f "$VAR/webhook-key.tmp" "$VAR/webhook-key"
}

# feed_key_ensure: $VAR/feed-key, 32 random bytes in hex, mode 600, made
# once. Scheduling keys its calendar feed tokens' hashes with it
# (PARLEY_SCHEDULING_FEED_KEY): a new key makes every feed token stop working.
feed_key_ensure() {
	[[ -s $VAR/feed-key ]] && return 0
	command -v openssl >/dev/null || die "openssl not found (run scripts/install-deps.sh)"
	(
		umask 077
		openssl rand -hex 32 >"$VAR/feed-key.tmp"
	) || die "could not create $VAR/feed-key"
	mv -f "$VAR/feed-key.tmp" "$VAR/feed-key"
}

# bus_keys_ensure: $BUS_KEYS, the bus's CURVE keys: the broker's pair and
# one per kind (the gateway and each service), written by `parley-broker
# keygen` (directory 0700, secrets 0600) when any is missing; existing keys
# are kept. Every process gets PARLEY_BUS_KEYS_DIR, so the bus of every
# stack runs with CURVE, loopback or not.
bus_keys_ensure() {
	local k missing=0
	for k in broker gateway "${PARLEY_SERVICES[@]}"; do
		[[ -s $BUS_KEYS/$k.key && -s $BUS_KEYS/$k.pub ]] || missing=1
	done
	((missing)) || return 0
	need_bin broker
	local out
	out=$("$BIN/parley-broker" keygen "$BUS_KEYS" 2>&1) || {
		printf '%s\n' "$out" >&2
		die "could not create the bus keys in $BUS_KEYS"
	}
}

# need_bin NAME: fails, naming it, when $BIN/parley-NAME is not built.
need_bin() {
	[[ -x $BIN/parley-$1 ]] || die "missing binary $BIN/parley-$1 (build it first: make$([[ $BIN == *san* ]] && printf ' SAN=1') all)"
}

# need_bins: every binary `up` runs, checked before anything starts.
need_bins() {
	local missing=() name
	for name in broker "${PARLEY_SERVICES[@]}" gateway; do
		[[ -x $BIN/parley-$name ]] || missing+=("$BIN/parley-$name")
	done
	[[ -s $VAR/seed.env || -x $BIN/parley-admin ]] || missing+=("$BIN/parley-admin")
	((${#missing[@]} == 0)) ||
		die "missing binaries (build them first: make$([[ $BIN == *san* ]] && printf ' SAN=1') all): ${missing[*]}"
}

# service_env SVC N: the environment of instance N of a worker service (and,
# with SVC=gateway, of the gateway and parley-admin), as KEY=value lines.
service_env() {
	local svc=$1 n=$2
	printf '%s\n' \
		"PARLEY_BROKER=$BROKER_URL" \
		"PARLEY_BROKER_PORT=$BROKER_PORT" \
		"PARLEY_PG_DSN=$(service_dsn "parley_$svc")" \
		"PARLEY_REDIS_URL=$REDIS_URL" \
		"PARLEY_BUS_KEYS_DIR=$BUS_KEYS" \
		"PARLEY_INSTANCE=$n"
	if [[ $svc == gateway ]]; then
		printf '%s\n' \
			"PARLEY_HTTP_PORT=$HTTP_PORT" \
			"PARLEY_KEY_SECRET=$(<"$VAR/secret")" \
			"PARLEY_MIGRATIONS_DIR=$ROOT/gateway/migrations"
	else
		printf '%s\n' "PARLEY_MIGRATIONS_DIR=$ROOT/services/$svc/migrations"
	fi
	if [[ $svc == notify ]]; then
		webhook_key_ensure
		printf '%s\n' "PARLEY_WEBHOOK_KEY=$(<"$VAR/webhook-key")"
	fi
	if [[ $svc == scheduling ]]; then
		feed_key_ensure
		printf '%s\n' "PARLEY_SCHEDULING_FEED_KEY=$(<"$VAR/feed-key")"
	fi
	sanitizer_env
}

broker_start() {
	proc_running broker 1 && return 0
	need_bin broker
	port_in_use "$BROKER_PORT" && die "port $BROKER_PORT (PARLEY_BROKER_PORT) is already in use by another process"
	bus_keys_ensure
	local envs=()
	mapfile -t envs < <(printf '%s\n' "PARLEY_BROKER_PORT=$BROKER_PORT" "PARLEY_BROKER=$BROKER_URL" \
		"PARLEY_BUS_KEYS_DIR=$BUS_KEYS"; sanitizer_env)
	say "starting broker on 127.0.0.1:$BROKER_PORT"
	proc_launch broker 1 "${envs[@]}" -- "$BIN/parley-broker"
	# Workers reconnect by themselves, but waiting for the port makes a
	# broker that cannot bind fail here, with its log, rather than later.
	local log deadline=$((SECONDS + 15))
	log=$(proc_logfile broker 1)
	until port_in_use "$BROKER_PORT"; do
		proc_check_started broker 1
		if ((SECONDS >= deadline || $(time_left) <= 0)); then
			show_log "$log"
			die "broker not listening on port $BROKER_PORT after 15 s (log: $log)"
		fi
		sleep 0.1
	done
}

# service_start SVC N: starts instance N of a worker service unless it runs.
service_start() {
	local svc=$1 n=$2
	proc_running "$svc" "$n" && return 0
	need_bin "$svc"
	bus_keys_ensure
	local envs=()
	mapfile -t envs < <(service_env "$svc" "$n")
	say "starting $svc-$n"
	proc_launch "$svc" "$n" "${envs[@]}" -- "$BIN/parley-$svc"
}

# service_ensure SVC: restarts every instance of SVC that has a PID file but
# does not run (it crashed or was killed), and starts instance 1 if none is
# recorded. Instances stopped on purpose (scale, stop, down) have no PID file.
service_ensure() {
	local svc=$1 n
	for n in $(proc_instances "$svc"); do
		service_start "$svc" "$n"
	done
	[[ -n $(proc_instances "$svc") ]] || service_start "$svc" 1
}

# seed_ensure: runs `parley-admin seed` once and keeps what it prints in
# $VAR/seed.env (mode 600). The keys it prints are shown only once (only
# their hashes are stored), so it never runs again while that file exists.
seed_ensure() {
	[[ -s $VAR/seed.env ]] && return 0
	need_bin admin
	local log=$VAR/log/admin-1.log out=$VAR/seed.out envs=() key missing=()
	mapfile -t envs < <(service_env gateway 1)
	say "seeding the demo consortium (parley-admin seed)"
	if ! (
		umask 077
		cd "$ROOT"
		for kv in "${envs[@]}"; do
			export "${kv?}"
		done
		exec timeout "$(($(time_left) > 10 ? $(time_left) : 10))" "$BIN/parley-admin" seed \
			</dev/null >"$out" 2>>"$log" 9>&-
	); then
		grep -v '^PARLEY_[A-Z0-9_]*=' "$out" >>"$log" 2>/dev/null || true
		rm -f "$out"
		show_log "$log"
		die "parley-admin seed failed (log: $log)"
	fi
	for key in PARLEY_CONSORTIUM_ID PARLEY_AUTHORITY_A PARLEY_AUTHORITY_B PARLEY_KEY_ADMIN \
		PARLEY_KEY_CASEWORKER_A PARLEY_KEY_CASEWORKER_B PARLEY_KEY_PARTNER_A; do
		grep -q "^$key=." "$out" || missing+=("$key")
	done
	if ((${#missing[@]})); then
		rm -f "$out"
		show_log "$log"
		die "parley-admin seed printed no ${missing[*]} (its stderr: $log)"
	fi
	# Normalised into shell-safe KEY='value' lines; other output goes to the log.
	(
		umask 077
		local line k v
		while IFS= read -r line; do
			if [[ $line =~ ^(PARLEY_[A-Z0-9_]+)=(.*)$ ]]; then
				k=${BASH_REMATCH[1]}
				v=${BASH_REMATCH[2]}
				v=${v%$'\r'}
				[[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]] && v=${BASH_REMATCH[1]}
				printf '%s=%s\n' "$k" "$(shell_quote "$v")"
			else
				printf '%s\n' "$line" >>"$log"
			fi
		done <"$out" >"$VAR/seed.env.tmp"
	)
	mv -f "$VAR/seed.env.tmp" "$VAR/seed.env"
	rm -f "$out"
}

gateway_start() {
	proc_running gateway 1 && return 0
	need_bin gateway
	port_in_use "$HTTP_PORT" && die "port $HTTP_PORT (PARLEY_HTTP_PORT) is already in use by another process"
	bus_keys_ensure
	local envs=()
	mapfile -t envs < <(service_env gateway 1)
	say "starting gateway on $URL"
	proc_launch gateway 1 "${envs[@]}" -- "$BIN/parley-gateway"
}

# write_stack_env: $VAR/stack.env, what tests, benchmarks and operators source.
write_stack_env() {
	local tmp=$VAR/stack.env.tmp kv
	(
		umask 077
		{
			for kv in "PARLEY_URL=$URL" "PARLEY_PG_DSN=$SUPER_DSN" "PARLEY_REDIS_URL=$REDIS_URL" \
				"PARLEY_BROKER=$BROKER_URL" "PARLEY_VAR_DIR=$VAR" "PARLEY_HTTP_PORT=$HTTP_PORT" \
				"PARLEY_PG_PORT=$PG_PORT" "PARLEY_REDIS_PORT=$REDIS_PORT" \
				"PARLEY_BROKER_PORT=$BROKER_PORT" "PARLEY_BIN_DIR=$BIN" "PARLEY_BUS_KEYS_DIR=$BUS_KEYS" \
				"PARLEY_MATCHING_OFFER_COOLOFF_SECONDS=${PARLEY_MATCHING_OFFER_COOLOFF_SECONDS:-172800}" \
				"PARLEY_WEBHOOK_ALLOW_HOSTS=${PARLEY_WEBHOOK_ALLOW_HOSTS:-}"; do
				printf '%s=%s\n' "${kv%%=*}" "$(shell_quote "${kv#*=}")"
			done
			[[ ! -s $VAR/seed.env ]] || cat "$VAR/seed.env"
		} >"$tmp"
	)
	mv -f "$tmp" "$VAR/stack.env"
}

# wait_ready: until GET /readyz answers 200. Fails early when the gateway
# dies, and at the deadline with the last answer and the logs that matter.
wait_ready() {
	local body
	until curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null; do
		proc_check_started gateway 1
		if (($(time_left) <= 0)); then
			body=$(curl -sS --max-time 2 -w ' (HTTP %{http_code})' "$URL/readyz" 2>&1 || true)
			say "GET $URL/readyz answered: ${body:-nothing}"
			show_log "$(proc_logfile gateway 1)"
			show_dead
			die "the stack was not ready within ${PARLEY_UP_TIMEOUT:-120} s (logs in $VAR/log)"
		fi
		sleep 0.25
	done
}

# show_dead: the log tail of every recorded process that does not run.
show_dead() {
	local name n
	for name in "${PARLEY_COMPONENTS[@]}"; do
		for n in $(proc_instances "$name"); do
			proc_running "$name" "$n" || {
				say "$name-$n is not running"
				show_log "$(proc_logfile "$name" "$n")" 20
			}
		done
	done
}
