# One target per chore; CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export MEDIA_SYNC_PROJECTS_ROOT ?= ./data/projects
export MEDIA_SYNC_STATE_DIR ?= ./data/state

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

# `make run PROJECTS=/mnt/nas/Projects PORT=8788 STATE=/var/tmp/media-sync HOST=127.0.0.1`:
# each one given on the command line overrides its MEDIA_SYNC_* variable for this run only
# (a PORT or HOST that the environment happens to hold is not taken).
given = $(if $(filter command line,$(origin $(1))),$(2)='$($(1))')
RUN_ENV = $(call given,PROJECTS,MEDIA_SYNC_PROJECTS_ROOT) $(call given,STATE,MEDIA_SYNC_STATE_DIR) \
	$(call given,PORT,MEDIA_SYNC_PORT) $(call given,HOST,MEDIA_SYNC_HOST)

run: $(VENV)/.installed-run
	$(strip $(RUN_ENV) $(BIN)/media-sync serve)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check daemon ingress tests
	$(BIN)/ruff format --check daemon ingress tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache  # the import contracts in pyproject.toml (ARCHITECTURE.md)

test: lint
	$(BIN)/python -m pytest

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix daemon ingress tests
	$(BIN)/ruff format daemon ingress tests

bench: $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -e '.[bench]'  # copyparty, for tests/bench/tus_speed.py
	for script in tests/bench/*.py; do $(BIN)/python $$script || exit 1; done
	MEDIA_SYNC_CRASH_ROUNDS=200 MEDIA_SYNC_CRASH_SECONDS=600 $(BIN)/python -m pytest -q -o timeout=1800 tests/crash

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
