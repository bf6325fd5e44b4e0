"""Resolve's shaper+3D .cube files (a 1D shaper, then a 3D table): read, applied in
two stages, written back, and baked where one plain 3D table is needed; compared with
OpenColorIO on files written by hand, by OpenColorIO's own baker, and by lutkit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.errors import LUTError
from lutkit.images import load_image, save_image
from lutkit.luts.cube import read_cube, write_cube
from lutkit.luts.formats import read_lut, write_lut
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D, compose

INTERPS = ["trilinear", "tetrahedral"]
# (shaper range, 3D range): none written; a wide shaper feeding part of the 3D table.
RANGES = {"default": (None, None), "ranged": ((-0.125, 1.75), (0.05, 0.95))}


def _tables(n1: int, n3: int, r1, r3) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = r1 or (0.0, 1.0)
    x = np.linspace(lo, hi, n1)
    # A log-ish shaper (steep in the shadows, as Resolve's are), different per channel.
    shaper = np.stack([np.log1p(8 * np.clip(x, 0, None)) / np.log(9), x**2 / 3, 0.5 * x + 0.1], -1)
    g = np.linspace(*(r3 or (0.0, 1.0)), n3)
    r, gg, b = np.meshgrid(g, g, g, indexing="ij")
    cube = np.stack([0.8 * r + 0.2 * gg * b, gg**1.5 - 0.1 * r, 1.05 - 0.7 * b + 0.1 * r], -1)
    return shaper, cube


def write_by_hand(path: Path, n1: int = 33, n3: int = 9, r1=None, r3=None) -> Path:
    """A shaper file as Resolve writes one: both sizes and ranges, 1D rows, 3D rows
    (red fastest), 6 decimals, no TITLE (OpenColorIO refuses one here)."""
    shaper, cube = _tables(n1, n3, r1, r3)
    lines = ["# made by hand", f"LUT_1D_SIZE {n1}"]
    if r1:
        lines.append(f"LUT_1D_INPUT_RANGE {r1[0]:.6f} {r1[1]:.6f}")
    lines.append(f"LUT_3D_SIZE {n3}")
    if r3:
        lines.append(f"LUT_3D_INPUT_RANGE {r3[0]:.6f} {r3[1]:.6f}")
    rows = np.concatenate([shaper, cube.transpose(2, 1, 0, 3).reshape(-1, 3)])
    lines += [f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def colours(lo: float, hi: float) -> np.ndarray:
    """Random colours a little beyond [lo, hi], grey and primary ramps, and corners."""
    rng = np.random.default_rng(16)
    span = hi - lo
    random = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, (20000, 3))
    t = np.linspace(lo - 0.05 * span, hi + 0.05 * span, 1001)[:, None]
    ramps = [t * np.ones(3)] + [t * np.eye(3)[c] for c in range(3)]
    corners = np.array([[a, b, c] for a in (lo, hi) for b in (lo, hi) for c in (lo, hi)])
    return np.concatenate([random, *ramps, corners]).astype(np.float32)


def ocio_apply(path: Path, rgb: np.ndarray, interp: str) -> np.ndarray:
    ocio = pytest.importorskip("PyOpenColorIO")
    ocio.ClearAllCaches()  # OpenColorIO caches files by path
    how = {"trilinear": ocio.INTERP_LINEAR, "tetrahedral": ocio.INTERP_TETRAHEDRAL}[interp]
    proc = ocio.Config.CreateRaw().getProcessor(ocio.FileTransform(str(path), interpolation=how))
    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    proc.getOptimizedCPUProcessor(ocio.OPTIMIZATION_NONE).applyRGB(out)
    return out


def shaper_lut(r1=None, r3=None, title: str = "") -> ShaperLUT3D:
    shaper, cube = _tables(64, 17, r1, r3)
    return ShaperLUT3D(LUT1D(shaper, r1), LUT3D(cube, r3), title)


# --------------------------------------------------------------------------- OpenColorIO


@pytest.mark.external
@pytest.mark.parametrize("ranges", RANGES.values(), ids=RANGES.keys())
@pytest.mark.parametrize("interp", INTERPS)
def test_hand_written_shaper_file_agrees_with_opencolorio(tmp_path, interp, ranges) -> None:
    path = write_by_hand(tmp_path / f"look-{interp}.cube", r1=ranges[0], r3=ranges[1])
    lut = read_lut(path)
    assert isinstance(lut, ShaperLUT3D)
    rgb = colours(*(ranges[0] or (0.0, 1.0)))
    err = np.abs(lut.apply(rgb, interp=interp) - ocio_apply(path, rgb, interp))
    assert err.max() <= 2e-6, err.max()


@pytest.mark.external
@pytest.mark.parametrize("interp", INTERPS)
def test_opencolorio_baked_shaper_file_agrees(tmp_path, interp) -> None:
    """A shaper file from OpenColorIO's own baker (what ociobakelut --shapersize writes)."""
    ocio = pytest.importorskip("PyOpenColorIO")
    cfg = ocio.Config.CreateRaw()
    for name, transform in [
        ("linear", None),
        ("shaper", ocio.ExponentTransform([1 / 2.2, 1 / 2.2, 1 / 2.2, 1.0])),
        ("graded", ocio.CDLTransform(slope=[1.1, 0.9, 1.0], power=[1.2, 1.0, 0.8], sat=1.3)),
    ]:
        space = ocio.ColorSpace(name=name)
        if transform is not None:
            space.setTransform(transform, ocio.COLORSPACE_DIR_FROM_REFERENCE)
        cfg.addColorSpace(space)
    baker = ocio.Baker()
    baker.setConfig(cfg)
    baker.setFormat("resolve_cube")
    baker.setInputSpace("linear")
    baker.setShaperSpace("shaper")
    baker.setTargetSpace("graded")
    baker.setShaperSize(256)
    baker.setCubeSize(17)
    path = tmp_path / f"baked-{interp}.cube"
    path.write_text(baker.bake())
    lut = read_lut(path)
    assert isinstance(lut, ShaperLUT3D)
    assert (lut.shaper.size, lut.size) == (256, 17)
    rgb = colours(0.0, 1.0)
    assert np.abs(lut.apply(rgb, interp=interp) - ocio_apply(path, rgb, interp)).max() <= 2e-6


@pytest.mark.external
@pytest.mark.parametrize("ranges", RANGES.values(), ids=RANGES.keys())
@pytest.mark.parametrize("interp", INTERPS)
def test_lutkit_shaper_write_reads_back_in_opencolorio(tmp_path, interp, ranges) -> None:
    lut = shaper_lut(*ranges, title="my look")
    lut.metadata["comments"] = ["a comment"]
    path = write_cube(lut, tmp_path / f"mine-{interp}.cube")
    rgb = colours(*(ranges[0] or (0.0, 1.0)))
    assert np.abs(lut.apply(rgb, interp=interp) - ocio_apply(path, rgb, interp)).max() <= 2e-6


# --------------------------------------------------------------------------- lutkit


def test_write_read_round_trip_is_bit_exact(tmp_path) -> None:
    lut = shaper_lut((-0.125, 1.75), (0.05, 0.95), title="my look")
    path = write_cube(lut, tmp_path / "a.cube")
    lines = path.read_text().splitlines()
    assert lines[:5] == [
        "# my look",
        "LUT_1D_SIZE 64",
        "LUT_1D_INPUT_RANGE -0.125 1.75",
        "LUT_3D_SIZE 17",
        "LUT_3D_INPUT_RANGE 0.05 0.95",
    ]
    back = read_cube(path)
    assert isinstance(back, ShaperLUT3D)
    assert np.array_equal(back.shaper.table, lut.shaper.table)
    assert np.array_equal(back.cube.table, lut.cube.table)
    assert np.array_equal(back.domain, lut.domain)
    assert np.array_equal(back.cube.domain, lut.cube.domain)
    # The title comes back as the first comment; writing again changes nothing.
    assert back.metadata["comments"] == ["my look"]
    again = write_cube(back, tmp_path / "b.cube")
    assert again.read_bytes() == path.read_bytes()


def test_per_channel_domain_cannot_be_a_shaper_file(tmp_path) -> None:
    lut = shaper_lut()
    lut.shaper.domain = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
    with pytest.raises(LUTError, match="one input range for all channels"):
        write_cube(lut, tmp_path / "x.cube")
    assert not (tmp_path / "x.cube").exists()


def test_apply_is_shaper_then_table() -> None:
    lut = shaper_lut((-0.125, 1.75), (0.05, 0.95))
    rgb = colours(-0.125, 1.75)
    for interp in INTERPS:
        two = lut.cube.apply(lut.shaper.apply(rgb), interp=interp)
        assert np.array_equal(lut.apply(rgb, interp=interp), two)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_images_are_the_float_result_quantised(dtype) -> None:
    lut = shaper_lut()
    top = np.iinfo(dtype).max
    image = np.random.default_rng(1).integers(0, top + 1, (64, 64, 3)).astype(dtype)
    exact = lut.apply(image.astype(np.float32) / top)
    want = np.clip(np.floor(exact * np.float32(top) + np.float32(0.5)), 0, top)
    for method in ("auto", "direct", "dense"):
        got = lut.apply(image, method=method)
        assert got.dtype == dtype
        assert np.array_equal(got, want.astype(dtype))


def test_strength_blends_exactly() -> None:
    lut = shaper_lut((-0.125, 1.75), (0.05, 0.95))
    rgb = colours(-0.125, 1.75)
    clamped = np.clip(rgb, -0.125, 1.75)
    want = clamped + np.float32(0.3) * (lut.apply(rgb) - clamped)
    assert np.array_equal(lut.apply(rgb, strength=0.3), want)


def test_bake_is_exact_at_the_lattice_and_compose_uses_both_stages() -> None:
    lut = shaper_lut((-0.125, 1.75), (0.05, 0.95))
    baked = lut.to_3d()
    assert isinstance(baked, LUT3D) and baked.size == lut.size
    points = LUT3D.lattice_points(lut.size, lut.domain).astype(np.float32)
    np.testing.assert_array_equal(baked.table, lut.apply(points))
    composed = compose(lut, LUT3D.identity(2, domain=[[-1] * 3, [2] * 3]))
    np.testing.assert_allclose(composed.table, baked.table, atol=1e-6)
    # The other order: the shaper LUT's two stages after a 1D curve.
    curve = LUT1D.from_function(lambda x: np.abs(x) ** 0.8, 256, lut.domain)
    after = compose(curve, lut, size=9)
    p9 = LUT3D.lattice_points(9, lut.domain).astype(np.float32)
    np.testing.assert_allclose(after.table, lut.apply(curve.apply(p9)), atol=1e-6)


def test_resample_keeps_the_shaper() -> None:
    lut = shaper_lut()
    bigger = lut.resample(33)
    assert isinstance(bigger, ShaperLUT3D) and bigger.size == 33
    assert bigger.shaper is lut.shaper
    rgb = colours(0.0, 1.0)
    # The 3D table is smooth: a finer lattice moves results by little.
    assert np.abs(bigger.apply(rgb) - lut.apply(rgb)).max() < 0.01


@pytest.mark.filterwarnings("ignore:.*Hald output clipped")
@pytest.mark.parametrize("ext", [".spi3d", ".3dl", ".png"])
def test_formats_without_a_shaper_get_the_bake(tmp_path, ext) -> None:
    lut = shaper_lut()
    kw = {"flavour": "discreet", "bit_depth": 16} if ext == ".3dl" else {}
    back = read_lut(write_lut(lut, tmp_path / f"x{ext}", **kw))
    baked = lut.to_3d(back.size)
    if ext == ".spi3d":  # floats, kept as they are
        assert np.array_equal(back.table, baked.table)
    else:  # integers in [0, 1]: half a step of 16 or 8 bits
        step = 1 / 65535 if ext == ".3dl" else 1 / 255
        assert np.abs(back.table - np.clip(baked.table, 0, 1)).max() <= step / 2 + 1e-7


def test_cli_apply_info_convert(tmp_path) -> None:
    path = write_cube(shaper_lut(), tmp_path / "look.cube")
    image = np.random.default_rng(2).integers(0, 256, (32, 48, 3)).astype(np.uint8)
    save_image(tmp_path / "in.png", image)
    runner = CliRunner()
    result = runner.invoke(
        main, ["lut", "apply", str(path), str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png")]
    )
    assert result.exit_code == 0, result.output
    assert np.array_equal(load_image(tmp_path / "o.png").pixels, read_lut(path).apply(image))
    result = runner.invoke(main, ["lut", "info", str(path)])
    assert result.exit_code == 0, result.output
    assert "1D shaper + 3D" in result.output and "shaper size" in result.output
    result = runner.invoke(main, ["lut", "convert", str(path), str(tmp_path / "b.cube")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.cube").read_bytes() == path.read_bytes()
    result = runner.invoke(
        main, ["lut", "convert", str(path), str(tmp_path / "c.cube"), "--size", "9"]
    )
    assert result.exit_code == 0, result.output
    converted = read_lut(tmp_path / "c.cube")
    assert isinstance(converted, ShaperLUT3D) and converted.size == 9
