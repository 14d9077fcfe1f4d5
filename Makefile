# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

NODE_STAMP := node_modules/.package-lock.json

.PHONY: install demo test lint typecheck bench clean synth

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The pinned AWS CDK CLI (package.json: aws-cdk 2.x); tests run `cdk synth` with it.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node_modules: $(NODE_STAMP)

# cdk.json runs `python3 -m orchestration.deploy`: put the project's virtualenv first on PATH.
synth: $(STAMP) $(NODE_STAMP)
	PATH="$(abspath $(BIN)):$$PATH" npx cdk synth --quiet

demo: $(STAMP)
	$(BIN)/orch validate examples/etl.py
	$(BIN)/orch graph examples/etl.py
	$(BIN)/orch run examples/etl.py --param rows=500
	$(BIN)/orch runs list --limit 3

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy orchestration functions infra

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
