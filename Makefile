# Ticketflow: `make demo` starts the demo, `make test` runs the tests.
# Both create the virtualenv and install the project on first use.
# `make demo DEMO_PORT=8080` serves the demo on another port.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/ticketflow_ci
SMOKE_DB := $(CURDIR)/instance/smoke-test.db
DEMO_PORT ?= 5000

.PHONY: install demo test lint test-postgres test-sqlite bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ticketflow db upgrade
	$(BIN)/ticketflow seed-demo
	@echo "Ticketflow is starting on http://127.0.0.1:$(DEMO_PORT) (Ctrl-C stops it)."
	$(BIN)/ticketflow run --host 127.0.0.1 --port $(DEMO_PORT)

test: lint bench-smoke test-sqlite test-postgres

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test-postgres: install
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m pytest

# The smoke run is the bare-laptop setup: SQLite and the embedded Redis (REDIS_URL unset).
test-sqlite: install
	mkdir -p instance && rm -f $(SMOKE_DB)
	env -u REDIS_URL TEST_DATABASE_URL=sqlite:///$(SMOKE_DB) $(BIN)/python -m pytest -m "not postgres" -q

bench-smoke: install
	$(BIN)/python -m bench.generate --tickets 2000 --url $(TEST_DATABASE_URL)_bench
	$(BIN)/python -m bench.transitions --sizes 1000 --transitions 300 --url $(TEST_DATABASE_URL)_bench
	$(BIN)/python -m bench.pages --sizes 2000 --rounds 1 --requests 3 --http-rounds 1 \
		--server $(dir $(TEST_DATABASE_URL)) --prefix $(notdir $(TEST_DATABASE_URL))_bench_pages
	$(BIN)/python -m bench.search --size 2000 --rounds 1 --requests 3 \
		--server $(dir $(TEST_DATABASE_URL)) --prefix $(notdir $(TEST_DATABASE_URL))_bench_pages
	$(BIN)/python -m bench.http_transitions --size 2000 --seconds 1 --rounds 1 --warmup 0.5 \
		--server $(dir $(TEST_DATABASE_URL)) --prefix $(notdir $(TEST_DATABASE_URL))_bench_http
	$(BIN)/python -m bench.timers --tickets 50 --spread 5 --transitions 50 \
		--url $(TEST_DATABASE_URL)_bench_timers
	$(BIN)/python -m bench.sweep --tickets 2000 --url $(TEST_DATABASE_URL)_bench_sweep

clean:
	rm -rf $(VENV) instance/smoke-test.db .pytest_cache .ruff_cache
