"""Property-based tests (hypothesis, derandomized so CI is deterministic):

* write -> read is the identity for random LUTs in every format lutkit writes (.cube
  1D and 3D with any domain, Hald PNG/TIFF at 8 and 16 bits);
* random bytes, and random damage to valid files, never make a parser raise anything
  but ``LutkitError``;
* applying a LUT never leaves the output dtype's range: integer outputs are the
  rounded, clipped float result (no wrap-around), float outputs are finite and inside
  the hull of the table (and of the input, when blended).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lutkit.errors import LutkitError
from lutkit.luts.model import LUT1D, LUT3D

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

finite32 = st.floats(-4.0, 4.0, width=32, allow_nan=False, allow_infinity=False)


@st.composite
def tables(draw, shape: tuple[int, ...]) -> np.ndarray:
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1.0, 4.0, 1e-6, 1e6]))
    table = np.random.default_rng(seed).normal(0.5, 0.5, shape) * scale
    special = draw(st.lists(finite32, max_size=4))
    flat = table.reshape(-1)
    flat[: len(special)] = special
    return table.astype(np.float32)


@st.composite
def domains(draw) -> np.ndarray:
    lo = np.array(draw(st.lists(st.floats(-2, 1, width=32), min_size=3, max_size=3)))
    span = np.array(draw(st.lists(st.floats(0.0625, 4, width=32), min_size=3, max_size=3)))
    return np.stack([lo, lo + span]).astype(np.float32).astype(np.float64)


@st.composite
def luts3d(draw) -> LUT3D:
    size = draw(st.integers(2, 9))
    return LUT3D(draw(tables((size, size, size, 3))), draw(domains()), title=draw(titles))


@st.composite
def luts1d(draw) -> LUT1D:
    size = draw(st.integers(2, 300))
    return LUT1D(draw(tables((size, 3))), draw(domains()), title=draw(titles))


titles = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters='"'),
    max_size=20,
).map(str.strip)


# --------------------------------------------------------------------------- round trips


@SETTINGS
@given(lut=st.one_of(luts3d(), luts1d()))
def test_cube_write_read_is_the_identity(lut, tmp_path_factory):
    from lutkit.luts.cube import read_cube, write_cube

    path = tmp_path_factory.mktemp("cube") / "x.cube"
    write_cube(lut, path)
    back = read_cube(path)
    assert type(back) is type(lut)
    np.testing.assert_array_equal(back.table, lut.table)
    np.testing.assert_array_equal(back.domain, lut.domain)
    assert back.title == lut.title


@pytest.mark.filterwarnings("ignore:.*does not look like a Hald")  # a random table is none
@SETTINGS
@given(
    level=st.integers(2, 4),
    bits=st.sampled_from([8, 16]),
    ext=st.sampled_from([".png", ".tif"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_hald_write_read_is_the_identity(level, bits, ext, seed, tmp_path_factory):
    """Any table of values the bit depth can hold comes back exactly."""
    from lutkit.luts.hald import read_hald, write_hald

    n, top = level * level, (1 << bits) - 1
    codes = np.random.default_rng(seed).integers(0, top + 1, (n, n, n, 3))
    lut = LUT3D((codes / top).astype(np.float32))
    path = tmp_path_factory.mktemp("hald") / f"x{ext}"
    write_hald(lut, path, bit_depth=bits)
    back = read_hald(path)
    assert back.size == n
    np.testing.assert_array_equal(back.table, lut.table)


# --------------------------------------------------------------------------- parsers

_VALID = {
    ".cube": "LUT_3D_SIZE 2\n"
    + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)),
    ".curves": "# GIMP Curves File\n" + ("0 0 255 255 " + "-1 -1 " * 15 + "\n") * 5,
}


def _valid_bytes(ext: str) -> bytes:
    if ext in _VALID:
        return _VALID[ext].encode()
    import io

    from PIL import Image

    from lutkit.luts.hald import hald_identity

    buf = io.BytesIO()
    Image.fromarray(hald_identity(2)).save(buf, "PNG" if ext == ".png" else "TIFF")
    return buf.getvalue()


def _only_lutkit_errors(path) -> None:
    from lutkit.images import load_image
    from lutkit.luts.formats import read_lut

    readers = [read_lut]
    if path.suffix in (".png", ".tif"):
        readers.append(load_image)
    for reader in readers:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader(path)
        except LutkitError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)


@SETTINGS
@given(data=st.binary(max_size=4096), ext=st.sampled_from([".cube", ".curves", ".png", ".tif"]))
def test_random_bytes_raise_only_lutkit_errors(data, ext, tmp_path_factory):
    path = tmp_path_factory.mktemp("bytes") / f"x{ext}"
    path.write_bytes(data)
    _only_lutkit_errors(path)


@SETTINGS
@given(
    ext=st.sampled_from([".cube", ".curves", ".png", ".tif"]),
    cut=st.floats(0, 1),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), max_size=6),
    insert=st.binary(max_size=16),
)
def test_damaged_files_raise_only_lutkit_errors(ext, cut, flips, insert, tmp_path_factory):
    """A valid file, truncated, with bytes flipped and a few inserted."""
    data = bytearray(_valid_bytes(ext))
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    keep = max(1, int(cut * len(data)))
    data = data[:keep] + insert + data[keep:] if cut < 0.5 else data[:keep]
    path = tmp_path_factory.mktemp("damaged") / f"x{ext}"
    path.write_bytes(bytes(data))
    _only_lutkit_errors(path)


# --------------------------------------------------------------------------- apply


@st.composite
def images(draw) -> np.ndarray:
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (draw(st.integers(1, 7)), draw(st.integers(1, 7)), 3)
    if dtype == np.float32:
        return rng.uniform(-0.5, 1.5, shape).astype(np.float32)
    top = np.iinfo(dtype).max
    img = rng.integers(0, top + 1, shape).astype(dtype)
    img.reshape(-1)[:2] = [0, top][: img.size]
    return img


@SETTINGS
@given(
    lut=st.one_of(luts3d(), luts1d()),
    image=images(),
    interp=st.sampled_from(["tetrahedral", "trilinear"]),
    strength=st.sampled_from([1.0, 0.5, 0.0]),
)
def test_apply_stays_in_the_output_range(lut, image, interp, strength):
    from lutkit.images import from_float, to_float
    from lutkit.luts.apply import apply_lut

    before = image.copy()
    out = apply_lut(lut, image, interp=interp, strength=strength)
    np.testing.assert_array_equal(image, before)  # the input is untouched
    assert out.dtype == image.dtype and out.shape == image.shape
    as_float = apply_lut(lut, to_float(image), interp=interp, strength=strength)
    assert np.all(np.isfinite(as_float))
    lo, hi = float(lut.table.min()), float(lut.table.max())
    if strength < 1.0:
        clamped = np.clip(to_float(image), lut.domain[0], lut.domain[1])
        lo, hi = min(lo, float(clamped.min())), max(hi, float(clamped.max()))
    tol = 1e-5 * max(1.0, abs(lo), abs(hi))
    assert as_float.min() >= lo - tol and as_float.max() <= hi + tol
    if image.dtype != np.float32:
        expected = from_float(as_float, image.dtype).astype(np.int64)
        assert np.abs(out.astype(np.int64) - expected).max() <= 1  # no wrap-around


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_apply_clips_integer_outputs_of_a_wild_lut(dtype):
    """A LUT far outside [0, 1] saturates integer outputs at 0 and the top."""
    from lutkit.luts.apply import apply_lut

    lut = LUT3D(np.full((2, 2, 2, 3), 1e6, np.float32))
    lut.table[0, 0, 0] = -1e6
    top = np.iinfo(dtype).max
    image = np.array([[[0, 0, 0], [top, top, top]]], dtype)
    out = apply_lut(lut, image)
    assert out.tolist() == [[[0, 0, 0], [top, top, top]]]
