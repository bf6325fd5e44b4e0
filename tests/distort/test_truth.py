from __future__ import annotations

import numpy as np
import pytest

from lutkit.color import image_delta_e
from lutkit.distort.base import OpRecord, apply_chain, get_op
from lutkit.distort.truth import bake_chain, ground_truth, invert_lut
from lutkit.errors import ConfigError
from lutkit.luts.model import LUT3D
from lutkit.seeds import rng

COLORMAP_CHAINS = [
    ["curves.channels", "curves.gamma", "curves.levels"],
    ["curves.crosstalk", "curves.contrast"],
    ["lighting.cct", "curves.gamma"],
    ["lighting.named"],
    ["lighting.exposure", "curves.channels"],
]


def chain(names, seed):
    g = rng(seed)
    return [OpRecord(n, get_op(n).sample(g, get_op(n).ranges)) for n in names]


def test_bake_matches_the_ops(photo):
    records = chain(["curves.channels", "curves.gamma"], 1)
    img = photo[::4, ::4].astype(np.float32) / 255
    lut = bake_chain(records, 33)
    assert image_delta_e(lut.apply(img), apply_chain(img, records)).mean() < 0.1


def test_inverting_an_invertible_lut_is_exact_on_the_lattice():
    lut = LUT3D.from_function(lambda x: 0.1 + 0.8 * x**1.3, 17)
    inv, report = invert_lut(lut)
    ok = report.invertible
    assert ok.mean() > 0.3
    back = lut.apply(inv.table[ok].astype(np.float32))
    assert np.abs(back - inv.lattice()[ok]).max() < 1 / 510


@pytest.mark.parametrize("names", COLORMAP_CHAINS)
@pytest.mark.parametrize("seed", [0, 1])
def test_inverse_restores_clean_image_where_invertible(photo, names, seed):
    records = chain(names, seed)
    img = photo[::2, ::2].astype(np.float32) / 255
    distorted = apply_chain(img, records)
    inverse, report = ground_truth(records)
    mask = report.mask(distorted)
    assert mask.mean() > 0.1, report.summary()  # strong casts clip much of the photo
    restored = inverse.apply(distorted)
    de = image_delta_e(restored, img)
    assert de[mask].mean() < 1.0, (report.summary(), de[mask].mean())
    # and the correction really corrects: much closer than the distorted image
    assert de[mask].mean() < image_delta_e(distorted, img)[mask].mean()


def test_spatial_ops_have_no_ground_truth():
    records = chain(["lighting.mixed"], 0)
    assert ground_truth(records) is None
    with pytest.raises(ConfigError, match="cannot bake 'lighting.mixed' into a LUT"):
        bake_chain(records)


def test_tetrahedral_jacobian_matches_finite_differences():
    """The Newton steps' Jacobian, read off the table, is the interpolation's slope."""
    from lutkit.distort.truth import _TetraJacobian

    lut = bake_chain(chain(["lighting.cct", "curves.channels"], 3), 17)
    g = np.random.default_rng(0)
    cell = (g.integers(0, 16, (200, 3)) + g.uniform(0.1, 0.9, (200, 3))) / 16
    # keep away from the faces between tetrahedra (two fractions nearly equal)
    frac = cell * 16 % 1
    far = np.min(np.abs(frac[:, [0, 0, 1]] - frac[:, [1, 2, 2]]), axis=1) > 0.05
    v = cell[far]
    cols = _TetraJacobian(lut)(v)
    h = 1e-4
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (lut.apply((v + e).astype(np.float32)) - lut.apply((v - e).astype(np.float32))) / (
            2 * h
        )
        assert np.abs(cols[j] - fd).max() < 2e-2, j


def test_normal_equations_solve_like_numpy():
    from lutkit.distort.truth import _solve_normal

    g = np.random.default_rng(1)
    jac = g.normal(size=(50, 3, 3))
    r = g.normal(size=(50, 3))
    jt = np.transpose(jac, (0, 2, 1))
    want = np.linalg.solve(jt @ jac + 1e-6 * np.eye(3), jt @ r[..., None])[..., 0]
    cols = np.transpose(jac, (2, 0, 1))  # [column][point][channel]
    assert np.allclose(_solve_normal(cols, r), want, atol=1e-9)


def test_inversion_finds_reachable_colours(photo):
    """Every lattice colour of a mild, invertible grade is reached (no stalls)."""
    lut = LUT3D.from_function(lambda x: 0.05 + 0.9 * x**1.2, 17)
    inv, report = invert_lut(lut)
    reachable = (inv.lattice() >= 0.05 + 1e-3).all(-1) & (inv.lattice() <= 0.95 - 1e-3).all(-1)
    assert report.invertible[reachable].all(), report.summary()
