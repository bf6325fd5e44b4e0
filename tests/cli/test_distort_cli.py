from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from lutkit.cli import main
from lutkit.images import load_image, save_image


@pytest.fixture()
def run(tmp_path, monkeypatch, photo):
    monkeypatch.chdir(tmp_path)
    save_image(tmp_path / "photo.png", photo[::2, ::2])
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.mark.parametrize("recipe", ["default", "lighting", "curves", "film", "lut-library"])
def test_same_seed_identical_files_and_replay(run, tmp_path, recipe):
    for out in ("a.png", "b.png"):
        result = run(
            "distort",
            "photo.png",
            "-o",
            out,
            "--recipe",
            recipe,
            "--seed",
            "5",
            "--params-out",
            f"{out}.json",
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    replay = ("distort", "photo.png", "-o", "c.png", "--replay", "a.png.json")
    assert run(*replay, "--params-out", "c.json").exit_code == 0
    assert (tmp_path / "c.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    doc = json.loads((tmp_path / "a.png.json").read_text())
    assert doc["schema"] == 1 and doc["seed"] == 5
    # the replay's own record still says where the ops came from (it said "" and null)
    again = json.loads((tmp_path / "c.json").read_text())
    assert (again["recipe"], again["seed"], again["ops"]) == (doc["recipe"], 5, doc["ops"])


def test_what_is_under_transparent_pixels_does_not_show(run, tmp_path, photo):
    # A halation glow carried the colour hidden under a transparent border into the
    # visible pixels (up to 196 levels on 14 % of them, in a trial).
    from PIL import Image

    (tmp_path / "glow.toml").write_text('[[stage]]\nop = "film.halation"\n')
    h, w = photo.shape[:2]
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:20], alpha[-20:] = 0, 0
    outs = []
    for k, hidden in enumerate(((255, 255, 255), (0, 0, 0))):
        pixels = photo.copy()
        pixels[alpha == 0] = hidden
        Image.fromarray(np.dstack([pixels, alpha])).save(tmp_path / f"cut{k}.png")
        args = ("distort", f"cut{k}.png", "-o", f"out{k}.png", "--recipe", "glow.toml")
        assert run(*args, "--seed", "3").exit_code == 0
        out = np.asarray(Image.open(tmp_path / f"out{k}.png"))
        assert np.array_equal(out[alpha == 0], np.dstack([pixels, alpha])[alpha == 0])  # kept
        outs.append(out[alpha > 0])
    assert np.array_equal(outs[0], outs[1])


def test_a_tiffs_compression_is_kept(run, tmp_path, photo16):
    # distort wrote an uncompressed TIFF zip-compressed (fix and lut apply keep it)
    from PIL import Image

    save_image(tmp_path / "scan.tif", photo16[::4, ::4], compression="raw")
    assert (
        run("distort", "scan.tif", "-o", "out.tif", "--recipe", "film", "--seed", "1").exit_code
        == 0
    )
    with Image.open(tmp_path / "out.tif") as im:
        assert im.info.get("compression") == "raw"


def test_replay_after_the_library_lut_was_replaced_is_refused(run, tmp_path, monkeypatch):
    # `lut import --replace` between a distort and its replay gave other bytes, silently.
    from pathlib import Path

    from lutkit.distort.lut3d import library_root

    lib = tmp_path / "lib"
    for name in ("cool-grade", "warm-grade"):
        cube = (Path(library_root()) / f"{name}.cube").read_bytes()
        (tmp_path / f"{name}.cube").write_bytes(cube)
        result = run("lut", "import", f"{name}.cube", "--library", str(lib), "--name", name)
        assert result.exit_code == 0, result.output
    monkeypatch.setenv("LUTKIT_LIBRARY", str(lib))
    (tmp_path / "look.toml").write_text('[[stage]]\nop = "lut3d.library"\nnames = ["cool-grade"]\n')
    args = ("distort", "photo.png", "-o", "a.png", "--recipe", "look.toml", "--seed", "1")
    assert run(*args, "--params-out", "p.json").exit_code == 0
    (op,) = json.loads((tmp_path / "p.json").read_text())["ops"]
    assert op["params"]["lut"] == "cool-grade" and len(op["params"]["sha256"]) == 64
    result = run(
        "lut",
        "import",
        "warm-grade.cube",
        "--library",
        str(lib),
        "--name",
        "cool-grade",
        "--replace",
    )
    assert result.exit_code == 0, result.output
    result = run("distort", "photo.png", "-o", "b.png", "--replay", "p.json")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "Error: " in result.output
    assert "the library LUT 'cool-grade' is not the file this record was made with" in result.output
    assert not (tmp_path / "b.png").exists()


def test_a_truth_lut_as_a_hald_image_names_no_option_distort_lacks(run, tmp_path):
    # It advised "--level 12", which distort does not take, and wrote 8 bits.
    result = run(
        "distort", "photo.png", "-o", "d.png", "--recipe", "curves", "--seed", "4",
        "--truth-lut", "truth.png",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--level" not in result.output
    hald = load_image(tmp_path / "truth.png", convert_icc=False, apply_orientation=False)
    assert hald.bit_depth == 16


def test_different_seeds_differ(run, tmp_path):
    run("distort", "photo.png", "-o", "a.png", "--recipe", "default", "--seed", "1")
    run("distort", "photo.png", "-o", "b.png", "--recipe", "default", "--seed", "2")
    a = load_image(tmp_path / "a.png").pixels
    b = load_image(tmp_path / "b.png").pixels
    assert not np.array_equal(a, b)


def test_sixteen_bit_stays_sixteen_bit(run, tmp_path, photo16):
    save_image(tmp_path / "p16.png", photo16[::4, ::4])
    assert run("distort", "p16.png", "-o", "o16.png", "--recipe", "curves").exit_code == 0
    assert load_image(tmp_path / "o16.png").bit_depth == 16


def test_replay_of_other_schema_refused(run, tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"schema": 99, "ops": []}))
    result = run("distort", "photo.png", "-o", "x.png", "--replay", "p.json")
    assert result.exit_code == 1
    assert result.output.startswith("Error: p.json: params schema 99 is not supported")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "curves.gamma", "params": {"gamma": "abc"}}, "gamma: expected a list, got 'abc'"),
        ({"op": "curves.gamma", "params": {"gamma": [1, 2]}}, "expected a list of 3, got [1, 2]"),
        ({"op": "curves.gamma", "params": {"gamma": [1, None, 1]}}, "gamma[1]: expected a finite"),
        ({"op": "curves.gamma", "params": {"gamma": [1, float("nan"), 1]}}, "got nan"),
        ({"op": "lut3d.library", "params": {"lut": 3, "strength": 1}}, "lut: expected text"),
        ({"op": "lut3d.library", "params": {"lut": "x", "strength": True}}, "got True"),
        ({"op": "lut3d.library", "params": {"lut": "x", "strength": 1, "sha256": 5}}, "text"),
        ({"op": "curves.gamma", "params": {"gamma": [1, 10**400, 1]}}, "expected a finite"),
        (
            {"op": "film.jpeg", "params": {"quality": 50.5, "subsampling": "4:2:0"}},
            "a whole number",
        ),
    ],
)
def test_replay_with_mistyped_params_is_one_line_error(run, tmp_path, op, message):
    (tmp_path / "p.json").write_text(json.dumps({"schema": 1, "ops": [op]}))
    result = run("distort", "photo.png", "-o", "x.png", "--replay", "p.json")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: p.json[0].{op['op']}.")
    assert message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("op", "says"),
    [
        (
            {"op": "curves.gamma", "params": {"gamma": [-5, 1, 1]}},
            "p.json[0].curves.gamma.gamma[0]: must be in [0.01, 100], got -5",
        ),
        (
            {"op": "film.jpeg", "params": {"quality": 0, "subsampling": "4:2:0"}},
            "p.json[0].film.jpeg.quality: must be in [1, 100], got 0",
        ),
        (
            {"op": "lighting.exposure", "params": {"stops": 2000}},
            "p.json[0].lighting.exposure.stops: must be in [-10, 10], got 2000",
        ),
        (
            {
                "op": "film.grain",
                "params": {"amount": 0.1, "size": 0.001, "correlation": 2, "seed": 3},
            },
            "p.json[0].film.grain.correlation: must be in [0, 1], got 2",
        ),
        (
            {
                "op": "lighting.cct",
                "params": {
                    "cct": 3000,
                    "duv": 0,
                    "locus": "daylight",
                    "cat": "Bradford",
                    "strength": 1,
                },
            },
            "p.json[0].lighting.cct.cct: the daylight locus starts at 4000 K, got 3000",
        ),
        (
            {
                "op": "film.scratches",
                "params": {
                    "count": 2,
                    "width": 0.001,
                    "intensity": 0.5,
                    "polarity": "sideways",
                    "seed": 1,
                },
            },
            "p.json[0].film.scratches.polarity: must be one of bright, dark, got 'sideways'",
        ),
    ],
)
def test_replay_of_params_outside_their_domain_is_one_line_error(run, tmp_path, op, says):
    (tmp_path / "p.json").write_text(json.dumps({"schema": 1, "ops": [op]}))
    result = run("distort", "photo.png", "-o", "x.png", "--replay", "p.json")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {says}\n" and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "photo.png"]


@pytest.mark.parametrize(
    ("stage", "says"),
    [
        (
            'op = "curves.gamma"\ngamma = [-5, 1]',
            "stage 1.gamma: must be in [0.1, 10], got [-5, 1]",
        ),
        ('op = "film.jpeg"\nquality = 101', "stage 1.quality: must be in [1, 100], got 101"),
        (
            'op = "lighting.mixed"\nnamed_share = 1.5',
            "stage 1.named_share: must be in [0, 1], got 1.5",
        ),
        (
            '[[stage.choose]]\nop = "lighting.cct"\ncct = [500, 3000]',
            "stage 1.choose[1].cct: must be in [1000, 25000], got [500, 3000]",
        ),
    ],
)
def test_recipe_range_outside_its_domain_is_one_line_error(run, tmp_path, stage, says):
    (tmp_path / "r.toml").write_text(f"[[stage]]\n{stage}\n")
    result = run("distort", "photo.png", "-o", "x.png", "--recipe", "r.toml")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path.resolve() / 'r.toml'}: {says}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png", "r.toml"]


def test_bad_recipe_is_one_line_error(run, tmp_path):
    (tmp_path / "r.toml").write_text('[[stage]]\nop = "curves.gamma"\ngamma = [3, 1]\n')
    result = run("distort", "photo.png", "-o", "x.png", "--recipe", "r.toml")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "min 3 is greater than max 1" in result.output
    assert not (tmp_path / "x.png").exists()


def test_recipe_list_ops_show_preview(run, tmp_path):
    listed = run("recipe", "list").output
    for name in ("default", "lighting", "curves", "film", "lut-library", "heldout"):
        assert name in listed
    ops = run("recipe", "ops").output.splitlines()
    assert any(line.startswith("film.grain ") for line in ops)
    # Each range key with its default and the values a recipe may give it.
    assert "    gamma = 0.6..1.6  (must be in [0.1, 10])" in ops
    assert "    quality = 15..70  (must be in [1, 100])" in ops
    assert "    cat = one of [Von Kries, Bradford, CAT02]" in ops
    assert "    exclude_tags = *  (no filter; a recipe may give a list)" in ops
    assert "sha256" in run("recipe", "show", "film").output
    # into a folder still to be made, as every command's output
    args = ("recipe", "preview", "default", "--image", "photo.png", "-o", "new/s.png", "--n", "5")
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert load_image(tmp_path / "new" / "s.png").pixels.shape[1] > 600


def test_distort_keeps_the_profile_and_works_on_the_files_encoding(run, tmp_path, photo):
    from pathlib import Path

    from lutkit.distort.base import apply_chain
    from lutkit.distort.files import read_params
    from lutkit.images import from_float, to_float

    icc = Path(__file__).parents[1] / "resources" / "icc" / "compatibleWithAdobeRGB1998.icc"
    icc = icc.read_bytes()
    small = photo[::4, ::4]
    save_image(tmp_path / "adobe.png", small, icc=icc)
    args = ("distort", "adobe.png", "--recipe", "curves", "--seed", "3", "--params-out", "p.json")
    assert run(*args, "-o", "kept.png").exit_code == 0
    kept = load_image(tmp_path / "kept.png", convert_icc=False)
    assert kept.icc == icc
    expected = from_float(apply_chain(to_float(small), read_params(tmp_path / "p.json")), np.uint8)
    assert np.array_equal(kept.pixels, expected)
    assert run(*args, "-o", "srgb.png", "--to-srgb").exit_code == 0
    assert load_image(tmp_path / "srgb.png", convert_icc=False).icc is None


def test_distort_keeps_a_jpegs_comment(run, tmp_path, photo):
    save_image(tmp_path / "c.jpg", photo[::4, ::4], comment=b"roll 12, frame 4")
    assert (
        run("distort", "c.jpg", "-o", "d.jpg", "--recipe", "curves", "--seed", "1").exit_code == 0
    )
    assert load_image(tmp_path / "d.jpg").comment == b"roll 12, frame 4"


def test_distort_keeps_alpha(run, tmp_path, photo):
    small = photo[::4, ::4]
    alpha = np.tile(np.linspace(0, 255, small.shape[1]).astype(np.uint8), (small.shape[0], 1))
    save_image(tmp_path / "a.png", small, alpha=alpha)
    assert run("distort", "a.png", "-o", "d.png", "--recipe", "film", "--seed", "2").exit_code == 0
    out = load_image(tmp_path / "d.png", keep_alpha=True)
    assert np.array_equal(out.alpha, alpha)


def test_recipe_show_prints_stages_and_ranges(run):
    result = run("recipe", "show", "lighting")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert "stage 1 (p = 1): one of 3, by weight" in lines
    assert "  43% lighting.cct" in lines and "     cct = 2000..12000" in lines
    assert "stage 2 (p = 0.35):" in lines and "    *stops = -1.5..1" in lines
    default = run("recipe", "show", "default").output
    assert "include lighting" in default and "`lutkit recipe show lighting`" in default


def test_truth_lut_is_the_exact_inverse_or_a_plain_refusal(run, tmp_path):
    from lutkit.distort.base import apply_chain
    from lutkit.distort.files import read_params
    from lutkit.distort.truth import ground_truth
    from lutkit.images import to_float
    from lutkit.luts.formats import read_lut

    args = ("distort", "photo.png", "-o", "bad.png", "--params-out", "p.json")
    result = run(*args, "--recipe", "curves", "--seed", "2", "--truth-lut", "inverse.cube")
    assert result.exit_code == 0, result.output
    # Curves that clip have no preimage for part of the lattice: said so, not "exact".
    assert "wrote inverse.cube: the inverse where a colour has one, the nearest colour " in (
        result.output
    )
    assert "% of the lattice invertible" in result.output
    # the share of the image's pixels it states is where the inverse takes them back
    said = float(re.search(r"exact on ([0-9.]+)% of this image's pixels", result.output)[1])
    bad = to_float(load_image(tmp_path / "bad.png").pixels)
    clean = to_float(load_image(tmp_path / "photo.png").pixels)
    inverse = read_lut(tmp_path / "inverse.cube")
    back = inverse.apply(bad.astype(np.float32))
    report = ground_truth(read_params(tmp_path / "p.json"))[1]
    inside = report.mask(bad)
    assert abs(inside.mean() * 100 - said) <= 0.05  # the file's pixels, to the digit
    assert 5 < said < 100
    assert np.abs(back - clean)[inside].max() * 255 < 6  # exact, to the 8-bit rounding
    grey = np.linspace(0.1, 0.9, 50, dtype=np.float32)[:, None].repeat(3, 1)
    forward = apply_chain(grey[None], read_params(tmp_path / "p.json"))[0]
    assert np.abs(inverse.apply(forward.astype(np.float32)) - grey).max() < 0.01
    # A chain with grain has no exact inverse: said plainly, nothing written.
    grainy = tmp_path / "grain.toml"
    grainy.write_text('name = "g"\n[[stage]]\nop = "film.grain"\n')
    result = run(
        "distort", "photo.png", "-o", "g.png", "--recipe", str(grainy), "--truth-lut", "g.cube"
    )
    assert result.exit_code == 1
    assert result.output == (
        "Error: g.cube: no exact inverse: the ops drawn include film.grain, which are not "
        "colour maps (try another --seed, or a recipe of colour maps only (curves, heldout, "
        "lut-library))\n"
    )
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "g.cube").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (("-o", "out.xyz"), "Error: out.xyz: cannot write images with extension '.xyz'"),
        (
            ("-o", "out.png", "--truth-lut", "inverse.txt"),
            "Error: inverse.txt: cannot write LUTs with extension '.txt'",
        ),
    ],
)
def test_bad_output_names_fail_before_anything_is_written(run, tmp_path, args, says):
    result = run("distort", "photo.png", "--recipe", "curves", "--seed", "2", *args)
    assert result.exit_code == 1 and result.output.startswith(says)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_side_files_go_into_new_folders_as_the_image_does(run, tmp_path):
    result = run(
        "distort", "photo.png", "-o", "a/out.png", "--recipe", "curves", "--seed", "2",
        "--params-out", "b/p.json", "--truth-lut", "c/inverse.cube",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("a/out.png", "b/p.json", "c/inverse.cube"):
        assert (tmp_path / name).is_file()


def test_an_image_that_cannot_be_written_takes_its_side_files_with_it(run, tmp_path):
    # "afile" is a file, so afile/out.png cannot be made: the params and the inverse
    # LUT written before it are removed, and the error is one line.
    (tmp_path / "afile").write_text("")
    result = run(
        "distort", "photo.png", "-o", "afile/out.png", "--recipe", "curves", "--seed", "2",
        "--params-out", "p.json", "--truth-lut", "inv.cube",
    )  # fmt: skip
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "photo.png"]


def test_a_side_file_named_as_the_image_is_refused(run, tmp_path):
    result = run(
        "distort", "photo.png", "-o", "x.png", "--recipe", "curves", "--seed", "2",
        "--truth-lut", "x.png",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output == (
        "Error: x.png: two outputs are the same file (x.png and x.png) "
        "(give each output its own name)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_replayed_whole_numbers_may_be_written_as_floats():
    """3.0 is 3 for a whole-number parameter, as a recipe's range takes it."""
    from lutkit.distort.base import get_op

    params = get_op("film.jpeg").params_type.from_dict({"quality": 50.0, "subsampling": "4:2:0"})
    assert params.quality == 50 and isinstance(params.quality, int)
