"""One robust image loader and saver.

Inside lutkit an image is a numpy array of shape (H, W, 3), sRGB encoded. ``load_image``
returns the pixels at their native depth (uint8 or uint16; float32 for floating-point
TIFFs) together with the metadata a photographer expects to survive an edit (EXIF,
ICC profile, alpha, resolution, a JPEG's comment); ``read_image`` is the common shortcut
to float32 in [0, 1].

On load: EXIF orientation is applied (and reset to 1 in the kept EXIF), an embedded ICC
profile is converted to sRGB with littleCMS (unless ``convert_icc=False``: then the
pixels stay in the file's own encoding and the profile is kept to be written back, as
``lutkit lut apply``, ``distort`` and ``fix`` do; Hald images are data and are never
converted), grayscale / palette / CMYK are converted to RGB, alpha is dropped or kept on
request, and images over a pixel-count limit are refused before they are decoded. A
profile that littleCMS cannot read, or that is neither an RGB profile nor, on a
greyscale file, a GRAY one, is never written back; converting through one is an error
(:class:`ImageError`).
``save_image`` writes 8- or 16-bit PNG/TIFF and 8-bit JPEG, with EXIF and ICC (and a
JPEG's comment), to a temporary name that is renamed when complete.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from lutkit.errors import ImageError, LutkitWarning
from lutkit.fsutil import atomic_output

DEFAULT_MAX_PIXELS = 250_000_000
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
_SAVE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")
# Pillow's name of the format of each extension lutkit reads and writes.
_PILLOW_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
COMPARE_SUFFIX = "-compare.jpg"  # `fix --compare`'s before/after sheet beside its photo


def images_in(folder: Path, exclude: Path | None = None) -> list[Path]:
    """The image files inside ``folder`` (recursively, sorted), leaving out hidden files,
    those inside ``exclude`` (a resolved path) and the before/after sheets ``fix
    --compare`` wrote beside the photos they show: ``STEM-compare.jpg`` beside an image
    ``STEM.*``, or ``NAME-compare.jpg`` beside ``NAME``."""
    found = [
        f
        for f in Path(folder).rglob("*")
        if f.is_file()
        and f.suffix.lower() in IMAGE_EXTENSIONS
        and not f.name.startswith(".")
        and not (exclude is not None and f.resolve().is_relative_to(exclude))
    ]
    beside = {(f.parent, f.name) for f in found} | {(f.parent, f.stem) for f in found}
    sheets = [f for f in found if _is_compare_sheet(f, beside)]
    if sheets:
        warnings.warn(
            f"{folder}: left out {len(sheets)} before/after sheet(s) that `fix --compare` "
            f"writes (NAME{COMPARE_SUFFIX} beside NAME, e.g. {sheets[0].name}); rename a "
            "photo so named to include it",
            LutkitWarning,
            stacklevel=2,
        )
    return sorted(set(found) - set(sheets))


def _is_compare_sheet(path: Path, beside: set[tuple[Path, str]]) -> bool:
    """``beside``: (folder, name) and (folder, stem) of the images found."""
    if not path.name.endswith(COMPARE_SUFFIX):
        return False
    return (path.parent, path.name[: -len(COMPARE_SUFFIX)]) in beside


def is_greyscale(pixels: np.ndarray) -> bool:
    """Whether every pixel of (H, W, 3) ``pixels`` is grey (its three channels equal):
    a black-and-white scan, as a greyscale file or as RGB."""
    return bool(
        np.array_equal(pixels[..., 0], pixels[..., 1])
        and np.array_equal(pixels[..., 1], pixels[..., 2])
    )


def max_pixels() -> int:
    """The pixel-count limit: ``LUTKIT_MAX_PIXELS`` or 250 megapixels."""
    value = os.environ.get("LUTKIT_MAX_PIXELS")
    if value is None:
        return DEFAULT_MAX_PIXELS
    try:
        return int(value)
    except ValueError:
        raise ImageError(f"LUTKIT_MAX_PIXELS must be a whole number, got {value!r}") from None


@dataclass
class ImageData:
    """Pixels plus what must survive an edit.

    ``pixels``: (H, W, 3) uint8 / uint16 (native depth) or float32, sRGB after ICC
    conversion. ``alpha``: (H, W) of the same dtype, or None. ``exif``: EXIF bytes with
    orientation reset to 1, or None. ``icc``: the original embedded profile, or None.
    ``icc_converted``: the profile no longer describes ``pixels`` (they were converted
    to sRGB, or the profile is unreadable, or neither an RGB profile nor, on a greyscale
    file, a GRAY one); ``output_icc`` is the profile to write with the pixels. ``dpi``:
    the file's resolution (x, y) in dots per inch, or None; written back where the
    output format carries one. ``comment``: a JPEG's comment (its COM segment; of several, the last, as Pillow reads them), or
    None; other formats have none here, and only a JPEG output gets it back.
    ``jpeg_qtables``: a JPEG's quantisation tables, which a JPEG output written with no
    quality of its own reuses (its quality kept). ``grey``:
    the file is greyscale (one colour channel, ``pixels`` its three copies); an output
    whose pixels are still grey is written greyscale too (:func:`save_image`).
    """

    pixels: np.ndarray
    alpha: np.ndarray | None = None
    exif: bytes | None = None
    icc: bytes | None = None
    icc_converted: bool = False
    path: Path | None = None
    format: str = ""
    info: dict = field(default_factory=dict)
    dpi: tuple[float, float] | None = None
    comment: bytes | None = None
    grey: bool = False  # the file has one colour channel (a greyscale scan)
    # A JPEG's quantisation tables: a JPEG written from it without a --quality keeps
    # them, so its quality, as ImageMagick and GIMP keep a JPEG's quality by default.
    jpeg_qtables: tuple[tuple[int, ...], ...] | None = None

    @property
    def output_icc(self) -> bytes | None:
        """The profile that describes ``pixels`` (None: untagged, i.e. sRGB)."""
        return None if self.icc_converted else self.icc

    def with_pixels(self, pixels: np.ndarray) -> ImageData:
        """The same image's metadata (alpha, EXIF, dpi, comment) with new ``pixels``,
        tagged with the profile that describes them (:attr:`output_icc`): what a
        colour map of ``pixels`` writes."""
        return replace(self, pixels=pixels, icc=self.output_icc, icc_converted=False)

    @property
    def bit_depth(self) -> int:
        return {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(self.pixels.dtype, 32)


# --------------------------------------------------------------------------- dtypes


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float -> float32 in [0, 1] (floats are passed through, copied)."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255.0)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / np.float32(65535.0)
    return np.array(pixels, dtype=np.float32)


def from_float(pixels: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """float in [0, 1] -> uint8 / uint16 (rounded, clipped) or float32."""
    dtype = np.dtype(dtype)
    if dtype == np.uint8 or dtype == np.uint16:
        top = 255.0 if dtype == np.uint8 else 65535.0
        return np.clip(np.rint(np.asarray(pixels, np.float64) * top), 0, top).astype(dtype)
    return np.asarray(pixels, dtype=np.float32).copy()


# --------------------------------------------------------------------------- load

_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, k=-1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, k=1),
}


def orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W, ...) array, as viewers display it."""
    fn = _ORIENT.get(int(orientation))
    return array if fn is None else np.ascontiguousarray(fn(array))


def _tiff_as_stored(im) -> None:
    """Have Pillow decode a TIFF's pixels as stored, its orientation tag unapplied.
    Pillow 13 turns a TIFF by the tag while loading it (and, for grey, RGBA, 16-bit grey
    and palette files with a tag of 5-8, scrambles them); lutkit applies the tag itself,
    once, for every format. Earlier Pillows decode as stored anyway: this changes
    nothing there."""
    tile = getattr(im, "_tile_size", None)
    if tile is None:
        return
    for tags in (getattr(im, "tag_v2", None), im.getexif()):
        if tags is not None and 0x0112 in tags:
            del tags[0x0112]
    im._size = tuple(tile)


_UNORIENT = {6: 8, 8: 6}  # the orientation that undoes each (the others undo themselves)


@functools.lru_cache(maxsize=1)
def _cv2_tiff_orients() -> bool:
    """Whether OpenCV, which decodes lutkit's 16-bit RGB TIFFs, turns the pixels by the
    file's orientation tag itself (OpenCV 5 does, even with IMREAD_IGNORE_ORIENTATION;
    earlier ones did not): a 3x2 probe with orientation 6 is decoded once and its shape
    says, so that lutkit applies the tag exactly once."""
    import cv2
    import tifffile

    buf = io.BytesIO()
    probe = np.zeros((2, 3, 3), np.uint16)
    tifffile.imwrite(buf, probe, photometric="rgb", extratags=[(0x0112, "H", 1, 6, True)])
    try:
        out = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # a decoder that cannot read the probe: as before
        return False
    return out is not None and out.shape[:2] == (3, 2)


def _png_ihdr(path: Path) -> tuple[int, int]:
    """A PNG's bit depth and colour type from its header (colour type 0 grey, 2 RGB,
    3 palette, 4 grey with alpha, 6 RGBA); (8, 2) when the header cannot be read."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return 8, 2
    return head[24], head[25]


# The first bytes of the formats lutkit reads.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)


def _signature(path: Path) -> str | None:
    """The format ``path``'s first bytes announce, or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((kind for magic, kind in _SIGNATURES if head.startswith(magic)), None)


def _open(path: Path, *, quiet_exif: bool = True):
    """``Image.open`` with lutkit's errors. Pillow's warning about damaged EXIF is
    dropped (``quiet_exif``: a probe of the file) or left to the caller (the read that
    keeps the EXIF says it once)."""
    from PIL import Image, UnidentifiedImageError

    try:
        Image.MAX_IMAGE_PIXELS = None  # lutkit enforces its own limit, with a clear error
        if not quiet_exif:
            return Image.open(path)
        with _exif_warnings(path, say=False):
            return Image.open(path)
    except FileNotFoundError:
        raise ImageError("file not found", path=path) from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image", path=path) from None
    except (UnidentifiedImageError, OSError) as exc:
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)", path=path) from None
        kind = _signature(path)
        unsupported = _tiff_sample_format(path) if kind == "TIFF" else None
        if unsupported is not None:  # a sound TIFF of samples Pillow does not decode
            raise ImageError(
                f"a TIFF of {unsupported} samples, which lutkit does not read",
                path=path,
                hint="export it as an 8 or 16-bit integer TIFF or PNG",
            ) from None
        if kind is not None:  # the right format, but the bytes do not decode
            raise ImageError(
                f"a {kind} file that cannot be decoded (truncated or corrupt?)",
                path=path,
                hint="export it again from the original",
            ) from None
        if isinstance(exc, UnidentifiedImageError):
            named = _PILLOW_FORMATS.get(path.suffix.lower())
            if named is not None:  # a .png that holds no PNG: damaged, or misnamed
                raise ImageError(
                    f"not an image lutkit can read: named {path.suffix}, but its bytes are "
                    f"no {named} (nor another format lutkit reads)",
                    path=path,
                    hint="export it again from the original",
                ) from None
            raise ImageError(
                "not an image lutkit can read", path=path, hint="use PNG, JPEG, TIFF, WebP or BMP"
            ) from None
        raise ImageError(f"cannot open image: {exc}", path=path) from None


def _tiff_sample_format(path: Path) -> str | None:
    """What a TIFF's first page holds, when it is something other than 8 or 16-bit
    integers ("32-bit float", ...), read from its tags; None for 8/16-bit integers or a
    file that does not parse as a TIFF."""
    try:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            bits, fmt = int(page.bitspersample), int(page.sampleformat)
    except Exception:  # noqa: BLE001 -- a damaged TIFF: the caller says so
        return None
    kind = {1: "integer", 2: "signed integer", 3: "float"}.get(fmt, "complex")
    return None if (fmt == 1 and bits in (1, 8, 16)) else f"{bits}-bit {kind}"


def check_images(paths: Iterable[str | os.PathLike[str]]) -> None:
    """The one-line error :func:`load_image` would give for the first of ``paths`` that
    is not an image at all (missing, empty, another kind of file, a header that does not
    decode), from the headers only: a batch command refuses before it writes anything,
    rather than stopping part-way. Damage further into a file shows when it is read."""
    for path in paths:
        with _open(Path(path)):
            pass


def stopped_batch(exc: ImageError, written: int, total: int) -> ImageError:
    """``exc`` (an input that cannot be read) as a batch of ``total`` images reports it
    once ``written`` were done: with how far it got, so that a user with a folder of
    scans knows what is there. A single image's error is ``exc`` as it is."""
    if total <= 1:
        return exc
    return ImageError(
        f"{exc.message}; {written} of {total} images were written before it, none after",
        path=exc.path,
        line=exc.line,
        hint=exc.hint or "move the file aside and rerun for the rest",
    )


def _decode_16bit_cv2(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(
            "cannot decode image (truncated or corrupt?)",
            path=path,
            hint="export it again from the original",
        )
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] >= 3:  # OpenCV gives BGR(A)
        arr = np.concatenate([arr[:, :, 2::-1], arr[:, :, 3:]], axis=2)
    return arr


def _split(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, C) with C in 1..4 -> (rgb, alpha)."""
    c = arr.shape[2]
    if c == 1:
        return np.repeat(arr, 3, axis=2), None
    if c == 2:
        return np.repeat(arr[:, :, :1], 3, axis=2), arr[:, :, 1]
    return arr[:, :, :3], (arr[:, :, 3] if c >= 4 else None)


def load_image(
    path: str | os.PathLike[str],
    *,
    keep_alpha: bool = False,
    convert_icc: bool = True,
    apply_orientation: bool = True,
    max_pixels_: int | None = None,
    draft: int | None = None,
) -> ImageData:
    """Read an image file into an :class:`ImageData` (see the module docstring).

    ``draft``: for JPEG, let the decoder downscale (by 1/2, 1/4 or 1/8) as long as
    both sides stay at least ``draft`` pixels: a 12-megapixel photo wanted at 256 px
    then costs a fraction of a full decode.
    """
    path = Path(path)
    limit = max_pixels() if max_pixels_ is None else max_pixels_
    with _exif_warnings(path), _open(path, quiet_exif=False) as im:
        w, h = im.size
        if w * h > limit:
            raise ImageError(
                f"image is {w}x{h} = {w * h:,} pixels, over the limit of {limit:,}",
                path=path,
                hint="raise LUTKIT_MAX_PIXELS if the file is trusted",
            )
        fmt = im.format or ""
        _say_other_pages(im, fmt, path)
        icc = im.info.get("icc_profile") or None
        if fmt == "PNG" and icc is None and "srgb" not in im.info:
            _say_png_encoding(im.info, path)
        dpi = _dpi(im.info.get("dpi"))
        # MPO: how Pillow opens a camera's JPEG that has an MPF segment
        comment = (im.info.get("comment") or None) if fmt in ("JPEG", "MPO") else None
        qtables = _qtables(im) if fmt in ("JPEG", "MPO") else None
        src_mode = im.mode
        # CMYK cannot stay in its own encoding (lutkit's pixels are RGB): through its
        # profile to sRGB whatever ``convert_icc`` says.
        through_icc = icc is not None and (convert_icc or src_mode == "CMYK")
        if draft is not None and fmt == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
            im.draft(im.mode, (draft, draft))
        try:
            exif_obj = im.getexif()  # for PNG this decodes the whole file
            orientation = int(exif_obj.get(0x0112, 1) or 1)
            if orientation not in range(1, 9):
                orientation = 1
            bits, colour_type = _png_ihdr(path) if fmt == "PNG" else (8, 2)
            deep = (fmt == "PNG" and bits == 16 and im.mode not in ("I;16", "I")) or (
                fmt == "TIFF" and im.mode in ("RGB", "RGBA", "RGBX") and _tiff_is_16bit(im)
            )
            if deep:
                arr = _decode_16bit_cv2(path)
            else:
                if fmt == "TIFF" and orientation != 1:
                    _tiff_as_stored(im)  # lutkit applies the tag itself, below
                arr = _pil_to_array(im, icc if through_icc else None, path)
        except ImageError:
            raise
        except (OSError, SyntaxError, ValueError, struct.error, zlib.error) as exc:
            raise ImageError(
                f"cannot decode image (truncated or corrupt?): {exc}",
                path=path,
                hint="export it again from the original",
            ) from None
        if fmt == "TIFF":
            # A TIFF's first IFD is its EXIF to Pillow, layout included: those tags
            # describe this file's pixels, not the photo, and would be wrong in another.
            for tag in _TIFF_LAYOUT_TAGS:
                exif_obj.pop(tag, None)
            if str(exif_obj.get(0x010E, "")).startswith('{"shape":'):
                del exif_obj[0x010E]  # tifffile's record of the array shape
            if not (0x011A in im.tag_v2 and 0x011B in im.tag_v2):
                dpi = None  # Pillow says (1, 1) when the file gives no resolution
        exif = None
        if exif_obj:
            exif_obj[0x0112] = 1
            exif = exif_obj.tobytes()
    # (a 16-bit grey PNG with alpha: Pillow opens it as RGBA, its colour type says grey)
    grey = (
        arr.shape[2] in (1, 2)
        or src_mode in _GREY_MODES
        or (deep and fmt == "PNG" and colour_type in (0, 4))
    )
    rgb, alpha = _split(arr)
    icc_converted = False
    if icc is not None:
        space = icc_colour_space(icc)
        if deep and through_icc:
            if grey and space == "GRAY":
                rgb = _icc_grey16_to_srgb(rgb[:, :, :1], icc, path)
            else:
                rgb = _icc_to_srgb_deep(rgb, icc, path)
        rgb_source = (deep and not grey) or src_mode in ("RGB", "RGBA", "RGBX", "P", "PA")
        # Converted, or a profile that cannot describe these pixels (an RGB profile on
        # RGB pixels, a GRAY one on a greyscale file's): not written back.
        icc_converted = (through_icc and not _icc_is_srgb(icc)) or not (
            (rgb_source and space == "RGB") or (grey and space == "GRAY")
        )
    # OpenCV may have turned a 16-bit TIFF's pixels already (see _cv2_tiff_orients).
    turned = fmt == "TIFF" and deep and orientation != 1 and _cv2_tiff_orients()
    if turned and not apply_orientation:  # the pixels as stored, then
        orientation = _UNORIENT.get(orientation, orientation)
    if orientation != 1 and apply_orientation != turned:
        rgb = orient(rgb, orientation)
        alpha = None if alpha is None else orient(alpha, orientation)
    return ImageData(
        pixels=np.ascontiguousarray(rgb),
        alpha=np.ascontiguousarray(alpha) if keep_alpha and alpha is not None else None,
        exif=exif,
        icc=icc,
        icc_converted=icc_converted,
        path=path,
        format=fmt,
        dpi=dpi,
        comment=comment,
        grey=grey,
        jpeg_qtables=qtables,
    )


def _qtables(im: object) -> tuple[tuple[int, ...], ...] | None:
    """A JPEG's quantisation tables (its quality), as Pillow's ``qtables`` takes them;
    None where there are none to read."""
    tables = getattr(im, "quantization", None)
    if not tables:
        return None
    kept = tuple(tuple(int(v) for v in tables[k]) for k in sorted(tables))
    # 16-bit tables (over 255: an extended JPEG's) make libjpeg write a non-baseline
    # file and say so on stderr: such an input's output gets the default quality
    return kept if max(max(t) for t in kept) <= 255 else None


# Pillow's modes of a greyscale file (one colour channel, maybe alpha)
_GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")


_SRGB_GAMA = 0.45455  # a PNG gAMA chunk's value for sRGB (1 / 2.2)
_SRGB_CHRM = (0.3127, 0.329, 0.64, 0.33, 0.3, 0.6, 0.15, 0.06)  # white, red, green, blue


def _say_png_encoding(info: dict, path: Path) -> None:
    """Warn when a PNG without an ICC profile (or sRGB chunk) says by its gAMA or cHRM
    chunk that its values are not sRGB's: lutkit reads them as sRGB, as browsers that
    ignore those chunks do, and writes neither chunk back."""
    said = []
    gamma = info.get("gamma")
    if isinstance(gamma, int | float) and gamma > 0 and abs(gamma - _SRGB_GAMA) > 0.01:
        said.append(f"gAMA gamma {1 / gamma:.3g} (sRGB's: about 2.2)")
    chrm = info.get("chromaticity")
    if chrm is not None and (
        len(chrm) != 8 or max(abs(a - b) for a, b in zip(chrm, _SRGB_CHRM, strict=True)) > 0.01
    ):
        said.append("cHRM primaries other than sRGB's")
    if said:
        warnings.warn(
            f"{path}: its {' and '.join(said)}: lutkit reads the values as sRGB and does "
            "not write those chunks back (give the file an ICC profile to keep its encoding)",
            LutkitWarning,
            stacklevel=3,
        )


def _say_other_pages(im, fmt: str, path: Path) -> None:
    """Warn that only the first page of a multi-page TIFF (or frame of an animated GIF,
    PNG or WebP) is read, so an output has that one only. (A camera JPEG's second image,
    its MPF preview, is not a page of the photo: not warned about.)"""
    if fmt not in ("TIFF", "GIF", "PNG", "WEBP"):
        return
    pages = None
    try:
        with warnings.catch_warnings():  # a later page's own complaints are not this one's
            warnings.simplefilter("ignore")
            pages = int(getattr(im, "n_frames", 1))
    except Exception:  # noqa: BLE001 -- a later page Pillow cannot parse: count unknown
        pass
    finally:
        with contextlib.suppress(Exception):
            im.seek(0)
    if pages is not None and pages > 1:
        what = "pages" if fmt == "TIFF" else "frames"
        warnings.warn(
            f"{path}: {pages} {what}; only the first is read (an output has that one only)",
            LutkitWarning,
            stacklevel=3,
        )


def _dpi(value: object) -> tuple[float, float] | None:
    """Pillow's ``info["dpi"]`` as two positive floats, or None (absent or nonsense)."""
    try:
        x, y = (float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    return (x, y) if 0 < x < 1e6 and 0 < y < 1e6 else None


@contextlib.contextmanager
def _exif_warnings(path: Path, *, say: bool = True) -> Iterator[None]:
    """Pillow's warning about damaged EXIF said as one :class:`LutkitWarning` that names
    the file (outputs get only the tags Pillow could read); with ``say=False`` not at all (it
    is said where the EXIF is read, not again where the file is opened)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    said = False
    for w in caught:
        if not issubclass(w.category, LutkitWarning) and "exif" in str(w.message).lower():
            if said or not say:
                continue
            what = " ".join(str(w.message).split()).rstrip(".")
            warnings.warn(
                f"{path}: damaged EXIF ({what}); outputs get only the tags that could be read",
                LutkitWarning,
                stacklevel=3,
            )
            said = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# TIFF tags that lay out the file's own pixels (size, samples, compression, strips and
# tiles, resolution, which is read as dpi, and the ICC profile, read as such): left out of
# the EXIF that a TIFF's metadata becomes in other files.
_TIFF_LAYOUT_TAGS = (
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 282, 283,
    284, 296, 317, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 529, 530, 531, 532,
    34675, 37724,
)  # fmt: skip


def _tiff_is_16bit(im) -> bool:
    bits = getattr(im, "tag_v2", {}).get(258)
    return bits is not None and max(np.atleast_1d(bits)) == 16


def _pil_to_array(im, icc: bytes | None, path: Path) -> np.ndarray:
    """Decode with Pillow to (H, W, C) uint8/uint16/float32, converting ICC to sRGB."""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        im.load()
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(im, dtype=np.int64 if mode == "I" else np.uint16)
        a = np.clip(a, 0, 65535).astype(np.uint16)[:, :, None]
        return a if icc is None or _icc_is_srgb(icc) else _icc_grey16_to_srgb(a, icc, path)
    if mode == "F":
        return np.asarray(im, dtype=np.float32)[:, :, None].copy()
    if mode == "1":
        im = im.convert("L")
    elif mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("PA", "LA", "La"):
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB", "RGBA"):
        # CMYK, YCbCr, LAB, RGBX, ...: through the ICC profile when there is one.
        if icc is not None and mode == "CMYK":
            im = _icc_transform(im, icc, "RGB", path)
            icc = None
        else:
            im = im.convert("RGBA" if "A" in mode else "RGB")
    if icc is not None and not _icc_is_srgb(icc):
        alpha = im.getchannel("A") if im.mode == "RGBA" else None
        base = im.convert("RGB") if im.mode == "RGBA" else im
        if mode in ("LA", "La") and icc_colour_space(icc) == "GRAY":
            base = base.getchannel("R")  # grey with alpha: its grey through the profile
        base = _icc_transform(base, icc, "RGB", path)  # a GRAY profile too: grey to sRGB
        if alpha is not None:
            base = base.convert("RGB")
            base.putalpha(alpha)
        im = base
    arr = np.asarray(im)
    return arr[:, :, None].copy() if arr.ndim == 2 else arr.copy()


def icc_colour_space(icc: bytes) -> str | None:
    """The data colour space of an ICC profile as littleCMS reads it ('RGB', 'GRAY',
    'CMYK', ...), or None when littleCMS cannot open the profile."""
    from PIL import ImageCms

    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _icc_is_srgb(icc: bytes) -> bool:
    desc = icc[:4096]
    return b"sRGB" in desc or b"s\x00R\x00G\x00B" in desc


def _icc_transform(im, icc: bytes, out_mode: str, path: Path):
    from PIL import ImageCms

    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(
            im, src, dst, outputMode=out_mode, renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        space = icc_colour_space(icc)
        what = "unreadable" if space is None else f"a {space} profile on {im.mode} pixels"
        raise ImageError(
            f"cannot convert to sRGB through the embedded ICC profile ({what}: {exc})",
            path=path,
            hint="re-save the file with a valid profile or none",
        ) from None


def _icc_to_srgb_deep(rgb: np.ndarray, icc: bytes, path: Path) -> np.ndarray:
    """ICC -> sRGB for 16-bit pixels: Pillow's CMS is 8-bit, so the transform is
    sampled on an 86^3 lattice of exact 8-bit colours and applied as a LUT3D."""
    if _icc_is_srgb(icc):
        return rgb
    from PIL import Image

    from lutkit.luts.apply import apply_lut
    from lutkit.luts.model import LUT3D

    n = 86  # 255 / 85 = 3: every lattice point is an exact 8-bit value
    grid = np.rint(LUT3D.lattice_points(n) * 255).astype(np.uint8).reshape(1, -1, 3)
    im = _icc_transform(Image.fromarray(grid, "RGB"), icc, "RGB", path)
    table = np.asarray(im, dtype=np.float32).reshape(n, n, n, 3) / 255.0
    return apply_lut(LUT3D(table), rgb, interp="tetrahedral")


def _icc_grey16_to_srgb(grey: np.ndarray, icc: bytes, path: Path) -> np.ndarray:
    """A GRAY profile -> sRGB for 16-bit grey (H, W, 1): Pillow's CMS is 8-bit, so the
    transform is sampled at the 256 exact 8-bit greys and interpolated between them."""
    from PIL import Image

    ramp = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(1, 256), "L")
    table = np.asarray(_icc_transform(ramp, icc, "RGB", path), np.float32).reshape(256, 3)
    x = grey[:, :, 0].astype(np.float32) / 257.0
    out = np.stack([np.interp(x, np.arange(256), table[:, c]) for c in range(3)], axis=2)
    return np.rint(out * 257.0).astype(np.uint16)


def read_image(
    path: str | os.PathLike[str], *, convert_icc: bool = True, max_pixels_: int | None = None
) -> np.ndarray:
    """Read an image as float32 (H, W, 3) in [0, 1], sRGB, orientation applied."""
    return to_float(load_image(path, convert_icc=convert_icc, max_pixels_=max_pixels_).pixels)


# --------------------------------------------------------------------------- save


def check_save_path(path: str | os.PathLike[str]) -> str:
    """Raise the one-line error :func:`save_image` would for ``path``'s extension, before
    any work is done; returns the extension (lower case)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _SAVE_EXTENSIONS:
        raise ImageError(
            f"cannot write images with extension {ext or '(none)'!r}",
            path=path,
            hint=f"use one of {', '.join(_SAVE_EXTENSIONS)}",
        )
    return ext


def save_image(
    path: str | os.PathLike[str],
    pixels: np.ndarray,
    *,
    bit_depth: int | None = None,
    alpha: np.ndarray | None = None,
    exif: bytes | None = None,
    icc: bytes | None = None,
    quality: int | None = None,
    compression: str | None = None,
    dpi: tuple[float, float] | None = None,
    comment: bytes | None = None,
    grey: bool = False,
    qtables: tuple[tuple[int, ...], ...] | None = None,
) -> Path:
    """Write (H, W, 3) pixels to ``path`` atomically; the format follows the extension.

    ``bit_depth`` 8 or 16 (default: 16 for uint16 input, else 8; JPEG and WebP are
    always 8-bit). Float input is taken as [0, 1]. EXIF and ICC bytes are embedded
    where the format allows (PNG, JPEG, TIFF, WebP). ``compression`` is a TIFF's, by
    Pillow's name (one of ``TIFF_COMPRESSIONS``; default deflate); other formats
    ignore it. ``dpi`` (x, y) is written into JPEG, PNG, TIFF and BMP files (not into
    16-bit LZW or PackBits TIFFs without a profile: the codec wins there); WebP files get
    none. ``comment`` is written into JPEG files only (a COM segment); other formats
    ignore it. ``quality`` None: a JPEG gets ``qtables`` (an input JPEG's quantisation
    tables: its quality) where given, else quality 95, as does a WebP. ``grey`` (a
    greyscale source): pixels that are all grey are written with one colour channel, as
    the source was (not into WebP, nor a 16-bit file with alpha, which OpenCV cannot
    write greyscale: those stay RGB). A GRAY ``icc`` goes with
    pixels written greyscale; with RGB ones it is left out, with a warning.
    """
    path = Path(path)
    ext = check_save_path(path)
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ImageError(f"expected pixels of shape (H, W, 3), got {pixels.shape}", path=path)
    if bit_depth is None:
        bit_depth = 16 if pixels.dtype == np.uint16 else 8
    if ext in (".jpg", ".jpeg", ".webp", ".bmp"):
        bit_depth = 8
    if bit_depth not in (8, 16):
        raise ImageError(f"bit depth must be 8 or 16, got {bit_depth}", path=path)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    data = pixels if pixels.dtype == dtype else _convert_depth(pixels, dtype)
    a = None
    if alpha is not None:
        a = np.asarray(alpha)
        a = a if a.dtype == dtype else _convert_depth(a[:, :, None], dtype)[:, :, 0]
    if not path.parent.is_dir():
        raise ImageError("output folder does not exist", path=path.parent)
    allowed = TIFF_COMPRESSIONS if dtype == np.uint8 else _TIFF16_COMPRESSIONS
    if compression is not None and compression not in allowed:
        raise ImageError(
            f"cannot write a {bit_depth}-bit TIFF with compression {compression!r}",
            path=path,
            hint=f"use one of {', '.join(allowed)}",
        )
    if (
        grey
        and ext != ".webp"
        and not (dtype == np.uint16 and a is not None)
        and is_greyscale(data)
    ):
        data = np.ascontiguousarray(data[..., :1])  # (H, W, 1): the writers' grey
    if icc and data.shape[2] != 1 and icc_colour_space(icc) == "GRAY":
        why = (
            "this output cannot be written greyscale (WebP, or 16-bit with alpha)"
            if is_greyscale(data)
            else "an RGB file cannot carry it"
        )
        warnings.warn(
            f"{path}: written as RGB without the greyscale input's GRAY profile: {why} "
            "(the grey tones are not converted: --to-srgb converts them first)",
            LutkitWarning,
            stacklevel=2,
        )
        icc = None
    try:
        with atomic_output(path) as tmp:
            if dtype == np.uint16:
                _save_16bit(tmp, ext, data, a, exif, icc, compression, dpi)
            else:
                _save_8bit(
                    tmp, ext, data, a, exif, icc, quality, compression, dpi, comment, qtables
                )
    except OSError as exc:
        raise ImageError(f"cannot write image: {exc}", path=path) from None
    return path


def _convert_depth(arr: np.ndarray, dtype: type) -> np.ndarray:
    if arr.dtype == np.uint8 and dtype == np.uint16:
        return arr.astype(np.uint16) * 257
    if arr.dtype == np.uint16 and dtype == np.uint8:
        return ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return from_float(to_float(arr), dtype)


# TIFF compressions save_image writes, by Pillow's names (and, for 16-bit TIFFs, which
# OpenCV writes, its libtiff codes).
TIFF_COMPRESSIONS = ("raw", "tiff_deflate", "tiff_adobe_deflate", "tiff_lzw", "packbits", "jpeg")
_TIFF16_CODES = {"raw": 1, "tiff_lzw": 5, "tiff_adobe_deflate": 8, "tiff_deflate": 32946}
_TIFF16_CODES["packbits"] = 32773
_TIFF16_COMPRESSIONS = tuple(_TIFF16_CODES)


DEFAULT_QUALITY = 95  # a JPEG or WebP written with no quality and no tables to keep


def _save_8bit(
    tmp: Path,
    ext: str,
    data,
    alpha,
    exif,
    icc,
    quality: int | None,
    compression: str | None,
    dpi: tuple[float, float] | None = None,
    comment: bytes | None = None,
    qtables: tuple[tuple[int, ...], ...] | None = None,
) -> None:
    from PIL import Image

    if data.shape[2] == 1:
        im = Image.fromarray(np.ascontiguousarray(data[..., 0]), "L")
    else:
        im = Image.fromarray(np.ascontiguousarray(data), "RGB")
    if alpha is not None and ext in (".png", ".tif", ".tiff", ".webp"):
        im.putalpha(Image.fromarray(np.ascontiguousarray(alpha), "L"))
    fmt = _PILLOW_FORMATS[ext]
    kw: dict = {}
    if dpi is not None and fmt != "WEBP":
        kw["dpi"] = dpi
    if fmt != "BMP":
        if icc:
            kw["icc_profile"] = icc
        if exif:
            kw["exif"] = exif
    if fmt == "JPEG":
        kw["subsampling"] = 0  # 4:4:4: colour work wants full chroma
        if quality is None and qtables:
            kw["qtables"] = [list(t) for t in qtables]
        else:
            kw["quality"] = DEFAULT_QUALITY if quality is None else quality
        if comment:
            kw["comment"] = comment
    elif fmt == "WEBP":
        kw.update(quality=DEFAULT_QUALITY if quality is None else quality)
    elif fmt == "TIFF":
        kw.update(compression=compression or "tiff_deflate")
    im.save(tmp, fmt, **kw)


def _save_16bit(
    tmp: Path,
    ext: str,
    data: np.ndarray,
    alpha,
    exif,
    icc,
    compression: str | None = None,
    dpi: tuple[float, float] | None = None,
) -> None:
    import cv2

    # tifffile for a profile (always) or a resolution (where that keeps the codec: it
    # writes no LZW or PackBits without imagecodecs)
    keeps_codec = compression in (None, "raw", "tiff_deflate", "tiff_adobe_deflate")
    text = _tiff_text_tags(exif) if ext != ".png" else []
    if ext != ".png" and (icc or ((dpi or text) and keeps_codec)):
        _save_16bit_tiff_with_tifffile(tmp, data, alpha, icc, compression, dpi, text)
        return
    bgr = data[:, :, ::-1]  # a grey (H, W, 1) stays as it is
    if alpha is not None:
        bgr = np.concatenate([bgr, alpha[:, :, None]], axis=2)
    params = []
    if ext != ".png" and compression is not None:
        params = [cv2.IMWRITE_TIFF_COMPRESSION, _TIFF16_CODES[compression]]
    ok, buf = cv2.imencode(".png" if ext == ".png" else ".tiff", np.ascontiguousarray(bgr), params)
    if not ok:
        raise ImageError("OpenCV could not encode the 16-bit image", path=tmp)
    blob = buf.tobytes()
    if ext == ".png" and (icc or exif or dpi):
        blob = _png_insert_chunks(blob, icc, exif, dpi)
    tmp.write_bytes(blob)


def _save_16bit_tiff_with_tifffile(
    tmp: Path,
    data: np.ndarray,
    alpha,
    icc: bytes | None,
    compression: str | None,
    dpi: tuple[float, float] | None,
    text: list[tuple[int, str]] | None = None,
) -> None:
    """A 16-bit TIFF that carries its ICC profile, resolution or text tags (OpenCV
    writes none of them), written with tifffile. Without the optional imagecodecs
    package tifffile writes no LZW or PackBits, so those (and the default) become Adobe
    deflate: lossless, and the profile is kept, which matters more than the codec."""
    import tifffile

    grey = data.shape[2] == 1  # (never with alpha: save_image keeps that RGB)
    rgb = data if alpha is None else np.concatenate([data, alpha[:, :, None]], axis=2)
    if grey:
        rgb = rgb[..., 0]
    codec = None if compression == "raw" else "adobe_deflate"
    if compression == "tiff_deflate":
        codec = "deflate"
    tifffile.imwrite(
        tmp,
        np.ascontiguousarray(rgb),
        photometric="minisblack" if grey else "rgb",
        compression=codec,
        iccprofile=icc,
        extrasamples=["unassalpha"] if alpha is not None else None,
        resolution=dpi,
        resolutionunit="INCH" if dpi is not None else None,
        metadata=None,
        software=False,
        extratags=[(tag, "s", 0, value, True) for tag, value in text or []],
    )


# The EXIF tags a 16-bit TIFF carries in its own first IFD: the photo's text (who, what,
# when, which camera). Camera settings live in EXIF's sub-IFD, which it does not carry.
_TIFF_TEXT_TAGS = (0x010E, 0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298)


def _tiff_text_tags(exif: bytes | None) -> list[tuple[int, str]]:
    """The text tags of ``exif``'s first IFD that a 16-bit TIFF can carry (ASCII)."""
    if not exif:
        return []
    from PIL import Image

    tags = Image.Exif()
    try:
        tags.load(exif)
    except Exception:  # noqa: BLE001 - damaged EXIF: nothing to carry
        return []
    out = []
    for tag in _TIFF_TEXT_TAGS:
        value = tags.get(tag)
        if isinstance(value, str) and value.isascii() and value.strip("\x00"):
            out.append((tag, value.rstrip("\x00")))
    return out


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def _png_insert_chunks(
    blob: bytes, icc: bytes | None, exif: bytes | None, dpi: tuple[float, float] | None = None
) -> bytes:
    """Insert iCCP / eXIf / pHYs chunks right after IHDR (PNG requires them before IDAT)."""
    ihdr_end = 8 + 8 + 13 + 4
    extra = b""
    if dpi:  # pixels per metre, unit 1 (the metre)
        ppm = [max(1, round(v / 0.0254)) for v in dpi]
        extra += _png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1))
    if icc:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if exif:
        payload = exif[6:] if exif.startswith(b"Exif\x00\x00") else exif
        extra += _png_chunk(b"eXIf", payload)
    return blob[:ihdr_end] + extra + blob[ihdr_end:]
