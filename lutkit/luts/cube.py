"""Read and write ``.cube`` LUT files (Adobe/Iridas and DaVinci Resolve flavours).

A .cube file is text: a header of keywords, then one row of three numbers per table
entry. Supported keywords::

    TITLE "text"
    LUT_1D_SIZE N            (2 .. 65536)
    LUT_3D_SIZE N            (2 .. 256)
    DOMAIN_MIN r g b         (Adobe/Iridas; default 0 0 0)
    DOMAIN_MAX r g b         (Adobe/Iridas; default 1 1 1)
    LUT_1D_INPUT_RANGE lo hi (Resolve)
    LUT_3D_INPUT_RANGE lo hi (Resolve)

``#`` comments and blank lines may appear anywhere, lines may end in CRLF, fields may
be separated by tabs, and table values outside [0, 1] are kept. In a 3D table **red
changes fastest**, then green, then blue, which is the reverse of lutkit's [r, g, b]
indexing; the transposes below are that quirk.

Resolve's shaper files hold a 1D and a 3D table: both size lines (and their
``LUT_1D_INPUT_RANGE`` / ``LUT_3D_INPUT_RANGE``, one range for all channels) come
before the tables, the 1D rows come first, and the 1D "shaper" is applied before the
3D table. They read into a :class:`~lutkit.luts.model.ShaperLUT3D` and write back the
same way. Resolve and OpenColorIO refuse TITLE and DOMAIN_MIN/DOMAIN_MAX in such a
file, so lutkit writes the title there as the first comment and refuses DOMAIN_*.

Writing lives in :mod:`lutkit.luts.cube_write` (``write_cube`` is re-exported here).

Reading parses the data block with numpy in one call; only when that fails does a line
by line scan run, to say exactly which line is wrong.
"""

from __future__ import annotations

import io
import itertools
import os
import stat
from array import array
from collections.abc import Iterable, Iterator
from os import PathLike
from pathlib import Path

import numpy as np

from lutkit.errors import FormatError
from lutkit.luts.cube_lines import MAX_LINE, cube_lines
from lutkit.luts.cube_write import write_cube
from lutkit.luts.model import LUT1D, LUT3D, MAX_1D_SIZE, MAX_3D_SIZE, ShaperLUT3D

__all__ = ["read_cube", "write_cube"]

_KEYWORDS = (
    "TITLE",
    "LUT_1D_SIZE",
    "LUT_3D_SIZE",
    "DOMAIN_MIN",
    "DOMAIN_MAX",
    "LUT_1D_INPUT_RANGE",
    "LUT_3D_INPUT_RANGE",
)
_KEYWORD_HINT = "a .cube header may hold " + ", ".join(_KEYWORDS) + " and # comments"
_NUMBER_WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity"}
_NUMBER_WORDS |= {"-infinity"}

Source = str | PathLike[str] | Iterable[str]


# --------------------------------------------------------------------------- reading


def read_cube(source: Source) -> LUT1D | LUT3D | ShaperLUT3D:
    """Read a .cube file into a ``LUT1D``, a ``LUT3D`` or (Resolve's shaper files) a
    ``ShaperLUT3D``.

    ``source`` is a path, or an iterable of lines (with or without line endings) so
    that tests and callers need no file. Errors are ``FormatError`` with the path (or
    ``<lines>``) and the 1-based line number. Header comments are kept in
    ``lut.metadata["comments"]`` (the first 1000).

    The file is read as a stream: memory follows the table the size line declares,
    not the file (a gigabyte of comments costs nothing), and a line over 1 MiB is
    refused.
    """
    if isinstance(source, (str, PathLike)):
        fast = _read_whole(str(source))
        if fast is not None:
            return fast
    path, lines = cube_lines(source)
    header = _parse_header(lines, path)
    n_rows = header.rows()
    rows, line_numbers = _collect_rows(header, lines, n_rows, path)
    table = _parse_table("\n".join(rows))
    if table is None or table.shape != (n_rows, 3) or not _representable(table):
        _check_rows(rows, line_numbers, header, path)  # raises with the exact line
        _check_count(header, len(rows), n_rows, line_numbers[-1], None, path)
        raise FormatError("malformed data block", path=path)  # pragma: no cover
    return _make_lut(header, table)


FAST_MAX_BYTES = 64 << 20  # files up to this size may take the fast path


def _read_whole(path: str) -> LUT1D | LUT3D | ShaperLUT3D | None:
    """The fast path for a plain file (a 33^3 .cube in a third of the stream's time):
    read it at once, parse the header as the stream does, and the table in one numpy
    call. None, so that the stream path runs and reports the exact line, for anything
    unusual: a large file or not a regular file (a pipe), CR line ends, NUL bytes, invalid UTF-8, a long line, comments
    or underscores or non-ASCII text in the table, a malformed table."""
    try:
        info = os.stat(path)
        # A regular file only: a pipe reports size 0 and may hold a gigabyte.
        if not stat.S_ISREG(info.st_mode) or info.st_size > FAST_MAX_BYTES:
            return None
        data = Path(path).read_bytes()
    except OSError:
        return None  # the stream path says why
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data or b"\r" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if max(map(len, lines)) > MAX_LINE:
        return None
    header = _parse_header(enumerate(lines, 1), path)  # errors here are the stream's own
    n_rows = header.rows()
    rest = "\n".join(lines[header.first_row[0] - 1 :])
    if "#" in rest or "_" in rest or not rest.isascii():
        return None
    table = _parse_table(rest)
    if table is None or table.shape != (n_rows, 3) or not _representable(table):
        return None
    return _make_lut(header, table)


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _representable(table: np.ndarray) -> bool:
    """Every value finite and within float32's range (a LUT's table is float32)."""
    return bool(np.all(np.abs(table) <= FLOAT32_MAX))  # False for NaN too


def _make_lut(header: _Header, table: np.ndarray) -> LUT1D | LUT3D | ShaperLUT3D:
    kind, size = header.kind, header.size
    title = header.title or ""
    metadata = {"comments": header.comments} if header.comments else {}
    table32 = table.astype(np.float32)
    if kind == "1D":
        return LUT1D(table32, header.domain, title, metadata)
    n1 = header.shaper_size
    # Red changes fastest in the file: row i = r + N*g + N*N*b, so the reshape gives
    # [b, g, r] and the transpose brings it to lutkit's [r, g, b].
    cube = table32[n1:].reshape(size, size, size, 3).transpose(2, 1, 0, 3)
    if kind == "3D":
        return LUT3D(cube, header.domain, title, metadata)
    shaper = LUT1D(table32[:n1], header.domain)
    return ShaperLUT3D(shaper, LUT3D(cube, header.cube_domain), title, metadata)


MAX_COMMENTS = 1000  # header comments kept in metadata


class _Header:
    def __init__(self) -> None:
        self.title: str | None = None
        self.comments: list[str] = []
        self.kind: str = ""  # "1D", "3D" or "1D+3D" (a Resolve shaper file)
        self.size: int = 0  # of the 1D table, or the 3D table's side
        self.shaper_size: int = 0  # of the 1D table in a shaper file
        self.domain: np.ndarray | None = None  # of the 1D table in a shaper file
        self.cube_domain: np.ndarray | None = None  # of the 3D table in a shaper file
        self.data_start: int = 0  # 0-based index of the first data line
        self.seen: dict[str, int] = {}  # keyword -> 1-based line
        self.values: dict[str, list[float]] = {}
        self.first_row: tuple[int, str] = (0, "")  # the first data line

    def rows(self) -> int:
        return self.size if self.kind == "1D" else self.shaper_size + self.size**3

    def size_lines(self) -> str:
        """The size lines, for messages: "LUT_1D_SIZE 9 and LUT_3D_SIZE 5"."""
        if self.kind == "1D+3D":
            return f"LUT_1D_SIZE {self.shaper_size} and LUT_3D_SIZE {self.size}"
        return f"LUT_{self.kind}_SIZE {self.size}"


def _is_data_line(first_token: str) -> bool:
    return first_token[0] in "0123456789+-." or first_token.lower() in _NUMBER_WORDS


def _parse_header(lines: Iterator[tuple[int, str]], path: str) -> _Header:
    """Read the header; stops at (and keeps in ``h.first_row``) the first data line."""
    h = _Header()
    sizes: dict[str, int] = {}  # "1D" / "3D" -> size
    data_start = None
    blank = True
    for lineno, raw_line in lines:
        line = raw_line.strip()
        if not line:
            continue
        blank = False
        if line.startswith("#"):
            if len(h.comments) < MAX_COMMENTS:
                h.comments.append(line[1:].strip())
            continue
        word = line.split(None, 1)[0]
        if _is_data_line(word):
            data_start = lineno - 1
            h.first_row = (lineno, raw_line)
            break
        key = word.upper()
        if key not in _KEYWORDS:
            raise FormatError(
                f"unknown keyword {word!r}", path=path, line=lineno, hint=_KEYWORD_HINT
            )
        if key in h.seen:
            raise FormatError(
                f"{key} appears twice (first on line {h.seen[key]})", path=path, line=lineno
            )
        h.seen[key] = lineno
        rest = line[len(word) :].strip()
        if key == "TITLE":
            h.title = _parse_title(rest, path, lineno)
        elif key in ("LUT_1D_SIZE", "LUT_3D_SIZE"):
            sizes[key[4:6]] = _parse_size(key, rest, path, lineno)
        else:
            rest = rest.split("#", 1)[0]
            count = 3 if key.startswith("DOMAIN") else 2
            h.values[key] = _parse_numbers(key, rest, count, path, lineno)

    if len(sizes) == 2:  # both size lines: a Resolve shaper file
        h.kind, h.size, h.shaper_size = "1D+3D", sizes["3D"], sizes["1D"]
    elif sizes:
        ((h.kind, h.size),) = sizes.items()
    if blank:
        raise FormatError(
            "empty file", path=path, hint="a .cube file needs a size line and a table"
        )
    if not h.kind:
        if data_start is None:
            raise FormatError(
                "no LUT_3D_SIZE or LUT_1D_SIZE line and no table",
                path=path,
                hint="not a .cube file, or an empty one",
            )
        raise FormatError(
            "table data before any LUT_3D_SIZE or LUT_1D_SIZE line",
            path=path,
            line=data_start + 1,
            hint="the size line must come before the table",
        )
    if data_start is None:
        last = max(h.seen[k] for k in ("LUT_1D_SIZE", "LUT_3D_SIZE") if k in h.seen)
        raise FormatError(
            f"no table data after {h.size_lines()}",
            path=path,
            line=last,
            hint=f"expected {h.rows()} rows of three numbers",
        )
    h.data_start = data_start
    if h.kind == "1D+3D":
        h.domain, h.cube_domain = _shaper_domains(h, path)
    else:
        h.domain = _header_domain(h, path)
    return h


def _parse_title(rest: str, path: str, lineno: int) -> str:
    if rest.startswith('"'):
        end = rest.rfind('"')
        if end == 0:
            raise FormatError(
                "TITLE has no closing quote", path=path, line=lineno, hint='write TITLE "text"'
            )
        return rest[1:end]
    return rest


def _parse_size(key: str, rest: str, path: str, lineno: int) -> int:
    tokens = rest.split("#", 1)[0].split()
    if len(tokens) != 1 or not (tokens[0].isascii() and tokens[0].isdigit()):
        raise FormatError(f"{key} needs one whole number, got {rest!r}", path=path, line=lineno)
    # Checked before anything is sized from it: a hostile size allocates nothing.
    size = int(tokens[0]) if len(tokens[0]) < 10 else 10**10
    limit = MAX_3D_SIZE if key == "LUT_3D_SIZE" else MAX_1D_SIZE
    if not 2 <= size <= limit:
        raise FormatError(
            f"{key} {tokens[0]} is out of range", path=path, line=lineno, hint=f"use 2 to {limit}"
        )
    return size


def _parse_numbers(key: str, rest: str, count: int, path: str, lineno: int) -> list[float]:
    tokens = rest.split()
    if len(tokens) != count:
        raise FormatError(
            f"{key} needs {count} numbers, found {len(tokens)}", path=path, line=lineno
        )
    bad = next((t for t in tokens if not _is_float(t)), None)
    if bad is not None:
        raise FormatError(f"{key}: not a number: {bad!r}", path=path, line=lineno)
    values = [float(t) for t in tokens]
    if not all(np.isfinite(values)):
        raise FormatError(f"{key}: NaN or infinity", path=path, line=lineno)
    if not all(abs(v) <= FLOAT32_MAX for v in values):
        raise FormatError(
            f"{key}: a value beyond the 32-bit float range (about 3.4e38)",
            path=path,
            line=lineno,
            hint="a LUT holds 32-bit floats; re-export the LUT from its tool",
        )
    return values


def _is_float(token: str) -> bool:
    # float() also takes "1_000" and non-ASCII digits; a .cube reader should not.
    if "_" in token or not token.isascii():
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def _input_range(h: _Header, key: str, path: str) -> np.ndarray:
    """LUT_nD_INPUT_RANGE as a (2, 3) domain ([0, 1] when absent); min < max checked."""
    if key not in h.seen:
        return np.stack([np.zeros(3), np.ones(3)])
    lo, hi = h.values[key]
    if not lo < hi:
        raise FormatError(
            f"{key}: the minimum {lo:g} is not below the maximum {hi:g}",
            path=path,
            line=h.seen[key],
        )
    return np.stack([np.full(3, lo), np.full(3, hi)])


def _shaper_domains(h: _Header, path: str) -> tuple[np.ndarray, np.ndarray]:
    """The shaper's and the 3D table's domains in a Resolve shaper file."""
    for key in ("DOMAIN_MIN", "DOMAIN_MAX"):
        if key in h.seen:
            raise FormatError(
                f"{key} in a shaper+3D file (a 1D and a 3D table)",
                path=path,
                line=h.seen[key],
                hint="give the ranges as LUT_1D_INPUT_RANGE and LUT_3D_INPUT_RANGE",
            )
    return _input_range(h, "LUT_1D_INPUT_RANGE", path), _input_range(h, "LUT_3D_INPUT_RANGE", path)


def _header_domain(h: _Header, path: str) -> np.ndarray:
    other = "3D" if h.kind == "1D" else "1D"
    wrong = f"LUT_{other}_INPUT_RANGE"
    if wrong in h.seen:
        raise FormatError(
            f"{wrong} in a file with a {h.kind} table only",
            path=path,
            line=h.seen[wrong],
            hint=f"use LUT_{h.kind}_INPUT_RANGE",
        )
    lo = np.zeros(3)
    hi = np.ones(3)
    range_key = f"LUT_{h.kind}_INPUT_RANGE"
    has_domain = "DOMAIN_MIN" in h.seen or "DOMAIN_MAX" in h.seen
    if range_key in h.seen and has_domain:
        later = max(h.seen[k] for k in ("DOMAIN_MIN", "DOMAIN_MAX", range_key) if k in h.seen)
        raise FormatError(
            f"both DOMAIN_MIN/DOMAIN_MAX and {range_key} are given",
            path=path,
            line=later,
            hint="keep one of them",
        )
    if range_key in h.seen:
        lo, hi = _input_range(h, range_key, path)
    if has_domain:
        if "DOMAIN_MIN" in h.seen:
            lo = np.array(h.values["DOMAIN_MIN"])
        if "DOMAIN_MAX" in h.seen:
            hi = np.array(h.values["DOMAIN_MAX"])
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            c = int(bad[0])
            line = max(h.seen.get("DOMAIN_MIN", 0), h.seen.get("DOMAIN_MAX", 0))
            raise FormatError(
                f"DOMAIN_MIN >= DOMAIN_MAX on the {'rgb'[c]} channel ({lo[c]:g} >= {hi[c]:g})",
                path=path,
                line=line,
                hint="DOMAIN_MIN must be below DOMAIN_MAX on every channel",
            )
    return np.stack([lo, hi])


def _parse_table(data_text: str) -> np.ndarray | None:
    """Fast path: parse the whole data block at once; None when anything is off."""
    if "_" in data_text:  # numpy, like float(), would read "1_000" as 1000
        return None
    try:
        table = np.loadtxt(
            io.StringIO(data_text), dtype=np.float64, comments="#", ndmin=2, encoding=None
        )
    except ValueError:
        return None
    return table


def _collect_rows(
    h: _Header, lines: Iterator[tuple[int, str]], n_rows: int, path: str
) -> tuple[list[str], array]:
    """The table's rows (comments stripped) and their line numbers; rows past
    ``n_rows`` are checked and counted, not kept, so memory follows the size line."""
    rows: list[str] = []
    numbers = array("q")
    found, first_extra, last_line = 0, 0, h.first_row[0]
    for lineno, line in itertools.chain([h.first_row], lines):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        found += 1
        if found <= n_rows:
            rows.append(body)
            numbers.append(lineno)
            continue
        if found == n_rows + 1:
            _check_rows(rows, numbers, h, path)  # an earlier bad row is reported first
            first_extra = lineno
        _check_row(body, h, lineno, path)
        last_line = lineno
    if found > n_rows:
        _check_count(h, found, n_rows, last_line, first_extra, path)
    if found < n_rows:
        _check_rows(rows, numbers, h, path)
        _check_count(h, found, n_rows, numbers[-1], None, path)
    return rows, numbers


_ROW_HINT = "each table row is three numbers, R G B, after the keyword lines"


def _check_rows(rows: list[str], numbers: array, h: _Header, path: str) -> None:
    """Slow path: check the kept rows one by one and raise on the first problem."""
    for body, lineno in zip(rows, numbers, strict=True):
        _check_row(body, h, lineno, path)


def _check_row(body: str, h: _Header, lineno: int, path: str) -> None:
    tokens = body.split()
    if not _is_data_line(tokens[0]):
        word = tokens[0]
        if word.upper() in ("LUT_1D_SIZE", "LUT_3D_SIZE"):
            raise FormatError(
                f"{word.upper()} after the {h.kind} table",
                path=path,
                line=lineno,
                hint="in a shaper+3D file both size lines come before the tables",
            )
        if word.upper() in _KEYWORDS:
            raise FormatError(
                f"keyword {word!r} after the table started",
                path=path,
                line=lineno,
                hint="keywords go before the first row of numbers",
            )
        raise FormatError(f"not a number: {word!r}", path=path, line=lineno, hint=_ROW_HINT)
    if len(tokens) != 3:
        raise FormatError(
            f"expected 3 values per row, found {len(tokens)}",
            path=path,
            line=lineno,
            hint=_ROW_HINT,
        )
    for token in tokens:
        if not _is_float(token):
            raise FormatError(f"not a number: {token!r}", path=path, line=lineno, hint=_ROW_HINT)
    values = [float(t) for t in tokens]
    if not all(np.isfinite(values)):
        raise FormatError(
            "NaN or infinity in the table",
            path=path,
            line=lineno,
            hint="every value must be a finite number; re-export the LUT from its tool",
        )
    if not all(abs(v) <= FLOAT32_MAX for v in values):
        raise FormatError(
            "a value beyond the 32-bit float range (about 3.4e38)",
            path=path,
            line=lineno,
            hint="a LUT holds 32-bit floats; re-export the LUT from its tool",
        )


def _check_count(
    h: _Header, found: int, n_rows: int, last_line: int, first_extra: int | None, path: str
) -> None:
    expect = f"{h.size_lines()} {'expect' if h.kind == '1D+3D' else 'expects'} {n_rows}"
    if found > n_rows:
        raise FormatError(
            f"wrong number of data rows: {expect}, found {found}",
            path=path,
            line=first_extra,
            hint="this is the first extra row; the size line or the table is wrong",
        )
    if found < n_rows:
        raise FormatError(
            f"wrong number of data rows: {expect}, found {found}",
            path=path,
            line=last_line,
            hint="this is the last row; the file may be truncated",
        )
