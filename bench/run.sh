#!/usr/bin/env bash
# `make bench`: requests/s of the seed page (warm cache, caching disabled) against a null Flask
# route, under gunicorn with config/gunicorn.conf.py, loaded by wrk. See docs/performance.md.
# Extra arguments go to bench/pages.py (e.g. --json results.json, --rounds 5, --strict).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk from the system packages" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

exec "$VENV/bin/python" bench/pages.py "$@"
