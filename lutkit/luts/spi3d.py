"""Sony Pictures Imageworks ``.spi3d`` 3D LUTs (OpenColorIO's native 3D format).

::

    SPILUT 1.0
    3 3
    N N N
    i j k  r g b        one line per lattice point: red, green, blue index, then the
    ...                 output as floats; lines in any order (lutkit writes blue fastest)

The input domain is [0, 1]; outputs are floats, kept as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lutkit.errors import FormatError
from lutkit.fsutil import atomic_write_text
from lutkit.luts.bake import bake_unit
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D


def read_spi3d(path: str | os.PathLike[str]) -> LUT3D:
    """Read a .spi3d file into a LUT3D over [0, 1]."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise FormatError("not a text file", path=path) from None
    if not lines or not lines[0].strip().upper().startswith("SPILUT"):
        raise FormatError("not a .spi3d file (the first line is not 'SPILUT 1.0')", path=path)
    if len(lines) < 3 or lines[1].split()[:2] != ["3", "3"]:
        raise FormatError("expected '3 3' (a 3D LUT of RGB)", path=path, line=2)
    try:
        sizes = [int(w) for w in lines[2].split()]
    except ValueError:
        sizes = []
    if len(sizes) != 3 or len(set(sizes)) != 1 or not 2 <= sizes[0] <= 256:
        raise FormatError(
            f"expected the lattice size as 'N N N' (2..256), got {lines[2].strip()!r}",
            path=path,
            line=3,
        )
    n = sizes[0]
    table = np.full((n, n, n, 3), np.nan)
    seen = np.zeros((n, n, n), np.int64)  # the line that gave each lattice point
    for lineno, raw in enumerate(lines[3:], start=4):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            if len(words) != 6:
                raise ValueError
            i, j, k = (int(w) for w in words[:3])
            rgb = [float(w) for w in words[3:]]
        except ValueError:
            raise FormatError(
                f"expected 'i j k r g b', got {raw.strip()[:60]!r}", path=path, line=lineno
            ) from None
        if not all(0 <= x < n for x in (i, j, k)):
            raise FormatError(f"index out of 0..{n - 1}", path=path, line=lineno)
        if not np.all(np.isfinite(rgb)):
            raise FormatError("a value is not a finite number", path=path, line=lineno)
        if seen[i, j, k]:
            raise FormatError(
                f"lattice point {i} {j} {k} again (first on line {seen[i, j, k]})",
                path=path,
                line=lineno,
            )
        seen[i, j, k] = lineno
        table[i, j, k] = rgb
    missing = int(np.isnan(table[..., 0]).sum())
    if missing:
        first = tuple(int(v) for v in np.argwhere(np.isnan(table[..., 0]))[0])
        raise FormatError(
            f"{missing} of the {n**3} lattice points have no line (the first: "
            f"{first[0]} {first[1]} {first[2]})",
            path=path,
        )
    return LUT3D(table, None, path.stem)


def write_spi3d(lut: LUT1D | LUT3D | ShaperLUT3D, path: str | os.PathLike[str]) -> Path:
    """Write ``lut`` as .spi3d (atomically); floats at float32 round-trip precision. A
    1D LUT, a shaper LUT and a domain other than [0, 1] are baked onto [0, 1]
    (:func:`lutkit.luts.bake.bake_unit`, which warns of what is lost)."""
    path = Path(path)
    lut = bake_unit(lut, path)
    n = lut.size
    idx = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), -1).reshape(-1, 3)
    values = lut.table.astype(np.float32).reshape(-1, 3)
    lines = ["SPILUT 1.0", "3 3", f"{n} {n} {n}"]
    lines += [
        f"{i} {j} {k} {float(r)!r} {float(g)!r} {float(b)!r}"
        for (i, j, k), (r, g, b) in zip(idx.tolist(), values.tolist(), strict=True)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
