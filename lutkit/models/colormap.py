"""The colour map: from latents to a 3D LUT that corrects the full-resolution photo.

Two ways, both ending in a :class:`~lutkit.luts.model.LUT3D`:

- ``fit`` (the method, DESIGN.md step 3): decode the distorted latent and the
  recolored latent by *sampling* with the same noise, so both decodes carry the same
  VAE artefacts and line up pixel for pixel; fit a small RGB -> RGB regressor on those
  pixel pairs (:func:`fit_colormap`: an MLP 3-32-3 or a degree-5 polynomial) and bake
  it into a LUT (:func:`bake_colormap`).
- ``net`` (step 5): :class:`LUTNet` predicts the LUT from the two latents directly,
  as weights of a few learned basis LUTs (Zeng et al. 2020, Image-Adaptive 3D LUT).

:func:`lutkit.correct.predict.predict_correction` runs either on one image with a
trained run; this module holds the regressors and the network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from lutkit.errors import ConfigError, LutkitError
from lutkit.luts.torch_apply import identity_table
from lutkit.models.recolor import PretrainedMixin

if TYPE_CHECKING:
    from lutkit.luts.model import LUT3D

FIT_PIXELS = 224 * 224  # pixel pairs a regressor sees at most (a 224x224 decode)
MLP_HIDDEN = 32
MLP_STEPS = 400
MLP_BATCH = 4096  # pixel pairs per Adam step (a seeded draw from the subsample)
MLP_LR = 1e-2
POLY_DEGREE = 5
POLY_RIDGE = 1e-4
METHODS = ("mlp", "poly")
BAKE_MARGIN = 0.125  # how far outside [0, 1] a baked table may go

# sRGB (IEC 61966-2-1, 4 decimals) -> XYZ, as lutkit.color uses through colour-science;
# the Lab white is this matrix's white, so RGB white is exactly L* = 100, a* = b* = 0.
_SRGB_TO_XYZ = (
    (0.4124, 0.3576, 0.1805),
    (0.2126, 0.7152, 0.0722),
    (0.0193, 0.1192, 0.9505),
)


# --------------------------------------------------------------------------- regressors


@dataclass
class ColorMap:
    """A fitted RGB -> RGB regressor; ``cmap(rgb)`` maps (..., 3) float -> (..., 3) float32.

    ``mlp``: ``rgb + W2 relu(W1 rgb + b1) + b2`` (one hidden layer of 32 ReLU units on
    top of the identity, so colours it never saw stay close to themselves).
    ``poly``: ``rgb + P(rgb) C`` with ``P`` the monomials of degree <= 5 of
    ``2 rgb - 1`` (56 terms). Outputs are not clipped (:func:`bake_colormap` clips).
    """

    method: str
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        x = np.asarray(rgb, dtype=np.float64)
        if x.shape[-1:] != (3,):
            raise LutkitError(f"expected (..., 3) colours, got shape {x.shape}")
        flat = x.reshape(-1, 3)
        if self.method == "mlp":
            p = self.params
            hidden = np.maximum(flat @ p["w1"] + p["b1"], 0.0)
            out = flat + hidden @ p["w2"] + p["b2"]
        elif self.method == "poly":
            out = flat + _poly_features(flat, POLY_DEGREE) @ self.params["coef"]
        else:
            raise LutkitError(f"unknown colour map method {self.method!r}")
        return out.reshape(x.shape).astype(np.float32)


def _poly_exponents(degree: int) -> list[tuple[int, int, int]]:
    return [e for e in product(range(degree + 1), repeat=3) if sum(e) <= degree]


def _poly_features(rgb: np.ndarray, degree: int) -> np.ndarray:
    """(N, 3) -> (N, F) monomials of the centred colour (better conditioned than rgb)."""
    x = 2.0 * np.asarray(rgb, np.float64) - 1.0
    powers = [x**k for k in range(degree + 1)]  # each (N, 3)
    cols = [
        powers[i][:, 0] * powers[j][:, 1] * powers[k][:, 2] for i, j, k in _poly_exponents(degree)
    ]
    return np.stack(cols, axis=1)


def _pairs(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(src, dtype=np.float64), np.asarray(dst, dtype=np.float64)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != 3 or b.shape[-1] != 3:
        raise LutkitError(f"colour pairs must be (N, 3) arrays, got {a.shape} and {b.shape}")
    a, b = a.reshape(-1, 3), b.reshape(-1, 3)
    if a.shape != b.shape:
        raise LutkitError(f"colour pairs differ in length: {a.shape[0]} and {b.shape[0]}")
    if len(a) == 0:
        raise LutkitError("no colour pairs to fit")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise LutkitError("colour pairs contain NaN or infinity")
    return a, b


def fit_colormap(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    method: str = "mlp",
    seed: int = 0,
    steps: int = MLP_STEPS,
    max_pixels: int = FIT_PIXELS,
) -> ColorMap:
    """Fit an RGB -> RGB map on pixel pairs ``src[i] -> dst[i]`` ((N, 3) floats in [0, 1]).

    ``method``: "mlp" (Adam in torch, ``steps`` steps on batches of 4096 pairs, seeded
    and deterministic) or "poly" (degree-5 least squares with a small ridge towards the
    identity, numpy). At most ``max_pixels`` pairs are used (a seeded subsample).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown colour map method {method!r}: use mlp or poly")
    a, b = _pairs(src, dst)
    if len(a) > max_pixels:
        keep = np.sort(np.random.default_rng(seed).choice(len(a), max_pixels, replace=False))
        a, b = a[keep], b[keep]
    if method == "poly":
        feats = _poly_features(a, POLY_DEGREE)
        gram = feats.T @ feats
        gram[np.diag_indices_from(gram)] += POLY_RIDGE * len(a)
        coef = np.linalg.solve(gram, feats.T @ (b - a))
        return ColorMap("poly", {"coef": coef})
    return _fit_mlp(a, b, seed=seed, steps=steps)


def _fit_mlp(a: np.ndarray, b: np.ndarray, *, seed: int, steps: int) -> ColorMap:
    gen = torch.Generator("cpu").manual_seed(int(seed))
    bound = 1.0 / np.sqrt(3.0)  # torch's default Linear init for 3 inputs
    w1 = ((torch.rand(3, MLP_HIDDEN, generator=gen) * 2 - 1) * bound).requires_grad_()
    b1 = ((torch.rand(MLP_HIDDEN, generator=gen) * 2 - 1) * bound).requires_grad_()
    # The output layer starts at zero: the fit starts from the identity map.
    w2 = torch.zeros(MLP_HIDDEN, 3, requires_grad=True)
    b2 = torch.zeros(3, requires_grad=True)
    x = torch.from_numpy(a.astype(np.float32))
    y = torch.from_numpy(b.astype(np.float32))
    params = [w1, b1, w2, b2]
    opt = torch.optim.Adam(params, lr=MLP_LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(1, steps), eta_min=MLP_LR / 10
    )
    # A 3-32-3 net is too small to gain from threads (on a busy machine they cost 5x).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.enable_grad():
            for _ in range(steps):
                if len(x) > MLP_BATCH:
                    idx = torch.randint(0, len(x), (MLP_BATCH,), generator=gen)
                    xb, yb = x[idx], y[idx]
                else:
                    xb, yb = x, y
                pred = xb + torch.relu(xb @ w1 + b1) @ w2 + b2
                loss = torch.mean((pred - yb) ** 2)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
    finally:
        torch.set_num_threads(threads)
    names = ("w1", "b1", "w2", "b2")
    arrays = {n: t.detach().numpy().astype(np.float64) for n, t in zip(names, params, strict=True)}
    return ColorMap("mlp", arrays)


def bake_colormap(
    cmap: ColorMap, size: int = 33, *, margin: float = BAKE_MARGIN, title: str = ""
) -> LUT3D:
    """Sample a colour map on a ``size``^3 lattice -> a LUT3D.

    Outputs are clipped to [-margin, 1 + margin], not to [0, 1]: a map that leaves
    [0, 1] keeps its slope up to the margin, so applying the LUT and then clipping
    (as saving an image does) matches the clipped regressor within a level, while
    clipping the table at exactly [0, 1] bends the map inside the last lattice cell
    (up to 2 levels at 33^3). ``margin=0`` clips to [0, 1].
    """
    from lutkit.luts.model import LUT3D

    lo, hi = -float(margin), 1.0 + float(margin)
    return LUT3D.from_function(
        lambda rgb: np.clip(cmap(rgb), lo, hi), size, title=title or f"colour map ({cmap.method})"
    )


# --------------------------------------------------------------------------- torch colour


def srgb_to_lab_torch(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB-encoded -> CIE L*a*b* (D65), differentiable.

    The same conversion as :func:`lutkit.color.srgb_to_lab` (which goes through
    colour-science); values outside [0, 1] are extended as there.
    """
    a, k0 = 0.055, 0.04045
    mag = rgb.abs()
    linear = torch.where(
        mag <= k0, mag / 12.92, ((mag.clamp_min(k0) + a) / (1 + a)) ** 2.4
    ) * torch.sign(rgb)
    m = torch.tensor(_SRGB_TO_XYZ, dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,bjhw->bihw", m, linear)
    t = xyz / m.sum(dim=1).view(1, 3, 1, 1)
    delta = 6.0 / 29.0
    f = torch.where(
        t > delta**3, t.clamp_min(delta**3) ** (1.0 / 3.0), t / (3 * delta**2) + 4.0 / 29.0
    )
    return torch.stack(
        [116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], dim=1
    )


def delta_e76_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean CIE76 delta E between two (B, 3, H, W) sRGB images (smooth at zero)."""
    diff = srgb_to_lab_torch(pred) - srgb_to_lab_torch(target)
    return torch.sqrt((diff**2).sum(dim=1) + 1e-6).mean()


def delta_e2000_torch(lab1: torch.Tensor, lab2: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """CIEDE2000 between two (B, 3, ...) L*a*b* tensors -> (B, ...), differentiable.

    The formula of Sharma, Wu and Dalal (2005), as :func:`lutkit.color.delta_e_2000`
    computes it through colour-science, written so that its gradient is finite
    everywhere. The hue difference comes from the identity dH'^2 = da'^2 + db^2 - dC'^2
    (clamped at zero, which rounding can cross), its sign from the cross product
    a1' b2 - a2' b1; the mean hue is taken only where both chromas are above zero, as
    the formula says. Square roots are exact, with a zero slope where their argument is
    below 1e-12 (a gray pixel's chroma, the difference of two equal colours); the hue
    difference's, whose argument can be near zero while its inputs are not, is taken as
    sqrt(x + eps) - sqrt(eps). Near gray the formula's own dH' = 2 sqrt(C1' C2')
    sin(dh'/2) has a slope that grows as 1 / sqrt(C1'); eps bounds it (to about the
    other colour's chroma / sqrt(eps)), but it stays large there, so train with gradient
    clipping (`lutkit train` clips at ``grad_clip``).
    """

    def root(x: torch.Tensor) -> torch.Tensor:
        above = x > 1e-12
        return torch.sqrt(torch.where(above, x, torch.ones_like(x))) * above

    l1, a1, b1 = lab1.unbind(dim=1)
    l2, a2, b2 = lab2.unbind(dim=1)
    c_bar = 0.5 * (root(a1 * a1 + b1 * b1) + root(a2 * a2 + b2 * b2))
    c7 = c_bar**7
    g = 0.5 * (1.0 - root(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p = root(a1p * a1p + b1 * b1)
    c2p = root(a2p * a2p + b2 * b2)
    dl = l2 - l1
    dc = c2p - c1p
    da, db = a2p - a1p, b2 - b1
    dh2 = (da * da + db * db - dc * dc).clamp_min(0.0)
    sign = torch.where(a1p * b2 - a2p * b1 >= 0.0, 1.0, -1.0)
    dh = sign * (torch.sqrt(dh2 + eps) - eps**0.5)

    # Mean hue (degrees); a colour without chroma has no hue, and the formula then
    # takes the sum of the two. atan2 is fed safe values there so no NaN reaches it.
    def hue(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        chromatic = (a * a + b * b) > 1e-12
        a_safe = torch.where(chromatic, a, torch.ones_like(a))
        b_safe = torch.where(chromatic, b, torch.zeros_like(b))
        h = torch.rad2deg(torch.atan2(b_safe, a_safe)) % 360.0
        return torch.where(chromatic, h, torch.zeros_like(h)), chromatic

    h1, chroma1 = hue(a1p, b1)
    h2, chroma2 = hue(a2p, b2)
    both = chroma1 & chroma2
    s = h1 + h2
    far = (h1 - h2).abs() > 180.0
    h_bar = torch.where(far, torch.where(s < 360.0, s + 360.0, s - 360.0), s) * 0.5
    h_bar = torch.where(both, h_bar, s)
    rad = torch.deg2rad
    t = (
        1.0
        - 0.17 * torch.cos(rad(h_bar - 30.0))
        + 0.24 * torch.cos(rad(2.0 * h_bar))
        + 0.32 * torch.cos(rad(3.0 * h_bar + 6.0))
        - 0.20 * torch.cos(rad(4.0 * h_bar - 63.0))
    )
    l_bar = 0.5 * (l1 + l2)
    cp_bar = 0.5 * (c1p + c2p)
    cp7 = cp_bar**7
    r_c = 2.0 * root(cp7 / (cp7 + 25.0**7))
    d_theta = 30.0 * torch.exp(-(((h_bar - 275.0) / 25.0) ** 2))
    r_t = -torch.sin(rad(2.0 * d_theta)) * r_c
    s_l = 1.0 + 0.015 * (l_bar - 50.0) ** 2 / torch.sqrt(20.0 + (l_bar - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_bar
    s_h = 1.0 + 0.015 * cp_bar * t
    x_l, x_c, x_h = dl / s_l, dc / s_c, dh / s_h
    return root((x_l * x_l + x_c * x_c + x_h * x_h + r_t * x_c * x_h).clamp_min(0.0))


def delta_e2000_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean CIEDE2000 between two (B, 3, H, W) sRGB images: the metric ``make eval``
    reports, as a training loss (exactly 0, with a zero gradient, for equal images)."""
    return delta_e2000_torch(srgb_to_lab_torch(pred), srgb_to_lab_torch(target)).mean()


# The training losses by name (TrainConfig.colour_loss, IlluminantTrainConfig.colour_loss).
COLOUR_LOSSES = {"de76": delta_e76_loss, "de2000": delta_e2000_loss}


# --------------------------------------------------------------------------- LUT net


def lut_smoothness(tables: torch.Tensor) -> torch.Tensor:
    """Mean squared second difference of (B, N, N, N, 3) tables along each lattice axis.

    Zeng et al.'s total-variation term uses first differences, which also charges the
    identity and every contrast change; second differences (scaled to derivatives by
    (N - 1)^2, so the weight does not depend on N) cost nothing for any affine colour
    map and penalise only wiggles.
    """
    n = tables.shape[1]
    total = tables.new_zeros(())
    for axis in (1, 2, 3):
        d2 = torch.diff(tables, n=2, dim=axis) * (n - 1) ** 2
        total = total + (d2**2).mean()
    return total / 3.0


def lut_monotonicity(tables: torch.Tensor) -> torch.Tensor:
    """Mean amount by which each output channel decreases along its own input axis.

    Red out along the r axis, green along g, blue along b (Zeng et al. 2020), as a
    slope (scaled by N - 1); zero for any LUT that keeps the order of each channel.
    """
    n = tables.shape[1]
    total = tables.new_zeros(())
    for c, axis in enumerate((1, 2, 3)):
        d = torch.diff(tables[..., c], dim=axis) * (n - 1)
        total = total + torch.relu(-d).mean()
    return total / 3.0


class LUTNet(PretrainedMixin, nn.Module):
    """(distorted latent, recolored latent) -> a LUT table (B, N, N, N, 3) indexed [r, g, b].

    Both latents are (B, ``channels``, h, w) (mean and logvar). A small CNN with
    global average pooling, plus each input channel's mean and standard deviation (a
    colour cast moves exactly these), gives ``basis`` weights; the LUT is the weighted
    sum of ``basis`` learned tables of ``lut_size``^3. Basis 0 starts as the identity
    and the head's bias picks it, so an untrained net returns (almost) the identity.
    Inputs are standardised with per-channel ``shift`` / ``scale`` buffers that the
    trainer sets from the training latents (:meth:`set_input_stats`).
    """

    def __init__(self, channels: int = 8, width: int = 16, basis: int = 3, lut_size: int = 17):
        super().__init__()
        if not 1 <= basis <= 64 or not 2 <= lut_size <= 65 or width < 1 or channels < 1:
            raise ConfigError(
                f"bad LUTNet size: channels {channels}, width {width}, basis {basis}, "
                f"lut_size {lut_size}"
            )
        self.config = {"channels": channels, "width": width, "basis": basis, "lut_size": lut_size}
        cin, w = 2 * channels, width
        self.register_buffer("shift", torch.zeros(cin))
        self.register_buffer("scale", torch.ones(cin))
        self.features = nn.Sequential(
            nn.Conv2d(cin, w, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Sequential(
            nn.Linear(4 * w + 2 * cin, 4 * w), nn.LeakyReLU(0.2), nn.Linear(4 * w, basis)
        )
        nn.init.normal_(self.head[-1].weight, std=0.01)
        with torch.no_grad():
            self.head[-1].bias.zero_()
            self.head[-1].bias[0] = 1.0
        init = torch.randn(basis, lut_size, lut_size, lut_size, 3) * 1e-3
        init[0] = identity_table(lut_size)
        self.basis = nn.Parameter(init)

    @property
    def lut_size(self) -> int:
        return int(self.config["lut_size"])

    def set_input_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Per-channel mean and std of the concatenated (distorted, recolored) latents."""
        with torch.no_grad():
            self.shift.copy_(mean.reshape(-1))
            self.scale.copy_(std.reshape(-1).clamp_min(1e-3))

    def weights(self, distorted: torch.Tensor, recolored: torch.Tensor) -> torch.Tensor:
        """The basis weights, (B, basis)."""
        c = self.config["channels"]
        if distorted.shape != recolored.shape or distorted.dim() != 4 or distorted.shape[1] != c:
            raise ValueError(
                f"expected two (B, {c}, h, w) latents, got {tuple(distorted.shape)} "
                f"and {tuple(recolored.shape)}"
            )
        x = torch.cat([distorted, recolored], dim=1)
        x = (x - self.shift.view(1, -1, 1, 1)) / self.scale.view(1, -1, 1, 1)
        stats = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3), unbiased=False)], dim=1)
        return self.head(torch.cat([self.features(x), stats], dim=1))

    def forward(self, distorted: torch.Tensor, recolored: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bk,knmlc->bnmlc", self.weights(distorted, recolored), self.basis)


def lutnet_loss(
    tables: torch.Tensor,
    distorted_rgb: torch.Tensor,
    clean_rgb: torch.Tensor,
    *,
    tv_weight: float = 0.01,
    mono_weight: float = 10.0,
    colour_loss: str = "de76",
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of predicted tables: mean delta E (``colour_loss``: ``"de76"`` or
    ``"de2000"``) of the corrected pixels against the clean ones, plus smoothness and
    monotonicity regularisers. Returns (loss, parts)."""
    from lutkit.luts.torch_apply import apply_lut3d

    corrected = apply_lut3d(tables, distorted_rgb)
    de = COLOUR_LOSSES[colour_loss](corrected, clean_rgb)
    tv, mono = lut_smoothness(tables), lut_monotonicity(tables)
    loss = de + tv_weight * tv + mono_weight * mono
    return loss, {
        {"de76": "delta_e76", "de2000": "delta_e2000"}[colour_loss]: float(de.detach()),
        "tv": float(tv.detach()),
        "mono": float(mono.detach()),
    }
