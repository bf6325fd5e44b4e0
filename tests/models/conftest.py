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
