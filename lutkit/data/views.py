"""The views of a source photo that become dataset rows: decode once, then cut squares.

``prepare`` decodes a photo (at reduced size where the codec allows), orients it and
converts it to sRGB, then cuts each :class:`Crop` (None: the centre square) and
resizes it to the working size. ``plan_crops`` gives a photo's crops for
``dataset build --crops N``: the centre square, then seeded random squares.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


def prepare(path: Path, size: int, crops: list[Crop | None] | None = None) -> list[np.ndarray]:
    """Decode (at reduced size where the codec allows), orient and convert to sRGB, then
    cut each crop (None: the centre square) and resize it to size x size; uint8 or
    uint16 kept. Returns one image per crop (``crops=None``: the centre square only)."""
    from lutkit.images import load_image

    views = crops or [None]
    smallest = min((c.scale for c in views if c is not None), default=1.0)
    pixels = load_image(path, draft=int(np.ceil(size / smallest))).pixels
    if pixels.dtype == np.float32:  # float TIFFs: store as 16-bit
        from lutkit.images import from_float

        pixels = from_float(pixels, np.uint16)
    return [_square(pixels, size, crop) for crop in views]


@dataclass(frozen=True)
class Crop:
    """A square view of a photo, resolution independent: its side as a fraction of the
    photo's short side, and where it sits (0 = left/top edge, 1 = right/bottom edge)."""

    scale: float
    x: float
    y: float

    @classmethod
    def sample(cls, rng: np.random.Generator, min_scale: float) -> Crop:
        scale = float(rng.uniform(min_scale, 1.0))
        return cls(round(scale, 4), round(float(rng.random()), 4), round(float(rng.random()), 4))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _square(pixels: np.ndarray, size: int, crop: Crop | None) -> np.ndarray:
    """Cut ``crop`` (None: the short side, centred) and resize it to size x size."""
    import cv2

    h, w = pixels.shape[:2]
    if crop is not None:
        side = max(1, round(min(h, w) * crop.scale))
        y0, x0 = round((h - side) * crop.y), round((w - side) * crop.x)
        pixels = pixels[y0 : y0 + side, x0 : x0 + side]
        h = w = side
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(pixels, (nw, nh), interpolation=interp)
    y, x = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(resized[y : y + size, x : x + size])


def plan_crops(seed: int, sha256: str, crops: int, min_crop: float) -> list[Crop | None]:
    """The crops of one photo: the centre square first, then ``crops - 1`` random
    squares, each seeded from (dataset seed, photo sha256, "crop", index)."""
    from lutkit.seeds import derive_seed, rng

    out: list[Crop | None] = [None]
    for c in range(1, crops):
        out.append(Crop.sample(rng(derive_seed(seed, sha256, "crop", c)), min_crop))
    return out
