# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
# Compiled translation catalogues are build output: made from the committed .po files.
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: run test typecheck lint bench system-deps system-deps-with-browser

# Debian packages (Pango, CJK fonts): installs what is missing when root, else prints the apt-get line.
system-deps:
	@scripts/system-deps.sh

# Browser tests drive Debian's chromium (no browser download works on a closed network).
system-deps-with-browser:
	@scripts/system-deps.sh --with-browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

%.mo: %.po
	msgfmt --check-format -o $@ $<

run: system-deps $(STAMP) $(MO)
	@scripts/run.sh

test: system-deps-with-browser $(STAMP) $(MO)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check .

# Every benchmark on a throwaway PostgreSQL with a million loans (about an hour): docs/PERFORMANCE.md.
bench: $(STAMP) $(MO)
	@scripts/system-deps.sh --with-postgres --with-bench
	$(BIN)/python -m bench.all
