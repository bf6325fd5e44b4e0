"""``.3dl`` (Lustre and Discreet) and ``.spi3d``: round trips, and agreement with
OpenColorIO both ways (files OpenColorIO reads, files lutkit writes)."""

from __future__ import annotations

import numpy as np
import pytest

from lutkit.errors import FormatError, LutkitWarning
from lutkit.luts.formats import read_lut, write_lut
from lutkit.luts.lut3dl import likely_bit_depth
from lutkit.luts.model import LUT3D

ocio = pytest.importorskip("PyOpenColorIO")


def _ocio(path, rgb: np.ndarray, interp: str) -> np.ndarray:
    cfg = ocio.Config.CreateRaw()
    how = {"trilinear": ocio.INTERP_LINEAR, "tetrahedral": ocio.INTERP_TETRAHEDRAL}[interp]
    proc = cfg.getProcessor(ocio.FileTransform(str(path), interpolation=how))
    out = np.ascontiguousarray(rgb, dtype=np.float32).copy()
    proc.getDefaultCPUProcessor().applyRGB(out)
    return out


def _colours() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.concatenate([rng.random((2000, 3)), np.eye(3), [[0, 0, 0], [1, 1, 1]]])


def _grade(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.clip(np.stack([r**0.8, 0.6 * g + 0.3 * b, b**1.25 * 0.9 + 0.05 * r], -1), 0, 1)


def _write_3dl_by_hand(path, n: int, in_bits: int, out_bits: int, lustre: bool) -> None:
    """A .3dl as other tools write one (integers, blue fastest, a shaper line)."""
    top, in_top = 2**out_bits - 1, 2**in_bits - 1
    lines = ["# made by hand", "3DMESH", f"Mesh 4 {out_bits}"] if lustre else ["# flame"]
    lines.append(" ".join(str(round(i * in_top / (n - 1))) for i in range(n)))
    for r in range(n):
        for g in range(n):
            for b in range(n):
                out = _grade(np.array([r, g, b]) / (n - 1))
                lines.append(" ".join(str(int(round(v * top))) for v in out))
    if lustre:
        lines += ["", "LUT8", "gamma 1.0"]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
@pytest.mark.parametrize(
    "in_bits,out_bits,lustre", [(10, 10, False), (10, 12, True), (12, 16, False), (10, 16, True)]
)
def test_3dl_from_elsewhere_agrees_with_opencolorio(tmp_path, interp, in_bits, out_bits, lustre):
    path = tmp_path / "look.3dl"
    _write_3dl_by_hand(path, 17, in_bits, out_bits, lustre)
    lut = read_lut(path)
    assert lut.size == 17
    rgb = _colours()
    got = lut.apply(rgb.astype(np.float32), interp=interp)
    assert np.abs(got - _ocio(path, rgb, interp)).max() < 2e-6


def _spi3d_by_hand(path, n: int) -> None:
    lines = ["SPILUT 1.0", "3 3", f"{n} {n} {n}"]
    for b in range(n):  # red fastest here: the format allows any order
        for g in range(n):
            for r in range(n):
                out = _grade(np.array([r, g, b]) / (n - 1)) * 1.1 - 0.02  # outside [0, 1] too
                lines.append(f"{r} {g} {b} " + " ".join(f"{v:.6f}" for v in out))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("interp", ["trilinear", "tetrahedral"])
def test_spi3d_from_elsewhere_agrees_with_opencolorio(tmp_path, interp):
    path = tmp_path / "look.spi3d"
    _spi3d_by_hand(path, 9)
    rgb = _colours()
    got = read_lut(path).apply(rgb.astype(np.float32), interp=interp)
    assert np.abs(got - _ocio(path, rgb, interp)).max() < 2e-6


@pytest.mark.parametrize(
    "name,kw",
    [
        ("w.spi3d", {}),
        ("w.3dl", {"flavour": "lustre", "bit_depth": 12}),
        ("w.3dl", {"flavour": "discreet", "bit_depth": 10}),
        ("w.3dl", {"flavour": "lustre", "bit_depth": 16}),
    ],
)
def test_lutkit_writes_read_back_the_same_in_opencolorio(tmp_path, graded_lut, name, kw):
    lut = LUT3D(np.clip(graded_lut.table, 0, 1), None, "grade")
    path = write_lut(lut, tmp_path / name, **kw)
    back = read_lut(path)
    step = 1.0 / (2 ** kw.get("bit_depth", 32) - 1) if kw else 1e-7
    assert np.abs(back.table - lut.table).max() <= step / 2 + 1e-7  # quantised, no more
    rgb = _colours()
    for interp in ("trilinear", "tetrahedral"):
        ours = back.apply(rgb.astype(np.float32), interp=interp)
        assert np.abs(ours - _ocio(path, rgb, interp)).max() < 2e-6, interp
    assert read_lut(write_lut(back, tmp_path / f"again{path.suffix}", **kw)).table.tobytes() == (
        back.table.tobytes()
    )


def test_bit_depth_rule_is_opencolorios():
    assert [likely_bit_depth(v) for v in (255, 511, 512, 1023, 2047, 4095, 8192, 65535)] == [
        8, 8, 10, 10, 10, 12, 16, 16,
    ]  # fmt: skip


def test_3dl_shaper_line_of_another_length_than_the_lattice(tmp_path):
    # ociobakelut --shapersize 17 --cubesize 33 writes such a file; OpenColorIO and
    # ffmpeg take the lattice from the table, and so does lutkit
    full = tmp_path / "full.3dl"
    _write_3dl_by_hand(full, 9, 10, 12, False)
    lines = full.read_text().splitlines()
    for n in (5, 17, 256):
        other = tmp_path / f"shaper{n}.3dl"
        shaper = " ".join(str(round(i * 1023 / (n - 1))) for i in range(n))
        other.write_text("\n".join([lines[0], shaper, *lines[2:]]) + "\n")
        lut = read_lut(other)
        assert lut.size == 9
        assert np.array_equal(lut.table, read_lut(full).table)
    # its table cut short: no cube, and the shaper line is no lattice to name
    other.write_text("\n".join([lines[0], shaper, *lines[2:-3]]) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(other)
    assert str(err.value) == (
        f"{other}:3: 726 table lines is not a cube (N^3) of lattice points (the nearest: 9^3 = 729)"
    )


def test_a_lustre_3dl_cut_short_to_a_smaller_cube_is_refused(tmp_path):
    # 17^3 cut to 4096 = 16^3 lines reads as a cube, but its Mesh line says 17 per side
    full = tmp_path / "full.3dl"
    _write_3dl_by_hand(full, 17, 10, 12, True)
    lines = full.read_text().splitlines()
    cut = tmp_path / "cut.3dl"
    cut.write_text("\n".join(lines[: 4 + 4096]) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(cut)
    assert str(err.value) == (
        f"{cut}:4100: 4096 table lines, where the Mesh line (line 3) gives a 17^3 lattice "
        "of 4913: the file is cut short"
    )
    # the same table without a Mesh line: its 17-entry shaper line says the same
    flame = tmp_path / "flame.3dl"
    flame.write_text("\n".join(lines[3 : 4 + 4096]) + "\n")
    with pytest.raises(FormatError, match="where the shaper line .* the file is cut short"):
        read_lut(flame)


def test_3dl_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.3dl"
    bad.write_text("0 64 128 1023\n0 0 0\n1023 1023\n")
    with pytest.raises(FormatError) as err:
        read_lut(bad)
    assert str(err.value) == f"{bad}:3: expected 3 integers (R G B), got 2 ({HINT})"
    # A word that is no integer in a table line, a decimal, a keyword inside the table:
    # refused at their line (they were skipped, which shifted every later row).
    _write_3dl_by_hand(bad, 5, 10, 12, False)
    lines = bad.read_text().splitlines()
    first = next(i for i, t in enumerate(lines) if len(t.split()) == 3 and t[0].isdigit())
    for line, word in (("12 abc 40", "'abc'"), ("0.5 0.5 0.5", "'0.5'")):
        bad.write_text("\n".join([*lines[: first + 9], line, *lines[first + 10 :]]) + "\n")
        with pytest.raises(FormatError) as err:
            read_lut(bad)
        assert str(err.value) == f"{bad}:{first + 10}: not a whole number: {word} ({HINT})"
    bad.write_text("\n".join([*lines[: first + 9], "Mesh 5 12", *lines[first + 9 :]]) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(bad)
    assert str(err.value) == f"{bad}:{first + 10}: a keyword line inside the table ({HINT})"
    shaped = tmp_path / "shaped.3dl"
    _write_3dl_by_hand(shaped, 5, 10, 12, False)
    text = shaped.read_text().replace("0 256 512 767 1023", "0 100 300 700 1023")
    shaped.write_text(text)
    with pytest.raises(FormatError, match=r"shaped\.3dl:2: the shaper line is not evenly spaced"):
        read_lut(shaped)
    # A file cut short names its last line and what the shaper line promised.
    _write_3dl_by_hand(shaped, 5, 10, 12, False)
    lines = shaped.read_text().splitlines()
    shaped.write_text("\n".join(lines[:-40]) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(shaped)
    assert str(err.value) == (
        f"{shaped}:{len(lines) - 40}: {125 - 40} table lines, where the shaper line (line 2) "
        "gives a 5^3 lattice of 125: the file is cut short"
    )
    # Cut to a cube of another size, or one line too many: the same rule.
    shaped.write_text("\n".join(lines[: 2 + 64]) + "\n")
    with pytest.raises(FormatError, match=r"3dl:66: 64 table lines, where the shaper .* cut short"):
        read_lut(shaped)
    shaped.write_text("\n".join([*lines, "0 0 0"]) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(shaped)
    assert str(err.value) == (
        f"{shaped}:{len(lines) + 1}: 126 table lines, where the shaper line (line 2) "
        "gives a 5^3 lattice of 125"
    )
    spi = tmp_path / "bad.spi3d"
    spi.write_text("SPILUT 1.0\n3 3\n2 2 2\n0 0 0 0 0 0\n")
    with pytest.raises(FormatError) as err:
        read_lut(spi)
    assert str(err.value) == f"{spi}: 7 of the 8 lattice points have no line (the first: 0 0 1)"
    spi.write_text("SPILUT 1.0\n3 3\n2 2 2\n0 0 0 0 0 0\n0 1 0 0 1 0\n0 0 0 0 0 0\n")
    with pytest.raises(FormatError) as err:
        read_lut(spi)
    assert str(err.value) == f"{spi}:6: lattice point 0 0 0 again (first on line 4)"


HINT = (
    "a .3dl table is lines of three integers, R G B, after an optional line of shaper "
    "integers; keywords (3DMESH, Mesh, LUT8, gamma) go before or after it"
)


@pytest.mark.parametrize("flavour", ["lustre", "discreet"])
@pytest.mark.parametrize("size", [2, 3, 5])
def test_3dl_of_the_smallest_lattices_reads_back(tmp_path, flavour, size):
    # The shaper line of a 2^3 lattice has 2 integers and of a 3^3 one 3, as a row
    # has: both were refused on reading a file lutkit had written.
    rng = np.random.default_rng(size)
    lut = LUT3D(rng.uniform(0.1, 0.9, (size, size, size, 3)), None, "x")
    path = write_lut(lut, tmp_path / "x.3dl", flavour=flavour, bit_depth=12)
    back = read_lut(path)
    assert back.size == size
    assert np.abs(back.table - lut.table).max() <= 0.5 / 4095 + 1e-7


def _dark() -> LUT3D:
    return LUT3D(LUT3D.lattice_points(17) * 0.2, None, "dark")


def test_a_dark_lustre_table_reads_back_by_its_mesh_line(tmp_path):
    """Every output at most 0.2 of a 12-bit table lies under 2047, which the largest-value
    rule takes for 10-bit: lutkit reads the Lustre Mesh line instead, and warns that
    OpenColorIO (which ignores it) reads such a file 4 times too bright."""
    path = tmp_path / "dark.3dl"
    with pytest.warns(LutkitWarning) as said:
        write_lut(_dark(), path, flavour="lustre", bit_depth=12)
    assert str(said[0].message) == (
        f"{path}: every output is at most 0.2, so OpenColorIO, which ignores the Mesh line, "
        "will take this 12-bit table for 10-bit and read it 4 times too bright: write a "
        ".cube for so dark a LUT"
    )
    assert np.abs(read_lut(path).table - _dark().table).max() < 0.5 / 4095
    theirs = _ocio(path, np.array([[1.0, 1.0, 1.0]]), "trilinear")
    np.testing.assert_allclose(theirs, [[0.2 * 4095 / 1023] * 3], rtol=1e-5)  # as it says


def test_a_dark_discreet_table_is_read_as_every_reader_reads_it(tmp_path):
    path = tmp_path / "dark.3dl"
    with pytest.warns(LutkitWarning, match="so lutkit, OpenColorIO and any reader that guesses"):
        write_lut(_dark(), path, flavour="discreet", bit_depth=12)
    ours = read_lut(path).apply(np.array([[1.0, 1.0, 1.0]], np.float32))
    np.testing.assert_allclose(ours, _ocio(path, np.array([[1.0, 1.0, 1.0]]), "trilinear"))


def test_a_bright_enough_table_writes_without_a_warning(tmp_path, recwarn):
    write_lut(LUT3D(LUT3D.lattice_points(17) * 0.6, None, "x"), tmp_path / "x.3dl")
    assert not [w for w in recwarn if issubclass(w.category, LutkitWarning)]


def test_a_mesh_line_that_contradicts_the_table_is_refused(tmp_path):
    path = tmp_path / "m.3dl"
    _write_3dl_by_hand(path, 17, 10, 16, True)
    path.write_text(path.read_text().replace("Mesh 4 16", "Mesh 4 12"))
    with pytest.raises(FormatError) as err:
        read_lut(path)
    assert str(err.value).startswith(
        f"{path}:3: the Mesh line says 12-bit output, but the table holds values up to "
    )


def test_a_value_beyond_float32_names_the_file_without_a_numpy_warning(tmp_path, recwarn):
    spi = tmp_path / "big.spi3d"
    points = [f"{r} {g} {b} 0 0 0" for r in range(2) for g in range(2) for b in range(2)]
    points[-1] = "1 1 1 1e39 1 1"
    spi.write_text("SPILUT 1.0\n3 3\n2 2 2\n" + "\n".join(points) + "\n")
    with pytest.raises(FormatError) as err:
        read_lut(spi)
    assert str(err.value) == (
        f"{spi}: a 3D LUT table contains NaN, infinity or a value beyond the 32-bit float "
        "range (about 3.4e38) (re-export the LUT from the tool that made it)"
    )
    assert not recwarn.list
