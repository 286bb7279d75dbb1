# SessionShot: `make run` starts the all-in-one service, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := chromium redis-server poppler-utils fonts-dejavu-core
PORT ?= 8080

.PHONY: install lock system-packages node test-npm sdk-ts run test test-fast lint format bench bench-npm load clean

install: system-packages $(STAMP)

# Debian packages, installed only when one is missing (apt needs root).
system-packages:
	@missing=""; \
	for pkg in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "Missing Debian packages:$$missing. Install them as root: apt-get install$$missing"; exit 1; \
	  fi; \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The .venv is exactly the lock (hash-checked), whatever newer releases exist; `make lock`
# refreshes the lock on purpose. uv itself is pinned here.
UV_VERSION := 0.13.8
UV := $(BIN)/uv
LOCK := requirements/dev.lock
UV_COMPILE = $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11

$(UV):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)

# The project, then the Python client library sdk/python (`sessionshot capture` uses it; its
# dependencies are in the lock), both editable.
$(STAMP): $(UV) $(LOCK) requirements/build.lock pyproject.toml sdk/python/pyproject.toml
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps \
	  --build-constraints requirements/build.lock -e .
	$(UV) pip install --quiet --python $(BIN)/python --no-deps \
	  --build-constraints requirements/build.lock -e sdk/python
	@touch $(STAMP)

lock: $(UV)
	$(UV_COMPILE) pyproject.toml -o requirements/main.lock
	$(UV_COMPILE) pyproject.toml --extra dev -o $(LOCK)
	$(UV_COMPILE) requirements/build.in -o requirements/build.lock

run: install
	$(BIN)/sessionshot up --port $(PORT) $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Tests that wait on the wall clock (captures due every minute, watched for three minutes)
# and barely use the machine meanwhile: they run beside the rest of the suite, their report
# printed after it; either failing fails the target.
WALL_CLOCK_TESTS := tests/e2e/test_schedules.py

test: install lint test-npm sdk-ts
	@clock_log=$$(mktemp); \
	$(BIN)/python -m pytest -q -p no:cacheprovider $(WALL_CLOCK_TESTS) >$$clock_log 2>&1 & clock=$$!; \
	echo "$(WALL_CLOCK_TESTS) runs beside the rest; its report follows the suite's"; \
	$(BIN)/python -m pytest -q --ignore=$(WALL_CLOCK_TESTS); rest=$$?; \
	wait $$clock; clock_status=$$?; \
	echo "--- $(WALL_CLOCK_TESTS):"; cat $$clock_log; rm -f $$clock_log; \
	test $$rest = 0 -a $$clock_status = 0

# The suite without the tests marked slow (real processes killed and restarted, Redis taken
# away): a quick check while developing; `make test` runs everything.
test-fast: install test-npm sdk-ts
	$(BIN)/python -m pytest -q -m "not slow"

# Node and npm for the Node clients of the tests (Puppeteer) and the benches: Debian's
# nodejs and npm when there is no npm yet (a NodeSource nodejs brings its own).
node:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "npm is missing. Install it as root: apt-get install nodejs npm"; exit 1; fi; \
	  echo "Installing Debian packages: nodejs npm"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; \
	}

# The tests' Node clients, exactly as locked (puppeteer-core, the CDP protocol description).
test-npm: node
	cd tests/node && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

# The TypeScript client (sdk/typescript), exactly as locked, built with tsc; its node tests
# run inside pytest (tests/e2e/test_sdk_typescript.py) against real service processes.
sdk-ts: node
	cd sdk/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build

# Each benchmark compares the service with the best alternative in the same run and exits
# non-zero when it misses a target (docs/benchmarks.md). All of them run; the summary says
# which missed, and `make bench` fails if any did.
BENCHES := sessions captures webhooks routing usage mcp connect live

# bench/mcp.py's baseline, Playwright MCP, exactly as its lock file pins it (never at test time).
bench-npm: node
	cd bench/mcp && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

bench: install bench-npm
	@missed=""; \
	for bench in $(BENCHES); do \
	  $(BIN)/python bench/$$bench.py || missed="$$missed $$bench"; \
	done; \
	for bench in $(BENCHES); do \
	  case " $$missed " in *" $$bench "*) echo "bench $$bench: MISSED a target";; \
	  *) echo "bench $$bench: met its targets";; esac; \
	done; \
	test -z "$$missed"

# The load test (docs/benchmarks.md, "Load"): Locust against two API instances and two
# workers, stepping the agents up; fails on any error or a billing mismatch.
# LOAD_ARGS="--redis cluster --json load.json" passes options to the runner.
LOAD_ARGS ?=

load: install
	$(BIN)/python bench/load/run.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
