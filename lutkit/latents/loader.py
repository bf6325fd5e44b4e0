"""Read latents (and, when asked, the pixels) of a dataset as torch batches for training.

Latents shards are joined with the pairs shards of the same name by row (ids are
checked); only the columns needed are read, one row group at a time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.data.index import check_shard
from lutkit.data.schema import LATENT_COLUMNS as COLUMNS
from lutkit.errors import ConfigError, LutkitError
from lutkit.latents.encode import LATENTS_JSON


def latents_folders(dataset: str | os.PathLike[str]) -> dict[str, Path]:
    """fingerprint -> folder, for every set of latents the dataset has."""
    root = Path(dataset) / "latents"
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / LATENTS_JSON).is_file()}


def resolve_latents(
    dataset: str | os.PathLike[str], fingerprint: str | None, shape: tuple[int, ...] | None = None
) -> tuple[Path, dict[str, Any]]:
    """The latents folder for ``fingerprint`` (the only one if None), checked."""
    found = latents_folders(dataset)
    if not found:
        raise ConfigError(
            "the dataset has no latents", path=dataset, hint="run `lutkit latents DATASET` first"
        )
    if fingerprint is None:
        if len(found) > 1:
            raise ConfigError(
                f"the dataset has latents of {len(found)} VAEs ({', '.join(found)})",
                path=dataset,
                hint="name one with its fingerprint",
            )
        fingerprint = next(iter(found))
    if fingerprint not in found:
        raise ConfigError(
            f"no latents of VAE {fingerprint} in the dataset",
            path=dataset,
            hint=f"it has {', '.join(found)}",
        )
    index = found[fingerprint] / LATENTS_JSON
    try:
        meta = json.loads(index.read_text(encoding="utf-8"))
        shards = meta["shards"]
        tuple(meta["latent_shape"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise LutkitError(
            f"unreadable latents index: {exc}", path=index, hint="rerun `lutkit latents`"
        ) from None
    for entry in shards:
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
            raise ConfigError(
                f"latents shard {name!r} escapes the latents folder",
                path=index,
                hint="rerun `lutkit latents`",
            )
    if shape is not None and tuple(meta["latent_shape"]) != tuple(shape):
        raise ConfigError(
            f"latents have shape {tuple(meta['latent_shape'])}, the model wants {tuple(shape)}",
            path=found[fingerprint],
        )
    return found[fingerprint], meta


def check_latents_current(
    dataset: str | os.PathLike[str], folder: Path, meta: dict[str, Any], command: str = ""
) -> None:
    """Refuse latents that no longer encode the dataset's pairs: a pairs shard without
    latents (the dataset grew), latents made from other bytes than the pairs shard of
    their name (rebuilt since: the rows' ids may still match), of another row count or
    split, or of a pairs shard that is gone. Training on them would teach the recolor
    net other images than those its pixels show; `lutkit dataset verify` reports the
    same. ``command`` is the `lutkit latents` command the hint gives (with the VAE and
    the size these latents were made with). Reads each latents shard's footer only."""
    from lutkit.data.index import load_dataset_json
    from lutkit.data.shards import shard_metadata
    from lutkit.latents.encode import SOURCE_KEY

    command = command or f"lutkit latents {dataset}"
    hint = f"rerun `{command}`: it encodes the pairs made since"
    listed = {str(e["file"]): e for e in meta["shards"]}
    pairs = {Path(e["file"]).name: e for e in load_dataset_json(dataset)["shards"]}
    where = f"latents/{folder.name}"
    for name, entry in pairs.items():
        lat = listed.get(name)
        if lat is None:
            raise ConfigError(
                f"pairs/{name} has no latents in {where} (the dataset grew since they "
                "were encoded)",
                path=dataset,
                hint=hint,
            )
        try:
            made_from = shard_metadata(folder / name).get(SOURCE_KEY, b"").decode()
        except Exception:  # noqa: BLE001 -- a missing or damaged shard: said below
            made_from = None
        if made_from is None:
            raise LutkitError(f"{where}/{name}: missing or unreadable", path=dataset, hint=hint)
        if made_from != entry["sha256"] or lat.get("rows") != entry["rows"]:
            raise ConfigError(
                f"{where}/{name} encodes other pairs than pairs/{name} (the dataset was "
                "rebuilt since they were encoded)",
                path=dataset,
                hint=hint,
            )
        if lat.get("split") != entry["split"]:
            raise ConfigError(
                f"{where}/{name} is in the {lat.get('split')} split, pairs/{name} in "
                f"{entry['split']}",
                path=dataset,
                hint=hint,
            )
    gone = sorted(set(listed) - set(pairs))
    if gone:
        raise ConfigError(
            f"{where}/{gone[0]} encodes pairs that the dataset no longer has",
            path=dataset,
            hint=hint,
        )


def iter_batches(
    dataset: str | os.PathLike[str],
    *,
    split: str = "train",
    fingerprint: str | None = None,
    batch_size: int = 32,
    pixels: bool = False,
    size: int = 224,
    shuffle_seed: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield dicts of torch tensors: ``distorted`` and ``clean`` latents (B, 2C, h, w)
    (mean then logvar along channels), ``id`` (list), and with ``pixels`` the images
    ``distorted_rgb`` / ``clean_rgb`` (B, 3, size, size) in [0, 1]."""
    import torch

    from lutkit.data.shards import open_parquet
    from lutkit.data.sources import check_split

    check_split(split)
    folder, meta = resolve_latents(dataset, fingerprint)
    shape = tuple(meta["latent_shape"])
    shards = [s for s in meta["shards"] if s["split"] == split]
    order = np.arange(len(shards))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(shards))
    buf: list[dict[str, Any]] = []
    for k in order:
        entry = shards[int(k)]
        path = check_shard(
            folder, entry, hint="rerun `lutkit latents` on the dataset: it redoes damaged shards"
        )
        try:
            lat = open_parquet(path)
        except Exception as exc:  # corrupted shard
            raise LutkitError(
                f"cannot read latents shard: {exc}",
                path=path,
                hint="delete it and rerun `lutkit latents`",
            ) from None
        if (lat.schema_arrow.metadata or {}).get(b"lutkit.vae", b"").decode() != folder.name:
            raise LutkitError("latents shard of another VAE in this folder", path=path)
        pairs = open_parquet(_pairs_shard(dataset, entry["file"])) if pixels else None
        for g in range(lat.num_row_groups):
            t = lat.read_row_group(g, columns=["id", *COLUMNS])
            rows = t.to_pydict()
            imgs = None
            if pairs is not None:
                p = pairs.read_row_group(g, columns=["id", "clean", "distorted"]).to_pydict()
                if p["id"] != rows["id"]:
                    raise LutkitError(
                        "latents and pairs rows do not line up",
                        path=path,
                        hint="rerun `lutkit latents` for this dataset",
                    )
                imgs = p
            for i in range(len(rows["id"])):
                item = {"id": rows["id"][i]}
                for c in COLUMNS:
                    item[c] = np.asarray(rows[c][i], np.float16)
                if imgs is not None:
                    item["clean_png"], item["distorted_png"] = (
                        imgs["clean"][i],
                        imgs["distorted"][i],
                    )
                buf.append(item)
                if len(buf) == batch_size:
                    yield _collate(buf, shape, size, torch)
                    buf = []
    if buf:
        yield _collate(buf, shape, size, torch)


def _pairs_shard(dataset: str | os.PathLike[str], name: str) -> Path:
    """The pairs shard of a latents shard, checked against dataset.json."""
    from lutkit.data.index import load_dataset_json

    for entry in load_dataset_json(dataset)["shards"]:
        if entry["file"] == f"pairs/{name}":
            return check_shard(dataset, entry)
    raise LutkitError(
        "latents shard without a pairs shard in dataset.json",
        path=Path(dataset) / "pairs" / name,
        hint="rerun `lutkit latents` for this dataset",
    )


def _collate(items, shape, size, torch) -> dict[str, Any]:
    def lat(prefix: str):
        mean = np.stack([it[f"{prefix}_mean"] for it in items]).reshape(-1, *shape)
        logvar = np.stack([it[f"{prefix}_logvar"] for it in items]).reshape(-1, *shape)
        return torch.from_numpy(np.concatenate([mean, logvar], axis=1).astype(np.float32))

    batch = {"id": [it["id"] for it in items], "clean": lat("clean"), "distorted": lat("distorted")}
    if "clean_png" in items[0]:
        from lutkit.data.png import decode_png
        from lutkit.latents.vae import center_crop_resize

        for col in ("clean", "distorted"):
            arr = np.stack([center_crop_resize(decode_png(it[f"{col}_png"]), size) for it in items])
            batch[f"{col}_rgb"] = torch.from_numpy(arr.transpose(0, 3, 1, 2).copy())
    return batch
