#!/usr/bin/env bash
# `make bench`: requests/s of the seed page (warm cache, caching disabled, with its ad spots,
# warm on PostgreSQL + Redis)
# against a null Flask route, under gunicorn with config/gunicorn.conf.py, loaded by wrk; then
# the seed page with its ads behind a real Varnish (bench/edge.py: direct, ESI frames, cached page
# + one decide call); then the seed page assembled by Tailor from our regions against our own
# page (bench/tailor.py); then the in-process time of a whole-page ad decision with 10, 1,000,
# 10,000 and 100,000 line items, and of a forecast with 10,000 (bench/forecast.py: cold, the
# first on a snapshot, and warm); then the CPU one worker spends on one ad configuration change
# at 10,000 and 100,000 line items, with its memory (bench/ads_changes.py: a generated network
# kept in .cache/ads-network); then the seed page's first paint on Slow 4G, stylesheets inlined
# or linked; then the archive scenario (bench/archive.py: a generated 100,000-article archive,
# kept in .cache/archive, its long tail of distinct pages and its pages' cost against 1,000
# articles).
# See docs/performance.md.
# Extra arguments go to bench/pages.py (e.g. --json results.json, --rounds 5, --strict).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: installing wrk from the system packages" >&2
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

# The pg server runs on a throwaway PostgreSQL and Redis on loopback (.ci/services, as make test).
.ci/services "$VENV/bin/python" bench/pages.py "$@"
echo
"$VENV/bin/python" bench/edge.py
echo
"$VENV/bin/python" bench/tailor.py
echo
"$VENV/bin/python" bench/decisions.py
echo
"$VENV/bin/python" bench/forecast.py
echo
"$VENV/bin/python" bench/ads_changes.py
echo
"$VENV/bin/python" bench/first_paint.py
echo
"$VENV/bin/python" bench/archive.py
