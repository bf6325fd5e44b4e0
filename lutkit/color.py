"""Colour conversions: sRGB transfer functions, CIE XYZ / Lab, delta E.

Transfer functions are plain numpy (they run on every pixel); colourimetry that is not
on a hot path goes through colour-science, imported inside the functions that need it.
All inputs are float arrays of shape (..., 3); nothing is modified in place.
"""

from __future__ import annotations

import numpy as np

# IEC 61966-2-1 constants.
_A = 0.055
_PHI = 12.92
_K0 = 0.04045
_E0 = _K0 / _PHI


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values -> linear light (IEC 61966-2-1 EOTF); extends oddly below 0."""
    v, dtype, signed = _as_float64(rgb)  # float64 inside: exact 0 and 1 at the ends
    a = np.abs(v, out=v if not signed else np.empty_like(v))  # (an array even for one value)
    out = np.add(a, _A, out=np.empty_like(v))  # in place from here: every pixel of every op
    out /= 1 + _A
    np.power(out, 2.4, out=out)
    np.divide(a, _PHI, out=out, where=a <= _K0)
    return _signed(out, v, signed).astype(dtype, copy=False)[()]


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light -> sRGB-encoded values (inverse EOTF); extends oddly below 0."""
    v, dtype, signed = _as_float64(linear)
    a = np.abs(v, out=v if not signed else np.empty_like(v))
    out = np.power(a, 1 / 2.4, out=np.empty_like(v))
    out *= 1 + _A
    out -= _A
    np.multiply(a, _PHI, out=out, where=a <= _E0)
    return _signed(out, v, signed).astype(dtype, copy=False)[()]


def _as_float64(x: np.ndarray) -> tuple[np.ndarray, type, bool]:
    """(x as a float64 copy, the dtype to hand back: float32 stays float32, else float64,
    whether any value is negative or NaN: those take sign(x)'s way; a zero, either
    sign, comes out +0 from abs(x) alone)."""
    v = np.asarray(x)
    f = v.astype(np.float64)
    return f, np.float32 if v.dtype == np.float32 else np.float64, bool(f.size and not f.min() >= 0)


def _signed(out: np.ndarray, v: np.ndarray, signed: bool) -> np.ndarray:
    """``sign(v) * out``, in place, where some value was negative or NaN (odd extension
    below 0); otherwise a no-op (sign 1, or 0 where ``out`` is already +0), and ``v``
    may already be ``abs(v)``."""
    if signed:
        out *= np.sign(v)
    return out


def _white_xy():
    import colour

    # The white of sRGB's (4-decimal, IEC 61966-2-1) matrix, so that RGB white is
    # exactly L* = 100, a* = b* = 0.
    cs = colour.RGB_COLOURSPACES["sRGB"]
    return colour.XYZ_to_xy(cs.matrix_RGB_to_XYZ.sum(axis=1))


def srgb_to_xyz(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded (..., 3) -> CIE XYZ (D65, Y of white = 1), via colour-science."""
    import colour

    return colour.RGB_to_XYZ(
        np.asarray(rgb, np.float64),
        colour.RGB_COLOURSPACES["sRGB"],
        None,  # no chromatic adaptation: XYZ relative to sRGB's own white
        apply_cctf_decoding=True,
    )


def xyz_to_srgb(xyz: np.ndarray) -> np.ndarray:
    """CIE XYZ (D65) -> sRGB-encoded (..., 3), not clipped, via colour-science."""
    import colour

    return colour.XYZ_to_RGB(
        np.asarray(xyz, np.float64),
        colour.RGB_COLOURSPACES["sRGB"],
        None,
        apply_cctf_encoding=True,
    )


def xyz_to_lab(xyz: np.ndarray) -> np.ndarray:
    """CIE XYZ -> CIE L*a*b* (D65 reference white)."""
    import colour

    return colour.XYZ_to_Lab(np.asarray(xyz, np.float64), _white_xy())


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded (..., 3) in [0, 1] -> CIE L*a*b* (D65)."""
    return xyz_to_lab(srgb_to_xyz(rgb))


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between two L*a*b* arrays (colour-science)."""
    import colour

    return colour.delta_E(
        np.asarray(lab1, np.float64), np.asarray(lab2, np.float64), method="CIE 2000"
    )


def delta_e_76(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE 1976 colour difference (Euclidean distance in L*a*b*)."""
    return np.linalg.norm(np.asarray(lab1, np.float64) - np.asarray(lab2, np.float64), axis=-1)


def image_delta_e(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel delta E 2000 between two sRGB float images in [0, 1]."""
    return delta_e_2000(srgb_to_lab(a), srgb_to_lab(b))


COLORCHECKER = "ColorChecker24 - After November 2014"


def colorchecker_srgb() -> tuple[list[str], np.ndarray]:
    """The 24 ColorChecker patches as sRGB-encoded float64 (24, 3) in [0, 1], with names.

    colour-science's reference ``COLORCHECKER`` (xyY under D50) is Bradford-adapted to
    sRGB's D65 white and encoded; the one patch outside sRGB's gamut (cyan) is clipped.
    """
    import colour

    chart = colour.CCS_COLOURCHECKERS[COLORCHECKER]
    xyz = colour.xyY_to_XYZ(np.array(list(chart.data.values()), dtype=np.float64))
    rgb = colour.XYZ_to_RGB(
        xyz,
        colour.RGB_COLOURSPACES["sRGB"],
        chart.illuminant,
        chromatic_adaptation_transform="Bradford",
        apply_cctf_encoding=True,
    )
    return list(chart.data), np.clip(rgb, 0.0, 1.0)
