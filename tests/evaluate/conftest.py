from __future__ import annotations

import pytest

from tests.require_external import skip_folder_unless

# The tiny VAE and the tiny encoded dataset of the training tests (6 photo crops x 2
# variants at 64 px), shared rather than rebuilt.
from tests.train.conftest import tiny_dataset, vae_dir  # noqa: F401

pytest_pycollect_makemodule = skip_folder_unless("torch", "diffusers")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run faster on one thread, and much faster on a busy machine."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
