# lutkit: every target calls `lutkit ...` or the test/lint tools, nothing else.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
LUTKIT  := $(BIN)/lutkit
STAMP   := $(VENV)/.installed
DEMO    ?= demo

export HF_HUB_OFFLINE ?= 1

.PHONY: setup test lint format demo data latents vae train bench luts clean help fresh-check

help:
	@echo "make setup   create .venv and install lutkit with its test extras"
	@echo "make test    run the test suite (creates .venv when missing)"
	@echo "make demo    the LUT walk-through on a bundled photo -> $(DEMO)/"
	@echo "make data    the demo dataset: bundled photos x default recipe -> datasets/demo"
	@echo "make latents VAE latents of the demo dataset (builds it first if needed)"
	@echo "make train   demo data + latents, then train the recolor and LUT nets -> runs/demo"
	@echo "make vae     retrain lutkit's default VAE -> lutkit/resources/vae (about 15 min on 2 CPU cores)"
	@echo "make bench   benchmarks (LUT apply vs Pillow, OCIO, colour, torch; distortions) -> reports/bench.md"
	@echo "make luts    re-author the GIMP-made LUTs in luts/ from luts/gimp/*.scm (needs GIMP 2.10)"
	@echo "make lint    ruff check + format check"
	@echo "make fresh-check  clone the committed HEAD to a temp folder, run make demo + make test there"

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

data: $(STAMP)
	$(LUTKIT) dataset build --source sample --recipe default --out datasets/demo
	$(LUTKIT) dataset verify datasets/demo

latents: $(STAMP)
	$(LUTKIT) dataset build --source sample --recipe default --out datasets/demo
	$(LUTKIT) latents datasets/demo

demo: $(STAMP)
	$(LUTKIT) demo --out $(DEMO)

# The exact command that produced the shipped weights (see lutkit/resources/vae/TRAINING.md).
vae: $(STAMP)
	$(LUTKIT) vae train --out lutkit/resources/vae --steps 2400 --batch-size 8 --size 64 --lr 0.0005 --warmup 100 --kl-weight 0.0001 --colour-weight 8 --seed 0

# Each step resumes or skips what is already done; the default VAE comes from `make vae`.
train: $(STAMP)
	$(LUTKIT) dataset build --source sample --recipe default --out datasets/demo
	$(LUTKIT) latents datasets/demo
	$(LUTKIT) train --config pipelines/train/demo.toml

bench: $(STAMP)
	$(BIN)/python -m lutkit.bench all -o reports/bench.md

luts: $(STAMP)
	$(LUTKIT) lut build-gimp --scripts luts/gimp --library luts --sheet docs/lut-library.jpg

# What a new user gets: a clean clone of HEAD, then the README's two commands.
fresh-check:
	scripts/fresh_check.sh

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
