# booksync: every command the README names. The first run of any target creates .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
STAGE ?= dev

.PHONY: help venv dev demo test test-fast lint typecheck validate deploy-check bench mutation build package deploy token openapi backfill-embeddings clean

# `make help` lists every target from its `## ` note (tests/unit/test_makefile.py holds every
# .PHONY target to having one).
help: ## this list
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	@touch $(PY)

venv: $(PY) ## create .venv with the project and its dev tools (every target does this first)

dev: $(PY) ## run the local stack (moto + runtime + provider sandboxes) until Ctrl-C
	$(PY) -m local.stack

demo: $(PY) ## start the local stack and run the whole scenario (exit 0 = every check held; DEMO_VERBOSE=1 also prints the functions' logs)
	$(PY) -m scripts.demo

test: $(PY) ## the whole test suite (unit, integration, contract, end to end)
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: $(PY) ## every test but the end-to-end and long ones, stopping at the first failure
	$(PY) -m pytest -m "not e2e and not long" -x -q

lint: $(PY) ## ruff (lint + format check) and mypy (strict)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

typecheck: lint ## the same as lint

$(SAM_VENV)/bin/sam:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli
	@touch $@

# Offline: sam validate needs a region but no credentials; telemetry is off so nothing else is called.
# cfn-lint also runs on SAM's translation: what SAM generates (the functions' roles) can close a
# circular dependency that the template as written does not show.
validate: $(PY) $(SAM_VENV)/bin/sam deploy-check ## cfn-lint (template.yaml and its SAM translation), sam validate --lint and deploy-check (offline)
	$(VENV)/bin/cfn-lint template.yaml
	$(PY) -m local.runtime.roles template.yaml .local/template.translated.json
	$(VENV)/bin/cfn-lint .local/template.translated.json
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

deploy-check: $(PY) ## the README's deploy commands against template.yaml's parameter rules (offline)
	$(PY) -m scripts.deploy_check --readme

# BENCH_ARGS: e.g. --only cold_start or --strict (fail when a goal is missed).
bench: $(PY) ## performance figures -> bench/results.json (BENCH_ARGS=--only NAME, --strict)
	$(PY) -m bench.run $(BENCH_ARGS)

# Mutation testing of the exactly-once core (mutation.toml; CPU-heavy, outside CI).
mutation: $(PY) ## mutation score of the exactly-once core -> bench/results.json (slow; MUTATION_ARGS=--only NAME)
	$(PY) -m scripts.mutation $(MUTATION_ARGS)

# docs/openapi.json: the API's document, generated from the code (a test keeps it current).
openapi: $(PY) ## regenerate docs/openapi.json from the code
	$(PY) -m scripts.openapi

# Against the deployed tables (AWS credentials and region from the environment); the embedder is
# the embed function's (Voyage with VOYAGE_API_KEY or VOYAGE_API_KEY_PARAM set, else the local one).
backfill-embeddings: $(PY) ## embed stored invoices and estimates into the billing memory, cost shown and confirmed first (BACKFILL_ARGS="--documents-table T --memory-table M [--company ID] [--dry-run] [--yes]")
	$(PY) -m scripts.backfill_embeddings $(BACKFILL_ARGS)

token: $(PY) ## print a JWT for the demo company, valid on the local stack (only the token; -s: no make chatter)
	@$(PY) -m local.runtime.jwt_tokens --company demo-company --role admin

# No Docker and no local python3.12 needed: layers/shared/Makefile fetches the arm64 wheels, and
# the functions have no requirements.txt (their dependencies are in the layer), so SAM copies them.
build: $(SAM_VENV)/bin/sam ## sam build (arm64 layer wheels fetched, no Docker)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --template-file template.yaml

package: build ## the same as build

# PARAMS are added to samconfig's parameter_overrides for STAGE (a bare --parameter-overrides
# would replace them). The check names any missing or malformed value before anything is built.
deploy: $(PY) ## check, sam build, sam deploy --config-env STAGE (STAGE=dev|prod, PARAMS="Key=value ...")
	$(PY) -m scripts.deploy_check --config-env $(STAGE) --params '$(PARAMS)'
	$(MAKE) build
	$(PY) -m scripts.deploy_check --config-env $(STAGE) --params '$(PARAMS)' --exec $(SAM_VENV)/bin/sam

clean: ## remove .venv, .venv-sam, .aws-sam, .local and the tools' caches
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
