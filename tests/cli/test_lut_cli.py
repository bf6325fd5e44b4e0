from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.images import load_image, save_image
from lutkit.luts.cube import write_cube
from lutkit.luts.formats import read_lut
from lutkit.luts.hald import hald_identity


@pytest.fixture()
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_help_is_fast_and_lists_commands(run):
    result = run("--help")
    assert result.exit_code == 0 and "lut" in result.output


def test_identity_hald_is_imagemagick_layout(run, tmp_path):
    assert run("lut", "identity", "--hald", "4", "-o", "id.png", "--bit-depth", "8").exit_code == 0
    assert np.array_equal(load_image(tmp_path / "id.png").pixels, hald_identity(4, np.uint8))


def test_identity_cube_and_info(run):
    assert run("lut", "identity", "--size", "9", "-o", "id.cube").exit_code == 0
    result = run("lut", "info", "id.cube", "--json")
    facts = json.loads(result.output)
    assert facts["kind"] == "3D" and facts["size"] == 9 and facts["is_identity"]


def test_identity_needs_exactly_one_kind(run):
    result = run("lut", "identity", "-o", "x.cube")
    assert result.exit_code == 2 and "give exactly one of --hald LEVEL or --size N" in result.output


def test_gimp_workflow_import_and_apply(run, tmp_path, photo, graded_lut):
    # The README's workflow, with lutkit standing in for the GIMP edit.
    assert run("lut", "identity", "--hald", "8", "-o", "identity.png").exit_code == 0
    hald = load_image(tmp_path / "identity.png", convert_icc=False).pixels
    save_image(tmp_path / "edited.png", graded_lut.apply(hald))
    save_image(tmp_path / "photo.png", photo)
    assert run("lut", "import", "edited.png", "-o", "look.cube").exit_code == 0
    result = run("lut", "apply", "look.cube", "photo.png", "-o", "graded.png")
    assert result.exit_code == 0, result.output
    graded = load_image(tmp_path / "graded.png").pixels
    direct = graded_lut.apply(photo)
    diff = np.abs(graded.astype(int) - direct.astype(int))
    assert diff.mean() < 0.5 and diff.max() <= 2


def test_apply_folder_keeps_depth_and_names(run, tmp_path, photo, photo16, graded_lut):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    save_image(tmp_path / "in" / "a.png", photo)
    save_image(tmp_path / "in" / "sub" / "b.png", photo16)
    save_image(tmp_path / "in" / "c.jpg", photo)
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run("lut", "apply", "g.cube", "in", "-o", "out", "--strength", "0.5")
    assert result.exit_code == 0, result.output
    b = load_image(tmp_path / "out" / "sub" / "b.png")
    assert b.bit_depth == 16
    assert np.array_equal(b.pixels, graded_lut.apply(photo16, strength=0.5))
    assert (tmp_path / "out" / "a.png").is_file() and (tmp_path / "out" / "c.jpg").is_file()


def test_apply_keeps_each_tiffs_compression_unless_told(run, tmp_path, photo, photo16, graded_lut):
    from PIL import Image

    (tmp_path / "in").mkdir()
    small, small16 = photo[:64, :80], photo16[:64, :80]
    save_image(tmp_path / "in" / "raw.tif", small, compression="raw")
    save_image(tmp_path / "in" / "lzw.tif", small, compression="tiff_lzw")
    save_image(tmp_path / "in" / "raw16.tif", small16, compression="raw")
    save_image(tmp_path / "in" / "png.png", small)
    write_cube(graded_lut, tmp_path / "g.cube")

    def compression(path) -> str:
        with Image.open(path) as im:
            return im.info.get("compression")

    assert run("lut", "apply", "g.cube", "in", "-o", "out").exit_code == 0
    assert compression(tmp_path / "out" / "raw.tif") == "raw"
    assert compression(tmp_path / "out" / "lzw.tif") == "tiff_lzw"
    assert compression(tmp_path / "out" / "raw16.tif") == "raw"
    out16 = load_image(tmp_path / "out" / "raw16.tif")
    assert out16.bit_depth == 16 and np.array_equal(out16.pixels, graded_lut.apply(small16))
    assert np.array_equal(load_image(tmp_path / "out" / "raw.tif").pixels, graded_lut.apply(small))
    # a PNG made into a TIFF gets the default (deflate); --compression chooses for all
    assert run("lut", "apply", "g.cube", "in/png.png", "-o", "png.tif").exit_code == 0
    assert compression(tmp_path / "png.tif") == "tiff_adobe_deflate"  # Pillow: code 8
    result = run("lut", "apply", "g.cube", "in", "-o", "lzw", "--compression", "lzw")
    assert result.exit_code == 0, result.output
    for name in ("raw.tif", "lzw.tif", "raw16.tif"):
        assert compression(tmp_path / "lzw" / name) == "tiff_lzw", name


def test_convert_cube_to_hald_and_back(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    assert run("lut", "convert", "g.cube", "g.png", "--level", "8").exit_code == 0
    assert run("lut", "convert", "g.png", "g2.cube", "--size", "33").exit_code == 0
    back = read_lut(tmp_path / "g2.cube")
    assert np.abs(back.table - graded_lut.table).max() < 2e-3


def test_plot_writes_png(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    assert run("lut", "plot", "g.cube", "-o", "g.png").exit_code == 0
    assert load_image(tmp_path / "g.png").pixels.shape[2] == 3


def test_library_import_and_list(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run(
        "lut",
        "import",
        "g.cube",
        "--library",
        "lib",
        "--name",
        "warm-grade",
        "--tags",
        "colourist,warm",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lib" / "warm-grade.cube").is_file()
    listed = run("lut", "list", "--library", "lib", "--tag", "warm")
    assert "warm-grade" in listed.output
    again = run("lut", "import", "g.cube", "--library", "lib", "--name", "warm-grade")
    assert again.exit_code == 1
    assert "the library already has a LUT named 'warm-grade'" in again.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("LUT_3D_SIZE 2\n0 0 0\n", "Error: bad.cube:"),
        ('TITLE "x"\n', "Error: bad.cube:"),
    ],
)
def test_bad_cube_is_one_line_error_and_no_output(run, tmp_path, photo, content, message):
    (tmp_path / "bad.cube").write_text(content)
    save_image(tmp_path / "p.png", photo)
    result = run("lut", "apply", "bad.cube", "p.png", "-o", "out.png")
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.png").exists()


def test_truncated_image_is_one_line_error(run, tmp_path, photo, graded_lut):
    save_image(tmp_path / "p.png", photo)
    (tmp_path / "t.png").write_bytes((tmp_path / "p.png").read_bytes()[:5000])
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run("lut", "apply", "g.cube", "t.png", "-o", "out.png")
    assert result.exit_code == 1
    assert result.output.startswith("Error: t.png: cannot decode image")
    assert not (tmp_path / "out.png").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_output_must_not_overwrite_input(run, tmp_path, photo, graded_lut):
    save_image(tmp_path / "p.png", photo)
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run("lut", "apply", "g.cube", "p.png", "-o", "p.png")
    assert result.exit_code == 1 and "output would overwrite an input" in result.output


def test_demo_runs(run, tmp_path):
    result = run("demo", "--out", "d")
    assert result.exit_code == 0, result.output
    assert "max 1 level(s)" in result.output or "max 0 level(s)" in result.output
    for name in ("identity.png", "golden-hour.cube", "before-after.png", "golden-hour-plot.png"):
        assert (tmp_path / "d" / name).is_file()
