"""Fix full-resolution photos: predict the colour mapping in latent space, apply it as
a LUT to the original pixels (edges and textures untouched), iterate, export.

Each iteration predicts a correction LUT from a 224x224 view of the current result
(:func:`lutkit.correct.predict.predict_correction`) and composes it with the ones
before (:func:`iterate_corrections`, which ``lutkit eval`` reuses for its iteration
curve); the output is the composed LUT applied once to the original, so the exported
.cube reproduces it exactly in any LUT-applying tool.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lutkit.errors import ConfigError, ImageError, LutkitWarning
from lutkit.fsutil import check_distinct_outputs, check_writable_outputs, output_group
from lutkit.images import (
    COMPARE_SUFFIX,
    ImageData,
    check_save_path,
    is_greyscale,
    load_image,
    stopped_batch,
    to_float,
)
from lutkit.luts.apply import apply_lut
from lutkit.luts.model import LUT3D, compose
from lutkit.progress import Progress, each

if TYPE_CHECKING:
    from lutkit.correct.model import Run

PREVIEW_SIDE = 448  # iterations predict from a copy this size (the model sees 224)
# A further pass that moves no colour of the photo (its preview) by more than this (half
# an 8-bit level) no longer changes it: iterating stops there.
CONVERGED = 0.5 / 255


GREYSCALE_TITLE = "lutkit fix (a greyscale photo: no colour cast, left as it is)"
INVISIBLE_TITLE = "lutkit fix (no visible pixel: left as it is)"


@dataclass
class FixResult:
    pixels: np.ndarray
    lut: LUT3D  # the whole correction (iterations composed, strength applied)
    greyscale: bool = False  # a photo with no colour, left as it is (the LUT: identity)
    transparent: bool = False  # nothing visible (alpha 0 everywhere), left as it is
    passes: int = 1  # the passes made (fewer than asked where a further one changed
    # nothing; none for a photo left as it is)


def visible_view(pixels: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """What the correction is predicted from: the photo, or for one with transparent
    pixels (alpha 0) its visible part: cropped to the box around the visible pixels, and
    the transparent ones left inside given the visible pixels' mean colour (no edges, and
    the average colour that gray-world-like cues read stays the visible pixels'), so a
    cut-out is corrected from what shows, whatever colour its hidden pixels hold. An
    image with no visible pixel is used as it is."""
    if alpha is None:
        return pixels
    seen = np.asarray(alpha) > 0
    if seen.all() or not seen.any():
        return pixels
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    view, mask = pixels[box].copy(), seen[box]
    if not mask.all():
        mean = view[mask].astype(np.float64).mean(axis=0)
        view[~mask] = mean.round().astype(view.dtype) if view.dtype.kind in "ui" else mean
    return view


def preview(pixels: np.ndarray) -> np.ndarray:
    """The copy iterations predict from: ``pixels`` resized (area) so the short side is
    at most ``PREVIEW_SIDE``; smaller images are returned as they are."""
    import cv2

    h, w = pixels.shape[:2]
    scale = PREVIEW_SIDE / min(h, w)
    if scale >= 1:
        return pixels
    return cv2.resize(pixels, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def iterate_corrections(
    run: Run,
    pixels: np.ndarray,
    *,
    colormap: str = "fit",
    iterations: int = 1,
    seed: int = 0,
    lut_size: int = 33,
) -> Iterator[LUT3D]:
    """The correction after 1, 2, ..., ``iterations`` iterations, one LUT each.

    Iteration k predicts a LUT (noise seed ``seed + k``) from the result so far, on a
    :func:`preview` of ``pixels``, and composes it with the earlier ones; the k-th LUT
    yielded is the whole correction of ``k + 1`` iterations (strength 1). Once a pass
    moves no colour of the preview by more than :data:`CONVERGED`, the photo no longer
    changes: no more passes are made, and the correction so far is yielded for the rest.
    """
    from lutkit.correct.predict import predict_correction

    small = preview(pixels)
    current = small
    total: LUT3D | None = None
    converged = False
    for k in range(iterations):
        if k > 0 and converged:
            yield total
            continue
        step = predict_correction(
            run,
            current,
            colormap=colormap,
            seed=seed + k,
            lut_size=lut_size,
            size=getattr(run, "image_size", 224),
        )
        # Judged on the photo's own colours: somewhere in the lattice a pass always
        # moves a colour the photo does not have.
        before = to_float(current)
        converged = bool(np.abs(apply_lut(step, before) - before).max() <= CONVERGED)
        total = step if total is None else compose(total, step, size=lut_size)
        current = apply_lut(total, small)
        yield total


def fix_pixels(
    run: Run,
    pixels: np.ndarray,
    *,
    colormap: str = "fit",
    iterations: int = 1,
    strength: float = 1.0,
    seed: int = 0,
    lut_size: int = 33,
    alpha: np.ndarray | None = None,
) -> FixResult:
    """Correct (H, W, 3) uint8/uint16/float pixels with a trained run; see the module doc.
    With ``alpha``, the correction is predicted from the visible pixels
    (:func:`visible_view`) and applied to all."""
    if iterations < 1:
        raise ConfigError(f"--iterations must be at least 1, got {iterations}")
    if colormap not in ("fit", "net"):
        raise ConfigError(f"--colormap must be fit or net, got {colormap!r}")
    if alpha is not None and not np.any(np.asarray(alpha) > 0):
        # Nothing shows: nothing to judge a cast by, and nothing a correction would show.
        lut = LUT3D.identity(lut_size, title=INVISIBLE_TITLE)
        return FixResult(pixels.copy(), lut, transparent=True, passes=0)
    view = visible_view(pixels, alpha)
    if is_greyscale(view):
        # No colour anywhere that shows: no cast to remove, and any correction would
        # only tint it.
        lut = LUT3D.identity(lut_size, title=GREYSCALE_TITLE)
        return FixResult(pixels.copy(), lut, greyscale=True, passes=0)
    totals = list(
        iterate_corrections(
            run, view, colormap=colormap, iterations=iterations, seed=seed, lut_size=lut_size
        )
    )
    total = totals[-1]  # the whole correction; repeated once a pass changed nothing
    passes = next(k + 1 for k, t in enumerate(totals) if t is total)
    if strength != 1.0:
        total = total.blend(strength)
    strong = f", strength {strength:g}" if strength != 1.0 else ""
    made = f"{passes} of {iterations} passes" if passes < iterations else f"{passes} pass(es)"
    total.title = f"lutkit fix ({colormap}, {made}{strong})"
    said = totals[0].metadata.get("comments")  # what made it (composing drops it)
    if said:
        total.metadata = {**total.metadata, "comments": list(said)}
    return FixResult(apply_lut(total, pixels), total, passes=passes)


def compare_paths(pairs: list[tuple[Path, Path]]) -> list[Path]:
    """Where ``--compare`` writes each output's before/after: ``STEM-compare.jpg`` beside
    it, or ``NAME-compare.jpg`` (the whole file name, ``a.jpg-compare.jpg``) where two
    outputs in one folder share a stem (``a.jpg`` and ``a.png``), so that neither sheet
    overwrites the other (output names are distinct, so these are too)."""
    plain = [dst.with_name(f"{dst.stem}{COMPARE_SUFFIX}") for _, dst in pairs]
    counts: dict[Path, int] = {}
    for p in plain:
        counts[p] = counts.get(p, 0) + 1
    return [
        p if counts[p] == 1 else dst.with_name(f"{dst.name}{COMPARE_SUFFIX}")
        for p, (_, dst) in zip(plain, pairs, strict=True)
    ]


def check_outputs(
    pairs: list[tuple[Path, Path]],
    export_lut: str | os.PathLike[str] | None = None,
    *,
    compare: bool = False,
) -> None:
    """The one-line errors :func:`fix_files` would raise for its output names, before any
    work: an image or LUT extension lutkit cannot write, ``export_lut`` with more than one
    image, two outputs (the images, the LUT, the ``compare`` sheets) being the same
    file, or an output folder that cannot be written."""
    from lutkit.luts.formats import check_lut_path

    if export_lut is not None and len(pairs) != 1:
        raise ConfigError("--export-lut needs exactly one input image")
    for _, dst in pairs:
        check_save_path(dst)
    if export_lut is not None:
        check_lut_path(export_lut)
        check_distinct_outputs(pairs[0][1], export_lut)
    if compare:
        check_distinct_outputs(*(dst for _, dst in pairs), *compare_paths(pairs), export_lut)
    check_writable_outputs(*(dst for _, dst in pairs), export_lut)


def fix_files(
    run: Run,
    pairs: list[tuple[Path, Path]],
    *,
    colormap: str = "fit",
    iterations: int = 1,
    strength: float = 1.0,
    seed: int = 0,
    export_lut: str | os.PathLike[str] | None = None,
    compare: bool = False,
    quality: int | None = None,
    to_srgb: bool = False,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fix every (input, output) pair. Bit depth, EXIF (orientation applied), the ICC
    profile, alpha and a TIFF's compression are kept: pixels are corrected in the file's
    own encoding, not converted (with ``to_srgb``: converted to sRGB first and written
    without a profile); transparent pixels play no part in the prediction. Output
    names are checked before any work, and ``export_lut`` is written with the image as
    one output (:func:`lutkit.fsutil.output_group`), so a bad path leaves nothing
    behind. ``log`` hears how many passes each photo took, when more than one was asked
    for."""
    from lutkit.luts.files import tiff_compression, write_image_data
    from lutkit.luts.formats import export_options, write_lut

    check_outputs(pairs, export_lut, compare=compare)
    sheets = compare_paths(pairs)
    written = []
    steps = each(list(zip(pairs, sheets, strict=True)), progress, "fixing")
    for (src, dst), sheet in steps:
        try:
            data = load_image(src, keep_alpha=True, convert_icc=to_srgb)
        except ImageError as exc:
            raise stopped_batch(exc, len(written), len(pairs)) from None
        result = fix_pixels(
            run,
            data.pixels,
            colormap=colormap,
            iterations=iterations,
            strength=strength,
            seed=seed,
            alpha=data.alpha,
        )
        if log is not None and iterations > 1 and result.passes:
            stop = " (a further pass would not change it)" if result.passes < iterations else ""
            log(f"{src}: {result.passes} of {iterations} passes{stop}")
        if result.greyscale:
            warnings.warn(
                f"{src}: greyscale (every visible pixel grey): no colour cast to remove, its "
                "pixels left as they are",
                LutkitWarning,
                stacklevel=2,
            )
        elif result.transparent:
            warnings.warn(
                f"{src}: fully transparent (alpha 0 everywhere): nothing to correct, its "
                "pixels left as they are",
                LutkitWarning,
                stacklevel=2,
            )
        fixed = data.with_pixels(result.pixels)  # as `lut apply` writes it
        with output_group(dst, [export_lut]):
            if export_lut is not None:
                write_lut(result.lut, export_lut, **export_options(result.lut, export_lut))
            written.append(write_image_data(dst, fixed, quality, tiff_compression(src, "keep")))
        if compare:
            save_compare(data, result.pixels, sheet)
    return written


def save_compare(data: ImageData, fixed: np.ndarray, path: Path) -> Path:
    """The before/after sheet; a photo with alpha shown over mid grey, as a viewer shows
    it (the colours hidden under transparent pixels are not in the picture)."""
    from lutkit.sheets import save_contact_sheet

    tiles = [data.pixels, fixed]
    if data.alpha is not None:
        a = to_float(np.asarray(data.alpha))[..., None]
        tiles = [to_float(t) * a + 0.5 * (1.0 - a) for t in tiles]
    return save_contact_sheet(path, tiles, ["before", "after (lutkit fix)"], columns=2, tile=640)
