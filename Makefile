# mendian — the two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: demo test test-postgres lint install npm clean-demo bench bench-transfers bench-routes bench-dashboards screenshots

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) $(NODE_STAMP)

# Front-end libraries (htmx, ECharts) come from the npm registry, pinned by package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

npm: $(NODE_STAMP)

demo: install
	$(BIN)/mendian demo

test: install
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/mendian_ci} $(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean-demo:
	rm -rf var/

bench: install
	$(BIN)/python bench/checkout.py

bench-transfers: install
	$(BIN)/python bench/transfers.py

bench-routes: install
	$(BIN)/python bench/routes.py

bench-dashboards: install
	$(BIN)/python bench/dashboards.py

# Needs a running server (make demo) and Debian's chromium.
screenshots: install
	$(BIN)/mendian console-screenshots --url http://127.0.0.1:8000
