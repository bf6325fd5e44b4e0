"""Baking onto [0, 1] for .3dl, .spi3d and Hald images: what is kept, and the warnings
that say what is not (a domain wider than [0, 1], accuracy between lattice points)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.errors import LutkitWarning
from lutkit.luts.bake import bake_error, bake_unit
from lutkit.luts.cube import write_cube
from lutkit.luts.formats import read_lut, write_lut
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

EXTENSIONS = [".3dl", ".spi3d", ".png"]


def resolve_shaper() -> ShaperLUT3D:
    """As Resolve writes one for log footage: a 1D shaper over -0.125..1.5 (a smooth
    curve onto [0, 1]), then a mild 17^3 grade."""
    x = np.linspace(-0.125, 1.5, 256)
    curve = (x + 0.125) / 1.625
    shaper = LUT1D(np.stack([curve**0.9] * 3, -1), (-0.125, 1.5))
    points = LUT3D.lattice_points(17)
    grade = np.stack([points[..., 0] * 0.95, points[..., 1], points[..., 2] ** 1.1], -1)
    return ShaperLUT3D(shaper, LUT3D(grade), "log look")


def messages(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, LutkitWarning)]


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_a_wide_domain_is_baked_onto_unit_with_one_warning(tmp_path, ext):
    lut = resolve_shaper()
    path = tmp_path / f"log{ext}"
    kw = {"bit_depth": 16} if ext != ".spi3d" else {}
    with pytest.warns(LutkitWarning) as record:
        write_lut(lut, path, **kw)
    assert messages(record) == [
        f"{path}: the LUT's domain is -0.125..1.5, the file's 0..1: baked on 0..1, so "
        "inputs outside it are clamped (a .cube keeps the domain)"
    ]
    back = read_lut(path)
    n = back.size
    points = LUT3D.lattice_points(n).reshape(-1, 3).astype(np.float32)
    want = lut.apply(points, interp="tetrahedral").reshape(n, n, n, 3)
    assert np.abs(back.table - np.clip(want, 0, 1)).max() <= 0.5 / 65535 + 1e-6


def test_a_steep_curve_warns_with_the_lattice_that_holds_it(tmp_path):
    lut = LUT1D.from_function(lambda x: x**0.8, 1024)
    path = tmp_path / "steep.spi3d"
    with pytest.warns(LutkitWarning) as record:
        write_lut(lut, path)
    (said,) = messages(record)
    error = bake_error(lut, read_lut(path))
    assert error > 1
    shown = math.ceil(error * 10) / 10  # rounded up: never "1.0" for an error over 1
    assert said == (
        f"{path}: a 1D LUT baked onto a 33^3 lattice is up to {shown:.1f} 8-bit levels off "
        "between its points; --size 65 bakes it within one level"
    )
    assert bake_error(lut, lut.to_3d(65)) <= 1  # the advice holds


def test_a_gentle_curve_or_a_narrow_domain_bakes_without_a_word(tmp_path, recwarn):
    write_lut(LUT1D.from_function(lambda x: 0.1 + 0.8 * x, 16), tmp_path / "gain.3dl")
    # Its clamp's corners lie on the bake's lattice (eighths), so nothing is lost.
    narrow = LUT3D.from_function(lambda x: x, 7, (0.125, 0.875))
    baked = bake_unit(narrow, tmp_path / "n.spi3d", 9)
    assert messages(recwarn) == []
    # Inputs outside a narrow domain clamp to it, in the LUT and in its bake alike.
    assert baked.table[0, 0, 0].tolist() == pytest.approx([0.125] * 3)
    assert baked.table[-1, -1, -1].tolist() == pytest.approx([0.875] * 3)


def test_a_unit_lut_of_the_right_size_is_written_as_it_is(tmp_path):
    lut = LUT3D.from_function(lambda x: x**1.2, 17)
    assert bake_unit(lut, tmp_path / "x.3dl") is lut


def test_cli_convert_of_a_resolve_shaper_file(tmp_path):
    """`lut info` says a shaper file is baked for .3dl, .spi3d and Hald: convert does so."""
    source = write_cube(resolve_shaper(), tmp_path / "log.cube")
    runner = CliRunner()
    info = runner.invoke(main, ["lut", "info", str(source)])
    assert "formats without a shaper (.3dl, .spi3d, Hald)" in info.output
    for ext in EXTENSIONS:
        out = tmp_path / f"out{ext}"
        result = runner.invoke(main, ["lut", "convert", str(source), str(out)])
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith(f"warning: {out}: the LUT's domain is -0.125..1.5")
        assert result.stdout == f"wrote {out}\n"


def steep_look(n: int = 64) -> LUT3D:
    """A look with a steep toe (a gamma lift of the shadows), as ImageMagick's -level
    gives one: a coarser lattice loses it near black."""
    return LUT3D.from_function(lambda x: np.clip((x - 0.05) / 0.9, 0, 1) ** (1 / 1.1), n)


def test_convert_size_says_what_a_smaller_lattice_loses(tmp_path):
    source = write_cube(steep_look(), tmp_path / "look.cube")
    runner = CliRunner()
    for ext, extra in ((".cube", []), (".3dl", ["--flavour", "discreet"]), (".spi3d", [])):
        out = tmp_path / f"small{ext}"
        result = runner.invoke(
            main, ["lut", "convert", str(source), str(out), "--size", "17", *extra]
        )
        assert result.exit_code == 0, result.output
        error = bake_error(read_lut(source), read_lut(out))
        assert error > 3  # measured on the written file
        (line,) = result.stderr.splitlines()
        got = float(line.split("up to ")[1].split(" ")[0])
        assert abs(got - error) < 0.5  # the warning's figure is the file's, within rounding
        advice = (
            "--size 65 bakes it within one level"
            if bake_error(read_lut(source), read_lut(source).resample(65)) <= 1
            else "without --size it keeps its 64^3 lattice (in a .cube, .spi3d or Discreet .3dl)"
        )
        if ext == ".3dl":  # for ffmpeg, which reads a Discreet .3dl at 17 and garbles 33
            advice = "ffmpeg reads a Discreet .3dl at 17^3 only; a .cube keeps the LUT as it is"
        assert line == (
            f"warning: {out}: the LUT resampled onto a 17^3 lattice is up to {got:.1f} 8-bit "
            f"levels off between its points; {advice}"
        )
    # lut import --size says the same; a lattice that holds the look says nothing
    result = runner.invoke(
        main, ["lut", "import", str(source), "-o", str(tmp_path / "i.cube"), "--size", "9"]
    )
    assert "the LUT resampled onto a 9^3 lattice" in result.stderr
    gentle = write_cube(LUT3D.from_function(lambda x: x**1.1, 33), tmp_path / "gentle.cube")
    result = runner.invoke(main, ["lut", "convert", str(gentle), str(tmp_path / "g.cube"),
                                  "--size", "17"])  # fmt: skip
    assert result.exit_code == 0 and result.stderr == ""


def test_a_3dl_says_it_clips_outputs_above_one(tmp_path):
    hot = LUT3D.from_function(lambda x: x * np.array([1.2, 1.0, 1.0]), 5)
    for ext, kind in ((".3dl", ".3dl"), (".png", "Hald")):
        with pytest.warns(LutkitWarning) as record:
            write_lut(hot, tmp_path / f"hot{ext}", **({"level": 2} if ext == ".png" else {}))
        assert messages(record)[-1].startswith(
            f"{tmp_path / f'hot{ext}'}: {kind} output clipped to [0, 1] (LUT range 0..1.2; "
        )
        assert read_lut(tmp_path / f"hot{ext}").table.max() == 1.0
    # a .spi3d keeps the range, and says nothing
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        write_lut(hot, tmp_path / "hot.spi3d")
    assert messages(record) == []
    assert read_lut(tmp_path / "hot.spi3d").table.max() == pytest.approx(1.2)


@pytest.mark.external
def test_the_bake_agrees_with_opencolorio_applying_the_shaper_file(tmp_path, recwarn):
    ocio = pytest.importorskip("PyOpenColorIO")
    source = write_cube(resolve_shaper(), tmp_path / "log.cube")
    baked = write_lut(read_lut(source), tmp_path / "log.spi3d")
    rgb = np.random.default_rng(3).random((4000, 3)).astype(np.float32)

    def through(path):
        cfg = ocio.Config.CreateRaw()
        transform = ocio.FileTransform(str(path), interpolation=ocio.INTERP_TETRAHEDRAL)
        out = rgb.copy()
        cfg.getProcessor(transform).getDefaultCPUProcessor().applyRGB(out)
        return out

    assert np.abs(through(baked) - through(source)).max() * 255 < 1.0
