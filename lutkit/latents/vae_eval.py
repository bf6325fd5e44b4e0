"""Measure a VAE on photos it was not trained on: PSNR and delta E 2000.

The held-out photos (``HOLDOUT``) are bundled photos that ``lutkit vae train`` leaves
out (grace_hopper, a curated train photo too, is left out of ``--corpus`` as well);
``heldout_crops`` cuts seeded evaluation crops from them (clean, and
recoloured by a distortion recipe), ``evaluate_vae`` reconstructs them through the
posterior mean and a seeded posterior sample. What ``lutkit vae eval`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lutkit.errors import ConfigError
from lutkit.seeds import derive_seed, rng

HOLDOUT = ("grace_hopper", "coffee")


@dataclass
class Photo:
    name: str
    pixels: np.ndarray  # float32 (H, W, 3) in [0, 1]


def load_photos(*, exclude: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> list[Photo]:
    """The bundled photos as float32 images, in :func:`lutkit.samples.sample_photos` order;
    ``only`` may also name curated photographs as ``photos:NAME`` (``lutkit photos
    fetch``'s cache, at full size)."""
    from lutkit.images import read_image
    from lutkit.samples import sample_photos

    if only:
        return [Photo(name, read_image(_photo_path(name))) for name in only]
    known = {p.name for p in sample_photos()}
    unknown = sorted(set(exclude) - known)
    if unknown:
        raise ConfigError(f"no bundled photo named {unknown[0]!r}")
    photos = [Photo(p.name, read_image(p.path)) for p in sample_photos() if p.name not in exclude]
    if not photos:
        raise ConfigError("no bundled photos left to train on (all held out or missing)")
    return photos


def _photo_path(name: str):
    """A bundled photo's file, or a curated one's (``photos:NAME``) in the cache."""
    from lutkit.samples import sample_photo

    if not name.startswith("photos:"):
        return sample_photo(name).path
    from lutkit.errors import PhotosError
    from lutkit.photos.manifest import cache_dir, load_manifest

    photos = {p.name: p for p in load_manifest()}
    photo = photos.get(name.removeprefix("photos:"))
    if photo is None:
        raise ConfigError(
            f"no curated photograph named {name!r}",
            hint="`lutkit photos list` names them (as photos:NAME)",
        )
    path = cache_dir() / photo.file
    if not path.is_file():
        raise PhotosError(
            f"{name} is not in {cache_dir()}: run `lutkit photos fetch` (make photos)"
        )
    return path


def heldout_crops(
    *,
    size: int = 224,
    photos: tuple[str, ...] = HOLDOUT,
    per_photo: int = 4,
    distorted: bool = True,
    seed: int = 0,
    recipe: str = "default",
) -> list[tuple[str, np.ndarray]]:
    """Evaluation crops: per held-out photo, its centre crop (the method's encoding)
    and ``per_photo - 1`` seeded random crops, at size x size; with ``distorted``, each
    again recoloured by the recipe. Returns (label, image) pairs."""
    from lutkit.distort.base import apply_chain
    from lutkit.distort.recipe import load_recipe
    from lutkit.latents.vae import center_crop_resize

    rec = load_recipe(recipe) if distorted else None
    out = []
    for photo in load_photos(only=photos):
        gen = rng(derive_seed(seed, "vae-eval", photo.name))
        crops = [center_crop_resize(photo.pixels, size)]
        h, w = photo.pixels.shape[:2]
        for _ in range(per_photo - 1):
            side = int(gen.integers(min(size, min(h, w)), min(h, w) + 1))
            y, x = int(gen.integers(0, h - side + 1)), int(gen.integers(0, w - side + 1))
            crops.append(center_crop_resize(photo.pixels[y : y + side, x : x + side], size))
        for i, crop in enumerate(crops):
            out.append((f"{photo.name}/{i}", crop))
            if rec is not None:
                out.append((f"{photo.name}/{i}/distorted", apply_chain(crop, rec.sample(gen))))
    return out


def _downscale_reference(img: np.ndarray, grid: tuple[int, int]) -> dict[str, float]:
    """The reference a VAE's reconstruction is read against: the crop area-averaged to
    the latent grid (one RGB colour per latent position: 3 numbers where the latent has
    its channels) and upsampled bicubically, with no learning. A VAE below it has not
    yet learned more than the tiles' colours."""
    import cv2

    from lutkit.color import image_delta_e
    from lutkit.evaluate.metrics import psnr
    from lutkit.images import to_float

    x = np.ascontiguousarray(to_float(img), dtype=np.float32)
    small = cv2.resize(x, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)
    up = cv2.resize(small, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_CUBIC)
    up = np.clip(up, 0.0, 1.0)
    return {"psnr_bicubic": psnr(x, up), "delta_e_bicubic": float(image_delta_e(x, up).mean())}


def evaluate_vae(
    vae, crops: list[tuple[str, np.ndarray]], *, seed: int = 0, batch_size: int = 8
) -> dict[str, Any]:
    """Reconstruction quality on (label, image) crops: PSNR (dB) and mean delta E 2000,
    decoding the posterior mean and a seeded posterior sample, beside the reference of
    :func:`_downscale_reference` (``bicubic``). Returns a summary dict (``mean``/``sample``/
    ``bicubic`` x ``psnr``/``delta_e``, per group clean/distorted) and rows."""
    import torch

    from lutkit.color import image_delta_e
    from lutkit.evaluate.metrics import psnr
    from lutkit.latents.vae import decode_mean, encode_posterior, images_to_tensor

    gen = torch.Generator("cpu").manual_seed(seed)
    rows = []
    for start in range(0, len(crops), batch_size):
        chunk = crops[start : start + batch_size]
        x = images_to_tensor([img for _, img in chunk])
        mean, logvar = encode_posterior(vae, x)
        grid = (mean.shape[-2], mean.shape[-1])
        noise = torch.randn(mean.shape, generator=gen)
        recon_mean = decode_mean(vae, mean).permute(0, 2, 3, 1).numpy()
        recon_sample = decode_mean(vae, mean + torch.exp(0.5 * logvar) * noise)
        recon_sample = recon_sample.permute(0, 2, 3, 1).numpy()
        for i, (label, img) in enumerate(chunk):
            rows.append(
                {
                    "crop": label,
                    "psnr_mean": psnr(img, recon_mean[i]),
                    "psnr_sample": psnr(img, recon_sample[i]),
                    "delta_e_mean": float(image_delta_e(img, recon_mean[i]).mean()),
                    "delta_e_sample": float(image_delta_e(img, recon_sample[i]).mean()),
                    **_downscale_reference(img, grid),
                    "logvar": float(logvar[i].mean()),
                    "mean_abs": float(mean[i].abs().mean()),
                }
            )
    summary: dict[str, Any] = {}
    groups = {
        "all": rows,
        "clean": [r for r in rows if not r["crop"].endswith("/distorted")],
        "distorted": [r for r in rows if r["crop"].endswith("/distorted")],
    }
    for group, members in groups.items():
        if members:
            summary[group] = {
                key: float(np.mean([r[key] for r in members]))
                for key in (
                    "psnr_mean",
                    "psnr_sample",
                    "delta_e_mean",
                    "delta_e_sample",
                    "psnr_bicubic",
                    "delta_e_bicubic",
                    "logvar",
                )
            } | {"crops": len(members)}
    return {"summary": summary, "rows": rows}
