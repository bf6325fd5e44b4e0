"""Tiny VAEs and paired images for the model and training tests (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def tiny_vae(folder: Path, seed: int = 0) -> Path:
    """A random 4-block AutoencoderKL (8x down, 4 latent channels) saved to ``folder``."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 16, 16),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
    )
    vae.save_pretrained(folder)
    return folder


def photos() -> list[np.ndarray]:
    import skimage.data

    return [skimage.data.astronaut(), skimage.data.chelsea(), skimage.data.coffee()]


def make_pairs(n: int = 16, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, distorted) float32 (n, size, size, 3): photo crops and colour-cast copies
    (per-pair gains on red and blue and a gamma), the kind of damage a LUT undoes."""
    from lutkit.latents.vae import center_crop_resize

    rng = np.random.default_rng(seed)
    pics = photos()
    clean, dist = [], []
    for i in range(n):
        p = pics[i % len(pics)]
        h, w = p.shape[:2]
        y, x = rng.integers(0, h - 160), rng.integers(0, w - 160)
        c = center_crop_resize(p[y : y + 160, x : x + 160], size)
        gain = 1.0 + rng.uniform(-0.3, 0.3, 3) * np.array([1.0, 0.3, 1.0])
        d = np.clip(c ** rng.uniform(0.8, 1.25) * gain, 0.0, 1.0).astype(np.float32)
        clean.append(c)
        dist.append(d)
    return np.stack(clean), np.stack(dist)
