from __future__ import annotations

import pytest

from tests.require_external import skip_folder_unless

pytest_pycollect_makemodule = skip_folder_unless("torch", "diffusers")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def vae_dir(tmp_path_factory):
    from tests.models.helpers import tiny_vae

    return tiny_vae(tmp_path_factory.mktemp("tiny-vae") / "vae")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory, vae_dir):
    """(dataset folder, VAE folder): 6 photo crops x 2 variants at 64 px, encoded."""
    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.images import save_image
    from lutkit.latents.encode import encode_dataset
    from tests.models.helpers import photos

    root = tmp_path_factory.mktemp("train-data")
    src = root / "photos"
    src.mkdir()
    k = 0
    for pic in photos():
        for y, x in [(0, 0), (100, 100)]:
            save_image(src / f"p{k}.png", pic[y : y + 200, x : x + 200])
            k += 1
    cfg = BuildConfig(
        source=str(src),
        recipe="default",
        out=str(root / "ds"),
        variants=2,
        size=64,
        splits=(0.5, 0.25, 0.25),
    )
    build_dataset(cfg, workers=1)
    encode_dataset(root / "ds", vae=str(vae_dir), device="cpu", size=64)
    return root / "ds", vae_dir
