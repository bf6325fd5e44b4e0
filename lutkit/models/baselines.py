"""Classic colour-constancy baselines: gray world, white patch (max-RGB), shades of gray,
gray edge.

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
