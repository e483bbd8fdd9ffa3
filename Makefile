# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-placement clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pcinet demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/pcinet bench scheduler --hosts 1000 --json
	$(BIN)/pcinet bench scheduler --hosts 10000 --json
	$(MAKE) bench-placement

# Durable placements (committed server creates) at 1,000 hosts: SQLite, then a throw-away
# PostgreSQL server (tests/pgrun.py), in process and through the REST API.
PLACEMENT := $(BIN)/pcinet bench placement --hosts 1000 --servers 4000 --json
bench-placement: $(STAMP)
	$(PLACEMENT)
	$(PLACEMENT) --workers 4
	$(PLACEMENT) --cold-ports
	$(PLACEMENT) --http --workers 4
	$(BIN)/python -m tests.pgrun \
	  -- $(PLACEMENT) --database-url '{url}' \
	  -- $(PLACEMENT) --database-url '{url}' --workers 4 \
	  -- $(PLACEMENT) --database-url '{url}' --cold-ports \
	  -- $(PLACEMENT) --database-url '{url}' --cold-ports --workers 4 \
	  -- $(PLACEMENT) --database-url '{url}' --http --workers 4 \
	  -- $(PLACEMENT) --database-url '{url}' --processes 2 --workers 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
