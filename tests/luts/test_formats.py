from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from lutkit.errors import FormatError
from lutkit.luts.formats import is_gimp_curves, read_lut, write_lut
from lutkit.luts.model import LUT1D, LUT3D

RESOURCES = Path(__file__).resolve().parents[1] / "resources"


@pytest.mark.parametrize("ext", [".cube", ".CUBE", ".png", ".tif", ".tiff"])
def test_write_then_read_by_extension(tmp_path: Path, ext: str) -> None:
    lut = LUT3D.from_function(lambda x: x**1.2, 16)
    path = write_lut(lut, tmp_path / f"lut{ext}")
    back = read_lut(path)
    assert isinstance(back, LUT3D) and back.size == 16
    np.testing.assert_allclose(back.table, lut.table, atol=0.5 / 255 + 1e-6)


def test_keywords_reach_the_writer(tmp_path: Path) -> None:
    lut = LUT3D.identity(4)
    write_lut(lut, tmp_path / "t.cube", title="given")
    assert read_lut(tmp_path / "t.cube").title == "given"
    write_lut(lut, tmp_path / "h.png", level=3, bit_depth=16)
    assert read_lut(tmp_path / "h.png").size == 9


def test_lut1d_as_hald_is_baked_to_3d(tmp_path: Path) -> None:
    curve = LUT1D.from_function(lambda x: x**2, 256)
    back = read_lut(write_lut(curve, tmp_path / "c.tif", level=4, bit_depth=16))
    assert isinstance(back, LUT3D) and back.size == 16
    np.testing.assert_allclose(back.table, LUT3D.lattice_points(16) ** 2, atol=2e-3)
    assert isinstance(read_lut(write_lut(curve, tmp_path / "c.cube")), LUT1D)


def test_unknown_extensions(tmp_path: Path) -> None:
    path = tmp_path / "lut.csp"
    path.write_text("0 64 128\n")
    with pytest.raises(FormatError) as info:
        read_lut(path)
    assert str(info.value) == (
        f"{path}: unknown LUT file extension '.csp' (supported: .cube, .3dl, .spi3d, .png, "
        ".tif, .tiff, .curves, .settings (or a GIMP curves file))"
    )
    with pytest.raises(FormatError) as info:
        write_lut(LUT3D.identity(2), tmp_path / "lut")
    assert str(info.value) == (
        f"{tmp_path / 'lut'}: cannot write LUTs with extension '(none)' "
        "(supported: .cube, .3dl, .spi3d, .png, .tif, .tiff)"
    )


def test_gimp_files_detected_by_name_or_content(tmp_path: Path) -> None:
    first_line = tmp_path / "curve.txt"
    first_line.write_text("\n# GIMP 'Curves' settings\n(time 0)\n")
    config = tmp_path / "noext"
    config.write_text('# settings\n\n(GimpCurvesConfig "x")\n')
    plain = tmp_path / "notes.txt"
    plain.write_text("# not GIMP\n")
    assert is_gimp_curves(first_line) and is_gimp_curves(config)
    assert is_gimp_curves(tmp_path / "missing.curves")  # by extension
    assert not is_gimp_curves(plain)
    assert not is_gimp_curves(tmp_path / "missing.txt")


def test_read_lut_hands_gimp_files_to_the_gimp_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    fake = types.ModuleType("lutkit.luts.gimp")

    def read_gimp_curves(source):
        calls.append(Path(source))
        return LUT1D.identity(4)

    fake.read_gimp_curves = read_gimp_curves  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lutkit.luts.gimp", fake)
    by_content = tmp_path / "exported"
    by_content.write_text("# GIMP 'Curves' settings\n")
    by_name = tmp_path / "x.curves"
    by_name.write_text("anything")
    assert isinstance(read_lut(by_content), LUT1D)
    assert isinstance(read_lut(by_name), LUT1D)
    assert calls == [by_content, by_name]
    # A known extension wins over content: this is read as a .cube.
    cube = tmp_path / "gimp-made.cube"
    cube.write_text("# GIMP made this\nLUT_1D_SIZE 2\n0 0 0\n1 1 1\n")
    assert isinstance(read_lut(cube), LUT1D)
    assert len(calls) == 2


def test_real_gimp_curves_file_reads() -> None:
    path = RESOURCES / "gimp" / "export-2.10.curves"
    if not path.exists():
        pytest.skip("GIMP fixtures not present")
    pytest.importorskip("lutkit.luts.gimp")
    assert isinstance(read_lut(path), LUT1D)
