"""The exposure stage: one gain on all channels, in linear light, after a colour map.

A cast is not the only thing a look does to a photo: ffmpeg's ``colortemperature``
darkens as it tints, an exposure slip or a faded print moves every channel together.
The lights of gray world, shades of gray, gray edge and the FFCC-style estimators keep
the photo's exposure (their gains average 1), so none of them can undo it; on lutkit's
held-out sets the right exposure alone, given by an oracle, takes the tonal FFCC-style
estimator from 8.07 to 6.91 mean delta E 2000 (TRAINING.md step 44).

A photo's brightness by itself does not say whether it is a dark scene or an
underexposed one (a learned filter over the log-luma histogram learned nearly nothing,
step 22). Its highlights do, most of the time: most photographs have a few pixels at
or near white, and a look that darkens or fades pulls them down. So the stage reads
eight numbers of the corrected view's highlights and tones (:func:`exposure_features`:
the 50 / 90 / 99 / 99.5 / 99.9 % quantiles of each pixel's largest channel, the mean
luma, the share of nearly clipped pixels, the darkest channel's 1 % quantile; logs in
linear light) and a ridge regression, fitted in closed form on the training pairs
(:meth:`ExposureStage.fit`), turns them into a log gain. Eight numbers and a line
cannot memorise a photo; the clean pairs of the training set (a photo as its own
target) teach it to leave a well-exposed photo alone.

The features are read from a 64 x 64 area-averaged view: the training loop's pairs are
that size (``lutnet_pixels = 64``), and :meth:`~lutkit.models.blend.BlendNet.
exposure_view` averages any view down to it before blending, so the regression reads
the numbers it was fitted on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lutkit.models.illuminant import apply_gains, srgb_to_linear_torch

VIEW = 64  # the side of the view the features are read from
QUANTILES = (0.5, 0.9, 0.99, 0.995, 0.999)
FEATURES = len(QUANTILES) + 3
MAX_LOG_GAIN = 1.5  # at most about 2.2 stops either way
LUMA = (0.2126, 0.7152, 0.0722)
CLEAN_QUANTILE = 0.9  # the share of clean training photos the dead zone leaves alone


def exposure_features(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> (B, FEATURES) highlight and tone numbers."""
    view = F.adaptive_avg_pool2d(rgb, VIEW) if rgb.shape[-1] != VIEW else rgb
    lin = srgb_to_linear_torch(view).flatten(2)  # (B, 3, N)
    top = lin.amax(dim=1)
    low = lin.amin(dim=1)
    luma = (lin * torch.tensor(LUMA, dtype=lin.dtype, device=lin.device)[:, None]).sum(dim=1)
    q = torch.tensor(QUANTILES, dtype=lin.dtype, device=lin.device)
    parts = [
        torch.quantile(top, q, dim=1).T.clamp_min(1e-4).log(),
        luma.mean(dim=1, keepdim=True).clamp_min(1e-4).log(),
        (top > 0.95).to(lin.dtype).mean(dim=1, keepdim=True),
        torch.quantile(low, 0.01, dim=1, keepdim=True).clamp_min(1e-4).log(),
    ]
    return torch.cat(parts, dim=1)


def oracle_log_gain(rgb: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """(B,) the log of the one linear-light gain that brings ``rgb`` closest (least
    squares) to ``clean``: what the stage learns to predict."""
    a = srgb_to_linear_torch(rgb).flatten(1)
    b = srgb_to_linear_torch(clean).flatten(1)
    gain = (a * b).sum(dim=1) / (a * a).sum(dim=1).clamp_min(1e-9)
    return gain.clamp_min(1e-3).log().clamp(-MAX_LOG_GAIN, MAX_LOG_GAIN)


def apply_exposure(rgb: torch.Tensor, log_gain: torch.Tensor) -> torch.Tensor:
    """(B, 3, ...) sRGB times exp(``log_gain``) (B,) in linear light -> sRGB in [0, 1]."""
    return apply_gains(rgb, log_gain.exp()[:, None].expand(-1, 3))


class ExposureStage(nn.Module):
    """A ridge regression from :func:`exposure_features` to a log gain (see the module
    doc). Unfitted, it predicts 0 (the gain 1): it leaves the photo as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(FEATURES))
        self.register_buffer("scale", torch.ones(FEATURES))
        self.register_buffer("weight", torch.zeros(FEATURES))
        self.register_buffer("bias", torch.zeros(()))
        self.register_buffer("deadzone", torch.zeros(()))

    def reset(self) -> None:
        """Back to unfitted (the gain 1)."""
        with torch.no_grad():
            for name in ("shift", "weight", "bias", "deadzone"):
                getattr(self, name).zero_()
            self.scale.fill_(1.0)

    def log_gain(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B,) the predicted log gain of each (B, 3, H, W) sRGB image."""
        return self.shrink(self.regress(exposure_features(rgb)))

    def shrink(self, raw: torch.Tensor) -> torch.Tensor:
        """Log gains moved toward 0 by the dead zone (those inside it become 0)."""
        return raw.sign() * (raw.abs() - self.deadzone).clamp_min(0.0)

    def regress(self, feats: torch.Tensor) -> torch.Tensor:
        """(B,) the regression's log gain of (B, FEATURES) features, before the dead zone."""
        z = ((feats - self.shift) / self.scale).clamp(-5, 5)
        return (z @ self.weight + self.bias).clamp(-MAX_LOG_GAIN, MAX_LOG_GAIN)

    def fit(
        self,
        feats: torch.Tensor,
        targets: torch.Tensor,
        clean: torch.Tensor | None = None,
        ridge: float = 1e-3,
    ) -> None:
        """Fit on (N, FEATURES) features and (N,) target log gains: least squares on the
        standardised features, with ``ridge`` (times N) on the weights. ``clean`` (N,)
        marks the pairs whose input is the clean photo itself: the size of the gain
        predicted for 9 in 10 of them becomes the dead zone, the stage's own noise on
        photos that need nothing, which every prediction is shrunk by (a gain inside it
        is 1, so such photos are left exactly as they are)."""
        with torch.no_grad():
            f, t = feats.double(), targets.double()
            shift, scale = f.mean(dim=0), f.std(dim=0).clamp_min(1e-6)
            z = ((f - shift) / scale).clamp(-5, 5)  # as log_gain reads them
            lhs = z.T @ z + ridge * len(z) * torch.eye(z.shape[1], dtype=z.dtype)
            w = torch.linalg.solve(lhs, z.T @ (t - t.mean()))
            self.shift.copy_(shift.to(self.shift))
            self.scale.copy_(scale.to(self.scale))
            self.weight.copy_(w.to(self.weight))
            self.bias.copy_(t.mean().to(self.bias))
            self.deadzone.zero_()
            if clean is not None and bool(clean.any()):
                noise = self.regress(feats[clean].to(self.shift)).abs()
                self.deadzone.copy_(torch.quantile(noise, CLEAN_QUANTILE))
