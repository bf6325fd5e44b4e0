"""The curves ops, the library-LUT op and shades of gray, each against a computation
written out here (numpy) or colour-science's, not lutkit's own helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lutkit.distort.base import OpRecord, get_op
from lutkit.distort.curves import (
    ChannelCurvesParams,
    ContrastParams,
    CrosstalkParams,
    GammaParams,
    LevelsParams,
)
from lutkit.errors import ConfigError


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A float32 (64, 64, 3) photo crop in [0, 1] with distinct channels."""
    import skimage.data

    return (skimage.data.astronaut()[100:164, 200:264] / np.float32(255)).astype(np.float32)


def test_channel_curves_pass_through_their_knots_per_channel():
    # Inputs on the knots (0, 1/4, ..., 1): each channel lands on its own curve's knot.
    # With a straight master, PCHIP through collinear knots is that straight line.
    red, green, blue = (0, 0.3, 0.55, 0.8, 1), (0.1, 0.2, 0.5, 0.7, 0.9), (0, 0.1, 0.2, 0.4, 1)
    line = (0, 0.25, 0.5, 0.75, 1)
    knots = np.tile(np.asarray(line, np.float32)[:, None], (1, 3))[None]  # (1, 5, 3)
    op = get_op("curves.channels")
    out = op.apply(knots, ChannelCurvesParams(red, green, blue, line))
    np.testing.assert_allclose(out[0], np.array([red, green, blue]).T, atol=1e-6)
    # The master curve acts after the channel curves: straight channels, bent master.
    master = (0, 0.1, 0.4, 0.9, 1)
    out = op.apply(knots, ChannelCurvesParams(line, line, line, master))
    np.testing.assert_allclose(out[0], np.tile(np.array(master)[:, None], (1, 3)), atol=1e-6)
    # Between knots the curve is monotone and stays between its neighbouring knots.
    x = np.linspace(0, 1, 401, dtype=np.float32)
    ramp = np.stack([x, x, x], axis=-1)[None]
    out = op.apply(ramp, ChannelCurvesParams(red, green, blue, line))[0]
    assert np.all(np.diff(out, axis=0) >= -1e-7)
    for c, ys in enumerate((red, green, blue)):
        k = np.minimum((x * 4).astype(int), 3)
        lo, hi = np.asarray(ys)[k], np.asarray(ys)[k + 1]
        assert np.all((out[:, c] >= lo - 1e-6) & (out[:, c] <= hi + 1e-6))


def test_gamma_is_a_per_channel_power(image):
    out = get_op("curves.gamma").apply(image, GammaParams((0.7, 1.0, 1.4)))
    expected = np.stack([image[..., 0] ** 0.7, image[..., 1], image[..., 2] ** 1.4], axis=-1)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def logistic_s(x: np.ndarray, pivot: float, k: float = 8.0) -> np.ndarray:
    """The normalised logistic S (0 -> 0, 1 -> 1) the contrast op is documented to use."""
    s0, s1 = 1 / (1 + np.exp(k * pivot)), 1 / (1 + np.exp(-k * (1 - pivot)))
    return (1 / (1 + np.exp(-k * (x - pivot))) - s0) / (s1 - s0)


@pytest.mark.parametrize("amount", [0.5, -0.4])
def test_contrast_is_the_s_curve_or_its_inverse(image, amount):
    x = image.astype(np.float64)
    if amount > 0:
        target = logistic_s(x, 0.45)
    else:  # the inverse S by bisection: the y with S(y) = x
        lo, hi = np.zeros_like(x), np.ones_like(x)
        for _ in range(60):
            mid = (lo + hi) / 2
            below = logistic_s(mid, 0.45) < x
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        target = (lo + hi) / 2
    expected = x + abs(amount) * (target - x)
    out = get_op("curves.contrast").apply(image, ContrastParams(amount, 0.45))
    np.testing.assert_allclose(out, expected, atol=2e-4 if amount < 0 else 1e-6)


def test_levels_maps_input_points_to_output_points(image):
    p = LevelsParams(black=0.1, white=0.9, in_black=0.05, in_white=0.95)
    out = get_op("curves.levels").apply(image, p)
    x = np.clip((image.astype(np.float64) - 0.05) / 0.9, 0, 1)
    np.testing.assert_allclose(out, 0.1 + 0.8 * x, atol=1e-6)


def test_crosstalk_is_the_matrix_on_each_pixel(image):
    m = ((0.9, 0.08, 0.02), (0.05, 0.85, 0.1), (0.0, 0.12, 0.88))
    out = get_op("curves.crosstalk").apply(image, CrosstalkParams(m))
    r, g, b = (image[..., i].astype(np.float64) for i in range(3))
    expected = np.stack([row[0] * r + row[1] * g + row[2] * b for row in m], axis=-1)
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-6)


@pytest.mark.parametrize("name,strength", [("cool-grade", 1.0), ("cross-process", 0.6)])
def test_library_lut_matches_colour_science_on_the_cube_file(image, name, strength):
    import colour

    from lutkit.distort.lut3d import LibraryLutParams, library_root

    path = Path(library_root()) / f"{name}.cube"
    theirs = colour.io.read_LUT(str(path))  # colour's own .cube reader
    graded = theirs.apply(
        image.astype(np.float64), interpolator=colour.algebra.table_interpolation_tetrahedral
    )
    expected = np.clip(image + strength * (graded - image), 0, 1)
    out = get_op("lut3d.library").apply(image, LibraryLutParams(name, strength))
    assert np.abs(out - image).max() > 0.02  # the look does something
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_library_lut_draws_follow_an_edited_index(tmp_path, monkeypatch):
    """The library index is read once and kept, until index.toml changes."""
    import os
    import shutil

    from lutkit.distort.lut3d import library_root

    lib = tmp_path / "luts"
    lib.mkdir()
    for name in ("cool-grade", "warm-grade"):
        shutil.copy(Path(library_root()) / f"{name}.cube", lib / f"{name}.cube")
    index = lib / "index.toml"
    index.write_text('[[lut]]\nname = "cool-grade"\nfile = "cool-grade.cube"\n')
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    op = get_op("lut3d.library")
    assert op.candidates(op.ranges) == ["cool-grade"]
    assert op.candidates(op.ranges) == ["cool-grade"]  # (from the cache)
    index.write_text(index.read_text() + '[[lut]]\nname = "warm-grade"\nfile = "warm-grade.cube"\n')
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a coarse clock
    assert op.candidates(op.ranges) == ["cool-grade", "warm-grade"]


def _small_library(tmp_path, monkeypatch, names=("cool-grade", "warm-grade")):
    import shutil

    from lutkit.distort.lut3d import library_root

    lib = tmp_path / "luts"
    lib.mkdir()
    index = ""
    for name in names:
        shutil.copy(Path(library_root()) / f"{name}.cube", lib / f"{name}.cube")
        index += f'[[lut]]\nname = "{name}"\nfile = "{name}.cube"\n'
    (lib / "index.toml").write_text(index)
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    return lib


def test_a_library_lut_record_names_its_file_and_refuses_another(image, tmp_path, monkeypatch):
    # A record applied after `lut import --replace` (or `make luts`) gave other pixels,
    # silently: the record now carries the file's sha256, and another file is refused.
    import os

    from lutkit.distort.base import ops_from_json, ops_to_json
    from lutkit.distort.lut3d import LibraryLutParams
    from lutkit.fsutil import file_sha256

    lib = _small_library(tmp_path, monkeypatch)
    op = get_op("lut3d.library")
    params = op.sample(np.random.default_rng(3), op.ranges)
    cube = lib / f"{params.lut}.cube"
    assert params.sha256 == file_sha256(cube)
    (record,) = ops_from_json(ops_to_json([OpRecord(op.name, params)]))
    before = op.apply(image, record.params)
    old = LibraryLutParams(params.lut, params.strength)  # a record from before the sha256
    assert np.array_equal(op.apply(image, old), before)

    other = "warm-grade" if params.lut == "cool-grade" else "cool-grade"
    cube.write_bytes((lib / f"{other}.cube").read_bytes())  # replaced, same name
    stat = cube.stat()
    os.utime(cube, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a coarse clock
    with pytest.raises(ConfigError) as err:
        op.apply(image, record.params)
    assert str(err.value) == (
        f"{cube}: the library LUT {params.lut!r} is not the file this record was made with "
        f"(sha256 {params.sha256[:12]}... recorded, {file_sha256(cube)[:12]}... now) "
        "(put that LUT back (or point LUTKIT_LIBRARY at the library it came from); a new "
        "draw (a recipe and a seed) uses the LUT as it is now)"
    )
    assert not np.array_equal(op.apply(image, old), before)  # unrecorded: the file as it is
    assert op.sample(np.random.default_rng(3), op.ranges).sha256 == file_sha256(cube)


def test_a_lut_replaced_with_one_of_the_same_size_and_time_is_read_again(tmp_path, monkeypatch):
    # The digest was cached by (mtime, size): a same-size file put in place within one
    # clock tick (or with `cp -p`) kept the old digest, and the old LUT.
    import os

    from lutkit.distort.lut3d import _digest
    from lutkit.fsutil import file_sha256

    lib = _small_library(tmp_path, monkeypatch, names=("cool-grade",))
    cube = lib / "cool-grade.cube"
    before = _digest(str(lib), "cool-grade")
    text = cube.read_text()
    i = text.rindex("0.")  # one digit of the last row, the length kept
    other = tmp_path / "other.cube"
    other.write_text(text[: i + 2] + ("1" if text[i + 2] != "1" else "2") + text[i + 3 :])
    st = cube.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, cube)  # another inode, the same size and mtime
    assert cube.stat().st_size == st.st_size and cube.stat().st_mtime_ns == st.st_mtime_ns
    assert _digest(str(lib), "cool-grade") == file_sha256(cube) != before


def test_shades_of_gray_against_colour_science(image):
    import colour

    from lutkit.models.baselines import shades_of_gray

    cast = np.clip(image * np.float32([1.0, 0.85, 0.6]), 0, 1)
    lin = colour.cctf_decoding(cast.astype(np.float64), function="sRGB")
    light = np.mean(lin.reshape(-1, 3) ** 6, axis=0) ** (1 / 6)  # the p = 6 norm mean
    gains = light.mean() / light  # von Kries, exposure kept
    expected = colour.cctf_encoding(np.clip(lin * gains, 0, 1), function="sRGB")
    out = shades_of_gray(cast)
    assert out.dtype == np.float32 and out.shape == cast.shape
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert np.abs(out - cast).max() > 0.05  # a real correction, not the input back


@pytest.mark.parametrize("n", [2, 3, 4, 6])
def test_monotone_curve_is_scipys_pchip(n):
    from scipy.interpolate import PchipInterpolator

    from lutkit.distort.curves import _random_knots, monotone_curve

    g = np.random.default_rng(n)
    x = np.concatenate([g.uniform(-0.1, 1.1, 5000), np.linspace(0, 1, n)]).astype(np.float32)
    for k in range(30):
        ys = _random_knots(g, n, float(g.uniform(0.0, 0.5)))
        if k == 0:
            ys = tuple([0.0] * (n // 2) + [1.0] * (n - n // 2))  # flat runs and a jump
        want = PchipInterpolator(np.linspace(0, 1, n), np.asarray(ys))(np.clip(x, 0, 1))
        assert np.abs(monotone_curve(x, ys) - want).max() < 1e-12, ys
