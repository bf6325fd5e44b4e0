"""Training and fix benchmarks: the latent method against a direct pixel-space FCN.

``lutkit bench train`` (part of ``make bench``). Two tables, both measured in
one run on this machine:

1. Training seconds per epoch: the recolor net on latents (8x28x28, KL loss) against
   the pixel-space FCN (:class:`lutkit.models.fcn.PixelFCN`) on the same pairs at
   224x224 (L1 loss); both with AdamW/Adam, the same batch size and pair count.
2. ``fix`` on a 24-megapixel photo (6000x4000, uint8): ``fit`` and ``net`` split into
   model time (encode at 224, recolor, then the fitted map or the LUT net, baked into
   a 33^3 LUT) and LUT-apply time, against the FCN run on the full image (tiled).

Speed does not depend on the weights, so the nets are freshly initialised with the
demo run's sizes; the VAE is lutkit's default.
"""

from __future__ import annotations

import statistics
import time
from types import SimpleNamespace

import numpy as np

from lutkit.bench.measure import median_time

PAIRS = 32
BATCH = 8


def _pairs(n: int, size: int = 224) -> tuple[np.ndarray, np.ndarray]:
    """n (distorted, clean) float32 pairs at size: bundled photos under seeded casts."""
    import cv2

    from lutkit.distort.base import apply_chain
    from lutkit.distort.recipe import load_recipe
    from lutkit.images import load_image, to_float
    from lutkit.samples import sample_photos
    from lutkit.seeds import rng

    recipe = load_recipe("lighting")
    photos = []
    for p in sample_photos():
        img = to_float(load_image(p.path).pixels)
        h, w = img.shape[:2]
        s = size / min(h, w)
        img = cv2.resize(img, (max(size, round(w * s)), max(size, round(h * s))))
        y, x = (img.shape[0] - size) // 2, (img.shape[1] - size) // 2
        photos.append(np.clip(img[y : y + size, x : x + size], 0, 1))
    clean = np.stack([photos[i % len(photos)] for i in range(n)])
    dist = np.stack(
        [np.clip(apply_chain(c, recipe.sample(rng(i))), 0, 1) for i, c in enumerate(clean)]
    )
    return dist.astype(np.float32), clean.astype(np.float32)


def bench_train_epoch(repeat: int = 3) -> str:
    """Seconds per training epoch: recolor net on latents vs the FCN on pixels."""
    import torch
    import torch.nn.functional as F

    from lutkit.latents.vae import encode_posterior, load_vae
    from lutkit.models.fcn import PixelFCN
    from lutkit.models.recolor import RecolorNet, kl_loss
    from lutkit.train.config import load_config

    cfg = load_config("pipelines/train/demo.toml") if _has_demo_config() else None
    width, blocks = (cfg.width, cfg.res_blocks) if cfg else (16, 3)
    dist, clean = _pairs(PAIRS)
    vae = load_vae("default")
    x_d = torch.from_numpy(dist.transpose(0, 3, 1, 2).copy())
    x_c = torch.from_numpy(clean.transpose(0, 3, 1, 2).copy())
    t = time.perf_counter()
    lat_d = torch.cat(encode_posterior(vae, x_d), dim=1)
    lat_c = torch.cat(encode_posterior(vae, x_c), dim=1)
    encode_s = time.perf_counter() - t
    torch.manual_seed(0)
    recolor = RecolorNet(lat_d.shape[1], width, blocks, "instance", True)
    fcn = PixelFCN()
    opt_r = torch.optim.AdamW(recolor.parameters(), lr=1e-3)
    opt_f = torch.optim.Adam(fcn.parameters(), lr=1e-3)

    def epoch(model, opt, inputs, targets, loss_fn) -> None:
        model.train()
        for k in range(0, len(inputs), BATCH):
            loss = loss_fn(model(inputs[k : k + BATCH]), targets[k : k + BATCH])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def recolor_epoch() -> None:
        epoch(recolor, opt_r, lat_d, lat_c, kl_loss)

    def fcn_epoch() -> None:
        epoch(fcn, opt_f, x_d, x_c, F.l1_loss)

    recolor_epoch(), fcn_epoch()  # warm-up
    t_r, t_f = [], []
    for _ in range(repeat):  # round-robin, so a busy moment hits both
        t_r.append(median_time(recolor_epoch, 1, warmup=False))
        t_f.append(median_time(fcn_epoch, 1, warmup=False))
    r, f = statistics.median(t_r), statistics.median(t_f)
    n_r = sum(p.numel() for p in recolor.parameters())
    n_f = sum(p.numel() for p in fcn.parameters())
    lines = [
        f"Training, one epoch of {PAIRS} pairs at 224x224, batch {BATCH}, CPU "
        f"({torch.get_num_threads()} threads); median of {repeat}, round-robin",
        "",
        "| model | input | params | s / epoch | FCN / model |",
        "|---|---|---:|---:|---:|",
        f"| recolor net (width {width}, {blocks} blocks, KL) | latents "
        f"{tuple(lat_d.shape[1:])} | {n_r:,} | {r:.3f} | {f / r:.1f}x |",
        f"| pixel FCN (U-Net width 16, depth 3, L1) | pixels (3, 224, 224) | {n_f:,} | "
        f"{f:.3f} | 1.0x |",
        "",
        f"The latents are encoded once per dataset ({encode_s / (2 * PAIRS) * 1000:.0f} ms "
        "an image here with the default VAE, `lutkit latents`), not per epoch.",
    ]
    text = "\n".join(lines)
    print(text)
    return text


def _has_demo_config() -> bool:
    from pathlib import Path

    return Path("pipelines/train/demo.toml").is_file()


def bench_fix(width: int = 6000, height: int = 4000) -> str:
    """``fix`` on a 24 MP photo: fit and net (model + LUT apply) vs the FCN (tiled)."""
    import cv2
    import torch

    from lutkit.correct.fix import preview
    from lutkit.correct.predict import predict_correction
    from lutkit.latents.vae import load_vae
    from lutkit.luts.apply import apply_lut
    from lutkit.models.colormap import LUTNet
    from lutkit.models.fcn import PixelFCN
    from lutkit.models.recolor import RecolorNet

    dist, _ = _pairs(1, 1024)
    big = cv2.resize((dist[0] * 255 + 0.5).astype(np.uint8), (width, height), cv2.INTER_CUBIC)
    torch.manual_seed(0)
    run = SimpleNamespace(
        vae=load_vae("default"),
        recolor=RecolorNet(8, 16, 3, "instance", True).eval(),
        lutnet=LUTNet(8, 16, 3, 17).eval(),
        device="cpu",
        name="bench",
        image_size=224,
    )
    rows = []
    for colormap in ("fit", "net"):
        t = time.perf_counter()
        lut = predict_correction(run, preview(big), colormap=colormap)
        model_s = time.perf_counter() - t
        t = time.perf_counter()
        apply_lut(lut, big)
        apply_s = time.perf_counter() - t
        rows.append((colormap, model_s, apply_s))
    fcn = PixelFCN().eval()
    t = time.perf_counter()
    fcn.correct(big)
    fcn_s = time.perf_counter() - t
    lines = [
        f"lutkit fix on a {width}x{height} ({width * height / 1e6:.0f} MP) uint8 photo, CPU "
        f"({torch.get_num_threads()} threads); one run each, same process",
        "",
        "| method | model s | LUT apply s | total s | FCN / method |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, model_s, apply_s in rows:
        total = model_s + apply_s
        lines.append(
            f"| lutkit fix --colormap {name} | {model_s:.2f} | {apply_s:.2f} | {total:.2f} | "
            f"{fcn_s / total:.1f}x |"
        )
    lines.append(
        f"| pixel FCN on the full image (1024 tiles) | {fcn_s:.2f} | - | {fcn_s:.2f} | 1.0x |"
    )
    text = "\n".join(lines)
    print(text)
    return text


def bench_methods(model: str = "runs/demo", baselines: str = "reports/demo/baselines") -> str:
    """Seconds per 12 MP photo of every method ``lutkit eval`` compares (the trained demo
    run and, when ``make eval`` has cached them, the learned baselines)."""
    from pathlib import Path

    import cv2

    from lutkit.evaluate import method_timings

    if not (Path(model) / "config.json").is_file():
        text = f"Every evaluated method: skipped (no trained run at {model}; run `make train`)"
        print(text)
        return text
    dist, _ = _pairs(1, 1024)
    photo = cv2.resize((dist[0] * 255 + 0.5).astype(np.uint8), (4000, 3000), cv2.INTER_CUBIC)
    rows = method_timings(model, [photo], baselines=baselines if Path(baselines).is_dir() else None)
    ref = next((r["seconds"] for r in rows if r["method"] == "lutkit-fit"), None)
    lines = [
        f"Every evaluated method on a 4000x3000 (12 MP) uint8 photo, run {model}, CPU",
        "",
        "| method | s / image | Mpx/s | method / lutkit fit |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        ratio = f"{r['seconds'] / ref:.2f}x" if ref else "-"
        lines.append(
            f"| {r['label']} | {r['seconds']:.2f} | {r['megapixels_per_second']:.1f} | {ratio} |"
        )
    text = "\n".join(lines)
    print(text)
    return text


def bench_train() -> str:
    return "\n\n".join([bench_train_epoch(), bench_fix(), bench_methods()])
