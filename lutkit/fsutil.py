"""File-system helpers: atomic writes, so no reader ever sees a half-written file."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
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
    Write into the temporary in place (do not rename another file onto it).

    The temporary (``.NAME.XXXXXXXX.tmp``) is locked (``flock``) by its writer until the
    rename, so a later write of ``path`` tells the temporaries a killed process left
    (unlocked: the kernel drops a dead process's locks) from a live writer's, and
    removes them. Locks are seen only by processes on the same machine (the same
    kernel): on a network file system whose locks are not shared between machines, two
    machines must not write the same output at once (they would race anyway). When the
    temporary file cannot be made (no such folder, no permission), the ``OSError``
    names ``path`` (or its missing folder), never the temporary name.
    """
    path = Path(path)
    fd, tmp = _locked_temporary(path)
    try:
        _remove_left_temporaries(path)
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
            # mkstemp makes 0600 files; give the result the usual permissions.
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows (Linux:
    ``/proc/self/status``), since ``os.umask(0)`` and back would, for a moment, make
    another thread's new files world-writable."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()

# The temporary's name: "." NAME "." 8 random characters ".tmp" (tempfile.mkstemp's).
_TEMPORARY_EXTRA = len("..XXXXXXXX.tmp")
_RANDOM_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def _locked_temporary(path: Path) -> tuple[int | None, Path]:
    """A new temporary file beside ``path``, and the descriptor that holds its lock
    (None where there are no locks: Windows, where an open file cannot be renamed)."""
    folder = path.parent
    for _ in range(100):
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
            os.close(fd)
            return None, Path(tmp_name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            # Another process's cleanup has it open (locked) this instant: it will
            # remove it; make another.
            os.close(fd)
            continue
        except OSError:  # a file system without locks: no cleanup there
            return fd, Path(tmp_name)
        with contextlib.suppress(OSError):
            if os.path.samestat(os.fstat(fd), os.lstat(tmp_name)):
                return fd, Path(tmp_name)
        # Removed by another writer's cleanup between mkstemp and flock: make another.
        os.close(fd)
    raise OSError(errno.EAGAIN, "could not make a temporary file to write", str(path))


# Per process: each output folder's temporary files when this process first wrote
# there, by the output they belong to, so that a batch of N outputs reads the folder
# once, not N times.
_TEMPORARIES_SEEN: dict[Path, dict[str, list[str]]] = {}
_TEMPORARIES_LOCK = threading.Lock()


def _after_fork_in_child() -> None:
    # A forked worker starts with free locks (its parent's holder thread did not come
    # along) and lists each folder itself.
    global _TEMPORARIES_LOCK, _UMASK_LOCK
    _TEMPORARIES_LOCK = threading.Lock()
    _UMASK_LOCK = threading.Lock()
    _TEMPORARIES_SEEN.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _remove_left_temporaries(path: Path) -> None:
    """Remove the temporaries of ``path`` (``.NAME.XXXXXXXX.tmp``, as
    :func:`atomic_output` names them) that no writer holds locked: a killed process
    (``kill -9``, a power cut) left them. A live writer's (another process of this
    machine writing the same name) is locked and stays. Best effort: anything that is
    not a regular file, or cannot be opened or locked, is left alone."""
    if fcntl is None:
        return
    with _TEMPORARIES_LOCK:
        folder = path.parent.absolute()
        by_output = _TEMPORARIES_SEEN.get(folder)
        if by_output is None:
            by_output = _TEMPORARIES_SEEN[folder] = _list_temporaries(folder)
        names = by_output.pop(path.name, [])
    for name in names:
        _remove_if_unlocked(folder / name)


def _list_temporaries(folder: Path) -> dict[str, list[str]]:
    """``folder``'s temporaries as :func:`atomic_output` names them, by output name."""
    found: dict[str, list[str]] = {}
    with contextlib.suppress(OSError):
        for e in os.scandir(folder):
            n = e.name
            tail = len(".XXXXXXXX.tmp")
            if (
                n.startswith(".")
                and n.endswith(".tmp")
                and len(n) > _TEMPORARY_EXTRA
                and n[-tail] == "."
                and set(n[-tail + 1 : -len(".tmp")]) <= _RANDOM_CHARACTERS
            ):
                found.setdefault(n[1:-tail], []).append(n)
    return found


def _remove_if_unlocked(tmp: Path) -> None:
    try:
        # (non-blocking: a FIFO of that name must not hang the write)
        fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return  # gone already, or not ours to open
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(tmp)  # unlocked: its writer is gone
    except OSError:
        pass  # locked: a live writer's (or no locks on this file system)
    finally:
        os.close(fd)


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

    Every folder is made first, ``main``'s first (and removed again, where still empty,
    when the block fails), and no two outputs may be the same file. Inside the block,
    write the side files, then ``main`` (atomically): when anything fails before the
    block ends (an error, Ctrl-C), the side files it created
    are removed and those it replaced are put back as they were (their bytes are held
    in memory meanwhile: side files are small), so a failed command leaves no side file
    that does not belong to the image beside it.
    """
    paths = check_distinct_outputs(main, *sides)
    made = _make_folders(paths)
    new = [p for p in paths[1:] if not p.exists()]
    kept = {p: (p.read_bytes(), p.stat().st_mode) for p in paths[1:] if p.is_file()}
    try:
        yield
    except BaseException:
        for p in new:
            with contextlib.suppress(OSError):
                p.unlink()
        for p, (data, mode) in kept.items():
            with contextlib.suppress(OSError):
                if not p.is_file() or p.read_bytes() != data:
                    with atomic_output(p) as tmp:
                        tmp.write_bytes(data)
                    os.chmod(p, stat.S_IMODE(mode))
        _remove_empty(made)
        raise


def _make_folders(paths: Sequence[str | PathLike[str] | None]) -> list[Path]:
    """Make the missing folders ``paths`` go into; returns those made, outermost first."""
    made: list[Path] = []
    for p in paths:
        if p is None:
            continue
        missing = []
        folder = Path(p).parent
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for f in reversed(missing):
            f.mkdir(exist_ok=True)
            made.append(f)
    return made


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders :func:`_make_folders` made, innermost first, where still empty."""
    for f in reversed(made):
        with contextlib.suppress(OSError):
            f.rmdir()


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
    from lutkit.errors import LutkitError

    folders: dict[Path, Path] = {}
    for p in paths:
        if p is None:
            continue
        folders.setdefault(Path(p).parent.resolve(), Path(p))
        # the temporary beside it is 14 bytes longer (atomic_output)
        if len(os.fsencode(Path(p).name)) + _TEMPORARY_EXTRA > _NAME_MAX:
            raise LutkitError(
                f"file name too long to write ({len(os.fsencode(Path(p).name))} bytes)",
                path=p,
                hint=f"keep output names under {_NAME_MAX - _TEMPORARY_EXTRA + 1} bytes",
            )
    for folder, out in folders.items():
        _probe(folder, out)


_NAME_MAX = 255  # bytes in a file name: ext4, XFS, Btrfs, APFS, NTFS (in UTF-16 units)


@contextlib.contextmanager
def output_folders(*paths: str | PathLike[str] | None) -> Iterator[None]:
    """Check that every output can be written (:func:`check_writable_outputs`) and make
    the missing folders they go into, for the block that writes them: every command
    does this for its outputs (``-o graded/look.png`` makes ``graded/``); the library's
    writers make none. When the block fails (a name whose format the writer refuses,
    Ctrl-C), the folders it made are removed again, where they are still empty."""
    check_writable_outputs(*paths)
    made = _make_folders(paths)
    try:
        yield
    except BaseException:
        _remove_empty(made)
        raise


def check_writable_folder(folder: str | PathLike[str]) -> None:
    """As :func:`check_writable_outputs`, for an output folder that files are written
    into (a report): the folder itself is probed, or the nearest one that exists."""
    _probe(Path(folder).resolve(), Path(folder))


def _probe(folder: Path, named: Path) -> None:
    from lutkit.errors import LutkitError

    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:  # a folder on the way that cannot be searched
        raise LutkitError(
            f"cannot create files in folder {existing}: {(exc.strerror or '').lower()}",
            path=named,
            hint="choose an output folder you can write to",
        ) from None
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
