from __future__ import annotations

import numpy as np
import pytest
import torch

from lutkit.luts.apply import apply_lut
from lutkit.luts.torch_apply import apply_lut3d


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
def test_matches_numpy(graded_lut, interp):
    img = np.random.default_rng(0).random((2, 24, 20, 3)).astype(np.float32)
    img[0, 0, :5] = [[0, 0, 0], [1, 1, 1], [0.5, 0.5, 0.5], [1, 0, 0.25], [0.125, 0.125, 0.9]]
    ref = apply_lut(graded_lut, img, interp=interp)
    out = apply_lut3d(
        torch.from_numpy(graded_lut.table), torch.from_numpy(img).permute(0, 3, 1, 2), interp=interp
    )
    assert np.abs(out.permute(0, 2, 3, 1).numpy() - ref).max() <= 1e-5


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
def test_gradient_check(graded_lut, interp):
    table = torch.from_numpy(graded_lut.resample(5).table).double().requires_grad_()
    img = torch.rand(1, 3, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    img = (img * 0.9 + 0.05).requires_grad_()  # away from the clamped edges
    assert torch.autograd.gradcheck(lambda t, x: apply_lut3d(t, x, interp=interp), (table, img))


def test_batched_tables():
    tables = torch.stack([torch.zeros(3, 3, 3, 3), torch.ones(3, 3, 3, 3)])
    img = torch.rand(2, 3, 4, 4)
    out = apply_lut3d(tables, img)
    assert torch.allclose(out[0], torch.zeros_like(out[0]))
    assert torch.allclose(out[1], torch.ones_like(out[1]))
