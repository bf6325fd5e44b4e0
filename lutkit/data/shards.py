"""The one shard writer and the one shard reader (Parquet, pairs and latents alike).

A shard is written to a temporary name and renamed when complete, so a reader never
sees a partial file; its schema metadata carries the hash of the plan that made it,
so a rerun can tell a complete shard of this build from a stale one (the resume rule
is written down in :mod:`lutkit.data.index`).

Every read of a listed shard goes through :func:`read_shard` / :func:`open_shard`,
which check it against its index entry (presence, sha256, rows) first. The unchecked
helpers below (:func:`read_shard_file`, :func:`shard_metadata`, :func:`shard_num_rows`) are
for the writers' own resume checks and for ``lutkit dataset verify``, which reports
problems instead of raising.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lutkit.errors import LutkitError
from lutkit.fsutil import atomic_output, file_sha256

__all__ = [
    "PLAN_KEY",
    "file_sha256",
    "fsync_dir",
    "open_parquet",
    "open_shard",
    "read_manifest_parquet",
    "read_shard",
    "read_shard_file",
    "read_shard_rows",
    "remove_stale_temporaries",
    "shard_metadata",
    "shard_name",
    "shard_num_rows",
    "shard_plan_hash",
    "write_shard",
]

PLAN_KEY = b"lutkit.plan"
# The digest of the library LUTs a pairs shard's rows could draw (their files' sha256;
# lutkit.data.build.luts_digest): a resumed build remakes a shard made with others.
LUTS_KEY = b"lutkit.library_luts"
ROW_GROUP_ROWS = 64


def shard_name(split: str, index: int, count: int) -> str:
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def write_shard(rows: list[dict[str, Any]], path: Path, schema, plan_hash: str) -> str:
    """Write ``rows`` (dicts following ``schema``) to ``path`` atomically, zstd
    compressed; returns the file's sha256."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = dict(schema.metadata or {})
    meta[PLAN_KEY] = plan_hash.encode()
    schema = schema.with_metadata(meta)
    table = pa.Table.from_pylist(rows, schema=schema)
    try:
        with atomic_output(path) as tmp:
            pq.write_table(
                table,
                tmp,
                compression="zstd",
                row_group_size=ROW_GROUP_ROWS,
                write_statistics=["id", "split", "variant", "source_sha256"],
            )
    except OSError as exc:
        raise LutkitError(
            f"cannot write shard: {exc.strerror or exc}",
            path=path,
            hint="free some space, then rerun the same command to resume",
        ) from None
    return file_sha256(path)


def shard_plan_hash(path: Path) -> str | None:
    """The plan hash stored in a shard, or None if the file is missing or unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return None
    value = meta.get(PLAN_KEY)
    return value.decode() if value else None


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporary files left by an interrupted writer (``.NAME.*.tmp``)."""
    n = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n


def read_shard_file(path: Path, columns: list[str] | None = None):
    """The pyarrow Table of a shard file, unchecked (see the module docstring)."""
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns)


def shard_metadata(path: Path) -> dict[bytes, bytes]:
    """The schema metadata of a shard file (reads the footer only)."""
    import pyarrow.parquet as pq

    return pq.read_schema(path).metadata or {}


def shard_num_rows(path: Path) -> int:
    """The number of rows of a shard file (reads the footer only)."""
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def read_shard(
    folder: str | os.PathLike[str],
    entry: dict[str, Any],
    columns: list[str] | None = None,
    **check: Any,
):
    """The pyarrow Table of the shard an index ``entry`` lists, checked first with
    :func:`lutkit.data.index.check_shard` (``check`` is passed on: ``sha``, ``hint``)."""
    from lutkit.data.index import check_shard

    return read_shard_file(check_shard(folder, entry, **check), columns)


def read_shard_rows(
    folder: str | os.PathLike[str],
    entry: dict[str, Any],
    columns: list[str] | None = None,
    **check: Any,
) -> list[dict[str, Any]]:
    """The rows (dicts) of the shard an index ``entry`` lists, checked first."""
    return read_shard(folder, entry, columns, **check).to_pylist()


def open_shard(folder: str | os.PathLike[str], entry: dict[str, Any], **check: Any):
    """A ``pyarrow.parquet.ParquetFile`` of a listed shard (checked first), to read it
    row group by row group."""
    from lutkit.data.index import check_shard

    return open_parquet(check_shard(folder, entry, **check))


def open_parquet(path: Path):
    """A ``pyarrow.parquet.ParquetFile`` of a shard file, unchecked."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path)


def read_manifest_parquet(path: Path):
    """A user's Parquet manifest of source photos as a pandas DataFrame (not a shard:
    no index lists it, so there is nothing to check it against)."""
    import pandas as pd

    return pd.read_parquet(path)


def fsync_dir(folder: Path) -> None:
    """Make renames inside ``folder`` durable (power loss)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
