"""Read and write any supported LUT file, picking the format from the extension.

- ``.cube``: :func:`lutkit.luts.cube.read_cube` / :func:`lutkit.luts.cube.write_cube`
- ``.png``, ``.tif``, ``.tiff`` (Hald CLUT images): :func:`lutkit.luts.hald.read_hald` /
  :func:`lutkit.luts.hald.write_hald`
- ``.3dl`` (Autodesk Lustre / Discreet integer tables): :func:`lutkit.luts.lut3dl.read_3dl`
  / :func:`lutkit.luts.lut3dl.write_3dl`
- ``.spi3d`` (Sony Pictures Imageworks, OpenColorIO's own): :mod:`lutkit.luts.spi3d`
- ``.curves``, ``.settings`` (GIMP curves): ``lutkit.luts.gimp.read_gimp_curves``, read
  only

A file with any other extension (or none) is recognised as GIMP curves by its content:
the first non-blank line starts with ``# GIMP``, or ``GimpCurvesConfig`` appears near the
top. A known extension always wins, so a .cube whose first comment says "GIMP" is still
read as a .cube.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

from lutkit.errors import FormatError, LUTError, LutkitError
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

__all__ = ["read_lut", "write_lut", "READ_EXTENSIONS", "WRITE_EXTENSIONS", "is_gimp_curves"]

LUT = LUT1D | LUT3D | ShaperLUT3D

_HALD = (".png", ".tif", ".tiff")
_GIMP = (".curves", ".settings")
READ_EXTENSIONS = (".cube", ".3dl", ".spi3d", *_HALD, *_GIMP)
WRITE_EXTENSIONS = (".cube", ".3dl", ".spi3d", *_HALD)


def _read_cube(path: Path) -> LUT:
    from lutkit.luts.cube import read_cube

    return read_cube(path)


def _read_3dl(path: Path) -> LUT:
    from lutkit.luts.lut3dl import read_3dl

    return read_3dl(path)


def _read_spi3d(path: Path) -> LUT:
    from lutkit.luts.spi3d import read_spi3d

    return read_spi3d(path)


def _read_hald(path: Path) -> LUT:
    from lutkit.luts.hald import read_hald

    return read_hald(path)


def _read_gimp(path: Path) -> LUT:
    try:
        from lutkit.luts.gimp import read_gimp_curves
    except ImportError as exc:
        raise LutkitError(
            f"GIMP curves files are not supported by this build ({exc})", path=path
        ) from None
    return read_gimp_curves(path)


def _write_cube(lut: LUT, path: Path, **kw: Any) -> Path:
    from lutkit.luts.cube import write_cube

    return write_cube(lut, path, **kw)


def _write_3dl(lut: LUT, path: Path, **kw: Any) -> Path:
    from lutkit.luts.lut3dl import write_3dl

    return write_3dl(lut, path, **kw)


def _write_spi3d(lut: LUT, path: Path, **kw: Any) -> Path:
    from lutkit.luts.spi3d import write_spi3d

    return write_spi3d(lut, path, **kw)


def _write_hald(lut: LUT, path: Path, **kw: Any) -> Path:
    from lutkit.luts.hald import write_hald

    # write_hald bakes a LUT1D onto the 3D lattice itself.
    return write_hald(lut, path, **kw)


_READERS: dict[str, Callable[[Path], LUT]] = {
    ".cube": _read_cube,
    ".3dl": _read_3dl,
    ".spi3d": _read_spi3d,
    **dict.fromkeys(_HALD, _read_hald),
    **dict.fromkeys(_GIMP, _read_gimp),
}
_WRITERS: dict[str, Callable[..., Path]] = {
    ".cube": _write_cube,
    ".3dl": _write_3dl,
    ".spi3d": _write_spi3d,
    **dict.fromkeys(_HALD, _write_hald),
}


def is_gimp_curves(path: str | PathLike[str]) -> bool:
    """True when ``path`` looks like a GIMP curves settings file (by name or content)."""
    path = Path(path)
    if path.suffix.lower() in _GIMP:
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace")
    if "GimpCurvesConfig" in text:
        return True
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first.startswith("# GIMP")


def read_lut(path: str | PathLike[str]) -> LUT:
    """Read a LUT file of any supported format (see the module docstring)."""
    path = Path(path)
    ext = path.suffix.lower()
    reader = _READERS.get(ext)
    if reader is None and is_gimp_curves(path):
        reader = _read_gimp
    if reader is None:
        if ext in (".jpg", ".jpeg", ".webp"):  # a photo, or a Hald exported lossily
            raise FormatError(
                f"not a LUT file ({ext}): a Hald CLUT must be PNG or TIFF (a JPEG's "
                "compression moves its colours)",
                path=path,
                hint=f"supported: {', '.join(READ_EXTENSIONS)}; export an edited Hald as "
                "a 16-bit PNG or TIFF",
            )
        raise FormatError(
            f"unknown LUT file extension {ext or '(none)'!r}",
            path=path,
            hint=f"supported: {', '.join(READ_EXTENSIONS)} (or a GIMP curves file)",
        )
    try:
        return reader(path)
    except LUTError as exc:  # the table read but is no LUT: say which file
        if exc.path is not None:
            raise
        raise FormatError(
            exc.message, path=path, hint=exc.hint or "re-export the LUT from the tool that made it"
        ) from None


def write_lut(lut: LUT, path: str | PathLike[str], **kw: Any) -> Path:
    """Write ``lut`` in the format given by the extension; keywords go to the writer.

    .cube: ``title``, ``precision``. .png/.tif/.tiff (Hald): ``level``, ``bit_depth``;
    .3dl: ``flavour``, ``bit_depth``, ``input_bits``; a LUT1D is baked into a 3D
    lattice. A ``ShaperLUT3D`` keeps its shaper in .cube; the other formats have no
    shaper and get it baked into one 3D table (exact at the lattice points).
    """
    path = Path(path)
    return _WRITERS[check_lut_path(path)](lut, path, **kw)


def export_options(lut: LUT, path: str | PathLike[str]) -> dict[str, Any]:
    """The writer's options for a LUT that a command makes and writes with no options of
    its own (``fix --export-lut``, ``distort --truth-lut``): a Hald image at the smallest
    level that holds ``lut`` within one 8-bit level (the writer's advice to give a
    --level would name an option such a command does not have), in 16 bits, as
    ``lut convert`` writes one; other formats as their writers default."""
    from lutkit.luts.bake import holding_size
    from lutkit.luts.hald import HALD_EXTENSIONS

    if Path(path).suffix.lower() not in HALD_EXTENSIONS:
        return {}
    size = getattr(lut, "size", 33)
    levels = [lv for lv in range(2, 13) if lv * lv >= min(size, 144)]  # up to 144^3
    side = holding_size(lut, [lv * lv for lv in levels])
    return {"level": next(lv for lv in levels if lv * lv == side), "bit_depth": 16}


def check_lut_path(path: str | PathLike[str]) -> str:
    """Raise the one-line error :func:`write_lut` would for ``path``'s extension, before
    any work is done; returns the extension (lower case)."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _WRITERS:
        raise FormatError(
            f"cannot write LUTs with extension {ext or '(none)'!r}",
            path=path,
            hint=f"supported: {', '.join(WRITE_EXTENSIONS)}",
        )
    return ext
