from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from lutkit.distort.base import all_ops, merged
from lutkit.distort.film import (
    CrossProcess,
    CrossProcessParams,
    FadeParams,
    HalationParams,
    StainParams,
    VignetteParams,
)
from lutkit.errors import ConfigError

REGISTRY = all_ops()

COLORMAP_OPS = ["film.fade", "film.cross_process", "film.stain"]
SPATIAL_OPS = [
    "film.halation",
    "film.vignette",
    "film.light_leak",
    "film.grain",
    "film.dust",
    "film.scratches",
    "film.jpeg",
]
ALL_OPS = COLORMAP_OPS + SPATIAL_OPS
OLD_PRINT = FadeParams(age=1.0, retention=(0.55, 0.9, 0.7), fog=(0.02, 0.04, 0.08))


def _area(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def big(photo) -> np.ndarray:
    """The astronaut, area-downsampled to 128x128, float32 in [0, 1]."""
    return _area(photo.astype(np.float32) / 255, 128)


@pytest.fixture(scope="module")
def crop(photo) -> np.ndarray:
    """A 256x256 crop of the astronaut (face, flag, suit), float32 in [0, 1]."""
    return np.ascontiguousarray(photo[0:256, 128:384].astype(np.float32) / 255)


def _params(name: str, k: int):
    op = REGISTRY[name]
    return op, op.sample(np.random.default_rng(k), merged(op, None))


def _flat(value: float, size: int = 128) -> np.ndarray:
    return np.full((size, size, 3), value, np.float32)


def test_all_film_ops_registered_with_the_right_colormap_flag():
    film = {n for n, op in REGISTRY.items() if op.family == "film"}
    assert film == set(ALL_OPS)
    assert {n for n in film if REGISTRY[n].colormap} == set(COLORMAP_OPS)


@pytest.mark.parametrize("name", ALL_OPS)
@pytest.mark.parametrize("k", [0, 1, 2])
def test_contract_shape_range_purity_determinism(name, k, big):
    op, params = _params(name, k)
    before = big.copy()
    out = op.apply(big, params)
    assert out.shape == big.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(big, before), "input was modified"
    assert not np.array_equal(out, big), "op did nothing"
    # Same seed -> same params -> same bytes.
    _, again = _params(name, k)
    assert again == params
    assert op.apply(big, again).tobytes() == out.tobytes()
    # JSON round trip of the params reproduces the output exactly.
    restored = op.params_type.from_dict(json.loads(json.dumps(params.to_dict())))
    assert restored == params
    assert op.apply(big, restored).tobytes() == out.tobytes()
    label = op.label(params)
    assert 0 < len(label) <= 40


@pytest.mark.parametrize("name", COLORMAP_OPS)
def test_colormap_ops_are_exactly_pointwise(name, big):
    op, params = _params(name, 3)
    order = np.random.default_rng(7).permutation(big.shape[0] * big.shape[1])
    shuffled = big.reshape(-1, 3)[order].reshape(big.shape)
    out = op.apply(shuffled, params).reshape(-1, 3)
    unshuffled = np.empty_like(out)
    unshuffled[order] = out
    assert np.array_equal(unshuffled.reshape(big.shape), op.apply(big, params))


@pytest.mark.parametrize("name", ["film.halation", "film.vignette", "film.light_leak"])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_optical_ops_agree_across_resolutions(name, k, photo):
    # Applying at 512 and downsampling looks like applying at 256. (Halation thresholds
    # highlights, so small highlights averaged away at the lower size glow less: the
    # disagreement shrinks as the size grows, 0.3 -> 0.17 -> 0.1 of the effect.)
    op, params = _params(name, k)
    big = photo.astype(np.float32) / 255
    small = _area(big, 256)
    diff = np.abs(_area(op.apply(big, params), 256) - op.apply(small, params)).mean()
    effect = np.abs(op.apply(small, params) - small).mean()
    assert diff < 0.003
    assert diff < 0.2 * effect


@pytest.mark.parametrize("k", [0, 1, 2])
def test_grain_strength_agrees_across_resolutions(k, big):
    op, params = _params("film.grain", k)
    small = _area(big, 64)
    hi = np.std(_area(op.apply(big, params), 64) - small)
    lo = np.std(op.apply(small, params) - small)
    assert 0.8 < hi / lo < 1.25


def test_grain_on_a_black_and_white_print_is_silver(big):
    # It put colour noise on a greyscale print (mean chroma 5 ΔE in a trial).
    from lutkit.distort.film_damage import GrainParams

    op = REGISTRY["film.grain"]
    assert op.sample(np.random.default_rng(0), op.ranges).grey == "silver"  # every draw
    grey = np.repeat(big.mean(axis=2, keepdims=True), 3, axis=2).astype(np.float32)
    out = op.apply(grey, GrainParams(0.12, 0.002, 0.4, 7, "silver"))
    assert np.abs(out - grey).max() > 0.02  # grain there is
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    colour = op.apply(big, GrainParams(0.12, 0.002, 0.4, 7, "silver"))  # a colour photo: dye
    assert not np.array_equal(colour[..., 0] - big[..., 0], colour[..., 1] - big[..., 1])


def test_grain_recorded_before_silver_replays_as_it_was_made(big):
    # A record from before the ``grey`` field (no such key) was made with dye grain on
    # a greyscale photo too: replaying it must give those bytes, not silver grain.
    from lutkit.distort.base import OpRecord, apply_chain

    grey = np.repeat(big.mean(axis=2, keepdims=True), 3, axis=2).astype(np.float32)
    old = {"amount": 0.12, "size": 0.002, "correlation": 0.4, "seed": 7}
    rec = OpRecord.from_dict({"op": "film.grain", "params": old})
    assert rec.params.grey == "dye"
    out = apply_chain(grey, [rec])
    assert not np.array_equal(out[..., 0], out[..., 1])  # dye grain, as it was made
    new = OpRecord.from_dict({"op": "film.grain", "params": {**old, "grey": "silver"}})
    assert np.array_equal(apply_chain(grey, [new])[..., 0], apply_chain(grey, [new])[..., 2])
    with pytest.raises(ConfigError, match=r"grey: must be one of dye, silver, got 'gold'"):
        OpRecord.from_dict({"op": "film.grain", "params": {**old, "grey": "gold"}})


# --------------------------------------------------------------------------- fade


def test_fade_identity_at_full_retention_and_no_fog(big):
    op = REGISTRY["film.fade"]
    for age in (0.0, 0.5, 1.0):
        out = op.apply(big, FadeParams(age, (1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))
        assert np.abs(out - big).max() < 1e-5
    # Age 0 is fresh whatever the end point.
    assert (
        np.abs(op.apply(big, FadeParams(0.0, (0.4, 0.8, 0.5), (0.1, 0.1, 0.2))) - big).max() < 1e-5
    )


def test_old_print_turns_mid_grey_reddish_magenta():
    r, g, b = REGISTRY["film.fade"].apply(_flat(0.5, 4), OLD_PRINT)[0, 0]
    assert r > b > g  # cyan lost most, then yellow; magenta survives
    assert r - g > 0.05


def test_old_print_lowers_contrast_and_dims_yellowed_whites():
    ramp = np.repeat(np.linspace(0, 1, 64, dtype=np.float32)[None, :, None], 3, axis=2)
    out = REGISTRY["film.fade"].apply(ramp, OLD_PRINT)[0]
    luma = out @ np.float32([0.2126, 0.7152, 0.0722])
    assert luma[0] > 0.05  # lower maximum density: lifted blacks
    assert luma[-1] - luma[0] < 0.95  # less contrast
    assert np.all(np.diff(luma) > 0)  # still monotone
    white = out[-1]
    assert white[2] < white[0] and white[2] < white[1]  # blue fog: yellowed white


def test_fade_sampled_ranges_give_magenta_casts(big):
    op = REGISTRY["film.fade"]
    grey = _flat(0.5, 4)
    for k in range(20):
        r, g, b = op.apply(grey, op.sample(np.random.default_rng(k), merged(op, None)))[0, 0]
        assert r > g - 0.01


def test_fade_default_draws_are_mostly_reddish_and_one_in_six_bluish():
    # docs/distortions.md and the op's docstring say so.
    op = REGISTRY["film.fade"]
    grey, rng = _flat(0.46, 1), np.random.default_rng(0)
    outs = np.array([op.apply(grey, op.sample(rng, merged(op, None)))[0, 0] for _ in range(600)])
    bluish = float(np.mean(outs[:, 2] > outs[:, 0]))
    reddish = float(np.mean((outs[:, 0] > outs[:, 1]) & (outs[:, 0] > outs[:, 2])))
    assert 0.11 < bluish < 0.23 and reddish > 0.75


# ------------------------------------------------------------ cross process, stain


def test_cross_process_cyan_shadows_yellow_highlights_more_contrast():
    op = REGISTRY["film.cross_process"]
    p = CrossProcessParams(
        CrossProcess.SLOPE, CrossProcess.SHIFT, CrossProcess.BLACK, CrossProcess.WHITE, 1.0
    )
    dark = op.apply(_flat(0.15, 2), p)[0, 0]
    light = op.apply(_flat(0.8, 2), p)[0, 0]
    assert dark[0] < dark[1] and dark[0] < dark[2]  # red lowest: cyan-blue shadows
    assert light[2] < light[0] and light[2] < light[1]  # blue lowest: yellow highlights
    mid = op.apply(np.float32([[[0.4] * 3, [0.6] * 3]]), p)[0]
    assert mid[1, 1] - mid[0, 1] > 1.3 * 0.2  # green: steeper than identity in the mids


def test_cross_process_strength_zero_is_identity(big):
    op = REGISTRY["film.cross_process"]
    p = CrossProcessParams(
        CrossProcess.SLOPE, CrossProcess.SHIFT, CrossProcess.BLACK, CrossProcess.WHITE, 0.0
    )
    assert np.abs(op.apply(big, p) - big).max() < 1e-6


def test_stain_filters_white_and_lifts_black(big):
    from lutkit.color import linear_to_srgb

    op = REGISTRY["film.stain"]
    t = (0.95, 0.85, 0.6)
    out = op.apply(np.float32([[[1, 1, 1], [0, 0, 0]]]), StainParams(t, 0.02))[0]
    np.testing.assert_allclose(out[0], linear_to_srgb(np.float64(t)), atol=1e-6)
    np.testing.assert_allclose(out[1], linear_to_srgb(0.02 * np.float64(t)), atol=1e-6)
    assert np.abs(op.apply(big, StainParams((1.0, 1.0, 1.0), 0.0)) - big).max() < 1e-6


# ------------------------------------------------------------------------- optics


def test_halation_is_a_red_glow_around_highlights_only():
    op = REGISTRY["film.halation"]
    p = HalationParams(0.6, 0.02, 1.0, (1.0, 0.3, 0.06))
    image = _flat(0.2)
    image[60:68, 60:68] = 1.0
    delta = op.apply(image, p) - image
    ring = delta[50:58, 60:68]  # beside the highlight
    assert ring[..., 0].mean() > 0.02
    assert ring[..., 0].mean() > ring[..., 1].mean() > ring[..., 2].mean()
    assert np.abs(delta[:20, :20]).max() < 1e-4  # far away: nothing
    dim = _flat(0.5)  # linear 0.21: below the threshold, no glow anywhere
    assert np.abs(op.apply(dim, p) - dim).max() < 1e-5


def test_vignette_darkens_corners_by_strength_in_linear_light():
    from lutkit.color import srgb_to_linear

    op = REGISTRY["film.vignette"]
    out = op.apply(_flat(0.8), VignetteParams(0.5, 0.5, 0.4, (0.0, 0.0)))
    lin = srgb_to_linear(out[..., 1])
    lin0 = float(srgb_to_linear(np.float32(0.8)))
    assert abs(lin[64, 64] - lin0) < 1e-5  # untouched centre
    assert abs(lin[0, 0] / lin0 - 0.5) < 1e-4  # corner: past radius + softness
    assert 0.5 < lin[0, 64] / lin0 < 1.0  # edge middle: on the slope
    assert np.allclose(lin, lin[::-1, ::-1], atol=1e-6)  # symmetric


@pytest.mark.parametrize("edge", ["left", "right", "top", "bottom"])
def test_light_leak_comes_in_from_its_edge_warm(edge, big):
    op, params = _params("film.light_leak", 0)
    params = type(params)(**{**params.to_dict(), "edge": edge, "position": 0.5})
    delta = op.apply(_flat(0.3), params) - _flat(0.3)
    side = {
        "left": delta[:, :16],
        "right": delta[:, -16:],
        "top": delta[:16],
        "bottom": delta[-16:],
    }
    far = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}[edge]
    assert side[edge].mean() > 5 * side[far].mean() + 0.01
    r, g, b = side[edge].reshape(-1, 3).mean(0)
    assert r >= g > b  # warm


# ------------------------------------------------------------------------- damage


def test_grain_keeps_mean_and_peaks_in_midtones_not_white(crop):
    op, params = _params("film.grain", 0)
    out = op.apply(crop, params)
    assert abs(out.mean() - crop.mean()) < 0.003
    stds = {v: float(np.std(op.apply(_flat(v), params))) for v in (0.25, 0.5, 0.9, 1.0)}
    assert stds[0.5] > 0.005
    assert stds[1.0] < 1e-4  # paper white has no dye, no grain
    assert stds[0.5] > stds[0.9] > stds[1.0]
    assert stds[0.25] > stds[0.9]
    for v in (0.25, 0.5):
        assert abs(op.apply(_flat(v), params).mean() - v) < 0.003


def test_grain_channels_are_partly_correlated():
    op, params = _params("film.grain", 0)
    for corr, lo, hi in ((0.0, -0.1, 0.1), (0.5, 0.3, 0.7), (1.0, 0.95, 1.0)):
        p = type(params)(params.amount, params.size, corr, params.seed)
        patch = _flat(0.5)
        patch[..., 2] += 0.002  # a colour, not grey: a grey print gets silver grain
        n = op.apply(patch, p) - patch
        c = np.corrcoef(n[..., 0].ravel(), n[..., 1].ravel())[0, 1]
        assert lo < c <= hi  # corr 1.0 can round to exactly 1.0


@pytest.mark.parametrize("name", ["film.dust", "film.scratches"])
def test_dust_and_scratches_touch_few_pixels(name, crop):
    op = REGISTRY[name]
    for k in range(5):
        params = op.sample(np.random.default_rng(k), merged(op, None))
        changed = (op.apply(crop, params) != crop).any(axis=-1).mean()
        assert 0 < changed < 0.05, (k, changed)


def test_dust_polarity(crop):
    op, params = _params("film.dust", 1)
    mid = _flat(0.5, 256)
    for polarity, sign in (("dark", -1), ("bright", 1)):
        p = type(params)(**{**params.to_dict(), "polarity": polarity})
        delta = op.apply(mid, p) - mid
        assert (sign * delta >= 0).all() and np.abs(delta).max() > 0.1


def test_jpeg_error_falls_with_quality(crop):
    op, params = _params("film.jpeg", 0)
    errs = [np.abs(op.apply(crop, type(params)(q, "4:2:0")) - crop).mean() for q in (10, 50, 95)]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.01
