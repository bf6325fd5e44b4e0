"""Lighting ops: determinism, round trips, casts on grey, agreement with colour-science."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.distort import lighting as L
from lutkit.distort.base import REGISTRY, Op, Uniform, merged
from lutkit.errors import ConfigError

OPS = ["lighting.cct", "lighting.named", "lighting.mixed", "lighting.exposure"]
CATS = ["Von Kries", "Bradford", "CAT02"]


@pytest.fixture(scope="module")
def crop(photo) -> np.ndarray:
    return (photo[180:244, 200:264].astype(np.float32) / 255).copy()


@pytest.fixture(scope="module")
def muted(crop) -> np.ndarray:
    # Mid greys and muted colours: nothing clips under a moderate light.
    return (0.35 + 0.3 * crop).astype(np.float32)


def get_op(name: str) -> Op:
    # Importing lutkit.distort.lighting registered these; the other families stay out.
    return REGISTRY[name]


def grey(v: float = 0.5) -> np.ndarray:
    return np.full((4, 4, 3), v, np.float32)


def _srgb():
    import colour

    return colour.RGB_COLOURSPACES["sRGB"]


# ------------------------------------------------------------------------ protocol


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_op_contract(name, seed, crop):
    op = get_op(name)
    before = crop.copy()
    params = op.sample(np.random.default_rng(seed), merged(op, None))
    again = op.sample(np.random.default_rng(seed), merged(op, None))
    assert params == again
    out = op.apply(crop, params)
    assert out.shape == crop.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(crop, before), "input was modified"
    assert out.tobytes() == op.apply(crop, again).tobytes()
    # Params survive JSON: same output bytes.
    text = json.dumps(params.to_dict())
    back = op.params_type.from_dict(json.loads(text))
    assert back == params
    assert op.apply(crop, back).tobytes() == out.tobytes()
    assert isinstance(op.label(params), str) and op.label(params)
    assert not np.array_equal(out, crop) or name == "lighting.exposure"


def test_colormap_flags():
    assert get_op("lighting.cct").colormap
    assert get_op("lighting.named").colormap
    assert get_op("lighting.exposure").colormap
    assert not get_op("lighting.mixed").colormap


def test_cct_sampling_respects_ranges():
    op = get_op("lighting.cct")
    ranges = merged(op, {"cct": Uniform(2500.0, 3500.0)})
    ccts = [op.sample(np.random.default_rng(k), ranges).cct for k in range(200)]
    assert 2500.0 <= min(ccts) and max(ccts) <= 3500.0
    fixed = merged(op, {"cct": Uniform(3000.0, 3000.0)})
    assert op.sample(np.random.default_rng(0), fixed).cct == 3000.0
    # Uniform in mireds: more draws below the midpoint in kelvin than above it.
    wide = [op.sample(np.random.default_rng(k), merged(op, None)).cct for k in range(400)]
    assert np.mean(np.array(wide) < 7000.0) > 0.6


def test_labels():
    assert (
        get_op("lighting.cct").label(L.CCTParams(3200.0, 0.005, "auto", "Bradford", 1.0))
        == "3200K +0.005 Bradford"
    )
    assert get_op("lighting.named").label(L.NamedParams("FL2", "CAT02", 1.0)) == "FL2 fluorescent"
    assert get_op("lighting.named").label(L.NamedParams("HP1", "CAT02", 0.5)) == "HP1 sodium 50%"
    assert get_op("lighting.exposure").label(L.ExposureParams(-1.5)) == "-1.50 EV"


# ------------------------------------------------------------------ colourimetry


def test_illuminant_xy_matches_colour():
    import colour

    temp = colour.temperature
    uv = temp.CCT_to_uv(np.array([3000.0, 0.005]), method="Ohno 2013")
    np.testing.assert_allclose(L.illuminant_xy(3000.0, 0.005), colour.UCS_uv_to_xy(uv), atol=1e-12)
    np.testing.assert_allclose(
        L.illuminant_xy(6500.0, 0.0, "daylight"), temp.CCT_to_xy_CIE_D(6500.0), atol=1e-12
    )
    # "auto": blackbody below 4000 K, daylight from 4000 K.
    np.testing.assert_allclose(L.illuminant_xy(5000.0), temp.CCT_to_xy_CIE_D(5000.0), atol=1e-12)
    # A tint moves the white off the locus by duv (CIE 1960 uv distance).
    base = np.array(colour.xy_to_UCS_uv(L.illuminant_xy(5000.0, 0.0)))
    tinted = np.array(colour.xy_to_UCS_uv(L.illuminant_xy(5000.0, 0.01)))
    assert np.linalg.norm(tinted - base) == pytest.approx(0.01, rel=1e-3)


def test_named_sources_match_their_spectra():
    import colour

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in L.NAMED_SOURCES:
            sd = colour.SDS_ILLUMINANTS[name]
            xy = colour.XYZ_to_xy(colour.sd_to_XYZ(sd))
            np.testing.assert_allclose(L.source_xy(name), xy, atol=2e-4, err_msg=name)


@pytest.mark.parametrize("cat", CATS)
@pytest.mark.parametrize(
    "white", [(3000.0, 0.0), (2200.0, -0.01), (5000.0, 0.015), (9500.0, 0.0), "FL2", "HP1"]
)
def test_agrees_with_colour_chromatic_adaptation(cat, white):
    import colour

    cs = _srgb()
    xy = L.source_xy(white) if isinstance(white, str) else L.illuminant_xy(*white)
    xyz_w = cs.matrix_RGB_to_XYZ @ np.ones(3)  # D65 as sRGB's matrix has it
    xyz_wr = colour.xy_to_XYZ(xy)
    rgb = np.random.default_rng(7).uniform(0, 1, (500, 3))
    xyz = colour.RGB_to_XYZ(rgb, cs, None, apply_cctf_decoding=True)
    expected = colour.chromatic_adaptation(xyz, xyz_w, xyz_wr, method="Von Kries", transform=cat)
    m = L.adaptation_matrix(L.d65_xy(), xy, cat)
    ours = (cs.matrix_RGB_to_XYZ @ m @ srgb_to_linear(rgb).T).T
    assert np.abs(ours - expected).max() <= 1e-6
    # The op itself (float32 hot path) on the pixels that did not clip.
    op = get_op("lighting.named" if isinstance(white, str) else "lighting.cct")
    if isinstance(white, str):
        params = L.NamedParams(white, cat, 1.0)
    else:
        params = L.CCTParams(white[0], white[1], "auto", cat, 1.0)
    out = op.apply(rgb.reshape(20, 25, 3).astype(np.float32), params).reshape(-1, 3)
    # Back with the exact inverse (colour's sRGB XYZ->RGB is the rounded IEC matrix).
    ref = colour.cctf_encoding(expected @ np.linalg.inv(cs.matrix_RGB_to_XYZ).T, "sRGB")
    ok = np.all((ref > 1e-3) & (ref < 1 - 1e-3), axis=1)
    assert ok.sum() > 50
    assert np.abs(out[ok] - ref[ok]).max() < 2e-5


@pytest.mark.parametrize("cat", CATS)
@pytest.mark.parametrize("white", [(3000.0, 0.0), (4500.0, 0.008), (11000.0, -0.01), "FL2"])
def test_adapt_and_back_is_identity(cat, white, muted):
    xy = L.source_xy(white) if isinstance(white, str) else L.illuminant_xy(*white)
    d65 = L.d65_xy()
    forth, back = L.adaptation_matrix(d65, xy, cat), L.adaptation_matrix(xy, d65, cat)
    np.testing.assert_allclose(back @ forth, np.eye(3), atol=1e-12)
    # On images: adapt, then adapt back; muted colours never clip here.
    out = L.apply_linear_matrix(muted, forth)
    assert 0.0 < out.min() and out.max() < 1.0
    restored = L.apply_linear_matrix(out, back)
    assert np.abs(restored - muted).max() <= 1e-4


def test_strength_zero_is_identity_and_strength_scales_the_cast(muted):
    op = get_op("lighting.cct")
    same = op.apply(muted, L.CCTParams(3000.0, 0.0, "auto", "Bradford", 0.0))
    assert np.abs(same - muted).max() <= 1e-5
    casts = []
    for s in (0.25, 0.5, 1.0):
        g = op.apply(grey(), L.CCTParams(3000.0, 0.0, "auto", "Bradford", s))[0, 0]
        casts.append(g[0] - g[2])
    assert 0 < casts[0] < casts[1] < casts[2]


# -------------------------------------------------------------------- casts on grey


def test_grey_under_3000k_is_warm():
    g = get_op("lighting.cct").apply(grey(), L.CCTParams(3000.0, 0.0, "auto", "CAT02", 1.0))[0, 0]
    assert g[0] > g[1] > g[2]
    assert g[0] - g[2] > 0.3


def test_grey_under_fl2_is_greenish():
    import colour

    g = get_op("lighting.named").apply(grey(), L.NamedParams("FL2", "Bradford", 1.0))[0, 0]
    assert g[1] > g.mean()
    # Greener than a blackbody of the same CCT (FL2 lies above the Planckian locus).
    cct, duv = colour.temperature.uv_to_CCT(
        colour.xy_to_UCS_uv(L.source_xy("FL2")), method="Ohno 2013"
    )
    assert duv > 0
    bb = get_op("lighting.cct").apply(
        grey(), L.CCTParams(float(cct), 0.0, "planckian", "Bradford", 1.0)
    )[0, 0]
    assert g[1] / g.sum() > bb[1] / bb.sum() + 0.002


def test_grey_under_sodium_is_strongly_orange():
    g = get_op("lighting.named").apply(grey(), L.NamedParams("HP1", "Bradford", 1.0))[0, 0]
    assert g[0] > g[1] > g[2]
    assert g[0] > 1.5 * g[1] and g[2] < 0.05


# ------------------------------------------------------------------------ mixed light


def _mixed(**kw) -> L.MixedParams:
    base = dict(
        source_a="cct",
        cct_a=2800.0,
        duv_a=0.0,
        source_b="FL2",
        cct_b=0.0,
        duv_b=0.0,
        cat="Bradford",
        strength=1.0,
        mask="linear",
        center=(0.5, 0.5),
        angle=0.0,
        radius=0.3,
        softness=0.3,
    )
    base.update(kw)
    return L.MixedParams(**base)


def test_mixed_ends_show_each_light(muted):
    op = get_op("lighting.mixed")
    params = _mixed()
    out = op.apply(muted, params)
    a = get_op("lighting.cct").apply(muted, L.CCTParams(2800.0, 0.0, "auto", "Bradford", 1.0))
    b = get_op("lighting.named").apply(muted, L.NamedParams("FL2", "Bradford", 1.0))
    # angle 0: light A on the left, light B on the right; softness 0.3 leaves pure ends.
    np.testing.assert_allclose(out[:, :8], a[:, :8], atol=1e-6)
    np.testing.assert_allclose(out[:, -8:], b[:, -8:], atol=1e-6)
    assert np.abs(out[:, 28:36] - a[:, 28:36]).max() > 0.01  # the middle is a blend
    # Not a colour map: the same grey comes out differently left and right.
    flat = op.apply(grey(0.5).repeat(16, 0).repeat(16, 1), params)
    assert np.abs(flat[:, 0] - flat[:, -1]).max() > 0.02
    # angle 180 swaps the sides.
    swapped = op.apply(muted, _mixed(angle=180.0))
    np.testing.assert_allclose(swapped[:, :8], b[:, :8], atol=1e-6)


def test_mixed_radial_blob():
    p = _mixed(mask="radial", radius=0.2, softness=0.1, center=(0.25, 0.75))
    m = L.mixing_mask((80, 120), p)
    assert m.dtype == np.float32 and m.min() == 0.0 and m.max() == 1.0
    assert m[60, 30] == 1.0 and m[0, -1] == 0.0  # (x=0.25 W, y=0.75 H) is inside


def test_mixed_mask_is_resolution_independent():
    p = _mixed(mask="linear", angle=35.0, center=(0.4, 0.6), softness=0.5)
    small = L.mixing_mask((48, 64), p)
    big = L.mixing_mask((96, 128), p)
    pooled = big.reshape(48, 2, 64, 2).mean(axis=(1, 3))
    assert np.abs(pooled - small).max() < 0.01


# --------------------------------------------------------------------------- exposure


def test_exposure_in_linear_light_with_clipping():
    lin = np.array([0.05, 0.2, 0.45], np.float32)
    img = np.tile(linear_to_srgb(lin), (2, 2, 1)).astype(np.float32)
    out = get_op("lighting.exposure").apply(img, L.ExposureParams(1.0))
    np.testing.assert_allclose(srgb_to_linear(out[0, 0]), 2 * lin, atol=1e-5)
    clipped = get_op("lighting.exposure").apply(img, L.ExposureParams(1.5))
    assert clipped[0, 0, 2] >= 1.0 - 1e-6  # 0.45 * 2.83 > 1: the highlight clips
    assert np.abs(srgb_to_linear(clipped[0, 0, :2]) - 2**1.5 * lin[:2]).max() < 1e-5
    dark = get_op("lighting.exposure").apply(img, L.ExposureParams(-2.0))
    np.testing.assert_allclose(srgb_to_linear(dark[0, 0]), lin / 4, atol=1e-5)


# ----------------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(ConfigError, match="unknown light source 'XX'"):
        L.source_xy("XX")
    with pytest.raises(ConfigError, match="daylight locus starts at 4000 K"):
        L.illuminant_xy(3000.0, 0.0, "daylight")
    with pytest.raises(ConfigError, match="outside 1000-25000 K"):
        L.illuminant_xy(500.0)
    with pytest.raises(ConfigError, match="is not one of Von Kries, Bradford, CAT02"):
        L.adaptation_matrix(L.d65_xy(), (0.4, 0.4), "Sharp")
