"""Good tiny inputs for the reliability tests: a photo, a LUT, a VAE, a dataset with
latents and a trained run (CPU, seconds), and the preloaded process runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "resources" / "bad"
IMAGE_SIZE = 64


def load_manifest() -> dict:
    return json.loads((CORPUS / "manifest.json").read_text())


@pytest.fixture(scope="session")
def good(tmp_path_factory) -> dict[str, Path]:
    """A small photo (and a folder holding only it) and a 9^3 .cube."""
    import numpy as np

    from lutkit.images import save_image
    from lutkit.luts.cube import write_cube
    from lutkit.luts.model import LUT3D
    from tests.models.helpers import photos

    root = tmp_path_factory.mktemp("good")
    (root / "photos").mkdir()
    pic = photos()[0][100:196, 150:246]
    save_image(root / "photos" / "photo.png", pic)
    warm = LUT3D.from_function(lambda rgb: np.clip(rgb * [1.05, 1.0, 0.9], 0, 1), 9)
    write_cube(warm, root / "warm.cube")
    return {
        "photo": root / "photos" / "photo.png",
        "photos": root / "photos",
        "cube": root / "warm.cube",
    }


@pytest.fixture(scope="session")
def tiny_vae_dir(tmp_path_factory) -> Path:
    pytest.importorskip("diffusers")
    from tests.models.helpers import tiny_vae

    return tiny_vae(tmp_path_factory.mktemp("rel-vae") / "vae")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory, tiny_vae_dir) -> Path:
    """A dataset of 6 photo crops x 1 variant at 64 px with latents of the tiny VAE."""
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.images import save_image
    from lutkit.latents.encode import encode_dataset
    from tests.models.helpers import photos

    root = tmp_path_factory.mktemp("rel-data")
    src = root / "photos"
    src.mkdir()
    k = 0
    for pic in photos():
        for y, x in [(0, 0), (100, 100)]:
            save_image(src / f"p{k}.png", pic[y : y + 160, x : x + 160])
            k += 1
    cfg = BuildConfig(
        source=str(src),
        recipe="curves",
        out=str(root / "ds"),
        variants=2,
        size=IMAGE_SIZE,
        rows_per_shard=4,
        splits=(0.5, 0.25, 0.25),
        ground_truth=False,
    )
    build_dataset(cfg, workers=1)
    encode_dataset(root / "ds", vae=str(tiny_vae_dir), device="cpu", size=IMAGE_SIZE)
    return root / "ds"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data, tiny_vae_dir) -> Path:
    """A tiny run trained for one epoch on ``tiny_data``."""
    from lutkit.train.config import load_config
    from lutkit.train.loop import train
    from tests.train.helpers import tiny_settings

    out = tmp_path_factory.mktemp("rel-runs")
    cfg = load_config(None, tiny_settings(tiny_data, tiny_vae_dir, out, epochs=1, fit_steps=5))
    train(cfg, progress=False)
    return out / "tiny"


@pytest.fixture(scope="session")
def zygote():
    from tests.reliability.harness import Zygote

    z = Zygote()
    yield z
    z.close()
