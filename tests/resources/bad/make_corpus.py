"""Generate the bad-input corpus beside this file, and its manifest.

    .venv/bin/python tests/resources/bad/make_corpus.py

Deterministic: fixed seeds, no timestamps. Small files only; anything big (the 1 GB
.cube of comment lines) is streamed by the tests, never written here. Dataset and run
folders depend on the lutkit that builds them, so they are not stored: the tests
build a good tiny one and damage it with :data:`DATASET_CASES` / :data:`RUN_CASES`.

``manifest.json`` says, for each file (or folder), which entry points get it and what
they must do: ``fail`` (a one-line error naming the file, non-zero exit, nothing
written) or ``ok`` (exit 0 and a sensible output). The entry point names are those of
``tests/reliability/entry_points.py``.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"

LUT_READERS = ["lut import", "lut convert", "lut apply", "lut info", "lut plot"]
IMAGE_USERS = ["lut apply (image)", "distort", "recipe preview (image)", "fix"]
RECIPE_USERS = ["recipe show", "recipe preview", "distort (recipe)", "dataset build (recipe)"]
DATASET_USERS = [
    "dataset verify",
    "dataset info",
    "dataset preview",
    "dataset export",
    "latents",
    "train",
]
VAE_USERS = ["vae info", "latents (vae)", "train (vae)"]
MANIFEST_USERS = ["dataset build (manifest)"]

# --------------------------------------------------------------------------- helpers

_entries: list[dict] = []


def _add(name: str, data: bytes | str, users: list[str], expect: str, note: str, **by) -> None:
    path = HERE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    _record(name, users, expect, note, **by)


def _record(name: str, users: list[str], expect: str, note: str, **by) -> None:
    entry = {"file": name, "entry_points": users, "expect": expect, "note": note}
    if by:
        entry["expect_by"] = {k.replace("_", " "): v for k, v in by.items()}
    _entries.append(entry)


def _cube(size: int, rows: list[str] | None = None, head: str = "") -> str:
    if rows is None:
        n = size
        rows = [
            f"{r / (n - 1):.6f} {g / (n - 1):.6f} {b / (n - 1):.6f}"
            for b in range(n)
            for g in range(n)
            for r in range(n)
        ]
    return f"{head}LUT_3D_SIZE {size}\n" + "\n".join(rows) + "\n"


def _png(pixels: np.ndarray, mode: str | None = None, **save) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    im = Image.fromarray(pixels) if mode is None else Image.fromarray(pixels, mode)
    im.save(buf, "PNG", **save)
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png_raw(width: int, height: int, depth: int, colour: int, idat: bytes) -> bytes:
    """A PNG from its parts: IHDR as given, one IDAT, IEND (for hostile headers)."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _photo(size: int = 48) -> np.ndarray:
    """A small deterministic photo-like RGB picture (gradients and a disc)."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    disc = ((x - 0.6) ** 2 + (y - 0.4) ** 2 < 0.08).astype(float)
    rgb = np.stack([0.2 + 0.6 * x, 0.3 + 0.5 * y * (1 - disc), 0.8 - 0.5 * x * y + 0.2 * disc], -1)
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def _jpeg(pixels: np.ndarray, mode: str = "RGB", **save) -> bytes:
    from PIL import Image

    im = Image.fromarray(pixels)
    if mode != "RGB":
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, **save)
    return buf.getvalue()


def _exif(orientation: int) -> bytes:
    """A minimal little-endian EXIF block holding only Orientation (any value 0..65535)."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    ifd += struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd


def _hald_identity(level: int, dtype=np.uint8) -> np.ndarray:
    n = level * level
    top = 255 if dtype == np.uint8 else 65535
    ramp = np.rint(np.arange(n) / (n - 1) * top).astype(dtype)
    cube = np.empty((n, n, n, 3), dtype)
    cube[..., 0] = ramp[None, None, :]
    cube[..., 1] = ramp[None, :, None]
    cube[..., 2] = ramp[:, None, None]
    return cube.reshape(n * level, n * level, 3)


# --------------------------------------------------------------------------- .cube


def make_cubes() -> None:
    ok2 = _cube(2)
    rows2 = ok2.splitlines()[1:]
    fail = "fail"
    _add("cube/valid-2.cube", ok2, LUT_READERS, "ok", "a valid 2^3 identity (the control)")
    _add("cube/truncated.cube", ok2[: len(ok2) // 2], LUT_READERS, fail, "cut in the middle")
    _add(
        "cube/truncated-row.cube",
        _cube(2, rows2[:-1] + ["1.0 1.0"]),
        LUT_READERS,
        fail,
        "last row has two values",
    )
    _add("cube/no-size.cube", "\n".join(rows2) + "\n", LUT_READERS, fail, "no LUT_3D_SIZE line")
    _add(
        "cube/too-many-rows.cube",
        _cube(2, rows2 + rows2[:1]),
        LUT_READERS,
        fail,
        "one row too many",
    )
    _add(
        "cube/too-few-rows-1d.cube",
        "LUT_1D_SIZE 4\n0 0 0\n1 1 1\n",
        LUT_READERS,
        fail,
        "1D, 2 of 4 rows",
    )
    _add(
        "cube/nan.cube",
        _cube(2, rows2[:3] + ["nan 0.5 0.5"] + rows2[4:]),
        LUT_READERS,
        fail,
        "a NaN in the table",
    )
    _add(
        "cube/inf.cube",
        _cube(2, rows2[:5] + ["0.5 inf 0.5"] + rows2[6:]),
        LUT_READERS,
        fail,
        "an infinity in the table",
    )
    _add(
        "cube/neg-inf-domain.cube",
        _cube(2, head="DOMAIN_MIN -inf 0 0\n"),
        LUT_READERS,
        fail,
        "DOMAIN_MIN -inf",
    )
    _add(
        "cube/huge-size.cube",
        _cube(256, rows2),
        LUT_READERS,
        fail,
        "LUT_3D_SIZE 256 (16.7 M rows) with 8 rows: no 256^3 allocation",
    )
    _add("cube/absurd-size.cube", _cube(10**12, rows2), LUT_READERS, fail, "LUT_3D_SIZE 10^12")
    _add(
        "cube/huge-1d.cube",
        "LUT_1D_SIZE 99999999999999999999\n0 0 0\n",
        LUT_READERS,
        fail,
        "a 20-digit 1D size",
    )
    _add(
        "cube/negative-size.cube",
        "LUT_3D_SIZE -2\n" + "\n".join(rows2) + "\n",
        LUT_READERS,
        fail,
        "negative size",
    )
    _add("cube/zero-size.cube", "LUT_3D_SIZE 0\n", LUT_READERS, fail, "size 0")
    _add(
        "cube/one-size.cube",
        "LUT_3D_SIZE 1\n0 0 0\n",
        LUT_READERS,
        fail,
        "size 1: no interpolation possible",
    )
    _add(
        "cube/float-size.cube",
        "LUT_3D_SIZE 2.5\n" + "\n".join(rows2) + "\n",
        LUT_READERS,
        fail,
        "a fractional size",
    )
    rng = np.random.default_rng(8)
    _add("cube/binary-garbage.cube", rng.bytes(2048), LUT_READERS, fail, "2 KB of random bytes")
    _add(
        "cube/garbage-after-header.cube",
        b"LUT_3D_SIZE 2\n" + rng.bytes(256),
        LUT_READERS,
        fail,
        "binary table",
    )
    _add(
        "cube/utf16.cube",
        ok2.encode("utf-16"),
        LUT_READERS,
        fail,
        "UTF-16 with a BOM (NUL bytes): re-save as UTF-8",
    )
    _add(
        "cube/utf16be-nobom.cube",
        ok2.encode("utf-16-be"),
        LUT_READERS,
        fail,
        "UTF-16BE without a BOM",
    )
    _add(
        "cube/latin1-title.cube",
        ('TITLE "caf\xe9"\n' + ok2).encode("latin-1"),
        LUT_READERS,
        "ok",
        "a Latin-1 byte in the title: read as Windows-1252, as OpenColorIO and ffmpeg do",
    )
    _add("cube/nul-in-title.cube", 'TITLE "a\x00b"\n' + ok2, LUT_READERS, fail, "a NUL byte")
    _add("cube/empty.cube", b"", LUT_READERS, fail, "0 bytes")
    _add("cube/whitespace.cube", " \n\t\r\n", LUT_READERS, fail, "only whitespace")
    _add("cube/only-comments.cube", "# a comment\n" * 50, LUT_READERS, fail, "comments, no table")
    _add(
        "cube/shaper.cube",
        "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n" + "\n".join(rows2) + "\n",
        LUT_READERS,
        "ok",
        "Resolve shaper + 3D: valid",
    )
    _add(
        "cube/shaper-rows.cube",
        "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\n" + "\n".join(rows2 * 2) + "\n",
        LUT_READERS,
        fail,
        "Resolve shaper + 3D with 16 rows where 2 + 8 are due",
    )
    _add(
        "cube/domain-reversed.cube",
        _cube(2, head="DOMAIN_MIN 1 1 1\nDOMAIN_MAX 0 0 0\n"),
        LUT_READERS,
        fail,
        "DOMAIN_MIN > DOMAIN_MAX",
    )
    _add(
        "cube/unknown-keyword.cube",
        _cube(2, head="LUT_4D_SIZE 2\n"),
        LUT_READERS,
        fail,
        "unknown keyword",
    )
    _add(
        "cube/keyword-in-table.cube",
        _cube(2, rows2[:4] + ["TITLE late"] + rows2[4:]),
        LUT_READERS,
        fail,
        "keyword after the table began",
    )
    _add(
        "cube/words-in-table.cube",
        _cube(2, rows2[:2] + ["red green blue"] + rows2[3:]),
        LUT_READERS,
        fail,
        "words for numbers",
    )
    _add(
        "cube/four-values.cube",
        _cube(2, [r + " 0" for r in rows2]),
        LUT_READERS,
        fail,
        "four values per row",
    )
    _add(
        "cube/duplicate-size.cube",
        _cube(2, head="LUT_3D_SIZE 2\n"),
        LUT_READERS,
        fail,
        "LUT_3D_SIZE twice",
    )
    _add(
        "cube/hex-numbers.cube",
        _cube(2, ["0x0 0x0 0x0"] + rows2[1:]),
        LUT_READERS,
        fail,
        "hexadecimal values",
    )
    _add(
        "cube/underscore-numbers.cube",
        _cube(2, ["1_0 0 0"] + rows2[1:]),
        LUT_READERS,
        fail,
        "Python-style 1_0",
    )
    _add(
        "cube/unterminated-title.cube",
        'TITLE "open\n' + ok2,
        LUT_READERS,
        fail,
        "TITLE without a closing quote",
    )
    _add(
        "cube/long-line.cube",
        "LUT_3D_SIZE 2\n" + "0" * 200_000 + " 0 0\n",
        LUT_READERS,
        fail,
        "a 200 KB number",
    )
    _add(
        "cube/crlf-bom.cube",
        ("\ufeff" + ok2).replace("\n", "\r\n"),
        LUT_READERS,
        "ok",
        "UTF-8 BOM and CRLF: valid",
    )
    _add(
        "cube/lone-cr.cube", ok2.replace("\n", "\r"), LUT_READERS, "ok", "old Mac line ends: valid"
    )
    big = [" ".join(f"{v * 4 - 1.5:.3f}" for v in map(float, r.split())) for r in rows2]
    _add(
        "cube/outside-01.cube",
        _cube(2, big),
        LUT_READERS,
        "ok",
        "values outside [0, 1]: kept, valid",
    )
    _add(
        "cube/one-d-valid.cube",
        "LUT_1D_SIZE 2\n0 0 0\n1 1 1\n",
        LUT_READERS,
        "ok",
        "a valid 1D LUT",
    )


# --------------------------------------------------------------------------- Hald


def make_halds() -> None:
    readers = LUT_READERS
    fail = "fail"
    _add(
        "hald/valid-level2.png",
        _png(_hald_identity(2)),
        readers,
        "ok",
        "a valid level-2 identity (control)",
    )
    h16 = _hald_identity(2, np.uint16)
    _add("hald/sixteen-bit.tif", _tiff16(h16), readers, "ok", "16-bit TIFF Hald: valid")
    _add("hald/sixteen-bit.png", _png16(h16), readers, "ok", "16-bit PNG Hald: valid")
    _add(
        "hald/palette.png",
        _palette_png(_hald_identity(2)),
        readers,
        "ok",
        "a palette (mode P) Hald: valid, read as RGB",
    )
    _add("hald/not-square.png", _png(np.zeros((8, 27, 3), np.uint8)), readers, fail, "27x8")
    _add(
        "hald/wrong-side.png",
        _png(np.zeros((10, 10, 3), np.uint8)),
        readers,
        fail,
        "10x10 is no level^3",
    )
    _add("hald/one-pixel.png", _png(np.zeros((1, 1, 3), np.uint8)), readers, fail, "1x1")
    _add("hald/level-1.png", _png(np.zeros((1, 1, 3), np.uint8) + 9), readers, fail, "level 1")
    _add("hald/grayscale.png", _png(_hald_identity(2)[:, :, 0]), readers, fail, "grayscale Hald")
    _add(
        "hald/level-17.png",
        _png_raw(4913, 4913, 8, 2, zlib.compress(b"\x00" * 64)),
        readers,
        fail,
        "level 17 (4913 px), header only",
    )
    _add(
        "hald/huge-dimensions.png",
        _png_raw(2**31 - 1, 2**31 - 1, 8, 2, zlib.compress(b"")),
        readers,
        fail,
        "2^31-1 squared pixels in the header",
    )
    _add(
        "hald/level16-truncated.png",
        _png_raw(4096, 4096, 16, 2, zlib.compress(b"\x00" * 4096)[:-4]),
        readers,
        fail,
        "level 16 header, a few bytes of data",
    )
    good = _png(_hald_identity(2))
    _add("hald/truncated.png", good[: len(good) // 2], readers, fail, "a cut PNG")
    _add("hald/text.png", "this is not an image\n", readers, fail, "text named .png")
    _add(
        "hald/jpeg-as-png.png",
        _jpeg(_hald_identity(2)),
        readers,
        "ok",
        "a JPEG named .png: read by content (lossy but valid)",
    )


def _png16(pixels: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(pixels[:, :, ::-1]))
    assert ok
    return buf.tobytes()


def _tiff16(pixels: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".tiff", np.ascontiguousarray(pixels[:, :, ::-1]))
    assert ok
    return buf.tobytes()


def _palette_png(rgb: np.ndarray) -> bytes:
    from PIL import Image

    im = Image.fromarray(rgb).quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=0)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- GIMP


def make_gimp() -> None:
    readers = LUT_READERS
    head = "# GIMP 'Curves' settings\n\n(time 0)\n(linear no)\n"
    samples = " ".join(f"{i / 255:.6f}" for i in range(256))

    def curve(channel: str, points: str, n: int) -> str:
        return (
            f"(channel {channel})\n(curve\n    (curve-type smooth)\n    (n-points {n})\n"
            f"    (points {points})\n    (point-types {n} {' '.join(['smooth'] * n)})\n"
            f"    (n-samples 256)\n    (samples 256 {samples}))\n"
        )

    fail = "fail"
    _add(
        "gimp/valid.curves",
        head + curve("value", "4 0 0.1 1 0.9", 2),
        readers,
        "ok",
        "a valid preset (control)",
    )
    _add(
        "gimp/wrong-version.curves",
        "# GIMP Curves File v9\n" + "0 0 255 255\n" * 5,
        readers,
        fail,
        "an unknown legacy version",
    )
    _add(
        "gimp/missing-points.curves",
        head
        + "(channel value)\n(curve\n    (curve-type smooth)\n    (n-points 3)\n    (points 2 0 0))\n",
        readers,
        fail,
        "n-points 3, one point given",
    )
    _add(
        "gimp/odd-points.curves",
        head + curve("value", "3 0 0 1", 2),
        readers,
        fail,
        "an odd number of coordinates",
    )
    _add(
        "gimp/out-of-range.curves",
        head + curve("value", "4 0 -3 1 7.5", 2),
        readers,
        fail,
        "point values outside [0, 1]",
    )
    _add(
        "gimp/nan-points.curves",
        head + curve("red", "4 0 nan 1 1", 2),
        readers,
        fail,
        "a NaN point",
    )
    _add(
        "gimp/unknown-channel.curves",
        head + curve("ultraviolet", "4 0 0 1 1", 2),
        readers,
        fail,
        "an unknown channel",
    )
    _add(
        "gimp/unbalanced.curves",
        head + "(channel value)\n(curve\n    (curve-type smooth)\n",
        readers,
        fail,
        "unclosed parentheses",
    )
    legacy_bad = (
        "# GIMP Curves File\n"
        + "0 0 300 -5 "
        + "-1 -1 " * 15
        + "\n"
        + ("0 0 255 255 " + "-1 -1 " * 15 + "\n") * 4
    )
    _add(
        "gimp/legacy-out-of-range.curves", legacy_bad, readers, fail, "legacy points outside 0..255"
    )
    _add(
        "gimp/legacy-short.curves",
        "# GIMP Curves File\n0 0 255 255\n",
        readers,
        fail,
        "legacy, one of five lines",
    )
    _add("gimp/binary.curves", np.random.default_rng(3).bytes(512), readers, fail, "random bytes")
    _add("gimp/empty.curves", b"", readers, fail, "0 bytes")


# --------------------------------------------------------------------------- images


def make_images() -> None:
    users = IMAGE_USERS
    fail = "fail"
    photo = _photo()
    jpg = _jpeg(photo)
    png = _png(photo)
    _add("images/valid.jpg", jpg, users, "ok", "a valid JPEG (control)")
    _add("images/truncated.jpg", jpg[: len(jpg) // 2], users, fail, "half a JPEG")
    _add("images/truncated.png", png[: len(png) // 2], users, fail, "half a PNG")
    _add("images/header-only.jpg", jpg[:200], users, fail, "JPEG headers, no scan")
    _add("images/zero.jpg", b"", users, fail, "0 bytes")
    _add("images/zero.png", b"", users, fail, "0 bytes")
    bad_crc = bytearray(png)
    bad_crc[-20] ^= 0xFF  # inside the last IDAT
    _add("images/bad-crc.png", bytes(bad_crc), users, fail, "a damaged IDAT")
    # 16384 x 16384 1-bit zeros: 268 M pixels (over the 250 M limit) in ~33 KB.
    row = b"\x00" + b"\x00" * (16384 // 8)
    _add(
        "images/bomb.png",
        _png_raw(16384, 16384, 1, 0, zlib.compress(row * 16384, 9)),
        users,
        fail,
        "decompression bomb: 268 Mpx in 33 KB",
    )
    _add(
        "images/bomb-header.png",
        _png_raw(100_000, 100_000, 8, 2, zlib.compress(b"\x00" * 64)),
        users,
        fail,
        "10^10 pixels claimed in the header",
    )
    _add(
        "images/text.png",
        "<html>not an image</html>\n",
        users,
        fail,
        "text named .png (wrong extension)",
    )
    _add(
        "images/random.jpg",
        np.random.default_rng(5).bytes(4096),
        users,
        fail,
        "random bytes named .jpg",
    )
    _add(
        "images/cmyk.jpg", _jpeg(photo, "CMYK"), users, "ok", "a CMYK JPEG: valid, converted to RGB"
    )
    gray16 = (np.linspace(0, 65535, 48 * 48).reshape(48, 48)).astype(np.uint16)
    _add("images/gray16.png", _gray16_png(gray16), users, "ok", "16-bit grayscale PNG: valid")
    _add("images/palette.png", _palette_png(photo), users, "ok", "a palette PNG: valid")
    _add(
        "images/exif-orientation-9.jpg",
        _jpeg(photo, exif=_exif(9)),
        users,
        "ok",
        "EXIF orientation 9 (invalid): ignored",
    )
    _add(
        "images/exif-orientation-0.jpg",
        _jpeg(photo, exif=_exif(0)),
        users,
        "ok",
        "EXIF orientation 0 (invalid): ignored",
    )
    _add(
        "images/exif-orientation-65535.jpg",
        _jpeg(photo, exif=_exif(65535)),
        users,
        "ok",
        "EXIF orientation 65535: ignored",
    )
    _add(
        "images/exif-garbage.jpg",
        _jpeg(photo, exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),
        users,
        "ok",
        "EXIF with an IFD offset past the end: ignored",
    )
    _add("images/png-named.jpg", png, users, "ok", "a PNG named .jpg: read by content")
    _add("images/one-pixel.png", _png(photo[:1, :1]), users, "ok", "a 1x1 image: valid")
    _add(
        "images/gray-alpha.png",
        _png(np.dstack([photo[:, :, 0], photo[:, :, 1]]), "LA"),
        users,
        "ok",
        "grayscale + alpha: valid",
    )
    # ICC profiles: lut apply, distort and fix work on the file's own encoding and
    # write back only a profile that describes the pixels; recipe preview converts to
    # sRGB through the profile, so a profile it cannot use is a one-line error.
    adobe = (HERE.parent / "icc" / "compatibleWithAdobeRGB1998.icc").read_bytes()
    preview_fails = {"recipe_preview_(image)": fail}
    _add(
        "images/icc-adobe-rgb.jpg",
        _jpeg(photo, icc_profile=adobe),
        users,
        "ok",
        "an Adobe RGB JPEG",
    )
    _add(
        "images/icc-broken.jpg",
        _jpeg(photo, icc_profile=adobe[:200]),
        users,
        "ok",
        "an ICC profile cut short (littleCMS cannot read it): not written back",
        **preview_fails,
    )
    _add(
        "images/icc-lab-on-rgb.png",
        _png(photo, icc_profile=_lab_profile()),
        users,
        "ok",
        "a Lab profile on RGB pixels (mismatched): not written back",
        **preview_fails,
    )
    _add(
        "images/icc-rgb-on-gray.png",
        _png(photo[:, :, 1], "L", icc_profile=adobe),
        users,
        "ok",
        "an RGB profile on grayscale pixels (mismatched): not written back",
        **preview_fails,
    )


def _lab_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()


def _gray16_png(gray: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", gray)
    assert ok
    return buf.tobytes()


# --------------------------------------------------------------------------- recipes


def make_recipes() -> None:
    users = RECIPE_USERS
    fail = "fail"

    def stage(body: str) -> str:
        return f'name = "t"\n\n[[stage]]\n{body}\n'

    _add(
        "recipes/valid.toml", stage('op = "curves.gamma"'), users, "ok", "a valid recipe (control)"
    )
    _add("recipes/unknown-op.toml", stage('op = "lighting.laser"'), users, fail, "unknown op")
    _add(
        "recipes/unknown-key.toml",
        'name = "t"\ncolour = 1\n[[stage]]\nop = "curves.gamma"\n',
        users,
        fail,
        "unknown top-level key",
    )
    _add(
        "recipes/unknown-param.toml",
        stage('op = "curves.gamma"\nwobble = [0, 1]'),
        users,
        fail,
        "an op without that parameter",
    )
    _add(
        "recipes/cycle-a.toml", stage('include = "cycle-b"'), users, fail, "a includes b includes a"
    )
    _add(
        "recipes/cycle-b.toml", stage('include = "cycle-a"'), users, fail, "b includes a includes b"
    )
    _add(
        "recipes/self-include.toml",
        stage('include = "self-include"'),
        users,
        fail,
        "includes itself",
    )
    _add(
        "recipes/include-missing.toml",
        stage('include = "no-such-recipe"'),
        users,
        fail,
        "includes a recipe that does not exist",
    )
    _add(
        "recipes/reversed-range.toml",
        stage('op = "lighting.cct"\ncct = [9000, 3000]'),
        users,
        fail,
        "min > max",
    )
    _add(
        "recipes/absurd-range.toml",
        stage('op = "lighting.cct"\ncct = [1, 1e300]'),
        users,
        fail,
        "a colour temperature of 10^300 K",
    )
    _add(
        "recipes/nan-range.toml",
        stage('op = "lighting.exposure"\nstops = nan'),
        users,
        fail,
        "NaN stops",
    )
    _add(
        "recipes/inf-range.toml",
        stage('op = "lighting.exposure"\nstops = [-inf, inf]'),
        users,
        fail,
        "infinite stops",
    )
    _add(
        "recipes/p-out-of-range.toml",
        stage('op = "curves.gamma"\np = 1.5'),
        users,
        fail,
        "probability 1.5",
    )
    _add(
        "recipes/negative-weight.toml",
        'name = "t"\n[[stage]]\n[[stage.choose]]\nop = "curves.gamma"\nweight = -1\n',
        users,
        fail,
        "a negative weight",
    )
    _add("recipes/no-stages.toml", 'name = "t"\n', users, fail, "no [[stage]]")
    _add("recipes/invalid.toml", "name = \n[[stage", users, fail, "not TOML")
    _add(
        "recipes/latin1.toml",
        'name = "caf\xe9"\n[[stage]]\nop = "curves.gamma"\n'.encode("latin-1"),
        users,
        fail,
        "not UTF-8",
    )
    _add(
        "recipes/unknown-lut.toml",
        stage('op = "lut3d.library"\nnames = ["no-such-lut"]'),
        users,
        fail,
        "an unknown library LUT",
    )


# --------------------------------------------------------------------------- VAE folders


def _vae_config() -> str:
    return json.dumps(
        {
            "_class_name": "AutoencoderKL",
            "in_channels": 3,
            "out_channels": 3,
            "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4,
            "block_out_channels": [8, 8, 16, 16],
            "latent_channels": 4,
            "layers_per_block": 1,
            "norm_num_groups": 8,
        },
        indent=2,
    )


def _safetensors(tensors: dict[str, np.ndarray]) -> bytes:
    """The safetensors format by hand (8-byte header length, JSON header, raw data)."""
    header, blobs, offset = {}, [], 0
    for name, arr in sorted(tensors.items()):
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def _pickle_checkpoint() -> bytes:
    import pickle

    # What torch.save would hold, minus torch: a pickle that runs code when loaded.
    class Evil:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    return pickle.dumps({"state_dict": {"w": [0.0] * 4}, "x": Evil()}, protocol=4)


def _zip_checkpoint() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("archive/data.pkl", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, _pickle_checkpoint())
    return buf.getvalue()


def make_vae_folders() -> None:
    users = VAE_USERS
    fail = "fail"
    weights = "diffusion_pytorch_model.safetensors"
    cases: dict[str, dict[str, bytes | str]] = {
        "missing-weights": {"config.json": _vae_config()},
        "pickle-as-safetensors": {"config.json": _vae_config(), weights: _pickle_checkpoint()},
        "zip-as-safetensors": {"config.json": _vae_config(), weights: _zip_checkpoint()},
        "pickle-bin-only": {
            "config.json": _vae_config(),
            "diffusion_pytorch_model.bin": _pickle_checkpoint(),
        },
        "wrong-shape": {
            "config.json": _vae_config(),
            weights: _safetensors({"encoder.conv_in.weight": np.zeros((2, 2), np.float32)}),
        },
        "truncated-weights": {
            "config.json": _vae_config(),
            weights: _safetensors({"encoder.conv_in.weight": np.zeros((8, 3, 3, 3), np.float32)})[
                :100
            ],
        },
        "bad-config": {"config.json": "{ not json", weights: b""},
        "wrong-class": {"config.json": json.dumps({"_class_name": "UNet2DModel"}), weights: b""},
        "huge-header": {"config.json": _vae_config(), weights: struct.pack("<Q", 2**62) + b"{}"},
    }
    notes = {
        "missing-weights": "config.json only",
        "pickle-as-safetensors": "a pickle under the safetensors name (runs code if unpickled)",
        "zip-as-safetensors": "a torch.save-style zip under the safetensors name",
        "pickle-bin-only": "only diffusion_pytorch_model.bin (a pickle): refused",
        "wrong-shape": "safetensors with a tensor of another shape",
        "truncated-weights": "safetensors cut short",
        "bad-config": "config.json is not JSON",
        "wrong-class": "config of another diffusers class",
        "huge-header": "safetensors header length 2^62",
    }
    for name, files in cases.items():
        folder = HERE / "vae" / name
        for fname, data in files.items():
            (folder / fname).parent.mkdir(parents=True, exist_ok=True)
            (folder / fname).write_bytes(data.encode() if isinstance(data, str) else data)
        _record(f"vae/{name}", users, fail, notes[name])


# --------------------------------------------------------------------------- manifests


def make_manifests() -> None:
    users = MANIFEST_USERS
    fail = "fail"
    _add(
        "manifests/escape.csv",
        "path\n../../../../etc/passwd\n",
        users,
        fail,
        "a ../ path out of the manifest's folder",
    )
    _add("manifests/absolute.csv", "path\n/etc/hostname\n", users, fail, "an absolute path")
    _add("manifests/no-path-column.csv", "file\nphoto.jpg\n", users, fail, "no 'path' column")
    _add(
        "manifests/bad-split.csv",
        "path,split\n../images/valid.jpg,holdout\n",
        users,
        fail,
        "a ../ path and an unknown split",
    )
    _add("manifests/binary.csv", np.random.default_rng(9).bytes(300), users, fail, "random bytes")
    _add("manifests/empty.csv", b"", users, fail, "0 bytes")


# --------------------------------------------------------------------------- derived folders

# Damage applied by the tests to a freshly built tiny dataset (with latents) or a tiny
# trained run: name -> (what it does, the function). Each function takes the folder
# (a copy) and changes it in place.


def _first_shard(folder: Path) -> Path:
    """The first train shard: every reader (train too) needs it; it is shards[0]."""
    return sorted((folder / "pairs").glob("train-*.parquet"))[0]


def _edit_json(folder: Path, edit: Callable[[dict], None]) -> None:
    path = folder / "dataset.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2))


def _flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(b ^ 0x5A for b in data[mid : mid + 64])
    path.write_bytes(bytes(data))


def _set_shard(key: str, value) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        doc["shards"][0][key] = value

    return edit


def _latents_shard(folder: Path) -> Path:
    return sorted((folder / "latents").glob("*/train-*.parquet"))[0]


DATASET_CASES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "missing-shard": ("a listed pairs shard is gone", lambda f: _first_shard(f).unlink()),
    "corrupted-shard": (
        "64 bytes flipped in the middle of a shard",
        lambda f: _flip_middle(_first_shard(f)),
    ),
    "truncated-shard": (
        "a shard cut in half",
        lambda f: _first_shard(f).write_bytes(_first_shard(f).read_bytes()[:300]),
    ),
    "not-parquet-shard": (
        "a shard replaced by text (sha256 updated to match)",
        lambda f: _replace_shard_with_text(f),
    ),
    "json-escape": (
        "dataset.json lists ../../etc/passwd",
        lambda f: _edit_json(f, _set_shard("file", "../../etc/passwd")),
    ),
    "json-absolute": (
        "dataset.json lists an absolute path",
        lambda f: _edit_json(f, _set_shard("file", "/etc/passwd")),
    ),
    "json-sha-edited": (
        "a shard's sha256 edited",
        lambda f: _edit_json(f, _set_shard("sha256", "0" * 64)),
    ),
    "json-rows-edited": (
        "a shard's row count edited",
        lambda f: _edit_json(f, _set_shard("rows", 999)),
    ),
    "json-bad-split": (
        "a shard's split is 'holdout'",
        lambda f: _edit_json(f, _set_shard("split", "holdout")),
    ),
    "json-schema": ("schema version 99", lambda f: _edit_json(f, lambda d: d.update(schema=99))),
    "json-not-json": (
        "dataset.json is not JSON",
        lambda f: (f / "dataset.json").write_text("{ oops"),
    ),
    "json-not-object": (
        "dataset.json is a list",
        lambda f: (f / "dataset.json").write_text("[1, 2]"),
    ),
    "json-missing": ("no dataset.json", lambda f: (f / "dataset.json").unlink()),
    "latents-corrupted": ("a latents shard damaged", lambda f: _flip_middle(_latents_shard(f))),
    "latents-missing": ("a latents shard is gone", lambda f: _latents_shard(f).unlink()),
}

# What each dataset entry point must do with each case (default: fail).
DATASET_OK: dict[str, set[str]] = {
    # info summarises dataset.json; it does not open the shards
    "dataset info": {
        "missing-shard",
        "corrupted-shard",
        "truncated-shard",
        "not-parquet-shard",
        "json-sha-edited",
        "json-rows-edited",
        "latents-corrupted",
        "latents-missing",
    },
    # verify checks the latents too: a damaged or missing latents shard is a problem
    "dataset verify": set(),
    # the pairs are intact: these read only the pairs
    "dataset preview": {"latents-corrupted", "latents-missing"},
    "dataset export": {"latents-corrupted", "latents-missing"},
    # latents redoes a damaged or missing latents shard
    "latents": {"latents-corrupted", "latents-missing"},
    # train reads the latents; the pairs only for the validation pictures
    "train": set(),
}


def _replace_shard_with_text(folder: Path) -> None:
    import hashlib

    shard = _first_shard(folder)
    shard.write_text("not parquet\n")
    sha = hashlib.sha256(shard.read_bytes()).hexdigest()
    _edit_json(folder, _set_shard("sha256", sha))


def _recolor_weights(run: Path) -> Path:
    return run / "recolor" / "model.safetensors"


RUN_CASES: dict[str, tuple[str, Callable[[Path], None]]] = {
    "missing-weights": (
        "recolor/model.safetensors is gone",
        lambda r: _recolor_weights(r).unlink(),
    ),
    "other-shape": (
        "recolor weights of another shape",
        lambda r: _recolor_weights(r).write_bytes(
            _safetensors({"conv_in.weight": np.zeros((3, 3), np.float32)})
        ),
    ),
    "pickle-weights": (
        "a pickle under the safetensors name",
        lambda r: _recolor_weights(r).write_bytes(_pickle_checkpoint()),
    ),
    "zip-weights": (
        "a torch.save zip under the safetensors name",
        lambda r: _recolor_weights(r).write_bytes(_zip_checkpoint()),
    ),
    "config-not-json": ("config.json is not JSON", lambda r: (r / "config.json").write_text("{")),
    "config-unknown-key": (
        "config.json with an unknown key",
        lambda r: _edit_run_config(r, lambda d: d.update(wobble=1)),
    ),
    "recolor-config-missing": (
        "recolor/config.json is gone",
        lambda r: (r / "recolor" / "config.json").unlink(),
    ),
    "vae-missing": (
        "the run's VAE folder is gone",
        lambda r: _edit_run_config(r, lambda d: d.update(vae_path=None, vae=str(r / "no-vae"))),
    ),
}


def _edit_run_config(run: Path, edit: Callable[[dict], None]) -> None:
    path = run / "config.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2))


# --------------------------------------------------------------------------- main


def main() -> None:
    for sub in ("cube", "hald", "gimp", "images", "recipes", "vae", "manifests"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    _entries.clear()
    make_cubes()
    make_halds()
    make_gimp()
    make_images()
    make_recipes()
    make_vae_folders()
    make_manifests()
    doc = {
        "about": "Bad (and a few valid) inputs: which entry points get each and what they must do. "
        "Generated by make_corpus.py; dataset and run folders are damaged at test time "
        "(DATASET_CASES, RUN_CASES there).",
        "files": _entries,
        "dataset_cases": {k: v[0] for k, v in DATASET_CASES.items()},
        "dataset_ok": {k: sorted(v) for k, v in DATASET_OK.items()},
        "run_cases": {k: v[0] for k, v in RUN_CASES.items()},
        "run_users": ["fix"],
    }
    MANIFEST.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(_entries)} files and folders in {HERE}")


if __name__ == "__main__":
    main()
