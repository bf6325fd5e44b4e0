"""A LUT authored in GIMP as an edited Hald image reproduces GIMP's own edit.

GIMP applies one curves adjustment (a red lift, a blue dip and a value S-curve) to
identity Hald images (level 8, 8- and 16-bit PNG) and, with the same curves, to 8-bit
photographs; lutkit reads each edited Hald with ``read_hald`` and applies it to the
photographs (tetrahedral, the default). The result must match GIMP's photographs to
within the Hald's own error: interpolation between 64 lattice points per channel and,
for the 8-bit Hald, node values rounded to 8 bits at the truncated positions of the
8-bit identity (floor(255 i / 63), as ImageMagick writes it). ImageMagick's
``-hald-clut`` on the same files is measured beside it as the yardstick, and must
stay within its own measured error (and no closer to GIMP than lutkit).

Measured on GIMP 2.10 / ImageMagick 6.9 (mean / max in 8-bit levels, astronaut and
coffee): lutkit 0.04-0.05 / 1 with the 16-bit Hald and 0.38-0.41 / 2 with the 8-bit
one; ImageMagick 0.46-0.52 / 1 and 0.77-0.86 / 3.

All GIMP work runs in one GIMP start (its start-up alone takes several seconds).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from lutkit.images import load_image, save_image
from lutkit.luts.apply import apply_lut
from lutkit.luts.hald import hald_identity, read_hald
from tests import gimp_runner
from tests.external import imagemagick, require_tool

PHOTOS = ("astronaut", "coffee")
LEVEL = 8
# (mean, max) in 8-bit levels that lutkit must reach against GIMP, per Hald bit depth:
# the measured error with a little headroom (see the module doc).
LIMITS = {16: (0.1, 1.0), 8: (0.5, 2.0)}
# The same for ImageMagick's -hald-clut on the same files (the yardstick).
IM_LIMITS = {16: (0.65, 1.0), 8: (1.0, 3.0)}
# GIMP's edit must move the identity Hald by at least this (mean, 8-bit levels):
# an unedited Hald would match an unedited photo and prove nothing.
MIN_EDIT = 5.0
# GimpPrecision, perceptual (sRGB-encoded) values: what each file is exported as.
PRECISION = {8: gimp_runner.PRECISION_U8_GAMMA, 16: 250}


def f32(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points rounded to float32: Script-Fu hands FLOATARRAY values through a C float."""
    return [(float(np.float32(x)), float(np.float32(y))) for x, y in points]


CURVES = [
    ("red", f32([(0, 0.1), (0.5, 0.62), (1, 1)])),
    ("blue", f32([(0, 0), (0.2, 0.3), (0.4, 0.25), (0.7, 0.6), (0.9, 0.95), (1, 0.9)])),
    ("value", f32([(0, 0), (0.25, 0.15), (0.5, 0.5), (0.75, 0.85), (1, 1)])),
]


def read_raw(path: Path) -> np.ndarray:
    """A PNG's pixels at their stored depth, no ICC conversion (GIMP may embed sRGB)."""
    return load_image(path, convert_icc=False, apply_orientation=False).pixels


@pytest.fixture(scope="module")
def edited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Run GIMP once over the identity Halds and the photographs; {name: (source, edit)}."""
    require_tool(gimp_runner.GIMP)
    import skimage.data

    folder = tmp_path_factory.mktemp("gimp-hald")
    images = {f"hald{bits}": hald_identity(LEVEL, f"uint{bits}") for bits in LIMITS}
    images.update({name: getattr(skimage.data, name)() for name in PHOTOS})
    files = {}
    jobs = []
    for name, image in images.items():
        bits = image.dtype.itemsize * 8
        source, edit = folder / f"{name}.png", folder / f"{name}-gimp.png"
        save_image(source, np.ascontiguousarray(image), bit_depth=bits)
        files[name] = (source, edit)
        # One curves adjustment, rounded once, as the Curves dialog applies all its
        # channels in one pass. Every PDB call is a pass of its own: at 8 bits each
        # would round before the next (GIMP's photo then differs from any LUT by up to
        # 3 levels), so the curves run in float and the image returns to its depth.
        steps = [*CURVES, f"(gimp-image-convert-precision image {PRECISION[bits]})"]
        jobs.append(
            gimp_runner.curves_job(source, edit, steps, precision=gimp_runner.PRECISION_FLOAT_GAMMA)
        )
    gimp_runner.run_gimp(gimp_runner.batch(jobs), timeout=240)
    return files


def levels(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    """(mean, max) |difference| in 8-bit levels between two uint8 images."""
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.uint8
    diff = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    return float(diff.mean()), float(diff.max())


def hald_clut(convert: str, photo: Path, hald: Path, out: Path) -> np.ndarray:
    """ImageMagick's ``-hald-clut`` (trilinear), written as 8-bit RGB."""
    args = [convert, str(photo), str(hald), "-hald-clut", "-depth", "8", f"PNG24:{out}"]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    return read_raw(out)


@pytest.mark.external
@pytest.mark.parametrize("bits", [16, 8])
def test_gimp_edited_hald_reproduces_gimp(edited, bits: int) -> None:
    identity, hald = edited[f"hald{bits}"]
    assert read_raw(hald).dtype == f"uint{bits}", "GIMP exported the Hald at another depth"
    scale = 255 / (2**bits - 1)
    moved = np.abs(read_raw(hald).astype(float) - read_raw(identity).astype(float)) * scale
    assert moved.mean() > MIN_EDIT, f"GIMP left the Hald (nearly) unchanged: {moved.mean():.2f}"
    lut = read_hald(hald)
    assert lut.size == LEVEL * LEVEL
    convert = imagemagick()
    limit_mean, limit_max = LIMITS[bits]
    im_mean_limit, im_max_limit = IM_LIMITS[bits]
    report, ok = [], True
    for name in PHOTOS:
        source, edit = edited[name]
        photo, gimp = read_raw(source), read_raw(edit)
        assert levels(photo, gimp)[0] > MIN_EDIT, f"GIMP left {name} (nearly) unchanged"
        mean, worst = levels(apply_lut(lut, photo), gimp)
        out = hald.with_name(f"{name}-imagemagick-{bits}.png")
        im_mean, im_worst = levels(hald_clut(convert, source, hald, out), gimp)
        ok = ok and mean <= limit_mean and worst <= limit_max
        ok = ok and im_mean <= im_mean_limit and im_worst <= im_max_limit
        ok = ok and mean <= im_mean  # lutkit's tetrahedral is at least as close as IM's
        report.append(
            f"{bits}-bit Hald, {name}: lutkit vs GIMP mean {mean:.3f} max {worst:.0f}"
            f" | ImageMagick vs GIMP mean {im_mean:.3f} max {im_worst:.0f}"
        )
    print("\n" + "\n".join(report))
    limits = f"limits lutkit {LIMITS[bits]}, ImageMagick {IM_LIMITS[bits]}"
    assert ok, f"{limits}:\n" + "\n".join(report)
