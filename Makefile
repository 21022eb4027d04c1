# booksync: every command the README names. The first run of any target creates .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
STAGE ?= dev

.PHONY: help venv dev demo test test-fast lint typecheck validate bench build package deploy token openapi clean

help:
	@echo "make demo      set up, start the local stack, run the whole scenario (exit 0 = every check held)"
	@echo "make test      the whole test suite (unit, integration, contract, end to end)"
	@echo "make dev       run the local stack (moto + runtime + provider sandboxes) until Ctrl-C"
	@echo "make lint      ruff + mypy;  make validate: sam validate --lint + cfn-lint on template.yaml"
	@echo "make bench     performance figures -> bench/results.json"
	@echo "make token     mint a JWT for the demo company (local stack only)"
	@echo "make openapi   regenerate docs/openapi.json from the code"
	@echo "make build / deploy STAGE=dev|prod   sam build && sam deploy"

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@touch $(PY)

venv: $(PY)

dev: $(PY)
	$(PY) -m local.stack

demo: $(PY)
	$(PY) -m scripts.demo

test: $(PY)
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(PY)
	$(PY) -m pytest -m "not e2e" -x -q

lint: $(PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

typecheck: lint

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	@touch $@

# Offline: sam validate needs a region but no credentials; telemetry is off so nothing else is called.
validate: $(PY) $(SAM_VENV)/bin/sam
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

# BENCH_ARGS: e.g. --only cold_start or --strict (fail when a goal is missed).
bench: $(PY)
	$(PY) -m bench.run $(BENCH_ARGS)

# docs/openapi.json: the API's document, generated from the code (a test keeps it current).
openapi: $(PY)
	$(PY) -m scripts.openapi

token: $(PY)
	$(PY) -m local.runtime.jwt_tokens --company demo-company --role admin

# No Docker and no local python3.12 needed: layers/shared/Makefile fetches the arm64 wheels, and
# the functions have no requirements.txt (their dependencies are in the layer), so SAM copies them.
build: $(SAM_VENV)/bin/sam
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml

package: build

deploy: build
	$(SAM_VENV)/bin/sam deploy --config-env $(STAGE)

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
