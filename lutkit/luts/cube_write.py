"""Write ``.cube`` LUT files (the reader is :mod:`lutkit.luts.cube`).

Rows are written red fastest, as every .cube reader expects, with 9 significant
digits by default (a float32 reads back bit-exact) and never in exponent notation,
which some readers refuse.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np

from lutkit.errors import LUTError, LutkitError
from lutkit.fsutil import atomic_output
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

__all__ = ["write_cube"]


def write_cube(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    path: str | PathLike[str],
    *,
    title: str | None = None,
    precision: int | None = None,
) -> Path:
    """Write ``lut`` as a .cube file (atomically) and return the path.

    ``title`` defaults to ``lut.title`` (no TITLE line when empty). ``precision`` None
    writes 9 significant digits, which reads back bit-exact for float32 tables; an int
    writes that many decimals (Resolve writes 6), smaller but not exact. The domain is
    written as DOMAIN_MIN/DOMAIN_MAX only when it is not the default [0, 1].

    A ``ShaperLUT3D`` is written as Resolve writes one: LUT_1D_SIZE, LUT_1D_INPUT_RANGE,
    LUT_3D_SIZE, LUT_3D_INPUT_RANGE, the 1D rows, then the 3D rows; the title becomes
    the first comment (Resolve and OpenColorIO refuse TITLE there), and each table
    needs one input range for all channels.
    """
    if not isinstance(lut, (LUT1D, LUT3D, ShaperLUT3D)):
        raise TypeError(f"write_cube takes a LUT1D, LUT3D or ShaperLUT3D, not {type(lut).__name__}")
    if precision is not None and not 0 <= int(precision) <= 17:
        raise ValueError(f"precision must be None or 0..17 decimals, got {precision}")
    title = lut.title if title is None else title
    head: list[str] = []
    comments = lut.metadata.get("comments") if isinstance(lut.metadata, dict) else None
    if isinstance(comments, list):
        head += [f"# {c}".rstrip() for c in comments if isinstance(c, str)]
    title = " ".join(title.splitlines())
    if isinstance(lut, ShaperLUT3D):
        if title:
            head.insert(0, f"# {title}")
        head += [
            f"LUT_1D_SIZE {lut.shaper.size}",
            "LUT_1D_INPUT_RANGE " + _one_range(lut.shaper, "shaper"),
            f"LUT_3D_SIZE {lut.cube.size}",
            "LUT_3D_INPUT_RANGE " + _one_range(lut.cube, "3D table"),
        ]
        cube_rows = lut.cube.table.transpose(2, 1, 0, 3).reshape(-1, 3)
        rows = np.concatenate([lut.shaper.table, cube_rows])
        return _write_text(path, head, rows, precision)
    if title:
        # A title is one line; quotes inside are kept (readers take the outer pair).
        head.append(f'TITLE "{title}"')
    if isinstance(lut, LUT3D):
        head.append(f"LUT_3D_SIZE {lut.size}")
        # Red changes fastest in the file: [r, g, b] -> [b, g, r] before flattening.
        rows = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)
    else:
        head.append(f"LUT_1D_SIZE {lut.size}")
        rows = lut.table
    domain = np.asarray(lut.domain, dtype=np.float64)
    if not (np.all(domain[0] == 0.0) and np.all(domain[1] == 1.0)):
        head.append("DOMAIN_MIN " + " ".join(repr(float(v)) for v in domain[0]))
        head.append("DOMAIN_MAX " + " ".join(repr(float(v)) for v in domain[1]))
    return _write_text(path, head, rows, precision)


def _one_range(lut: LUT1D | LUT3D, what: str) -> str:
    """ "lo hi" of a domain that is the same on every channel (a shaper file's ranges)."""
    lo, hi = np.asarray(lut.domain, dtype=np.float64)
    if np.any(lo != lo[0]) or np.any(hi != hi[0]):
        raise LUTError(
            f"a shaper .cube gives its {what} one input range for all channels, "
            f"this one is {lut.domain.tolist()}",
            hint="bake it into a plain 3D LUT first (ShaperLUT3D.to_3d)",
        )
    return f"{float(lo[0])!r} {float(hi[0])!r}"


def _write_text(
    path: str | PathLike[str], head: list[str], rows: np.ndarray, precision: int | None
) -> Path:
    body = _format_rows(rows, precision)
    text = "\n".join(head) + "\n" + body + "\n"
    path = Path(path)
    try:
        with atomic_output(path) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise LutkitError(f"cannot write the file: {exc.strerror or exc}", path=path) from None
    return path


def _format_rows(rows: np.ndarray, precision: int | None) -> str:
    values = rows.astype(np.float64)
    if precision is not None:
        fixed = "{{:.{0}f}} {{:.{0}f}} {{:.{0}f}}".format(int(precision)).format
        return "\n".join(fixed(*r) for r in values.tolist())
    # 9 significant digits always round-trip a float32, also when read through a
    # float64 parser (the decimal lies far closer to the float32 than any rounding
    # midpoint). "%g" switches to exponents for tiny or huge values, which some .cube
    # readers do not accept, so those few are rewritten positionally.
    row_format = "{:.9g} {:.9g} {:.9g}".format
    lines = [row_format(*r) for r in values.tolist()]
    if any("e" in line for line in lines):
        for i, line in enumerate(lines):
            if "e" in line:
                lines[i] = " ".join(
                    np.format_float_positional(
                        np.float32(v), precision=9, unique=False, fractional=False, trim="-"
                    )
                    for v in rows[i]
                )
    return "\n".join(lines)
