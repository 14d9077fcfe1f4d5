# Two commands from a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

NODE_STAMP := node_modules/.package-lock.json

.PHONY: install demo test lint typecheck bench clean synth chromium

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

# tests/browser drive Debian's Chromium with Playwright (never a downloaded browser): on a root machine
# without it (CI) install the package; elsewhere those tests skip, saying why.
CHROMIUM := /usr/bin/chromium
APT_CHROMIUM := DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		$(APT_CHROMIUM) >/dev/null || { apt-get update -q >/dev/null && $(APT_CHROMIUM) >/dev/null; }; \
	else \
		echo "no $(CHROMIUM) and not root: the browser tests will be skipped (as root: apt-get install chromium)"; \
	fi

test: $(STAMP) $(NODE_STAMP) chromium
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
