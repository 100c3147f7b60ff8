#!/usr/bin/env bash
# scripts/install-deps.sh — installs the Debian/Ubuntu packages that the build,
# the stack and the tests need. Idempotent: when every package is installed it
# only asks dpkg and returns; otherwise it runs `apt-get update` and installs
# the missing ones (through sudo unless run as root).
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config protobuf-c-compiler
	libzmq3-dev libprotobuf-c-dev libhiredis-dev libpq-dev libcivetweb-dev
	libjansson-dev libssl-dev libcurl4-openssl-dev libcmocka-dev libical-dev
	# the stack (scripts/stack)
	postgresql postgresql-contrib redis-server curl openssl procps
	# end-to-end tests
	python3-pytest python3-requests python3-psycopg2 python3-prometheus-client wrk
)

# dpkg-query prints one line per known package; one that is unknown to dpkg
# gets no line (and a message on stderr), so both count as missing.
installed=$(dpkg-query -W -f='${Package}\t${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
	grep -qxF "$p"$'\tinstalled' <<<"$installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "install-deps: not root and no sudo: install these as root: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
