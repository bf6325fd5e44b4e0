"""A direct pixel-space FCN: the approach the method argues against, as a baseline.

:class:`PixelFCN` regresses the corrected pixels from the distorted ones (a small
U-Net with a global context vector, predicting a residual), trained on 224x224 pairs
by :func:`train_fcn`. It works on any image size, but what it outputs is new pixels:
edges and textures pass through convolutions and can blur, and its behaviour depends
on the resolution it was trained at (DESIGN.md, and the seed write-up's three
downsides). Full-resolution photos run in overlapping tiles, with the global context
taken from a downsampled copy (:meth:`PixelFCN.correct`).

Saved like every lutkit model: ``config.json`` + ``model.safetensors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lutkit.errors import ConfigError, LutkitError
from lutkit.models.recolor import PretrainedMixin

CONTEXT_SIDE = 224  # the global context of a large image comes from a copy this size


def _block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, padding_mode="reflect"),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, padding_mode="reflect"),
        nn.LeakyReLU(0.2, inplace=True),
    )


class PixelFCN(PretrainedMixin, nn.Module):
    """(B, 3, H, W) distorted sRGB in [0, 1] -> (B, 3, H, W) corrected sRGB.

    A U-Net of ``depth`` stride-2 levels (widths ``width * 2**k``) with skip
    connections; the bottleneck's global average (its *context*, which is where a
    colour cast shows) is mapped by a linear layer and added back everywhere, so the
    net sees the whole image. The output is the input plus a predicted residual (the
    last conv starts at zero: an untrained net is the identity). Any H, W works
    (reflection-padded to a multiple of ``2**depth`` inside).
    """

    def __init__(self, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        if width < 1 or not 1 <= depth <= 6:
            raise ConfigError(f"bad PixelFCN size: width {width}, depth {depth} (1 to 6)")
        self.config = {"width": width, "depth": depth}
        widths = [width * 2**k for k in range(depth + 1)]
        self.inc = _block(3, widths[0])
        self.downs = nn.ModuleList(_block(widths[k], widths[k + 1], 2) for k in range(depth))
        self.context_fc = nn.Linear(widths[-1], widths[-1])
        self.ups = nn.ModuleList(
            _block(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(depth))
        )
        self.out = nn.Conv2d(widths[0], 3, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def multiple(self) -> int:
        return 2 ** int(self.config["depth"])

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.inc(x)]
        for down in self.downs:
            feats.append(down(feats[-1]))
        return feats

    def context(self, x: torch.Tensor) -> torch.Tensor:
        """The global context (B, C) of images (B, 3, H, W): the bottleneck's mean."""
        x, _ = self._pad(x)
        return self._encode(x)[-1].mean(dim=(2, 3))

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) images, got {tuple(x.shape)}")
        h, w = x.shape[2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x, (h, w)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Corrected images; ``context`` (B, C) replaces the images' own (for tiles)."""
        padded, (h, w) = self._pad(x)
        feats = self._encode(padded)
        ctx = feats[-1].mean(dim=(2, 3)) if context is None else context
        y = feats[-1] + self.context_fc(ctx)[:, :, None, None]
        for up, skip in zip(self.ups, reversed(feats[:-1]), strict=True):
            y = F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False)
            y = up(torch.cat([y, skip], dim=1))
        return x + self.out(y)[:, :, :h, :w]

    @torch.no_grad()
    def correct(self, pixels: np.ndarray, *, tile: int = 1024, overlap: int = 32) -> np.ndarray:
        """Correct one (H, W, 3) image (uint8 / uint16 / float) -> float32 in [0, 1].

        Images larger than ``tile`` run in tiles of ``tile`` with ``overlap`` pixels of
        margin on each side (the margin is discarded), all sharing the context of a
        ``CONTEXT_SIDE`` copy of the whole image.
        """
        import cv2

        from lutkit.images import to_float

        img = to_float(np.asarray(pixels))
        if img.ndim != 3 or img.shape[2] != 3:
            raise LutkitError(f"expected an (H, W, 3) image, got shape {img.shape}")
        if tile < 64 or overlap < 0:
            raise ConfigError(f"bad tiling: tile {tile}, overlap {overlap}")
        h, w = img.shape[:2]
        device = next(self.parameters()).device
        self.eval()

        def run(a: np.ndarray, ctx: torch.Tensor | None = None) -> np.ndarray:
            x = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None].to(device)
            y = self(x, ctx)[0].clamp(0.0, 1.0)
            return y.permute(1, 2, 0).cpu().numpy()

        if max(h, w) <= tile:
            return run(img)
        scale = CONTEXT_SIDE / max(h, w)
        small = cv2.resize(
            img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        x_small = torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None]
        ctx = self.context(x_small.to(device))
        out = np.empty_like(img)
        for y0 in range(0, h, tile):
            for x0 in range(0, w, tile):
                y1, x1 = min(h, y0 + tile), min(w, x0 + tile)
                ya, xa = max(0, y0 - overlap), max(0, x0 - overlap)
                yb, xb = min(h, y1 + overlap), min(w, x1 + overlap)
                part = run(img[ya:yb, xa:xb], ctx)
                out[y0:y1, x0:x1] = part[y0 - ya : y1 - ya, x0 - xa : x1 - xa]
        return out


# --------------------------------------------------------------------------- training


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


def train_fcn(
    distorted: Sequence[np.ndarray],
    clean: Sequence[np.ndarray],
    config: FCNTrainConfig | None = None,
    *,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[PixelFCN, dict[str, Any]]:
    """Train a :class:`PixelFCN` on (distorted, clean) pairs with an L1 loss.

    Each epoch sees every pair once as a random ``config.size`` crop (flipped half the
    time), in a seeded order: the same pairs and config give the same weights on a
    CPU. ``progress(epoch, loss)`` is called after every epoch. Returns the model (eval
    mode) and a record: the config, per-epoch losses and ``seconds_per_epoch``.
    """
    cfg = (config or FCNTrainConfig()).check()
    d_all, c_all = stack_pairs(distorted, clean, cfg.size)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(cfg.seed)
        model = PixelFCN(cfg.width, cfg.depth)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        steps_per_epoch = -(-len(d_all) // cfg.batch_size)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.lr / 10
        )
        gen = torch.Generator().manual_seed(cfg.seed)
        losses, seconds = [], []
        model.train()
        for epoch in range(cfg.epochs):
            start = time.perf_counter()
            order = torch.randperm(len(d_all), generator=gen)
            total = 0.0
            for k in range(0, len(order), cfg.batch_size):
                idx = order[k : k + cfg.batch_size]
                d, c = random_crops(d_all[idx], c_all[idx], cfg.size, gen)
                loss = F.l1_loss(model(d), c)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            seconds.append(time.perf_counter() - start)
            losses.append(total / len(d_all))
            if progress is not None:
                progress(epoch + 1, losses[-1])
    finally:
        torch.use_deterministic_algorithms(deterministic)
    model.eval()
    record = {
        "model": "PixelFCN",
        "config": asdict(cfg),
        "pairs": len(d_all),
        "losses": [round(v, 6) for v in losses],
        "seconds_per_epoch": float(np.median(seconds)),
    }
    return model, record
