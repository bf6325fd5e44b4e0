"""File-system helpers: atomic writes, so no reader ever sees a half-written file."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: temporaries are neither locked nor cleaned up
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def atomic_output(path: str | PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Readers never see a half-written file; on error the temporary file is removed.
    The temporary (``.NAME.XXXXXXXX.tmp``) is locked (``flock``) by its writer until the
    rename, so a later write of ``path`` can tell the temporaries a killed process left
    (unlocked: the kernel drops a dead process's locks) from a live writer's, and removes
    them. When the temporary file cannot be made (no such folder, no permission), the
    ``OSError`` names ``path`` (or its missing folder), never the temporary name.
    """
    path = Path(path)
    fd, tmp = _locked_temporary(path)
    try:
        _remove_left_temporaries(path)
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
    finally:
        os.close(fd)  # releases the lock


def _locked_temporary(path: Path) -> tuple[int, Path]:
    """A new temporary file beside ``path`` and its descriptor, which holds the lock."""
    folder = path.parent
    while True:
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
        if fcntl is None:
            return fd, Path(tmp_name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.fstat(fd).st_nlink > 0:
                return fd, Path(tmp_name)
        except OSError:  # a file system without locks: no cleanup, as before
            return fd, Path(tmp_name)
        # Removed by another writer's cleanup between mkstemp and flock: make another.
        os.close(fd)


# Per process: each output folder's temporary files when this process first wrote
# there, so that a batch of N outputs reads the folder once, not N times.
_TEMPORARIES_SEEN: dict[Path, list[str]] = {}
_TEMPORARIES_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    # A forked worker starts with a free lock (its parent's holder thread did not come
    # along) and lists each folder itself.
    global _TEMPORARIES_LOCK
    _TEMPORARIES_LOCK = threading.Lock()
    _TEMPORARIES_SEEN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _remove_left_temporaries(path: Path) -> None:
    """Remove the temporaries of ``path`` (``.NAME.XXXXXXXX.tmp``, as
    :func:`atomic_output` names them) that no writer holds locked: a killed process
    (``kill -9``, a power cut) left them. A live writer's (another process writing the
    same name, in this container or another) is locked and stays. Best effort: a file
    that cannot be opened or locked is left alone."""
    if fcntl is None:
        return
    with _TEMPORARIES_LOCK:
        _remove_left_temporaries_locked(path)


def _remove_left_temporaries_locked(path: Path) -> None:
    folder = path.parent.absolute()
    names = _TEMPORARIES_SEEN.get(folder)
    if names is None:
        try:
            names = [
                e.name
                for e in os.scandir(folder)
                if e.name.startswith(".") and e.name.endswith(".tmp")
            ]
        except OSError:
            names = []
        _TEMPORARIES_SEEN[folder] = names
    prefix = f".{path.name}."
    for name in names:
        if not (name.startswith(prefix) and len(name) == len(prefix) + 12):
            continue  # another output's, or not a name atomic_output makes
        try:
            # (non-blocking: a FIFO of that name must not hang the write)
            fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue  # gone already, or not ours to open
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(folder / name)  # unlocked: its writer is gone
        except OSError:
            pass  # locked: a live writer's
        finally:
            os.close(fd)
    names[:] = [n for n in names if not n.startswith(prefix)]


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


# errors whose text says why a folder takes no new file (others, such as /proc's ENOENT,
# would only mislead)
_TELLING_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}


def check_writable_outputs(*paths: str | PathLike[str] | None) -> None:
    """A one-line error, before any work, when an output file could not be written: its
    folder (or, for a folder still to be made, the nearest one that exists) is a file,
    or no file can be created there (permissions, a read-only or virtual file system).
    Probed by creating and removing a temporary file, which is what the write will do.
    """
    folders: dict[Path, Path] = {}
    for p in paths:
        if p is not None:
            folders.setdefault(Path(p).parent.resolve(), Path(p))
    for folder, out in folders.items():
        _probe(folder, out)


def check_writable_folder(folder: str | PathLike[str]) -> None:
    """As :func:`check_writable_outputs`, for an output folder that files are written
    into (a report): the folder itself is probed, or the nearest one that exists."""
    _probe(Path(folder).resolve(), Path(folder))


def _probe(folder: Path, named: Path) -> None:
    from lutkit.errors import LutkitError

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise LutkitError(
            f"cannot write here: {existing} is not a folder",
            path=named,
            hint="choose another output path",
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".lutkit-probe.", suffix=".tmp", dir=existing)
    except OSError as exc:
        why = f": {exc.strerror.lower()}" if exc.errno in _TELLING_ERRNOS else ""
        raise LutkitError(
            f"cannot create files in folder {existing}{why}",
            path=named,
            hint="choose an output folder you can write to",
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
