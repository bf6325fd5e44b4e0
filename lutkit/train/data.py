"""The training data: a split's latents (and pixels) read into memory as torch tensors.

The split is read once through :func:`lutkit.latents.loader.iter_batches` (about
0.1 MB per training pair with the default 64-pixel LUT loss); every epoch then draws
its batches from memory.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from lutkit.errors import ConfigError
from lutkit.progress import Counter, Progress
from lutkit.train.config import TrainConfig


@dataclass
class Split:
    """One split in memory: latents (N, 2C, h, w), LUT-loss pixels (N, 3, s, s) in [0, 1],
    and full-size pixels (k, S, S, 3) of the first k pairs for delta E and the sheet."""

    distorted: Any
    clean: Any
    distorted_rgb: Any = None
    clean_rgb: Any = None
    full_distorted: np.ndarray | None = None
    full_clean: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.distorted.shape[0])


def resolve_run_latents(cfg: TrainConfig, fingerprint: str) -> dict[str, Any]:
    """The latents metadata of the dataset for this VAE, or a one-line error saying
    what to run."""
    from lutkit.data.index import load_dataset_json
    from lutkit.latents.loader import check_latents_current, latents_folders, resolve_latents

    load_dataset_json(cfg.dataset)  # a clear error when it is not a dataset
    if fingerprint not in latents_folders(cfg.dataset):
        raise ConfigError(
            f"no latents of VAE {fingerprint} ({cfg.vae}) in the dataset",
            path=cfg.dataset,
            hint=f"run `lutkit latents {cfg.dataset} --vae {cfg.vae}` first",
        )
    folder, meta = resolve_latents(cfg.dataset, fingerprint)
    again = f"lutkit latents {cfg.dataset} --vae {cfg.vae} --size {meta['image_size']}"
    check_latents_current(cfg.dataset, folder, meta, again)
    return meta


def dataset_digest(dataset: str | os.PathLike[str]) -> str:
    """The sha256 of the dataset's pairs shards (their names and sha256s, from
    dataset.json): what a run records of the data it trained on, so that a rerun after
    the dataset was rebuilt or grew does not resume on other pairs."""
    import hashlib

    from lutkit.data.index import load_dataset_json

    shards = sorted(
        (str(e["file"]), str(e["sha256"])) for e in load_dataset_json(dataset)["shards"]
    )
    return hashlib.sha256(json.dumps(shards).encode()).hexdigest()


def load_split(
    cfg: TrainConfig,
    split: str,
    fingerprint: str,
    *,
    size: int,
    pixels: bool,
    keep_full: int = 0,
    progress: Progress | None = None,
) -> Split:
    """Read a split's latents (and pixels, when the LUT loss or delta E needs them)."""
    import torch
    import torch.nn.functional as F

    from lutkit.latents.loader import iter_batches

    lat_d, lat_c, rgb_d, rgb_c, full_d, full_c = [], [], [], [], [], []
    loss_side = cfg.lutnet_pixels or size
    counter = Counter(progress, None, f"loading {split}")
    for batch in iter_batches(
        cfg.dataset, split=split, fingerprint=fingerprint, batch_size=32, pixels=pixels, size=size
    ):
        lat_d.append(batch["distorted"])
        lat_c.append(batch["clean"])
        if pixels:
            d, c = batch["distorted_rgb"], batch["clean_rgb"]
            room = keep_full - sum(len(x) for x in full_d)
            if room > 0:
                full_d.append(d[:room].permute(0, 2, 3, 1).numpy())
                full_c.append(c[:room].permute(0, 2, 3, 1).numpy())
            if loss_side != size:
                # Area averaging keeps each image's colour distribution; a LUT is a
                # pointwise map, so it does not need the full resolution to learn.
                d = F.adaptive_avg_pool2d(d, loss_side)
                c = F.adaptive_avg_pool2d(c, loss_side)
            rgb_d.append(d)
            rgb_c.append(c)
        counter.add(len(batch["id"]))
    counter.finish()
    if not lat_d:
        raise ConfigError(
            f"the dataset has no {split} pairs",
            path=cfg.dataset,
            hint="build it with a larger dataset or other --splits",
        )
    out = Split(torch.cat(lat_d), torch.cat(lat_c))
    if pixels:
        out.distorted_rgb, out.clean_rgb = torch.cat(rgb_d), torch.cat(rgb_c)
        if full_d:
            out.full_distorted, out.full_clean = np.concatenate(full_d), np.concatenate(full_c)
    return out


def add_clean_pairs(split: Split, share: float, seed: int) -> Split:
    """``split`` with ``round(share * len(split))`` pairs more: the clean side of pairs
    drawn without replacement with ``seed``, as both input and target (latents and
    pixels). The full-size pixels are left as they are."""
    import torch

    k = int(round(share * len(split)))
    if k <= 0:
        return split
    pick = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))[:k]
    out = Split(
        torch.cat([split.distorted, split.clean[pick]]),
        torch.cat([split.clean, split.clean[pick]]),
        full_distorted=split.full_distorted,
        full_clean=split.full_clean,
    )
    if split.distorted_rgb is not None:
        out.distorted_rgb = torch.cat([split.distorted_rgb, split.clean_rgb[pick]])
        out.clean_rgb = torch.cat([split.clean_rgb, split.clean_rgb[pick]])
    return out
