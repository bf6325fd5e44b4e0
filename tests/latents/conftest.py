"""The latents tests' dataset: 3 photo crops x 2 variants at 64 px, in shards of 2 rows."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, photo):
    """(dataset folder, tiny VAE folder)."""
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.images import save_image

    root = tmp_path_factory.mktemp("latents")
    src = root / "photos"
    src.mkdir()
    for i, (y, x) in enumerate([(0, 0), (200, 100), (100, 250)]):
        save_image(src / f"p{i}.png", photo[y : y + 256, x : x + 256])
    cfg = BuildConfig(
        source=str(src),
        recipe="curves",
        out=str(root / "ds"),
        variants=2,
        size=64,
        rows_per_shard=2,
        splits=(0.5, 0.25, 0.25),
    )
    build_dataset(cfg, workers=1)
    from tests.models.helpers import tiny_vae

    return root / "ds", tiny_vae(root / "vae")
