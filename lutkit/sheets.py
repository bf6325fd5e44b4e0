"""Contact sheets: the pictures people look at (before/after, recipe previews, datasets)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lutkit.images import from_float, save_image, to_float


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow built without FreeType
        return ImageFont.load_default()


def _fit(image: np.ndarray, tile: int) -> np.ndarray:
    """Resize (keeping the aspect ratio) and centre on a tile x tile dark square."""
    import cv2

    img = to_float(image)
    h, w = img.shape[:2]
    scale = tile / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(img, (nw, nh), interpolation=interp)
    out = np.full((tile, tile, 3), 0.12, np.float32)
    y, x = (tile - nh) // 2, (tile - nw) // 2
    out[y : y + nh, x : x + nw] = np.clip(small, 0, 1)
    return out


def fit_tile(image: np.ndarray, tile: int) -> np.ndarray:
    """``image`` as a contact-sheet tile: uint8, resized to fit ``tile`` x ``tile`` and
    centred on a dark square. A tile already made is returned as it is (the same bytes
    it would be made again with)."""
    if image.dtype == np.uint8 and image.shape == (tile, tile, 3):
        return image
    return from_float(_fit(image, tile), np.uint8)


def contact_sheet(
    tiles: list[np.ndarray],
    labels: list[str] | None = None,
    *,
    columns: int = 4,
    tile: int = 256,
    title: str | None = None,
) -> np.ndarray:
    """Lay images out in a grid with a caption under each; returns uint8 (H, W, 3)."""
    from PIL import Image, ImageDraw

    labels = labels or [""] * len(tiles)
    columns = max(1, min(columns, len(tiles)))
    rows = (len(tiles) + columns - 1) // columns
    font = _font(max(11, tile // 18))
    line_h = max(14, tile // 14)
    max_lines = max((len(_wrap(lb, tile, font)) for lb in labels), default=0)
    cap = 6 + line_h * max_lines
    head = line_h + 12 if title else 0
    pad = 6
    sheet = Image.new(
        "RGB", (columns * (tile + pad) + pad, head + rows * (tile + cap + pad) + pad), (24, 24, 24)
    )
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 6), title, fill=(240, 240, 240), font=_font(max(12, tile // 14)))
    for i, (img, label) in enumerate(zip(tiles, labels, strict=True)):
        r, c = divmod(i, columns)
        x, y = pad + c * (tile + pad), head + pad + r * (tile + cap + pad)
        sheet.paste(Image.fromarray(fit_tile(img, tile)), (x, y))
        for k, line in enumerate(_wrap(label, tile, font)):
            draw.text((x + 2, y + tile + 3 + k * line_h), line, fill=(225, 225, 225), font=font)
    return np.asarray(sheet)


def _wrap(text: str, width: int, font) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        words, line = para.split(), ""
        for word in words:
            trial = f"{line} {word}".strip()
            if line and font.getlength(trial) > width - 4:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def save_contact_sheet(
    path: str | os.PathLike[str],
    tiles: list[np.ndarray],
    labels: list[str] | None = None,
    **kwargs,
) -> Path:
    """Write a contact sheet (see :func:`contact_sheet`) to ``path`` atomically."""
    return save_image(path, contact_sheet(tiles, labels, **kwargs))
