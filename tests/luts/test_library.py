"""The committed LUT library (``luts/``), the ``Library`` API and the GIMP re-author.

The library's .cube files are made by GIMP 2.10 from the Script-Fu files in
``luts/gimp/`` (``make luts``). These tests check that what is committed is complete
and readable, and, where GIMP is installed, that re-authoring reproduces it.
Measured (GIMP 2.10.34, all 28 LUTs): the re-authored .cube files are identical to the
committed ones (max abs diff 0); the test allows 1/255 for other GIMP 2.10 builds.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.errors import ConfigError, FormatError, LutkitError
from lutkit.luts.formats import read_lut
from lutkit.luts.gimp_build import build_gimp_library, find_scripts, parse_script
from lutkit.luts.library import Library
from lutkit.luts.model import LUT3D
from tests.external import require_tool

ROOT = Path(__file__).resolve().parents[2]
LUTS = ROOT / "luts"
SCRIPTS = LUTS / "gimp"
CUBES = sorted(p.name for p in LUTS.glob("*.cube"))
# Looks the library is promised to hold, each with a "-strong" variant.
FAMILIES = (
    "green-fluorescent",
    "sodium-orange",
    "blue-shade",
    "magenta-cast",
    "faded-print",
    "cross-process",
    "teal-orange",
    "under-exposure",
    "over-exposure",
    "desaturated",
)


def index() -> list[dict]:
    return tomllib.loads((LUTS / "index.toml").read_text(encoding="utf-8"))["lut"]


# ------------------------------------------------------------- the committed library


@pytest.mark.parametrize("name", CUBES)
def test_every_cube_parses_as_a_33_lut_in_range(name):
    lut = read_lut(LUTS / name)
    assert isinstance(lut, LUT3D) and lut.size == 33
    assert np.isfinite(lut.table).all()
    assert lut.table.min() >= 0.0 and lut.table.max() <= 1.0
    # Every look changes colours: no file is an identity by mistake.
    assert np.abs(lut.table - lut.lattice()).max() > 0.02


def test_index_lists_exactly_the_cube_files():
    files = [e["file"] for e in index()]
    assert len(files) == len(set(files))
    assert sorted(files) == CUBES
    assert len(CUBES) >= 24


def test_every_entry_has_tags_source_and_licence():
    for entry in index():
        assert entry.get("tags"), entry["name"]
        assert entry.get("source"), entry["name"]
        assert entry.get("licence"), entry["name"]
        assert entry["file"] == f"{entry['name']}.cube"


def test_every_script_has_an_entry_with_its_tags():
    lib = Library(LUTS)
    scripts = find_scripts(SCRIPTS)
    assert scripts
    for script in scripts:
        assert script.name in lib, script.path
        entry = lib.entries[script.name]
        assert entry.tags == script.tags
        assert entry.source == f"luts/gimp/{script.name}.scm"
        assert entry.licence == "CC0-1.0"
        assert entry.made.startswith("GIMP 2.10 batch: ") and "33^3" in entry.made
        assert entry.title == script.description


def test_the_promised_families_are_there_with_strong_variants():
    lib = Library(LUTS)
    for family in FAMILIES:
        assert family in lib and f"{family}-strong" in lib
        assert "strong" in lib.entries[f"{family}-strong"].tags
    assert set(lib.names("lighting")) >= {"green-fluorescent", "sodium-orange", "blue-shade"}


def test_strong_variants_move_colours_further():
    lib = Library(LUTS)
    for family in FAMILIES:
        mild, strong = lib.load(family), lib.load(f"{family}-strong")
        ident = mild.lattice()
        assert np.abs(strong.table - ident).mean() > np.abs(mild.table - ident).mean(), family


# ------------------------------------------------------------------- script parsing


def write_script(folder: Path, name: str, header: str) -> Path:
    path = folder / f"{name}.scm"
    path.write_text(
        f"{header}(define (lutkit-{name} hald-in hald-out)\n"
        "  (lutkit-hald-look hald-in hald-out\n"
        "    (lambda (layer) (gimp-drawable-desaturate layer DESATURATE-LUMA))))\n",
        encoding="utf-8",
    )
    return path


def test_parse_script_reads_headers_and_tools(tmp_path):
    path = write_script(tmp_path, "grey", ";; description: All grey\n;; tags: b, a, b\n")
    script = parse_script(path)
    assert script.procedure == "lutkit-grey"
    assert script.description == "All grey"
    assert script.tags == ["a", "b"]
    assert script.tools == ["desaturate"]


def test_parse_script_without_tags_names_the_file(tmp_path):
    path = write_script(tmp_path, "grey", ";; description: All grey\n")
    with pytest.raises(FormatError) as err:
        parse_script(path)
    assert str(err.value) == (
        f"{path}: no ';; tags:' header comment "
        "(add a line like ';; tags: lighting, green' at the top)"
    )


def test_parse_script_needs_the_procedure_named_after_the_file(tmp_path):
    path = write_script(tmp_path, "grey", ";; description: x\n;; tags: a\n")
    moved = path.rename(tmp_path / "gray.scm")
    with pytest.raises(FormatError, match=r"does not define the procedure \(lutkit-gray "):
        parse_script(moved)


def test_find_scripts_skips_helpers_and_refuses_unknown_names(tmp_path):
    write_script(tmp_path, "grey", ";; description: x\n;; tags: a\n")
    (tmp_path / "_helpers.scm").write_text("(define x 1)\n", encoding="utf-8")
    assert [s.name for s in find_scripts(tmp_path)] == ["grey"]
    with pytest.raises(ConfigError, match="no script for 'gray'.*choose from grey"):
        find_scripts(tmp_path, ["gray"])


def test_build_without_gimp_says_what_to_do(tmp_path):
    with pytest.raises(LutkitError) as err:
        build_gimp_library(SCRIPTS, tmp_path / "lib", gimp="no-such-gimp-console-2.10")
    assert "no-such-gimp-console-2.10 is not on PATH" in str(err.value)
    assert "install GIMP 2.10" in str(err.value) and "committed .cube files" in str(err.value)
    assert not (tmp_path / "lib").exists()


def test_cli_build_gimp_without_gimp_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    result = CliRunner().invoke(
        main, ["lut", "build-gimp", "--scripts", str(SCRIPTS), "--library", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert result.output.startswith("Error: gimp-console-2.10 is not on PATH (install GIMP")


# ------------------------------------------------------------------ GIMP re-author


@pytest.mark.external
def test_reauthoring_with_gimp_gives_the_committed_luts(tmp_path):
    require_tool("gimp-console-2.10")
    # One colour-balance + curves look, and one that blends a colourised layer copy.
    names = ["green-fluorescent-strong", "sepia-print"]
    assert build_gimp_library(SCRIPTS, tmp_path, names=names) == names
    fresh, committed = Library(tmp_path), Library(LUTS)
    assert fresh.names() == names
    for name in names:
        new, old = fresh.load(name), committed.load(name)
        assert np.abs(new.table - old.table).max() <= 1 / 255, name
        for key in ("tags", "licence", "made", "title"):
            assert getattr(fresh.entries[name], key) == getattr(committed.entries[name], key)


def test_a_scripts_folder_without_the_shared_helper_gets_lutkits(tmp_path):
    # A folder of one's own looks failed in GIMP with "unbound variable:
    # lutkit-hald-look"; a folder's own _hald.scm still wins.
    from lutkit.luts.gimp_build import script_helpers

    (tmp_path / "_mine.scm").write_text("(define x 1)\n")
    assert script_helpers(tmp_path) == [SCRIPTS / "_hald.scm", tmp_path / "_mine.scm"]
    (tmp_path / "_hald.scm").write_text("(define x 2)\n")
    assert script_helpers(tmp_path) == [tmp_path / "_hald.scm", tmp_path / "_mine.scm"]


@pytest.mark.external
def test_a_look_of_ones_own_builds_without_a_copy_of_the_helper(tmp_path):
    require_tool("gimp-console-2.10")
    scripts = tmp_path / "gimp"
    scripts.mkdir()
    shutil.copy(SCRIPTS / "desaturated.scm", scripts / "desaturated.scm")
    assert build_gimp_library(scripts, tmp_path / "lib") == ["desaturated"]
    new, old = Library(tmp_path / "lib").load("desaturated"), Library(LUTS).load("desaturated")
    assert np.abs(new.table - old.table).max() <= 1 / 255


@pytest.mark.external
def test_a_failing_script_names_itself_and_changes_nothing(tmp_path):
    require_tool("gimp-console-2.10")
    scripts = tmp_path / "gimp"
    scripts.mkdir()
    for name in ("_hald.scm", "desaturated.scm"):
        shutil.copy(SCRIPTS / name, scripts / name)
    broken = scripts / "broken.scm"
    broken.write_text(
        ";; description: x\n;; tags: t\n(define (lutkit-broken hald-in hald-out)\n"
        "  (lutkit-hald-look hald-in hald-out (lambda (layer) (gimp-drawable-levels layer))))\n",
        encoding="utf-8",
    )
    with pytest.raises(LutkitError) as err:
        build_gimp_library(scripts, tmp_path / "lib")
    message = str(err.value)
    assert message.startswith(f"{broken}: GIMP did not produce broken ")
    assert "Invalid number of arguments for gimp-drawable-levels" in message
    assert not (tmp_path / "lib").exists()


# ------------------------------------------------------------------------- Library


def test_library_add_load_and_names_by_tag(tmp_path):
    lib = Library(tmp_path / "lib")
    warm = LUT3D.from_function(lambda rgb: rgb * [1.0, 0.95, 0.85], size=5)
    path = lib.add("warm", warm, tags=["warm", "colourist"], source="test", licence="CC0-1.0")
    lib.add("cool", LUT3D.identity(5), tags=["cool", "colourist"])
    assert path == tmp_path / "lib" / "warm.cube"
    again = Library(tmp_path / "lib")  # read back from index.toml
    assert again.names() == ["cool", "warm"]
    assert again.names("colourist") == ["cool", "warm"]
    assert again.names("warm") == ["warm"]
    assert again.names("green") == []
    assert again.entries["warm"].tags == ["colourist", "warm"]
    np.testing.assert_allclose(again.load("warm").table, warm.table, atol=1e-7)
    # A library of one's own has no gimp/ scripts: its index does not point at them.
    head = (tmp_path / "lib" / "index.toml").read_text().splitlines()[:3]
    assert head == [
        "# The lutkit LUT library: one [[lut]] table per .cube file in this folder.",
        "# Maintained by `lutkit lut import --library`.",
        "",
    ]


def test_library_refuses_a_duplicate_name(tmp_path):
    lib = Library(tmp_path)
    lib.add("warm", LUT3D.identity(3))
    with pytest.raises(ConfigError) as err:
        lib.add("warm", LUT3D.identity(3))
    assert str(err.value) == (
        f"{tmp_path / 'index.toml'}: the library already has a LUT named 'warm' "
        "(choose another --name or pass --replace)"
    )
    lib.add("warm", LUT3D.identity(4), replace=True)
    assert Library(tmp_path).load("warm").size == 4


def test_library_refuses_a_file_outside_its_folder(tmp_path):
    (tmp_path / "index.toml").write_text(
        '[[lut]]\nname = "evil"\nfile = "../evil.cube"\n', encoding="utf-8"
    )
    with pytest.raises(FormatError) as err:
        Library(tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'index.toml'}: entry 'evil': file '../evil.cube' must stay inside the library"
    )


def test_a_tag_no_lut_has_is_an_error_naming_the_tags(tmp_path):
    lib = Library(tmp_path)
    lib.add("warm", LUT3D.identity(3), tags=["warm", "colourist"])
    lib.add("cool", LUT3D.identity(3), tags=["cool"])
    lib.check_tag("colourist")  # a tag some LUT has: no error
    with pytest.raises(ConfigError) as err:
        lib.check_tag("colorist")
    assert str(err.value) == (
        f"{tmp_path / 'index.toml'}: no LUT is tagged 'colorist' "
        "(did you mean 'colourist'? the tags are: colourist, cool, warm)"
    )
    with pytest.raises(ConfigError) as err:
        Library(tmp_path / "empty").check_tag("warm")
    assert str(err.value) == (
        f"{tmp_path / 'empty'}: no LUT is tagged 'warm': the library has no LUTs "
        "(add some with `lutkit lut import`)"
    )
    Library(tmp_path / "untagged").add("plain", LUT3D.identity(3))
    with pytest.raises(ConfigError) as err:
        Library(tmp_path / "untagged").check_tag("warm")
    assert str(err.value) == (
        f"{tmp_path / 'untagged' / 'index.toml'}: no LUT is tagged 'warm' (the library has no tags)"
    )


def test_imports_side_by_side_keep_every_entry(tmp_path):
    # each import read the index, added its LUT and renamed the index into place: the
    # last writer won, and the others' .cube files were left out of it
    import subprocess
    import sys

    write_code = (
        "import sys\n"
        "from lutkit.luts.library import Library\n"
        "from lutkit.luts.model import LUT3D\n"
        "Library(sys.argv[1]).add(sys.argv[2], LUT3D.identity(9), tags=['t'])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", write_code, str(tmp_path), f"n{i}"])
        for i in range(6)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0] * 6
    assert Library(tmp_path).names() == [f"n{i}" for i in range(6)]
    # a Library read before the others wrote keeps their entries when it adds its own
    stale = Library(tmp_path / "other")
    Library(tmp_path / "other").add("first", LUT3D.identity(3))
    stale.add("second", LUT3D.identity(3))
    assert Library(tmp_path / "other").names() == ["first", "second"]
