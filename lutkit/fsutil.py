"""File-system helpers: atomic writes, so no reader ever sees a half-written file."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from os import PathLike
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path: str | PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Readers never see a half-written file; on error the temporary file is removed.
    When the temporary file cannot be made (no such folder, no permission), the
    ``OSError`` names ``path`` (or its missing folder), never the temporary name.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        # Name the output the user asked for, not the temporary name beside it.
        if folder.exists() and not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder)) from None
        if not folder.is_dir():
            raise FileNotFoundError(
                errno.ENOENT, "output folder does not exist", str(folder)
            ) from None
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes 0600 files; give the result the usual permissions.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_text(path: str | PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def file_sha256(path: str | PathLike[str]) -> str:
    """The sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def output_group(
    main: str | PathLike[str], sides: list[str | PathLike[str] | None]
) -> Iterator[None]:
    """Write side files (a LUT, a params file) and then ``main`` as one output.

    Every folder is made first, ``main``'s first, and no two outputs may be the same
    file. Inside the block, write the side files, then ``main`` (atomically): when
    anything fails before the block ends, the side files it created are removed, so a
    failed command leaves no side file without its image.
    """
    paths = check_distinct_outputs(main, *sides)
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
    new = [p for p in paths[1:] if not p.exists()]
    try:
        yield
    except BaseException:
        for p in new:
            with contextlib.suppress(OSError):
                p.unlink()
        raise


def check_distinct_outputs(*paths: str | PathLike[str] | None) -> list[Path]:
    """The given output paths (None skipped), or a one-line error when two of them are
    the same file."""
    from lutkit.errors import LutkitError

    out = [Path(p) for p in paths if p is not None]
    seen: dict[Path, Path] = {}
    for p in out:
        key = p.resolve()
        if key in seen:
            raise LutkitError(
                f"two outputs are the same file ({seen[key]} and {p})",
                path=p,
                hint="give each output its own name",
            )
        seen[key] = p
    return out
