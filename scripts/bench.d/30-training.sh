#!/usr/bin/env bash
# scripts/bench.d/30-training.sh — training's figure: GET
# /v1/training/compliance for an authority with 500 people (issue 15's
# target: p99 under 50 ms), one request at a time, seeded through the API
# by bench/training_compliance.py. Run by scripts/bench (see lib.bash); on
# a running stack alone: set -a; . var/stack.env; set +a; bash
# scripts/bench.d/30-training.sh (BENCH_OUT optional).
set -euo pipefail

ROOT=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
/usr/bin/python3 bench/training_compliance.py
