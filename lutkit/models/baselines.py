"""Classic colour-constancy baselines: gray world, white patch (max-RGB), shades of gray,
gray edge, gray pixels.

Each estimates the colour of the light from image statistics in linear light and
divides it out (a von Kries diagonal correction), the way a camera's automatic white
balance does. They learn nothing. Pure numpy; the input is never modified.

All take an (H, W, 3) sRGB image (uint8, uint16 or float in [0, 1]) and return float32
(H, W, 3) sRGB in [0, 1].
"""

from __future__ import annotations

import numpy as np

from lutkit.color import linear_to_srgb, srgb_to_linear
from lutkit.errors import LutkitError
from lutkit.images import to_float

SHADES_OF_GRAY_P = 6  # Finlayson and Trezzi 2004: the Minkowski norm that works best
GRAY_EDGE_P = 6  # van de Weijer, Gevers and Gijsenij 2007: first order, p = 6, sigma = 1
GRAY_EDGE_SIGMA = 1.0
# Gray pixels (after Qian et al. 2019, "On Finding Gray Pixels"): the 0.1 % grayest pixels,
# the grayness smoothed over 7 x 7, as they do; contrast by a Laplacian of Gaussian of 1 px.
GRAY_PIXELS_SHARE = 0.001
GRAY_PIXELS_SIGMA = 1.0
_GRAY_PIXELS_SMOOTH = 7
_FLAT = 1e-3  # below this log contrast in every channel a pixel says nothing about the light


def _linear(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise LutkitError(f"expected an (H, W, 3) image, got shape {arr.shape}")
    return srgb_to_linear(np.clip(to_float(arr), 0.0, 1.0)).astype(np.float64)


def estimate_illuminant(image: np.ndarray, p: float) -> np.ndarray:
    """The light's colour (3,) in linear RGB as the Minkowski p-norm mean of each channel.

    ``p = 1``: gray world (the mean); ``p = inf``: white patch (the maximum); between:
    shades of gray. Not normalised.
    """
    lin = _linear(image).reshape(-1, 3)
    if np.isinf(p):
        return lin.max(axis=0)
    if p <= 0:
        raise LutkitError(f"the Minkowski norm p must be positive, got {p}")
    return np.mean(lin**p, axis=0) ** (1.0 / p)


def correct_illuminant(image: np.ndarray, light: np.ndarray, *, keep: str = "mean") -> np.ndarray:
    """Divide the light ``light`` (3,) out of ``image`` in linear light (von Kries).

    ``keep="mean"`` scales the gains so that their mean is 1 (the exposure stays);
    ``keep="white"`` maps the light to white (1, 1, 1), as white patch does.
    """
    lin = _linear(image)
    light = np.maximum(np.asarray(light, np.float64), 1e-6)
    if keep == "mean":
        gains = light.mean() / light
    elif keep == "white":
        gains = 1.0 / light
    else:
        raise LutkitError(f"keep must be mean or white, got {keep!r}")
    out = linear_to_srgb(np.clip(lin * gains, 0.0, 1.0))
    return out.astype(np.float32)


def gray_world(image: np.ndarray) -> np.ndarray:
    """Gray world (Buchsbaum 1980): the average of the scene is gray."""
    return correct_illuminant(image, estimate_illuminant(image, 1.0))


def white_patch(image: np.ndarray) -> np.ndarray:
    """White patch / max-RGB (Land 1977): the brightest value of each channel is white."""
    return correct_illuminant(image, estimate_illuminant(image, np.inf), keep="white")


def shades_of_gray(image: np.ndarray, p: float = SHADES_OF_GRAY_P) -> np.ndarray:
    """Shades of gray (Finlayson and Trezzi 2004): the p-norm mean of the scene is gray."""
    return correct_illuminant(image, estimate_illuminant(image, p))


def estimate_edge_illuminant(
    image: np.ndarray, p: float = GRAY_EDGE_P, sigma: float = GRAY_EDGE_SIGMA
) -> np.ndarray:
    """The light's colour (3,) in linear RGB as the Minkowski p-norm of each channel's
    gradient magnitude after a Gaussian blur of ``sigma`` pixels (first-order gray edge).
    Not normalised."""
    import cv2

    if p <= 0 or sigma <= 0:
        raise LutkitError(f"gray edge needs p > 0 and sigma > 0, got p={p}, sigma={sigma}")
    lin = _linear(image).astype(np.float32)
    blurred = cv2.GaussianBlur(lin, (0, 0), sigmaX=sigma, sigmaY=sigma)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    mag = np.sqrt(gx.astype(np.float64) ** 2 + gy.astype(np.float64) ** 2).reshape(-1, 3)
    return np.mean(mag**p, axis=0) ** (1.0 / p)


def gray_edge(
    image: np.ndarray, p: float = GRAY_EDGE_P, sigma: float = GRAY_EDGE_SIGMA
) -> np.ndarray:
    """Gray edge (van de Weijer et al. 2007): the average edge difference is gray."""
    return correct_illuminant(image, estimate_edge_illuminant(image, p, sigma))


def _grayness(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(grayness index (H, W), the linear image blurred by ``sigma`` (H, W, 3))."""
    import cv2

    if sigma <= 0:
        raise LutkitError(f"gray pixels need sigma > 0, got {sigma}")
    lin = _linear(image).astype(np.float32)
    usable = (lin.max(axis=2) < 0.95) & (lin.min(axis=2) > 0.002)
    lin = cv2.GaussianBlur(lin, (0, 0), sigmaX=sigma, sigmaY=sigma) + 1e-4

    def contrast(plane: np.ndarray) -> np.ndarray:
        blurred = cv2.GaussianBlur(plane, (0, 0), sigmaX=sigma, sigmaY=sigma)
        return cv2.Laplacian(blurred, cv2.CV_32F, ksize=3)

    channels = [contrast(np.ascontiguousarray(np.log(lin[..., c]))) for c in range(3)]
    lum = contrast(np.log(lin.sum(axis=2)))
    spread = np.sqrt(sum((c - lum) ** 2 for c in channels))
    index = cv2.blur(spread / (np.abs(lum) + 1e-4), (_GRAY_PIXELS_SMOOTH,) * 2)
    flat = np.all([np.abs(c) < _FLAT for c in channels], axis=0)
    return np.where(usable & ~flat, index, np.inf), lin


def grayness(image: np.ndarray, sigma: float = GRAY_PIXELS_SIGMA) -> np.ndarray:
    """(H, W) grayness index: 0 where a pixel's local contrast (a Laplacian of Gaussian
    of each channel's log, linear light, after a blur of ``sigma``) is the same in every
    channel and in the luminance, so that the pixel reflects the light's colour
    unchanged; larger the more they disagree. A gain in linear light adds a constant to
    each channel's log, which the zero-sum filter removes, so a gray pixel stays gray
    under any light. Flat, near-black and clipped pixels are ``inf``."""
    return _grayness(image, sigma)[0]


def estimate_gray_pixel_illuminant(
    image: np.ndarray, share: float = GRAY_PIXELS_SHARE, sigma: float = GRAY_PIXELS_SIGMA
) -> np.ndarray:
    """The light's colour (3,) in linear RGB (sums to 1): the mean chromaticity of the
    ``share`` grayest pixels (:func:`grayness`; their colours from the blurred image);
    gray world's when no pixel is usable."""
    if not 0 < share <= 1:
        raise LutkitError(f"the share of gray pixels must be in (0, 1], got {share}")
    index, lin = _grayness(image, sigma)
    index, lin = index.ravel(), lin.reshape(-1, 3).astype(np.float64)
    valid = int(np.isfinite(index).sum())
    if valid == 0:
        light = lin.mean(axis=0)
        return light / light.sum()
    n = min(max(int(share * index.size), 1), valid)
    picked = lin[np.argpartition(index, n - 1)[:n]]
    return (picked / picked.sum(axis=1, keepdims=True)).mean(axis=0)


def gray_pixels(
    image: np.ndarray, share: float = GRAY_PIXELS_SHARE, sigma: float = GRAY_PIXELS_SIGMA
) -> np.ndarray:
    """Gray pixels (after Qian et al. 2019): the pixels whose local contrast is the same
    in every channel are gray surfaces, and their colour is the light's."""
    return correct_illuminant(image, estimate_gray_pixel_illuminant(image, share, sigma))
