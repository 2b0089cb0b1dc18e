# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
SEED_PATH := /pages/article/east-turkistan-government-in-exile-condemns-china-pakistan-cooperation
DEMO_SETTINGS := LAYOUTSERVER_SETTINGS=config/demo.toml
AXE := .cache/node/node_modules/axe-core/axe.min.js
# The composition layers the fragment tests run (node-tailor, Podium's client and layout) and
# the AMD loader Tailor is given (tests/web/node/).
COMPOSERS := .cache/node/.composers-installed
COMPOSER_PACKAGES := node-tailor@3.9.2 @podium/client@5.4.10 @podium/layout@5.4.2 requirejs@2.3.7

.PHONY: run test system-packages lint typecheck pytest test-pg bench faults clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The app and what the tests need, plus the separately packaged example plugin (its tests check
# that an outside distribution's widget appears through entry points).
$(VENV)/.installed: $(BIN)/activate pyproject.toml setup.py examples/layoutserver-example-widget/pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q ./examples/layoutserver-example-widget
	touch $@

run: $(VENV)/.installed
	$(DEMO_SETTINGS) $(BIN)/layoutserver demo load
	@echo
	@echo "  Seed page: http://127.0.0.1:$(PORT)$(SEED_PATH)"
	@echo
	$(DEMO_SETTINGS) PORT=$(PORT) $(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

# The suite runs twice, side by side: on SQLite files (pytest) and on PostgreSQL with Redis
# (test-pg). Each line of output is labelled with its run; the two runs share no port, file or
# server. Much of each run's time is spent waiting on servers and Chromium, which the other run
# fills.
test: $(VENV)/.installed system-packages $(AXE) $(COMPOSERS) lint typecheck
	$(MAKE) --no-print-directory -j2 pytest test-pg

# What the tests need from Debian: the system Chromium, which Playwright drives (browser tests),
# redis-server (the Redis tests start throwaway servers on loopback), Varnish with its
# xkey vmod (varnish-modules) and nginx for the edge tests (tests/edge/, with
# config/edge/varnish.vcl and config/edge/nginx.conf), and npm (with Node.js) to install axe-core.
system-packages:
	@[ -n "$$(find /usr/lib -name libvmod_xkey.so -print -quit 2>/dev/null)" ] || { \
		echo "installing varnish and varnish-modules (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules; }
	@[ -x /usr/sbin/nginx ] || { \
		echo "installing nginx (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }
	@command -v chromium >/dev/null || { \
		echo "installing chromium (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	@command -v redis-server >/dev/null || { \
		echo "installing redis-server (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }
	@command -v npm >/dev/null || { \
		echo "installing nodejs and npm (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }

# axe-core, which the accessibility tests (tests/web/test_accessibility.py) run in Chromium;
# kept under .cache/node, out of the repository.
$(AXE):
	@command -v npm >/dev/null || { echo "npm is missing: run make system-packages"; exit 1; }
	npm install --prefix .cache/node --no-audit --no-fund axe-core@4

# node-tailor, @podium/client and @podium/layout for tests/web/test_tailor.py and
# test_podium_client.py and the Tailor bench; installed once, then used offline.
$(COMPOSERS): $(AXE)
	npm install --prefix .cache/node --no-audit --no-fund $(COMPOSER_PACKAGES)
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# The edge tests must not be skipped here: a missing varnishd fails them (and a missing
# axe-core the accessibility tests).
pytest: $(VENV)/.installed $(AXE) $(COMPOSERS)
	set -o pipefail; LAYOUTSERVER_TEST_EDGE=required $(BIN)/python -m pytest -p no:cacheprovider \
		2>&1 | sed -u 's/^/[sqlite] /'

# The suite on PostgreSQL and Redis: .ci/services installs them when missing (apt-get), starts
# throwaway servers on loopback, runs pytest with LAYOUTSERVER_TEST_DATABASE_URL and
# LAYOUTSERVER_TEST_REDIS_URL set (a fresh database per test), then stops them, pass or fail.
test-pg: $(VENV)/.installed $(AXE) $(COMPOSERS)
	set -o pipefail; LAYOUTSERVER_TEST_EDGE=required .ci/services $(BIN)/python -m pytest \
		-p no:cacheprovider 2>&1 | sed -u 's/^/[postgresql] /'

bench: $(VENV)/.installed system-packages $(COMPOSERS)
	bench/run.sh

# Beacon bursts through faults (Redis and PostgreSQL stopped, killed, blackholed; workers and
# hosts killed; reloads), two gunicorn hosts on a PostgreSQL and a Redis of its own: a table of
# what was accepted and counted; fails on any lost or doubled count (docs/reliability.md).
# Arguments go through FAULTS_ARGS, e.g. FAULTS_ARGS="--tokens 200 --faults redis-stop".
faults: $(VENV)/.installed system-packages
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		echo "installing postgresql (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) instance .cache/node
