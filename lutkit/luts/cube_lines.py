"""The text layer of a .cube file: its lines, read safely.

CRLF, LF and lone CR end a line; a UTF-8 BOM is skipped; a line longer than
``MAX_LINE`` bytes, a NUL byte or invalid UTF-8 is a ``FormatError`` naming the line
and the byte offset (a binary file renamed .cube is refused at once, not parsed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from os import PathLike
from typing import BinaryIO

from lutkit.errors import FormatError

Source = str | PathLike[str] | Iterable[str]

CHUNK = 1 << 20
MAX_LINE = 1 << 20  # bytes; no .cube line is anywhere near this long


def cube_lines(source: Source) -> tuple[str, Iterator[tuple[int, str]]]:
    """Return (path for messages, an iterator of (1-based line number, text))."""
    if isinstance(source, (str, PathLike)):
        path = str(source)
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the generator)
        except OSError as exc:
            raise FormatError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
        return path, file_lines(handle, path)
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("read_cube takes a path or a list of lines, not bytes")
    return "<lines>", iter_lines(source)


def iter_lines(source: Iterable[str]) -> Iterator[tuple[int, str]]:
    lineno = 0
    for item in source:
        if not isinstance(item, str):
            raise TypeError("read_cube takes a path or an iterable of str lines")
        # CRLF and lone CR (old Mac files) both end a line.
        for part in item.rstrip("\r\n").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            lineno += 1
            if "\x00" in part:
                raw = part.encode("utf-8")
                raise binary_error(raw.find(b"\x00"), 0, raw, "<lines>", lineno)
            yield lineno, part


def file_lines(handle: BinaryIO, path: str) -> Iterator[tuple[int, str]]:
    """Lines of a file read in chunks: CRLF, LF and lone CR end a line; a UTF-8 BOM is
    skipped; a NUL byte or invalid UTF-8 is a ``FormatError`` naming its offset."""
    with handle:
        lineno = 0
        offset = 0  # of ``pending`` in the file
        pending = b""
        first = True
        while True:
            chunk = handle.read(CHUNK)
            if first:
                first = False
                if chunk.startswith(b"\xef\xbb\xbf"):
                    chunk, offset = chunk[3:], 3
            data = pending + chunk
            if not chunk:
                parts, pending = [data] if data else [], b""
            else:
                parts = data.split(b"\n")
                pending = parts.pop()
                if len(pending) > MAX_LINE:
                    raise FormatError(
                        f"line {lineno + len(parts) + 1} is over {MAX_LINE} bytes long",
                        path=path,
                        hint="not a .cube file, or a damaged one",
                    )
            for raw in parts:
                body = raw[:-1] if raw.endswith(b"\r") else raw
                start = offset
                offset += len(raw) + 1
                for sub in body.split(b"\r"):
                    lineno += 1
                    try:
                        bad = sub.index(b"\x00")
                    except ValueError:
                        bad = -1
                    try:
                        text = sub.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        if bad < 0 and _is_text_line(sub):
                            # A title or comment saved as Windows-1252 ("Café"), as
                            # OpenColorIO and ffmpeg accept: the table is ASCII anyway.
                            text = sub.decode("cp1252", errors="replace")
                        else:
                            bad = exc.start if bad < 0 else min(bad, exc.start)
                    if bad >= 0:
                        raise binary_error(bad, start, sub, path, lineno)
                    yield lineno, text
                    start += len(sub) + 1
            if not chunk:
                return


def _is_text_line(raw: bytes) -> bool:
    """A TITLE line or a comment: free text, where a byte that is not UTF-8 is taken
    for Windows-1252 rather than refused."""
    head = raw.lstrip(b" \t")
    return head.startswith(b"#") or head[:6].upper() in (b"TITLE ", b"TITLE\t", b'TITLE"')


def binary_error(index: int, start: int, raw: bytes, path: str, line: int) -> FormatError:
    return FormatError(
        f"binary data (byte 0x{raw[index]:02x} at offset {start + index}), not a text .cube file",
        path=path,
        line=line,
        hint="a .cube file is UTF-8 or ASCII text; re-export it or re-save it as UTF-8",
    )
