"""Hald CLUT images: a 3D LUT stored as a square picture.

A Hald of level L holds a LUT of L^2 points per side in an image of L^3 x L^3 pixels.
Pixels are read row by row (row-major) and **red changes fastest**, then green, then
blue: flat pixel index = r + L^2 * g + L^4 * b. That is the order written by
ImageMagick (``hald:L``), G'MIC and RawTherapee. A pixel's value is the LUT's output
for that lattice point; the input domain is always [0, 1].

A Hald is data, not a picture: it is read without ICC conversion or EXIF rotation.

ImageMagick's 8-bit identity (``convert hald:8 -depth 8``) truncates, as does the
original HaldCLUT reference code: value = floor(255 * i / (L^2 - 1)). The 16-bit one
rounds. :func:`hald_identity` reproduces both exactly.
"""

from __future__ import annotations

import shlex
import warnings
from os import PathLike
from pathlib import Path

import numpy as np

from lutkit.errors import FormatError, ImageError, LUTError, LutkitWarning
from lutkit.images import from_float, load_image, save_image, to_float
from lutkit.luts.bake import bake_unit, say_if_clipped
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

__all__ = ["HALD_LEVELS", "hald_identity", "read_hald", "write_hald", "hald_level"]

HALD_LEVELS = range(2, 17)
HALD_EXTENSIONS = (".png", ".tif", ".tiff")
_VALID_SIDES = ", ".join(str(level**3) for level in HALD_LEVELS)


def hald_identity(level: int = 8, dtype: type | np.dtype = np.uint8) -> np.ndarray:
    """The identity Hald image of ``level``, shape (L^3, L^3, 3), uint8 or uint16.

    Pixel for pixel equal to ImageMagick ``hald:L`` written at 8 or 16 bits.
    """
    _check_level(level)
    dtype = np.dtype(dtype)
    n = level * level
    i = np.arange(n, dtype=np.int64)
    if dtype == np.uint8:
        ramp = (255 * i) // (n - 1)  # truncated, as ImageMagick and the reference code
    elif dtype == np.uint16:
        ramp = (2 * 65535 * i + (n - 1)) // (2 * (n - 1))  # rounded half up
    else:
        raise LUTError(f"a Hald identity is uint8 or uint16, not {dtype}")
    ramp = ramp.astype(dtype)
    cube = np.empty((n, n, n, 3), dtype)  # [b, g, r]: red changes fastest in memory
    cube[..., 0] = ramp[None, None, :]
    cube[..., 1] = ramp[None, :, None]
    cube[..., 2] = ramp[:, None, None]
    return cube.reshape(n * level, n * level, 3)


def hald_level(side: int, *, path: str | None = None) -> int:
    """The level of a Hald image whose side is ``side`` pixels; FormatError if none."""
    level = round(side ** (1.0 / 3.0)) if side > 0 else 0
    if level**3 != side:
        nearest = min(HALD_LEVELS, key=lambda lv: abs(lv**3 - side))
        raise FormatError(
            f"Hald image side {side} is not a cube of a level",
            path=path,
            hint=f"valid sides are level^3 for levels 2..16: {_VALID_SIDES}; "
            f"the nearest is {nearest**3} (level {nearest})",
        )
    if level not in HALD_LEVELS:
        raise FormatError(
            f"Hald level {level} (side {side}) is outside 2..16",
            path=path,
            hint=f"valid sides are {_VALID_SIDES}",
        )
    return level


def _check_level(level: int) -> None:
    if int(level) != level or level not in HALD_LEVELS:
        raise LUTError(f"a Hald level must be a whole number from 2 to 16, got {level}")


def read_hald(source: str | PathLike[str] | np.ndarray) -> LUT3D:
    """Read a Hald CLUT image (path or array) into a ``LUT3D`` of level^2 per side.

    Files: 8- or 16-bit PNG/TIFF, read raw (no ICC conversion, no rotation). Arrays:
    (S, S, 3 or 4) uint8, uint16 or float in [0, 1]; alpha is ignored.
    """
    if isinstance(source, np.ndarray):
        path = None
        pixels = source
        title = ""
    else:
        path = str(source)
        pixels = _read_pixels(Path(path))
        title = Path(path).stem
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise FormatError(
            f"a Hald image must be RGB, got an array of shape {pixels.shape}", path=path
        )
    height, width = pixels.shape[:2]
    if height != width:
        raise FormatError(f"Hald image should be a square, got {width}x{height}", path=path)
    level = hald_level(width, path=path)
    rgb = pixels[:, :, :3]
    if rgb.dtype not in (np.uint8, np.uint16) and rgb.dtype.kind != "f":
        raise FormatError(f"unsupported Hald pixel type {rgb.dtype}", path=path)
    values = to_float(rgb)  # uint8 / 255, uint16 / 65535, floats as they are
    n = level * level
    # Flat index r + n*g + n*n*b: the reshape gives [b, g, r]; transpose to [r, g, b].
    table = values.reshape(n, n, n, 3).transpose(2, 1, 0, 3)
    try:
        lut = LUT3D(table, title=title, metadata={"hald_level": level})
    except LUTError as exc:
        raise FormatError(exc.message, path=path) from None
    if path is not None and not _say_if_turned(values, level, path):
        _say_if_not_a_hald(lut.table, path)
    return lut


# The ways an image can be turned or mirrored (rotated in an editor, or saved by a tool
# that applied an orientation), each as what undoes it: the numpy turn of the pixels and
# the ImageMagick option that does the same.
_UNDO = {
    "rotated 90 degrees clockwise": (lambda a: np.rot90(a, 1), "-rotate -90"),
    "rotated 90 degrees counter-clockwise": (lambda a: np.rot90(a, 3), "-rotate 90"),
    "rotated 180 degrees": (lambda a: np.rot90(a, 2), "-rotate 180"),
    "mirrored left to right": (lambda a: a[:, ::-1], "-flop"),
    "mirrored top to bottom": (lambda a: a[::-1], "-flip"),
    "transposed": (lambda a: a.transpose(1, 0, 2), "-transpose"),
    "transversed": (lambda a: np.rot90(a, 2).transpose(1, 0, 2), "-transverse"),
}
# How much better (lower, :func:`_lattice_score`) the best turn back must score than the
# file as it is: a Hald turned any way scores 0.07 to 0.58 of itself turned back (the
# identity and the teal-orange-strong look, levels 4 and 8, each turn); a photo saved at
# a Hald's size 0.97 to 1.0 (scikit-image's astronaut, coffee, chelsea and rocket, levels
# 4 and 8); every LUT of lutkit's library as a level-8 Hald scores best as it is (any
# turn: 1.25 times or more).
_TURNED = 0.75


def _lattice_score(image: np.ndarray, level: int) -> float:
    """How unlike a colour map over the lattice an (S, S, 3) Hald image (a view may do)
    is: the mean step between lattice neighbours along red, green and blue (in lattice
    steps) plus the mean distance from the identity. A colour map is smooth and, as
    looks go, near the identity. Measured on at most 128 of the image's rows and the
    rows ``level`` below them (the next blue), so that a level-16 Hald takes no longer
    than a level-8 one."""
    n, side = level * level, level**3
    # Pixel (y, x) holds lattice point i = y S + x = r + n g + n^2 b: red's neighbour is
    # the next pixel (within a run of n), green's the pixel n further along the row,
    # blue's the pixel ``level`` rows below.
    # A row holds ``level`` greens; the last one's neighbour starts the next row (but
    # for the last green of all).
    rows = np.arange(0, side - level, max(1, side // 128))
    block = np.asarray(image[rows], dtype=np.float32)  # (rows, S, 3)
    below = np.asarray(image[rows + level], dtype=np.float32)
    inside = (np.arange(1, side) % n) != 0
    red = np.abs(np.diff(block, axis=1))[:, inside].mean()
    on = rows[(rows + 1) % level != 0]
    across = np.abs(
        np.asarray(image[on + 1, :n], dtype=np.float32)
        - np.asarray(image[on, side - n :], dtype=np.float32)
    )
    within = np.abs(block[:, n:] - block[:, :-n])
    green = (within.sum() + across.sum()) / (within.size + across.size)
    blue = np.abs(below - block).mean()
    flat = rows[:, None] * side + np.arange(side)[None, :]
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    lattice = np.stack([ramp[flat % n], ramp[(flat // n) % n], ramp[flat // (n * n)]], axis=-1)
    step = float(red + green + blue) / 3 * (n - 1)
    return step + float(np.abs(block - lattice).mean())


def _say_if_turned(image: np.ndarray, level: int, path: str) -> bool:
    """Warn (and say True) when the (S, S, 3) Hald image follows the lattice only once
    turned or mirrored back: a Hald rotated or flipped in an editor reads as a scrambled
    look, its colours at other lattice points than theirs."""
    scores = {how: _lattice_score(undo(image), level) for how, (undo, _) in _UNDO.items()}
    how = min(scores, key=scores.__getitem__)
    if scores[how] >= _TURNED * _lattice_score(image, level):
        return False
    option = _UNDO[how][1]
    also = " (if the look inverts colours on purpose, ignore this)" if "180" in how else ""
    warnings.warn(
        f"{path}: looks like a Hald CLUT that was {how}: its colours follow the lattice "
        f"only once that is undone, so this LUT scrambles colours{also}; undo it (e.g. "
        f"`convert {shlex.quote(path)} {option} hald-fixed.png`) and import that",
        LutkitWarning,
        stacklevel=3,
    )
    return True


# A colour map made by editing an identity Hald moves each channel one way (up, or down
# where the look inverts it) along its own axis on nearly every step: every LUT of
# lutkit's library on all of them, the strong channel twist of the tests on 73 %. A photo
# saved at a Hald's size, on about half (52 to 69 % for the photos scikit-image,
# scikit-learn and matplotlib ship, at levels 4 and 8). A warning only: a look that
# folds its curves (a solarise) is flagged too.
_MIN_ONE_WAY = 0.71


def _say_if_not_a_hald(table: np.ndarray, path: str) -> None:
    """Warn when ``table`` does not look like an edited Hald (see ``_MIN_ONE_WAY``)."""
    steps = [np.diff(table[..., c], axis=c) for c in range(3)]
    # each channel one way, rising or falling (an inverted channel is a look too)
    one_way = float(np.mean([max((d >= -1e-3).mean(), (d <= 1e-3).mean()) for d in steps]))
    if one_way < _MIN_ONE_WAY:
        warnings.warn(
            f"{path}: does not look like a Hald CLUT: each channel's output moves one way "
            f"with its input on {one_way:.0%} of the lattice's steps (an edited Hald: "
            "nearly all); is it a photo saved at a Hald's size?",
            LutkitWarning,
            stacklevel=3,
        )


def _read_pixels(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if path.suffix.lower() not in HALD_EXTENSIONS:
        raise FormatError(
            f"a Hald image must be PNG or TIFF, not {path.suffix or '(no extension)'!r}",
            path=path,
        )
    # Check the size from the header before decoding anything.
    try:
        with Image.open(path) as im:
            width, height = im.size
            mode = im.mode
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise FormatError(f"cannot read the Hald image: {exc}", path=path) from None
    if height != width:
        raise FormatError(f"Hald image should be a square, got {width}x{height}", path=path)
    hald_level(width, path=str(path))
    if mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
        raise FormatError(
            f"a Hald image must be RGB, this one is grayscale (mode {mode})", path=path
        )
    try:
        data = load_image(path, convert_icc=False, apply_orientation=False)
    except ImageError as exc:
        raise FormatError(f"cannot read the Hald image: {exc.message}", path=path) from None
    return data.pixels


def write_hald(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    path: str | PathLike[str],
    *,
    level: int | None = None,
    bit_depth: int = 8,
) -> Path:
    """Write ``lut`` as a Hald image (PNG or TIFF, 8 or 16 bits), atomically.

    ``level`` defaults to the smallest level whose lattice (level^2 per side) holds
    the LUT's (8 for a 1D LUT). The LUT is resampled (tetrahedral) onto the [0, 1]
    lattice when its size or domain differ (:func:`lutkit.luts.bake.bake_unit`, which
    warns of what is lost); outputs are clipped to [0, 1] (with a warning), since an
    image stores nothing else, and rounded to the bit depth.
    """
    path = Path(path)
    if path.suffix.lower() not in HALD_EXTENSIONS:
        raise FormatError(
            f"a Hald image is written as PNG or TIFF, not {path.suffix or '(no extension)'!r}",
            path=path,
        )
    if bit_depth not in (8, 16):
        raise LUTError(f"a Hald image is 8 or 16 bits, got {bit_depth}")
    if level is None:
        if not isinstance(lut, LUT1D):
            level = next((lv for lv in HALD_LEVELS if lv * lv >= lut.size), HALD_LEVELS[-1])
        else:
            level = 8
    _check_level(level)
    n = level * level
    levels = {lv * lv: f"--level {lv}" for lv in (4, 6, 8, 12)}
    table = bake_unit(lut, path, n, choices=levels).table
    say_if_clipped(table, path, "Hald", "a Hald image holds only that range")
    quantised = from_float(table, np.uint8 if bit_depth == 8 else np.uint16)  # rounds, clips
    # [r, g, b] -> [b, g, r] so that red changes fastest along each image row.
    pixels = quantised.transpose(2, 1, 0, 3).reshape(n * level, n * level, 3)
    return save_image(path, pixels, bit_depth=bit_depth)
