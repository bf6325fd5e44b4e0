from __future__ import annotations

import json

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


def test_inverse_agrees_with_the_lut_kernel():
    """The C inversion evaluates the LUT itself (float64): where it reports a colour
    reached, the float32 apply kernel (an independent implementation) agrees."""
    lut = bake_chain(chain(["lighting.cct", "curves.channels"], 3), 17)
    inv, report = invert_lut(lut)
    assert 0.2 < report.fraction < 1.0, report.summary()
    back = lut.apply(inv.table.astype(np.float32))
    err = np.abs(back - inv.lattice()).max(axis=-1)
    assert err[report.invertible].max() <= 1 / 510 + 1e-5
    assert report.max_residual == pytest.approx(err.max(), abs=1e-5)


def test_inverse_on_another_lattice_and_a_fold():
    lut = LUT3D.from_function(lambda x: 0.1 + 0.8 * x**1.3, 17)
    inv, report = invert_lut(lut, 9)
    assert inv.size == 9 and report.invertible.shape == (9, 9, 9)
    # A map that folds red back on itself has no local inverse where it folds.
    fold = LUT3D.from_function(
        lambda x: np.stack([4 * x[:, 0] * (1 - x[:, 0]), x[:, 1], x[:, 2]], -1), 17
    )
    _, folded = invert_lut(fold)
    assert not folded.invertible[16].any()  # reached (at r = 1/2), but the Jacobian is 0


def test_inversion_finds_reachable_colours(photo):
    """Every lattice colour of a mild, invertible grade is reached (no stalls)."""
    lut = LUT3D.from_function(lambda x: 0.05 + 0.9 * x**1.2, 17)
    inv, report = invert_lut(lut)
    reachable = (inv.lattice() >= 0.05 + 1e-3).all(-1) & (inv.lattice() <= 0.95 - 1e-3).all(-1)
    assert report.invertible[reachable].all(), report.summary()


def test_cells_across_a_flat_stretch_are_not_trusted():
    """Across a flat stretch of a curve the inverse jumps between two branches: the
    corners of such a cell are all invertible, but interpolating inside it is wrong,
    and the mask leaves those pixels out."""
    from lutkit.distort.base import ops_from_json

    flat = [0.09, 0.29, 0.52, 0.52, 0.79, 0.87]  # red: flat between 0.4 and 0.6
    ramp = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    params = {"red": flat, "green": ramp, "blue": ramp, "master": ramp}
    records = ops_from_json(f'[{{"op": "curves.channels", "params": {json.dumps(params)}}}]')
    clean = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    distorted = apply_chain(clean, records)
    inverse, report = invert_lut(bake_chain(records, 17))
    assert report.torn.any()
    mask = report.mask(distorted)
    de = image_delta_e(inverse.apply(distorted), clean)
    assert mask.mean() > 0.2
    assert de[mask].mean() < 0.1  # (0.18 with the torn cells' pixels in)


def test_the_c_inversion_refuses_buffers_of_the_wrong_size():
    import numpy as np

    from lutkit.luts import _lutc

    ok = dict(lo=np.zeros(3), hi=np.ones(3), y=np.zeros(3), x=np.zeros(3), r=np.zeros(1))
    table = np.zeros(2 * 2 * 2 * 3)
    _lutc.invert3d(table, 2, ok["lo"], ok["hi"], ok["y"], ok["x"], ok["r"], np.zeros(1), 5, 1)
    for bad_table, bad_y in ((np.zeros(10), ok["y"]), (table, np.zeros(3, np.float32))):
        with pytest.raises(ValueError, match="invert3d: float64 buffers"):
            _lutc.invert3d(
                bad_table, 2, ok["lo"], ok["hi"], bad_y, ok["x"], ok["r"], np.zeros(1), 5, 1
            )
