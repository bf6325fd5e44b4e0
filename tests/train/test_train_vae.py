"""The default VAE's trainer: reproducible batches, resume, the written folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from lutkit.distort.recipe import load_recipe  # noqa: E402
from lutkit.errors import ConfigError  # noqa: E402
from lutkit.latents.vae_init import init_block_codec  # noqa: E402
from lutkit.train import vae as tv  # noqa: E402

# evaluation at 32x32, one crop per held-out photo: the trainer's report, in seconds
QUICK = dict(progress=False, eval_size=32, eval_crops=1)


def tiny_config(**overrides) -> tv.VAETrainConfig:
    base = dict(
        steps=4,
        batch_size=2,
        size=32,
        block_out_channels=(8, 8),
        norm_num_groups=1,
        checkpoint_every=2,
        eval_every=100,
        threads=1,
    )
    return tv.VAETrainConfig(**(base | overrides))


@pytest.fixture(scope="module")
def photos():
    return tv.load_photos(exclude=tv.HOLDOUT)


def test_holdout_is_not_trained_on(photos):
    names = {p.name for p in photos}
    assert names and not names & set(tv.HOLDOUT)


def test_batches_are_a_function_of_seed_and_step(photos):
    cfg = tiny_config()
    recipe = load_recipe(cfg.recipe)
    a = tv.make_batch(photos, cfg, 7, recipe)
    assert a.shape == (2, 32, 32, 3) and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert np.array_equal(a, tv.make_batch(photos, cfg, 7, recipe))
    assert not np.array_equal(a, tv.make_batch(photos, cfg, 8, recipe))
    other_seed = tiny_config(seed=1)
    assert not np.array_equal(a, tv.make_batch(photos, other_seed, 7, recipe))


def test_learning_rate_schedule():
    cfg = tv.VAETrainConfig(steps=1000, warmup=50, lr=2e-3, min_lr_ratio=0.05)
    assert tv.vae_lr(cfg, 0) == pytest.approx(2e-3 / 50)
    assert tv.vae_lr(cfg, 49) == pytest.approx(2e-3)
    assert tv.vae_lr(cfg, 999) == pytest.approx(2e-3 * 0.05, rel=1e-3)


def test_config_is_checked():
    with pytest.raises(ConfigError, match="size must be a multiple of 8"):
        tv.VAETrainConfig(size=100).check()
    with pytest.raises(ConfigError, match="norm_num_groups 8 must divide"):
        tv.VAETrainConfig(block_out_channels=(12, 24, 48, 96), norm_num_groups=8).check()
    with pytest.raises(ConfigError, match="at least 8 channels per norm group"):
        tv.VAETrainConfig(block_out_channels=(8, 16, 32, 64), norm_num_groups=2).check()
    tv.VAETrainConfig(block_out_channels=(8, 16, 32, 64), norm_num_groups=2, init="random").check()


def test_block_codec_init_is_a_block_average_codec(photos):
    """At init the latent means are the 8x8 tile colours, and decoding paints them back."""
    import torch.nn.functional as F
    from diffusers import AutoencoderKL

    from lutkit.latents.vae import center_crop_resize, images_to_tensor

    cfg = tv.VAETrainConfig()
    torch.manual_seed(0)
    vae = AutoencoderKL(**tv.vae_config(cfg))
    calibration = tv.make_batch(
        photos, tiny_config(size=64, batch_size=4), -1, load_recipe("default")
    )
    init_block_codec(vae, images_to_tensor(calibration))
    held_out = tv.load_photos(only=("coffee",))[0].pixels
    x = images_to_tensor(center_crop_resize(held_out, 64))
    with torch.no_grad():
        mean = vae.encode(x).latent_dist.mean
        tiles = F.avg_pool2d(x, 8)
        assert (mean[:, :3] - tiles).abs().max() < 2e-3
        z = torch.cat([tiles, torch.zeros_like(tiles[:, :1])], dim=1)
        painted = vae.decode(z).sample
    nearest = F.interpolate(tiles, scale_factor=8, mode="nearest")
    assert (painted - nearest).abs().mean() < 0.02


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "diffusion_pytorch_model.safetensors"))


def interrupting(make_batch, at: int):
    """``make_batch`` that stops the run (KeyboardInterrupt) when asked for step ``at``."""

    def batch(photos, cfg, step, recipe):
        if step == at:
            raise KeyboardInterrupt
        return make_batch(photos, cfg, step, recipe)

    return batch


def test_interrupted_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    cfg = tiny_config()
    straight = tv.train_vae(tmp_path / "straight", cfg, **QUICK)
    assert straight.steps == 4
    written = {p.name for p in (tmp_path / "straight").iterdir()}
    assert written == {
        "config.json",
        "diffusion_pytorch_model.safetensors",
        "TRAINING.md",
        "training.json",
    }
    record = json.loads((tmp_path / "straight" / "training.json").read_text())
    assert record["config"] == cfg.to_dict()
    assert record["heldout_photos"] == list(tv.HOLDOUT)
    # the photos the run trained on: the bundled ones but the held-out and evaluated ones
    assert record["train_photos"] == [
        "astronaut",
        "chelsea",
        "rocket",
        "hubble_deep_field",
        "retina",
    ]

    real = tv.make_batch
    monkeypatch.setattr(tv, "make_batch", interrupting(real, at=3))
    with pytest.raises(KeyboardInterrupt):
        tv.train_vae(tmp_path / "resumed", cfg, **QUICK)
    assert json.loads((tmp_path / "resumed" / "resume" / "state.json").read_text())["step"] == 2
    monkeypatch.setattr(tv, "make_batch", real)
    tv.train_vae(tmp_path / "resumed", cfg, **QUICK)
    assert not (tmp_path / "resumed" / "resume").exists()
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stale_resume_checkpoint_is_not_mixed_in(tmp_path, monkeypatch):
    real = tv.make_batch
    monkeypatch.setattr(tv, "make_batch", interrupting(real, at=3))
    with pytest.raises(KeyboardInterrupt):
        tv.train_vae(tmp_path / "run", tiny_config(), **QUICK)
    monkeypatch.setattr(tv, "make_batch", real)
    with pytest.raises(ConfigError, match="different configuration"):
        tv.train_vae(tmp_path / "run", tiny_config(lr=2e-4), **QUICK)


def test_a_checkpoint_missing_the_corpus_key_resumes(tmp_path, monkeypatch):
    """A resume state without the ``corpus`` key (as written before that option) is the
    same run as corpus=False, and continues to the weights of an uninterrupted run. (A
    real checkpoint that old also lacks ``eval_photos_out`` and is refused: next test.)"""
    cfg = tiny_config()
    tv.train_vae(tmp_path / "straight", cfg, **QUICK)
    real = tv.make_batch
    monkeypatch.setattr(tv, "make_batch", interrupting(real, at=3))
    with pytest.raises(KeyboardInterrupt):
        tv.train_vae(tmp_path / "old", cfg, **QUICK)
    state = tmp_path / "old" / "resume" / "state.json"
    info = json.loads(state.read_text())
    del info["config"]["corpus"]
    state.write_text(json.dumps(info))
    monkeypatch.setattr(tv, "make_batch", real)
    tv.train_vae(tmp_path / "old", cfg, **QUICK)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "old")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_from_before_eval_photos_out_is_refused(tmp_path, monkeypatch):
    """A resume state without ``eval_photos_out`` was trained on the default model's
    evaluation photos (what the older code did): it is not this run, so it is refused
    rather than continued on other photos."""
    real = tv.make_batch
    monkeypatch.setattr(tv, "make_batch", interrupting(real, at=3))
    with pytest.raises(KeyboardInterrupt):
        tv.train_vae(tmp_path / "old", tiny_config(), **QUICK)
    state = tmp_path / "old" / "resume" / "state.json"
    info = json.loads(state.read_text())
    del info["config"]["eval_photos_out"]
    state.write_text(json.dumps(info))
    monkeypatch.setattr(tv, "make_batch", real)
    with pytest.raises(ConfigError, match="from before eval_photos_out is in the way"):
        tv.train_vae(tmp_path / "old", tiny_config(), **QUICK)


def test_the_vae_never_trains_on_the_default_models_evaluation_photos(monkeypatch):
    """The bundled photos a VAE trains on leave out its held-out photos and every photo
    the default model is evaluated on (its val and test photos, the same files as
    bundled motorcycle and immunohistochemistry); without eval_photos_out, the older set."""
    from lutkit.fsutil import file_sha256
    from lutkit.samples import sample_photo, sample_photos

    names = {p.name for p in tv.bundled_training_photos(tv.HOLDOUT, True)}
    evaluated = {p.sha256 for p in tv.eval_photos()}
    bundled = {p.name for p in sample_photos()}
    assert not names & set(tv.HOLDOUT)
    assert all(file_sha256(sample_photo(n).path) not in evaluated for n in names)
    assert {"motorcycle", "immunohistochemistry"} & bundled <= bundled - names
    assert names == {"astronaut", "chelsea", "rocket", "hubble_deep_field", "retina"}
    assert len(evaluated) == 10  # the default model's 7 val and 3 test photos
    # another scikit-image version's bytes: matched by the file inside the package too
    import lutkit.fsutil

    monkeypatch.setattr(lutkit.fsutil, "file_sha256", lambda path: "other bytes")
    assert {p.name for p in tv.bundled_training_photos(tv.HOLDOUT, True)} == names
    monkeypatch.undo()
    older = {p.name for p in tv.bundled_training_photos(tv.HOLDOUT, False)}
    assert older == bundled - set(tv.HOLDOUT)
    with pytest.raises(ConfigError, match="no bundled photo named 'nope'"):
        tv.bundled_training_photos(("nope",), True)


def test_the_corpus_leaves_out_the_vaes_held_out_photos(tmp_path):
    """grace_hopper is a bundled photo the VAE is measured on and a curated train photo
    (the same file): with exclude, the corpus leaves it out, and only it."""
    import shutil

    from lutkit.images import save_image
    from lutkit.photos.manifest import load_manifest
    from lutkit.samples import sample_photo

    for k, p in enumerate(load_manifest()):
        if p.name == "grace-hopper":
            shutil.copyfile(sample_photo("grace_hopper").path, tmp_path / p.file)
        else:
            save_image(tmp_path / p.file, np.full((20, 40, 3), 8 * k % 256, np.uint8))
    every = [g.name for g in tv.corpus_photos(tmp_path, max_side=16)]
    assert "photos:grace-hopper" in every
    kept = [g.name for g in tv.corpus_photos(tmp_path, max_side=16, exclude=tv.HOLDOUT)]
    assert kept == [n for n in every if n != "photos:grace-hopper"]


def test_a_training_runs_folder_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"stage": "both", "dataset": "d"}))
    with pytest.raises(ConfigError) as err:
        tv.train_vae(run, tiny_config(), **QUICK)
    assert str(err.value) == (
        f"{run}: the folder is a training run's: the VAE would overwrite its config.json "
        "(choose another --out)"
    )
    assert json.loads((run / "config.json").read_text()) == {"stage": "both", "dataset": "d"}


def test_corpus_splits_are_the_default_models_dataset_splits():
    """--corpus keeps the photos the default model is evaluated on out of the VAE: its
    split rule must be the one `make model`'s dataset build uses (the Makefile)."""
    from pathlib import Path

    make = (Path(__file__).resolve().parents[2] / "Makefile").read_text(encoding="utf-8")
    line = next(ln for ln in make.splitlines() if ln.startswith("PHOTOS"))
    splits = line.split("--splits ")[1].split()[0]
    assert tuple(float(x) for x in splits.split(",")) == tv.CORPUS_SPLITS


def test_corpus_photos_are_the_train_split_downscaled(tmp_path):
    """A cache of every manifest photo (tiny stand-ins): the train split by each file's
    sha256, as `dataset build` splits (the rule written out here), each downscaled to at
    most max_side, named photos:NAME; a missing cache is the fetch hint."""
    import hashlib

    from lutkit.errors import PhotosError
    from lutkit.images import save_image
    from lutkit.photos.manifest import load_manifest

    manifest = load_manifest()
    for k, p in enumerate(manifest):
        save_image(tmp_path / p.file, np.full((20, 40, 3), 8 * k % 256, np.uint8))
    got = tv.corpus_photos(tmp_path, max_side=16)

    def digest(p):
        return hashlib.sha256((tmp_path / p.file).read_bytes()).hexdigest()

    train = [p for p in manifest if int(digest(p)[:12], 16) / 16**12 < tv.CORPUS_SPLITS[0]]
    assert [g.name for g in got] == [f"photos:{p.name}" for p in train]
    assert 0 < len(got) < len(manifest)
    assert {g.pixels.shape for g in got} == {(8, 16, 3)}
    assert all(g.pixels.dtype == np.float32 for g in got)
    with pytest.raises(PhotosError, match="lutkit photos fetch"):
        tv.corpus_photos(tmp_path / "empty")
