# Two commands do everything on a fresh machine with Python 3.11:
#   make run    install, write the demo data, materialise every asset, print a summary
#   make test   install (with test extras) and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export MARMOT_HOME ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(MARMOT_HOME)/dagster

.PHONY: run test lint lint-sql dev demo prepare bench install clean superset docs browser

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The stamp reinstalls when the dependency pins change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The dbt manifest is prepared here, never when the code location loads.
dbt_project/target/manifest.json: $(VENV)/.installed $(shell find dbt_project -path dbt_project/target -prune -o \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' -o -name '*.py' \) -print)
	$(BIN)/marmot prepare

prepare: dbt_project/target/manifest.json

demo: install
	$(BIN)/marmot demo

run: prepare demo
	$(BIN)/marmot run

# Lint before the tests: Python with ruff (lint rules and formatting, pyproject.toml), then
# the dbt project's SQL with sqlfluff.
lint: install lint-sql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# SQL lint of the dbt project: sqlfluff with the dbt templater, rules in .sqlfluff. The
# templater compiles the project, so dbt gets a throwaway MARMOT_HOME (the profile needs
# one) and writes its target and logs there: the warehouse and the prepared manifest in
# dbt_project/target are left alone. (The dbt templater skips macro files.)
lint-sql: install
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	MARMOT_HOME="$$tmp" DBT_TARGET_PATH="$$tmp/target" DBT_LOG_PATH="$$tmp/logs" \
	$(BIN)/sqlfluff lint --processes 0 dbt_project/models dbt_project/tests

# Headless Chromium (Debian package) prints the progress report's PDF and renders it in the
# tests (tests/test_report.py); without it the report is HTML only.
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

test: prepare lint browser
	$(BIN)/python -m pytest

# The UI and daemon on 127.0.0.1:3000 (marmot_assets/dev.py): Ctrl-C or SIGTERM ends every
# process it started within 10 s.
dev: prepare demo
	$(BIN)/marmot dev --host 127.0.0.1 --port 3000

# Apache Superset on the serving file (bi/superset/start.sh): its own virtualenv (not .venv),
# config and metadata under $(MARMOT_HOME)/superset, on 127.0.0.1:8088 (or a free port).
superset:
	bi/superset/start.sh

# The dbt docs site on 127.0.0.1:8080 (and docs/published-tables.md rendered from them).
docs: prepare
	$(BIN)/dbt docs generate --project-dir dbt_project --profiles-dir dbt_project
	$(BIN)/python -m marmot_assets.publish.docs
	$(BIN)/dbt docs serve --project-dir dbt_project --profiles-dir dbt_project --no-browser \
		--host 127.0.0.1 --port 8080

bench: prepare
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
