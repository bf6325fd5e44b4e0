"""The learned baselines' trainers: the pixel-space FCN, Image-Adaptive 3D LUT and the
FFCC-style illuminant estimator (the networks are in :mod:`lutkit.models.fcn`,
:mod:`lutkit.models.ia3dlut` and :mod:`lutkit.models.illuminant`).

Both train on (distorted, clean) image pairs with one shared epoch loop: every pair
once per epoch as a random ``size`` crop (flipped half the time), in a seeded order,
with deterministic algorithms, so the same pairs and config give the same weights on a
CPU. ``progress`` counts the epochs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lutkit.errors import ConfigError
from lutkit.models.fcn import PixelFCN
from lutkit.models.ia3dlut import IA3DLUT, ia3dlut_loss
from lutkit.models.illuminant import IlluminantNet
from lutkit.progress import Counter, Progress
from lutkit.train.config import COLOUR_LOSS_NAMES


@dataclass(frozen=True)
class FCNTrainConfig:
    """How :func:`train_fcn` trains (the defaults: a few minutes on 2 CPU cores for the
    demo's ~30 pairs; a real comparison deserves more epochs and data)."""

    width: int = 12
    depth: int = 3
    epochs: int = 20
    batch_size: int = 4
    lr: float = 2e-3
    size: int = 224  # training crops (the method's image size)
    seed: int = 0

    def check(self) -> FCNTrainConfig:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.size < 16:
            raise ConfigError(f"bad FCN training settings: {asdict(self)}")
        return self


def stack_pairs(
    distorted: Sequence[np.ndarray], clean: Sequence[np.ndarray], size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two lists of (H, W, 3) images -> two float32 (N, 3, S, S) tensors in [0, 1].

    S is the smallest short side among the images, but at least ``size``; every image
    is resized so that its short side is S and centre-cropped to S x S (training then
    takes random ``size`` crops of these)."""
    import cv2

    from lutkit.images import to_float

    if len(distorted) != len(clean) or not distorted:
        raise ConfigError(f"need matching, non-empty pairs, got {len(distorted)} and {len(clean)}")
    side = max(size, min(min(a.shape[:2]) for a in distorted))
    out_d, out_c = [], []
    for d, c in zip(distorted, clean, strict=True):
        if d.shape != c.shape:
            raise ConfigError(f"a pair differs in shape: {d.shape} and {c.shape}")
        for img, bucket in ((d, out_d), (c, out_c)):
            f = to_float(np.asarray(img))
            h, w = f.shape[:2]
            s = side / min(h, w)
            if s != 1:
                interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
                f = np.clip(cv2.resize(f, (round(w * s), round(h * s)), interpolation=interp), 0, 1)
            h, w = f.shape[:2]
            y, x = (h - side) // 2, (w - side) // 2
            bucket.append(f[y : y + side, x : x + side].transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out_d)), torch.from_numpy(np.stack(out_c))


def random_crops(
    distorted: torch.Tensor, clean: torch.Tensor, size: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random ``size`` crop and horizontal flip of each pair (seeded)."""
    n, _, h, w = distorted.shape
    ys = torch.randint(0, h - size + 1, (n,), generator=gen).tolist()
    xs = torch.randint(0, w - size + 1, (n,), generator=gen).tolist()
    flips = torch.rand(n, generator=gen).lt(0.5).tolist()
    out_d, out_c = [], []
    for i in range(n):
        d = distorted[i, :, ys[i] : ys[i] + size, xs[i] : xs[i] + size]
        c = clean[i, :, ys[i] : ys[i] + size, xs[i] : xs[i] + size]
        if flips[i]:
            d, c = d.flip(-1), c.flip(-1)
        out_d.append(d)
        out_c.append(c)
    return torch.stack(out_d), torch.stack(out_c)


@dataclass(frozen=True)
class IA3DLUTTrainConfig:
    """How :func:`train_ia3dlut` trains. The loss is the paper's: MSE +
    ``smooth_weight`` * (TV + mean squared weight) + ``mono_weight`` * monotonicity."""

    basis: int = 3
    lut_size: int = 33
    width: int = 16
    input_size: int = 256
    epochs: int = 30  # the paper trains 400 epochs on 4500 pairs; this is demo-sized
    batch_size: int = 4
    lr: float = 1e-4  # the paper's; 1e-3 diverges on the demo data
    smooth_weight: float = 1e-4
    mono_weight: float = 10.0
    size: int = 224  # training crops
    seed: int = 0

    def check(self) -> IA3DLUTTrainConfig:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.size < 16:
            raise ConfigError(f"bad IA3DLUT training settings: {asdict(self)}")
        if self.smooth_weight < 0 or self.mono_weight < 0:
            raise ConfigError("regulariser weights must not be negative")
        return self


def train_pairs(
    distorted: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    cfg: Any,
    make: Callable[[int], tuple[Any, Any, Any]],
    batch_loss: Callable[[Any, torch.Tensor, torch.Tensor], tuple[torch.Tensor, float]],
    *,
    progress: Progress | None = None,
) -> tuple[Any, list[float], list[float], int]:
    """The shared epoch loop. ``make(steps_per_epoch)`` builds (model, optimizer,
    scheduler or None) after the seed is set; ``batch_loss(model, d, c)`` returns the
    loss to minimise and the value to report. Returns (model in eval mode, per-epoch
    mean reported loss, per-epoch seconds, number of pairs)."""
    d_all, c_all = stack_pairs(distorted, clean, cfg.size)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(cfg.seed)
        steps_per_epoch = -(-len(d_all) // cfg.batch_size)
        model, opt, sched = make(steps_per_epoch)
        counter = Counter(progress, cfg.epochs, f"{type(model).__name__} epochs")
        gen = torch.Generator().manual_seed(cfg.seed)
        losses, seconds = [], []
        model.train()
        for _ in range(cfg.epochs):
            start = time.perf_counter()
            order = torch.randperm(len(d_all), generator=gen)
            total = 0.0
            for k in range(0, len(order), cfg.batch_size):
                idx = order[k : k + cfg.batch_size]
                d, c = random_crops(d_all[idx], c_all[idx], cfg.size, gen)
                loss, value = batch_loss(model, d, c)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                total += value * len(idx)
            seconds.append(time.perf_counter() - start)
            losses.append(total / len(d_all))
            counter.add()
    finally:
        torch.use_deterministic_algorithms(deterministic)
    model.eval()
    return model, losses, seconds, len(d_all)


def _record(model: str, cfg: Any, pairs: int, losses: list[float], seconds, digits: int):
    """The training record every learned baseline keeps beside its weights."""
    return {
        "model": model,
        "config": asdict(cfg),
        "pairs": pairs,
        "losses": [round(v, digits) for v in losses],
        "seconds_per_epoch": float(np.median(seconds)),
    }


def _adam_cosine(model, cfg: Any, steps_per_epoch: int):
    """(model, Adam, cosine decay to lr / 10 over the whole run)."""
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.lr / 10
    )
    return model, opt, sched


def train_fcn(
    distorted: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    config: FCNTrainConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[PixelFCN, dict[str, Any]]:
    """Train a :class:`PixelFCN` on (distorted, clean) pairs with an L1 loss (Adam,
    cosine decay to lr / 10; see the module doc). Returns the model (eval mode) and a
    record: the config, per-epoch losses and ``seconds_per_epoch``."""
    cfg = (config or FCNTrainConfig()).check()

    def make(steps_per_epoch: int):
        return _adam_cosine(PixelFCN(cfg.width, cfg.depth), cfg, steps_per_epoch)

    def batch_loss(model, d, c):
        loss = F.l1_loss(model(d), c)
        return loss, float(loss.detach())

    model, losses, seconds, pairs = train_pairs(
        distorted, clean, cfg, make, batch_loss, progress=progress
    )
    return model, _record("PixelFCN", cfg, pairs, losses, seconds, 6)


def train_ia3dlut(
    distorted: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    config: IA3DLUTTrainConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[IA3DLUT, dict[str, Any]]:
    """Train an :class:`IA3DLUT` on (distorted, clean) pairs with the paper's loss
    (Adam; the reported loss is the MSE). Returns the model (eval mode) and a record
    with ``seconds_per_epoch``."""
    cfg = (config or IA3DLUTTrainConfig()).check()

    def make(steps_per_epoch: int):
        model = IA3DLUT(cfg.basis, cfg.lut_size, cfg.width, cfg.input_size)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
        return model, opt, None

    def batch_loss(model, d, c):
        loss, parts = ia3dlut_loss(
            model, d, c, smooth_weight=cfg.smooth_weight, mono_weight=cfg.mono_weight
        )
        return loss, parts["mse"]

    model, losses, seconds, pairs = train_pairs(
        distorted, clean, cfg, make, batch_loss, progress=progress
    )
    return model, _record("IA3DLUT", cfg, pairs, losses, seconds, 8)


@dataclass(frozen=True)
class IlluminantTrainConfig:
    """How :func:`train_illuminant` trains the FFCC-style estimator alone (what a
    colour-constancy user would pick): the delta E (``colour_loss``: CIE76 or CIEDE2000)
    of the photo after dividing out the estimated light, on 64 x 64 area-averaged copies
    of random crops."""

    bins: int = 48
    epochs: int = 3
    batch_size: int = 16
    lr: float = 2e-3
    size: int = 224  # training crops
    view: int = 64  # the side of the copies the light is estimated on and scored
    seed: int = 0
    bands: int = 1  # > 1: a light per tonal band, applied by luma (IlluminantNet(bands=))
    gray: bool = True  # a third histogram plane: the grayest pixels (IlluminantNet(gray=))
    bright: bool = True  # another: the brightest pixels (IlluminantNet(bright=))
    colour_loss: str = "de76"  # de76 | de2000 (as TrainConfig.colour_loss)

    def check(self) -> IlluminantTrainConfig:
        bad = not isinstance(self.bands, int) or not 1 <= self.bands <= 8
        bad = bad or self.colour_loss not in COLOUR_LOSS_NAMES
        if bad or self.epochs < 1 or self.batch_size < 1 or not self.lr > 0 or self.view < 8:
            raise ConfigError(f"bad illuminant training settings: {asdict(self)}")
        return self


def train_illuminant(
    distorted: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    config: IlluminantTrainConfig | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[IlluminantNet, dict[str, Any]]:
    """Train an :class:`IlluminantNet` on (distorted, clean) pairs (Adam, cosine decay to
    lr / 10). Returns the model (eval mode) and a record with ``seconds_per_epoch``."""
    from lutkit.models.colormap import COLOUR_LOSSES
    from lutkit.models.illuminant import apply_band_gains, apply_gains

    cfg = (config or IlluminantTrainConfig()).check()
    delta_e = COLOUR_LOSSES[cfg.colour_loss]

    def make(steps_per_epoch: int):
        net = IlluminantNet(cfg.bins, bands=cfg.bands, gray=cfg.gray, bright=cfg.bright)
        return _adam_cosine(net, cfg, steps_per_epoch)

    def batch_loss(model, d, c):
        d, c = F.adaptive_avg_pool2d(d, cfg.view), F.adaptive_avg_pool2d(c, cfg.view)
        if cfg.bands > 1:
            loss = delta_e(apply_band_gains(d, model.band_gains(d)), c)
        else:
            loss = delta_e(apply_gains(d, model.gains(d)), c)
        return loss, float(loss.detach())

    model, losses, seconds, pairs = train_pairs(
        distorted, clean, cfg, make, batch_loss, progress=progress
    )
    return model, _record("IlluminantNet", cfg, pairs, losses, seconds, 6)
