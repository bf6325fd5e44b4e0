from __future__ import annotations

import numpy as np
import pytest

from lutkit.errors import LUTError
from lutkit.luts.model import LUT1D, LUT3D, bake, compose


def test_identity_lattice_is_indexed_rgb():
    lut = LUT3D.identity(5)
    assert lut.table.shape == (5, 5, 5, 3)
    assert lut.table[4, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert lut.table[0, 4, 0].tolist() == [0.0, 1.0, 0.0]
    assert lut.table[0, 0, 4].tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (np.zeros((1, 1, 1, 3)), "a 3D LUT needs a size from 2 to 256, got 1"),
        (np.zeros((3, 3, 2, 3)), "a 3D LUT table must have shape (N, N, N, 3), got (3, 3, 2, 3)"),
        (
            np.full((2, 2, 2, 3), np.nan),
            "a 3D LUT table contains NaN, infinity or a value beyond the 32-bit float range "
            "(about 3.4e38)",
        ),
        (
            np.full((2, 2, 2, 3), 1e39),  # no numpy RuntimeWarning on the way either
            "a 3D LUT table contains NaN, infinity or a value beyond the 32-bit float range "
            "(about 3.4e38)",
        ),
    ],
)
def test_bad_tables(table, message, recwarn):
    with pytest.raises(LUTError) as err:
        LUT3D(table)
    assert not recwarn.list
    assert str(err.value) == message


def test_bad_domain():
    with pytest.raises(LUTError, match="min < max"):
        LUT3D.identity(3, domain=((0, 0, 1), (1, 1, 1)))


def test_bake_and_resample_preserve_a_linear_map():
    # Interpolation is exact for affine maps, so resampling must not change them.
    lut = bake(lambda x: 0.5 * x + 0.25, 9)
    big = lut.resample(17)
    np.testing.assert_allclose(big.table, big.lattice() * 0.5 + 0.25, atol=1e-6)


def test_blend_endpoints():
    lut = bake(lambda x: x**2, 9)
    np.testing.assert_allclose(lut.blend(0).table, LUT3D.identity(9).table, atol=1e-7)
    np.testing.assert_allclose(lut.blend(1).table, lut.table, atol=1e-7)
    with pytest.raises(LUTError, match="strength must be in"):
        lut.blend(1.5)


def test_compose_3d_then_3d_matches_sequential_application(photo):
    a = bake(lambda x: x**0.8, 33)
    b = bake(lambda x: np.clip(x[:, [1, 2, 0]] * 0.9 + 0.05, 0, 1), 33)
    both = compose(a, b)
    img = photo[::4, ::4].astype(np.float32) / 255
    sequential = b.apply(a.apply(img))
    # Composition re-samples on the lattice: close, not identical.
    assert np.abs(both.apply(img) - sequential).max() < 0.01


def test_compose_1d_then_3d():
    curve = LUT1D.from_function(lambda x: x**2, 256)
    lut3 = bake(lambda x: x[:, [2, 1, 0]], 17)  # swap red and blue: affine, exact
    both = compose(curve, lut3)
    assert isinstance(both, LUT3D)
    x = np.array([[0.5, 0.25, 1.0]], np.float32)
    np.testing.assert_allclose(both.apply(x), [[1.0, 0.0625, 0.25]], atol=2e-3)


def test_compose_1d_1d_stays_1d():
    a = LUT1D.from_function(lambda x: x**2, 64)
    b = LUT1D.from_function(np.sqrt, 64)
    assert isinstance(compose(a, b), LUT1D)


def test_invert_monotone_1d_round_trip():
    curve = LUT1D.from_function(lambda x: x**2.2, 4096)
    inv = curve.invert()
    # Away from 0, where x^(1/2.2) is too steep for any finite table.
    x = np.linspace(0.1, 1, 1001, dtype=np.float32)[:, None].repeat(3, 1)
    np.testing.assert_allclose(inv.apply(curve.apply(x)), x, atol=1e-3)


def test_invert_refuses_non_monotone():
    curve = LUT1D(np.array([0.0, 0.8, 0.3, 1.0]))
    with pytest.raises(LUTError, match="only a monotone non-decreasing 1D LUT can be inverted"):
        curve.invert()


def test_1d_to_3d_exact_at_lattice():
    curve = LUT1D.from_function(lambda x: x**0.5, 1024)
    lut3 = curve.to_3d(9)
    pts = lut3.lattice()
    np.testing.assert_allclose(lut3.table, curve.apply(pts.astype(np.float32)), atol=1e-6)
