# The $516k Gap — every target installs what it needs first (venv, PostgreSQL, jars) and is safe to rerun.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
LAB := $(VENV)/bin/lab
PY := $(VENV)/bin/python
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "→ installing the lab's Python dependencies into $(VENV) (first run only)"
	@$(PY) -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed ## Create the virtualenv with the lab's Python dependencies

lab-up: venv ## Bring the whole lab up (installs PostgreSQL and the jars on first use)
	@$(LAB) up

lab-down: venv ## Stop every lab process (data kept; WIPE=1 deletes it)
	@$(LAB) down $(if $(WIPE),--wipe,)

lab-status: venv ## Component map: health, connectors, lag, row counts, tile vs ERP, clock
	@$(LAB) status

lab-reset: venv ## Back to the pristine broken starting state
	@$(LAB) reset

test: venv ## Run the whole test suite against the real stack (brings its own lab up and down)
	@$(PY) -m pytest

test-unit: venv ## Only the tests that need no servers
	@$(PY) -m pytest -m unit

lint: venv ## ruff
	@$(VENV)/bin/ruff check .

bench: venv ## Measure the quality bars of LAB_SPEC §7
	@$(PY) -m bench

.PHONY: help venv lab-up lab-down lab-status lab-reset test test-unit lint bench
