from __future__ import annotations

import colour
import numpy as np
import pytest

from lutkit.errors import LUTError
from lutkit.luts import apply as apply_mod
from lutkit.luts.apply import apply_lut, dense_table
from lutkit.luts.model import LUT1D, LUT3D

INTERPS = ["tetrahedral", "trilinear"]


@pytest.mark.parametrize("interp", INTERPS)
@pytest.mark.parametrize("size", [2, 17, 33])
def test_identity_is_exact_for_integers(photo, photo16, interp, size):
    ident = LUT3D.identity(size)
    assert np.array_equal(apply_lut(ident, photo, interp=interp), photo)
    assert np.array_equal(apply_lut(ident, photo16, interp=interp), photo16)


@pytest.mark.parametrize("interp", INTERPS)
def test_identity_float_within_1e6(interp):
    x = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    out = apply_lut(LUT3D.identity(33), x, interp=interp)
    assert out.dtype == np.float32
    assert np.abs(out - x).max() <= 1e-6


@pytest.mark.parametrize(
    ("interp", "reference"),
    [
        ("trilinear", colour.algebra.table_interpolation_trilinear),
        ("tetrahedral", colour.algebra.table_interpolation_tetrahedral),
    ],
)
def test_agrees_with_colour_science(graded_lut, interp, reference):
    rng = np.random.default_rng(1)
    x = rng.random((20000, 3)).astype(np.float32)
    x[:100] = np.round(x[:100] * 32) / 32  # exactly on lattice planes, where ties live
    ours = apply_lut(graded_lut, x, interp=interp)
    theirs = colour.LUT3D(graded_lut.table.astype(np.float64)).apply(
        x.astype(np.float64), interpolator=reference
    )
    assert np.abs(ours - theirs).max() <= 1e-5


def test_1d_agrees_with_np_interp():
    curve = LUT1D.from_function(lambda v: v**0.45, 50)
    x = np.random.default_rng(2).random((1000, 3)).astype(np.float32)
    ref = np.stack(
        [np.interp(x[:, c], curve.lattice()[:, c], curve.table[:, c]) for c in range(3)], -1
    )
    assert np.abs(curve.apply(x) - ref).max() <= 1e-6


def test_domain_and_clamping():
    # A LUT over [-0.5, 1.5]: values outside are clamped to the domain's edge.
    lut = LUT3D.from_function(lambda v: v * 2, 9, domain=(-0.5, 1.5))
    x = np.array([[-3.0, 0.25, 9.0]], np.float32)
    np.testing.assert_allclose(apply_lut(lut, x), [[-1.0, 0.5, 3.0]], atol=1e-6)


def test_nan_input_does_not_crash():
    x = np.array([[np.nan, 0.5, np.inf]], np.float32)
    out = apply_lut(LUT3D.identity(5), x)
    assert out.shape == (1, 3)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_output_range_and_rounding(dtype):
    top = np.iinfo(dtype).max
    lut = LUT3D.from_function(lambda v: v * 3 - 1, 5)  # goes far outside [0, 1]
    x = np.arange(0, top + 1, max(1, top // 255), dtype=dtype)[:, None].repeat(3, 1)
    out = apply_lut(lut, x)
    assert out.dtype == dtype
    expected = np.clip(np.rint((x.astype(np.float64) / top * 3 - 1) * top), 0, top)
    assert np.abs(out.astype(np.int64) - expected).max() <= 1


def test_float64_in_float64_out(graded_lut):
    x = np.random.default_rng(3).random((10, 3))
    out = apply_lut(graded_lut, x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, apply_lut(graded_lut, x.astype(np.float32)), atol=1e-7)


def test_input_not_modified(graded_lut, photo):
    before = photo.copy()
    apply_lut(graded_lut, photo)
    assert np.array_equal(photo, before)


@pytest.mark.parametrize("interp", INTERPS)
def test_dense_table_equals_direct_kernel(graded_lut, photo, interp):
    apply_mod._dense_cache.clear()
    direct = apply_lut(graded_lut, photo, interp=interp, method="direct")
    dense = apply_lut(graded_lut, photo, interp=interp, method="dense")
    assert np.array_equal(direct, dense)
    table = dense_table(graded_lut, interp).reshape(256, 256, 256, 3)
    r, g, b = photo[100, 200]
    assert np.array_equal(table[r, g, b], direct[100, 200])


def test_strength_blends_with_identity(graded_lut):
    x = np.random.default_rng(4).random((100, 3)).astype(np.float32)
    half = apply_lut(graded_lut, x, strength=0.5)
    np.testing.assert_allclose(half, 0.5 * x + 0.5 * apply_lut(graded_lut, x), atol=1e-6)


def test_deterministic(graded_lut, photo):
    assert np.array_equal(apply_lut(graded_lut, photo), apply_lut(graded_lut, photo))


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (
            np.zeros((4, 4), np.float32),
            "an image to apply a LUT to must have shape (..., 3), got (4, 4)",
        ),
        (np.zeros((4, 3), np.int32), "unsupported image dtype int32: use uint8, uint16 or float32"),
    ],
)
def test_bad_images(image, message):
    with pytest.raises(LUTError) as err:
        apply_lut(LUT3D.identity(3), image)
    assert str(err.value) == message


def test_unknown_interpolation():
    with pytest.raises(LUTError, match="unknown interpolation 'cubic'"):
        apply_lut(LUT3D.identity(3), np.zeros((1, 3), np.float32), interp="cubic")


@pytest.fixture
def kernel_path():
    """Restores the kernel's path (scalar or SSE2) after a test chooses one."""
    from lutkit.luts import _lutc

    before = _lutc.path()
    yield _lutc
    _lutc.set_path(before)


def test_every_kernel_path_gives_the_same_bits(kernel_path, graded_lut, photo, photo16):
    """The SIMD paths do the scalar path's arithmetic in its order: identical output for
    8- and 16-bit images, odd pixel counts, values outside [0, 1] and the dense table."""
    _lutc = kernel_path
    rng = np.random.default_rng(7)
    noise8 = rng.integers(0, 256, (257, 131, 3), dtype=np.uint8)  # odd: a tail pixel
    wild = LUT3D.from_function(lambda v: v * 1.6 - 0.3, 17, domain=(-0.1, 1.2))
    best = _lutc.set_path(-1)
    assert _lutc.path() == best
    results = {}
    for path in range(best + 1):
        assert _lutc.set_path(path) in range(best + 1)
        assert _lutc.path() == path
        apply_mod._dense_cache.clear()
        results[path] = [
            apply_lut(lut, img, method=method)
            for lut in (graded_lut, wild)
            for img, method in ((photo, "direct"), (noise8, "direct"), (photo16, "auto"))
        ] + [dense_table(graded_lut).copy()]
    for path in range(1, best + 1):
        for got, want in zip(results[path], results[0], strict=True):
            assert np.array_equal(got, want), path
    _lutc.set_path(99)  # a path beyond the CPU's: its best
    assert _lutc.path() == best
