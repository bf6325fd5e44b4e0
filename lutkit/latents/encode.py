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
CPU_CHUNK = 4  # images per VAE call on a CPU (see encode_batch)


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


def decoded_batch(clean, distorted, size: int) -> np.ndarray:
    """(2B, size, size, 3) float32 images of B pairs' PNG bytes: clean then distorted."""
    from lutkit.data.png import decode_png
    from lutkit.latents.vae import center_crop_resize

    imgs = [center_crop_resize(decode_png(b), size) for b in clean]
    imgs += [center_crop_resize(decode_png(b), size) for b in distorted]
    return np.stack(imgs)


def batch_bounds(rows: int, batch_size: int) -> list[tuple[int, int]]:
    """The (start, stop) rows of each encoding batch of a shard. Both engines batch a
    shard exactly so: a VAE's output depends (in the last bits) on the batch it was in."""
    return [(a, min(a + batch_size, rows)) for a in range(0, rows, batch_size)]


def _decoded_batches(table, size: int, batch: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(ids, images (2B, size, size, 3) float32: clean then distorted) per batch."""
    ids = table.column("id").to_pylist()
    for start, stop in batch_bounds(len(ids), batch):
        part = table.slice(start, stop - start)
        imgs = decoded_batch(
            part.column("clean").to_pylist(), part.column("distorted").to_pylist(), size
        )
        yield ids[start:stop], imgs


def prepare_vae(vae: str, device: str, dtype: str):
    """The VAE for encoding: loaded on ``device`` in ``dtype``, channels-last (faster
    convolutions on CPU and GPU alike). On a CPU, torch gets one thread: each chunk of a
    batch is encoded by one thread, several chunks at once (:func:`encode_batch`), and
    freed tensors' memory stays in the process (:func:`lutkit.device.keep_freed_memory`)."""
    import torch

    from lutkit.device import keep_freed_memory
    from lutkit.latents.vae import load_vae

    if device == "cpu":
        torch.set_num_threads(1)
        keep_freed_memory()
    model = load_vae(vae, device=device, dtype=dtype)
    return model.to(memory_format=torch.channels_last)


def cpu_threads() -> int:
    """Threads for encoding on a CPU (chunks encoded at once, one torch thread each):
    ``LUTKIT_THREADS`` if set, else the cores this process may use that other processes
    leave idle now (at least one).

    One torch thread per chunk, not torch's threads inside each convolution: oneDNN
    splits a convolution's sums by the thread count on some CPUs (seen on an AVX-512
    AMD EPYC), so the latents' last bits followed the count; a chunk on one thread is
    the same bytes at any count. Measured on 2 idle cores (the default VAE at 224, 32
    images in chunks of 4): 2 chunks at once 0.54 s, torch's 2 threads in each
    convolution 0.69 s, one thread 0.91 s. The count follows what is free when
    encoding starts: a worker that shares its core with another process slows only its
    own chunks."""
    from lutkit.device import idle_cores
    from lutkit.luts.apply import threads

    cores = threads()
    env = os.environ.get("LUTKIT_THREADS", "")
    if env.isdigit() and int(env) > 0:  # as threads() reads it
        return cores
    idle = idle_cores()
    return cores if idle is None else max(1, min(cores, round(idle)))


@dataclass
class _Plan:
    """What to encode: the pairs shards left to do and how to write their latents."""

    folder: Path
    out: Path
    fingerprint: str
    schema: Any
    todo: list[dict[str, Any]]  # pairs index entries


def encode_dataset(
    folder: str | os.PathLike[str],
    *,
    vae: str = "default",
    batch_size: int = 16,
    device: str = "auto",
    dtype: str = "float32",
    size: int = 224,
    progress: Progress | None = None,
    engine: str = "local",
    workers: int = 0,
    ray_address: str | None = None,
) -> EncodeResult:
    """Encode every pairs shard of the dataset in ``folder`` (resumable per shard);
    ``progress`` counts the images encoded ("encoding").

    ``engine="ray"`` encodes the same batches on Ray Data actors, one VAE per actor
    (one GPU each where the cluster has GPUs, else one CPU each; ``workers`` actors,
    0: one per GPU or CPU), on a local Ray or the cluster at ``ray_address``, and
    writes the same bytes (:mod:`lutkit.latents.ray_encode`).
    """
    import torch

    from lutkit.data.index import check_shard, load_dataset_json
    from lutkit.data.shards import remove_stale_temporaries
    from lutkit.fsutil import atomic_write_text
    from lutkit.latents.vae import describe_vae, vae_fingerprint

    if engine not in ("local", "ray"):
        raise ConfigError(f"unknown engine {engine!r}: use local or ray")
    if engine == "ray":
        from lutkit.data.ray_engine import require_ray

        require_ray()  # a missing extra is a clear error before any work
    folder = Path(folder)
    doc = load_dataset_json(folder)
    if not doc.get("shards"):
        raise ConfigError("the dataset has no pairs shards", path=folder)
    if batch_size < 1:
        raise ConfigError(f"--batch-size must be at least 1, got {batch_size}")
    for s in doc["shards"]:  # damaged pairs are an error now, before any folder is made
        check_shard(folder, s)
    from lutkit.device import pick_device

    # On Ray the driver only needs the VAE's fingerprint and shapes: a CPU does.
    dev = "cpu" if engine == "ray" else pick_device(device)
    model = prepare_vae(vae, dev, dtype)
    fp = vae_fingerprint(model)
    info = describe_vae(model)
    out = folder / "latents" / fp
    _check_same_size(out, size)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)  # left by a killed run
    listed = {Path(s["file"]).name for s in doc["shards"]}
    for stale in sorted(out.glob("*.parquet")):
        if stale.name not in listed:
            stale.unlink()  # encodes a pairs shard of an earlier plan (photos added since)
    param = next(model.parameters())
    probe = torch.zeros(1, 3, size, size, device=dev, dtype=param.dtype)
    with torch.inference_mode():
        shape = tuple(model.encode(probe).latent_dist.mean.shape[1:])
    schema = latents_schema(shape, fp, dict(model.config), size)
    t0 = time.perf_counter()
    recorded = _recorded(out)
    todo = [
        s
        for s in doc["shards"]
        if not _complete(
            out / Path(s["file"]).name, s["sha256"], recorded.get(Path(s["file"]).name)
        )
    ]
    counter = Counter(progress, 2 * sum(s["rows"] for s in todo), "encoding")
    tick = counter.add
    plan = _Plan(folder, out, fp, schema, todo)
    images = 0
    if engine == "ray" and todo:
        del model  # the actors load their own
        from lutkit.latents.ray_encode import encode_on_ray

        images = encode_on_ray(
            plan,
            vae=vae,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            size=size,
            tick=tick,
            workers=workers,
            address=ray_address,
        )
    else:
        threads = cpu_threads() if dev == "cpu" else 1  # Ray actors get theirs from Ray
        for s in todo:
            table = read_pairs(folder, s)
            rows = _encode_table(model, table, size, batch_size, dev, fp, tick, threads)
            write_latents_shard(plan, s, rows)
            images += 2 * len(rows)
    seconds = time.perf_counter() - t0
    shards = [_entry(out / Path(s["file"]).name, s) for s in doc["shards"]]
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
    written = len(todo)
    return EncodeResult(out, fp, written, len(doc["shards"]) - written, images, seconds)


def read_pairs(folder: Path, entry: dict[str, Any]):
    """The id, clean and distorted columns of a listed pairs shard (checked)."""
    from lutkit.data.shards import read_shard

    try:
        return read_shard(folder, entry, ["id", "clean", "distorted"])
    except LutkitError:
        raise
    except Exception as exc:  # corrupted parquet: pyarrow raises several types
        raise LutkitError(
            f"cannot read pairs shard: {exc}",
            path=folder / entry["file"],
            hint="run `lutkit dataset verify`",
        ) from None


def write_latents_shard(plan: _Plan, entry: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Write the latents ``rows`` of the pairs shard ``entry`` (atomically), recording
    the pairs shard's sha256 in the schema metadata (the resume rule)."""
    from lutkit.data.shards import write_shard

    pairs_sha = entry["sha256"]
    meta = dict(plan.schema.metadata)
    meta[SOURCE_KEY] = pairs_sha.encode()
    dst = plan.out / Path(entry["file"]).name
    write_shard(rows, dst, plan.schema.with_metadata(meta), pairs_sha)


def _entry(dst: Path, pairs_entry: dict[str, Any]) -> dict[str, Any]:
    from lutkit.data.shards import file_sha256, shard_num_rows

    return {
        "file": dst.name,
        "split": pairs_entry["split"],
        "rows": shard_num_rows(dst),
        "sha256": file_sha256(dst),
    }


def _check_same_size(out: Path, size: int) -> None:
    """Refuse to add latents of another image size to a folder that holds some: the
    index would give the new size to the shards already there."""
    from lutkit.data.shards import shard_metadata

    sizes = set()
    try:
        sizes.add(int(json.loads((out / LATENTS_JSON).read_text(encoding="utf-8"))["image_size"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for shard in sorted(out.glob("*.parquet")) if out.is_dir() else []:
        try:  # a shard an interrupted run wrote before any index
            sizes.add(int(shard_metadata(shard)[b"lutkit.image_size"]))
        except Exception:  # damaged or foreign: _complete decides about it
            continue
    other = sorted(sizes - {size})
    if other:
        raise ConfigError(
            f"the latents there were encoded at --size {other[0]}, not {size}",
            path=out,
            hint=f"give --size {other[0]} to resume them, or move the folder away to encode "
            f"at {size}",
        )


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


def encode_batch(
    model, ids: list[str], imgs: np.ndarray, dev: str, fp: str, workers: int = 1
) -> list[dict[str, Any]]:
    """The latents rows of one batch: ``imgs`` from :func:`decoded_batch` (clean then
    distorted), means and log-variances as float16, flattened. On a CPU, ``workers``
    chunks are encoded at once, each on one torch thread (:func:`prepare_vae`), so the
    bytes do not depend on ``workers``."""
    import torch

    from lutkit.latents.vae import encode_posterior

    param = next(model.parameters())
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).to(dev, param.dtype)
    x = x.contiguous(memory_format=torch.channels_last)
    # On a CPU the activations of a large batch at 224 spill the caches: a few images
    # at a time is faster (32 images in one call: 0.75x of 4 at a time).
    step = CPU_CHUNK if dev == "cpu" else len(x)

    def chunk(a: int):
        with torch.inference_mode():  # thread-local: entered in the thread that encodes
            return encode_posterior(model, x[a : a + step])

    starts = range(0, len(x), step)
    if dev == "cpu" and workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
            parts = list(pool.map(chunk, starts))
    else:
        parts = [chunk(a) for a in starts]
    mean = torch.cat([m for m, _ in parts]).float().cpu().numpy().astype(np.float16)
    logvar = torch.cat([v for _, v in parts]).float().cpu().numpy().astype(np.float16)
    b = len(ids)
    return [
        {
            "id": rid,
            "vae": fp,
            "clean_mean": mean[k].reshape(-1),
            "clean_logvar": logvar[k].reshape(-1),
            "distorted_mean": mean[b + k].reshape(-1),
            "distorted_logvar": logvar[b + k].reshape(-1),
        }
        for k, rid in enumerate(ids)
    ]


def _encode_table(model, table, size, batch_size, dev, fp, tick, workers) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
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
            rows += encode_batch(model, ids, imgs, dev, fp, workers)
            tick(2 * len(ids))
    return rows
