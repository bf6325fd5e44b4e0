"""lutkit against OpenColorIO's command-line tools (Debian's opencolorio-tools, which
.ci/run installs): ``ociochecklut`` pushes colours through a .cube as OCIO reads it,
``ociobakelut`` re-samples a .cube to another size. Both must agree with lutkit's own
reader, apply and resample in float.

``ociochecklut`` prints 7 significant digits, hence the 2e-6 limit; with a file
transform's default interpolation OCIO 2.x applies a 3D LUT tetrahedrally (the
trilinear result of the coarse grade below differs from it by far more).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from lutkit.luts.apply import apply_lut
from lutkit.luts.cube import read_cube, write_cube
from tests.external import require_tool

pytestmark = pytest.mark.external


def colours(n: int = 24) -> np.ndarray:
    """``n`` float32 RGB colours: the cube's corners, mid grey and random ones."""
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
    rest = np.random.default_rng(7).random((n - 9, 3))
    return np.concatenate([corners, [[0.5, 0.5, 0.5]], rest]).astype(np.float32)


def test_ociochecklut_applies_a_cube_as_lutkit_does(graded_lut, tmp_path):
    tool = require_tool("ociochecklut")
    path = tmp_path / "grade.cube"
    write_cube(graded_lut.resample(9), path)  # coarse: the interpolation shows
    points = colours()
    theirs = np.array(
        [
            [float(v) for v in subprocess.run(
                [tool, str(path), *(f"{c:.9g}" for c in rgb)],
                capture_output=True, text=True, check=True, timeout=60,
            ).stdout.split()]
            for rgb in points
        ]
    )  # fmt: skip
    assert theirs.shape == points.shape
    lut = read_cube(path)
    ours = apply_lut(lut, points[None], interp="tetrahedral")[0]
    assert np.abs(ours - theirs).max() < 2e-6
    other = apply_lut(lut, points[None], interp="trilinear")[0]
    assert (
        np.abs(other - theirs).max() > 1e-4
    )  # 50x the limit  # the comparison can tell them apart


def test_ociobakelut_resamples_a_cube_as_lutkit_does(graded_lut, tmp_path):
    tool = require_tool("ociobakelut")
    # 9 -> 20 points: no baked point falls on the source lattice but the corners.
    path, baked = tmp_path / "grade.cube", tmp_path / "baked-20.cube"
    write_cube(graded_lut.resample(9), path)
    subprocess.run(
        [tool, "--lut", str(path), "--format", "iridas_cube", "--cubesize", "20", str(baked)],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    theirs = read_cube(baked)
    assert theirs.size == 20
    ours = read_cube(path).resample(20)
    assert np.abs(ours.table - theirs.table).max() < 1e-5
    other = read_cube(path).resample(20, interp="trilinear")
    assert np.abs(other.table - theirs.table).max() > 1e-4  # the comparison can tell


@pytest.mark.parametrize("shaper", [17, 256])
def test_a_flame_3dl_baked_with_another_shaper_size_reads_as_its_table(
    graded_lut, tmp_path, shaper
):
    # ociobakelut --shapersize writes a shaper line of another length than the lattice;
    # the table is the same as without it, and lutkit reads the lattice from the table
    from lutkit.luts.lut3dl import read_3dl

    tool = require_tool("ociobakelut")
    path = tmp_path / "grade.cube"
    write_cube(graded_lut.resample(9), path)
    files = {}
    for name, extra in (("plain", []), ("shaped", ["--shapersize", str(shaper)])):
        files[name] = tmp_path / f"{name}.3dl"
        subprocess.run(
            [tool, "--lut", str(path), "--format", "flame", "--cubesize", "33", *extra,
             str(files[name])],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
    first = files["shaped"].read_text().split("\n", 1)[0]
    assert len(first.split()) == shaper  # the file has the shape under test
    shaped, plain = read_3dl(files["shaped"]), read_3dl(files["plain"])
    assert shaped.size == plain.size == 33
    assert np.array_equal(shaped.table, plain.table)
    assert np.abs(shaped.table - read_cube(path).resample(33).table).max() < 2e-3
