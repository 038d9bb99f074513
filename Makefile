# The $516k Gap — every target installs what it needs first (venv, then what the runtime needs) and is
# safe to rerun. `bin/lab …` runs any lab command without activating anything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
LAB := $(VENV)/bin/lab
PY := $(VENV)/bin/python
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'
	@echo "  bin/lab --help      every lab command (status, hint, check, open, debrief, psql, dbt, logs …)"

# One clear line before anything is installed when the Python cannot run the lab (dbt 1.11: 3.11–3.13).
python-check:
	@command -v $(PYTHON) >/dev/null || { echo "Error: $(PYTHON) not found — install Python 3.11, 3.12 or 3.13 (macOS: brew install python@3.12), or PYTHON=/path/to/python3.12 make lab-up"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14)))' || { echo "Error: $$($(PYTHON) --version 2>&1) cannot run the lab: it needs Python 3.11, 3.12 or 3.13 — install one (Ubuntu 22.04: sudo apt-get install python3.11 python3.11-venv; macOS: brew install python@3.12) and run PYTHON=python3.11 make lab-up"; exit 1; }

$(VENV)/.installed: pyproject.toml
	@$(MAKE) -s python-check
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "→ installing the lab's Python dependencies into $(VENV) (first run only)"
	@$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed ## Create the virtualenv with the lab's Python dependencies

lab-up: venv ## Bring the whole lab up (picks the native or docker runtime; installs what it needs)
	@$(LAB) up

lab-down: venv ## Stop every lab process (data kept; WIPE=1 deletes it)
	@$(LAB) down $(if $(WIPE),--wipe,)

lab-status: venv ## Component map: health, connectors, lag, row counts, tile vs ERP, clock
	@$(LAB) status

lab-reset: venv ## Back to the pristine broken starting state
	@$(LAB) reset

lab-open: venv ## Open the workspace in a browser
	@$(LAB) open

test: venv ## Run the whole test suite against the real stack (native; docker and browser where available)
	@$(PY) -m pytest

test-unit: venv ## Only the tests that need no servers
	@$(PY) -m pytest -m unit

test-integration: venv ## The native runtime's integration tier (real stack)
	@$(PY) -m pytest -m integration

lint: venv ## ruff, and the GitHub workflows (actionlint, zizmor)
	@$(VENV)/bin/ruff check .
	@tools/lint-workflows.sh

compose-check: ## Load stack/compose.yaml with the loader of `docker compose` v2 (needs Go)
	@tools/compose-check/run -f stack/compose.yaml -p incident-lab

bench: venv ## Measure the quality bars of LAB_SPEC §7 (native and docker side by side; BENCH_ARGS="--reps 2")
	@$(PY) -m bench $(BENCH_ARGS)

.PHONY: help python-check venv lab-up lab-down lab-status lab-reset lab-open test test-unit test-integration lint \
	compose-check bench
