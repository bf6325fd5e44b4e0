"""Autodesk ``.3dl`` 3D LUTs: the Discreet (Flame) and Lustre flavours.

Both are integer tables. An optional first line of more than three integers is the
"shaper" (the input code of every lattice point, e.g. ``0 64 128 ... 1023``); then one
``R G B`` line per lattice point, **blue changing fastest** (red slowest: the opposite
of .cube). Lustre files add ``3DMESH`` / ``Mesh IN OUT`` (input and output bits) before
and ``LUT8`` / ``gamma 1.0`` after the table; Discreet files carry no keywords.

A Lustre file's ``Mesh IN OUT`` line gives the table's bit depth (OUT), and lutkit
reads it from there. A Discreet file does not write it anywhere, so it is read the way
OpenColorIO reads every .3dl (``GetLikelyLutBitDepth``, the Mesh line ignored): from the
largest value, which is taken as 8-bit up to 511, 10-bit up to 2047, 12-bit up to 8191
and 16-bit above. A dark table (every output at most half, at 10 or 12 bits) is
therefore read 4 times too bright by such readers; ``write_3dl`` warns when it writes
one. A shaper
that is not evenly spaced (by more than 2 codes, OpenColorIO's tolerance) would be a 1D
LUT before the 3D table, which lutkit's LUT3D cannot hold: such a file is refused. An
evenly spaced shaper line may have another length than the lattice (OpenColorIO's
``ociobakelut --shapersize``): the table's line count gives the lattice, as in
OpenColorIO, unless the file's Mesh line or a standard shaper side says it was cut short.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from lutkit.errors import FormatError, LUTError, LutkitWarning
from lutkit.fsutil import atomic_write_text
from lutkit.luts.bake import DEFAULT_1D_BAKE, bake_unit, say_if_clipped
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

FLAVOURS = ("lustre", "discreet")
OUTPUT_BITS = (10, 12, 16)
_LOWEST_PLAUSIBLE_MAX = 128  # OpenColorIO: a smaller maximum is not an integer table


def likely_bit_depth(largest: int) -> int:
    """The bit depth of a .3dl table whose largest code is ``largest`` (OpenColorIO's
    rule: a value up to twice the depth's maximum still counts as that depth)."""
    for bits in (8, 10, 12, 14, 16):
        if largest <= 2 ** (bits + 1) - 1:
            return 16 if bits == 14 else bits  # 14-bit tables are not used in practice
    return 16


def read_3dl(path: str | os.PathLike[str]) -> LUT3D:
    """Read a .3dl file (either flavour) into a LUT3D over [0, 1]."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        raise FormatError("not a text file", path=path) from None
    shaper: list[int] | None = None
    shaper_line = 0
    mesh_bits: int | None = None  # a Lustre header's output bits
    mesh_in: int | None = None  # and its lattice's: 2^IN + 1 points per side
    mesh_line = 0
    rows: list[list[int]] = []
    row_lines: list[int] = []  # the line of each row
    first_row = 0
    keyword_line = 0  # a keyword line after the table started (LUT8, gamma: trailers)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].startswith("<"):
            raise FormatError("looks like XML, not a .3dl table", path=path, line=lineno)
        if _is_number(words[0]):
            bad = next((w for w in words if not _is_int(w)), None)
            if bad is not None:  # a table or shaper line with a word that is no integer
                raise FormatError(
                    f"not a whole number: {bad!r}", path=path, line=lineno, hint=_HINT
                )
            values = [int(w) for w in words]
        else:  # keywords: 3DMESH, Mesh, LUT8, gamma, ...
            if first_row:
                keyword_line = keyword_line or lineno
            if words[0].lower() == "mesh" and len(words) == 3 and words[2].isdigit():
                mesh_bits, mesh_line = int(words[2]), lineno
                mesh_in = int(words[1]) if words[1].isdigit() and int(words[1]) <= 8 else None
            continue
        if keyword_line and len(values) == 3:
            raise FormatError(
                "a keyword line inside the table", path=path, line=keyword_line, hint=_HINT
            )
        # The shaper line: its length is the lattice's side, so 2 for a 2^3 lattice
        # (3 for a 3^3 one reads as a row: told apart below)
        if len(values) > 3 or (len(values) == 2 and not rows and shaper is None):
            if shaper is not None:
                raise FormatError(
                    f"a second shaper line (the first is line {shaper_line})",
                    path=path,
                    line=lineno,
                )
            shaper, shaper_line = values, lineno
        elif len(values) == 3:
            first_row = first_row or lineno
            row_lines.append(lineno)
            rows.append(values)
        else:
            raise FormatError(
                f"expected 3 integers (R G B), got {len(values)}",
                path=path,
                line=lineno,
                hint=_HINT,
            )
    if (
        shaper is None
        and len(rows) == 3**3 + 1
        and rows[0][0] == 0
        and rows[0][0] < rows[0][1] < rows[0][2]
    ):  # a 3^3 lattice's shaper line has 3 integers, as a row has
        shaper, shaper_line = rows.pop(0), row_lines.pop(0)
        first_row = row_lines[0]
    if not rows:
        raise FormatError("no R G B table lines", path=path)
    size = round(len(rows) ** (1 / 3))
    cube = size**3 == len(rows) and size >= 2
    # The side the file itself gives: a Lustre Mesh line's 2^IN + 1, else the shaper
    # line's length. OpenColorIO writes shaper lines of another length (ociobakelut
    # --shapersize) and takes the lattice from the table, as lutkit does; but where
    # the file gives a standard side (2^k + 1) over a table whose side is none (17 over
    # 16^3), the table was cut short to a smaller cube.
    n = None
    if mesh_in is not None:
        n = 2**mesh_in + 1
    elif shaper is not None and len(shaper) >= 2:
        n = len(shaper)
    if cube and n is not None and not (_standard(n) and n > size and not _standard(size)):
        n = None  # a lattice of its own: the table's
    if n is not None and len(rows) != n**3 and len(rows) / 2 <= n**3 <= 8 * len(rows):
        short = len(rows) < n**3
        said = (
            f"the Mesh line (line {mesh_line})"
            if mesh_in is not None
            else (f"the shaper line (line {shaper_line})")
        )
        raise FormatError(
            f"{len(rows)} table lines, where {said} gives a "
            f"{n}^3 lattice of {n**3}" + (": the file is cut short" if short else ""),
            path=path,
            # cut short: its last line; too long: the first line too many
            line=row_lines[-1] if short else row_lines[n**3],
        )
    if not cube:
        raise FormatError(
            f"{len(rows)} table lines is not a cube (N^3) of lattice points (the nearest: "
            f"{size}^3 = {size**3})",
            path=path,
            line=first_row,
        )
    table = np.asarray(rows, dtype=np.int64)
    largest = int(table.max())
    if table.min() < 0 or largest < _LOWEST_PLAUSIBLE_MAX:
        raise FormatError(
            f"table values {int(table.min())}..{largest} are not a .3dl integer table",
            path=path,
            line=first_row,
        )
    if shaper is not None:
        _check_shaper(shaper, path, shaper_line)
    if mesh_bits is not None:
        if mesh_bits not in (8, 10, 12, 14, 16) or largest > 2**mesh_bits - 1:
            raise FormatError(
                f"the Mesh line says {mesh_bits}-bit output, but the table holds values up "
                f"to {largest}",
                path=path,
                line=mesh_line,
            )
        bits = mesh_bits
    else:
        bits = likely_bit_depth(largest)
    scale = 2**bits - 1
    # blue fastest: the rows are [r][g][b] in C order, which is lutkit's [r, g, b]
    values = (table.astype(np.float64) / scale).reshape(size, size, size, 3)
    return LUT3D(values, None, path.stem)


_HINT = (
    "a .3dl table is lines of three integers, R G B, after an optional line of shaper "
    "integers; keywords (3DMESH, Mesh, LUT8, gamma) go before or after it"
)


def _is_number(word: str) -> bool:
    """A word that starts a table or shaper line: a number of any kind (an integer,
    a decimal, -5), which the line's other checks then take or refuse."""
    try:
        float(word)
    except ValueError:
        return False
    return True


def _is_int(word: str) -> bool:
    try:
        int(word)
    except ValueError:
        return False
    return True


def _standard(side: int) -> bool:
    """A lattice side of 2^k + 1 points (17, 33, 65): what .3dl writers use."""
    return side >= 3 and (side - 1) & (side - 2) == 0


def _check_shaper(shaper: list[int], path: Path, line: int) -> None:
    largest = max(shaper)
    if largest < _LOWEST_PLAUSIBLE_MAX:
        raise FormatError(f"shaper values up to {largest} are too small", path=path, line=line)
    top = 2 ** likely_bit_depth(largest) - 1
    step = top / (len(shaper) - 1)
    if any(abs(i * step - v) >= 2 for i, v in enumerate(shaper)):
        raise FormatError(
            "the shaper line is not evenly spaced (a 1D LUT before the 3D table), which "
            "lutkit cannot hold",
            path=path,
            line=line,
            hint="convert the file with OpenColorIO's ociobakelut to .cube",
        )


def write_3dl(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    path: str | os.PathLike[str],
    *,
    flavour: str = "lustre",
    bit_depth: int = 12,
    input_bits: int = 10,
) -> Path:
    """Write ``lut`` as a .3dl integer table (atomically).

    ``flavour``: "lustre" (``3DMESH`` / ``Mesh`` header, ``LUT8`` trailer; the lattice
    must be 2^k + 1 per side: 17, 33, 65) or "discreet" (Flame: the shaper line and
    the table only). ``bit_depth``: the table's integers, 10, 12 or 16 bits.
    ``input_bits``: the shaper line's codes (10 or 12). Values are clipped to [0, 1]
    (a warning says so).
    A 1D LUT (onto 33^3), a shaper LUT and a domain other than [0, 1] are baked onto
    [0, 1] (:func:`lutkit.luts.bake.bake_unit`, which warns of what is lost).
    """
    path = Path(path)
    if flavour not in FLAVOURS:
        raise LUTError(f"unknown .3dl flavour {flavour!r}: use lustre or discreet")
    if bit_depth not in OUTPUT_BITS:
        raise LUTError(f"a .3dl table is 10, 12 or 16 bits, got {bit_depth}")
    if input_bits not in (10, 12):
        raise LUTError(f"the .3dl shaper is 10 or 12 bits, got {input_bits}")
    n = DEFAULT_1D_BAKE if isinstance(lut, LUT1D) else lut.size
    mesh_bits = math.log2(n - 1) if n > 1 else 0
    if flavour == "lustre" and mesh_bits != int(mesh_bits):
        raise LUTError(
            f"a Lustre .3dl lattice is 2^k + 1 per side (17, 33, 65), not {n}",
            path=path,
            hint="resample with --size 17, 33 or 65, or write the discreet flavour",
        )
    lut = bake_unit(lut, path, n)
    say_if_clipped(
        lut.table,
        path,
        ".3dl",
        "a .3dl integer table holds only that range: a .cube or .spi3d keeps it",
    )
    top, in_top = 2**bit_depth - 1, 2**input_bits - 1
    codes = np.rint(np.clip(lut.table.astype(np.float64), 0.0, 1.0) * top).astype(np.int64)
    guessed = likely_bit_depth(int(codes.max()))
    if guessed != bit_depth:
        if flavour == "discreet":
            who, advice = (
                "lutkit, OpenColorIO and any reader that guesses the depth",
                (
                    "write the lustre flavour (its Mesh line, which lutkit reads, says the "
                    "depth) or a .cube"
                ),
            )
        else:
            who, advice = "OpenColorIO, which ignores the Mesh line,", "write a .cube"
        warnings.warn(
            f"{path}: every output is at most {codes.max() / top:.3g}, so {who} will take "
            f"this {bit_depth}-bit table for {guessed}-bit and read it "
            f"{2 ** (bit_depth - guessed):g} times too bright: {advice} for so dark a LUT",
            LutkitWarning,
            stacklevel=2,
        )
    lines = [f"# {lut.title}"] if lut.title else []
    if flavour == "lustre":
        lines += ["3DMESH", f"Mesh {int(mesh_bits)} {bit_depth}"]
    lines.append(" ".join(str(round(i * in_top / (n - 1))) for i in range(n)))
    lines += [f"{r} {g} {b}" for r, g, b in codes.reshape(-1, 3)]  # blue fastest
    if flavour == "lustre":
        lines += ["", "LUT8", "gamma 1.0"]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
