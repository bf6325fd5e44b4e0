"""Apply a LUT to image files: one file, several, or whole folders.

Bit depth, EXIF, the resolution, alpha and (JPEG to JPEG) the comment survive. A LUT
acts on the file's own encoding and the ICC profile is written back unchanged (as
ffmpeg, GIMP and Resolve do); with ``to_srgb=True`` the pixels are first converted to
sRGB through the profile (littleCMS) and written untagged. A TIFF written from a TIFF
keeps its compression unless told otherwise. Decoding and encoding of the
next/previous image overlap with the compiled LUT kernel (which releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lutkit.errors import ImageError
from lutkit.fsutil import check_writable_outputs
from lutkit.images import (
    IMAGE_EXTENSIONS,
    ImageData,
    images_in,
    load_image,
    save_image,
    stopped_batch,
)
from lutkit.luts.apply import apply_lut, dense_table
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D
from lutkit.progress import Progress, each


def expand_images(
    inputs: Iterable[str | os.PathLike[str]], output: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Files as given, and the images inside given folders (recursively, sorted).

    ``output``: where the command writes. Inside a given folder, that file or folder is
    skipped, so ``-o photos/graded/`` on ``photos/`` does not take a rerun's own outputs
    as inputs; so are the before/after sheets ``fix --compare`` wrote beside the photos
    they show (:func:`lutkit.images.images_in`)."""
    skip = Path(output).resolve() if output is not None else None
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            root = p.resolve()
            # only an output strictly inside the folder (not the folder, not above it)
            inside = skip is not None and skip != root and skip.is_relative_to(root)
            out.extend(images_in(p, exclude=skip if inside else None))
        elif p.exists():
            out.append(p)
        else:
            raise ImageError("no such file or folder", path=p)
    return out


def plan_outputs(
    inputs: list[Path], output: str | os.PathLike[str], roots: list[Path] | None = None
) -> list[tuple[Path, Path]]:
    """Pair every input with its output path.

    One input and an ``output`` that is not an existing folder: a file. Otherwise
    ``output`` is a folder (created) and each image keeps its name (and, for images
    found inside a given folder, its relative sub-folder).
    """
    output = Path(output)
    if len(inputs) == 1 and not output.is_dir() and output.suffix:
        pairs = [(inputs[0], output)]
    elif output.exists() and not output.is_dir():
        raise ImageError("output must be a folder when applying to several images", path=output)
    elif len(inputs) > 1 and output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        raise ImageError(
            f"{len(inputs)} images need an output folder, not an image file name",
            path=output,
            hint="give -o a folder, e.g. graded/",
        )
    else:
        pairs = []
        for src in inputs:
            rel = Path(src.name)
            for root in roots or []:
                if root.is_dir() and src.is_relative_to(root):
                    rel = src.relative_to(root)
                    break
            pairs.append((src, output / rel))
    targets = [t.resolve() for _, t in pairs]
    first: dict[Path, Path] = {}
    for (src, dst), target in zip(pairs, targets, strict=True):
        if target in first:
            raise ImageError(
                f"{first[target]} and {src} would both be written as {dst}",
                path=output,
                hint="give the folder that holds both, so that each keeps its path under -o, "
                "or run each apart with its own -o",
            )
        first[target] = src
    if any(s.resolve() == t for (s, _), t in zip(pairs, targets, strict=True)):
        raise ImageError("output would overwrite an input", path=output, hint="choose another -o")
    return pairs


def written_to(pairs: list[tuple[Path, Path]], output: str | os.PathLike[str]) -> str:
    """Where a batch went, for its summary line: the file, for one image (so that
    ``-o graded`` without an extension shows ``graded/photo.jpg``, the folder it made),
    else ``output``."""
    return str(pairs[0][1]) if len(pairs) == 1 else str(output)


def apply_to_image_data(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    data: ImageData,
    *,
    interp: str = "tetrahedral",
    strength: float = 1.0,
) -> ImageData:
    """Apply ``lut`` to loaded image data; alpha, EXIF, dpi, the comment and the ICC
    profile that describes the pixels (:attr:`ImageData.output_icc`) survive."""
    pixels = apply_lut(lut, data.pixels, interp=interp, strength=strength)
    return data.with_pixels(pixels)


def apply_to_files(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    pairs: list[tuple[Path, Path]],
    *,
    interp: str = "tetrahedral",
    strength: float = 1.0,
    quality: int | None = None,
    to_srgb: bool = False,
    progress: Progress | None = None,
    compression: str = "keep",
) -> list[Path]:
    """Apply ``lut`` to every (input, output) pair; returns the written paths.

    The LUT acts on each file's own encoding and its ICC profile is kept; with
    ``to_srgb`` the pixels are converted to sRGB first and written without a profile.
    ``compression`` of TIFF outputs: "keep" (the input TIFF's, where it can be written;
    deflate otherwise) or one of ``COMPRESSIONS``. Reading image i+1 and writing image
    i-1 run in threads while image i is mapped.
    """
    if compression != "keep" and compression not in COMPRESSIONS:
        raise ImageError(
            f"unknown TIFF compression {compression!r}",
            hint=f"use keep, {', '.join(COMPRESSIONS)}",
        )
    check_writable_outputs(*(dst for _, dst in pairs))  # before any work
    if strength != 1.0 and not isinstance(lut, ShaperLUT3D):
        # Blended once here; a shaper LUT blends pixel by pixel (exactly) instead.
        lut, strength = lut.blend(strength), 1.0
    if isinstance(lut, LUT3D) and len(pairs) > 1:
        # Several images: building the dense 8-bit table once pays for itself.
        dense_table(lut, interp)

    def read(src: Path) -> tuple[ImageData, str | None]:
        data = load_image(src, keep_alpha=True, convert_icc=to_srgb)
        return data, tiff_compression(src, compression)

    written: list[Path] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending_read = pool.submit(read, pairs[0][0]) if pairs else None
        pending_write = None
        for i in each(range(len(pairs)), progress, "applying"):
            src, dst = pairs[i]
            try:
                data, tiff = pending_read.result()
            except ImageError as exc:
                if pending_write is not None:
                    written.append(pending_write.result())
                raise stopped_batch(exc, len(written), len(pairs)) from None
            pending_read = pool.submit(read, pairs[i + 1][0]) if i + 1 < len(pairs) else None
            out = apply_to_image_data(lut, data, interp=interp, strength=strength)
            if pending_write is not None:
                written.append(pending_write.result())
            dst.parent.mkdir(parents=True, exist_ok=True)
            pending_write = pool.submit(write_image_data, dst, out, quality, tiff)
        if pending_write is not None:
            written.append(pending_write.result())
    return written


# --compression choices -> Pillow's names
COMPRESSIONS = {"none": "raw", "deflate": "tiff_deflate", "lzw": "tiff_lzw", "packbits": "packbits"}


def tiff_compression(src: Path, choice: str) -> str | None:
    """The compression to write a TIFF made from ``src`` with (None: the default)."""
    if choice != "keep":
        return COMPRESSIONS[choice]
    if src.suffix.lower() not in (".tif", ".tiff"):
        return None
    from PIL import Image

    try:
        with Image.open(src) as im:  # the header only
            kept = im.info.get("compression")
    except (OSError, ValueError):
        return None
    # "jpeg" is lossy and 8-bit only: such inputs get the lossless default
    return kept if kept in COMPRESSIONS.values() or kept == "tiff_adobe_deflate" else None


def write_image_data(
    dst: Path, data: ImageData, quality: int | None, tiff: str | None = None
) -> Path:
    """Write ``data`` (pixels, alpha, EXIF, ICC, dpi, and into a JPEG its comment) to
    ``dst``; ``tiff`` is a TIFF output's compression (:func:`tiff_compression`), ignored
    for other formats. ``quality`` None: a JPEG from a JPEG keeps the input's
    quantisation tables (its quality), other JPEGs and WebPs get 95. ``lut apply`` and
    ``fix`` both write through here. Alpha with transparent pixels going into a JPEG or
    a BMP, which hold none, is said (a ``warning:``)."""
    is_tiff = dst.suffix.lower() in (".tif", ".tiff")
    kind = {".jpg": "a JPEG", ".jpeg": "a JPEG", ".bmp": "a BMP (as lutkit writes one)"}
    if data.alpha is not None and dst.suffix.lower() in kind:
        import numpy as np

        alpha = np.asarray(data.alpha)
        if alpha.min() < (255 if alpha.dtype == np.uint8 else 65535):
            import warnings

            from lutkit.errors import LutkitWarning

            warnings.warn(
                f"{dst}: {kind[dst.suffix.lower()]} has no alpha: its transparent and "
                "translucent pixels are written opaque, with the colours under them (write "
                "PNG, TIFF or WebP to keep the alpha)",
                LutkitWarning,
                stacklevel=2,
            )
    return save_image(
        dst,
        data.pixels,
        alpha=data.alpha,
        exif=data.exif,
        icc=data.icc,
        quality=quality,
        compression=tiff if is_tiff else None,
        dpi=data.dpi,
        comment=data.comment,
        grey=data.grey,
        qtables=data.jpeg_qtables,
    )
