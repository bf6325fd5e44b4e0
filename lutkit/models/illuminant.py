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
With the default 48 x 48 plane that is 2 x 96^2 + 48^2 + 1 = 20 737 parameters (a
third 96^2 filter with ``gray``, another with ``bright``).

The histogram channels are the pixels and a local-contrast image (|x - blur(x)|, FFCC's
"edge" channel), each normalised to sum to 1; near-black and clipped pixels are left
out. With ``gray=True`` a third channel holds the view's grayest pixels
(:func:`gray_plane`: those whose local contrast is the same in every channel, which a
change of light leaves gray, after Qian et al. 2019's grayness index), so the filters
can learn how much to trust them. With ``bright=True`` another holds the view's brightest
pixels (:func:`bright_plane`: white patch's cue, that the brightest surfaces are near
white, as a histogram the filters can weigh). Tensors are (B, 3, H, W) sRGB-encoded in
[0, 1].

With ``bands`` > 1 the net also estimates a light per tonal band (``bands`` hat-shaped
bands over sRGB luma, shadows to highlights), with the same filters and a bias map per
band, each band's estimate pulled toward the whole image's by a learned share. Applied
as gains that follow each pixel's luma, that is a per-channel curve: what a graded or
cross-processed look (blue shadows, orange highlights) needs and one gain cannot give.
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


GRAY_SHARE = 0.05  # the gray plane: this share of a view's pixels, the grayest
_GRAY_SIGMA = 1.0
_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Each channel of (B, C, H, W) filtered by the 2-D ``kernel`` (replicated edges)."""
    kh, kw = kernel.shape
    c = x.shape[1]
    x = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode="replicate")
    return F.conv2d(x, kernel.to(x).expand(c, 1, kh, kw), groups=c)


def _gaussian(x: torch.Tensor, sigma: float = _GRAY_SIGMA) -> torch.Tensor:
    r = int(3 * sigma)
    g = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma**2))
    g = g / g.sum()
    return _depthwise(_depthwise(x, g[None]), g[:, None])


def _blurred_view(lin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(usable, blurred) of (B, 3, H, W) linear views: the pixels neither near-black nor
    clipped, and the view blurred by :func:`_gaussian` plus 1e-4 (for the logs); what
    :func:`gray_plane` and :func:`bright_plane` both start from."""
    return ((lin > 0.004) & (lin < 0.98)).all(dim=1), _gaussian(lin) + 1e-4


def gray_plane(
    rgb: torch.Tensor,
    share: float = GRAY_SHARE,
    view: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, v, chosen) of the ``share`` grayest pixels of each (B, 3, H, W) sRGB view.

    Grayness in the manner of :func:`lutkit.models.baselines.grayness`, at the view's
    size: the channels' local contrast (a Laplacian of Gaussian of each channel's log,
    linear light, blurred first) against that of the luminance, relative to it,
    averaged over 3 x 3. A gain in linear light adds a constant to a channel's log,
    which the zero-sum filter removes: a gray pixel stays gray under any light (the
    others change only through the luminance, which mixes the channels), so nearly the
    same pixels are chosen, and their (u, v) (of the blurred view) move by the light's.
    Flat, near-black and clipped pixels are never chosen. ``view``: the view's
    :func:`_blurred_view`, when the caller has it already."""
    usable, blurred = view if view is not None else _blurred_view(srgb_to_linear_torch(rgb))
    logs = torch.log(torch.cat([blurred, blurred.sum(dim=1, keepdim=True)], dim=1))
    contrast = _depthwise(_gaussian(logs), _LAPLACIAN)
    spread = ((contrast[:, :3] - contrast[:, 3:]) ** 2).sum(dim=1).sqrt()
    index = spread / (contrast[:, 3].abs() + 1e-4)
    index = _depthwise(index[:, None], torch.full((3, 3), 1 / 9.0))[:, 0]
    flat = (contrast[:, :3].abs() < 1e-3).all(dim=1)
    index = torch.where(usable & ~flat, index, torch.full_like(index, float("inf"))).flatten(1)
    n = max(int(share * index.shape[1]), 1)
    cut = index.sort(dim=1).values[:, n - 1]
    chosen = ((index <= cut[:, None]) & torch.isfinite(index)).view(rgb.shape[0], *rgb.shape[2:])
    logs = logs[:, :3]
    return logs[:, 1] - logs[:, 0], logs[:, 1] - logs[:, 2], chosen


BRIGHT_SHARE = 0.05  # the bright plane: this share of a view's pixels, the brightest


def bright_plane(
    rgb: torch.Tensor,
    share: float = BRIGHT_SHARE,
    view: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(u, v, chosen) of the ``share`` brightest pixels of each (B, 3, H, W) sRGB view.

    Brightness is the sum of the linear channels of the view blurred as in
    :func:`gray_plane`; near-black and clipped pixels are never chosen, nor any pixel
    whose blur reaches one (a clipped highlight's chroma is the clip's, not the
    light's, and the rim of a clipped sky would otherwise outrank a white wall). A
    change of light scales the channels, so the brightest pixels stay mostly the same
    (a strong tint reorders the margin a little) and their (u, v) move by the light's,
    as every plane's do. ``view``: as for :func:`gray_plane`."""
    usable, blurred = view if view is not None else _blurred_view(srgb_to_linear_torch(rgb))
    reach = 2 * int(3 * _GRAY_SIGMA) + 1  # the blur's support (:func:`_gaussian`)
    clear = -F.max_pool2d(-usable[:, None].to(blurred.dtype), reach, stride=1, padding=reach // 2)
    usable = clear[:, 0] > 0.5
    level = torch.where(usable, blurred.sum(dim=1), torch.full_like(blurred[:, 0], -1.0))
    level = level.flatten(1)
    n = max(int(share * level.shape[1]), 1)
    cut = level.sort(dim=1, descending=True).values[:, n - 1]
    chosen = ((level >= cut[:, None]) & (level > 0)).view(rgb.shape[0], *rgb.shape[2:])
    logs = torch.log(blurred)
    return logs[:, 1] - logs[:, 0], logs[:, 1] - logs[:, 2], chosen


def _chroma_planes(
    rgb: torch.Tensor, gray: bool = False, bright: bool = False
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(u, v, usable) of the pixels and of their local contrast, in linear light (with
    ``gray``, of the grayest pixels: :func:`gray_plane`; with ``bright``, then of the
    brightest: :func:`bright_plane`)."""
    lin = srgb_to_linear_torch(rgb)
    blur = F.avg_pool2d(F.pad(lin, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    edge = (lin - blur).abs()
    usable = ((lin > 0.004) & (lin < 0.98)).all(dim=1)
    planes = []
    for img in (lin, edge):
        ok = usable & (img > 1e-5).all(dim=1)
        logs = torch.log(img.clamp_min(1e-5))
        planes.append((logs[:, 1] - logs[:, 0], logs[:, 1] - logs[:, 2], ok))
    view = _blurred_view(lin) if gray or bright else None  # shared by both planes
    if gray:
        planes.append(gray_plane(rgb, view=view))
    if bright:
        planes.append(bright_plane(rgb, view=view))
    return planes


def log_chroma_histogram(
    rgb: torch.Tensor,
    bins: int,
    lo: float,
    step: float,
    gray: bool = False,
    bright: bool = False,
) -> torch.Tensor:
    """(B, 3, H, W) sRGB -> (B, 2, bins, bins) histograms of (u, v) in linear light, of the
    pixels and of their local contrast (with ``gray``, (B, 3, ...): and of the grayest
    pixels; with ``bright`` one plane more: the brightest), each summing to 1 (bilinear
    binning)."""
    planes = _chroma_planes(rgb, gray, bright)
    return torch.stack([_splat(u, v, ok, bins, lo, step) for u, v, ok in planes], 1)


def band_weights(rgb: torch.Tensor, bands: int) -> torch.Tensor:
    """(B, 3, ...) sRGB -> (B, bands, ...) hat weights over luma (Rec. 601 weights of
    the encoded values), centred at 0, 1/(bands-1), ..., 1; they sum to 1 at every pixel."""
    y = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    centres = torch.linspace(0.0, 1.0, bands, dtype=rgb.dtype, device=rgb.device)
    shape = (1, bands) + (1,) * (y.dim() - 1)
    return (1 - (y[:, None] - centres.view(shape)).abs() * (bands - 1)).clamp_min(0.0)


def apply_band_gains(rgb: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """(B, 3, ...) sRGB times per-band (B, bands, 3) linear gains, each pixel's gain
    interpolated (in log) by its luma -> sRGB, clipped to [0, 1]. A function of the
    pixel's colour alone: a global colour map, so it bakes into a LUT exactly."""
    w = band_weights(rgb, gains.shape[1])
    log_gain = torch.einsum("bk...,bkc->bc...", w, torch.log(gains.clamp_min(1e-6)))
    return linear_to_srgb_torch(srgb_to_linear_torch(rgb) * log_gain.exp())


def log_chroma_band_histograms(
    rgb: torch.Tensor,
    bins: int,
    lo: float,
    step: float,
    bands: int,
    gray: bool = False,
    bright: bool = False,
) -> torch.Tensor:
    """(B, 3, H, W) sRGB -> (B, 1 + bands, P, bins, bins) (P planes: 2, plus one with
    ``gray``, plus one with ``bright``): the whole image's histograms (as
    :func:`log_chroma_histogram`), then each tonal band's (pixels weighted by
    :func:`band_weights`)."""
    planes = _chroma_planes(rgb, gray, bright)  # computed once, splatted with each band's weights
    weights = [None, *band_weights(rgb, bands).unbind(1)]
    return torch.stack(
        [
            torch.stack([_splat(u, v, ok, bins, lo, step, w) for u, v, ok in planes], 1)
            for w in weights
        ],
        dim=1,
    )


def _splat(u, v, ok, bins: int, lo: float, step: float, weight=None) -> torch.Tensor:
    b = u.shape[0]
    fu = ((u - lo) / step).reshape(b, -1)
    fv = ((v - lo) / step).reshape(b, -1)
    inside = (fu >= 0) & (fu <= bins - 1.001) & (fv >= 0) & (fv <= bins - 1.001)
    w = (ok.reshape(b, -1) & inside).to(u.dtype)  # chroma off the plane is left out
    if weight is not None:
        w = w * weight.reshape(b, -1)
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
    ``bands`` > 1 adds the per-band lights (:meth:`band_gains`; see the module doc);
    ``forward``, :meth:`gains` and :meth:`light` stay the whole image's. ``gray`` adds
    the gray-pixel histogram (:func:`gray_plane`) and its filter, ``bright`` the
    brightest pixels' (:func:`bright_plane`) and its filter.
    """

    def __init__(
        self,
        bins: int = 48,
        step: float = 1 / 16,
        lo: float | None = None,
        bands: int = 1,
        gray: bool = False,
        bright: bool = False,
    ):
        super().__init__()
        good_bands = isinstance(bands, int) and not isinstance(bands, bool) and 1 <= bands <= 8
        if not 8 <= bins <= 128 or not step > 0 or not good_bands:
            raise ConfigError(f"bad IlluminantNet size: bins {bins}, step {step}, bands {bands}")
        lo = -bins * step / 2 if lo is None else float(lo)
        self.config = {"bins": bins, "step": step, "lo": lo}
        if bands > 1:  # (a one-band net's config stays what older files hold)
            self.config["bands"] = bands
        if gray:  # (likewise)
            self.config["gray"] = True
        if bright:  # (likewise)
            self.config["bright"] = True
        planes = 2 + int(bool(gray)) + int(bool(bright))
        self.filters = nn.Parameter(torch.zeros(planes, 2 * bins, 2 * bins))
        self.bias = nn.Parameter(torch.zeros(bins, bins))
        self.log_temp = nn.Parameter(torch.tensor(0.0))
        if bands > 1:
            self.band_bias = nn.Parameter(torch.zeros(bands, bins, bins))
            self.band_share = nn.Parameter(torch.tensor(0.0))  # sigmoid: 0.5 at the start
        centres = lo + step * torch.arange(bins, dtype=torch.float32)
        cu, cv = torch.meshgrid(centres, centres, indexing="ij")
        self.register_buffer("grid", torch.stack([cu, cv]).reshape(2, -1), persistent=False)

    @property
    def bands(self) -> int:
        return int(self.config.get("bands", 1))

    @property
    def gray(self) -> bool:
        return bool(self.config.get("gray", False))

    @property
    def bright(self) -> bool:
        return bool(self.config.get("bright", False))

    def histogram(self, rgb: torch.Tensor) -> torch.Tensor:
        """The (B, 2, bins, bins) input histograms, or with bands (B, 1 + bands, 2, bins,
        bins): the whole image's, then each band's (no gradient: they are data); one
        plane more with ``gray`` and one with ``bright``."""
        c, gray, bright = self.config, self.gray, self.bright
        with torch.no_grad():
            if self.bands > 1:
                return log_chroma_band_histograms(
                    rgb, c["bins"], c["lo"], c["step"], self.bands, gray, bright
                )
            return log_chroma_histogram(rgb, c["bins"], c["lo"], c["step"], gray, bright)

    def _posteriors(self, hist: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(..., 2, bins, bins) histograms -> (..., bins * bins) probabilities."""
        bins = self.config["bins"]
        size = (2 * bins, 2 * bins)
        spec = torch.fft.rfft2(hist, s=size) * torch.fft.rfft2(self.filters, s=size)
        score = torch.fft.irfft2(spec.sum(dim=-3), s=size)[..., :bins, :bins] + bias
        # The scale makes the filters' natural size ~1 (histogram bins are ~1e-3).
        return torch.softmax(score.flatten(-2) * (100.0 * self.log_temp.exp()), -1)

    def posterior(self, rgb: torch.Tensor, hist: torch.Tensor | None = None) -> torch.Tensor:
        """(B, bins * bins) probabilities of each light; ``hist`` may be precomputed."""
        if hist is None:
            hist = self.histogram(rgb)
        return self._posteriors(hist[:, 0] if self.bands > 1 else hist, self.bias)

    def band_uv(self, rgb: torch.Tensor, hist: torch.Tensor | None = None) -> torch.Tensor:
        """(B, bands, 2): each tonal band's light (u, v), pulled toward the whole image's."""
        if self.bands < 2:
            raise ConfigError("this IlluminantNet has one band (bands=1)")
        if hist is None:
            hist = self.histogram(rgb)
        whole = self._posteriors(hist[:, 0], self.bias) @ self.grid.T
        each = self._posteriors(hist[:, 1:], self.band_bias) @ self.grid.T
        return whole[:, None] + torch.sigmoid(self.band_share) * (each - whole[:, None])

    def band_gains(self, rgb: torch.Tensor, hist: torch.Tensor | None = None) -> torch.Tensor:
        """(B, bands, 3) linear gains that neutralise each band's light (exposure kept),
        for :func:`apply_band_gains`."""
        uv = self.band_uv(rgb, hist)
        b, k = uv.shape[:2]
        return gains_from_light(light_from_uv(uv.reshape(b * k, 2))).reshape(b, k, 3)

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
        with torch.no_grad():
            return light_from_uv(self(self._view(pixels))[0])[0]

    def _view(self, pixels) -> torch.Tensor:
        import cv2
        import numpy as np

        from lutkit.images import to_float

        small = cv2.resize(
            np.ascontiguousarray(to_float(np.asarray(pixels)), dtype=np.float32),
            (64, 64),
            interpolation=cv2.INTER_AREA,
        )
        return torch.from_numpy(np.clip(small, 0, 1)).permute(2, 0, 1)[None]

    def correct(self, pixels):
        """Neutralise the estimated light of an (H, W, 3) image -> float32 sRGB in [0, 1]
        (von Kries in linear light, exposure kept, as the statistical baselines do);
        with bands, each band's light, by luma."""
        import numpy as np

        from lutkit.images import to_float
        from lutkit.models.baselines import correct_illuminant

        if self.bands < 2:
            return correct_illuminant(pixels, self.light(pixels).double().numpy())
        with torch.no_grad():
            gains = self.band_gains(self._view(pixels))
            rgb = torch.from_numpy(np.ascontiguousarray(to_float(np.asarray(pixels)), np.float32))
            out = apply_band_gains(rgb.permute(2, 0, 1)[None], gains)[0]
        return out.permute(1, 2, 0).numpy()
