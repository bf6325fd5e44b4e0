"""Train lutkit's default VAE (measured on held-out photos by :mod:`lutkit.latents.vae_eval`).

The default VAE is a small diffusers ``AutoencoderKL`` (8x downsampling, 4 latent
channels: 224 -> 4x28x28) trained on random crops of the photographs that ship with
lutkit's dependencies (:mod:`lutkit.samples`), and with ``corpus`` also of the curated
photographs of the default model's train split (:func:`corpus_photos`), with random
scales and flips, half of
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
from lutkit.fsutil import atomic_write_text, current_umask
from lutkit.latents.vae_eval import HOLDOUT, Photo, evaluate_vae, heldout_crops, load_photos
from lutkit.latents.vae_init import colour_loss, init_block_codec, init_posterior
from lutkit.progress import Counter, Progress
from lutkit.seeds import derive_seed, rng
from lutkit.train.optim import lr_at, optimizer_state, optimizer_tensors

# The default model's dataset splits its photos so (the Makefile's PHOTOS build, tested):
# --corpus takes that dataset's train photos only, and the bundled photos that are also
# its val or test photos are left out too (``eval_photos_out``), so that the photos the
# default model is evaluated on stay unseen by its VAE as well.
CORPUS_SPLITS = (0.78, 0.11, 0.11)
CORPUS_MAX_SIDE = 1024  # crops cover 64..256 px of it: still objects, not only texture


def eval_photos():
    """The manifest rows of the curated photographs the default model is evaluated on
    (its dataset's val and test photos, by each photo's sha256 and CORPUS_SPLITS)."""
    from lutkit.data.sources import assign_split
    from lutkit.photos.manifest import load_manifest

    return [p for p in load_manifest() if assign_split(p.sha256, CORPUS_SPLITS) != "train"]


def bundled_training_photos(holdout: tuple[str, ...], eval_photos_out: bool) -> list[Photo]:
    """The bundled photos a VAE trains on: all but ``holdout`` and, with
    ``eval_photos_out``, all but the default model's val and test photos (a bundled
    photo that is also a curated one is the same file: it is matched by sha256)."""
    from lutkit.fsutil import file_sha256
    from lutkit.samples import sample_photos

    if not eval_photos_out:
        return load_photos(exclude=holdout)
    evaluated = eval_photos()
    hashes = {p.sha256 for p in evaluated}
    # by the bytes, and by the file inside its package too (another scikit-image version
    # may ship other bytes of the same picture)
    paths = {p.path for p in evaluated if p.is_pip}

    def evaluated_on(path: Path) -> bool:
        return file_sha256(path) in hashes or any(path.as_posix().endswith(q) for q in paths)

    leave_out = tuple(p.name for p in sample_photos() if evaluated_on(p.path))
    return load_photos(exclude=tuple(holdout) + leave_out)


def corpus_photos(
    folder: str | os.PathLike[str] | None = None,
    max_side: int = CORPUS_MAX_SIDE,
    exclude: tuple[str, ...] = (),
) -> list[Photo]:
    """The curated photographs of the default model's train split, as float32 sRGB
    images area-downscaled to at most ``max_side`` px (``photos:NAME``), but those that
    are the same file as one of the bundled photos named in ``exclude`` (the VAE's
    held-out photos: grace_hopper is also a curated train photo)."""
    import cv2

    from lutkit.data.sources import assign_split
    from lutkit.fsutil import file_sha256
    from lutkit.images import read_image
    from lutkit.photos.manifest import cached_photos
    from lutkit.samples import sample_photo

    skip = {file_sha256(sample_photo(name).path) for name in exclude}
    out = []
    for photo, path in cached_photos(folder):
        # the file's own hash, as `dataset build` splits by (the manifest's when verified)
        digest = file_sha256(path)
        if assign_split(digest, CORPUS_SPLITS) != "train" or digest in skip:
            continue
        pixels = read_image(path)
        h, w = pixels.shape[:2]
        scale = max_side / max(h, w)
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        out.append(Photo(f"photos:{photo.name}", np.clip(pixels, 0.0, 1.0).astype(np.float32)))
    return out


@dataclass
class VAETrainConfig:
    """Everything that decides the trained weights (saved beside them)."""

    steps: int = 2400
    batch_size: int = 8
    size: int = 64  # training crop side, pixels (the VAE is convolutional; eval is at 224)
    lr: float = 1e-4  # 5e-4 (and colour weight 8) first undid the block-codec start
    warmup: int = 100
    min_lr_ratio: float = 0.05
    kl_weight: float = 1e-4  # on the KL averaged per latent element; L1 is per pixel
    init: str = "block-codec"  # or "random": diffusers' default init (see init_block_codec)
    init_logvar: float = -6.0  # starting posterior log-variance (see vae_init.init_posterior)
    colour_weight: float = 1.0  # extra L1 on 8x8 block means (see vae_init.colour_loss)
    grad_clip: float = 1.0
    seed: int = 0
    distort_p: float = 0.5
    recipe: str = "default"
    max_scale: float = 4.0  # crops cover 1x..max_scale x the crop side, then resized
    holdout: tuple[str, ...] = HOLDOUT
    # Also the curated photographs (`lutkit photos fetch`), the train split of the
    # default model's dataset only (CORPUS_SPLITS), each at most CORPUS_MAX_SIDE px.
    corpus: bool = False
    # Leave out every photo the default model is evaluated on (its val and test photos;
    # before this setting, the bundled motorcycle and immunohistochemistry were trained
    # on) and, from the corpus, the held-out photos above (grace_hopper is a curated
    # train photo too). A checkpoint from before it has False (_BEFORE).
    eval_photos_out: bool = True
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
        if self.init not in ("block-codec", "random"):
            raise ConfigError(f"vae train: init must be block-codec or random, got {self.init!r}")
        if self.init == "block-codec" and min(self.block_out_channels) < 8 * self.norm_num_groups:
            raise ConfigError(
                "vae train: init block-codec needs at least 8 channels per norm group "
                f"(block_out_channels {self.block_out_channels}, "
                f"norm_num_groups {self.norm_num_groups})"
            )
        if not 0.0 <= self.distort_p <= 1.0:
            raise ConfigError(f"vae train: distort_p must be in [0, 1], got {self.distort_p}")

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))


def vae_config(cfg: VAETrainConfig) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- data


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


def make_batch(photos: list[Photo], cfg: VAETrainConfig, step: int, recipe) -> np.ndarray:
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


# --------------------------------------------------------------------------- training


def vae_lr(cfg: VAETrainConfig, step: int) -> float:
    """The learning rate of ``step``: warm-up, then cosine to ``lr * min_lr_ratio``
    (:func:`lutkit.train.optim.lr_at`, the VAE's warm-up convention)."""
    return lr_at(
        step,
        lr=cfg.lr,
        total_steps=cfg.steps,
        warmup_steps=cfg.warmup,
        min_lr_ratio=cfg.min_lr_ratio,
        warmup="vae",
    )


def _save_resume(
    folder: Path, vae, opt, step: int, cfg: VAETrainConfig, log: list, seconds: float
) -> None:
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    vae.save_pretrained(tmp / "model", safe_serialization=True)
    tensors, plain = optimizer_tensors(opt, prefix="")
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    info = {
        "step": step,
        "seconds": seconds,
        "config": cfg.to_dict(),
        "param_groups": plain["param_groups"],
        "log": log,
    }
    (tmp / "state.json").write_text(json.dumps(info), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def _refuse_a_run_folder(out: Path) -> None:
    """A training run's folder (its config.json has a stage and a dataset) is not a place
    for a VAE: saving one there would overwrite the run's config."""
    from lutkit.train.checkpoint import CONFIG_JSON, is_run_config

    try:
        saved = json.loads((out / CONFIG_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if is_run_config(saved):
        raise ConfigError(
            "the folder is a training run's: the VAE would overwrite its config.json",
            path=out,
            hint="choose another --out",
        )


# Settings whose default changed when they were added: a checkpoint without the key was
# trained as this value says.
_BEFORE = {"eval_photos_out": False}


def _load_resume(folder: Path, cfg: VAETrainConfig):
    """(vae, step, seconds, log, optimizer state) from a resume folder, or None."""
    from diffusers import AutoencoderKL
    from safetensors.torch import load_file

    state_path = folder / "state.json"
    if not state_path.is_file():
        return None
    info = json.loads(state_path.read_text(encoding="utf-8"))
    # A key added since the checkpoint was written takes what the older code did: its
    # default (``corpus``: False), or _BEFORE's value where the default changed.
    saved = VAETrainConfig().to_dict() | _BEFORE | dict(info.get("config") or {})
    wanted = cfg.to_dict()
    older = [k for k in _BEFORE if k not in (info.get("config") or {}) and saved[k] != wanted[k]]
    if older:
        raise ConfigError(
            f"a resume checkpoint from before {older[0]} is in the way: it trained on other photos",
            path=folder,
            hint="delete it to start this run afresh",
        )
    if saved != wanted:
        raise ConfigError(
            "a resume checkpoint from a different configuration is in the way",
            path=folder,
            hint="delete it, or train with the same options",
        )
    vae = AutoencoderKL.from_pretrained(folder / "model", use_safetensors=True)
    tensors = load_file(str(folder / "optimizer.safetensors"))
    return (
        vae,
        info["step"],
        info.get("seconds", 0.0),
        info.get("log", []),
        optimizer_state(tensors, {"param_groups": info["param_groups"]}, prefix=""),
    )


def _readable(path: Path) -> None:
    """safetensors writes 0600 files; shipped weights must be readable like the rest."""
    path.chmod(0o666 & ~current_umask())


@dataclass
class VAETrainResult:
    out: Path
    steps: int
    seconds: float
    eval: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)
    cpu_seconds: float = 0.0  # CPU time of this process (all threads), this session only


def train_vae(
    out: str | os.PathLike[str],
    cfg: VAETrainConfig | None = None,
    *,
    command: str = "",
    progress: Progress | None = None,
    resume: bool = True,
    eval_size: int = 224,
    eval_crops: int = 4,
) -> VAETrainResult:
    """Train the default VAE into ``out`` (config.json + safetensors + TRAINING.md).

    A resume checkpoint is kept in ``out/resume`` every ``checkpoint_every`` steps and
    removed when the run completes; with ``resume`` a rerun continues from it.
    ``eval_size`` and ``eval_crops`` (per held-out photo) set the evaluation only.
    """
    import torch
    from diffusers import AutoencoderKL

    from lutkit.device import keep_freed_memory
    from lutkit.distort.recipe import load_recipe
    from lutkit.latents.vae import load_vae

    cfg = cfg or VAETrainConfig()
    cfg.check()
    out = Path(out)
    _refuse_a_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    keep_freed_memory()  # the same bytes, fewer page faults (lutkit.device)
    photos = bundled_training_photos(tuple(cfg.holdout), cfg.eval_photos_out)
    if cfg.corpus:
        exclude = tuple(cfg.holdout) if cfg.eval_photos_out else ()
        photos += corpus_photos(exclude=exclude)
    recipe = load_recipe(cfg.recipe)
    progress_crops = heldout_crops(
        size=eval_size, photos=tuple(cfg.holdout), per_photo=1, distorted=False
    )

    torch.manual_seed(cfg.seed)
    vae = AutoencoderKL(**vae_config(cfg))
    if cfg.init == "block-codec":
        calibration = make_batch(photos, cfg, -1, recipe).transpose(0, 3, 1, 2).copy()
        init_block_codec(vae, torch.from_numpy(calibration), seed=cfg.seed)
    init_posterior(vae, cfg.init_logvar)
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
    cpu0 = time.process_time()
    counter = Counter(progress, cfg.steps, "vae train", start=start)
    running: dict[str, float] = {}
    for step in range(start, cfg.steps):
        for group in opt.param_groups:
            group["lr"] = vae_lr(cfg, step)
        x = torch.from_numpy(make_batch(photos, cfg, step, recipe).transpose(0, 3, 1, 2).copy())
        noise_gen = torch.Generator("cpu").manual_seed(derive_seed(cfg.seed, "vae-noise", step))
        dist = vae.encode(x).latent_dist
        recon = vae.decode(dist.sample(generator=noise_gen)).sample
        l1 = (recon - x).abs().mean()
        kl = 0.5 * (dist.mean.pow(2) + dist.var - 1.0 - dist.logvar).mean()
        loss = l1 + cfg.kl_weight * kl
        if cfg.colour_weight:
            loss = loss + cfg.colour_weight * colour_loss(
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
                "lr": vae_lr(cfg, step),
            } | {k: round(v, 5) for k, v in running.items()}
            entry |= {
                "heldout_psnr_mean": round(ev["psnr_mean"], 3),
                "heldout_psnr_sample": round(ev["psnr_sample"], 3),
            }
            log.append(entry)
            print(json.dumps(entry), file=sys.stdout, flush=True)
        if done % cfg.checkpoint_every == 0 and done < cfg.steps:
            vae.eval()
            _save_resume(resume_dir, vae, opt, done, cfg, log, time.perf_counter() - t0)
            vae.train()
        counter.add()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - cpu0

    vae.eval()
    vae.save_pretrained(out, safe_serialization=True)
    _readable(out / "diffusion_pytorch_model.safetensors")
    shutil.rmtree(resume_dir, ignore_errors=True)
    final = load_vae(out)
    crops = heldout_crops(size=eval_size, photos=tuple(cfg.holdout), per_photo=eval_crops)
    report = evaluate_vae(final, crops, seed=cfg.seed)
    result = VAETrainResult(out, cfg.steps, seconds, report, log, cpu_seconds)
    _write_report(out, cfg, result, final, command, [p.name for p in photos])
    return result


def _write_report(out: Path, cfg, result: VAETrainResult, vae, command: str, names) -> None:
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
        "cpu_seconds": round(result.cpu_seconds, 1),
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
            f"{g['delta_e_mean']:.2f} | {g['delta_e_sample']:.2f} | {g['logvar']:.2f} | "
            f"{g['psnr_bicubic']:.2f} | {g['delta_e_bicubic']:.2f} |"
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
        f"left-right flips) of the bundled photos {', '.join(n for n in names if ':' not in n)}"
        + (
            f" and of {sum(':' in n for n in names)} curated photographs (`lutkit photos "
            f"fetch`; the train split of the default model's dataset, at most "
            f"{CORPUS_MAX_SIDE} px: `training.json` names them)"
            if cfg.corpus
            else ""
        )
        + "; "
        f"{cfg.distort_p:.0%} of crops recoloured by the `{cfg.recipe}` recipe",
        f"- held out (never trained on): {', '.join(cfg.holdout)}"
        + (
            ", and every photo the default model is evaluated on"
            if cfg.eval_photos_out
            else " as bundled photos (eval_photos_out off: curated copies of them and the "
            "default model's evaluation photos may be trained on)"
        ),
        f"- initialisation: `{cfg.init}`"
        + (
            " (starts as a block-average colour codec: exact 8x8 tile colours, as sharp as "
            "nearest-neighbour upscaling of the tiles; see `init_block_codec`)"
            if cfg.init == "block-codec"
            else " (diffusers' default)"
        ),
        f"- loss: L1 + {cfg.colour_weight:g} x L1 of the mean colours of 8x8 tiles + "
        f"{cfg.kl_weight:g} x KL (each averaged per element); posterior log-variance "
        f"initialised at {cfg.init_logvar:g}; AdamW lr "
        f"{cfg.lr:g}, {cfg.warmup} warm-up steps, cosine to {cfg.min_lr_ratio:g} x lr; "
        f"batch {cfg.batch_size}, {cfg.steps} steps, seed {cfg.seed}",
        f"- time: {result.seconds / 60:.1f} min wall, {result.cpu_seconds / 60:.1f} min CPU, "
        f"on {record['machine']} (torch {torch.__version__})",
        "",
        "Held-out reconstruction at 224x224 (per crop: the centre crop and seeded random",
        "crops of each held-out photo, clean and recoloured by the recipe); `mean` decodes",
        "the posterior mean, `sample` a seeded posterior sample; `bicubic` is the reference",
        "with no VAE (each crop averaged to the latent grid, upsampled bicubically):",
        "",
        "| crops | PSNR mean (dB) | PSNR sample (dB) | dE2000 mean | dE2000 sample "
        "| mean logvar | PSNR bicubic (dB) | dE2000 bicubic |",
        "|---|---|---|---|---|---|---|---|",
        row("all"),
        row("clean"),
        row("distorted"),
        "",
        "Reproduce with `make vae` (the same command); `lutkit vae eval` measures it again.",
        "The loss curve and every number above are in `training.json`.",
        "",
        "For scale: Stable Diffusion's `kl-f8` autoencoder has the same latent shape (8x",
        "downsampling, 4 channels) at about 84 M parameters, and its model card",
        "(`stabilityai/sd-vae-ft-mse`) reports 23.4 dB PSNR on COCO 2017 val at 256x256",
        "(24.5 dB with its decoder fine-tuned for MSE), and on LAION-Aesthetics images 26.0 dB",
        "(27.3 dB fine-tuned); other photographs than the ones held out here.",
        "",
    ]
    atomic_write_text(out / "TRAINING.md", "\n".join(lines))
