# The README's two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
FLASK  := $(BIN)/flask --app wsgi

.PHONY: run test bench load lint typecheck test-sqlite test-postgresql e2e translations \
        extract-messages install install-dev system-packages clean

run: install translations
	$(FLASK) db-upgrade
	$(FLASK) demo
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# The two databases' suites run side by side (one per core; each keeps its own output).
test: install-dev translations system-packages lint typecheck
	$(MAKE) -j2 --output-sync=target test-sqlite test-postgresql

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

# The whole suite on SQLite, then again on PostgreSQL (a throwaway cluster unless
# TEST_DATABASE_URL names a server); browser tests included in both.
test-sqlite: install-dev translations
	$(BIN)/pytest --db=sqlite $(PYTEST_ARGS)

test-postgresql: install-dev translations
	$(BIN)/pytest --db=postgresql $(PYTEST_ARGS)

# Speed and memory of the list pages and the fiscal-year report on large workspaces (figures
# for the README).
BENCH_DB ?= sqlite
bench: install-dev translations
	$(BIN)/python -m tests.bench.bench_lists --db=$(BENCH_DB)
	$(BIN)/python -m tests.bench.bench_matching
	$(BIN)/python -m tests.bench.bench_reports --db=$(BENCH_DB)

# The whole deployment under load: gunicorn (infra/gunicorn.conf.py) on a throwaway PostgreSQL,
# 20 people clicking from a second process, one workspace vs 1,788 (about 10 minutes; the
# figures are in the README). LOAD_ARGS="--small-workspaces 100 --duration 15" for a quick look.
load: install-dev translations
	$(BIN)/python -m tests.bench.bench_load $(LOAD_ARGS)

e2e: install-dev translations system-packages
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

system-packages:
	infra/scripts/ensure-system-packages.sh

translations: install
	$(BIN)/pybabel -q compile -d app/translations

# After adding user-visible strings: refresh the catalogue, then translate the new entries.
extract-messages: install
	$(BIN)/pybabel -q extract -F app/translations/babel.cfg -k _l -k N_ -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache
