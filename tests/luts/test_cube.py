from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lutkit import fsutil
from lutkit.errors import FormatError, LutkitError
from lutkit.luts.cube import read_cube, write_cube
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "cube"

SIZE2 = ["LUT_3D_SIZE 2"]
# An identity 2x2x2 table in file order: red changes fastest, then green, then blue.
ROWS2 = ["0 0 0", "1 0 0", "0 1 0", "1 1 0", "0 0 1", "1 0 1", "0 1 1", "1 1 1"]
KEYWORD_HINT = (
    "a .cube header may hold TITLE, LUT_1D_SIZE, LUT_3D_SIZE, DOMAIN_MIN, DOMAIN_MAX, "
    "LUT_1D_INPUT_RANGE, LUT_3D_INPUT_RANGE and # comments"
)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


# --------------------------------------------------------------------------- fixtures


def test_identity_2_reads_as_identity() -> None:
    lut = read_cube(RESOURCES / "identity_2.cube")
    assert isinstance(lut, LUT3D)
    assert lut.size == 2
    assert lut.title == "Identity 2"
    assert np.array_equal(lut.table, LUT3D.identity(2).table)
    assert np.array_equal(lut.domain, [[0, 0, 0], [1, 1, 1]])
    assert lut.metadata["comments"][0].startswith("The smallest 3D LUT")


def test_crlf_tabs_and_comments_inside_the_table() -> None:
    lut = read_cube(RESOURCES / "crlf_tabs.cube")
    assert lut.title == "crlf tabs"
    assert np.array_equal(lut.table, LUT3D.identity(2).table)


def test_domain_and_values_outside_unit_range_are_kept() -> None:
    lut = read_cube(RESOURCES / "domain_3d.cube")
    assert np.array_equal(lut.domain, [[-0.1, 0, -0.25], [1.5, 1, 2]])
    # Row 2 of the file is (r=1, g=0, b=0); row 5 is (r=0, g=0, b=1): red fastest.
    assert np.array_equal(lut.table[0, 0, 0], np.float32([-0.2, -0.1, -0.3]))
    assert np.array_equal(lut.table[1, 0, 0], np.float32([1.7, 0, 0]))
    assert np.array_equal(lut.table[0, 1, 0], np.float32([0, 1.25, 0]))
    assert np.array_equal(lut.table[0, 0, 1], np.float32([0, 0, 2.5]))
    assert np.array_equal(lut.table[1, 1, 1], np.float32([1.1, 1.2, 1.3]))


def test_one_d_with_domain() -> None:
    lut = read_cube(RESOURCES / "one_d.cube")
    assert isinstance(lut, LUT1D)
    assert lut.title == "one d"
    assert np.array_equal(lut.domain, [[0, 0, 0], [1, 2, 4]])
    assert np.array_equal(lut.table[2], np.float32([0.5, 1, 2.5]))


def test_resolve_input_ranges() -> None:
    one = read_cube(RESOURCES / "resolve_range_1d.cube")
    assert isinstance(one, LUT1D)
    assert np.array_equal(one.domain, [[0, 0, 0], [3, 3, 3]])
    assert np.array_equal(one.table[:, 0], np.float32([0, 1.5, 3]))
    three = read_cube(RESOURCES / "resolve_range_3d.cube")
    assert isinstance(three, LUT3D)
    assert np.array_equal(three.domain, [[-0.5] * 3, [1.5] * 3])


def test_shaper_plus_3d_file_reads_as_shaper_and_table() -> None:
    lut = read_cube(RESOURCES / "shaper_3d.cube")
    assert isinstance(lut, ShaperLUT3D)
    assert lut.title == "Resolve shaper + 3D"
    assert (lut.shaper.size, lut.size) == (2, 2)
    assert np.array_equal(lut.shaper.table, LUT1D.identity(2).table)
    assert np.array_equal(lut.cube.table, LUT3D.identity(2).table)
    assert np.array_equal(lut.domain, [[0, 0, 0], [1, 1, 1]])


def test_lines_source_with_line_endings() -> None:
    lines = [line + "\r\n" for line in SIZE2 + ROWS2]
    assert np.array_equal(read_cube(lines).table, LUT3D.identity(2).table)


def test_unquoted_title_and_trailing_comments() -> None:
    lut = read_cube(["TITLE plain words", "LUT_3D_SIZE 2 # two", *[r + " # row" for r in ROWS2]])
    assert lut.title == "plain words"
    assert np.array_equal(lut.table, LUT3D.identity(2).table)


def test_quotes_inside_title_are_kept() -> None:
    lut = read_cube(['TITLE "say "hi" # not a comment"', *SIZE2, *ROWS2])
    assert lut.title == 'say "hi" # not a comment'


def test_keywords_are_case_insensitive_and_numbers_flexible() -> None:
    rows = ["+0 0. .0", "1e0 0 0", "0 1 0", "1 1 0", "0 0 1", "1 0 1", "0 1 1", "1 1 1.0E+0"]
    lut = read_cube(["lut_3d_size 2", *rows])
    assert np.array_equal(lut.table, LUT3D.identity(2).table)


COLOUR_SAMPLES = [
    ("iridas_cube", "ACES_Proxy_10_to_ACES.cube"),
    ("iridas_cube", "Colour_Correct.cube"),
    ("iridas_cube", "Demo.cube"),
    ("iridas_cube", "RGB_1_0.5_0.25.cube"),
    ("iridas_cube", "Three_Dimensional_Table.cube"),
    ("iridas_cube", "Unit.cube"),
    ("iridas_cube", "eotf_sRGB_3D.cube"),
    ("resolve_cube", "ACES_Proxy_10_to_ACES.cube"),
    ("resolve_cube", "Demo.cube"),
    ("resolve_cube", "Three_Dimensional_Table.cube"),
]


@pytest.mark.parametrize(("folder", "name"), COLOUR_SAMPLES)
def test_colour_science_sample_files_read_like_colour(folder: str, name: str) -> None:
    colour = pytest.importorskip("colour")
    path = Path(colour.__file__).parent / "io" / "luts" / "tests" / "resources" / folder / name
    if not path.exists():
        pytest.skip(f"colour-science does not ship {folder}/{name}")
    ours = read_cube(path)
    theirs = colour.io.read_LUT(str(path))
    has_title = "TITLE" in path.read_text()
    assert ours.title == (theirs.name if has_title else "")  # colour falls back to the name
    np.testing.assert_array_equal(ours.table, np.float32(theirs.table))
    np.testing.assert_allclose(ours.domain, np.broadcast_to(theirs.domain, (2, 3)))


def test_colour_science_shaper_sample_agrees_with_colour_science() -> None:
    colour = pytest.importorskip("colour")
    root = Path(colour.__file__).parent / "io" / "luts" / "tests" / "resources"
    path = root / "resolve_cube" / "Three_Dimensional_Table_With_Shaper.cube"
    if not path.exists():
        pytest.skip("sample missing")
    ours = read_cube(path)
    theirs = colour.read_LUT(str(path))  # a LUTSequence: LUT3x1D then LUT3D
    assert isinstance(ours, ShaperLUT3D)
    assert ours.title == "LUT3D with My Shaper"
    np.testing.assert_array_equal(ours.shaper.table, theirs[0].table.astype(np.float32))
    np.testing.assert_array_equal(ours.cube.table, theirs[1].table.astype(np.float32))
    np.testing.assert_allclose(ours.domain, theirs[0].domain)
    np.testing.assert_allclose(ours.cube.domain, theirs[1].domain)
    # Inside the shaper's range only: outside it colour-science extrapolates the
    # shaper, where lutkit (and OpenColorIO) clamp.
    rgb = np.random.default_rng(3).uniform(-0.1, 3.0, (2000, 3))
    np.testing.assert_allclose(
        ours.apply(rgb.astype(np.float32), interp="trilinear"), theirs.apply(rgb), atol=1e-6
    )


# --------------------------------------------------------------------------- round trips

DOMAINS = {"unit": None, "wide": [[-0.125, 0.0, -0.5], [1.5, 1.0, 4.0]]}


@pytest.mark.parametrize("domain", DOMAINS.values(), ids=DOMAINS.keys())
@pytest.mark.parametrize("size", [2, 3, 17, 33, 65])
def test_round_trip_3d_is_bit_exact(tmp_path: Path, size: int, domain) -> None:
    rng = np.random.default_rng(size)
    # Values well outside [0, 1], tiny ones, negative zero: every float32 must survive.
    table = (rng.normal(size=(size, size, size, 3)) * 1.5).astype(np.float32)
    table[0, 0, 0] = [1e-30, -3.0e-7, -0.0]
    table[-1, 0, 0] = [123456.78, 1.0, 1e-5]
    lut = LUT3D(table, domain, title=f"random {size}")
    path = tmp_path / "lut.cube"
    write_cube(lut, path)
    back = read_cube(path)
    assert isinstance(back, LUT3D)
    assert same_bits(back.table, lut.table)
    assert np.array_equal(back.domain, lut.domain)
    assert back.title == lut.title
    # ... and again: read -> write -> read gives the same file.
    write_cube(back, tmp_path / "again.cube")
    assert (tmp_path / "again.cube").read_bytes() == path.read_bytes()


@pytest.mark.parametrize("domain", DOMAINS.values(), ids=DOMAINS.keys())
@pytest.mark.parametrize("size", [2, 3, 17, 1024, 65536])
def test_round_trip_1d_is_bit_exact(tmp_path: Path, size: int, domain) -> None:
    rng = np.random.default_rng(size)
    lut = LUT1D(rng.normal(size=(size, 3)).astype(np.float32), domain, title="one d")
    path = tmp_path / "lut.cube"
    write_cube(lut, path)
    back = read_cube(path)
    assert isinstance(back, LUT1D)
    assert same_bits(back.table, lut.table)
    assert np.array_equal(back.domain, lut.domain)


def test_round_trip_of_fixtures_keeps_comments_and_title(tmp_path: Path) -> None:
    for name in sorted(os.listdir(RESOURCES)):
        lut = read_cube(RESOURCES / name)
        if isinstance(lut, ShaperLUT3D):
            continue  # tests/luts/test_cube_shaper.py
        write_cube(lut, tmp_path / name)
        back = read_cube(tmp_path / name)
        assert type(back) is type(lut)
        assert same_bits(back.table, lut.table), name
        assert np.array_equal(back.domain, lut.domain), name
        assert back.title == lut.title
        assert back.metadata.get("comments") == lut.metadata.get("comments")


def test_writer_lists_red_fastest_and_writes_header(tmp_path: Path) -> None:
    lut = LUT3D.identity(2, title="")
    lut.table[1, 0, 0] = [0.5, 0.25, 0.125]
    path = write_cube(lut, tmp_path / "x.cube")
    lines = path.read_text().splitlines()
    assert lines == ["LUT_3D_SIZE 2", "0 0 0", "0.5 0.25 0.125", *ROWS2[2:]]


def test_writer_title_and_domain_lines(tmp_path: Path) -> None:
    lut = LUT1D.identity(2, domain=[[0, 0, 0], [1, 2, 4]], title="mine")
    text = write_cube(lut, tmp_path / "a.cube").read_text()
    assert text.splitlines()[:4] == [
        'TITLE "mine"',
        "LUT_1D_SIZE 2",
        "DOMAIN_MIN 0.0 0.0 0.0",
        "DOMAIN_MAX 1.0 2.0 4.0",
    ]
    text = write_cube(lut, tmp_path / "b.cube", title="line one\nline two").read_text()
    assert text.splitlines()[0] == 'TITLE "line one line two"'
    text = write_cube(lut, tmp_path / "c.cube", title="").read_text()
    assert "TITLE" not in text


def test_writer_never_uses_exponents(tmp_path: Path) -> None:
    lut = LUT1D(np.float32([[1e-7, 2.5e-5, -3e-9], [1e20, 1, 0]]))
    text = write_cube(lut, tmp_path / "x.cube").read_text()
    assert "e" not in text.lower().replace("lut_1d_size", "")
    assert same_bits(read_cube(tmp_path / "x.cube").table, lut.table)


def test_writer_fixed_precision(tmp_path: Path) -> None:
    lut = LUT3D.from_function(lambda x: x**2.2, 5)
    path = write_cube(lut, tmp_path / "x.cube", precision=6)
    rows = path.read_text().splitlines()[1:]
    assert all(len(v.split(".")[1]) == 6 for v in rows[1].split())
    np.testing.assert_allclose(read_cube(path).table, lut.table, atol=5e-7)


def test_writer_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keep.cube"
    path.write_text("old")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", fail)
    with pytest.raises(LutkitError, match=r"keep\.cube: cannot write the file: disk full"):
        write_cube(LUT3D.identity(3), path)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.cube"]


def test_writing_into_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "x.cube"
    with pytest.raises(LutkitError) as info:
        write_cube(LUT3D.identity(2), path)
    assert str(info.value) == f"{path}: cannot write the file: output folder does not exist"


def test_written_file_has_normal_permissions(tmp_path: Path) -> None:
    path = write_cube(LUT3D.identity(2), tmp_path / "p.cube")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["p.cube"]


# --------------------------------------------------------------------------- errors


def lines_error(lines: list[str]) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_cube(lines)
    return info.value


MALFORMED = {
    "no size line": (
        ["# no size", *ROWS2],
        "<lines>:2: table data before any LUT_3D_SIZE or LUT_1D_SIZE line "
        "(the size line must come before the table)",
    ),
    "only comments": (
        ["# nothing", ""],
        "<lines>: no LUT_3D_SIZE or LUT_1D_SIZE line and no table "
        "(not a .cube file, or an empty one)",
    ),
    "no table": (
        ['TITLE "t"', *SIZE2],
        "<lines>:2: no table data after LUT_3D_SIZE 2 (expected 8 rows of three numbers)",
    ),
    "too few rows": (
        [*SIZE2, *ROWS2[:-1]],
        "<lines>:8: wrong number of data rows: LUT_3D_SIZE 2 expects 8, found 7 "
        "(this is the last row; the file may be truncated)",
    ),
    "too many rows": (
        [*SIZE2, *ROWS2, "1 1 1", "0 0 0"],
        "<lines>:10: wrong number of data rows: LUT_3D_SIZE 2 expects 8, found 10 "
        "(this is the first extra row; the size line or the table is wrong)",
    ),
    "1D too few rows": (
        ["LUT_1D_SIZE 3", "0 0 0", "# gap", "1 1 1"],
        "<lines>:4: wrong number of data rows: LUT_1D_SIZE 3 expects 3, found 2 "
        "(this is the last row; the file may be truncated)",
    ),
    "text in numbers": (
        [*SIZE2, *ROWS2[:3], "0.5 abc 0.2", *ROWS2[4:]],
        "<lines>:5: not a number: 'abc'"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "number with junk": (
        [*SIZE2, *ROWS2[:3], "0.5 0.2 0.1x", *ROWS2[4:]],
        "<lines>:5: not a number: '0.1x'"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "text first in a row": (
        [*SIZE2, *ROWS2[:6], "red 0 0", *ROWS2[7:]],
        "<lines>:8: not a number: 'red'"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "underscore digits": (
        [*SIZE2, *ROWS2[:5], "1_0 0 0", *ROWS2[6:]],
        "<lines>:7: not a number: '1_0'"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "comma decimal": (
        [*SIZE2, "0,5 0 0", *ROWS2[1:]],
        "<lines>:2: not a number: '0,5'"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "two values": (
        [*SIZE2, *ROWS2[:2], "0.5 0.2", *ROWS2[3:]],
        "<lines>:4: expected 3 values per row, found 2"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "four values": (
        [*SIZE2, *ROWS2[:2], "0.5 0.2 0.1 0.3", *ROWS2[3:]],
        "<lines>:4: expected 3 values per row, found 4"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "four values everywhere": (
        [*SIZE2, *(r + " 1" for r in ROWS2)],
        "<lines>:2: expected 3 values per row, found 4"
        " (each table row is three numbers, R G B, after the keyword lines)",
    ),
    "nan": (
        [*SIZE2, *ROWS2[:5], "nan 0 0", *ROWS2[6:]],
        "<lines>:7: NaN or infinity in the table"
        " (every value must be a finite number; re-export the LUT from its tool)",
    ),
    "inf": (
        [*SIZE2, *ROWS2[:5], "0 -inf 0", *ROWS2[6:]],
        "<lines>:7: NaN or infinity in the table"
        " (every value must be a finite number; re-export the LUT from its tool)",
    ),
    "domain beyond float32": (
        ["DOMAIN_MAX 1e39 1 1", *SIZE2, *ROWS2],
        "<lines>:1: DOMAIN_MAX: a value beyond the 32-bit float range (about 3.4e38)"
        " (a LUT holds 32-bit floats; re-export the LUT from its tool)",
    ),
    "beyond float32": (
        [*SIZE2, *ROWS2[:2], "0 1e39 0", *ROWS2[3:]],
        "<lines>:4: a value beyond the 32-bit float range (about 3.4e38)"
        " (a LUT holds 32-bit floats; re-export the LUT from its tool)",
    ),
    "overflow to inf": (
        [*SIZE2, "0 0 1e999", *ROWS2[1:]],
        "<lines>:2: NaN or infinity in the table"
        " (every value must be a finite number; re-export the LUT from its tool)",
    ),
    "3D size 1": (
        ["LUT_3D_SIZE 1", "0 0 0"],
        "<lines>:1: LUT_3D_SIZE 1 is out of range (use 2 to 256)",
    ),
    "3D size 257": (
        ["LUT_3D_SIZE 257", *ROWS2],
        "<lines>:1: LUT_3D_SIZE 257 is out of range (use 2 to 256)",
    ),
    "huge declared size": (
        ["LUT_3D_SIZE 99999999999999999999", *ROWS2],
        "<lines>:1: LUT_3D_SIZE 99999999999999999999 is out of range (use 2 to 256)",
    ),
    "1D size 65537": (
        ["LUT_1D_SIZE 65537", *ROWS2],
        "<lines>:1: LUT_1D_SIZE 65537 is out of range (use 2 to 65536)",
    ),
    "1D size 0": (
        ["LUT_1D_SIZE 0"],
        "<lines>:1: LUT_1D_SIZE 0 is out of range (use 2 to 65536)",
    ),
    "size not a number": (
        ["LUT_3D_SIZE two", *ROWS2],
        "<lines>:1: LUT_3D_SIZE needs one whole number, got 'two'",
    ),
    "size not whole": (
        ["LUT_3D_SIZE 2.0", *ROWS2],
        "<lines>:1: LUT_3D_SIZE needs one whole number, got '2.0'",
    ),
    "negative size": (
        ["LUT_3D_SIZE -2", *ROWS2],
        "<lines>:1: LUT_3D_SIZE needs one whole number, got '-2'",
    ),
    "domain min equals max": (
        ["DOMAIN_MIN 0 0.5 0", "DOMAIN_MAX 1 0.5 1", *SIZE2, *ROWS2],
        "<lines>:2: DOMAIN_MIN >= DOMAIN_MAX on the g channel (0.5 >= 0.5) "
        "(DOMAIN_MIN must be below DOMAIN_MAX on every channel)",
    ),
    "domain min above default max": (
        [*SIZE2, "DOMAIN_MIN 0 0 2", *ROWS2],
        "<lines>:2: DOMAIN_MIN >= DOMAIN_MAX on the b channel (2 >= 1) "
        "(DOMAIN_MIN must be below DOMAIN_MAX on every channel)",
    ),
    "domain with two numbers": (
        ["DOMAIN_MIN 0 0", *SIZE2, *ROWS2],
        "<lines>:1: DOMAIN_MIN needs 3 numbers, found 2",
    ),
    "domain with text": (
        ["DOMAIN_MAX 1 one 1", *SIZE2, *ROWS2],
        "<lines>:1: DOMAIN_MAX: not a number: 'one'",
    ),
    "domain with underscores": (
        ["DOMAIN_MAX 1 1_0 1", *SIZE2, *ROWS2],
        "<lines>:1: DOMAIN_MAX: not a number: '1_0'",
    ),
    "domain nan": (
        ["DOMAIN_MAX 1 nan 1", *SIZE2, *ROWS2],
        "<lines>:1: DOMAIN_MAX: NaN or infinity",
    ),
    "input range reversed": (
        ["LUT_3D_INPUT_RANGE 1 0", *SIZE2, *ROWS2],
        "<lines>:1: LUT_3D_INPUT_RANGE: the minimum 1 is not below the maximum 0",
    ),
    "1D input range in a 3D file": (
        ["LUT_1D_INPUT_RANGE 0 1", *SIZE2, *ROWS2],
        "<lines>:1: LUT_1D_INPUT_RANGE in a file with a 3D table only (use LUT_3D_INPUT_RANGE)",
    ),
    "domain and input range": (
        ["DOMAIN_MIN 0 0 0", "LUT_3D_INPUT_RANGE 0 1", *SIZE2, *ROWS2],
        "<lines>:2: both DOMAIN_MIN/DOMAIN_MAX and LUT_3D_INPUT_RANGE are given (keep one of them)",
    ),
    "unknown keyword": (
        ['TITLE "x"', "LUT_3D_SIZEE 2", *ROWS2],
        f"<lines>:2: unknown keyword 'LUT_3D_SIZEE' ({KEYWORD_HINT})",
    ),
    "unknown keyword after size": (
        [*SIZE2, "LUT_IN_VIDEO_RANGE", *ROWS2],
        f"<lines>:2: unknown keyword 'LUT_IN_VIDEO_RANGE' ({KEYWORD_HINT})",
    ),
    "keyword twice": (
        [*SIZE2, *SIZE2, *ROWS2],
        "<lines>:2: LUT_3D_SIZE appears twice (first on line 1)",
    ),
    "keyword inside the table": (
        [*SIZE2, *ROWS2[:4], "DOMAIN_MIN 0 0 0", *ROWS2[4:]],
        "<lines>:6: keyword 'DOMAIN_MIN' after the table started "
        "(keywords go before the first row of numbers)",
    ),
    "shaper file one row short": (
        ["LUT_1D_SIZE 2", "LUT_3D_SIZE 2", "0 0 0", "1 1 1", *ROWS2[:-1]],
        "<lines>:11: wrong number of data rows: LUT_1D_SIZE 2 and LUT_3D_SIZE 2 expect 10, "
        "found 9 (this is the last row; the file may be truncated)",
    ),
    "shaper file with DOMAIN_MIN": (
        ["DOMAIN_MIN 0 0 0", "LUT_1D_SIZE 2", "LUT_3D_SIZE 2", "0 0 0", "1 1 1", *ROWS2],
        "<lines>:1: DOMAIN_MIN in a shaper+3D file (a 1D and a 3D table) (give the ranges "
        "as LUT_1D_INPUT_RANGE and LUT_3D_INPUT_RANGE)",
    ),
    "shaper file with a reversed 3D range": (
        ["LUT_1D_SIZE 2", "LUT_3D_SIZE 2", "LUT_3D_INPUT_RANGE 2 1", "0 0 0", "1 1 1", *ROWS2],
        "<lines>:3: LUT_3D_INPUT_RANGE: the minimum 2 is not below the maximum 1",
    ),
    "3D size after a 1D table": (
        ["LUT_1D_SIZE 2", "0 0 0", "1 1 1", *SIZE2, *ROWS2],
        "<lines>:4: LUT_3D_SIZE after the 1D table "
        "(in a shaper+3D file both size lines come before the tables)",
    ),
    "title without closing quote": (
        ['TITLE "abc', *SIZE2, *ROWS2],
        '<lines>:1: TITLE has no closing quote (write TITLE "text")',
    ),
    "empty": ([], "<lines>: empty file (a .cube file needs a size line and a table)"),
    "blank lines only": (
        ["", "   ", "\t"],
        "<lines>: empty file (a .cube file needs a size line and a table)",
    ),
}


@pytest.mark.parametrize(("lines", "message"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_cube_messages(lines: list[str], message: str) -> None:
    error = lines_error(lines)
    assert str(error) == message
    expected_line = message.split(":")[1] if message.split(":")[1].isdigit() else None
    assert error.line == (None if expected_line is None else int(expected_line))
    assert error.path == "<lines>"


def test_error_carries_the_file_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.cube"
    path.write_text("LUT_3D_SIZE 2\n0 0 0\n")
    with pytest.raises(FormatError) as info:
        read_cube(path)
    assert str(info.value) == (
        f"{path}:2: wrong number of data rows: LUT_3D_SIZE 2 expects 8, found 1 "
        "(this is the last row; the file may be truncated)"
    )


@pytest.mark.parametrize(
    ("data", "line", "byte"),
    [
        (b"LUT_3D_SIZE 2\n0 0 0\n\xff\xfe 0 0\n", 3, "0xff at offset 20"),
        (b"LUT_3D_SIZE 2\n0 0 \x00\x01\n", 2, "0x00 at offset 18"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "0x89 at offset 0"),
    ],
)
def test_binary_files(tmp_path: Path, data: bytes, line: int, byte: str) -> None:
    path = tmp_path / "bin.cube"
    path.write_bytes(data)
    with pytest.raises(FormatError) as info:
        read_cube(path)
    assert str(info.value) == (
        f"{path}:{line}: binary data (byte {byte}), not a text .cube file "
        "(a .cube file is UTF-8 or ASCII text; re-export it or re-save it as UTF-8)"
    )


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.cube"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match=r"empty\.cube: empty file"):
        read_cube(empty)
    with pytest.raises(FormatError, match=r"nope\.cube: cannot read the file"):
        read_cube(tmp_path / "nope.cube")


def test_utf8_bom_and_non_ascii_title(tmp_path: Path) -> None:
    path = tmp_path / "bom.cube"
    path.write_bytes('\ufeffTITLE "Farbe — grün"\n'.encode() + "\n".join(SIZE2 + ROWS2).encode())
    assert read_cube(path).title == "Farbe — grün"


def test_a_windows_1252_title_or_comment_is_read_as_such(tmp_path: Path) -> None:
    # Saved by a Windows tool: the title is not UTF-8, the table is ASCII. OpenColorIO
    # and ffmpeg read such files; a stray byte in the table is still refused.
    path = tmp_path / "cafe.cube"
    body = "\n".join(SIZE2 + ROWS2).encode()
    path.write_bytes(b'TITLE "Caf\xe9 \x93look\x94"\n# by Ren\xe9\n' + body)
    assert read_cube(path).title == "Café “look”"
    table = tmp_path / "table.cube"
    table.write_bytes(b'TITLE "x"\n' + body.replace(b"1 1 1", b"1 1 \xe9", 1))
    with pytest.raises(FormatError, match="binary data"):
        read_cube(table)


def test_bad_row_found_in_a_large_file() -> None:
    size = 33
    rows = ["0.5 0.5 0.5"] * size**3
    rows[20000] = "0.5 0.5"
    error = lines_error([f"LUT_3D_SIZE {size}", "# header comment", *rows])
    assert error.line == 20003
    assert error.message == "expected 3 values per row, found 2"


def test_writer_rejects_non_luts(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_cube(np.zeros((2, 2, 2, 3)), tmp_path / "x.cube")  # type: ignore[arg-type]


def test_whole_file_fast_path_reads_what_the_stream_reads(tmp_path, monkeypatch):
    """A plain file takes the fast path; CRLF, comments in the table or a damaged row
    take the line-by-line stream; both give the same LUT, and errors keep their line."""
    from lutkit.luts import cube as cube_mod

    rng = np.random.default_rng(5)
    lut = LUT3D(rng.random((5, 5, 5, 3), dtype=np.float32), title="t")
    plain = tmp_path / "plain.cube"
    write_cube(lut, plain)
    text = plain.read_text()
    variants = {
        "plain": text,
        "crlf": text.replace("\n", "\r\n"),
        "comment": text.replace("\n0", "\n# a note\n0", 1) + "# the end\n",
        "domain": text.replace("LUT_3D_SIZE", "DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\nLUT_3D_SIZE"),
    }
    calls = []
    monkeypatch.setattr(
        cube_mod, "_read_whole", lambda p, f=cube_mod._read_whole: calls.append(f(p)) or calls[-1]
    )
    for name, body in variants.items():
        path = tmp_path / f"{name}.cube"
        path.write_bytes(body.encode())
        got = read_cube(path)
        want = read_cube(body.splitlines())  # lines: always the stream path
        assert np.array_equal(got.table, want.table) and got.title == want.title, name
        assert np.array_equal(got.domain, want.domain), name
    assert [c is not None for c in calls] == [True, False, False, True]  # which path ran

    bad = tmp_path / "bad.cube"
    lines = text.splitlines()
    lines[7] = "0.5 0.5"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match="expected 3 values per row, found 2") as err:
        read_cube(bad)
    assert err.value.line == 8
