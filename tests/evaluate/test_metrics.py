from __future__ import annotations

import math

import numpy as np
import pytest

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.errors import LutkitError
from lutkit.evaluate import metrics
from lutkit.models import baselines


@pytest.fixture(scope="module")
def pair(photo):
    """(truth, output): the photo and a warm-cast copy, float in [0, 1]."""
    clean = photo[100:228, 150:278].astype(np.float64) / 255.0
    cast = np.clip(linear_to_srgb(srgb_to_linear(clean) * [1.0, 0.9, 0.7]), 0, 1)
    return clean, cast


def test_delta_e_agrees_with_colour_science(pair):
    import colour

    clean, cast = pair
    cs = colour.RGB_COLOURSPACES["sRGB"]
    white = colour.XYZ_to_xy(cs.matrix_RGB_to_XYZ.sum(axis=1))

    def lab(rgb):
        return colour.XYZ_to_Lab(colour.RGB_to_XYZ(rgb, cs, None, apply_cctf_decoding=True), white)

    ref00 = colour.delta_E(lab(cast), lab(clean), method="CIE 2000")
    ref76 = colour.delta_E(lab(cast), lab(clean), method="CIE 1976")
    got = metrics.delta_e_stats(cast, clean)
    assert got["de2000_mean"] == pytest.approx(ref00.mean(), rel=1e-6)
    assert got["de2000_median"] == pytest.approx(np.median(ref00), rel=1e-6)
    assert got["de2000_p95"] == pytest.approx(np.percentile(ref00, 95), rel=1e-6)
    assert got["de76_mean"] == pytest.approx(ref76.mean(), rel=1e-6)


def test_delta_e_2000_of_sharma_pair():
    # Sharma, Wu and Dalal (2005), pair 1: L*a*b* (50, 2.6772, -79.7751) vs (50, 0, -82.7485).
    from lutkit.color import delta_e_2000

    assert delta_e_2000([50, 2.6772, -79.7751], [50, 0, -82.7485]) == pytest.approx(
        2.0425, abs=1e-4
    )


def test_psnr_and_ssim_agree_with_scikit_image(pair):
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    clean, cast = pair
    assert metrics.psnr(cast, clean) == pytest.approx(
        peak_signal_noise_ratio(clean, cast, data_range=1.0), rel=1e-6
    )
    ref = structural_similarity(clean, cast, channel_axis=-1, data_range=1.0)
    assert metrics.ssim(cast, clean) == pytest.approx(ref, rel=1e-6)
    # uint8 input is the same image as its float version
    u8 = np.rint(cast * 255).astype(np.uint8)
    assert metrics.psnr(u8, clean) == pytest.approx(metrics.psnr(u8 / 255.0, clean))


def test_identity_on_clean_input_is_perfect(pair):
    clean, _ = pair
    row = metrics.image_metrics(clean, clean, clean)
    assert row["de2000_mean"] == 0 and row["de2000_p95"] == 0 and row["de76_mean"] == 0
    assert row["psnr"] == metrics.PSNR_CAP
    assert row["ssim"] == pytest.approx(1.0) and row["edge_ssim"] == pytest.approx(1.0)
    assert row["angular_error"] == pytest.approx(0.0, abs=1e-6)


def test_angular_error_of_a_known_cast(pair):
    clean, _ = pair
    gains = np.array([1.1, 1.0, 0.8])
    dim = clean * 0.7  # no pixel clips after the gains
    out = linear_to_srgb(srgb_to_linear(dim) * gains)
    expected = math.degrees(math.acos(gains.sum() / (np.linalg.norm(gains) * math.sqrt(3))))
    assert metrics.angular_error(out, dim) == pytest.approx(expected, abs=1e-6)
    # exposure alone is not a colour error
    brighter = linear_to_srgb(srgb_to_linear(dim) * 1.3)
    assert metrics.angular_error(brighter, dim) == pytest.approx(0.0, abs=1e-6)


def test_edge_score_sees_blur_not_a_colour_map(pair):
    import cv2

    clean, cast = pair
    blurred = cv2.GaussianBlur(clean, (0, 0), 2.0)
    assert metrics.edge_ssim(cast, clean) > 0.9
    assert metrics.edge_ssim(blurred, clean) < metrics.edge_ssim(cast, clean) - 0.2


def test_bad_inputs_are_one_line_errors(pair):
    clean, _ = pair
    with pytest.raises(LutkitError, match="differ in size"):
        metrics.psnr(clean, clean[:50])
    with pytest.raises(LutkitError, match=r"\(H, W, 3\)"):
        metrics.delta_e_stats(clean[..., 0], clean[..., 0])


def test_gray_world_neutralises_a_uniform_cast(pair):
    clean, _ = pair
    lin = srgb_to_linear(clean) * 0.8
    cast = linear_to_srgb(lin * [1.0, 0.85, 0.6])
    out = baselines.gray_world(cast)
    mean = srgb_to_linear(out.astype(np.float64)).reshape(-1, 3).mean(axis=0)
    assert np.ptp(mean) < 1e-4 * mean.mean()
    assert not np.shares_memory(out, cast)


def test_gray_edge_recovers_a_diagonal_cast(pair):
    """Gray edge's light is the gradient p-norm: a gain in linear light scales it by
    exactly that gain (checked against the gains), and correcting undoes the cast up
    to the overall scale that keep='mean' leaves."""
    clean, _ = pair
    gains = np.array([0.9, 0.8, 0.6])
    cast = linear_to_srgb(srgb_to_linear(clean) * gains)
    ratio = baselines.estimate_edge_illuminant(cast) / baselines.estimate_edge_illuminant(clean)
    assert ratio / ratio.mean() == pytest.approx(gains / gains.mean(), rel=2e-3)
    fixed = srgb_to_linear(baselines.gray_edge(cast).astype(np.float64))
    again = srgb_to_linear(baselines.gray_edge(clean).astype(np.float64))
    k = float((fixed * again).sum() / (again**2).sum())  # the overall scale
    inside = (fixed < 0.99).all(axis=2) & (again < 0.99).all(axis=2)  # not clipped
    assert inside.mean() > 0.9
    assert np.abs(fixed - k * again)[inside].max() < 2e-3
    flat = np.full((8, 8, 3), 0.5)
    with pytest.raises(LutkitError, match="p > 0 and sigma > 0"):
        baselines.gray_edge(flat, sigma=0)


def _gray_and_coloured_scene(light: np.ndarray) -> np.ndarray:
    """A linear-light scene under ``light``: the left half a gray surface (one texture in
    every channel), the right half coloured surfaces (another texture per channel)."""
    rng = np.random.default_rng(7)
    import cv2

    def texture() -> np.ndarray:
        return cv2.GaussianBlur(rng.uniform(0.05, 0.6, (96, 48)), (0, 0), 2.0)

    gray = np.repeat(texture()[..., None], 3, axis=2)
    coloured = np.stack([texture() * k for k in (0.9, 0.5, 0.3)], axis=2)
    return np.concatenate([gray, coloured], axis=1) * light


def test_gray_pixels_find_the_gray_surface_under_any_light():
    """A gain in linear light leaves the grayness of a gray surface at 0, so the grayest
    pixels are the gray half whatever the light, and their colour is the light's (gray
    world, on the same scene, is pulled by the coloured half)."""
    for light in (np.array([1.0, 0.8, 0.5]), np.array([0.6, 0.8, 1.0]), np.ones(3)):
        scene = linear_to_srgb(_gray_and_coloured_scene(light))
        index = baselines.grayness(scene)
        finite = np.isfinite(index)
        assert np.median(index[:, :40][finite[:, :40]]) < 0.1 * np.median(
            index[:, 56:][finite[:, 56:]]
        )
        est = baselines.estimate_gray_pixel_illuminant(scene, share=0.05)
        assert est == pytest.approx(light / light.sum(), abs=2e-3)
        world = baselines.estimate_illuminant(scene, 1.0)
        assert np.abs(world / world.sum() - light / light.sum()).max() > 0.02
    fixed = srgb_to_linear(baselines.gray_pixels(scene).astype(np.float64))
    assert np.ptp(fixed[:, :40].reshape(-1, 3).mean(axis=0) / fixed[:, :40].mean()) < 0.01


def test_gray_pixels_reject_bad_settings_and_fall_back_on_a_flat_image():
    flat = np.full((16, 16, 3), 0.4)
    est = baselines.estimate_gray_pixel_illuminant(flat * [1.0, 0.9, 0.8])
    lin = srgb_to_linear(flat[0, 0] * [1.0, 0.9, 0.8])
    assert est == pytest.approx(lin / lin.sum(), rel=1e-3)  # no contrast: gray world
    with pytest.raises(LutkitError, match="share of gray pixels"):
        baselines.gray_pixels(flat, share=0)
    with pytest.raises(LutkitError, match="sigma > 0"):
        baselines.grayness(flat, sigma=0)


def test_white_patch_and_shades_of_gray(pair):
    clean, _ = pair
    scene = clean.copy()
    scene[0, 0] = 1.0  # a white patch
    cast = linear_to_srgb(srgb_to_linear(scene) * [0.9, 0.8, 0.6])
    assert np.abs(baselines.white_patch(cast) - scene).max() < 1e-4
    light = baselines.estimate_illuminant(cast, 6)
    assert np.all(baselines.estimate_illuminant(cast, 1) <= light + 1e-12)
    assert baselines.shades_of_gray(cast).shape == cast.shape
