"""The dataset index: ``dataset.json`` (read and write), the check of a listed shard,
and the build lock.

``dataset.json`` lists every pairs shard with its split, row count and sha256; the
latents index (``latents/{fingerprint}/_latents.json``) lists latents shards the same
way. Nothing reads a listed shard before :func:`check_shard` has checked it against
its index entry (the readers in :mod:`lutkit.data.shards` do this).

The resume rule (pairs and latents alike): a shard is written to a temporary name and
renamed when complete, and its schema metadata records the hash of its inputs
(``lutkit.plan``). For a pairs shard that is the plan hash (the settings that change
rows, the shard's name, and its sources' names and sha256; with ``--mosaic``, a train
shard's also the mosaic count and every train photo's sha256); for a latents shard it is
the sha256 of the pairs shard it encodes. A rerun skips every shard whose recorded
hash matches what it would write now and rewrites the others, so an interrupted or
changed build resumes without ever leaving a half-written shard.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lutkit.data.schema import SCHEMA_VERSION
from lutkit.errors import ConfigError, LutkitError

DATASET_JSON = "dataset.json"


def load_dataset_json(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a dataset's dataset.json."""
    path = Path(folder) / DATASET_JSON
    if not Path(folder).is_dir():
        raise ConfigError(
            "no such dataset folder", path=folder, hint="build one with `lutkit dataset build`"
        )
    if not path.is_file() and (Path(folder) / "pairs").is_dir():
        raise ConfigError(
            "an unfinished build (no dataset.json yet: it is written last)",
            path=folder,
            hint="rerun the `lutkit dataset build` that made it: it resumes where it stopped",
        )
    if not path.is_file():
        raise ConfigError(
            "not a lutkit dataset (no dataset.json)",
            path=folder,
            hint="build one with `lutkit dataset build`",
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LutkitError(f"dataset.json is unreadable: {exc}", path=path) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_VERSION:
        raise ConfigError(
            f"dataset schema {doc.get('schema') if isinstance(doc, dict) else None!r} is not "
            f"supported (this lutkit reads schema {SCHEMA_VERSION})",
            path=path,
        )
    shards = doc.get("shards")
    if not isinstance(shards, list) or not isinstance(doc.get("counts"), dict):
        raise ConfigError("dataset.json has no shard list or counts", path=path)
    for i, s in enumerate(shards):
        if not (
            isinstance(s, dict)
            and isinstance(s.get("file"), str)
            and isinstance(s.get("sha256"), str)
            and isinstance(s.get("rows"), int)
            and s.get("split") in ("train", "val", "test")
        ):
            raise ConfigError(f"shard entry {i} needs file, split, rows and sha256", path=path)
        f = Path(s["file"])
        if f.is_absolute() or ".." in f.parts:
            raise ConfigError(f"shard path {str(f)!r} escapes the dataset folder", path=path)
    return doc


def write_dataset_json(out: Path, doc: dict[str, Any]) -> None:
    """Write ``out/dataset.json`` atomically (the last step of a build)."""
    from lutkit.fsutil import atomic_write_text

    atomic_write_text(out / DATASET_JSON, json.dumps(doc, indent=2) + "\n")


def check_shard(
    folder: str | os.PathLike[str],
    entry: dict[str, Any],
    *,
    sha: str | None = None,
    hint: str = "rerun the command that wrote it (it resumes), or run `lutkit dataset verify`",
) -> Path:
    """The path of a shard listed in a dataset.json (or latents index) ``entry``,
    checked before anyone reads it: present, the sha256 (``sha`` if already computed)
    and the row count the index records. Raises ``LutkitError`` naming the shard."""
    from lutkit.data.shards import file_sha256, shard_num_rows

    path = Path(folder) / entry["file"]
    if not path.is_file():
        raise LutkitError("shard listed in the dataset's index is missing", path=path, hint=hint)
    if (sha or file_sha256(path)) != entry["sha256"]:
        raise LutkitError(
            "shard differs from the dataset's index (sha256): damaged or replaced",
            path=path,
            hint=hint,
        )
    try:
        rows = shard_num_rows(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise LutkitError(f"unreadable shard: {exc}", path=path, hint=hint) from None
    if rows != entry["rows"]:
        raise LutkitError(
            f"shard has {rows} rows, the dataset's index says {entry['rows']}",
            path=path,
            hint=hint,
        )
    return path


@contextlib.contextmanager
def build_lock(out: Path) -> Iterator[None]:
    """An exclusive lock on the dataset folder: a second build at once is refused.

    The lock is the file ``.lock``, removed (while still held) when the build ends, so
    no empty file stays behind. A folder this build created is removed again if the
    build fails before writing anything into it (a bad source, a full disk), so a
    failure leaves no empty dataset.
    """
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = out / ".lock"
    handle = open(lock, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # A build that just ended may have removed the file we opened: then the
            # lock we hold is on a file nobody else sees.
            if os.fstat(handle.fileno()).st_ino != os.stat(lock).st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            raise ConfigError(
                "another build is running in this folder",
                path=out,
                hint="wait for it to finish, or build into another folder",
            ) from None
        try:
            yield
        except BaseException:
            if created:
                _remove_if_empty(out)
            raise
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()
    finally:
        handle.close()


def _remove_if_empty(out: Path) -> None:
    with contextlib.suppress(OSError):
        (out / "pairs").rmdir()  # only if empty
    if [p.name for p in out.iterdir()] in ([], [".lock"]):
        with contextlib.suppress(OSError):
            (out / ".lock").unlink()
            out.rmdir()
