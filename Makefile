# todoapp: every entry point a person needs. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv from PATH when there is one, otherwise a copy installed with pip into .tools/
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
FLASK := $(BIN)/flask --app wsgi
# Development targets run Flask in debug mode, which keeps a generated SECRET_KEY
# in instance/. Production runs with FLASK_DEBUG=0 and a real SECRET_KEY.
DEV := FLASK_DEBUG=$${FLASK_DEBUG:-1}
HOST ?= 127.0.0.1
PORT ?= 5000
SERVE_PORT ?= 8000
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: help install run serve test test-postgres e2e bench bench-smoke bench-versus profile lint format lock \
	db-init db-migrate db-upgrade db-downgrade db-history db-current db-reset db-test-migrations \
	db-check db-freeze db-lint db-merge

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

.tools/bin/uv:
	@echo "uv not found: installing it with pip into .tools/"
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --require-hashes -r requirements/uv.txt

$(BIN)/python: | $(UV)
	$(UV) venv --quiet --python $(PYTHON) $(VENV)

$(VENV)/.installed: requirements/dev.txt | $(BIN)/python
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.txt
	@touch $@

install: $(VENV)/.installed ## create .venv and install the locked dependencies

run: install ## upgrade the database, then serve the app at http://127.0.0.1:5000
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) run --host $(HOST) --port $(PORT)

serve: install ## production: flask db upgrade once, then gunicorn on 127.0.0.1:8000 (WORKERS=N)
	$(FLASK) db upgrade
	exec $(BIN)/gunicorn wsgi:app -c python:todoapp.gunicorn_conf \
		--bind $(HOST):$(SERVE_PORT) --workers $(WORKERS) --access-logfile -

# Offline SQLite scripts are run the way an operator runs them: by the sqlite3 shell.
SQLITE3_SHELL = @command -v sqlite3 >/dev/null || { echo "Installing Debian's sqlite3 shell"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null; }

test: install ## run the whole test suite
	$(SQLITE3_SHELL)
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install ## the whole test suite on a throwaway PostgreSQL cluster
	bash .ci/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

AXE_VERSION := 4.14.1
AXE := .e2e-node/node_modules/axe-core/axe.min.js

e2e: install ## browser tests: Playwright + Debian's Chromium, axe-core, screenshots to docs/screenshots
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@test -f $(AXE) || { echo "Installing axe-core $(AXE_VERSION) from npm into .e2e-node/"; \
		npm install --prefix .e2e-node --no-save --no-package-lock --no-audit --no-fund \
		axe-core@$(AXE_VERSION) >/dev/null; }
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

DB ?= sqlite
# The benchmarks drive load with wrk; PostgreSQL runs on a throwaway cluster.
BENCH = $(if $(filter postgres,$(DB)),bash .ci/with-postgres )$(BIN)/python -m benchmarks --db $(DB)
PROFILE = $(if $(filter postgres,$(DB)),bash .ci/with-postgres )$(BIN)/python -m benchmarks.profile --db $(DB)
VERSUS = $(if $(filter postgres,$(DB)),bash .ci/with-postgres )$(BIN)/python -m benchmarks.versus --db $(DB)
WRK = @command -v wrk >/dev/null || { echo "Installing Debian's wrk package"; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: install ## benchmarks at 1,000 and 1,000,000 todos (DB=postgres too); figures in benchmarks/results/
	$(WRK)
	$(SQLITE3_SHELL)
	$(BENCH)

bench-smoke: install ## every benchmark at tiny sizes, about two minutes: proves the harness works (DB=postgres too)
	$(WRK)
	$(SQLITE3_SHELL)
	$(BENCH) --smoke
	$(PROFILE) --requests 20
	$(VERSUS) HEAD --size 2000 --rounds 1 --seconds 1

bench-versus: install ## target 1 for BEFORE=<commit> and this checkout side by side, in one run (DB=postgres too)
	@test -n "$(BEFORE)" || { echo "usage: make bench-versus BEFORE=<commit> [DB=postgres]"; exit 2; }
	$(WRK)
	$(VERSUS) $(BEFORE)

profile: install ## where one request's time goes, per list page, in worker-ms (DB=postgres too)
	$(PROFILE)

lint: install ## ruff: lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: ## re-lock requirements/*.txt from pyproject.toml (needs the package index)
	$(UV) pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/main.txt
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements/dev.txt
	$(UV) pip compile requirements/uv.in --python-version 3.11 --generate-hashes -q -o requirements/uv.txt

db-init: ## explain why there is nothing to initialise
	@echo "migrations/ already exists and is under version control: there is nothing to initialise."
	@echo "To change the schema: edit todoapp/models.py, then 'make db-migrate MESSAGE=\"what changed\"'."

db-migrate: install ## autogenerate a revision: make db-migrate MESSAGE="add priority to todos"
	@test -n "$(MESSAGE)" || { echo 'MESSAGE is required: make db-migrate MESSAGE="add priority to todos"'; exit 2; }
	$(DEV) $(FLASK) db migrate -m "$(MESSAGE)"

db-merge: install ## after a git merge left two heads: write the merge revision (MESSAGE optional)
	$(DEV) $(FLASK) db merge-heads $(if $(MESSAGE),-m "$(MESSAGE)")

db-upgrade: install ## apply every pending revision
	$(DEV) $(FLASK) db upgrade

db-downgrade: install ## revert the newest revision, a merge too (ARGS="-x purge_trash=yes" to pass options)
	$(DEV) $(FLASK) db step-down $(ARGS)

db-history: install ## list the revisions
	$(DEV) $(FLASK) db history --indicate-current

db-current: install ## show the database's revision
	$(DEV) $(FLASK) db current

db-reset: install ## drop everything and rebuild the schema (asks first unless FORCE=1)
	@if [ "$(FORCE)" != "1" ]; then \
		echo "This deletes every user and todo in this database:"; \
		$(DEV) $(FLASK) db current --verbose 2>/dev/null | sed -n 's/^Current revision(s) for \(.*\):$$/  \1/p'; \
		read -r -p "Type 'reset' to go on: " answer; \
		[ "$$answer" = "reset" ] || { echo "Nothing was changed."; exit 1; }; \
	fi
	$(DEV) $(FLASK) db downgrade base -x purge_trash=yes
	$(DEV) $(FLASK) db upgrade
	@echo "Database reset: schema rebuilt at head, no data."

db-test-migrations: install ## upgrade -> downgrade one step -> upgrade on a temporary COPY of the database; every table compared
	$(DEV) $(BIN)/python -m todoapp.migration_tools.roundtrip

db-check: install ## flask db check on a throwaway database at head: models and migrations agree
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	export DATABASE_URL="sqlite:///$$tmp/check.sqlite" && \
	$(DEV) $(FLASK) db upgrade 2>/dev/null && $(DEV) $(FLASK) db check

db-lint: install ## rate pending revisions (risk table, PostgreSQL locks, squawk); fails on unreviewed High/Critical (RANGE=all)
	$(DEV) $(FLASK) db lint $(RANGE)

db-freeze: install ## add new revisions to migrations/manifest.sha256 (refuses if a listed one changed)
	$(BIN)/python -m todoapp.migration_tools.manifest freeze
