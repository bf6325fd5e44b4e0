"""A direct pixel-space FCN: the approach the method argues against, as a baseline.

:class:`PixelFCN` regresses the corrected pixels from the distorted ones (a small
U-Net with a global context vector, predicting a residual), trained on 224x224 pairs
by :func:`lutkit.train.baselines.train_fcn`. It works on any image size, but what it outputs is new pixels:
edges and textures pass through convolutions and can blur, and its behaviour depends
on the resolution it was trained at (DESIGN.md, and the seed write-up's three
downsides). Full-resolution photos run in overlapping tiles, with the global context
taken from a downsampled copy (:meth:`PixelFCN.correct`).

Saved like every lutkit model: ``config.json`` + ``model.safetensors``.
"""

from __future__ import annotations

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
