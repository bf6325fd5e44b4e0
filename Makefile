# lutkit: every target calls `lutkit ...`, the test/lint tools or a scripts/ helper.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
LUTKIT  := $(BIN)/lutkit
STAMP   := $(VENV)/.installed
DEMO    ?= demo

export HF_HUB_OFFLINE ?= 1

.PHONY: setup test lint format demo photos photos-data model data latents vae train eval-sets eval eval-demo vae-eval bench luts clean help fresh-check

help:
	@echo "make setup   create .venv and install lutkit with its test extras"
	@echo "make test    run the test suite (creates .venv when missing)"
	@echo "make demo    the main job: demo data, latents, training, then the LUT walk-through"
	@echo "             and the fix of a held-out photo (before/after + .cube) -> $(DEMO)/"
	@echo "make photos  fetch the 36 curated training photographs (Debian packages + pip) -> ~/.cache/lutkit/photos"
	@echo "make data    the demo dataset: bundled photos x 16 default-recipe variants -> datasets/demo"
	@echo "make latents VAE latents of the demo dataset (builds it first if needed)"
	@echo "make train   demo data + latents, then train the recolor and LUT nets -> runs/demo"
	@echo "make model   the shipped default model: photos, datasets/photos, latents, training, export -> lutkit/resources/models/default"
	@echo "make eval-sets  held-out sets from the photos no training step saw (test split, left-out families, ffmpeg/ImageMagick/GIMP) -> datasets/photos-eval"
	@echo "make eval    the shipped default model against the baselines on those sets -> reports/default/index.html, results.md"
	@echo "make eval-demo  the same for the small demo run (runs/demo) on the demo dataset -> reports/demo"
	@echo "make vae-eval  the default VAE's held-out PSNR and delta E 2000 at 224"
	@echo "make vae     retrain lutkit's default VAE on the photos -> lutkit/resources/vae (about 16 min on 2 CPU cores)"
	@echo "make bench   benchmarks (LUT apply vs Pillow, OCIO, colour, torch; distortions) -> reports/bench.md"
	@echo "make luts    re-author the GIMP-made LUTs in luts/ from luts/gimp/*.scm (needs GIMP 2.10)"
	@echo "make lint    ruff check + format check"
	@echo "make fresh-check  clone the committed HEAD to a temp folder, run make demo + make test there"

$(STAMP): pyproject.toml setup.py lutkit/luts/_lutc.c  # the C kernel is built by the install
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check lutkit tests scripts
	$(BIN)/ruff format --check lutkit tests scripts

format: $(STAMP)
	$(BIN)/ruff format lutkit tests scripts
	$(BIN)/ruff check --fix lutkit tests scripts

# The training photographs: apt-get download + dpkg-deb -x (no root), sha256-checked,
# cached outside git (LUTKIT_PHOTOS, else ~/.cache/lutkit/photos); offline once fetched.
photos: $(STAMP)
	$(LUTKIT) photos fetch

# The demo dataset: the 9 bundled photos x 16 variants of the default recipe.
DATA    := $(LUTKIT) dataset build --source sample --recipe default --variants 16 --out datasets/demo

data: $(STAMP)
	$(DATA)
	$(LUTKIT) dataset verify datasets/demo

latents: $(STAMP)
	$(DATA)
	$(LUTKIT) latents datasets/demo

# The main job end to end: data, latents, training of the small demo run (each resumes
# or skips what is done), then the LUT walk-through and the fix of a held-out photo with
# the shipped default model -> $(DEMO)/.
demo: $(STAMP)
	$(DATA)
	$(LUTKIT) latents datasets/demo
	$(LUTKIT) train --config pipelines/train/demo.toml
	$(LUTKIT) demo --out $(DEMO) --model default

# The exact command that produced the shipped weights (see lutkit/resources/vae/TRAINING.md).
# It trains on the bundled photos and the curated photographs of the default model's train
# split (--corpus), so it fetches those first; every photo the default model or the VAE is
# evaluated on is left out.
vae: $(STAMP)
	$(LUTKIT) photos fetch
	$(LUTKIT) vae train --out lutkit/resources/vae --corpus --steps 6000 --batch-size 8 --size 64 --lr 0.0001 --warmup 100 --kl-weight 0.0001 --colour-weight 1 --seed 0 --threads 2

# The default VAE's held-out reconstruction (PSNR, delta E 2000) at 224.
vae-eval: $(STAMP)
	$(LUTKIT) vae eval --vae default --size 224

# Each step resumes or skips what is already done; the default VAE comes from `make vae`.
train: $(STAMP)
	$(DATA)
	$(LUTKIT) latents datasets/demo
	$(LUTKIT) train --config pipelines/train/demo.toml

# The default model's data: the training photographs, 8 views x 8 default-recipe
# variants each, split by photo (26 train, 7 val, 3 test); each train photo gives 24
# mosaic views more (tiled with other train photos; see the README).
PHOTOS  := $(LUTKIT) dataset build --source photos --recipe default --crops 8 --mosaic 24 --variants 8 --size 224 --splits 0.78,0.11,0.11 --out datasets/photos

photos-data: $(STAMP)
	$(LUTKIT) photos fetch
	$(PHOTOS)

# The shipped default correction model (lutkit/resources/models/default/TRAINING.md):
# photos, their dataset and latents, training, then the export into the package.
model: photos-data
	$(LUTKIT) latents datasets/photos
	$(LUTKIT) train --config pipelines/train/default.toml
	$(LUTKIT) model export runs/default -o lutkit/resources/models/default --colormap net

# Held-out sets from the photos no training step saw (val + test of datasets/photos).
eval-sets: photos-data
	$(LUTKIT) eval-sets --dataset datasets/photos -o datasets/photos-eval

# The shipped default model against the baselines on those sets -> reports/default
# (its tables are copied into the README and TRAINING.md by scripts/readme_tables.py;
# its images/gallery.jpg becomes the README's picture). The learned baselines are the
# FFCC-style estimator alone (with the histograms of the grayest and brightest pixels),
# with one light and with a light per tonal band (cached in reports/default/baselines);
# the pixel FCN and IA-3DLUT train slowly on these 6656 pairs on a CPU: add them with
# --baselines fcn,ia3dlut,ffcc,ffcc-tonal.
eval: eval-sets
	$(LUTKIT) eval --model default --sets datasets/photos-eval -o reports/default --baselines ffcc,ffcc-tonal
	cp reports/default/images/gallery.jpg docs/default-model-gallery.jpg
	$(BIN)/python scripts/readme_tables.py reports/default/results.md README.md lutkit/resources/models/default/TRAINING.md

# The same for the small demo run on the demo dataset's held-out photos -> reports/demo.
eval-demo: train
	$(DATA)
	$(LUTKIT) eval-sets --dataset datasets/demo -o datasets/demo-eval
	$(LUTKIT) eval --model runs/demo --sets datasets/demo-eval -o reports/demo --baseline-epochs 5

bench: $(STAMP)
	$(LUTKIT) bench all -o reports/bench.md

luts: $(STAMP)
	$(LUTKIT) lut build-gimp --scripts luts/gimp --library luts --sheet docs/lut-library.jpg

# What a new user gets: a clean clone of HEAD, then the README's two commands.
fresh-check:
	scripts/fresh_check.sh

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
