"""lutkit's .cube / Hald files and LUT application against independent implementations.

colour-science and OpenColorIO are compared in float (max error <= 1e-5). ImageMagick
(``-hald-clut``) and ffmpeg (``lut3d``, ``lut1d``) are compared on 8-bit photographs.
Both tools turn their float result into 8 bits by truncating, where lutkit rounds; so
each tool's output is compared with lutkit's float result quantised the tool's way
(whichever of rounding or truncation fits it), and with lutkit's own uint8 output.

Conventions found on the way (ffmpeg 5.1, ImageMagick 6.9): ffmpeg's .cube reader
ignores DOMAIN_MIN and cannot shrink the domain below [0, 1] (only DOMAIN_MIN 0 with
DOMAIN_MAX >= 1 works there); OpenColorIO caches LUT files by path, so each test writes
its own file; ImageMagick's ``-hald-clut`` interpolates trilinearly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from lutkit.luts.apply import apply_lut
from lutkit.luts.cube import read_cube, write_cube
from lutkit.luts.hald import hald_identity, read_hald, write_hald
from lutkit.luts.model import LUT1D, LUT3D
from tests.external import imagemagick, require_module, require_tool

PHOTOS = ("astronaut", "chelsea", "coffee")
WIDE = [[-0.125, -0.05, -0.25], [1.5, 1.25, 2.0]]


# --------------------------------------------------------------------------- helpers


def twist(rgb: np.ndarray, clip: bool) -> np.ndarray:
    """A strong grade: chroma rotated about the grey axis by a luminance-dependent angle
    (0.6 to 2.6 rad), an S-ish tone curve and a slight cast."""
    rgb = np.asarray(rgb, np.float64)
    y = rgb.mean(axis=-1, keepdims=True)
    chroma = rgb - y
    axis = np.full(3, 1.0 / np.sqrt(3.0))
    angle = 2.0 * y + 0.6
    rotated = chroma * np.cos(angle) + np.cross(axis, chroma) * np.sin(angle)
    out = y + 0.12 * np.sin(2 * np.pi * y) + 1.4 * rotated + np.array([0.03, -0.02, 0.05]) * y
    return np.clip(out, 0.0, 1.0) if clip else out


def twist_lut(size: int = 33, domain=None, clip: bool = False) -> LUT3D:
    return LUT3D.from_function(lambda x: twist(x, clip), size, domain, title="twist")


def curve_lut(size: int = 1024, domain=None) -> LUT1D:
    gammas = np.array([0.5, 1.0, 2.2])
    return LUT1D.from_function(lambda x: np.abs(x) ** gammas * 0.9 + 0.05, size, domain)


def sample_points(domain, n: int = 20000) -> np.ndarray:
    """Random colours in the domain, plus its corners."""
    dom = np.asarray(domain if domain is not None else [[0, 0, 0], [1, 1, 1]], np.float64)
    unit = np.random.default_rng(7).random((n, 3))
    corners = np.array(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij")).reshape(3, -1).T
    unit = np.concatenate([unit, corners])
    return (dom[0] + unit * (dom[1] - dom[0])).astype(np.float32)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[np.ndarray, Path]]:
    """skimage's photographs as uint8 RGB arrays and as PNG files."""
    import skimage.data

    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for name in PHOTOS:
        image = np.ascontiguousarray(getattr(skimage.data, name)())
        path = folder / f"{name}.png"
        assert cv2.imwrite(str(path), image[:, :, ::-1])
        out[name] = (image, path)
    return out


def read_png(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image[:, :, 2::-1]


def compare_8bit(tool: np.ndarray, ours_float: np.ndarray, ours_uint8: np.ndarray) -> dict:
    """Differences in 8-bit levels between a tool's output and lutkit's.

    ``convention``: the quantisation (round or truncate) under which lutkit's float
    result best explains the tool's output, with that comparison's max and mean;
    ``raw_max`` / ``raw_mean``: against lutkit's own (rounded) uint8 output.
    """
    assert tool.shape == ours_uint8.shape and tool.dtype == np.uint8
    ref = np.clip(ours_float.astype(np.float64) * 255.0, 0.0, 255.0)
    t = tool.astype(np.float64)
    results = []
    for name, quantised in (("round", np.rint(ref)), ("truncate", np.floor(ref + 1e-4))):
        d = np.abs(t - quantised)
        results.append((float(d.mean()), float(d.max()), name))
    mean, worst, name = min(results)
    raw = np.abs(t - ours_uint8.astype(np.float64))
    return {
        "convention": name,
        "max": worst,
        "mean": mean,
        "raw_max": float(raw.max()),
        "raw_mean": float(raw.mean()),
    }


def assert_8bit_agreement(stats: dict) -> None:
    print(stats)
    assert stats["max"] <= 2 and stats["mean"] <= 0.5, stats
    # Against lutkit's rounded output a truncating tool is half a level lower on average.
    assert stats["raw_max"] <= 2 and stats["raw_mean"] <= 0.6, stats


# --------------------------------------------------------------------------- colour-science


@pytest.mark.parametrize("domain", [None, WIDE], ids=["unit", "wide"])
@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
def test_colour_science_apply_agrees(interp: str, domain) -> None:
    colour = require_module("colour")
    interpolator = {
        "trilinear": colour.algebra.table_interpolation_trilinear,
        "tetrahedral": colour.algebra.table_interpolation_tetrahedral,
    }[interp]
    lut = twist_lut(33, domain)
    # colour's LUT3D table is indexed [r, g, b] too: the table goes across unchanged.
    theirs = colour.LUT3D(lut.table.astype(np.float64), domain=lut.domain)
    points = sample_points(domain)
    expected = theirs.apply(points.astype(np.float64), interpolator=interpolator)
    got = apply_lut(lut, points, interp=interp)
    err = np.abs(got - expected)
    print(
        f"colour {interp} {'wide' if domain else 'unit'}: max {err.max():.3g} mean {err.mean():.3g}"
    )
    assert err.max() <= 1e-5


def test_colour_science_apply_1d_agrees() -> None:
    colour = require_module("colour")
    lut = curve_lut(64, [[0, 0, 0], [1, 2, 4]])
    theirs = colour.LUT3x1D(lut.table.astype(np.float64), domain=lut.domain)
    points = sample_points(lut.domain)
    err = np.abs(apply_lut(lut, points) - theirs.apply(points.astype(np.float64)))
    assert err.max() <= 1e-5


@pytest.mark.parametrize("kind", ["3d", "3d-wide", "1d", "1d-wide"])
def test_colour_science_reads_lutkit_cube(tmp_path: Path, kind: str) -> None:
    colour = require_module("colour")
    domain = WIDE if kind.endswith("wide") else None
    lut = twist_lut(17, domain) if kind.startswith("3d") else curve_lut(256, domain)
    path = tmp_path / f"{kind}.cube"
    write_cube(lut, path)
    theirs = colour.io.read_LUT(str(path))
    assert isinstance(theirs, colour.LUT3D if kind.startswith("3d") else colour.LUT3x1D)
    assert np.array_equal(np.float32(theirs.table), lut.table)
    np.testing.assert_array_equal(np.broadcast_to(theirs.domain, (2, 3)), lut.domain)
    assert theirs.name == "twist" or not kind.startswith("3d")


@pytest.mark.parametrize("kind", ["3d", "1d"])
def test_lutkit_reads_colour_science_cube(tmp_path: Path, kind: str) -> None:
    colour = require_module("colour")
    if kind == "3d":
        theirs = colour.LUT3D(twist_lut(9, WIDE).table.astype(np.float64), "c3", WIDE)
    else:
        theirs = colour.LUT3x1D(curve_lut(32).table.astype(np.float64), "c1")
    path = tmp_path / f"{kind}.cube"
    colour.io.write_LUT(theirs, str(path), decimals=9)
    ours = read_cube(path)
    assert ours.title == theirs.name
    np.testing.assert_allclose(ours.table, theirs.table, atol=1e-8, rtol=0)
    np.testing.assert_array_equal(ours.domain, np.broadcast_to(theirs.domain, (2, 3)))


# --------------------------------------------------------------------------- OpenColorIO


def ocio_apply(path: Path, points: np.ndarray, interp: str) -> np.ndarray:
    ocio = require_module("PyOpenColorIO")
    ocio.ClearAllCaches()  # OCIO caches LUT files by path
    interpolation = {
        "tetrahedral": ocio.INTERP_TETRAHEDRAL,
        "trilinear": ocio.INTERP_LINEAR,
        "linear": ocio.INTERP_LINEAR,
    }[interp]
    transform = ocio.FileTransform(src=str(path), interpolation=interpolation)
    processor = ocio.Config.CreateRaw().getProcessor(transform)
    cpu = processor.getOptimizedCPUProcessor(ocio.OPTIMIZATION_NONE)
    out = np.ascontiguousarray(points, dtype=np.float32).copy()
    cpu.applyRGB(out)
    return out


@pytest.mark.external
@pytest.mark.parametrize("domain", [None, WIDE], ids=["unit", "wide"])
@pytest.mark.parametrize("interp", ["tetrahedral", "trilinear"])
def test_opencolorio_applies_lutkit_cube_the_same(tmp_path: Path, interp: str, domain) -> None:
    lut = twist_lut(33, domain)
    path = tmp_path / f"twist-{interp}.cube"
    write_cube(lut, path)
    points = sample_points(domain)
    theirs = ocio_apply(path, points, interp)
    err = np.abs(apply_lut(lut, points, interp=interp) - theirs)
    print(
        f"OCIO {interp} {'wide' if domain else 'unit'}: max {err.max():.3g} mean {err.mean():.3g}"
    )
    assert err.max() <= 1e-5


@pytest.mark.external
@pytest.mark.parametrize("domain", [None, [[0, 0, 0], [1, 2, 4]]], ids=["unit", "wide"])
def test_opencolorio_applies_lutkit_1d_cube_the_same(tmp_path: Path, domain) -> None:
    lut = curve_lut(1024, domain)
    path = tmp_path / "curve.cube"
    write_cube(lut, path)
    points = sample_points(domain)
    err = np.abs(apply_lut(lut, points) - ocio_apply(path, points, "linear"))
    print(f"OCIO 1D {'wide' if domain else 'unit'}: max {err.max():.3g} mean {err.mean():.3g}")
    assert err.max() <= 1e-5


@pytest.mark.external
def test_opencolorio_image_matches(tmp_path: Path, photos) -> None:
    image, _ = photos["astronaut"]
    lut = twist_lut(33)
    path = write_cube(lut, tmp_path / "image.cube")
    pixels = image.astype(np.float32) / 255.0
    theirs = ocio_apply(path, pixels.reshape(-1, 3), "tetrahedral").reshape(pixels.shape)
    assert np.abs(apply_lut(lut, pixels) - theirs).max() <= 1e-5


# --------------------------------------------------------------------------- ImageMagick


@pytest.mark.external
@pytest.mark.parametrize("level", [2, 3, 4, 8])
@pytest.mark.parametrize("bits", [8, 16])
def test_hald_identity_matches_imagemagick(tmp_path: Path, level: int, bits: int) -> None:
    exe = imagemagick()
    out = tmp_path / "hald.png"
    # PNG24/PNG48 stop ImageMagick from storing fewer bits when they would do.
    prefix = "PNG24:" if bits == 8 else "PNG48:"
    subprocess.run(
        [exe, f"hald:{level}", "-depth", str(bits), f"{prefix}{out}"], check=True, timeout=60
    )
    theirs = read_png(out)
    ours = hald_identity(level, np.uint8 if bits == 8 else np.uint16)
    assert theirs.dtype == ours.dtype
    assert np.array_equal(theirs, ours)
    # ImageMagick's TIFF reads back to the same LUT.
    tif = tmp_path / "hald.tif"
    subprocess.run([exe, f"hald:{level}", "-depth", str(bits), str(tif)], check=True, timeout=60)
    assert np.array_equal(read_hald(tif).table, read_hald(out).table)


@pytest.mark.external
@pytest.mark.parametrize("bits", [8, 16])
@pytest.mark.parametrize("name", PHOTOS)
def test_imagemagick_hald_clut_agrees(tmp_path: Path, photos, name: str, bits: int) -> None:
    exe = imagemagick()
    image, src = photos[name]
    hald = tmp_path / "twist.png"
    write_hald(twist_lut(33, clip=True), hald, level=8, bit_depth=bits)
    lut = read_hald(hald)  # what ImageMagick sees: the LUT quantised to the bit depth
    out = tmp_path / "out.png"
    subprocess.run(
        [exe, str(src), str(hald), "-hald-clut", "-depth", "8", f"PNG24:{out}"],
        check=True,
        timeout=120,
    )
    # ImageMagick interpolates the Hald trilinearly.
    ours_float = apply_lut(lut, image.astype(np.float32) / 255.0, interp="trilinear")
    stats = compare_8bit(read_png(out), ours_float, apply_lut(lut, image, interp="trilinear"))
    assert_8bit_agreement(stats)


# --------------------------------------------------------------------------- ffmpeg


def run_ffmpeg(src: Path, filter_: str, cwd: Path) -> np.ndarray:
    exe = require_tool("ffmpeg")
    # rgb24 in and out (PNG both ways): no YUV conversion between lutkit and the LUT.
    subprocess.run(
        [exe, "-v", "error", "-y", "-i", str(src), "-vf", filter_, "-pix_fmt", "rgb24", "out.png"],
        check=True,
        cwd=cwd,
        timeout=120,
    )
    return read_png(cwd / "out.png")


@pytest.mark.external
@pytest.mark.parametrize("interp", ["tetrahedral", "trilinear"])
@pytest.mark.parametrize("name", PHOTOS)
def test_ffmpeg_lut3d_agrees(tmp_path: Path, photos, name: str, interp: str) -> None:
    image, src = photos[name]
    lut = twist_lut(33, clip=True)
    write_cube(lut, tmp_path / "twist.cube")
    tool = run_ffmpeg(src, f"lut3d=file=twist.cube:interp={interp}", tmp_path)
    ours_float = apply_lut(lut, image.astype(np.float32) / 255.0, interp=interp)
    stats = compare_8bit(tool, ours_float, apply_lut(lut, image, interp=interp))
    assert_8bit_agreement(stats)


@pytest.mark.external
def test_ffmpeg_lut3d_with_domain_agrees(tmp_path: Path, photos) -> None:
    # ffmpeg ignores DOMAIN_MIN and only widens the domain: DOMAIN_MIN 0, DOMAIN_MAX >= 1.
    image, src = photos["coffee"]
    lut = twist_lut(17, [[0, 0, 0], [1.0, 1.25, 2.0]], clip=True)
    write_cube(lut, tmp_path / "wide.cube")
    tool = run_ffmpeg(src, "lut3d=file=wide.cube:interp=tetrahedral", tmp_path)
    ours_float = apply_lut(lut, image.astype(np.float32) / 255.0)
    assert_8bit_agreement(compare_8bit(tool, ours_float, apply_lut(lut, image)))


@pytest.mark.external
@pytest.mark.parametrize("domain", [None, [[0, 0, 0], [1, 2, 1.5]]], ids=["unit", "wide"])
def test_ffmpeg_lut1d_agrees(tmp_path: Path, photos, domain) -> None:
    image, src = photos["chelsea"]
    lut = curve_lut(1024, domain)
    write_cube(lut, tmp_path / "curve.cube")
    tool = run_ffmpeg(src, "lut1d=file=curve.cube:interp=linear", tmp_path)
    ours_float = apply_lut(lut, image.astype(np.float32) / 255.0)
    assert_8bit_agreement(compare_8bit(tool, ours_float, apply_lut(lut, image)))


@pytest.mark.external
def test_ffmpeg_reads_a_discreet_3dl_of_a_wide_domain_cube(tmp_path: Path, photos) -> None:
    """ffmpeg's lut3d misreads a .cube whose DOMAIN_MIN is below 0 (docs/luts.md); the
    way there that docs/luts.md gives, a Discreet 17^3 .3dl baked on [0, 1], is read
    by it as lutkit applies that bake (ffmpeg reads no Lustre header, and only 17^3)."""
    from lutkit.luts.formats import read_lut, write_lut

    image, src = photos["coffee"]
    lut = twist_lut(17, WIDE, clip=True)
    with pytest.warns(UserWarning, match="baked on 0..1"):
        write_lut(lut, tmp_path / "look.3dl", flavour="discreet", bit_depth=12)
    baked = read_lut(tmp_path / "look.3dl")
    tool = run_ffmpeg(src, "lut3d=file=look.3dl:interp=tetrahedral", tmp_path)
    ours_float = apply_lut(baked, image.astype(np.float32) / 255.0)
    assert_8bit_agreement(compare_8bit(tool, ours_float, apply_lut(baked, image)))
