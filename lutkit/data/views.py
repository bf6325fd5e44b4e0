"""The views of a source photo that become dataset rows: decode once, then cut squares.

``prepare`` decodes a photo (at reduced size where the codec allows), orients it and
converts it to sRGB, then cuts each :class:`Crop` (None: the centre square) and
resizes it to the working size. ``plan_crops`` gives a photo's crops for
``dataset build --crops N``: the centre square, then seeded random squares;
``plan_mosaics`` the :class:`Mosaic` views that ``--mosaic M`` adds to each training
photo: its crop tiled with crops of other training photos. Each of the view's
distortions is drawn over the whole square, so a pair still differs by one global
colour map, while the palette is no longer one photo's: a model cannot learn a photo's
colours by heart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


def prepare(
    path: Path,
    size: int,
    crops: list[View] | None = None,
    partners: dict[str, Path] | None = None,
) -> list[np.ndarray]:
    """Decode (at reduced size where the codec allows), orient and convert to sRGB, then
    cut each crop (None: the centre square) and resize it to size x size; uint8 or
    uint16 kept. Returns one image per crop (``crops=None``: the centre square only).
    A :class:`Mosaic` view's other tiles come from ``partners`` (sha256 -> path)."""
    return [image for image, _ in prepare_views(path, size, crops, partners)]


def prepare_views(
    path: Path,
    size: int,
    crops: list[View] | None = None,
    partners: dict[str, Path] | None = None,
) -> list[tuple[np.ndarray, View]]:
    """:func:`prepare`, with each image the view it shows. A mosaic's other photos are
    decoded once per call, brought to this photo's sample type and let go after the
    last view that uses them; a tile whose photo cannot be decoded (or is not in
    ``partners``) is cut from this photo instead, with the same crop, and the returned
    view says so."""
    views = crops or [None]
    squares = [v for v in views if not isinstance(v, Mosaic)]
    draft = _draft(size, [v.scale for v in squares if v is not None])
    pixels = _decode(path, draft)
    # Mosaic tiles are decoded as finely as their smallest crop asks (the squares'
    # decode is kept as it is, so adding mosaics never changes a square's pixels).
    tiles = [t.crop.scale for v in views if isinstance(v, Mosaic) for t in v.tiles]
    tile_draft = _draft(size, tiles)
    own = pixels if tile_draft <= draft else None
    decoded: dict[str, np.ndarray | None] = {}
    uses: dict[str, int] = {}  # views still to come that tile each partner
    for v in views:
        if isinstance(v, Mosaic):
            for sha in {t.sha256 for t in v.tiles[1:]}:
                uses[sha] = uses.get(sha, 0) + 1
    out = []
    for view in views:
        if isinstance(view, Mosaic):
            if own is None:
                own = _decode(path, tile_draft)
            out.append(view.render(own, size, partners or {}, decoded, tile_draft))
            for sha in {t.sha256 for t in view.tiles[1:]}:
                uses[sha] -= 1
                if not uses[sha]:
                    decoded.pop(sha, None)  # full-size PNGs and TIFFs add up
        else:
            out.append((_square(pixels, size, view), view))
    return out


def _draft(size: int, scales: list[float]) -> int:
    """The decode size that keeps a crop of the smallest of ``scales`` at ``size``."""
    return int(np.ceil(size / min(scales, default=1.0)))


def _decode(path: Path, draft: int) -> np.ndarray:
    from lutkit.images import from_float, load_image

    pixels = load_image(path, draft=draft).pixels
    if pixels.dtype == np.float32:  # float TIFFs: store as 16-bit
        pixels = from_float(pixels, np.uint16)
    return pixels


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


@dataclass(frozen=True)
class Tile:
    """One tile of a :class:`Mosaic`: a crop of a photo (by sha256) with the tile's
    aspect (``scale`` of the largest such region that fits, ``x``, ``y`` where it sits),
    resized into ``box`` = (left, top, right, bottom) as fractions of the square."""

    sha256: str
    crop: Crop
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Mosaic:
    """A view made of 2 or 4 tiles; the first is a crop of the row's own photo."""

    tiles: tuple[Tile, ...]

    def render(
        self,
        own: np.ndarray,
        size: int,
        partners: dict[str, Path],
        decoded: dict[str, np.ndarray | None],
        draft: int | None = None,
    ) -> tuple[np.ndarray, Mosaic]:
        """The mosaic at size x size from ``own`` (the first tile's photo) and the
        partners' files, and the mosaic as drawn (see :func:`prepare_views`)."""
        out = np.zeros((size, size, own.shape[2]), own.dtype)
        used = []
        for i, tile in enumerate(self.tiles):
            left, top, right, bottom = (round(v * size) for v in tile.box)
            pixels = own if i == 0 else _partner(tile.sha256, partners, decoded, own.dtype, draft)
            if pixels is None:
                pixels, tile = own, Tile(self.tiles[0].sha256, tile.crop, tile.box)
            out[top:bottom, left:right] = _region(pixels, right - left, bottom - top, tile.crop)
            used.append(tile)
        return out, Mosaic(tuple(used))

    def to_json(self) -> str:
        tiles = [{"sha256": t.sha256, **asdict(t.crop), "box": list(t.box)} for t in self.tiles]
        return json.dumps({"mosaic": tiles}, sort_keys=True)


View = Crop | Mosaic | None


def _partner(
    sha256: str,
    partners: dict[str, Path],
    decoded: dict[str, np.ndarray | None],
    dtype,
    draft: int | None,
) -> np.ndarray | None:
    """A partner photo's pixels (None when it is unknown or cannot be decoded)."""
    from lutkit.errors import ImageError
    from lutkit.images import from_float, to_float

    if sha256 not in decoded:
        pixels = None
        if sha256 in partners:
            try:
                pixels = _decode(partners[sha256], draft)
            except ImageError:
                pixels = None  # that photo is rejected on its own; this tile uses ours
        if pixels is not None and pixels.dtype != dtype:
            pixels = from_float(to_float(pixels), dtype)
        decoded[sha256] = pixels
    return decoded[sha256]


def _region(pixels: np.ndarray, w: int, h: int, crop: Crop) -> np.ndarray:
    """Cut the region of aspect w:h that ``crop`` names and resize it to w x h."""
    import cv2

    ph, pw = pixels.shape[:2]
    if pw * h > ph * w:  # the photo is wider than the tile: the full height fits
        rh, rw = ph, ph * w / h
    else:
        rw, rh = pw, pw * h / w
    rw, rh = max(1, round(rw * crop.scale)), max(1, round(rh * crop.scale))
    y0, x0 = round((ph - rh) * crop.y), round((pw - rw) * crop.x)
    region = pixels[y0 : y0 + rh, x0 : x0 + rw, :3]
    interp = cv2.INTER_AREA if rw > w else cv2.INTER_CUBIC
    return cv2.resize(region, (w, h), interpolation=interp).reshape(h, w, -1)


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


def plan_mosaics(
    seed: int, sha256: str, count: int, others: list[str], min_crop: float, first: int
) -> list[Mosaic]:
    """``count`` mosaic views of a photo (numbered on from ``first``), each its crop
    tiled with crops of ``others`` (sha256s of other photos of its split): 2 tiles side
    by side or stacked, or 4 in a grid, the cuts at 30-70% of the side, every crop of
    the tile's aspect and at least ``min_crop`` of the largest that fits. Each is seeded
    from (dataset seed, photo sha256, "mosaic", view number). Without ``others`` the
    tiles are all this photo's."""
    from lutkit.seeds import derive_seed, rng

    pool = others or [sha256]
    out = []
    for c in range(first, first + count):
        g = rng(derive_seed(seed, sha256, "mosaic", c))
        n = 2 if g.random() < 0.5 else 4
        pick = g.choice(len(pool), size=n - 1, replace=len(pool) < n - 1)
        partners = [pool[i] for i in pick]
        cx, cy = (round(float(g.uniform(0.3, 0.7)), 4) for _ in range(2))
        if n == 4:
            boxes = [(0, 0, cx, cy), (cx, 0, 1, cy), (0, cy, cx, 1), (cx, cy, 1, 1)]
        elif g.random() < 0.5:
            boxes = [(0, 0, cx, 1), (cx, 0, 1, 1)]
        else:
            boxes = [(0, 0, 1, cy), (0, cy, 1, 1)]
        order = [sha256, *partners]
        out.append(
            Mosaic(
                tuple(
                    Tile(who, Crop.sample(g, min_crop), tuple(float(v) for v in box))
                    for who, box in zip(order, boxes, strict=True)
                )
            )
        )
    return out
