from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.images import load_image, save_image
from lutkit.luts.cube import write_cube
from lutkit.luts.formats import read_lut
from lutkit.luts.hald import hald_identity
from lutkit.luts.library import Library


@pytest.fixture()
def run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_help_lists_every_command(run):
    from lutkit.cli import _COMMANDS

    result = run("--help")
    assert result.exit_code == 0
    # One command per line, indented two spaces (wrapped descriptions are indented more).
    names = re.findall(r"^  (\S+)", result.output.split("Commands:")[1], flags=re.M)
    assert set(_COMMANDS) <= set(names), sorted(set(_COMMANDS) - set(names))
    for name in names:  # each listed command loads (lazily) and answers --help
        sub = run(name, "--help")
        assert sub.exit_code == 0 and sub.output.startswith(f"Usage: main {name} "), name


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


def test_one_image_to_a_name_without_extension_says_the_file_in_that_folder(run, tmp_path, photo):
    # -o without an extension is a folder; the summary names the file made in it
    save_image(tmp_path / "photo.png", photo[:32, :32])
    result = run("lut", "apply", "sodium-orange", "photo.png", "-o", "graded")
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 1 image(s) to {Path('graded', 'photo.png')}\n"
    assert (tmp_path / "graded" / "photo.png").is_file()
    result = run("lut", "apply", "sodium-orange", "photo.png", "-o", "one.png")
    assert result.output == "wrote 1 image(s) to one.png\n"


def test_a_batch_with_a_file_that_is_no_image_stops_before_writing(run, tmp_path, photo):
    (tmp_path / "in").mkdir()
    save_image(tmp_path / "in" / "a.png", photo[:32, :32])
    (tmp_path / "in" / "b.jpg").write_text("not a photo")
    save_image(tmp_path / "in" / "c.png", photo[:32, :32])
    result = run("lut", "apply", "sodium-orange", "in", "-o", "out")
    assert result.exit_code == 1
    assert result.output == (
        "Error: in/b.jpg: not an image lutkit can read: named .jpg, but its bytes are no JPEG "
        "(nor another format lutkit reads) (export it again from the original)\n"
    )
    assert not (tmp_path / "out").exists()


def test_apply_into_a_folder_inside_the_input_leaves_its_outputs_alone(run, tmp_path, photo):
    (tmp_path / "in").mkdir()
    save_image(tmp_path / "in" / "a.png", photo[:32, :32])
    for _ in range(2):  # the rerun does not grade the first run's output again
        result = run("lut", "apply", "sodium-orange", "in", "-o", "in/graded")
        assert result.exit_code == 0, result.output
        assert result.output.startswith("wrote 1 image(s)")
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.png"))
    assert files == ["in/a.png", "in/graded/a.png"]
    # An output that is the input folder itself, or a folder above it, skips nothing:
    # into the same folder is refused as before, into the folder above writes in/a.png.
    result = run("lut", "apply", "sodium-orange", "in", "-o", "in")
    assert result.exit_code == 1 and "output would overwrite an input" in result.output
    (tmp_path / "up").mkdir()
    save_image(tmp_path / "up" / "b.png", photo[:32, :32])
    result = run("lut", "apply", "sodium-orange", "up", "-o", ".")
    assert result.exit_code == 0 and result.output.startswith("wrote 1 image(s)"), result.output
    assert (tmp_path / "b.png").is_file()


def test_a_folder_of_inputs_skips_the_compare_sheets_beside_their_photos(tmp_path, photo):
    """``fix --compare`` writes STEM-compare.jpg (or NAME-compare.jpg) beside each
    output: a later run on that folder (fix, lut apply, dataset build) takes the
    photos, not the sheets. A file of that
    name with no photo beside it is a photo like any other."""
    from lutkit.luts.files import expand_images

    names = ["a.png", "a-compare.jpg", "b.jpg", "b.jpg-compare.jpg", "c-compare.jpg"]
    names += ["sub/a-compare.jpg"]
    for k, name in enumerate(names):  # each its own pixels: no duplicates
        (tmp_path / name).parent.mkdir(exist_ok=True)
        save_image(tmp_path / name, photo[k : k + 8, :8])
    from lutkit.errors import LutkitWarning

    with pytest.warns(LutkitWarning) as said:  # the user is told what was left out
        found = [str(p.relative_to(tmp_path)) for p in expand_images([tmp_path])]
    assert found == ["a.png", "b.jpg", "c-compare.jpg", "sub/a-compare.jpg"]
    assert [str(w.message) for w in said] == [
        f"{tmp_path}: left out 2 before/after sheet(s) that `fix --compare` writes "
        "(NAME-compare.jpg beside NAME, e.g. a-compare.jpg); rename a photo so named to "
        "include it"
    ]
    # Given by name, a file is taken as it is.
    assert expand_images([tmp_path / "a-compare.jpg"]) == [tmp_path / "a-compare.jpg"]
    # A dataset's photos are found the same way: a sheet is no training photo.
    from lutkit.data.sources import discover

    with pytest.warns(LutkitWarning, match="left out 2 before/after sheet"):
        photos, rejected = discover(str(tmp_path))
    assert sorted(s.name for s in photos) == found and not rejected


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


def test_convert_to_hald_says_in_one_line_that_it_clips(run, tmp_path):
    # A Hald image holds [0, 1] only: the clip is a `warning:` line, not a Python warning.
    from lutkit.luts.model import LUT3D

    write_cube(LUT3D.from_function(lambda x: x * 1.5 - 0.25, 5), tmp_path / "wide.cube")
    result = run("lut", "convert", "wide.cube", "wide.png", "--level", "4")
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "warning: wide.png: Hald output clipped to [0, 1] (LUT range -0.25..1.25; "
        "a Hald image holds only that range)\n"
    )
    assert load_image(tmp_path / "wide.png").pixels.max() == 65535  # 16-bit by default


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["c.cube", "--bit-depth", "8"], "--bit-depth does not apply to a .cube"),
        (["c.spi3d", "--flavour", "discreet"], "--flavour does not apply to a .spi3d"),
        (["c.cube", "--level", "4"], "--level does not apply to a .cube"),
        (["c.png", "--size", "20"], "--size 20 is no Hald lattice (a level squared"),
        (["c.png", "--size", "64", "--level", "4"], "--size 64 is Hald level 8, not --level 4"),
    ],
)
def test_convert_refuses_options_the_format_has_no_use_for(
    run, tmp_path, graded_lut, args, message
):
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run("lut", "convert", "g.cube", *args)
    assert result.exit_code == 2 and f"Error: {message}" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.cube"]


def test_convert_to_hald_takes_a_size_that_is_a_level(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    assert run("lut", "convert", "g.cube", "by-size.png", "--size", "64").exit_code == 0
    assert run("lut", "convert", "g.cube", "by-level.png", "--level", "8").exit_code == 0
    by_size, by_level = (load_image(tmp_path / f"by-{k}.png").pixels for k in ("size", "level"))
    assert by_size.shape == (512, 512, 3) and np.array_equal(by_size, by_level)


def test_a_batch_stopped_by_damage_inside_a_file_says_how_far_it_got(run, tmp_path, photo):
    # The header probe passes a file cut short after its header; its read stops the batch.
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("1.png", "2.png", "3.png"):
        save_image(folder / name, photo)
    whole = (folder / "2.png").read_bytes()
    (folder / "2.png").write_bytes(whole[: len(whole) // 2])
    result = run("lut", "apply", "sodium-orange", "scans", "-o", "out")
    assert result.exit_code == 1
    assert result.output.startswith("Error: scans/2.png: cannot decode image")
    assert result.output.endswith(
        "; 1 of 3 images were written before it, none after (export it again from the original)\n"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["1.png"]


def test_two_inputs_for_one_output_name_both(run, tmp_path, photo):
    for roll in ("rollA", "rollB"):
        (tmp_path / roll).mkdir()
        save_image(tmp_path / roll / "scan001.png", photo)
    result = run("lut", "apply", "sodium-orange", "rollA", "rollB", "-o", "both")
    assert result.exit_code == 1
    assert result.output == (
        "Error: both: rollA/scan001.png and rollB/scan001.png would both be written as "
        "both/scan001.png (give the folder that holds both, so that each keeps its path "
        "under -o, or run each apart with its own -o)\n"
    )
    assert not (tmp_path / "both").exists()


def test_plot_writes_png(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    assert run("lut", "plot", "g.cube", "-o", "g.png").exit_code == 0
    assert load_image(tmp_path / "g.png").pixels.shape[2] == 3


def test_plot_refuses_a_format_matplotlib_cannot_write(run, tmp_path, graded_lut):
    write_cube(graded_lut, tmp_path / "g.cube")
    result = run("lut", "plot", "g.cube", "-o", "g.txt")
    assert result.exit_code == 1
    assert result.output.startswith("Error: g.txt: cannot plot to a .txt file (name the output")
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.cube"]


def test_outputs_into_a_missing_folder_make_it(run, tmp_path, graded_lut):
    # every command that writes a file makes its missing folders, as lut apply and
    # fix do; a file in the way is refused before anything is written
    write_cube(graded_lut, tmp_path / "g.cube")
    for args, out in (
        (("lut", "plot", "g.cube", "-o", "a/b/g.png"), "a/b/g.png"),
        (("lut", "convert", "g.cube", "c/g.3dl"), "c/g.3dl"),
        (("lut", "import", "g.cube", "-o", "d/g.cube"), "d/g.cube"),
        (("lut", "identity", "--size", "3", "-o", "e/i.cube"), "e/i.cube"),
        (("lut", "identity", "--hald", "2", "-o", "f/i.png"), "f/i.png"),
    ):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert (tmp_path / out).is_file()
    (tmp_path / "afile").write_text("")
    for args in (
        ("lut", "plot", "g.cube", "-o", "afile/g.png"),
        ("lut", "convert", "g.cube", "afile/g.3dl"),
    ):
        result = run(*args)
        assert result.exit_code == 1
        assert result.output == (
            f"Error: {args[-1]}: cannot write here: {tmp_path / 'afile'} is not a folder "
            "(choose another output path)\n"
        )
    # bad input, or a name the writer refuses, leaves no folder behind
    result = run("lut", "plot", "nope.cube", "-o", "never/g.png")
    assert result.exit_code == 1 and not (tmp_path / "never").exists()
    for args in (
        ("lut", "convert", "g.cube", "n1/deeper/g.xyz"),
        ("lut", "identity", "--size", "3", "-o", "n2/i.xyz"),
        ("lut", "plot", "g.cube", "-o", "n3/g.xyz"),
        ("lut", "convert", "g.cube", "n4/g"),
    ):
        result = run(*args)
        assert result.exit_code == 1, result.output
        assert not (tmp_path / args[-1].split("/")[0]).exists(), args
    result = run("lut", "plot", "g.cube", "-o", "g.png", "--library", "nolib")
    assert result.exit_code == 2 and "nolib" in result.output and "does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1


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
        "colourist, warm",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lib" / "warm-grade.cube").is_file()
    listed = run("lut", "list", "--library", "lib", "--tag", "warm")
    assert "warm-grade" in listed.output
    assert Library(tmp_path / "lib").entries["warm-grade"].tags == ["colourist", "warm"]
    # Tags are lower case, as names are: a recipe's tags and --tag match them exactly.
    upper = run("lut", "import", "g.cube", "--library", "lib", "--name", "up", "--tags", "Warm")
    assert upper.exit_code == 1
    assert (
        upper.output
        == "Error: invalid tag 'Warm': tags are lower case, as names are (use 'warm')\n"
    )
    assert "up" not in Library(tmp_path / "lib")
    again = run("lut", "import", "g.cube", "--library", "lib", "--name", "warm-grade")
    assert again.exit_code == 1
    assert "the library already has a LUT named 'warm-grade'" in again.output
    # With -o as well, the name is refused before the -o file is written.
    both = run(
        "lut", "import", "g.cube", "--library", "lib", "--name", "warm-grade", "-o", "x.cube"
    )
    assert both.exit_code == 1
    assert "the library already has a LUT named 'warm-grade'" in both.output
    assert not (tmp_path / "x.cube").exists()
    bad = run("lut", "import", "g.cube", "--library", "lib", "--name", "Bad Name", "-o", "x.cube")
    assert bad.exit_code == 1 and "invalid LUT name 'Bad Name'" in bad.output
    assert not (tmp_path / "x.cube").exists()
    # An empty --name is a bad name too (it fell back to the file's name, g).
    empty = run("lut", "import", "g.cube", "--library", "lib", "--name", "", "-o", "x.cube")
    assert empty.exit_code == 1 and "invalid LUT name ''" in empty.output
    assert not (tmp_path / "x.cube").exists() and "g" not in Library(tmp_path / "lib")
    alone = run("lut", "import", "g.cube", "--name", "", "-o", "x.cube")  # no library
    assert alone.exit_code == 1 and "invalid LUT name ''" in alone.output
    assert not (tmp_path / "x.cube").exists()
    # A LUT whose file was deleted is listed as missing (it was listed as if there).
    (tmp_path / "lib" / "warm-grade.cube").unlink()
    listed = run("lut", "list", "--library", "lib")
    assert listed.exit_code == 0
    assert "warm-grade  colourist, warm  (missing: warm-grade.cube)\n" in listed.output
    assert (
        "warning: lib/index.toml: 1 LUT(s) listed without their file "
        "(warm-grade): import them again"
    ) in listed.output


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


ADOBE_RGB = Path(__file__).parents[1] / "resources" / "icc" / "compatibleWithAdobeRGB1998.icc"


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("depth", [8, 16])
def test_identity_cube_keeps_adobe_rgb_pixels_and_profile(
    run, tmp_path, photo, photo16, depth, ext
):
    # A 1 MP Adobe RGB photo through an identity .cube: the LUT acts on the file's own
    # encoding, so the pixels and the profile come back unchanged (a 16-bit TIFF too,
    # which OpenCV cannot tag: lutkit writes that one with tifffile).
    import cv2

    icc = ADOBE_RGB.read_bytes()
    pixels = cv2.resize(photo if depth == 8 else photo16, (1024, 1024))
    save_image(tmp_path / f"adobe{ext}", pixels, icc=icc)
    assert run("lut", "identity", "--size", "33", "-o", "id.cube").exit_code == 0
    assert run("lut", "apply", "id.cube", f"adobe{ext}", "-o", f"out{ext}").exit_code == 0
    out = load_image(tmp_path / f"out{ext}", convert_icc=False)
    assert out.bit_depth == depth
    assert np.array_equal(out.pixels, pixels)
    assert out.icc == icc


def test_to_srgb_converts_through_the_profile_first(run, tmp_path, photo):
    from PIL import Image, ImageCms

    icc = ADOBE_RGB.read_bytes()
    save_image(tmp_path / "adobe.png", photo, icc=icc)
    assert run("lut", "identity", "--size", "33", "-o", "id.cube").exit_code == 0
    result = run("lut", "apply", "id.cube", "adobe.png", "-o", "out.png", "--to-srgb")
    assert result.exit_code == 0
    out = load_image(tmp_path / "out.png", convert_icc=False)
    expected = ImageCms.profileToProfile(
        Image.fromarray(photo),
        ImageCms.ImageCmsProfile(str(ADOBE_RGB)),
        ImageCms.createProfile("sRGB"),
        renderingIntent=ImageCms.Intent.PERCEPTUAL,
    )
    assert out.icc is None and np.array_equal(out.pixels, np.asarray(expected))


def test_every_command_says_what_it_does_with_a_profile(run):
    for args in (("lut", "apply"), ("distort",), ("fix",), ("dataset", "build")):
        text = " ".join(run(*args, "--help").output.split())
        assert "profile" in text, args
    for args in (("lut", "apply"), ("distort",), ("fix",)):
        assert "--to-srgb" in run(*args, "--help").output, args


def test_identity_writes_what_it_says_or_refuses(run, tmp_path):
    result = run("lut", "identity", "--size", "33", "-o", "z.png")
    assert result.exit_code == 1 and not (tmp_path / "z.png").exists()
    assert result.output.startswith("Error: z.png: a Hald image holds a LEVEL^2 lattice")
    assert len(result.output.splitlines()) == 1
    result = run("lut", "identity", "--size", "36", "-o", "h.png", "--bit-depth", "16")
    assert result.exit_code == 0
    assert result.output == "wrote h.png: identity Hald level 6 (216x216 px, 36^3 LUT, 16-bit)\n"
    hald = load_image(tmp_path / "h.png", convert_icc=False).pixels
    assert np.array_equal(hald, hald_identity(6, np.uint16))


def test_several_images_and_a_file_name_is_an_error(run, tmp_path, photo):
    save_image(tmp_path / "a.png", photo[:32, :32])
    save_image(tmp_path / "b.png", photo[32:64, :32])
    assert run("lut", "identity", "--size", "5", "-o", "id.cube").exit_code == 0
    result = run("lut", "apply", "id.cube", "a.png", "b.png", "-o", "one.jpg")
    assert result.exit_code == 1 and not (tmp_path / "one.jpg").exists()
    assert result.output == (
        "Error: one.jpg: 2 images need an output folder, not an image file name "
        "(give -o a folder, e.g. graded/)\n"
    )


def test_library_names_work_wherever_a_lut_path_does(run, tmp_path, photo):
    from lutkit.luts.library import Library, default_library

    library = Library(default_library())
    expected = library.load("sodium-orange")
    save_image(tmp_path / "p.png", photo[:32, :32])
    assert run("lut", "apply", "sodium-orange", "p.png", "-o", "s.png").exit_code == 0
    graded = load_image(tmp_path / "s.png").pixels
    assert np.array_equal(graded, expected.apply(photo[:32, :32]))
    info = json.loads(run("lut", "info", "sodium-orange", "--json").output)
    assert info["file"] == str(library.path_of("sodium-orange"))
    assert run("lut", "plot", "sodium-orange", "-o", "plot.png").exit_code == 0
    assert run("lut", "convert", "sodium-orange", "s.cube", "--size", "9").exit_code == 0
    assert run("lut", "import", "sodium-orange", "-o", "i.cube").exit_code == 0
    # A file of that name wins over the library (here, one lutkit cannot read).
    (tmp_path / "sodium-orange").write_text("not a LUT\n")
    result = run("lut", "info", "sodium-orange")
    assert result.exit_code == 1
    assert result.output.startswith("Error: sodium-orange: unknown LUT file extension")
    result = run("lut", "apply", "no-such-look", "p.png", "-o", "x.png")
    assert result.exit_code == 1 and result.output == (
        "Error: no-such-look: no such LUT file, and no LUT of that name in the library "
        "(see `lutkit lut list` for the library's names; --library DIR for your own)\n"
    )
    # A LUT imported into a library of one's own is found by name with --library.
    source = str(library.path_of("sodium-orange"))
    result = run("lut", "import", source, "--library", "mine", "--name", "my-look")
    assert result.exit_code == 0, result.output
    for args in (
        ["apply", "my-look", "p.png", "-o", "m.png"],
        ["info", "my-look"],
        ["plot", "my-look", "-o", "m-plot.png"],
        ["convert", "my-look", "m.3dl"],
    ):
        assert run("lut", *args).exit_code == 1  # not in lutkit's own library
        result = run("lut", *args, "--library", "mine")
        assert result.exit_code == 0, (args, result.output)
    assert np.array_equal(load_image(tmp_path / "m.png").pixels, graded)
    # A name with an extension or a folder is meant as a file: said as such.
    result = run("lut", "import", "identity-edited.png", "-o", "x.cube")
    assert result.exit_code == 1 and result.output == (
        "Error: identity-edited.png: no such file (check the path; `lutkit lut list` names "
        "the library's LUTs)\n"
    )


def test_a_bad_value_is_one_line(run):
    # A path that does not exist: one line naming it, a usage error's exit status.
    result = run("lut", "apply", "sodium-orange", "holiday/", "-o", "graded/")
    assert result.exit_code == 2
    assert (
        result.output == "Error: Invalid value for 'IMAGES...': Path 'holiday/' does not exist.\n"
    )


@pytest.mark.parametrize("name", ["p.jpg", "p.png", "p.tif"])
def test_the_written_files_keep_the_inputs_dpi(run, tmp_path, photo, name):
    # A print-ready file (300 dpi) stays 300 dpi through lut apply, distort and fix's
    # shared writer (fix: tests/train/test_fix.py).
    from PIL import Image

    save_image(tmp_path / name, photo, dpi=(300.0, 300.0))
    assert run("lut", "identity", "--size", "17", "-o", "id.cube").exit_code == 0
    assert run("lut", "apply", "id.cube", name, "-o", f"out-{name}").exit_code == 0
    assert run("distort", name, "-o", f"d-{name}", "--recipe", "curves").exit_code == 0
    for out in (f"out-{name}", f"d-{name}"):
        with Image.open(tmp_path / out) as im:
            assert np.allclose(im.info.get("dpi", (0, 0)), (300, 300), atol=0.05), out


def test_list_with_a_tag_no_lut_has_is_a_one_line_error(run, tmp_path):
    assert run("lut", "identity", "--size", "3", "-o", "g.cube").exit_code == 0
    for name, tags in (("warm-grade", "colourist,warm"), ("sodium", "lighting,night")):
        result = run("lut", "import", "g.cube", "--library", "lib", "--name", name, "--tags", tags)
        assert result.exit_code == 0, result.output
    result = run("lut", "list", "--library", "lib", "--tag", "nosuch")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        f"Error: {Path('lib') / 'index.toml'}: no LUT is tagged 'nosuch' "
        "(the tags are: colourist, lighting, night, warm)\n"
    )
    result = run("lut", "list", "--library", "lib", "--tag", "nigth")
    assert result.exit_code == 1 and result.stderr == (
        f"Error: {Path('lib') / 'index.toml'}: no LUT is tagged 'nigth' "
        "(did you mean 'night'? the tags are: colourist, lighting, night, warm)\n"
    )
    result = run("lut", "list", "--library", "lib", "--tag", "night")
    assert result.exit_code == 0 and result.stdout == "sodium  lighting, night\n"
    # An empty library lists nothing, and says so, with exit 0.
    (tmp_path / "empty").mkdir()
    result = run("lut", "list", "--library", "empty")
    assert result.exit_code == 0 and result.stdout == "no LUTs in empty\n"
    # A library folder that does not exist is a typo too.
    result = run("lut", "list", "--library", "nolib")
    assert result.exit_code == 2 and "'nolib' does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_info_and_plot_read_the_library_once(run, monkeypatch):
    from lutkit.luts.library import Library

    loads: list[Path] = []
    load = Library._load

    def counted(self: Library) -> None:
        loads.append(self.index_path)
        load(self)

    monkeypatch.setattr(Library, "_load", counted)
    for args in (
        ["info", "sodium-orange"],
        ["info", "sodium-orange", "--json"],
        ["plot", "sodium-orange", "-o", "plot.png"],
    ):
        loads.clear()
        result = run("lut", *args)
        assert result.exit_code == 0, result.output
        assert len(loads) == 1, (args, loads)
    # A file given by path needs no library at all.
    assert run("lut", "identity", "--size", "5", "-o", "id.cube").exit_code == 0
    loads.clear()
    assert run("lut", "info", "id.cube").exit_code == 0 and loads == []


def _jpeg_with_metadata(path: Path, pixels: np.ndarray, comment: bytes) -> None:
    """A camera-like JPEG: a COM comment and EXIF with orientation 6 (rotated), the
    camera make, a date in the Exif sub-IFD and a GPS sub-IFD, written by Pillow."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "lutkit camera"
    exif.get_ifd(0x8769)[0x9003] = "2021:06:05 04:03:02"  # DateTimeOriginal
    exif.get_ifd(0x8825)[0x0002] = (51.0, 30.0, 0.0)  # GPSLatitude
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes(), comment=comment)


def _assert_metadata_kept(path: Path, comment: bytes | None, upright: tuple[int, int]) -> None:
    from PIL import Image

    with Image.open(path) as im:
        assert im.info.get("comment") == comment, path
        exif = im.getexif()
        assert exif.get(0x0112) == 1 and exif.get(0x010F) == "lutkit camera", path
        assert exif.get_ifd(0x8769).get(0x9003) == "2021:06:05 04:03:02", path
        assert exif.get_ifd(0x8825).get(0x0002) == (51.0, 30.0, 0.0), path
        assert im.size == upright, path  # the pixels were turned, orientation reset to 1


def test_apply_keeps_a_jpegs_comment_and_exif(run, tmp_path, photo):
    pixels = photo[:48, :64]  # 64 wide, 48 high; orientation 6 shows it 48 wide
    _jpeg_with_metadata(tmp_path / "a.jpg", pixels, b"roll 12, frame 3 \xa9 me")
    _jpeg_with_metadata(tmp_path / "b.jpg", pixels[::-1], b"another comment")
    assert run("lut", "identity", "--size", "17", "-o", "id.cube").exit_code == 0
    assert run("lut", "apply", "id.cube", "a.jpg", "-o", "out.jpg").exit_code == 0
    _assert_metadata_kept(tmp_path / "out.jpg", b"roll 12, frame 3 \xa9 me", (48, 64))
    # A batch: each output keeps its own input's comment.
    assert run("lut", "apply", "id.cube", "a.jpg", "b.jpg", "-o", "batch").exit_code == 0
    _assert_metadata_kept(tmp_path / "batch" / "a.jpg", b"roll 12, frame 3 \xa9 me", (48, 64))
    _assert_metadata_kept(tmp_path / "batch" / "b.jpg", b"another comment", (48, 64))
    # A PNG has no COM segment: EXIF is kept, the comment is not carried over.
    assert run("lut", "apply", "id.cube", "a.jpg", "-o", "out.png").exit_code == 0
    _assert_metadata_kept(tmp_path / "out.png", None, (48, 64))


def test_a_jpeg_from_a_jpeg_keeps_its_quality(run, tmp_path, photo):
    # A colourist's trial: an identity LUT on a quality-98 JPEG moved pixels by up to 26
    # levels, re-encoded at 95. The input's quantisation tables are now kept (as
    # ImageMagick and GIMP keep a JPEG's quality); --quality still chooses.
    from PIL import Image

    Image.fromarray(photo[:128, :128]).save(tmp_path / "q98.jpg", quality=98, subsampling=0)
    Image.fromarray(photo[:128, :128]).save(tmp_path / "a.png")
    assert run("lut", "identity", "--size", "17", "-o", "id.cube").exit_code == 0
    assert run("lut", "apply", "id.cube", "q98.jpg", "-o", "same.jpg").exit_code == 0
    assert (
        run("lut", "apply", "id.cube", "q98.jpg", "-o", "q80.jpg", "--quality", "80").exit_code == 0
    )
    assert run("lut", "apply", "id.cube", "a.png", "-o", "png.jpg").exit_code == 0
    Image.fromarray(photo[:128, :128]).save(tmp_path / "q95.jpg", quality=95, subsampling=0)
    tables = {p.name: Image.open(p).quantization for p in tmp_path.glob("*.jpg")}
    assert tables["same.jpg"] == tables["q98.jpg"]
    assert tables["q80.jpg"] != tables["q98.jpg"]
    assert tables["png.jpg"] == tables["q95.jpg"]  # no JPEG input: quality 95
    src = np.asarray(Image.open(tmp_path / "q98.jpg"), dtype=int)
    assert np.abs(np.asarray(Image.open(tmp_path / "same.jpg"), dtype=int) - src).mean() < 0.5


def test_a_png_that_says_it_is_not_srgb_is_warned_about(run, tmp_path, photo):
    # Its gAMA / cHRM chunks are not read (the values are taken as sRGB) nor written.
    from PIL import Image, PngImagePlugin

    def png(name, gamma, chrm=(31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)):
        info = PngImagePlugin.PngInfo()
        info.add(b"gAMA", int(gamma * 100000).to_bytes(4, "big"))
        info.add(b"cHRM", b"".join(int(v).to_bytes(4, "big") for v in chrm))
        Image.fromarray(photo[:32, :32]).save(tmp_path / name, pnginfo=info)

    png("linear.png", 1.0)
    png("srgb.png", 0.45455)
    png("wide.png", 0.45455, (31270, 32900, 70800, 29200, 17000, 79700, 13100, 4600))  # 2020
    assert run("lut", "identity", "--size", "17", "-o", "id.cube").exit_code == 0
    linear = run("lut", "apply", "id.cube", "linear.png", "-o", "l.png")
    assert linear.exit_code == 0
    assert (
        "warning: linear.png: its gAMA gamma 1 (sRGB's: about 2.2): lutkit reads the values "
        "as sRGB and does not write those chunks back (give the file an ICC profile to keep "
        "its encoding)"
    ) in linear.output
    wide = run("lut", "apply", "id.cube", "wide.png", "-o", "w.png")
    assert "warning: wide.png: its cHRM primaries other than sRGB's: " in wide.output
    srgb = run("lut", "apply", "id.cube", "srgb.png", "-o", "s.png")
    assert srgb.exit_code == 0 and "warning" not in srgb.output


def test_alpha_into_a_bmp_is_said_to_be_lost(run, tmp_path, photo):
    from PIL import Image

    rgba = np.dstack([photo[:32, :32], np.full((32, 32), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert run("lut", "identity", "--size", "17", "-o", "id.cube").exit_code == 0
    result = run("lut", "apply", "id.cube", "a.png", "-o", "a.bmp")
    assert result.exit_code == 0
    assert "a.bmp: a BMP (as lutkit writes one) has no alpha: its transparent and " in result.output
