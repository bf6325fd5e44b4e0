"""``lut info`` numbers with units (8-bit levels, CIEDE2000 on a ColorChecker) and
``lut plot``'s ColorChecker row, checked against computations made here by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from lutkit.cli import main
from lutkit.color import colorchecker_srgb
from lutkit.luts.cube import write_cube
from lutkit.luts.info import chart_patches, describe, format_info, plot_lut, short_title, swatch_row
from lutkit.luts.model import LUT1D, LUT3D

colour = pytest.importorskip("colour")

GAIN = np.array([0.9, 1.0, 0.8])


def _by_hand_srgb() -> np.ndarray:
    """The ColorChecker in sRGB from its xyY, with matrices typed from the standards:
    xyY -> XYZ, Bradford D50 -> D65, IEC 61966-2-1's XYZ -> RGB and transfer curve."""
    chart = colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"]
    xyy = np.array(list(chart.data.values()))
    x, y, big_y = xyy[:, 0], xyy[:, 1], xyy[:, 2]
    xyz = np.stack([x * big_y / y, big_y, (1 - x - y) * big_y / y], -1)

    def white(xy):
        return np.array([xy[0] / xy[1], 1.0, (1 - xy[0] - xy[1]) / xy[1]])

    bradford = np.array(
        [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
    )
    src, dst = bradford @ white(chart.illuminant), bradford @ white((0.3127, 0.3290))
    adapt = np.linalg.inv(bradford) @ np.diag(dst / src) @ bradford
    to_rgb = np.array(
        [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]
    )
    linear = np.clip(xyz @ adapt.T @ to_rgb.T, 0.0, 1.0)
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _de2000(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def lab(rgb):
        return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(rgb), [0.3127, 0.3290])

    return colour.delta_E(lab(a), lab(b), method="CIE 2000")


def gain_lut(size: int = 9) -> LUT3D:
    # A per-channel gain is linear, so interpolation reproduces it exactly.
    return LUT3D.from_function(lambda x: x * GAIN, size, title="gain")


def test_colorchecker_patches_match_a_by_hand_conversion() -> None:
    names, srgb = colorchecker_srgb()
    assert len(names) == 24 and names[0] == "dark skin" and names[18].startswith("white")
    # Half an 8-bit level: the standards' 4-decimal matrices against exact ones.
    assert np.abs(srgb - _by_hand_srgb()).max() < 0.5 / 255


@pytest.mark.parametrize("lut", [LUT3D.identity(17), LUT1D.identity(256)], ids=["3D", "1D"])
def test_identity_changes_nothing(lut) -> None:
    facts = describe(lut)
    assert facts["max_change_8bit"] == 0.0 and facts["mean_change_8bit"] == 0.0
    assert facts["colorchecker_de2000_max"] < 1e-4
    assert facts["is_identity"]


def test_gain_numbers_match_an_independent_computation() -> None:
    facts = describe(gain_lut())
    # Over the [0, 1] lattice: |x * g - x| is largest at 1 (0.2 on blue) and averages
    # (0.1 + 0 + 0.2) / 2 / 3 over the three channels.
    assert facts["max_change_8bit"] == pytest.approx(0.2 * 255, abs=1e-4)
    assert facts["mean_change_8bit"] == pytest.approx(0.05 * 255, abs=1e-4)
    before = _by_hand_srgb()
    de = _de2000(before, before * GAIN)
    assert facts["colorchecker_de2000_mean"] == pytest.approx(de.mean(), abs=0.01)
    assert facts["colorchecker_de2000_max"] == pytest.approx(de.max(), abs=0.01)
    names = list(colour.CCS_COLOURCHECKERS["ColorChecker24 - After November 2014"].data)
    assert facts["colorchecker_worst_patch"] == names[int(np.argmax(de))]


def test_text_form_has_units(tmp_path) -> None:
    text = format_info(describe(gain_lut()))
    assert "max change" in text and "51.00 8-bit levels" in text
    assert "dE2000 over 24 patches" in text
    path = write_cube(gain_lut(), tmp_path / "gain.cube")
    result = CliRunner().invoke(main, ["lut", "info", str(path)])
    assert result.exit_code == 0, result.output
    assert "51.00 8-bit levels" in result.output
    facts = json.loads(CliRunner().invoke(main, ["lut", "info", str(path), "--json"]).output)
    assert facts["max_change_8bit"] == pytest.approx(51.0, abs=1e-4)


def test_swatch_row_is_the_chart_before_and_after() -> None:
    lut = gain_lut()
    row, de = swatch_row(lut)
    _, before, after = chart_patches(lut)
    assert row.shape == (2, 24, 3) and row.dtype == np.uint8
    assert np.array_equal(row[0], np.rint(before * 255).astype(np.uint8))
    assert np.abs(row[1].astype(int) - np.rint(_by_hand_srgb() * GAIN * 255)).max() <= 1
    assert de == pytest.approx(describe(lut)["colorchecker_de2000_mean"])


def _colour_count(path, rgb) -> int:
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    return int(np.all(pixels == np.asarray(rgb, np.uint8), axis=1).sum())


@pytest.mark.parametrize("lut", [gain_lut(), LUT1D.from_function(lambda x: x**0.7, 64)])
def test_plot_draws_every_patch_before_and_after(tmp_path, lut) -> None:
    path = plot_lut(lut, tmp_path / "plot.png")
    row, _ = swatch_row(lut)
    for colours in row:  # before, then after
        for rgb in colours:
            assert _colour_count(path, rgb) >= 100, rgb  # a swatch, not a stray pixel


def test_plot_title_is_short(tmp_path) -> None:
    long = "High-pressure sodium street lights: an orange-yellow cast, blues lost\nmore"
    assert short_title(long) == "High-pressure sodium street lights: an\u2026"
    assert len(short_title(long)) <= 40
    assert short_title("warm") == "warm"
    result = CliRunner().invoke(
        main,
        [
            "lut",
            "plot",
            str(write_cube(gain_lut(), tmp_path / "g.cube")),
            "-o",
            str(tmp_path / "g.png"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_a_plot_over_a_wide_domain_draws_the_lut_in_its_own_values(tmp_path, monkeypatch):
    """An identity over -0.5..2 is drawn as the identity: every neutral-axis curve on the
    dotted y = x line, every ramp's own channel too, against the input values."""
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "close", figures.append)
    plot_lut(LUT3D.identity(9, (-0.5, 2.0)), tmp_path / "p.png")
    neutral, ramps = figures[0].axes[:2]
    for line in neutral.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        assert x[0] == -0.5 and x[-1] == 2.0
        np.testing.assert_allclose(y, x, atol=1e-5)
    for line in ramps.get_lines()[0::4]:  # each ramp's own channel
        np.testing.assert_allclose(line.get_ydata(), line.get_xdata(), atol=1e-5)
    assert neutral.get_xlim() == (-0.5, 2.0)
