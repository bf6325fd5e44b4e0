from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from lutkit.cli import main
from lutkit.color import image_delta_e
from lutkit.correct.fix import fix_files, fix_pixels
from lutkit.images import load_image, save_image, to_float
from lutkit.luts.files import plan_outputs
from lutkit.luts.formats import read_lut
from tests.external import require_tool
from tests.train.helpers import tiny_settings


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    from lutkit.correct.model import load_run
    from lutkit.train.config import load_config
    from lutkit.train.loop import train

    ds, vae = tiny_dataset
    out = tmp_path_factory.mktemp("runs")
    cfg = load_config(None, tiny_settings(ds, vae, out, name="fixrun"))
    train(cfg, progress=False)
    return load_run(out / "fixrun")


def test_full_resolution_keeps_size_depth_exif_and_icc(run, tmp_path, photo16):
    import cv2

    big = cv2.resize(photo16, (4000, 3000), interpolation=cv2.INTER_LINEAR)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the fixed file must come out upright
    exif[0x010F] = "lutkit camera"
    save_image(tmp_path / "in.png", big, exif=exif.tobytes(), icc=icc)
    fix_files(run, plan_outputs([tmp_path / "in.png"], tmp_path / "out.png"))
    out = load_image(tmp_path / "out.png", convert_icc=False)
    assert out.pixels.shape == (4000, 3000, 3) and out.bit_depth == 16
    assert out.icc == icc
    kept = Image.Exif()
    kept.load(out.exif)
    assert kept.get(0x010F) == "lutkit camera" and kept.get(0x0112) == 1


def test_exported_cube_reproduces_the_output(run, tmp_path, photo):
    save_image(tmp_path / "p.png", photo)
    fix_files(
        run,
        plan_outputs([tmp_path / "p.png"], tmp_path / "f.png"),
        iterations=2,
        export_lut=tmp_path / "fix.cube",
    )
    fixed = load_image(tmp_path / "f.png").pixels
    again = read_lut(tmp_path / "fix.cube").apply(photo)
    assert np.abs(again.astype(int) - fixed.astype(int)).max() <= 1  # .cube text rounding


def test_the_compare_sheet_shows_a_cut_out_as_a_viewer_does(tmp_path):
    # It drew the colours hidden under transparent pixels (a trial's green borders).
    from lutkit.correct.fix import save_compare
    from lutkit.images import ImageData

    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[...] = (0, 255, 0)
    alpha = np.zeros((40, 60), np.uint8)
    alpha[10:30, 20:40] = 255
    pixels[10:30, 20:40] = (200, 30, 30)
    data = load_image(save_image(tmp_path / "c.png", pixels, alpha=alpha), keep_alpha=True)
    assert isinstance(data, ImageData) and data.alpha is not None
    sheet = load_image(save_compare(data, data.pixels, tmp_path / "s.jpg")).pixels.astype(int)
    greenish = (sheet[..., 1] > 150) & (sheet[..., 0] < 100) & (sheet[..., 2] < 100)
    reddish = (sheet[..., 0] > 150) & (sheet[..., 1] < 100)
    assert not greenish.any() and reddish.any()


def test_a_hald_export_is_baked_at_a_level_that_holds_it(run, tmp_path, photo, monkeypatch):
    # It was baked at level 6 with the writer's advice "--level 8 bakes it within one
    # level": an option fix does not have. Now the level is chosen so, and nothing warns.
    import warnings

    import lutkit.correct.predict as predict
    from lutkit.luts.bake import bake_error
    from lutkit.luts.model import LUT3D

    def curved(*args, **kwargs):  # a correction with the curvature of a strong grade
        return LUT3D.from_function(
            lambda c: c**0.45 * [1.0, 0.9, 0.75] + 0.2 * c[..., ::-1] ** 3 * 0.2, size=33
        )

    monkeypatch.setattr(predict, "predict_correction", curved)

    graded = photo.copy()
    graded[..., 2] = (graded[..., 2] * 0.7).astype(np.uint8)
    save_image(tmp_path / "p.png", graded)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        fix_files(run, [(tmp_path / "p.png", tmp_path / "f.png")], export_lut=tmp_path / "h.png")
    assert not [w for w in said if "levels off" in str(w.message)]
    hald = read_lut(tmp_path / "h.png")
    with warnings.catch_warnings(record=True):
        fix_files(run, [(tmp_path / "p.png", tmp_path / "g.png")], export_lut=tmp_path / "g.cube")
    assert bake_error(read_lut(tmp_path / "g.cube"), hald) <= 1.0 + 0.5  # + 8-bit rounding


def test_an_interrupted_rerun_puts_the_earlier_cube_back(run, tmp_path, photo, monkeypatch):
    """Ctrl-C after the .cube is written but before the image: the .cube that was there
    (a previous run's, matching the image beside it) comes back, bytes and mode."""
    import lutkit.luts.files as files

    save_image(tmp_path / "p.png", photo)
    earlier = tmp_path / "fix.cube"
    earlier.write_text("# an earlier run's correction\n")
    earlier.chmod(0o640)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(files, "write_image_data", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fix_files(run, plan_outputs([tmp_path / "p.png"], tmp_path / "f.png"), export_lut=earlier)
    assert earlier.read_text() == "# an earlier run's correction\n"
    assert earlier.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fix.cube", "p.png"]


def test_a_batch_stopped_by_a_damaged_file_says_how_far_it_got(run, tmp_path, photo):
    from lutkit.errors import ImageError

    for name in ("a.png", "b.png"):
        save_image(tmp_path / name, photo)
    whole = (tmp_path / "b.png").read_bytes()
    (tmp_path / "b.png").write_bytes(whole[: len(whole) // 2])
    pairs = [(tmp_path / n, tmp_path / "out" / n) for n in ("a.png", "b.png")]
    with pytest.raises(ImageError) as err:
        fix_files(run, pairs)
    assert str(err.value).startswith(f"{tmp_path / 'b.png'}: cannot decode image")
    assert "; 1 of 2 images were written before it, none after (" in str(err.value)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


@pytest.mark.external
def test_exported_cube_in_ffmpeg_matches(run, tmp_path, photo):
    ffmpeg = require_tool("ffmpeg")
    save_image(tmp_path / "p.png", photo)
    fix_files(
        run,
        plan_outputs([tmp_path / "p.png"], tmp_path / "f.png"),
        export_lut=tmp_path / "fix.cube",
    )
    subprocess.run(
        [
            ffmpeg,
            "-v",
            "error",
            "-y",
            "-i",
            str(tmp_path / "p.png"),
            "-vf",
            f"lut3d=file={tmp_path / 'fix.cube'}",
            "-pix_fmt",
            "rgb24",
            str(tmp_path / "ff.png"),
        ],
        check=True,
    )
    ours = load_image(tmp_path / "f.png").pixels.astype(int)
    theirs = load_image(tmp_path / "ff.png").pixels.astype(int)
    diff = np.abs(ours - theirs)
    assert diff.mean() <= 0.5 and diff.max() <= 2, (diff.mean(), diff.max())


def test_identity_recolor_leaves_the_photo_nearly_unchanged(run, photo):
    # With a recolor net that changes nothing, both decodes carry the same sampled
    # VAE artefacts, so the fitted colour map is (nearly) the identity.
    import dataclasses

    import torch

    ident = dataclasses.replace(run, recolor=torch.nn.Identity())
    ident._vae = run._vae
    result = fix_pixels(ident, photo, colormap="fit")
    assert image_delta_e(to_float(result.pixels), to_float(photo)).mean() < 1.0


def test_net_colormap_and_iterations(run, photo, graded_lut, monkeypatch):
    """Iteration 2 predicts its LUT from iteration 1's output, and the one LUT of two
    iterations does what applying the two LUTs in turn does. The tiny run's passes are
    near-diagonal gains that commute, so pass 2's LUT is swapped for a grade that does
    not (a hue twist and tone curves): applied in the other order it differs."""
    import lutkit.correct.predict as predict
    from lutkit.correct.fix import preview
    from lutkit.luts.apply import apply_lut

    one = fix_pixels(run, photo, colormap="net")
    seen, steps = [], []
    real = predict.predict_correction

    def spy(run_, pixels, **kwargs):
        seen.append(pixels.copy())
        step = real(run_, pixels, **kwargs)
        steps.append(step if not steps else graded_lut)
        return steps[-1]

    monkeypatch.setattr(predict, "predict_correction", spy)
    two = fix_pixels(run, photo, colormap="net", iterations=2)
    assert one.pixels.shape == photo.shape and two.lut.size == 33 and len(steps) == 2
    # Pass 1 sees the photo (its preview), pass 2 the photo as pass 1 corrected it.
    assert np.array_equal(seen[0], preview(photo))
    assert np.array_equal(seen[1], apply_lut(one.lut, preview(photo)))
    assert np.array_equal(steps[0].table, one.lut.table)
    assert np.abs(steps[1].table - steps[1].lattice()).max() > 0.01  # pass 2 does something
    # The composed LUT: pass 1's LUT, then pass 2's, in turn (compose resamples at 33^3).
    x = to_float(photo)
    in_turn = steps[1].apply(steps[0].apply(x))
    composed = two.lut.apply(x)
    assert np.abs(composed - in_turn).max() < 2e-3
    assert np.abs(composed - steps[0].apply(x)).max() > 0.01  # not pass 1 alone
    assert np.abs(composed - steps[1].apply(x)).max() > 0.01  # nor pass 2 alone
    assert np.abs(composed - steps[0].apply(steps[1].apply(x))).max() > 0.01  # nor reversed
    assert np.array_equal(two.pixels, two.lut.apply(photo))


def test_cli_without_model_or_run_uses_the_shipped_model(tmp_path, monkeypatch, photo):
    """No --model and no run under runs/: the default model shipped in the package is
    used, with the colour map it records, and the command says so."""
    from lutkit.correct.model import default_model_dir

    monkeypatch.chdir(tmp_path)
    save_image(tmp_path / "p.png", photo[:64, :64])
    result = CliRunner().invoke(main, ["fix", "p.png", "-o", "f.png"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"wrote 1 image(s) to f.png with model {default_model_dir()} "
        "(the default model shipped with lutkit; colour map net)"
    )
    assert load_image(tmp_path / "f.png").pixels.shape == (64, 64, 3)


def test_model_info_describes_the_shipped_model():
    from lutkit.correct.model import default_model_dir

    result = CliRunner().invoke(main, ["model", "info", "default"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"model: {default_model_dir()} (the default model shipped with lutkit)"
    assert lines[3] == (
        "LUT net: BlendNet over identity, gray-world, shades-of-gray, white-patch, gray-edge, "
        "illuminant, levels, illuminant-tonal, latent; its FFCC-style candidates read the "
        "gray pixels too; then one exposure gain"
    )
    assert lines[4] == "colour map used by default: net (recorded when it was exported)"


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"gray": True}, "; its FFCC-style candidates read the gray pixels too"),
        ({"bright": True}, "; its FFCC-style candidates read the brightest pixels too"),
        (
            {"gray": True, "bright": True},
            "; its FFCC-style candidates read the gray and brightest pixels too",
        ),
        ({"exposure": True}, "; then one exposure gain"),
        ({}, ""),
    ],
)
def test_model_info_says_what_the_blend_adds(monkeypatch, settings, says):
    from lutkit.correct import model
    from lutkit.models.blend import BlendNet

    run = model.load_run(model.default_model_dir())
    run.lutnet = BlendNet(["identity", "illuminant"], **settings)
    monkeypatch.setattr(model, "load_run", lambda *_a, **_k: run)
    result = CliRunner().invoke(main, ["model", "info", "default"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[3] == "LUT net: BlendNet over identity, illuminant" + says


def test_cli_with_the_shipped_model_missing_is_one_line_error(tmp_path, monkeypatch, photo):
    import lutkit.correct.model as model

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(model, "default_model_dir", lambda: tmp_path / "nowhere")
    save_image(tmp_path / "p.png", photo[:64, :64])
    result = CliRunner().invoke(main, ["fix", "p.png", "-o", "f.png"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {tmp_path / 'nowhere'}: the default model is missing from this installation "
        "(reinstall lutkit, run `make model`, or pass --model runs/NAME)"
    )
    assert not (tmp_path / "f.png").exists()


def test_iterations_stop_once_the_photo_no_longer_changes(run, photo, monkeypatch):
    """A pass that changes nothing ends the iterations: no second pass is predicted, and
    the result is the first pass's correction, whatever --iterations says."""
    import lutkit.correct.predict as predict

    original = predict.predict_correction
    calls = []

    def identity_pass(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        lut = original(*args, **kwargs)
        lut.table = lut.lattice().astype(np.float32)  # this pass moves no colour
        return lut

    monkeypatch.setattr(predict, "predict_correction", identity_pass)
    three = fix_pixels(run, photo, colormap="net", iterations=3)
    assert calls == [0] and three.passes == 1
    assert three.lut.title == "lutkit fix (net, 1 of 3 passes)"  # it said 3 iteration(s)
    assert np.array_equal(three.pixels, three.lut.apply(photo))
    assert np.abs(to_float(three.pixels) - to_float(photo)).max() <= 1 / 255


def test_a_greyscale_photo_is_left_as_it_is(run, tmp_path, photo):
    """A black-and-white scan has no cast: the model would only tint it (the shipped
    one moved such a scan by 2 levels between channels), so it is written unchanged."""
    from lutkit.errors import LutkitWarning

    grey = np.asarray(Image.fromarray(photo).convert("L"))
    Image.fromarray(grey, "L").save(tmp_path / "bw.png")
    with pytest.warns(LutkitWarning) as said:
        fix_files(
            run, plan_outputs([tmp_path / "bw.png"], tmp_path / "out.png"),
            export_lut=tmp_path / "bw.cube",
        )  # fmt: skip
    assert [str(w.message) for w in said] == [
        f"{tmp_path / 'bw.png'}: greyscale (every visible pixel grey): no colour cast to remove, "
        "its pixels left as they are"
    ]
    out = load_image(tmp_path / "out.png").pixels
    assert np.array_equal(out, np.repeat(grey[..., None], 3, axis=2))
    assert Image.open(tmp_path / "out.png").mode == "L"  # greyscale in, greyscale out
    assert read_lut(tmp_path / "bw.cube").title.endswith("no colour cast, left as it is)")
    # One coloured pixel is enough for the model to run.
    colour = np.repeat(grey[..., None], 3, axis=2)
    colour[0, 0] = (200, 10, 10)
    assert not np.array_equal(fix_pixels(run, colour, colormap="net").pixels, colour)


def test_the_correction_lut_says_what_made_it(run, photo):
    assert fix_pixels(run, photo, colormap="net").lut.title == "lutkit fix (net, 1 pass(es))"
    half = fix_pixels(run, photo, colormap="net", iterations=2, strength=0.5)
    assert half.passes == 2
    assert half.lut.title == "lutkit fix (net, 2 pass(es), strength 0.5)"
    # the comment that names the model survives composing (a .cube's '#' line)
    assert half.lut.metadata["comments"][0].startswith("lutkit correction: run ")


def test_a_cut_out_is_corrected_from_its_visible_pixels(run, tmp_path, photo):
    # The colour of fully transparent pixels moved the correction of the visible ones
    # (a trial: 9 levels on average with green behind the alpha, 22 with black).
    from lutkit.correct.fix import visible_view

    h, w = photo.shape[:2]
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, w // 2 :] = 0
    alpha[: h // 4, : w // 4] = 0  # a hole inside the box around what shows
    outs = []
    for hidden in ((0, 255, 0), (0, 0, 0)):
        pixels = photo.copy()
        pixels[alpha == 0] = hidden
        Image.fromarray(np.dstack([pixels, alpha])).save(tmp_path / "cut.png")
        fix_files(run, [(tmp_path / "cut.png", tmp_path / "out.png")], colormap="net")
        out = np.asarray(Image.open(tmp_path / "out.png"))
        assert np.array_equal(out[..., 3], alpha)  # alpha kept
        outs.append(out[alpha > 0, :3])
    assert np.array_equal(outs[0], outs[1])
    view = visible_view(photo, alpha)
    seen = photo[:, : w // 2][alpha[:, : w // 2] > 0]
    assert view.shape == (h, w // 2, 3)  # cropped to what shows
    assert np.array_equal(view[: h // 4, : w // 4], np.broadcast_to(
        seen.mean(axis=0).round().astype(np.uint8), (h // 4, w // 4, 3)
    ))  # fmt: skip
    assert visible_view(photo, None) is photo and visible_view(photo, np.zeros((h, w))) is photo
    # A grey cut-out (colour only where it is transparent) is greyscale; nothing visible,
    # nothing to correct: both left as they are, with no passes said.
    grey = np.repeat(photo[..., :1], 3, axis=2)
    grey[alpha == 0] = (0, 255, 0)
    for a in (alpha, np.zeros_like(alpha)):
        left = fix_pixels(run, grey, colormap="net", iterations=3, alpha=a)
        assert np.array_equal(left.pixels, grey) and left.passes == 0
    Image.fromarray(np.dstack([grey, np.zeros_like(alpha)])).save(tmp_path / "none.png")
    from lutkit.errors import LutkitWarning

    with pytest.warns(LutkitWarning, match="fully transparent"):
        fix_files(run, [(tmp_path / "none.png", tmp_path / "none-out.png")], iterations=3)


def test_iterations_are_judged_on_the_photos_own_colours(run, monkeypatch):
    """A pass that moves only colours the photo does not have (here: each colour by 30 %
    of its distance from mid grey, on a photo that is mid grey and a hair bluer: under
    half a level) no longer changes the photo, so it ends the passes; one that moves the
    photo's colours by a level does not."""
    import lutkit.correct.predict as predict
    from lutkit.luts.model import LUT3D

    grey = np.full((64, 64, 3), 128, np.uint8)
    grey[:, 32:, 2] = 129  # a greyscale photo would not be corrected at all
    calls = []

    def elsewhere(*args, **kwargs):  # mid grey stays put, other colours move toward it
        calls.append(kwargs.get("seed"))
        return LUT3D.from_function(lambda x: 0.5 + (x - 0.5) * 0.7, 33)

    monkeypatch.setattr(predict, "predict_correction", elsewhere)
    fix_pixels(run, grey, colormap="net", iterations=4)
    assert calls == [0]

    calls.clear()

    def one_level(*args, **kwargs):
        calls.append(kwargs.get("seed"))
        return LUT3D.from_function(lambda x: x + 1 / 255, 33)

    monkeypatch.setattr(predict, "predict_correction", one_level)
    fix_pixels(run, grey, colormap="net", iterations=4)
    assert calls == [0, 1, 2, 3]


def test_fix_demo_writes_the_sheet_and_cubes_that_reproduce_the_fix(run, tmp_path):
    from lutkit.demo import run_fix_demo

    result = run_fix_demo(tmp_path / "demo", run.path, photo="coffee", recipe="heldout")
    assert set(result.scores) == {"input", "fit", "net"}
    assert all(np.isfinite(v) and v >= 0 for v in result.scores.values())
    sheet = load_image(result.files["sheet"]).pixels
    assert sheet.shape[1] >= 4 * 360  # clean, distorted, fit, net
    distorted = load_image(result.files["distorted"]).pixels
    # The ops file is a params file: `lutkit distort --replay` makes the same photo.
    from lutkit.distort.files import distort_file
    from lutkit.samples import sample_photo

    distort_file(sample_photo("coffee").path, tmp_path / "again.png", replay=result.files["ops"])
    assert np.array_equal(load_image(tmp_path / "again.png").pixels, distorted)
    for colormap in ("fit", "net"):
        fixed = load_image(result.files[f"fixed-{colormap}"]).pixels
        again = read_lut(result.files[f"cube-{colormap}"]).apply(distorted)
        assert np.abs(again.astype(int) - fixed.astype(int)).max() <= 1


@pytest.mark.parametrize("to_srgb", [False, True])
def test_fix_cli_keeps_the_profile_or_converts_with_to_srgb(run, tmp_path, photo, to_srgb):
    # An Adobe RGB photo: fixed in its own encoding and still tagged, or (--to-srgb)
    # converted by littleCMS first and written untagged; either way the pixels are
    # what fix_pixels makes of the pixels the command says it worked on.
    from tests.cli.test_lut_cli import ADOBE_RGB

    icc = ADOBE_RGB.read_bytes()
    save_image(tmp_path / "adobe.png", photo, icc=icc, dpi=(240.0, 240.0))
    args = ["fix", str(tmp_path / "adobe.png"), "-o", str(tmp_path / "out.png")]
    args += ["--model", str(run.path), "--colormap", "net"]
    result = CliRunner().invoke(main, args + (["--to-srgb"] if to_srgb else []))
    assert result.exit_code == 0, result.output
    out = load_image(tmp_path / "out.png", convert_icc=False)
    assert out.dpi is not None and np.allclose(out.dpi, (240, 240), atol=0.05)
    if to_srgb:
        worked_on = np.asarray(
            ImageCms.profileToProfile(
                Image.fromarray(photo),
                ImageCms.ImageCmsProfile(str(ADOBE_RGB)),
                ImageCms.createProfile("sRGB"),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
            )
        )
        assert out.icc is None
    else:
        worked_on = photo
        assert out.icc == icc
    expected = fix_pixels(run, worked_on, colormap="net").pixels
    assert np.abs(out.pixels.astype(int) - np.asarray(expected).astype(int)).max() <= 1
    assert not np.array_equal(worked_on, photo) or not to_srgb  # the profile mattered


def test_reports_name_the_shipped_model_without_this_machines_path(tmp_path, monkeypatch):
    """A committed report (make eval's results.md) names the shipped model "default", a
    run inside the working folder by its relative path, any other by the path given."""
    from lutkit.correct.model import default_model_dir, model_label

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    assert model_label(default_model_dir()) == "default (the model shipped with lutkit)"
    assert model_label(tmp_path / "runs" / "a") == "runs/a"
    assert model_label("runs/a") == "runs/a"
    elsewhere = tmp_path.parent / "elsewhere"
    assert model_label(elsewhere) == str(elsewhere)


@pytest.mark.parametrize(
    "flag, bad, says",
    [
        ("-o", "out.xyz", "cannot write images with extension '.xyz'"),
        ("--export-lut", "fix.txt", "cannot write LUTs with extension '.txt'"),
    ],
)
def test_fix_cli_bad_output_names_fail_before_any_work(
    run, tmp_path, photo, monkeypatch, flag, bad, says
):
    # Checked before the model runs (a spy that fails if it does), and nothing written.
    import lutkit.correct.fix as fix_module

    def no_work(*a, **k):
        raise AssertionError("the model ran before the output names were checked")

    monkeypatch.setattr(fix_module, "fix_pixels", no_work)
    save_image(tmp_path / "p.png", photo)
    names = {"-o": str(tmp_path / "out.png"), "--export-lut": str(tmp_path / "fix.cube")}
    names[flag] = str(tmp_path / bad)
    args = ["fix", str(tmp_path / "p.png"), "--model", str(run.path)]
    for k, v in names.items():
        args += [k, v]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert says in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]


def test_fix_image_that_cannot_be_written_takes_the_exported_lut_with_it(run, tmp_path, photo):
    (tmp_path / "afile").write_text("")
    save_image(tmp_path / "p.png", photo)
    args = ["fix", str(tmp_path / "p.png"), "--model", str(run.path)]
    args += ["-o", str(tmp_path / "afile" / "f.png"), "--export-lut", str(tmp_path / "fix.cube")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "p.png"]
    # The LUT named as the image (a Hald .png is a LUT format too): refused up front.
    args[-3:] = [str(tmp_path / "f.png"), "--export-lut", str(tmp_path / "f.png")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "two outputs are the same file" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "p.png"]


def test_fix_compare_sheets_of_two_outputs_that_share_a_name_do_not_overwrite(run, tmp_path, photo):
    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.jpg", photo)
    save_image(src / "a.png", photo[::-1])
    save_image(src / "b.png", photo[:, ::-1])
    args = ["fix", str(src), "-o", str(tmp_path / "out"), "--model", str(run.path), "--compare"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "3 before/after sheets" in result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "a.jpg",
        "a.jpg-compare.jpg",
        "a.png",
        "a.png-compare.jpg",
        "b-compare.jpg",
        "b.png",
    ]
    # Each sheet shows its own photo: the two "a" sheets differ.
    one = load_image(tmp_path / "out" / "a.jpg-compare.jpg").pixels
    two = load_image(tmp_path / "out" / "a.png-compare.jpg").pixels
    assert not np.array_equal(one, two)
    # Fixing the output folder again takes its photos, not their sheets.
    again = ["fix", str(tmp_path / "out"), "-o", str(tmp_path / "again"), "--model", str(run.path)]
    result = CliRunner().invoke(main, again)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["a.jpg", "a.png", "b.png"]
    # A sheet that would land on an output image (a photo named so, given by name: a
    # folder would skip it as b.png's sheet) is refused before any work.
    save_image(src / "b-compare.jpg", photo)
    named = [str(src / "b.png"), str(src / "b-compare.jpg")]
    result = CliRunner().invoke(main, ["fix", *named, *args[2:]])
    assert result.exit_code == 1 and "two outputs are the same file" in result.output


def test_fix_batch_with_a_file_that_is_no_image_stops_before_any_work(run, tmp_path, photo):
    src = tmp_path / "in"
    src.mkdir()
    save_image(src / "a.png", photo)
    (src / "b.jpg").write_bytes(b"")
    args = ["fix", str(src), "-o", str(tmp_path / "out"), "--model", str(run.path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output == f"Error: {src / 'b.jpg'}: empty file (0 bytes)\n"
    assert not (tmp_path / "out").exists()


def test_fix_export_lut_into_a_new_folder_and_alpha_and_tiff_compression_kept(run, tmp_path, photo):
    """As `lut apply`: the alpha plane and a TIFF's compression survive, and the LUT's
    folder is made as the image's is."""
    alpha = np.linspace(0, 255, photo.shape[0] * photo.shape[1]).astype(np.uint8)
    alpha = alpha.reshape(photo.shape[:2])
    save_image(tmp_path / "p.tif", photo, alpha=alpha, compression="tiff_lzw")
    fix_files(
        run,
        plan_outputs([tmp_path / "p.tif"], tmp_path / "new" / "f.tif"),
        export_lut=tmp_path / "luts" / "fix.cube",
    )
    out = load_image(tmp_path / "new" / "f.tif", keep_alpha=True)
    assert np.array_equal(out.alpha, alpha)
    with Image.open(tmp_path / "new" / "f.tif") as im:
        assert im.info.get("compression") == "tiff_lzw"
    again = read_lut(tmp_path / "luts" / "fix.cube").apply(photo)
    assert np.abs(again.astype(int) - out.pixels.astype(int)).max() <= 1
    # into a JPEG, which has no alpha, the loss is said (it was silent)
    from lutkit.errors import LutkitWarning

    with pytest.warns(LutkitWarning, match="a JPEG has no alpha: its transparent and translucent"):
        fix_files(run, [(tmp_path / "p.tif", tmp_path / "f.jpg")])


def test_model_export_from_another_folder(run, tmp_path, monkeypatch):
    """A run names its dataset relative to where it was trained ("datasets/x"); export
    finds it by the recorded absolute path from any folder, and writes no such path."""
    import json
    import os
    import shutil

    from lutkit.correct.export import export_model

    copy = tmp_path / "runs" / "r"
    shutil.copytree(run.path, copy)
    doc = json.loads((copy / "config.json").read_text())
    absolute = doc["dataset_path"]
    doc["dataset"] = os.path.relpath(absolute, Path(absolute).parents[1])
    (copy / "config.json").write_text(json.dumps(doc))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert not Path(doc["dataset"]).exists()
    dst = export_model(copy, tmp_path / "exported", colormap="net")
    out = json.loads((dst / "config.json").read_text())
    assert "dataset_path" not in out and out["dataset"] == doc["dataset"]
    assert out["heldout_photos"]  # read from the dataset's val and test shards


def test_fix_cli_keeps_a_jpegs_comment_and_exif(tmp_path, monkeypatch, photo):
    # fix writes through lut apply's writer: the same metadata survives (the shipped
    # model, so no training run is needed).
    from tests.cli.test_lut_cli import _assert_metadata_kept, _jpeg_with_metadata

    monkeypatch.chdir(tmp_path)
    _jpeg_with_metadata(tmp_path / "p.jpg", photo[:48, :64], b"roll 12, frame 3 \xa9 me")
    result = CliRunner().invoke(main, ["fix", "p.jpg", "-o", "f.jpg", "--model", "default"])
    assert result.exit_code == 0, result.output
    _assert_metadata_kept(tmp_path / "f.jpg", b"roll 12, frame 3 \xa9 me", (48, 64))
