"""The one shard writer and reader.

A shard is written to a temporary name and renamed when complete, so a reader never
sees a partial file; its schema metadata carries the hash of the plan that made it,
so a rerun can tell a complete shard of this build from a stale one.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from lutkit.errors import LutkitError
from lutkit.fsutil import atomic_output

PLAN_KEY = b"lutkit.plan"
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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def remove_stale_temporaries(folder: Path) -> int:
    """Delete temporary files left by an interrupted writer (``.NAME.*.tmp``)."""
    n = 0
    if folder.is_dir():
        for p in folder.iterdir():
            if p.name.startswith(".") and p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)
                n += 1
    return n


def read_rows(path: Path, columns: list[str] | None = None) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).to_pylist()


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
