"""Small source folders and builds for the dataset tests (shared with tests/cli)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from lutkit.data.build import BuildConfig, build_dataset

# A recipe of colour maps only: every row gets a ground-truth LUT.
COLORMAP_RECIPE = """
name = "tiny-colormap"
description = "Colour maps only, for tests."

[[stage]]
[[stage.choose]]
op = "lighting.cct"
[[stage.choose]]
op = "curves.channels"
[[stage.choose]]
op = "curves.gamma"
"""

GOOD = ["astronaut.jpg", "chelsea.png", "coffee-rotated.jpg", "rocket16.png", "motorcycle.png"]
BAD = ["truncated.jpg", "empty.jpg", "notes.png"]


def _photo(name: str, size: int = 120) -> np.ndarray:
    """A bundled photo, shrunk so that its short side is ``size`` (uint8 RGB)."""
    import cv2

    from lutkit.images import load_image
    from lutkit.samples import sample_photo

    pixels = load_image(sample_photo(name).path).pixels
    h, w = pixels.shape[:2]
    scale = size / min(h, w)
    return cv2.resize(pixels, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def make_sources(folder: Path, *, bad: bool = True) -> Path:
    """A folder of five photos (JPEG, PNG, 16-bit PNG, one with EXIF orientation 6)
    and, with ``bad``, a truncated JPEG, an empty file and a text file named .png."""
    from PIL import Image

    from lutkit.images import save_image

    folder.mkdir(parents=True, exist_ok=True)
    save_image(folder / "astronaut.jpg", _photo("astronaut")[10:110, 5:115], quality=90)
    save_image(folder / "chelsea.png", _photo("chelsea"))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    Image.fromarray(_photo("coffee")).save(folder / "coffee-rotated.jpg", exif=exif.tobytes())
    sub = folder / "more"
    sub.mkdir(exist_ok=True)
    rocket = _photo("rocket").astype(np.uint16) * 257 + 128
    save_image(sub / "rocket16.png", rocket)
    save_image(sub / "motorcycle.png", _photo("motorcycle"))
    if bad:
        data = (folder / "astronaut.jpg").read_bytes()
        (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
        (folder / "empty.jpg").write_bytes(b"")
        (folder / "notes.png").write_text("not a picture\n")
    return folder


def add_photo(folder: Path) -> Path:
    from lutkit.images import save_image

    path = folder / "grace.png"
    save_image(path, _photo("grace_hopper"))
    return path


def build(source: Path, out: Path, **kwargs) -> object:
    """``build_dataset`` with test-sized defaults (64 px, 2 variants, small shards)."""
    opts = {"workers": kwargs.pop("workers", 1)}
    for key in ("engine", "force", "ray_address", "log"):
        if key in kwargs:
            opts[key] = kwargs.pop(key)
    cfg = BuildConfig(
        **{
            "source": str(source),
            "recipe": "default",
            "out": str(out),
            "variants": 2,
            "size": 64,
            "rows_per_shard": 4,
            **kwargs,
        }
    )
    return build_dataset(cfg, **opts)


def shard_hashes(out: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((out / "pairs").glob("*.parquet"))
    }
