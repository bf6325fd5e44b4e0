"""Pipeline benchmarks: distortion throughput, dataset building and VAE latents, each
beside a floor or a naive loop measured in the same run."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from lutkit.bench.measure import grade_lut, median_time, round_robin


def bench_distort(repeat: int = 5) -> str:
    """Images per second at 512x512 for every op, each family's recipe and the default
    recipe, beside one LUT apply on the same image (the ratio is each op's overhead)."""
    from lutkit.distort.base import OpRecord, all_ops, apply_chain, merged
    from lutkit.distort.recipe import load_recipe
    from lutkit.images import load_image, to_float
    from lutkit.luts.apply import apply_lut
    from lutkit.samples import sample_photo
    from lutkit.seeds import derive_seed, rng

    img = np.ascontiguousarray(to_float(load_image(sample_photo("astronaut").path).pixels))
    lut = grade_lut()
    t_lut = median_time(lambda: apply_lut(lut, img), repeat)
    rows = [("one 33^3 LUT apply (float32)", t_lut)]
    for name, op in all_ops().items():
        params = [op.sample(rng(derive_seed(name, k)), merged(op, None)) for k in range(8)]
        recs = itertools.cycle([[OpRecord(name, p)] for p in params])
        rows.append((f"op {name}", median_time(lambda r=recs: apply_chain(img, next(r)), repeat)))
    for recipe in ("lighting", "curves", "film", "lut-library", "default"):
        rec = load_recipe(recipe)
        chains = itertools.cycle([rec.sample(rng(derive_seed(recipe, s))) for s in range(16)])
        rows.append(
            (
                f"recipe {recipe} (sample + apply)",
                median_time(lambda c=chains: apply_chain(img, next(c)), repeat * 2),
            )
        )
    lines = [
        "Distortion throughput, 512x512 float32 photo",
        "",
        "| what | images/s | time / one LUT apply |",
        "|---|---:|---:|",
    ]
    for name, seconds in rows:
        lines.append(f"| {name} | {1 / seconds:.1f} | {seconds / t_lut:.1f}x |")
    text = "\n".join(lines)
    print(text)
    return text


def bench_dataset(photos: int = 8, variants: int = 2, size: int = 256, rounds: int = 5) -> str:
    """Pairs per second from 12-megapixel JPEGs at ``size``, with 1 and 2 workers,
    beside the floor measured in the same run: decode + resize + PNG encode of the
    same images with no distortion (one process)."""
    import cv2

    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.data.png import encode_png
    from lutkit.data.views import prepare
    from lutkit.device import keep_freed_memory
    from lutkit.images import load_image, save_image
    from lutkit.samples import sample_photos

    # The floor runs with the allocator setting the build's workers run with (they keep
    # freed memory, lutkit.device): the ratio is of the work, not of the allocator.
    keep_freed_memory()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "photos"
        src.mkdir()
        bundled = sample_photos()
        for i in range(photos):
            img = load_image(bundled[i % len(bundled)].path).pixels
            big = cv2.resize(img, (4000, 3000), interpolation=cv2.INTER_CUBIC)
            save_image(src / f"{i:03d}.jpg", np.roll(big, i * 131, axis=1), quality=92)
        files = sorted(src.glob("*.jpg"))

        def floor() -> None:
            for f in files:
                clean = prepare(f, size)[0]
                for _ in range(variants):
                    encode_png(clean)
                    encode_png(clean)

        def build(workers: int) -> None:
            out = tmp / f"ds-{workers}"
            shutil.rmtree(out, ignore_errors=True)
            cfg = BuildConfig(
                source=str(src),
                recipe="default",
                out=str(out),
                variants=variants,
                size=size,
                rows_per_shard=variants,
                splits=(1.0, 0.0, 0.0),  # timed, not trained on: no split warnings
            )
            build_dataset(cfg, workers=workers)

        t = round_robin({"floor": floor, "1": lambda: build(1), "2": lambda: build(2)}, rounds)
        t_floor, rows = t["floor"], [(1, t["1"]), (2, t["2"])]
        n = photos * variants
        lines = [
            f"Dataset build, {photos} photos of 12 MP (JPEG) x {variants} variants at {size} px,"
            f" recipe default, ground-truth LUTs on; medians of {rounds} round-robin runs",
            "",
            "| what | pairs/s | time / floor |",
            "|---|---:|---:|",
            f"| floor: decode + resize + 2 PNG encodes, no distortion (1 process, freed "
            f"memory kept as in the build) | "
            f"{n / t_floor:.1f} | 1.00x |",
        ]
        for workers, seconds in rows:
            lines.append(
                f"| lutkit dataset build, {workers} worker(s) | {n / seconds:.1f} | "
                f"{seconds / t_floor:.2f}x |"
            )
        lines.append("")
        lines.append(f"2 workers / 1 worker: {rows[0][1] / rows[1][1]:.2f}x")
        text = "\n".join(lines)
        print(text)
        return text


# The loop a user would write, run in a process of its own (lutkit's allocator setting,
# lutkit.device.keep_freed_memory, stays out of it): prints images and loop seconds.
_NAIVE_LOOP = """
import sys, time
import torch
from lutkit.data.png import decode_png
from lutkit.data.shards import read_shard_file
from lutkit.latents.vae import center_crop_resize, load_vae

vae, threads, shards = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
torch.set_num_threads(threads)
model = load_vae(vae)
with torch.no_grad():
    model.encode(torch.zeros(1, 3, 224, 224))  # warm-up, as the in-process runs had
n, t = 0, time.perf_counter()
for shard in shards:
    table = read_shard_file(shard, columns=["clean", "distorted"])
    for col in ("clean", "distorted"):
        for cell in table.column(col):
            img = center_crop_resize(decode_png(cell.as_py()), 224)
            x = torch.from_numpy(img.transpose(2, 0, 1)[None].copy())
            with torch.no_grad():
                _ = model.encode(x).latent_dist.mean
            n += 1
print(n, time.perf_counter() - t)
"""


def _naive_loop(vae: str, threads: int, shards: list[Path]) -> tuple[int, float]:
    """(images, seconds) of the naive loop in a fresh Python process."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _NAIVE_LOOP, vae, str(threads), *map(str, shards)],
        capture_output=True,
        text=True,
        check=True,
    )
    n, seconds = out.stdout.split()
    return int(n), float(seconds)


def bench_latents(vae: str = "default", variants: int = 2, rounds: int = 3) -> str:
    """Images per second of ``lutkit latents`` against the loop a user would write (one
    image at a time through ``vae.encode``, float32, no batching, torch's default
    threads, in a Python process of its own), same model, same images, same run:
    medians of ``rounds`` round-robin runs. Both include decoding the PNGs from the
    shards. A third row runs the naive loop at lutkit's thread count, to show what the
    threads alone are worth."""
    import statistics

    import torch

    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.errors import LutkitError
    from lutkit.latents.encode import CPU_CHUNK, cpu_threads, encode_dataset
    from lutkit.latents.vae import load_vae

    try:
        load_vae(vae)
    except LutkitError as exc:
        text = f"VAE latents: skipped ({exc})"
        print(text)
        return text

    default_threads = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "ds"
        build_dataset(
            BuildConfig(
                source="sample",
                recipe="curves",
                out=str(ds),
                variants=variants,
                ground_truth=False,
                splits=(1.0, 0.0, 0.0),  # every pair encoded, whichever split
            ),
            workers=2,
        )
        shards = sorted((ds / "pairs").glob("*.parquet"))
        images = 0

        def naive(threads: int) -> float:
            nonlocal images
            images, seconds = _naive_loop(vae, threads, shards)
            return seconds

        def ours() -> float:
            shutil.rmtree(ds / "latents", ignore_errors=True)
            t = time.perf_counter()
            encode_dataset(ds, vae=vae, batch_size=16, device="cpu")
            return time.perf_counter() - t

        ours_threads = cpu_threads()  # what lutkit picks on this machine now
        runs = {
            "naive": lambda: naive(default_threads),
            "naive-threads": lambda: naive(ours_threads),
            "ours": ours,
        }
        ours()  # warm-up
        times: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(rounds):
            for name, fn in runs.items():
                times[name].append(fn())
        torch.set_num_threads(default_threads)
    t = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        f"VAE latents at 224, {images} images, VAE {vae!r}, CPU; medians of {rounds} "
        "round-robin runs",
        "",
        "| what | images/s | lutkit / naive |",
        "|---|---:|---:|",
        f"| naive loop: one image at a time, vae.encode, float32, {default_threads} "
        f"thread(s) (torch's default), its own process | {images / t['naive']:.1f} | 1.00x |",
        f"| naive loop at lutkit's {ours_threads} thread(s) | "
        f"{images / t['naive-threads']:.1f} | {t['naive'] / t['naive-threads']:.2f}x |",
        f"| lutkit latents (batch 16 pairs, {CPU_CHUNK} images a call, channels-last, "
        f"inference mode, decode overlapped, freed memory kept, chunks at once: the "
        f"idle cores, {ours_threads} at the start, one torch thread each) | "
        f"{images / t['ours']:.1f} | {t['naive'] / t['ours']:.2f}x |",
    ]
    text = "\n".join(lines)
    print(text)
    return text
