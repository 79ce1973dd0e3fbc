# Two commands a newcomer needs: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STORE ?= var/demo.duckdb
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint bench clean browser

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the console tests: Debian's package (Playwright cannot download browsers here).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) || echo "chromium not installed: browser tests will skip"

demo: install
	mkdir -p var
	$(BIN)/qianmian demo --store duckdb:///$(DEMO_STORE) --host $(HOST) --port $(PORT)

test: install browser
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

# Style and layering: ruff's rules and the import contracts in pyproject.toml.
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

bench: install
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var spark-warehouse tests/artifacts
