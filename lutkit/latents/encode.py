"""Precompute VAE latents of a paired dataset into Parquet shards, one per pairs shard.

``datasets/NAME/latents/{fingerprint}/{split}-{i:05d}-of-{n:05d}.parquet`` holds, for
every row of the pairs shard of the same name: id, vae (fingerprint), clean_mean,
clean_logvar, distorted_mean, distorted_logvar as float16 fixed-size lists; the shape
and the VAE's config are in the schema metadata (the schema is
:func:`lutkit.data.schema.latents_schema`). A rerun skips complete shards and redoes
stale ones by the dataset's one resume rule (:mod:`lutkit.data.index`): a latents
shard records the sha256 of the pairs shard it encodes.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.data.schema import latents_schema
from lutkit.errors import ConfigError, LutkitError
from lutkit.progress import Counter, Progress

LATENTS_JSON = "_latents.json"  # "_": parquet readers skip it in the shard folder
SOURCE_KEY = b"lutkit.pairs_sha256"


@dataclass
class EncodeResult:
    folder: Path
    fingerprint: str
    shards_written: int
    shards_skipped: int
    images: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


def _decoded_batches(table, size: int, batch: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ids, images (2B, size, size, 3) float32: clean then distorted) per batch."""
    from lutkit.data.png import decode_png
    from lutkit.latents.vae import center_crop_resize

    ids = table.column("id").to_pylist()
    clean = table.column("clean")
    dist = table.column("distorted")
    for start in range(0, len(ids), batch):
        stop = min(start + batch, len(ids))
        imgs = [center_crop_resize(decode_png(clean[i].as_py()), size) for i in range(start, stop)]
        imgs += [center_crop_resize(decode_png(dist[i].as_py()), size) for i in range(start, stop)]
        yield ids[start:stop], np.stack(imgs)


def encode_dataset(
    folder: str | os.PathLike[str],
    *,
    vae: str = "default",
    batch_size: int = 16,
    device: str = "auto",
    dtype: str = "float32",
    size: int = 224,
    progress: Progress | None = None,
) -> EncodeResult:
    """Encode every pairs shard of the dataset in ``folder`` (resumable per shard);
    ``progress`` counts the images encoded ("encoding")."""
    import torch

    from lutkit.data.index import check_shard, load_dataset_json
    from lutkit.data.shards import read_shard, remove_stale_temporaries, write_shard
    from lutkit.fsutil import atomic_write_text
    from lutkit.latents.vae import describe_vae, load_vae, vae_fingerprint

    folder = Path(folder)
    doc = load_dataset_json(folder)
    if not doc.get("shards"):
        raise ConfigError("the dataset has no pairs shards", path=folder)
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    for s in doc["shards"]:  # damaged pairs are an error now, before any folder is made
        check_shard(folder, s)
    from lutkit.device import pick_device

    dev = pick_device(device)
    if dev == "cpu":
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    model = load_vae(vae, device=dev, dtype=dtype)
    model = model.to(memory_format=torch.channels_last)
    fp = vae_fingerprint(model)
    info = describe_vae(model)
    out = folder / "latents" / fp
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # left by a killed run
    param = next(model.parameters())
    probe = torch.zeros(1, 3, size, size, device=dev, dtype=param.dtype)
    with torch.inference_mode():
        shape = tuple(model.encode(probe).latent_dist.mean.shape[1:])
    schema = latents_schema(shape, fp, dict(model.config), size)
    tick = Counter(progress, None, "encoding").add
    written = skipped = images = 0
    t0 = time.perf_counter()
    shards = []
    recorded = _recorded(out)
    for s in doc["shards"]:
        src = folder / s["file"]
        dst = out / Path(s["file"]).name
        pairs_sha = s["sha256"]
        if _complete(dst, pairs_sha, recorded.get(dst.name)):
            skipped += 1
            shards.append(_entry(dst, s))
            continue
        try:
            table = read_shard(folder, s, ["id", "clean", "distorted"])
        except LutkitError:
            raise
        except Exception as exc:  # corrupted parquet: pyarrow raises several types
            raise LutkitError(
                f"cannot read pairs shard: {exc}", path=src, hint="run `lutkit dataset verify`"
            ) from None
        rows = _encode_table(model, table, size, batch_size, dev, fp, tick)
        meta = dict(schema.metadata)
        meta[SOURCE_KEY] = pairs_sha.encode()
        write_shard(rows, dst, schema.with_metadata(meta), pairs_sha)
        images += 2 * len(rows)
        written += 1
        shards.append(_entry(dst, s))
    seconds = time.perf_counter() - t0
    atomic_write_text(
        out / LATENTS_JSON,
        json.dumps(
            {
                "schema": 1,
                "vae": fp,
                "vae_source": info.get("source", vae),
                "vae_info": info,
                "latent_shape": list(shape),
                "image_size": size,
                "shards": shards,
            },
            indent=2,
            default=str,
        )
        + "\n",
    )
    return EncodeResult(out, fp, written, skipped, images, seconds)


def _entry(dst: Path, pairs_entry: dict[str, Any]) -> dict[str, Any]:
    from lutkit.data.shards import file_sha256, shard_num_rows

    return {
        "file": dst.name,
        "split": pairs_entry["split"],
        "rows": shard_num_rows(dst),
        "sha256": file_sha256(dst),
    }


def _recorded(out: Path) -> dict[str, str]:
    """shard name -> sha256 from the latents index of an earlier run, if any."""
    try:
        doc = json.loads((out / LATENTS_JSON).read_text(encoding="utf-8"))
        return {s["file"]: s["sha256"] for s in doc["shards"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _complete(dst: Path, pairs_sha: str, recorded_sha: str | None) -> bool:
    """A latents shard of these pairs that is intact: its bytes are those the index
    recorded or, written by an interrupted run before any index, it reads whole."""
    from lutkit.data.shards import file_sha256, read_shard_file, shard_metadata

    try:
        meta = shard_metadata(dst)
        if meta.get(SOURCE_KEY) != pairs_sha.encode():
            return False
        if recorded_sha is not None:
            return file_sha256(dst) == recorded_sha
        read_shard_file(dst)
    except Exception:  # missing, or damaged: pyarrow raises several types
        return False
    return True


def _encode_table(model, table, size, batch_size, dev, fp, tick) -> list[dict[str, Any]]:
    import torch

    from lutkit.latents.vae import encode_posterior

    rows: list[dict[str, Any]] = []
    param = next(model.parameters())
    batches = _decoded_batches(table, size, batch_size)
    # Decode PNGs for the next batch on a thread while the model encodes this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, batches, None)
        while True:
            item = pending.result()
            if item is None:
                break
            pending = pool.submit(next, batches, None)
            ids, imgs = item
            x = torch.from_numpy(imgs).permute(0, 3, 1, 2).to(dev, param.dtype)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                mean, logvar = encode_posterior(model, x)
            mean = mean.float().cpu().numpy().astype(np.float16)
            logvar = logvar.float().cpu().numpy().astype(np.float16)
            b = len(ids)
            for k, rid in enumerate(ids):
                rows.append(
                    {
                        "id": rid,
                        "vae": fp,
                        "clean_mean": mean[k].reshape(-1),
                        "clean_logvar": logvar[k].reshape(-1),
                        "distorted_mean": mean[b + k].reshape(-1),
                        "distorted_logvar": logvar[b + k].reshape(-1),
                    }
                )
            tick(2 * b)
    return rows
