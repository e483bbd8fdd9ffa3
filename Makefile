# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-placement bench-nova clean sysdeps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=23"
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Debian packages the tests use (command:package): libvirt's schema check of the libvirt XML,
# and a headless Chromium with its driver for the dashboard's browser tests. Installed only
# when a command is missing (as root, else through sudo).
SYSDEPS := virt-xml-validate:libvirt-clients xmllint:libxml2-utils \
	chromium:chromium chromedriver:chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
sysdeps:
	@missing=""; for pair in $(SYSDEPS); do \
	  command -v "$${pair%%:*}" >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; \
	fi

demo: $(STAMP)
	$(BIN)/pcinet demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) sysdeps
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
	rm -rf $(VENV) $(NOVA_VENV) .pytest_cache .mypy_cache .ruff_cache

# pcinet against Nova's own PCI code: Nova from PyPI in a virtualenv of its own (never a
# dependency of pcinet); docs/benchmarks.md and docs/evidence.md show the results.
NOVA_VENV := .venv-nova
$(NOVA_VENV)/.installed:
	test -x $(NOVA_VENV)/bin/python || $(PYTHON) -m venv $(NOVA_VENV)
	$(NOVA_VENV)/bin/pip install --quiet --upgrade "pip>=23"
	$(NOVA_VENV)/bin/pip install --quiet nova==34.0.0
	touch $@

bench-nova: $(STAMP) $(NOVA_VENV)/.installed
	$(BIN)/pcinet bench nova --nova-python $(NOVA_VENV)/bin/python --hosts 1000 --hosts 10000 --json
