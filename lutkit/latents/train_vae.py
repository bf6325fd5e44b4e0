"""Train lutkit's default VAE, and measure any VAE on held-out photos.

The default VAE is a small diffusers ``AutoencoderKL`` (8x downsampling, 4 latent
channels: 224 -> 4x28x28) trained on random crops of the photographs that ship with
lutkit's dependencies (:mod:`lutkit.samples`), with random scales and flips, half of
the crops recoloured by lutkit's own distortion recipe, so the latent carries colour
casts, fades and grades rather than only clean photos. The held-out photos are never
seen in training; ``evaluate_vae`` reports reconstruction PSNR and delta E 2000 on
crops of them, clean and distorted.

Reproducible: the weights start from ``seed``, and the batch and posterior noise of
step k are drawn from seeds derived from (seed, k), so a resumed run sees exactly the
batches an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ConfigError
from lutkit.fsutil import atomic_write_text
from lutkit.seeds import derive_seed, rng

HOLDOUT = ("grace_hopper", "coffee")


@dataclass
class TrainConfig:
    """Everything that decides the trained weights (saved beside them)."""

    steps: int = 2000
    batch_size: int = 8
    size: int = 64  # training crop side, pixels (the VAE is convolutional; eval is at 224)
    lr: float = 2e-3
    warmup: int = 50
    min_lr_ratio: float = 0.05
    kl_weight: float = 1e-4  # on the KL averaged per latent element; L1 is per pixel
    init_logvar: float = -6.0  # starting posterior log-variance (see _init_posterior)
    colour_weight: float = 0.0  # extra L1 on 8x8 block means (see _colour_loss)
    chroma_weight: float = 1.0  # weight of the two opponent chroma axes in the L1 (see _recon_loss)
    grad_clip: float = 1.0
    seed: int = 0
    distort_p: float = 0.5
    recipe: str = "default"
    max_scale: float = 4.0  # crops cover 1x..max_scale x the crop side, then resized
    holdout: tuple[str, ...] = HOLDOUT
    threads: int = 2
    checkpoint_every: int = 250
    eval_every: int = 250
    block_out_channels: tuple[int, ...] = (16, 32, 64, 96)
    layers_per_block: int = 1
    latent_channels: int = 4
    # Few, wide groups: with 16-channel layers, 8 groups of 2 channels learn much slower.
    norm_num_groups: int = 2

    def check(self) -> None:
        positive = ("steps", "batch_size", "size", "lr", "threads", "latent_channels")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"vae train: {name} must be positive, got {getattr(self, name)}")
        factor = 2 ** (len(self.block_out_channels) - 1)
        if self.size % factor:
            raise ConfigError(f"vae train: size must be a multiple of {factor}, got {self.size}")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ConfigError(
                f"vae train: norm_num_groups {self.norm_num_groups} must divide every "
                f"block width {self.block_out_channels}"
            )
        if not 0.0 <= self.distort_p <= 1.0:
            raise ConfigError(f"vae train: distort_p must be in [0, 1], got {self.distort_p}")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def vae_config(cfg: TrainConfig) -> dict[str, Any]:
    """The ``AutoencoderKL`` constructor arguments of the default VAE."""
    n = len(cfg.block_out_channels)
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=tuple(cfg.block_out_channels),
        layers_per_block=cfg.layers_per_block,
        latent_channels=cfg.latent_channels,
        norm_num_groups=cfg.norm_num_groups,
        sample_size=224,
        # lutkit encodes [0, 1] RGB and uses the raw posterior: no scaling factor.
        scaling_factor=1.0,
        # No attention: it is the slowest part on a CPU and ties the model to one size.
        mid_block_add_attention=False,
    )


def _init_posterior(vae, logvar: float) -> None:
    """Start the posterior narrow: the logvar half of ``quant_conv`` outputs ``logvar``.

    A fresh AutoencoderKL starts near the prior (logvar ~ 0, noise std ~ 1), and a short
    CPU run spends most of its steps just shrinking that noise while the decoder learns
    to ignore the latent. Starting at std ~ 0.05 lets reconstruction begin at once; the
    KL term then raises the variance to where it costs reconstruction something.
    """
    import torch

    c = vae.config.latent_channels
    with torch.no_grad():
        vae.quant_conv.weight[c:] *= 0.1
        vae.quant_conv.bias[c:] = logvar


def _recon_loss(recon, target, chroma_weight: float):
    """L1 on an opponent colour basis: luminance, red-green, yellow-blue.

    Natural images vary far more in luminance than in chroma, and an autoencoder learns
    the directions of large variance first: with plain RGB L1 a short run reconstructs
    a sepia picture. Weighting the two chroma axes makes colour pay from the start.
    With ``chroma_weight`` 1 this is close to (not equal to) RGB L1.
    """
    import torch

    if chroma_weight == 1.0:
        return (recon - target).abs().mean()
    basis = torch.tensor(
        [
            [1 / 3, 1 / 3, 1 / 3],
            [chroma_weight / 2, -chroma_weight / 2, 0.0],
            [chroma_weight / 4, chroma_weight / 4, -chroma_weight / 2],
        ],
        dtype=recon.dtype,
    )
    diff = torch.einsum("oc,bchw->bohw", basis, recon - target)
    return diff.abs().mean()


def _colour_loss(recon, target, block: int):
    """L1 between the mean colours of block x block tiles (one tile per latent pixel).

    Per-pixel L1 is dominated by edges and texture, and a young AutoencoderKL learns
    luminance long before colour (its GroupNorms remove per-image offsets, so colour
    must be coded as differences between channels). This term pays for the colour of
    every tile directly: it is what a colour correction needs the latent to carry.
    """
    import torch.nn.functional as F

    return (F.avg_pool2d(recon, block) - F.avg_pool2d(target, block)).abs().mean()


# --------------------------------------------------------------------------- data


@dataclass
class Photo:
    name: str
    pixels: np.ndarray  # float32 (H, W, 3) in [0, 1]


def load_photos(*, exclude: tuple[str, ...] = (), only: tuple[str, ...] = ()) -> list[Photo]:
    """The bundled photos as float32 images, in :func:`lutkit.samples.sample_photos` order."""
    from lutkit.images import read_image
    from lutkit.samples import sample_photo, sample_photos

    if only:
        return [Photo(name, read_image(sample_photo(name).path)) for name in only]
    known = {p.name for p in sample_photos()}
    unknown = sorted(set(exclude) - known)
    if unknown:
        raise ConfigError(f"no bundled photo named {unknown[0]!r}")
    photos = [Photo(p.name, read_image(p.path)) for p in sample_photos() if p.name not in exclude]
    if not photos:
        raise ConfigError("no bundled photos left to train on (all held out or missing)")
    return photos


def random_crop(
    image: np.ndarray, size: int, gen: np.random.Generator, *, max_scale: float = 4.0
) -> np.ndarray:
    """A random square crop covering 1x..max_scale x ``size`` pixels (log-uniform),
    resized to (size, size, 3), flipped left-right half the time."""
    import cv2

    h, w = image.shape[:2]
    top = max(1.0, min(max_scale, min(h, w) / size))
    scale = math.exp(gen.uniform(0.0, math.log(top)))
    side = min(min(h, w), max(8, round(size * scale)))
    y = int(gen.integers(0, h - side + 1))
    x = int(gen.integers(0, w - side + 1))
    crop = np.ascontiguousarray(image[y : y + side, x : x + side])
    if side != size:
        interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
        crop = np.clip(cv2.resize(crop, (size, size), interpolation=interp), 0.0, 1.0)
    if gen.random() < 0.5:
        crop = np.ascontiguousarray(crop[:, ::-1])
    return crop.astype(np.float32, copy=False)


def make_batch(photos: list[Photo], cfg: TrainConfig, step: int, recipe) -> np.ndarray:
    """The (B, size, size, 3) float32 batch of ``step``: the same step, the same batch."""
    from lutkit.distort.base import apply_chain

    gen = rng(derive_seed(cfg.seed, "vae-batch", step))
    out = np.empty((cfg.batch_size, cfg.size, cfg.size, 3), np.float32)
    for i in range(cfg.batch_size):
        photo = photos[int(gen.integers(len(photos)))]
        crop = random_crop(photo.pixels, cfg.size, gen, max_scale=cfg.max_scale)
        if gen.random() < cfg.distort_p:
            crop = apply_chain(crop, recipe.sample(gen))
        out[i] = crop
    return out


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


# --------------------------------------------------------------------------- metrics


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two float images in [0, 1]."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def evaluate_vae(
    vae, crops: list[tuple[str, np.ndarray]], *, seed: int = 0, batch_size: int = 8
) -> dict[str, Any]:
    """Reconstruction quality on (label, image) crops: PSNR (dB) and mean delta E 2000,
    decoding the posterior mean and a seeded posterior sample. Returns a summary dict
    (``mean``/``sample`` x ``psnr``/``delta_e``, per group clean/distorted) and rows."""
    import torch

    from lutkit.color import image_delta_e
    from lutkit.latents.vae import decode_mean, encode_posterior, images_to_tensor

    gen = torch.Generator("cpu").manual_seed(seed)
    rows = []
    for start in range(0, len(crops), batch_size):
        chunk = crops[start : start + batch_size]
        x = images_to_tensor([img for _, img in chunk])
        mean, logvar = encode_posterior(vae, x)
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
                for key in ("psnr_mean", "psnr_sample", "delta_e_mean", "delta_e_sample", "logvar")
            } | {"crops": len(members)}
    return {"summary": summary, "rows": rows}


# --------------------------------------------------------------------------- training


def _lr_at(cfg: TrainConfig, step: int) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def _save_resume(
    folder: Path, vae, opt, step: int, cfg: TrainConfig, log: list, seconds: float
) -> None:
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    vae.save_pretrained(tmp / "model", safe_serialization=True)
    state = opt.state_dict()
    tensors = {
        f"{idx}.{key}": value.detach().clone().contiguous()
        for idx, slots in state["state"].items()
        for key, value in slots.items()
    }
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    info = {
        "step": step,
        "seconds": seconds,
        "config": cfg.to_dict(),
        "param_groups": state["param_groups"],
        "log": log,
    }
    (tmp / "state.json").write_text(json.dumps(info), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def _load_resume(folder: Path, cfg: TrainConfig):
    """(vae, step, seconds, log, optimizer state) from a resume folder, or None."""
    from diffusers import AutoencoderKL
    from safetensors.torch import load_file

    state_path = folder / "state.json"
    if not state_path.is_file():
        return None
    info = json.loads(state_path.read_text(encoding="utf-8"))
    if info.get("config") != cfg.to_dict():
        raise ConfigError(
            "a resume checkpoint from a different configuration is in the way",
            hint=f"delete {folder} or train with the same options",
        )
    vae = AutoencoderKL.from_pretrained(folder / "model", use_safetensors=True)
    tensors = load_file(str(folder / "optimizer.safetensors"))
    slots: dict[int, dict] = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        slots.setdefault(int(idx), {})[key] = value
    return (
        vae,
        info["step"],
        info.get("seconds", 0.0),
        info.get("log", []),
        {"state": slots, "param_groups": info["param_groups"]},
    )


@dataclass
class TrainResult:
    out: Path
    steps: int
    seconds: float
    eval: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)


def train_vae(
    out: str | os.PathLike[str],
    cfg: TrainConfig | None = None,
    *,
    command: str = "",
    progress: bool = True,
    resume: bool = True,
    eval_size: int = 224,
    eval_crops: int = 4,
) -> TrainResult:
    """Train the default VAE into ``out`` (config.json + safetensors + TRAINING.md).

    A resume checkpoint is kept in ``out/resume`` every ``checkpoint_every`` steps and
    removed when the run completes; with ``resume`` a rerun continues from it.
    ``eval_size`` and ``eval_crops`` (per held-out photo) set the evaluation only.
    """
    import torch
    from diffusers import AutoencoderKL
    from tqdm.auto import tqdm

    from lutkit.distort.recipe import load_recipe
    from lutkit.latents.vae import load_vae

    cfg = cfg or TrainConfig()
    cfg.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    photos = load_photos(exclude=tuple(cfg.holdout))
    recipe = load_recipe(cfg.recipe)
    progress_crops = heldout_crops(
        size=eval_size, photos=tuple(cfg.holdout), per_photo=1, distorted=False
    )

    torch.manual_seed(cfg.seed)
    vae = AutoencoderKL(**vae_config(cfg))
    _init_posterior(vae, cfg.init_logvar)
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0)
    start, log, elapsed_before = 0, [], 0.0
    resume_dir = out / "resume"
    if resume:
        loaded = _load_resume(resume_dir, cfg)
        if loaded is not None:
            vae, start, elapsed_before, log, opt_state = loaded
            opt = torch.optim.AdamW(
                vae.parameters(), lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.0
            )
            opt.load_state_dict(opt_state)
    vae.train()

    t0 = time.perf_counter() - elapsed_before
    bar = tqdm(
        range(start, cfg.steps),
        initial=start,
        total=cfg.steps,
        desc="vae train",
        unit="step",
        dynamic_ncols=True,
        disable=None if progress else True,
    )
    running: dict[str, float] = {}
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = _lr_at(cfg, step)
        x = torch.from_numpy(make_batch(photos, cfg, step, recipe).transpose(0, 3, 1, 2).copy())
        noise_gen = torch.Generator("cpu").manual_seed(derive_seed(cfg.seed, "vae-noise", step))
        dist = vae.encode(x).latent_dist
        recon = vae.decode(dist.sample(generator=noise_gen)).sample
        l1 = _recon_loss(recon, x, cfg.chroma_weight)
        kl = 0.5 * (dist.mean.pow(2) + dist.var - 1.0 - dist.logvar).mean()
        loss = l1 + cfg.kl_weight * kl
        if cfg.colour_weight:
            loss = loss + cfg.colour_weight * _colour_loss(
                recon, x, 2 ** (len(cfg.block_out_channels) - 1)
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), cfg.grad_clip)
        opt.step()
        for key, value in (("l1", l1), ("kl", kl), ("logvar", dist.logvar.mean())):
            v = value.item()
            running[key] = 0.95 * running.get(key, v) + 0.05 * v
        done = step + 1
        if done % cfg.eval_every == 0 or done == cfg.steps:
            vae.eval()
            ev = evaluate_vae(vae, progress_crops, seed=cfg.seed)["summary"]["all"]
            vae.train()
            entry = {
                "step": done,
                "seconds": round(time.perf_counter() - t0, 1),
                "lr": _lr_at(cfg, step),
            } | {k: round(v, 5) for k, v in running.items()}
            entry |= {
                "heldout_psnr_mean": round(ev["psnr_mean"], 3),
                "heldout_psnr_sample": round(ev["psnr_sample"], 3),
            }
            log.append(entry)
            bar.write(json.dumps(entry), file=sys.stdout)
            sys.stdout.flush()
        bar.set_postfix(l1=f"{running['l1']:.4f}", logvar=f"{running['logvar']:.2f}")
        if done % cfg.checkpoint_every == 0 and done < cfg.steps:
            vae.eval()
            _save_resume(resume_dir, vae, opt, done, cfg, log, time.perf_counter() - t0)
            vae.train()
    bar.close()
    seconds = time.perf_counter() - t0

    vae.eval()
    vae.save_pretrained(out, safe_serialization=True)
    shutil.rmtree(resume_dir, ignore_errors=True)
    final = load_vae(out)
    crops = heldout_crops(size=eval_size, photos=tuple(cfg.holdout), per_photo=eval_crops)
    report = evaluate_vae(final, crops, seed=cfg.seed)
    result = TrainResult(out, cfg.steps, seconds, report, log)
    _write_report(out, cfg, result, final, command, [p.name for p in photos])
    return result


def _write_report(out: Path, cfg, result: TrainResult, vae, command: str, names) -> None:
    import torch

    from lutkit.latents.vae import WEIGHTS_NAME, describe_vae

    info = describe_vae(vae)
    weights_mb = (out / WEIGHTS_NAME).stat().st_size / 1e6
    s = result.eval["summary"]
    record = {
        "command": command,
        "config": cfg.to_dict(),
        "train_photos": names,
        "heldout_photos": list(cfg.holdout),
        "seconds": round(result.seconds, 1),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {cfg.threads} threads",
        "parameters": info["parameters"],
        "weights_mb": round(weights_mb, 2),
        "fingerprint": info["fingerprint"],
        "eval": s,
        "log": result.log,
    }
    atomic_write_text(out / "training.json", json.dumps(record, indent=2) + "\n")

    def row(name: str) -> str:
        g = s[name]
        return (
            f"| {name} ({g['crops']}) | {g['psnr_mean']:.2f} | {g['psnr_sample']:.2f} | "
            f"{g['delta_e_mean']:.2f} | {g['delta_e_sample']:.2f} | {g['logvar']:.2f} |"
        )

    lines = [
        "# lutkit's default VAE",
        "",
        "A small diffusers `AutoencoderKL` trained by lutkit itself, so that a fresh machine",
        "with no model cache can encode images: 8x downsampling, 4 latent channels",
        f"(224x224 RGB -> mean and log-variance, {info['latent_224']}).",
        "",
        f"- architecture: block_out_channels {tuple(cfg.block_out_channels)}, layers_per_block "
        f"{cfg.layers_per_block}, norm_num_groups {cfg.norm_num_groups}, no mid-block attention",
        f"- parameters: {info['parameters']:,}; weights {weights_mb:.2f} MB (float32 safetensors)",
        f"- fingerprint: `{info['fingerprint']}`",
        f"- command: `{command or '(library call)'}`",
        f"- training data: random {cfg.size}x{cfg.size} crops (scale 1x..{cfg.max_scale:g}x, "
        f"left-right flips) of the bundled photos {', '.join(names)}; "
        f"{cfg.distort_p:.0%} of crops recoloured by the `{cfg.recipe}` recipe",
        f"- held out (never trained on): {', '.join(cfg.holdout)}",
        f"- loss: L1 + {cfg.kl_weight:g} x KL (both averaged per element); AdamW lr "
        f"{cfg.lr:g}, {cfg.warmup} warm-up steps, cosine to {cfg.min_lr_ratio:g} x lr; "
        f"batch {cfg.batch_size}, {cfg.steps} steps, seed {cfg.seed}",
        f"- time: {result.seconds / 60:.1f} min on {record['machine']} (torch {torch.__version__})",
        "",
        "Held-out reconstruction at 224x224 (per crop: the centre crop and seeded random",
        "crops of each held-out photo, clean and recoloured by the recipe); `mean` decodes",
        "the posterior mean, `sample` a seeded posterior sample:",
        "",
        "| crops | PSNR mean (dB) | PSNR sample (dB) | dE2000 mean | dE2000 sample | mean logvar |",
        "|---|---|---|---|---|---|",
        row("all"),
        row("clean"),
        row("distorted"),
        "",
        "Reproduce with `make vae` (the same command); `lutkit vae eval` measures it again.",
        "The loss curve and every number above are in `training.json`.",
        "",
    ]
    atomic_write_text(out / "TRAINING.md", "\n".join(lines))
