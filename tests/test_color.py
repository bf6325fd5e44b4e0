from __future__ import annotations

import colour
import numpy as np
import pytest

from lutkit import color


def test_transfer_functions_match_colour_science():
    x = np.random.default_rng(0).random((1000, 3))
    np.testing.assert_allclose(color.srgb_to_linear(x), colour.cctf_decoding(x, "sRGB"), atol=1e-12)
    np.testing.assert_allclose(color.linear_to_srgb(x), colour.cctf_encoding(x, "sRGB"), atol=1e-12)
    np.testing.assert_allclose(color.linear_to_srgb(color.srgb_to_linear(x)), x, atol=1e-12)


def test_float32_stays_float32():
    x = np.linspace(0, 1, 10, dtype=np.float32)
    assert color.srgb_to_linear(x).dtype == np.float32


def test_lab_of_white_and_grey():
    lab = color.srgb_to_lab(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(lab, [[100, 0, 0], [0, 0, 0]], atol=1e-3)


def test_delta_e_2000_reference_pair():
    # Sharma, Wu & Dalal (2005), test pair 1: delta E 2000 = 2.0425.
    d = color.delta_e_2000(np.array([50.0, 2.6772, -79.7751]), np.array([50.0, 0.0, -82.7485]))
    assert abs(float(d) - 2.0425) < 1e-4


def test_image_delta_e_zero_for_identical():
    x = np.random.default_rng(1).random((8, 8, 3))
    assert color.image_delta_e(x, x).max() == 0


@pytest.mark.parametrize("low", [-0.5, 0.0])  # with negatives; none (the no-sign path)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transfer_functions_are_the_plain_formulas_bit_for_bit(dtype, low):
    """The in-place transfer functions give the textbook expressions' bits exactly."""
    from lutkit.color import linear_to_srgb, srgb_to_linear

    v = np.concatenate(
        [np.random.default_rng(0).uniform(low, 1.5, 3000), [0.0, -0.0, 0.04045, 0.0031308, 1.0]]
    ).astype(dtype)
    a = np.abs(v.astype(np.float64))
    lin = np.sign(v) * np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / (1 + 0.055)) ** 2.4)
    enc = np.sign(v) * np.where(
        a <= 0.04045 / 12.92, a * 12.92, (1 + 0.055) * a ** (1 / 2.4) - 0.055
    )
    assert srgb_to_linear(v).dtype == dtype
    assert srgb_to_linear(v).tobytes() == lin.astype(dtype).tobytes()
    assert linear_to_srgb(v).tobytes() == enc.astype(dtype).tobytes()
    assert isinstance(srgb_to_linear(np.float32(0.5)), np.float32)
