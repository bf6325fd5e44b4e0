"""The blend net: lutkit's default colour map. It weighs candidate corrections, each a
colour map with a prior that colour science already knows, and returns their blend.

Candidates (each a pointwise colour map, so the blend bakes into one LUT3D):

- ``identity``: do nothing. Always a candidate, so that a photo unlike anything seen
  in training is left alone rather than made worse;
- ``gray-world``, ``shades-of-gray``, ``white-patch``, ``gray-edge``: the statistical
  lights (von Kries gains in linear light, as in :mod:`lutkit.models.baselines`);
- ``illuminant``: the light of the learned, translation-equivariant FFCC-style
  :class:`~lutkit.models.illuminant.IlluminantNet` (with ``gray``, both FFCC-style
  candidates also read a histogram of the view's grayest pixels; with ``bright``, of
  its brightest);
- ``illuminant-tonal``: the same kind of estimator with a light per tonal band
  (shadows, midtones, highlights; ``IlluminantNet(bands=3)``), applied as gains that
  follow each pixel's luma: a per-channel curve, for split-toned and cross-processed
  looks that one gain cannot undo;
- ``levels``: per-channel black and white points (the 0.5 % and 99.5 % quantiles of
  each channel stretched to 0 and 1), which undoes fading, lifted blacks and
  per-channel levels; ``sog-levels``: levels, then shades of gray;
- ``latent``: the LUT net on the VAE latents of the photo and of the recolor net's
  prediction (the method's colour map, :class:`~lutkit.models.colormap.LUTNet`).

A scorer, shared by all candidates, reads a few numbers of how each candidate's output
looks (:func:`look_stats`: the chroma of its mean and of its shades-of-gray norm, its
clipped shares, its saturation and level), how far it moved the view, and how the view
itself looks, and gives it a score; a learned per-candidate bias is added and the
softmax is the blend's weights. A scorer shared across candidates and fed ten numbers
per image is what lets a few tens of photos train it: it learns what a plausible photo
looks like, not which photo it is (a scorer fed 72 histogram features per output fit
the training photos and lost to shades of gray on held-out ones). Everything is
estimated from a small square view (``pixels`` per side, area-averaged from the 224
view). The learned candidates (``illuminant``, ``illuminant-tonal``, ``latent``) are
also trained on their own loss (:func:`lutkit.train.stages.blend_loss`), so each is a corrector by itself.

With ``exposure``, an :class:`~lutkit.models.exposure.ExposureStage` follows the blend:
one gain on all channels, predicted from the blended view's highlights (the lights keep
the photo's exposure; white patch and levels move it, with small weights), fitted after
training (:func:`lutkit.train.stages.fit_exposure`) and baked into the same LUT.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lutkit.errors import ConfigError
from lutkit.models.exposure import VIEW as EXPOSURE_VIEW
from lutkit.models.exposure import ExposureStage, apply_exposure
from lutkit.models.illuminant import (
    IlluminantNet,
    apply_band_gains,
    apply_gains,
    gains_from_light,
    light_from_uv,
    srgb_to_linear_torch,
)
from lutkit.models.recolor import PretrainedMixin

CANDIDATES = (
    "identity",
    "gray-world",
    "shades-of-gray",
    "white-patch",
    "gray-edge",
    "illuminant",
    "levels",
    "sog-levels",
    "illuminant-tonal",
    "latent",
)
# A BlendNet's candidates when none are given (what the first default model used).
DEFAULT_CANDIDATES = CANDIDATES[:8]
LEARNED_CANDIDATES = ("illuminant", "illuminant-tonal", "latent")
TONAL_BANDS = 3
LEVELS_QUANTILES = (0.005, 0.995)
LOOK_FEATURES = 10  # the length of look_stats


def _pnorm(x: torch.Tensor, p: float) -> torch.Tensor:
    return ((x.clamp_min(0) ** p).mean(dim=2) + 1e-12) ** (1 / p)


def _chroma(light: torch.Tensor) -> torch.Tensor:
    """(..., 3) linear RGB -> (..., 2) log red/green and log blue/green."""
    v = light.clamp_min(1e-4)
    return torch.stack([torch.log(v[..., 0] / v[..., 1]), torch.log(v[..., 2] / v[..., 1])], -1)


def look_stats(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB -> (N, 10) what a photo's colour looks like, in few numbers: the
    chroma of its mean and of its shades-of-gray norm (a cast), its clipped shares,
    the mean and spread of its saturation and of its level."""
    flat = rgb.reshape(rgb.shape[0], 3, -1)
    lin = srgb_to_linear_torch(flat)
    sat = flat.amax(dim=1) - flat.amin(dim=1)
    return torch.cat(
        [
            _chroma(lin.mean(dim=2)),
            _chroma(_pnorm(lin, 6)),
            (flat > 0.99).float().mean(dim=(1, 2))[:, None],
            (flat < 0.01).float().mean(dim=(1, 2))[:, None],
            sat.mean(dim=1, keepdim=True),
            sat.std(dim=1, keepdim=True),
            flat.mean(dim=(1, 2))[:, None],
            flat.std(dim=(1, 2))[:, None],
        ],
        dim=1,
    )


def estimate(view: torch.Tensor) -> dict[str, torch.Tensor]:
    """The statistical estimates of a (B, 3, s, s) sRGB view: each baseline's light
    (B, 3) in linear RGB, and each channel's black and white points (B, 3) in sRGB."""
    b = view.shape[0]
    lin = srgb_to_linear_torch(view)
    flat = lin.reshape(b, 3, -1)
    blur = F.avg_pool2d(F.pad(lin, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    gx = (blur[:, :, :, 2:] - blur[:, :, :, :-2])[:, :, 1:-1, :]
    gy = (blur[:, :, 2:, :] - blur[:, :, :-2, :])[:, :, :, 1:-1]
    edges = torch.sqrt(gx**2 + gy**2 + 1e-12).reshape(b, 3, -1)
    srgb = view.reshape(b, 3, -1)
    q = torch.tensor(LEVELS_QUANTILES, dtype=view.dtype, device=view.device)
    lo, hi = torch.quantile(srgb, q, dim=2)
    return {
        "gray-world": flat.mean(dim=2),
        "shades-of-gray": _pnorm(flat, 6),
        "white-patch": flat.amax(dim=2),
        "gray-edge": _pnorm(edges, 6),
        "black": lo,
        "white": hi,
    }


def levels(x: torch.Tensor, black: torch.Tensor, white: torch.Tensor) -> torch.Tensor:
    """Stretch each channel of (B, 3, ...) so that ``black`` -> 0 and ``white`` -> 1."""
    shape = (x.shape[0], 3) + (1,) * (x.dim() - 2)
    span = (white - black).clamp_min(0.05)
    return ((x - black.view(shape)) / span.view(shape)).clamp(0, 1)


class BlendNet(PretrainedMixin, nn.Module):
    """Weights over candidate corrections; see the module doc.

    ``latent_net``: the config of the LUT net of the ``latent`` candidate (None: no
    such candidate). Inputs: the (B, 3, s, s) view, and for the ``latent`` candidate the
    distorted and recolored latents (B, 2C, h, w).
    """

    def __init__(
        self,
        candidates: list[str] | tuple[str, ...] = DEFAULT_CANDIDATES,
        hidden: int = 32,
        pixels: int = 32,
        latent_net: dict | None = None,
        gray: bool = False,
        exposure: bool = False,
        bright: bool = False,
    ):
        super().__init__()
        unknown = [c for c in candidates if c not in CANDIDATES]
        if unknown or not candidates or candidates[0] != "identity" or hidden < 1:
            raise ConfigError(
                f"bad BlendNet: candidates {list(candidates)} (the first must be identity; "
                f"known: {', '.join(CANDIDATES)}), hidden {hidden}"
            )
        if ("latent" in candidates) != (latent_net is not None):
            raise ConfigError("the latent candidate and latent_net go together")
        self.config = {
            "candidates": list(candidates),
            "hidden": hidden,
            "pixels": pixels,
            "latent_net": latent_net,
        }
        if gray:  # (a config without it is what older files hold)
            self.config["gray"] = True
        if exposure:  # likewise
            self.config["exposure"] = True
        if bright:  # likewise
            self.config["bright"] = True
        self.exposure = ExposureStage() if exposure else None
        planes = {"gray": gray, "bright": bright}
        self.illuminant = IlluminantNet(**planes) if "illuminant" in candidates else None
        tonal = "illuminant-tonal" in candidates
        self.tonal = IlluminantNet(bands=TONAL_BANDS, **planes) if tonal else None
        self.latent = None
        if latent_net is not None:
            from lutkit.models.colormap import LUTNet

            self.latent = LUTNet(**latent_net)
        n = 2 * LOOK_FEATURES + 1
        self.scorer = nn.Sequential(nn.Linear(n, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1))
        nn.init.zeros_(self.scorer[-1].weight)
        nn.init.zeros_(self.scorer[-1].bias)
        bias = torch.zeros(len(candidates))
        bias[0] = 1.0  # an untrained net leans to doing nothing
        self.bias = nn.Parameter(bias)
        self.register_buffer("f_shift", torch.zeros(n))
        self.register_buffer("f_scale", torch.ones(n))

    @property
    def candidates(self) -> list[str]:
        return list(self.config["candidates"])

    def view(self, rgb: torch.Tensor) -> torch.Tensor:
        """The (B, 3, pixels, pixels) area-averaged view the estimates are made on."""
        side = int(self.config["pixels"])
        return F.adaptive_avg_pool2d(rgb, side) if rgb.shape[-1] != side else rgb

    def estimates(self, view: torch.Tensor, latents=None, hist=None) -> dict[str, torch.Tensor]:
        """Everything the candidates need, from the view (and the latents)."""
        est = estimate(view)
        if self.illuminant is not None:
            est["illuminant"] = light_from_uv(self.illuminant(view, hist)[0])
        if self.tonal is not None:
            est["illuminant-tonal"] = self.tonal.band_gains(view)
        if self.latent is not None:
            if latents is None:
                raise ConfigError("the latent candidate needs the latents")
            est["tables"] = self.latent(*latents)
        return est

    def apply_candidates(self, est: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """(B, K, 3, ...): every candidate's colour map applied to (B, 3, ...) pixels."""
        outs = []
        for name in self.candidates:
            if name == "identity":
                y = x
            elif name == "white-patch":
                y = apply_gains(x, gains_from_light(est[name], keep="white"))
            elif name in ("gray-world", "shades-of-gray", "gray-edge", "illuminant"):
                y = apply_gains(x, gains_from_light(est[name]))
            elif name == "illuminant-tonal":
                y = apply_band_gains(x, est[name])
            elif name == "levels":
                y = levels(x, est["black"], est["white"])
            elif name == "sog-levels":
                y = apply_gains(
                    levels(x, est["black"], est["white"]),
                    gains_from_light(est["shades-of-gray"]),
                )
            else:  # latent
                from lutkit.luts.torch_apply import apply_lut3d

                flat = x if x.dim() == 4 else x.reshape(x.shape[0], 3, 1, -1)
                y = apply_lut3d(est["tables"], flat.clamp(0, 1)).reshape(x.shape)
            outs.append(y)
        return torch.stack(outs, dim=1)

    def features(self, view: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """(B, K, 21): each candidate output's look, how much it changed the view, and
        the view's own look."""
        b, k = outputs.shape[:2]
        own = look_stats(outputs.reshape(b * k, *outputs.shape[2:])).reshape(b, k, -1)
        change = (outputs - view[:, None]).abs().mean(dim=(2, 3, 4))[..., None]
        seen = look_stats(view)[:, None].expand(-1, k, -1)
        return torch.cat([own, change, seen], dim=2)

    def set_feature_stats(self, feats: torch.Tensor) -> None:
        """Standardise the scorer's inputs with these (N, 2F) features' mean and spread."""
        with torch.no_grad():
            self.f_shift.copy_(feats.mean(dim=0))
            self.f_scale.copy_(feats.std(dim=0).clamp_min(1e-2))

    def weights(self, view: torch.Tensor, latents=None, hist=None):
        """(B, K) blend weights (softmax) and the estimates they weigh."""
        est = self.estimates(view, latents, hist)
        f = self.features(view, self.apply_candidates(est, view))
        f = ((f - self.f_shift) / self.f_scale).clamp(-5, 5)
        return torch.softmax(self.scorer(f)[..., 0] + self.bias, dim=1), est

    def render(self, w: torch.Tensor, est: dict[str, torch.Tensor], x: torch.Tensor):
        """The blend of the candidates, weighted by ``w`` (B, K), on pixels (B, 3, ...)."""
        outs = self.apply_candidates(est, x)
        return (outs * w.view(w.shape[0], w.shape[1], *([1] * (x.dim() - 1)))).sum(dim=1)

    def exposure_view(self, w: torch.Tensor, est: dict[str, torch.Tensor], rgb: torch.Tensor):
        """What the exposure stage reads: the blend of the (B, 3, 64, 64) area-averaged
        view of ``rgb``, averaged before the blend as the training pairs are (the
        candidates clip, so averaging after would read other highlights)."""
        small = F.adaptive_avg_pool2d(rgb, EXPOSURE_VIEW) if rgb.shape[-1] != EXPOSURE_VIEW else rgb
        return self.render(w, est, small)

    def forward(self, rgb: torch.Tensor, latents=None, hist=None) -> torch.Tensor:
        """The corrected (B, 3, H, W) pixels of ``rgb`` (weights from its view)."""
        w, est = self.weights(self.view(rgb), latents, hist)
        out = self.render(w, est, rgb)
        if self.exposure is None:
            return out
        return apply_exposure(out, self.exposure.log_gain(self.exposure_view(w, est, rgb)))

    def tables(self, rgb: torch.Tensor, size: int = 33, latents=None) -> torch.Tensor:
        """The correction of each image as a (B, size, size, size, 3) LUT table."""
        from lutkit.luts.torch_apply import identity_table

        w, est = self.weights(self.view(rgb), latents)
        lattice = identity_table(size).to(rgb).reshape(1, -1, 3).permute(0, 2, 1)
        lattice = lattice.expand(rgb.shape[0], -1, -1)
        out = self.render(w, est, lattice)
        if self.exposure is not None:
            out = apply_exposure(out, self.exposure.log_gain(self.exposure_view(w, est, rgb)))
        return out.permute(0, 2, 1).reshape(rgb.shape[0], size, size, size, 3)
