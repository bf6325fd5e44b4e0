"""Predict a correction: the method on one image with a trained model.

:func:`predict_correction` encodes the image with the run's VAE, lets the recolor net
predict the clean latent, and turns the pair of latents into a correction LUT, either
by fitting a small regressor on the two sampled decodes (:func:`fit_correction`) or by
asking the LUT net (:func:`net_correction`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from lutkit.errors import ConfigError
from lutkit.models.blend import BlendNet
from lutkit.models.colormap import METHODS, MLP_STEPS, LUTNet, bake_colormap, fit_colormap

if TYPE_CHECKING:
    from lutkit.correct.model import Run
    from lutkit.luts.model import LUT3D


def decode_pair(
    vae: Any, original: torch.Tensor, fixed: torch.Tensor, *, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode two (B, 2C, h, w) latents by sampling with the same noise (seed).

    Returns two (B, 3, H, W) images in [0, 1] that carry the same VAE artefacts, so
    that their pixels pair up: the training pairs of the fitted colour map.
    """
    from lutkit.latents.vae import decode_sample, split_latent

    out = []
    for latent in (original, fixed):
        mean, logvar = split_latent(latent)
        out.append(decode_sample(vae, mean, logvar, generator=int(seed)))
    return out[0], out[1]


def fit_correction(
    vae: Any,
    original: torch.Tensor,
    fixed: torch.Tensor,
    *,
    method: str = "mlp",
    seed: int = 0,
    lut_size: int = 33,
    steps: int = MLP_STEPS,
) -> list[LUT3D]:
    """The fitted correction LUT of each of a batch of (original, fixed) latents."""
    src, dst = decode_pair(vae, original, fixed, seed=seed)
    src_px = src.permute(0, 2, 3, 1).reshape(src.shape[0], -1, 3).cpu().numpy()
    dst_px = dst.permute(0, 2, 3, 1).reshape(dst.shape[0], -1, 3).cpu().numpy()
    luts = []
    for a, b in zip(src_px, dst_px, strict=True):
        cmap = fit_colormap(a, b, method=method, seed=seed, steps=steps)
        luts.append(bake_colormap(cmap, lut_size, title=f"lutkit correction (fit, {method})"))
    return luts


def net_correction(
    lutnet: LUTNet | BlendNet,
    original: torch.Tensor,
    fixed: torch.Tensor,
    *,
    lut_size: int = 33,
    pixels: torch.Tensor | None = None,
) -> list[LUT3D]:
    """The LUT net's correction of each of a batch of latents (clipped to [0, 1]).

    A :class:`~lutkit.models.blend.BlendNet` also reads the (B, 3, S, S) ``pixels`` of
    the view the latents were encoded from, and is sampled at ``lut_size`` directly."""
    from lutkit.luts.model import LUT3D

    if isinstance(lutnet, BlendNet):
        if pixels is None:
            raise ConfigError("the blend net needs the pixels of the view (pixels=...)")
        with torch.no_grad():
            tables = lutnet.tables(pixels, lut_size, latents=(original, fixed)).clamp(0.0, 1.0)
        return [LUT3D(t, title="lutkit correction (blend net)") for t in tables.cpu().numpy()]
    with torch.no_grad():
        tables = lutnet(original, fixed).clamp(0.0, 1.0).cpu().numpy()
    luts = [LUT3D(t, title="lutkit correction (LUT net)") for t in tables]
    if lut_size != lutnet.lut_size:
        luts = [lut.resample(lut_size) for lut in luts]
    return luts


def predict_correction(
    run: Run,
    image: np.ndarray,
    *,
    colormap: str = "fit",
    method: str = "mlp",
    seed: int = 0,
    size: int = 224,
    lut_size: int = 33,
) -> LUT3D:
    """The correction LUT of one image with a trained run (see :mod:`lutkit.correct.model`).

    ``image``: (H, W, 3) uint8 / uint16 / float in [0, 1], any size; it is centre-cropped
    and resized to ``size`` and encoded with the run's VAE; the recolor net predicts the
    clean latent. ``colormap="fit"`` fits ``method`` ("mlp" or "poly") on the two
    sampled decodes (noise seeded by ``seed``); ``"net"`` asks the run's LUT net.
    Returns a LUT3D of ``lut_size`` that maps the image's colours to corrected ones.
    """
    from lutkit.latents.vae import encode_posterior, prepare_image

    if colormap not in ("fit", "net"):
        raise ConfigError(f"unknown colour map {colormap!r}: use fit or net")
    if method not in METHODS:
        raise ConfigError(f"unknown colour map method {method!r}: use mlp or poly")
    if colormap == "net" and run.lutnet is None:
        raise ConfigError(
            "this run has no LUT net (trained with stage 'recolor')",
            path=getattr(run, "path", None),
            hint="use the fitted colour map, or train with stage 'lutnet' or 'both'",
        )
    device = getattr(run, "device", "cpu")
    vae = run.vae
    x = prepare_image(image, size).to(device)
    mean, logvar = encode_posterior(vae, x)
    original = torch.cat([mean, logvar], dim=1)
    with torch.no_grad():
        fixed = run.recolor(original)
    if colormap == "net":
        lut = net_correction(run.lutnet, original, fixed, lut_size=lut_size, pixels=x)[0]
    else:
        lut = fit_correction(vae, original, fixed, method=method, seed=seed, lut_size=lut_size)[0]
    name = getattr(run, "name", None) or str(getattr(run, "path", ""))
    what = "LUT net" if colormap == "net" else f"fitted {method}, seed {seed}"
    lut.metadata = {"comments": [f"lutkit correction: run {name}, {what}"]}
    return lut
