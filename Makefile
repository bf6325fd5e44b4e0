# lutkit: every target calls `lutkit ...` or the test/lint tools, nothing else.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
LUTKIT  := $(BIN)/lutkit
STAMP   := $(VENV)/.installed
DEMO    ?= demo

export HF_HUB_OFFLINE ?= 1

.PHONY: setup test lint format demo bench clean help

help:
	@echo "make setup   create .venv and install lutkit with its test extras"
	@echo "make test    run the test suite (creates .venv when missing)"
	@echo "make demo    the LUT walk-through on a bundled photo -> $(DEMO)/"
	@echo "make bench   LUT apply benchmark: lutkit vs Pillow, OpenColorIO, colour, torch"
	@echo "make lint    ruff check + format check"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check lutkit tests
	$(BIN)/ruff format --check lutkit tests

format: $(STAMP)
	$(BIN)/ruff format lutkit tests
	$(BIN)/ruff check --fix lutkit tests

demo: $(STAMP)
	$(LUTKIT) demo lut --out $(DEMO)

bench: $(STAMP)
	$(BIN)/python -m lutkit.bench lut

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
