#!/usr/bin/env bash
# scripts/bench.d/40-notify.sh — notify's figure: notifications delivered a
# second to a local SMTP server with 1 and 3 notify processes (issue 13),
# by bench/notify_throughput.py. Run by scripts/bench (see lib.bash); on a
# running stack alone: set -a; . var/stack.env; set +a; bash
# scripts/bench.d/40-notify.sh (BENCH_OUT optional; it restarts notify and
# puts it back as one process).
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
/usr/bin/python3 bench/notify_throughput.py
