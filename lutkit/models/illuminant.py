"""A learned, translation-equivariant illuminant estimator in the spirit of FFCC
(Barron and Tsai, "Fast Fourier Color Constancy", CVPR 2017), and the statistical
estimates it is blended with.

A light of another colour is a per-channel gain in linear light, which moves every
pixel's log-chroma ``(u, v) = (log g/r, log g/b)`` by the same amount: the log-chroma
histogram of a photo under another light is the same histogram, translated. So the
estimator is a convolution over that histogram (one learned filter per histogram
channel, applied by FFT so it is a linear, not a wrapping, convolution), plus a learned
bias map over the plane (the prior of where lights are), a softmax over the plane, and
its mean: the light's (u, v). The softmax's spread is the estimator's own uncertainty.
With the default 48 x 48 plane that is 2 x 96^2 + 48^2 + 1 = 20 737 parameters.

The histogram channels are the pixels and a local-contrast image (|x - blur(x)|, FFCC's
"edge" channel), each normalised to sum to 1; near-black and clipped pixels are left
out. Tensors are (B, 3, H, W) sRGB-encoded in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lutkit.errors import ConfigError
from lutkit.models.recolor import PretrainedMixin


def srgb_to_linear_torch(x: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded -> linear light (IEC 61966-2-1), elementwise, clipped to [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb_torch(x: torch.Tensor) -> torch.Tensor:
    """Linear light -> sRGB-encoded, elementwise, clipped to [0, 1]."""
    x = x.clamp(0.0, 1.0)
    return torch.where(
        x <= 0.0031308, x * 12.92, 1.055 * x.clamp_min(0.0031308) ** (1 / 2.4) - 0.055
    )


def apply_gains(rgb: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """(B, 3, ...) sRGB times (B, 3) gains in linear light -> sRGB, clipped to [0, 1]."""
    shape = (gains.shape[0], 3) + (1,) * (rgb.dim() - 2)
    return linear_to_srgb_torch(srgb_to_linear_torch(rgb) * gains.view(shape))


def gains_from_light(light: torch.Tensor, *, keep: str = "mean") -> torch.Tensor:
    """(B, 3) light in linear RGB -> (B, 3) von Kries gains that make it gray.

    ``keep="mean"`` scales the gains as :func:`lutkit.models.baselines.correct_illuminant`
    does (``mean(light) / light``: the exposure stays); ``"white"`` maps the light to
    white (``1 / light``), as white patch does."""
    light = light.clamp_min(1e-6)
    if keep == "white":
        return 1.0 / light
    return light.mean(dim=1, keepdim=True) / light


def light_from_uv(uv: torch.Tensor) -> torch.Tensor:
    """(B, 2) log-chroma (log g/r, log g/b) of a light -> (B, 3) its RGB (green = 1)."""
    return torch.stack([torch.exp(-uv[:, 0]), torch.ones_like(uv[:, 0]), torch.exp(-uv[:, 1])], 1)


def log_chroma_histogram(rgb: torch.Tensor, bins: int, lo: float, step: float) -> torch.Tensor:
    """(B, 3, H, W) sRGB -> (B, 2, bins, bins) histograms of (u, v) in linear light, of the
    pixels and of their local contrast, each summing to 1 (bilinear binning)."""
    lin = srgb_to_linear_torch(rgb)
    blur = F.avg_pool2d(F.pad(lin, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    edge = (lin - blur).abs()
    usable = ((lin > 0.004) & (lin < 0.98)).all(dim=1)
    out = []
    for img in (lin, edge):
        ok = usable & (img > 1e-5).all(dim=1)
        logs = torch.log(img.clamp_min(1e-5))
        out.append(_splat(logs[:, 1] - logs[:, 0], logs[:, 1] - logs[:, 2], ok, bins, lo, step))
    return torch.stack(out, dim=1)


def _splat(u, v, ok, bins: int, lo: float, step: float) -> torch.Tensor:
    b = u.shape[0]
    fu = ((u - lo) / step).reshape(b, -1)
    fv = ((v - lo) / step).reshape(b, -1)
    inside = (fu >= 0) & (fu <= bins - 1.001) & (fv >= 0) & (fv <= bins - 1.001)
    w = (ok.reshape(b, -1) & inside).to(u.dtype)  # chroma off the plane is left out
    fu, fv = fu.clamp(0, bins - 1.001), fv.clamp(0, bins - 1.001)
    iu, iv = fu.floor().long(), fv.floor().long()
    au, av = fu - iu, fv - iv
    hist = torch.zeros(b, bins * bins, dtype=u.dtype, device=u.device)
    for du, wu in ((0, 1 - au), (1, au)):
        for dv, wv in ((0, 1 - av), (1, av)):
            hist.scatter_add_(1, (iu + du) * bins + (iv + dv), w * wu * wv)
    hist = hist / hist.sum(dim=1, keepdim=True).clamp_min(1e-8)
    return hist.view(b, bins, bins)


class IlluminantNet(PretrainedMixin, nn.Module):
    """(B, 3, H, W) sRGB -> the light's log-chroma (B, 2) and the posterior's variance (B,).

    The plane is ``bins`` x ``bins`` over [lo, lo + bins * step) in u and v; ``lo``
    defaults to centring it on gray. An untrained net has zero filters and bias: a
    uniform posterior whose mean is (almost) gray, so it starts as "do nothing".
    """

    def __init__(self, bins: int = 48, step: float = 1 / 16, lo: float | None = None):
        super().__init__()
        if not 8 <= bins <= 128 or not step > 0:
            raise ConfigError(f"bad IlluminantNet size: bins {bins}, step {step}")
        lo = -bins * step / 2 if lo is None else float(lo)
        self.config = {"bins": bins, "step": step, "lo": lo}
        self.filters = nn.Parameter(torch.zeros(2, 2 * bins, 2 * bins))
        self.bias = nn.Parameter(torch.zeros(bins, bins))
        self.log_temp = nn.Parameter(torch.tensor(0.0))
        centres = lo + step * torch.arange(bins, dtype=torch.float32)
        cu, cv = torch.meshgrid(centres, centres, indexing="ij")
        self.register_buffer("grid", torch.stack([cu, cv]).reshape(2, -1), persistent=False)

    def histogram(self, rgb: torch.Tensor) -> torch.Tensor:
        """The (B, 2, bins, bins) input histograms (no gradient: they are data)."""
        c = self.config
        with torch.no_grad():
            return log_chroma_histogram(rgb, c["bins"], c["lo"], c["step"])

    def posterior(self, rgb: torch.Tensor, hist: torch.Tensor | None = None) -> torch.Tensor:
        """(B, bins * bins) probabilities of each light; ``hist`` may be precomputed."""
        bins = self.config["bins"]
        if hist is None:
            hist = self.histogram(rgb)
        size = (2 * bins, 2 * bins)
        spec = torch.fft.rfft2(hist, s=size) * torch.fft.rfft2(self.filters, s=size)
        score = torch.fft.irfft2(spec.sum(dim=1), s=size)[:, :bins, :bins] + self.bias
        # The scale makes the filters' natural size ~1 (histogram bins are ~1e-3).
        return torch.softmax(score.reshape(score.shape[0], -1) * (100.0 * self.log_temp.exp()), 1)

    def forward(
        self, rgb: torch.Tensor, hist: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.posterior(rgb, hist)
        mean = p @ self.grid.T
        var = (p * ((self.grid[None] - mean[:, :, None]) ** 2).sum(dim=1)).sum(dim=1)
        return mean, var

    def gains(self, rgb: torch.Tensor, hist: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 3) linear gains that neutralise the estimated light (exposure kept)."""
        return gains_from_light(light_from_uv(self(rgb, hist)[0]))

    def light(self, pixels) -> torch.Tensor:
        """The estimated light (3,) in linear RGB (green = 1) of one (H, W, 3) image
        (uint8 / uint16 / float), seen as a 64 x 64 area-averaged copy."""
        import cv2
        import numpy as np

        from lutkit.images import to_float

        small = cv2.resize(
            np.ascontiguousarray(to_float(np.asarray(pixels)), dtype=np.float32),
            (64, 64),
            interpolation=cv2.INTER_AREA,
        )
        view = torch.from_numpy(np.clip(small, 0, 1)).permute(2, 0, 1)[None]
        with torch.no_grad():
            return light_from_uv(self(view)[0])[0]

    def correct(self, pixels):
        """Neutralise the estimated light of an (H, W, 3) image -> float32 sRGB in [0, 1]
        (von Kries in linear light, exposure kept, as the statistical baselines do)."""
        from lutkit.models.baselines import correct_illuminant

        return correct_illuminant(pixels, self.light(pixels).double().numpy())
