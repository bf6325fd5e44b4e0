"""Image quality metrics of a corrected photo against its clean truth.

Every function takes (H, W, 3) sRGB images (uint8, uint16 or float in [0, 1]) and
never modifies them. Colour differences are computed in CIE L*a*b* (D65) through
:mod:`lutkit.color` (colour-science underneath); PSNR and SSIM on sRGB values in
[0, 1]; SSIM through scikit-image.

:func:`image_metrics` gives one row per image with the columns of :data:`METRICS`.
"""

from __future__ import annotations

import math

import numpy as np

from lutkit.color import delta_e_76, delta_e_2000, srgb_to_lab, srgb_to_linear
from lutkit.errors import LutkitError
from lutkit.images import to_float

# name -> (label, unit, better: "lower" | "higher")
METRICS = {
    "de2000_mean": ("ΔE2000 mean", "", "lower"),
    "de2000_median": ("ΔE2000 median", "", "lower"),
    "de2000_p95": ("ΔE2000 p95", "", "lower"),
    "de76_mean": ("ΔE76 mean", "", "lower"),
    "psnr": ("PSNR", "dB", "higher"),
    "ssim": ("SSIM", "", "higher"),
    "angular_error": ("illuminant angle", "°", "lower"),
    "edge_ssim": ("edge SSIM", "", "higher"),
}
PSNR_CAP = 100.0  # dB, for identical images (an infinite PSNR would poison every mean)
# Pixels used for the illuminant estimate: neither near black nor clipped (linear light).
_LIN_LO, _LIN_HI = 0.002, 0.95


def _float(image: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise LutkitError(f"{what} must be an (H, W, 3) image, got shape {arr.shape}")
    return to_float(arr).astype(np.float64)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise LutkitError(f"images differ in size: {a.shape[:2]} and {b.shape[:2]}")


def delta_e_stats(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Mean, median and 95th percentile of the per-pixel CIEDE2000, and the mean CIE76."""
    a, b = _float(output, "output"), _float(truth, "truth")
    _same(a, b)
    lab_a, lab_b = srgb_to_lab(np.clip(a, 0, 1)), srgb_to_lab(np.clip(b, 0, 1))
    de00 = delta_e_2000(lab_a, lab_b)
    return {
        "de2000_mean": float(np.mean(de00)),
        "de2000_median": float(np.median(de00)),
        "de2000_p95": float(np.percentile(de00, 95)),
        "de76_mean": float(np.mean(delta_e_76(lab_a, lab_b))),
    }


def psnr(output: np.ndarray, truth: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of sRGB values in [0, 1] (peak 1), capped at
    :data:`PSNR_CAP` for identical images."""
    a, b = _float(output, "output"), _float(truth, "truth")
    _same(a, b)
    mse = float(np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2))
    if mse <= 10 ** (-PSNR_CAP / 10):
        return PSNR_CAP
    return 10.0 * math.log10(1.0 / mse)


def ssim(output: np.ndarray, truth: np.ndarray) -> float:
    """Structural similarity (scikit-image, 7x7 window, per channel, averaged)."""
    from skimage.metrics import structural_similarity

    a, b = _float(output, "output"), _float(truth, "truth")
    _same(a, b)
    if min(a.shape[:2]) < 7:
        raise LutkitError(f"SSIM needs images of at least 7x7 pixels, got {a.shape[:2]}")
    return float(
        structural_similarity(np.clip(a, 0, 1), np.clip(b, 0, 1), channel_axis=-1, data_range=1.0)
    )


def angular_error(output: np.ndarray, truth: np.ndarray) -> float:
    """The angle in degrees between the colour of the light left in ``output`` and white.

    In linear light, the per-channel ratio of ``output`` to ``truth`` summed over the
    pixels that are neither near black nor clipped in either image is the illuminant
    the output still carries relative to the truth; its angle to (1, 1, 1) is the
    recovery angular error of colour constancy. A pure exposure change scores 0.
    """
    a, b = _float(output, "output"), _float(truth, "truth")
    _same(a, b)
    la = srgb_to_linear(np.clip(a, 0, 1)).reshape(-1, 3)
    lb = srgb_to_linear(np.clip(b, 0, 1)).reshape(-1, 3)
    keep = np.all((la > _LIN_LO) & (la < _LIN_HI) & (lb > _LIN_LO) & (lb < _LIN_HI), axis=1)
    if keep.sum() < 16:
        keep = np.ones(len(la), bool)
    light = la[keep].sum(axis=0) / np.maximum(lb[keep].sum(axis=0), 1e-12)
    norm = np.linalg.norm(light)
    if norm == 0:
        return 90.0  # a black output: no light at all
    cos = float(np.sum(light) / (norm * math.sqrt(3.0)))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def _luminance_gradient(image: np.ndarray) -> np.ndarray:
    """The Sobel gradient magnitude of CIE L* / 100 (float64, same size)."""
    import cv2

    lum = srgb_to_lab(np.clip(image, 0, 1))[..., 0] / 100.0
    gx = cv2.Sobel(lum, cv2.CV_64F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_64F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def edge_ssim(output: np.ndarray, source: np.ndarray) -> float:
    """Edge preservation: SSIM between the luminance gradients of ``output`` and of the
    image it was made from (``source``, the distorted input).

    A global colour map (a LUT) moves every edge together, so it keeps the gradients'
    structure and scores close to 1 (less only where it changes contrast); a pixel
    regressor that blurs or invents detail scores lower.
    """
    from skimage.metrics import structural_similarity

    a, b = _float(output, "output"), _float(source, "source")
    _same(a, b)
    if min(a.shape[:2]) < 7:
        raise LutkitError(f"edge SSIM needs images of at least 7x7 pixels, got {a.shape[:2]}")
    ga, gb = _luminance_gradient(a), _luminance_gradient(b)
    top = max(float(ga.max()), float(gb.max()), 1e-6)
    return float(structural_similarity(ga, gb, data_range=top))


def image_metrics(output: np.ndarray, truth: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one output, its truth and its input."""
    row = delta_e_stats(output, truth)
    row["psnr"] = psnr(output, truth)
    row["ssim"] = ssim(output, truth)
    row["angular_error"] = angular_error(output, truth)
    row["edge_ssim"] = edge_ssim(output, source)
    return row
