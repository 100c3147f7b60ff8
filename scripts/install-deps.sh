#!/usr/bin/env bash
# scripts/install-deps.sh [test] — installs the Debian/Ubuntu packages that the
# build, the stack and the tests need, then the npm packages of gateway/docs
# (Redoc, which /docs serves: part of `make run`) and, with `test`, of tools
# (the OpenAPI linters and the TypeScript client check, some 240 packages that
# only `make test` uses). Idempotent: when every package is installed
# it only asks dpkg and compares two lock files, and returns; otherwise it runs
# `apt-get update` and installs the missing ones (through sudo unless run as
# root), and `npm ci` where a lock changed.
set -euo pipefail

FOR=${1:-run}
[[ $FOR == run || $FOR == test ]] || {
	echo "usage: scripts/install-deps.sh [test]" >&2
	exit 2
}

PACKAGES=(
	# build (libprotobuf-dev: google/protobuf/descriptor.proto, which the field
	# options extend; python3-protobuf reads them for tools/gen_field_rules.py)
	build-essential pkg-config protobuf-c-compiler
	libzmq3-dev libprotobuf-c-dev libhiredis-dev libpq-dev libcivetweb-dev
	libjansson-dev libssl-dev libcurl4-openssl-dev libcmocka-dev libical-dev
	libprotobuf-dev python3-protobuf
	# the stack (scripts/stack)
	postgresql postgresql-contrib redis-server curl openssl procps
	# end-to-end tests
	python3-pytest python3-requests python3-psycopg2 python3-prometheus-client python3-yaml wrk
	# every answer the end-to-end tests receive, checked against the document
	python3-jsonschema
	# every end-to-end test bounded (pytest.ini: timeout), and a run in random order
	python3-pytest-timeout python3-pytest-random-order
	# a real SMTP server on loopback, that the notify tests read the mail from
	python3-aiosmtpd
	# scheduling's iCalendar text parsed as a calendar app would
	python3-icalendar
	# notify's letters: laid out with Pango and drawn by Cairo as PDF, in Noto
	# Sans (Latin with Welsh and Polish diacritics, Somali), Noto Nastaliq Urdu
	# and Noto Naskh Arabic (all in fonts-noto-core); the letter tests read the
	# PDFs back (poppler-utils' pdftotext and pdffonts, python3-pdfminer)
	libpango1.0-dev libcairo2-dev fonts-noto-core poppler-utils python3-pdfminer
	# /docs rendered in headless Chromium by the end-to-end tests
	chromium chromium-driver
)

# dpkg-query prints one line per known package; one that is unknown to dpkg
# gets no line (and a message on stderr), so both count as missing.
installed=$(dpkg-query -W -f='${Package}\t${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for p in "${PACKAGES[@]}"; do
	grep -qxF "$p"$'\tinstalled' <<<"$installed" || missing+=("$p")
done

# Node.js and npm install Redoc (/docs), the OpenAPI linters and the
# TypeScript client check (npm_folder below). A machine may have them from elsewhere than Debian: ask for the
# commands, not the packages.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi

# npm_folder DIR: `npm ci` in DIR (package.json + package-lock.json) unless
# its node_modules already holds that lock's install, which a copy of the lock
# kept beside it records. Git ignores node_modules.
npm_folder() {
	local dir=$1 stamp=$1/node_modules/.parley-installed-lock
	if [[ -f $stamp ]] && cmp -s "$dir/package-lock.json" "$stamp"; then
		return 0
	fi
	echo "install-deps: npm ci in $dir" >&2
	# SCARF_ANALYTICS=false: no install-time telemetry (a dependency of Spectral's).
	(cd "$dir" && SCARF_ANALYTICS=false npm ci --omit=dev --no-audit --no-fund --loglevel=error) || {
		echo "install-deps: npm ci failed in $dir" >&2
		return 1
	}
	cp "$dir/package-lock.json" "$stamp"
}
npm_folders() {
	local root
	root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	npm_folder "$root/gateway/docs" # Redoc's standalone bundle, served at /docs
	if [[ $FOR == test ]]; then
		npm_folder "$root/tools" # the OpenAPI linters and the TypeScript client check
	fi
}

if ((${#missing[@]} == 0)); then
	npm_folders
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
npm_folders
