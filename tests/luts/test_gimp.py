"""GIMP curves presets -> LUT1D: parsing, exact errors, and agreement with real GIMP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.errors import FormatError
from lutkit.luts.gimp import (
    gimp_curve_map,
    gimp_curves_config_text,
    gimp_spline_samples,
    read_gimp_curves,
    read_gimp_curves_config,
)
from lutkit.luts.model import LUT1D
from tests import gimp_runner
from tests.external import require_tool

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "gimp"


def f32(points):
    """Points rounded to float32: Script-Fu passes FLOATARRAY values through a C float,
    so only float32-exact points reach GIMP unchanged."""
    return [(float(np.float32(x)), float(np.float32(y))) for x, y in points]


VALUE_S = f32([(0, 0), (0.25, 0.15), (0.5, 0.5), (0.75, 0.85), (1, 1)])
RED_LIFT = f32([(0, 0.1), (0.5, 0.62), (1, 1)])
GREEN_CLIP = f32([(0.1, 0), (0.6, 0.4), (0.95, 1)])
BLUE_DIP = f32([(0, 0), (0.2, 0.3), (0.4, 0.25), (0.7, 0.6), (0.9, 0.95), (1, 0.9)])
CHANNEL_CURVES = {"red": RED_LIFT, "green": GREEN_CLIP, "blue": BLUE_DIP}


def lines(text: str) -> list[str]:
    return text.splitlines()


def apply_np(lut: LUT1D, image: np.ndarray) -> np.ndarray:
    """Reference 1D application: uint8 image -> float64 in [0, 1], np.interp per channel."""
    x = image.astype(np.float64) / 255.0
    grid = np.linspace(0.0, 1.0, lut.size)
    table = lut.table.astype(np.float64)
    return np.stack([np.interp(x[..., c], grid, table[:, c]) for c in range(3)], axis=-1)


# --------------------------------------------------------------------------- the spline


def test_spline_identity_and_exact_control_points():
    ident = gimp_spline_samples([(0, 0), (1, 1)])
    np.testing.assert_allclose(ident, np.linspace(0, 1, 256), atol=1e-15)
    s = gimp_spline_samples([(0, 0), (0.2, 0.7), (0.6, 0.3), (1, 1)])
    assert s[51] == 0.7 and s[153] == 0.3  # ROUND(0.2 * 255) = 51, ROUND(0.6 * 255) = 153
    assert s.min() >= 0 and s.max() <= 1


def test_spline_boundary_fill_and_clamp():
    s = gimp_spline_samples([(0.2, 0.3), (0.8, 0.6)])
    assert np.all(s[:51] == 0.3) and np.all(s[204:] == 0.6)
    np.testing.assert_allclose(s[51:205], np.linspace(0.3, 0.6, 154), atol=1e-12)  # straight
    overshoot = gimp_spline_samples([(0, 0), (0.1, 1), (0.2, 0), (1, 1)])
    assert overshoot.max() == 1.0 and overshoot.min() == 0.0


def test_spline_sorts_points_like_add_point():
    a = gimp_spline_samples([(1, 1), (0, 0), (0.5, 0.8)])
    b = gimp_spline_samples([(0, 0), (0.5, 0.8), (1, 1)])
    np.testing.assert_array_equal(a, b)


def test_corner_point_changes_only_its_segments():
    pts = [(0, 0), (0.25, 0.4), (0.5, 0.5), (0.75, 0.6), (1, 1)]
    smooth = gimp_spline_samples(pts)
    corner = gimp_spline_samples(
        pts, point_types=["smooth", "smooth", "corner", "smooth", "smooth"]
    )
    changed = np.nonzero(smooth != corner)[0]
    assert changed.size and changed.min() > 64 and changed.max() < 191  # (0.25, 0.75)
    assert corner[128] == smooth[128] == 0.5


def test_vertical_step():
    s = gimp_spline_samples([(0, 0), (0.5, 0.2), (0.5, 0.9), (1, 1)])
    assert s[128] == 0.9 and s[127] < 0.25


def test_curve_map_matches_gimp_map_value():
    s = np.linspace(0, 1, 256) ** 2
    assert gimp_curve_map(s, 0.0) == s[0] and gimp_curve_map(s, 1.0) == s[-1]
    assert gimp_curve_map(s, -3) == s[0] and gimp_curve_map(s, 7) == s[-1]
    assert gimp_curve_map(s, np.nan) == s[0]
    x = np.array([0.3, 0.5, 0.999])
    np.testing.assert_allclose(gimp_curve_map(s, x), np.interp(x, np.linspace(0, 1, 256), s))


# --------------------------------------------------------------------------- parsing


def test_bare_export_round_trip_and_composition():
    text = gimp_curves_config_text({"value": VALUE_S, **CHANNEL_CURVES})
    assert text.startswith("# GIMP 'Curves' settings\n\n(time 0)\n")
    curves, linear = read_gimp_curves_config(lines(text))
    assert not linear
    assert curves["blue"].points == BLUE_DIP and curves["alpha"].points == [(0, 0), (1, 1)]
    lut = read_gimp_curves(lines(text))
    assert lut.size == 4081 and lut.title == ""
    x = np.linspace(0, 1, 4081)
    value = gimp_spline_samples(VALUE_S)
    for c, name in enumerate(("red", "green", "blue")):
        channel = gimp_spline_samples(CHANNEL_CURVES[name])
        want = gimp_curve_map(value, gimp_curve_map(channel, x))  # channel first, then value
        np.testing.assert_allclose(lut.table[:, c], want, atol=1e-7)


def test_reads_export_fixture_file():
    path = RESOURCES / "export-2.10.curves"
    curves, _ = read_gimp_curves_config(path)
    assert curves["blue"].point_types[2] == "corner"
    lut = read_gimp_curves(path)
    assert lut.title == "export-2.10"
    corner = gimp_spline_samples(curves["blue"].points, point_types=curves["blue"].point_types)
    smooth = gimp_spline_samples(curves["blue"].points)
    assert np.abs(corner - smooth).max() > 0.005  # the corner type is honoured
    # 8-bit input lands on sample positions, where the LUT is exact.
    value = gimp_spline_samples(curves["value"].points)
    want = gimp_curve_map(value, corner)
    np.testing.assert_allclose(lut.table[::16, 2], want, atol=1e-7)


def test_preset_file_takes_first_or_named():
    path = RESOURCES / "gimp-curves-tool.settings"
    first = read_gimp_curves(path)
    assert first.title == "gimp-curves-tool"  # the recently-used entry has no name
    np.testing.assert_allclose(
        first.table[::16, 0], gimp_spline_samples([(0, 0), (0.5, 0.6), (1, 1)]), atol=1e-7
    )
    warm = read_gimp_curves(path, name="Warm")
    assert warm.title == "Warm"
    assert warm.table[0, 0] == pytest.approx(0.05) and warm.table[-1, 2] == pytest.approx(0.95)
    np.testing.assert_allclose(warm.table[:, 1], np.linspace(0, 1, 4081), atol=1e-7)
    matte = read_gimp_curves(path, name='Faded "matte"')
    assert matte.table[0].tolist() == pytest.approx([0.12] * 3)


def test_preset_from_lines_and_text_writer():
    text = gimp_curves_config_text({"value": VALUE_S}, preset="S")
    assert text.startswith('# settings\n\n(GimpCurvesConfig "S"\n    (time 0)\n')
    lut = read_gimp_curves(lines(text), name="S")
    assert lut.title == "S"


def test_free_curve_uses_stored_samples():
    lut = read_gimp_curves(RESOURCES / "free-green.curves")
    g = np.linspace(0, 1, 256) ** 0.5
    np.testing.assert_allclose(lut.table[::16, 1], g, atol=1e-7)
    np.testing.assert_allclose(lut.table[:, 0], np.linspace(0, 1, 4081), atol=1e-7)
    curves, _ = read_gimp_curves_config(RESOURCES / "free-green.curves")
    assert curves["green"].curve_type == "free" and curves["green"].points == []


def test_smooth_curve_ignores_stale_samples():
    text = gimp_curves_config_text({"value": [(0, 0), (0.5, 0.8), (1, 1)]})
    # Replace the value curve's samples by the identity: GIMP recomputes them anyway.
    head, tail = text.split("(samples 256 ", 1)
    rest = tail.split(")", 1)[1]
    stale = head + "(samples 256 " + " ".join(repr(i / 255) for i in range(256)) + ")" + rest
    np.testing.assert_array_equal(
        read_gimp_curves(lines(stale)).table, read_gimp_curves(lines(text)).table
    )


def test_gimp28_settings_with_placeholder_points():
    curves, linear = read_gimp_curves_config(RESOURCES / "gimp28-tool-settings.curves")
    assert not linear
    assert curves["value"].points == [(0, 0), (0.25, 0.2), (0.75, 0.8), (1, 1)]
    assert curves["red"].points == [(0, 0), (0.5, 0.55), (1, 1)]
    lut = read_gimp_curves(RESOURCES / "gimp28-tool-settings.curves")
    want = gimp_curve_map(
        gimp_spline_samples(curves["value"].points), gimp_spline_samples(curves["red"].points)
    )
    np.testing.assert_allclose(lut.table[::16, 0], want, atol=1e-7)


def test_gimp3_trc_file():
    text = (RESOURCES / "gimp3.curves").read_text()
    assert "(trc non-linear)" in text and "(linear" not in text
    a = read_gimp_curves(RESOURCES / "gimp3.curves")
    b = read_gimp_curves(lines(text.replace("(trc non-linear)", "(linear no)")))
    np.testing.assert_array_equal(a.table, b.table)
    # GIMP writes the point (0.5, 0.5) at sample ROUND(127.5) = 128, i.e. x = 128/255.
    assert a.table[16 * 128, 0] == 0.5
    assert read_gimp_curves_config(lines(text.replace("non-linear", "linear")))[1] is True


def test_legacy_file():
    lut = read_gimp_curves(RESOURCES / "legacy.curves")
    curves, linear = read_gimp_curves_config(RESOURCES / "legacy.curves")
    assert not linear
    assert curves["red"].points == [(0, 26 / 255), (128 / 255, 158 / 255), (1, 1)]
    value = gimp_spline_samples(
        [(x / 255, y / 255) for x, y in [(0, 0), (64, 38), (128, 128), (192, 217), (255, 255)]]
    )
    want = gimp_curve_map(value, gimp_spline_samples(curves["red"].points))
    np.testing.assert_allclose(lut.table[::16, 0], want, atol=1e-7)
    np.testing.assert_allclose(lut.table[::16, 1], value, atol=1e-7)


def test_linear_light_curves_wrap_the_srgb_transfer():
    text = gimp_curves_config_text({"value": VALUE_S}, linear=True)
    assert "(linear yes)" in text
    lut = read_gimp_curves(lines(text))
    x = np.linspace(0, 1, 4081)
    want = linear_to_srgb(gimp_curve_map(gimp_spline_samples(VALUE_S), srgb_to_linear(x)))
    np.testing.assert_allclose(lut.table[:, 0], want, atol=1e-6)


def test_alpha_curve_kept_in_metadata():
    lut = read_gimp_curves(lines(gimp_curves_config_text({"alpha": [(0, 0.5), (1, 1)]})))
    assert len(lut.metadata["alpha_samples"]) == 256
    assert "alpha_samples" not in read_gimp_curves(lines(gimp_curves_config_text({}))).metadata


def test_size_keyword():
    assert read_gimp_curves(RESOURCES / "legacy.curves", size=256).size == 256


# --------------------------------------------------------------------------- errors

BARE = lines(gimp_curves_config_text({"value": [(0, 0), (0.5, 0.6), (1, 1)]}))


def replace_line(src: list[str], startswith: str, new: str) -> tuple[list[str], int]:
    out = list(src)
    for i, line in enumerate(out):
        if line.strip().startswith(startswith):
            out[i] = new
            return out, i + 1
    raise AssertionError(startswith)


def error(source, **kwargs) -> FormatError:
    with pytest.raises(FormatError) as info:
        read_gimp_curves(source, **kwargs)
    return info.value


def test_error_first_line_not_recognised():
    e = error(["# GIMP Levels File", "0 255 1.0 0 255"])
    assert e.message == "not a GIMP curves file: the first line is '# GIMP Levels File'"
    assert (e.path, e.line) == ("<lines>", 1)
    assert e.hint == "expected '# GIMP Curves File' or a GIMP curves tool settings file"


def test_error_unclosed_preset(tmp_path):
    text = gimp_curves_config_text({"value": VALUE_S}, preset="S").rstrip()
    text = text.removesuffix("# end of settings").rstrip()[:-1]  # drop the last ')'
    path = tmp_path / "broken.settings"
    path.write_text(text)
    e = error(path)
    assert e.message == "'(GimpCurvesConfig' opened here is never closed"
    assert (e.path, e.line) == (str(path), 3)
    assert str(e) == (
        f"{path}:3: '(GimpCurvesConfig' opened here is never closed "
        "(the file is truncated or a ')' is missing)"
    )


def test_error_unexpected_close():
    e = error(["# GIMP 'Curves' settings", "(time 0))"])
    assert (e.message, e.line) == ("unexpected ')' with no '(' open", 2)


def test_error_missing_points():
    src = [line for line in BARE if "(points " not in line or "0.59" not in line]
    assert len(src) == len(BARE) - 1
    e = error(src)
    assert e.message == "value curve: a smooth curve needs (points ...)"
    assert e.line == 11  # the "(curve" line of the value channel


def test_error_odd_number_of_coordinates():
    src, line = replace_line(BARE, "(points 6", "    (points 5 0 0 0.5 0.6 1)")
    e = error(src)
    assert (e.message, e.line) == ("value curve: odd number of point coordinates (5)", line)
    assert e.hint == "points are listed as x y pairs"


def test_error_count_mismatch():
    src, line = replace_line(BARE, "(points 6", "    (points 6 0 0 1 1)")
    e = error(src)
    assert e.message == "value curve: (points 6 ...) declares 6 values but has 4"
    assert e.line == line


def test_error_point_outside_unit_range():
    src, line = replace_line(BARE, "(points 6", "    (points 6 0 0 0.5 1.5 1 1)")
    e = error(src)
    assert (e.message, e.line) == ("value curve: point y = 1.5 is outside [0, 1]", line)


def test_error_n_points_mismatch():
    src, line = replace_line(BARE, "(n-points 3", "    (n-points 4)")
    e = error(src)
    assert (e.message, e.line) == ("value curve: n-points is 4 but points holds 3 points", line)


def test_error_point_types_mismatch():
    src, line = replace_line(BARE, "(point-types 3", "    (point-types 2 smooth smooth)")
    e = error(src)
    assert (e.message, e.line) == ("value curve: 2 point types for 3 points", line)


def test_error_not_a_number():
    src, line = replace_line(BARE, "(points 6", "    (points 6 0 0 half 0.6 1 1)")
    e = error(src)
    assert (e.message, e.line) == ("value curve: (points ...) expects numbers, found 'half'", line)


def test_error_samples_count():
    text = gimp_curves_config_text({"green": np.linspace(0, 1, 256)}, curve_type="free")
    src = lines(text)
    green = src.index("(channel green)")
    head, line = replace_line(src[green:], "(n-samples 256)", "    (n-samples 300)")
    src, line = src[:green] + head, green + line
    e = error(src)
    assert (e.message, e.line) == ("green curve: 256 samples but n-samples is 300", line + 1)


def test_error_no_curve_and_unknown_channel():
    e = error(["# GIMP 'Curves' settings", "", "(time 0)", "(linear no)"])
    assert (e.message, e.line) == ("no (curve ...) in the file", 1)
    src, line = replace_line(BARE, "(channel red)", "(channel luminance)")
    e = error(src)
    assert (
        e.message == "(channel ...) must be one of value, red, green, blue, alpha, got 'luminance'"
    )
    assert e.line == line


def test_error_unknown_preset_name():
    e = error(RESOURCES / "gimp-curves-tool.settings", name="Cold")
    assert e.message == "no preset named 'Cold'; the file holds '', 'Warm', 'Faded \"matte\"'"
    e = error(BARE, name="Warm")
    assert e.message == "no preset named 'Warm': the file holds one bare curves configuration"


def test_error_legacy():
    good = (RESOURCES / "legacy.curves").read_text().splitlines()
    bad = list(good)
    bad[2] = bad[2].replace("128 158", "300 158")
    e = error(bad)
    assert e.message == "red curve point 9: x = 300 is outside 0..255"
    assert e.line == 3 and e.hint == "unused points are written as -1 -1"
    e = error(good[:4])
    assert e.message == (
        "a legacy GIMP curves file needs 170 numbers (5 curves of 17 x y pairs), found 102"
    )
    assert e.line == 4
    bad = list(good)
    bad[1] = bad[1].replace("64 38", "64 3.8")
    e = error(bad)
    assert (e.message, e.line) == ("expected an integer, found '3.8'", 2)
    e = error(good, name="x")
    assert e.line == 1


def test_error_missing_file(tmp_path):
    e = error(tmp_path / "nope.curves")
    assert e.message == "cannot read the file: No such file or directory"
    assert e.path == str(tmp_path / "nope.curves")


def test_error_empty():
    e = error(["", "  "])
    assert (e.message, e.path, e.line) == ("empty file", "<lines>", None)


# --------------------------------------------------------------------------- real GIMP


def test_require_tool_skips_or_fails(monkeypatch, tmp_path):
    missing = "lutkit-no-such-tool-2.10"
    monkeypatch.delenv("LUTKIT_REQUIRE_EXTERNAL", raising=False)
    with pytest.raises(pytest.skip.Exception, match="is not installed"):
        require_tool(missing)
    monkeypatch.setenv("LUTKIT_REQUIRE_EXTERNAL", "1")
    with pytest.raises(pytest.fail.Exception, match="LUTKIT_REQUIRE_EXTERNAL=1"):
        require_tool(missing)
    tool = tmp_path / "lutkit-fake-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_tool(tool.name) == str(tool)


def test_script_fu_strings_are_escaped():
    assert gimp_runner.scheme_string('a "b" \\c') == '"a \\"b\\" \\\\c"'
    job = gimp_runner.curves_job('/tmp/x"y.png', "/tmp/o.png", [("red", [(0, 0), (1, 1)])])
    assert (
        '"/tmp/x\\"y.png"' in job
        and "(gimp-drawable-curves-spline layer 1 4 #(0.0 0.0 1.0 1.0))" in job
    )


def ramp_image() -> np.ndarray:
    """8 rows; every channel runs through all 256 levels (red up, green down, blue
    in a scrambled order)."""
    x = np.arange(256)
    row = np.stack([x, 255 - x, (x * 7) % 256], axis=-1)
    return np.repeat(row[None], 8, axis=0).astype(np.uint8)


LEGACY_VALUE = [(0, 0), (64, 38), (128, 128), (192, 217), (255, 255)]
LEGACY_RED = [(0, 26), (128, 158), (255, 255)]
FREE_GREEN = [float(np.float32(v)) for v in np.linspace(0, 1, 256) ** 0.6]


@pytest.fixture(scope="module")
def gimp_outputs(tmp_path_factory, photo):
    """Run every GIMP job of this module in one GIMP start; {job: (input, output)}."""
    require_tool(gimp_runner.GIMP)
    import cv2

    d = tmp_path_factory.mktemp("gimp")
    inputs = {"ramp": ramp_image(), "astronaut": photo}
    # A file name with a space, a quote and a non-ASCII letter checks the quoting.
    files = {"ramp": d / "ramp.png", "astronaut": d / 'astro "naut" é.png'}
    for name, image in inputs.items():
        ok, png = cv2.imencode(".png", image[..., ::-1])
        files[name].write_bytes(png.tobytes())
    channels = [(name, pts) for name, pts in CHANNEL_CURVES.items()]
    fl = gimp_runner.PRECISION_FLOAT_GAMMA
    jobs = {
        # 8-bit in, 8-bit out, one curve per call: exactly GIMP's 8-bit path.
        "value-u8": ("ramp", [("value", VALUE_S)], None),
        "channels-u8": ("ramp", channels, None),
        "astronaut-value-u8": ("astronaut", [("value", VALUE_S)], None),
        "free-u8": ("ramp", [gimp_runner.explicit_step("green", FREE_GREEN)], None),
        # Composition: channel curves, then the value curve, in float (16-bit PNG).
        "all-float": ("ramp", [*channels, ("value", VALUE_S)], fl),
        "astronaut-all-float": ("astronaut", [*channels, ("value", VALUE_S)], fl),
        "reversed-float": ("ramp", [("value", VALUE_S), *channels], fl),
        "legacy-float": (
            "ramp",
            [
                gimp_runner.spline_step_u8("red", LEGACY_RED),
                gimp_runner.spline_step_u8("value", LEGACY_VALUE),
            ],
            fl,
        ),
    }
    script = gimp_runner.batch(
        [
            gimp_runner.curves_job(files[src], d / f"{job}.png", steps, precision=prec)
            for job, (src, steps, prec) in jobs.items()
        ]
    )
    gimp_runner.run_gimp(script, timeout=240)
    out = {}
    for job, (src, _steps, _prec) in jobs.items():
        result = cv2.imread(str(d / f"{job}.png"), cv2.IMREAD_UNCHANGED)
        assert result is not None, job
        out[job] = (inputs[src], result[..., ::-1])
    return out


def compare(ours: np.ndarray, gimp: np.ndarray, job: str) -> tuple[float, float]:
    """Max and mean |difference| in 8-bit levels (16-bit GIMP output scaled by 1/257)."""
    if gimp.dtype == np.uint8:
        diff = np.abs(np.floor(ours * 255 + 0.5) - gimp)
    else:
        assert gimp.dtype == np.uint16, job
        diff = np.abs(ours * 255 - gimp / 257.0)
    worst, mean = float(diff.max()), float(diff.mean())
    print(f"\nGIMP agreement {job}: max {worst:.4f}, mean {mean:.5f} levels, {diff.size} values")
    return worst, mean


@pytest.mark.external
@pytest.mark.parametrize(
    ("job", "curves"),
    [
        ("value-u8", {"value": VALUE_S}),
        ("channels-u8", CHANNEL_CURVES),
        ("astronaut-value-u8", {"value": VALUE_S}),
        ("all-float", {"value": VALUE_S, **CHANNEL_CURVES}),
        ("astronaut-all-float", {"value": VALUE_S, **CHANNEL_CURVES}),
    ],
)
def test_agrees_with_gimp(gimp_outputs, job, curves):
    image, result = gimp_outputs[job]
    lut = read_gimp_curves(lines(gimp_curves_config_text(curves)))
    worst, mean = compare(apply_np(lut, image), result, job)
    assert worst <= 1.0
    if result.dtype == np.uint16:  # no 8-bit rounding: only the 16-bit PNG's half level
        assert worst <= 0.01
    else:  # float32 rounding in GIMP's u8 conversion decides a rare exact tie
        assert mean <= 0.01


@pytest.mark.external
def test_composition_order_is_detectable(gimp_outputs):
    """The value-first job must disagree, or the agreement above proves no order."""
    image, result = gimp_outputs["reversed-float"]
    lut = read_gimp_curves(lines(gimp_curves_config_text({"value": VALUE_S, **CHANNEL_CURVES})))
    worst, _ = compare(apply_np(lut, image), result, "reversed-float (must differ)")
    assert worst > 10


@pytest.mark.external
def test_free_curve_agrees_with_gimp(gimp_outputs):
    image, result = gimp_outputs["free-u8"]
    text = gimp_curves_config_text({"green": np.array(FREE_GREEN)}, curve_type="free")
    worst, mean = compare(apply_np(read_gimp_curves(lines(text)), image), result, "free-u8")
    assert worst <= 1.0 and mean <= 0.01


@pytest.mark.external
def test_legacy_file_agrees_with_gimp(gimp_outputs):
    image, result = gimp_outputs["legacy-float"]
    lut = read_gimp_curves(RESOURCES / "legacy.curves")
    worst, _ = compare(apply_np(lut, image), result, "legacy-float")
    assert worst <= 0.01
