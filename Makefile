# The two commands the README starts with, and what they need. Only Python 3.11 is required.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: the back-office with web, worker, beat and the KuCoin sandbox (SQLite, embedded queue)
run: install
	$(BIN)/python -m brokeroffice.devrun

## test: the whole test suite (PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set), with the
## suite-wide secret scan: every page, log line and database row the tests made is searched for their secrets
test: install-dev
	SECURITY_SCAN=1 DJANGO_SETTINGS_MODULE=tests.security.settings_scan $(BIN)/python -m pytest $(PYTEST_ARGS)

## bench: every benchmark on PostgreSQL and Redis (started if down), figures in bench/RESULTS.md
bench: install-dev
	eval "$$(bin/services-up brokeroffice_bench)" && $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf var/test-queue-* var/test-db-*.sqlite3* test-artefacts
