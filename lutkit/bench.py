"""Benchmarks: ``python -m lutkit.bench [lut|distort|dataset|latents|train|all]``
(``make bench`` runs ``all`` into reports/bench.md, headed by the machine and versions).

Every figure is measured in the same run as the peer it is compared with, on the same
image, and printed as a ratio; nothing here is asserted by the tests.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

W, H = 3840, 2160


def _photo_4k() -> np.ndarray:
    """A 3840x2160 uint8 photograph: bundled photos upscaled and tiled."""
    import cv2

    from lutkit.images import load_image
    from lutkit.samples import sample_photo

    tiles = [load_image(sample_photo(n).path).pixels for n in ("astronaut", "coffee", "chelsea")]
    tiles = [cv2.resize(t, (W // 3 + 1, H), interpolation=cv2.INTER_CUBIC) for t in tiles]
    return np.ascontiguousarray(np.concatenate(tiles, axis=1)[:, :W])


def _grade_lut(size: int = 33):
    from lutkit.luts.model import LUT3D

    def grade(rgb: np.ndarray) -> np.ndarray:
        r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        return np.clip(
            np.stack(
                [0.9 * r**0.8 + 0.08 * g, 0.15 * r + 0.8 * g**1.1, 0.8 * b**1.2 + 0.1 * r], -1
            ),
            0,
            1,
        )

    return LUT3D.from_function(grade, size, title="bench grade")


def _time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (compilation, caches)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_lut(repeat: int = 5, folder_images: int = 6) -> list[tuple[str, float, str]]:
    """Apply a 33^3 LUT to a 3840x2160 photo with lutkit and its peers; returns rows of
    (name, megapixels per second, note)."""
    import colour
    import PyOpenColorIO as ocio
    import torch
    from PIL import Image, ImageFilter

    from lutkit.luts import apply as apply_mod
    from lutkit.luts.apply import apply_lut
    from lutkit.luts.cube import write_cube
    from lutkit.luts.torch_apply import apply_lut3d

    img = _photo_4k()
    mpx = W * H / 1e6
    lut = _grade_lut()
    rows: list[tuple[str, float, str]] = []

    def add(name: str, seconds: float, note: str = "") -> None:
        rows.append((name, mpx / seconds, note))

    apply_mod._dense_cache.clear()
    t = time.perf_counter()
    apply_mod.dense_table(lut)
    build = time.perf_counter() - t
    imgf = img.astype(np.float32) / 255
    pil = Image.fromarray(img)
    # Pillow's table lists red fastest: [b, g, r] order of our [r, g, b] table.
    flt = ImageFilter.Color3DLUT(lut.size, lut.table.transpose(2, 1, 0, 3).reshape(-1, 3))
    tmp = tempfile.TemporaryDirectory()
    cube = Path(tmp.name) / "grade.cube"
    write_cube(lut, cube)
    config = ocio.Config.CreateRaw()
    ft = ocio.FileTransform(str(cube), interpolation=ocio.INTERP_TETRAHEDRAL)
    cpu = config.getProcessor(ft).getDefaultCPUProcessor()
    cpu8 = config.getProcessor(ft).getOptimizedCPUProcessor(
        ocio.BIT_DEPTH_UINT8, ocio.BIT_DEPTH_UINT8, ocio.OPTIMIZATION_DEFAULT
    )

    def ocio8() -> None:
        buf = img.copy()
        cpu8.apply(ocio.PackedImageDesc(buf, W, H, 3, ocio.BIT_DEPTH_UINT8, 1, 3, W * 3))

    cases = [
        (
            "lutkit tetrahedral uint8",
            lambda: apply_lut(lut, img, method="direct"),
            "C kernel, all cores",
        ),
        (
            "lutkit trilinear uint8",
            lambda: apply_lut(lut, img, interp="trilinear", method="direct"),
            "",
        ),
        (
            "lutkit tetrahedral uint8, dense 256^3 table",
            lambda: apply_lut(lut, img, method="dense"),
            f"table built once per LUT in {build:.2f} s",
        ),
        ("lutkit tetrahedral float32", lambda: apply_lut(lut, imgf), ""),
        ("Pillow Color3DLUT (trilinear, uint8)", lambda: pil.filter(flt), "single-threaded C"),
        (
            "OpenColorIO CPU (tetrahedral, float32)",
            lambda: cpu.applyRGB(imgf.copy()),
            "in-process, in place",
        ),
        ("OpenColorIO CPU (uint8 packed)", ocio8, ""),
    ]
    # Round robin (A B C ... A B C ...), medians: a shared machine's speed drifts, and
    # this way every method sees the same drift.
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _, fn, _ in cases:
        fn()  # warm-up
    for _ in range(repeat):
        for name, fn, _ in cases:
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    for name, _, note in cases:
        add(name, statistics.median(times[name]), note)
    tmp.cleanup()

    crop = imgf[:270]  # colour-science is slow: time 1/8 of the image and scale
    table = colour.LUT3D(lut.table.astype(np.float64))
    t_c = _time(
        lambda: table.apply(crop, interpolator=colour.algebra.table_interpolation_tetrahedral), 1
    )
    add("colour-science LUT3D.apply (tetrahedral)", t_c * H / crop.shape[0], "timed on 1/8")

    ttab = torch.from_numpy(lut.table)
    timg = torch.from_numpy(imgf).permute(2, 0, 1)[None].contiguous()
    with torch.inference_mode():
        add(
            "torch grid_sample (trilinear, float32)",
            _time(lambda: apply_lut3d(ttab, timg), max(1, repeat // 2)),
            f"{torch.get_num_threads()} threads",
        )
    if folder_images:
        rows.extend(bench_folder(img, lut, folder_images))
    return rows


_PILLOW_SCRIPT = """
import sys
from pathlib import Path
import numpy as np
from PIL import Image, ImageFilter
table = np.load(sys.argv[1])
n = table.shape[0]
flt = ImageFilter.Color3DLUT(n, table.transpose(2, 1, 0, 3).reshape(-1, 3))
out = Path(sys.argv[3]); out.mkdir(exist_ok=True)
for p in sorted(Path(sys.argv[2]).glob("*.jpg")):
    Image.open(p).filter(flt).save(out / p.name, quality=95, subsampling=0)
"""


def bench_folder(img: np.ndarray, lut, count: int) -> list[tuple[str, float, str]]:
    """Whole commands: ``lutkit lut apply`` on a folder of 4K JPEGs vs a plain Pillow
    script doing the same (same JPEG quality and chroma subsampling)."""
    from lutkit.images import save_image
    from lutkit.luts.cube import write_cube

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "in"
        src.mkdir()
        for i in range(count):
            save_image(src / f"{i:03d}.jpg", np.roll(img, i * 97, axis=1))
        write_cube(lut, tmp / "grade.cube")
        np.save(tmp / "grade.npy", lut.table)
        (tmp / "pillow_apply.py").write_text(_PILLOW_SCRIPT)
        lutkit_exe = Path(sys.executable).with_name("lutkit")
        cmds = {
            "lutkit lut apply (folder of 4K JPEGs)": [
                str(lutkit_exe),
                "lut",
                "apply",
                str(tmp / "grade.cube"),
                str(src),
                "-o",
                str(tmp / "out-lutkit"),
            ],
            "plain Pillow script (same folder)": [
                sys.executable,
                str(tmp / "pillow_apply.py"),
                str(tmp / "grade.npy"),
                str(src),
                str(tmp / "out-pillow"),
            ],
        }
        env = dict(os.environ, TQDM_DISABLE="1")
        for name, cmd in cmds.items():
            times = []
            for _ in range(3):
                t = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True, env=env)
                times.append(time.perf_counter() - t)
            seconds = statistics.median(times)
            rows.append(
                (
                    name,
                    count * W * H / 1e6 / seconds,
                    f"{count} images, whole process, {seconds:.2f} s",
                )
            )
    return rows


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
    lut = _grade_lut()
    t_lut = _time(lambda: apply_lut(lut, img), repeat)
    rows = [("one 33^3 LUT apply (float32)", t_lut)]
    for name, op in all_ops().items():
        if op.family == "lut3d":
            continue  # the library LUT op is a LUT apply plus a cached file read
        params = [op.sample(rng(derive_seed(name, k)), merged(op, None)) for k in range(8)]
        recs = itertools.cycle([[OpRecord(name, p)] for p in params])
        rows.append((f"op {name}", _time(lambda r=recs: apply_chain(img, next(r)), repeat)))
    for recipe in ("lighting", "curves", "film", "lut-library", "default"):
        rec = load_recipe(recipe)
        chains = itertools.cycle([rec.sample(rng(derive_seed(recipe, s))) for s in range(16)])
        rows.append(
            (
                f"recipe {recipe} (sample + apply)",
                _time(lambda c=chains: apply_chain(img, next(c)), repeat * 2),
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


def bench_dataset(photos: int = 8, variants: int = 2, size: int = 256) -> str:
    """Pairs per second from 12-megapixel JPEGs at ``size``, with 1 and 2 workers,
    beside the floor measured in the same run: decode + resize + PNG encode of the
    same images with no distortion (one process)."""
    import cv2

    from lutkit.data.build import BuildConfig, build_dataset, prepare
    from lutkit.data.png import encode_png
    from lutkit.images import load_image, save_image
    from lutkit.samples import sample_photos

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
                clean = prepare(f, size)
                for _ in range(variants):
                    encode_png(clean)
                    encode_png(clean)

        t_floor = _time(floor, 2)
        rows = []
        for workers in (1, 2):

            def build(w: int = workers) -> None:
                out = tmp / f"ds-{w}"
                shutil.rmtree(out, ignore_errors=True)
                cfg = BuildConfig(
                    source=str(src),
                    recipe="default",
                    out=str(out),
                    variants=variants,
                    size=size,
                    rows_per_shard=variants,
                )
                build_dataset(cfg, workers=w)

            rows.append((workers, _time(build, 2)))
        n = photos * variants
        lines = [
            f"Dataset build, {photos} photos of 12 MP (JPEG) x {variants} variants at {size} px,"
            " recipe default, ground-truth LUTs on",
            "",
            "| what | pairs/s | time / floor |",
            "|---|---:|---:|",
            f"| floor: decode + resize + 2 PNG encodes, no distortion (1 process) | "
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


def bench_latents(vae: str = "default", variants: int = 4) -> str:
    """Images per second of ``lutkit latents`` against the loop a user would write (one
    image at a time through ``vae.encode``, float32, no batching), same model, same
    images, same run. Both include decoding the PNGs from the shards."""
    import torch

    from lutkit.data.build import BuildConfig, build_dataset
    from lutkit.data.png import decode_png
    from lutkit.data.shards import read_shard_file
    from lutkit.errors import LutkitError
    from lutkit.latents.encode import encode_dataset
    from lutkit.latents.vae import center_crop_resize, load_vae

    try:
        load_vae(vae)
    except LutkitError as exc:
        text = f"VAE latents: skipped ({exc})"
        print(text)
        return text

    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "ds"
        build_dataset(
            BuildConfig(
                source="sample", recipe="curves", out=str(ds), variants=variants, ground_truth=False
            ),
            workers=2,
        )
        shards = sorted((ds / "pairs").glob("*.parquet"))
        model = load_vae(vae)

        def naive() -> int:
            n = 0
            for shard in shards:
                table = read_shard_file(shard, columns=["clean", "distorted"])
                for col in ("clean", "distorted"):
                    for cell in table.column(col):
                        img = center_crop_resize(decode_png(cell.as_py()), 224)
                        x = torch.from_numpy(img.transpose(2, 0, 1)[None].copy())
                        with torch.no_grad():
                            _ = model.encode(x).latent_dist.mean
                        n += 1
            return n

        t = time.perf_counter()
        images = naive()
        t_naive = time.perf_counter() - t

        def ours() -> None:
            shutil.rmtree(ds / "latents", ignore_errors=True)
            encode_dataset(ds, vae=vae, batch_size=16, device="cpu")

        ours()  # warm-up
        t_ours = _time(ours, 2)
    lines = [
        f"VAE latents at 224, {images} images, VAE {vae!r}, CPU ({torch.get_num_threads()} threads)",
        "",
        "| what | images/s | lutkit / naive |",
        "|---|---:|---:|",
        f"| naive loop: one image at a time, vae.encode, float32 | {images / t_naive:.1f} | 1.00x |",
        f"| lutkit latents (batch 16, channels-last, inference mode, decode overlapped) | "
        f"{images / t_ours:.1f} | {t_naive / t_ours:.2f}x |",
    ]
    text = "\n".join(lines)
    print(text)
    return text


def print_table(rows: list[tuple[str, float, str]], reference: str) -> str:
    ref = dict((n, v) for n, v, _ in rows)[reference]
    lines = [
        f"LUT apply, 33^3 LUT, {W}x{H} uint8 photo ({os.cpu_count()} cores)",
        "",
        f"| method | Mpx/s | {reference.split(' (')[0]} / method | note |",
        "|---|---:|---:|---|",
    ]
    for name, value, note in rows:
        lines.append(f"| {name} | {value:.1f} | {ref / value:.2f}x | {note} |")
    folder = [r for r in rows if "folder" in r[0] or "Pillow script" in r[0]]
    if len(folder) == 2:
        lines.append("")
        lines.append(
            f"Whole command: lutkit lut apply is {folder[0][1] / folder[1][1]:.2f}x a plain "
            "Pillow script on the same folder."
        )
    text = "\n".join(lines)
    print(text)
    return text


def machine_header() -> str:
    """Where and with what the numbers were measured (the head of reports/bench.md)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for pkg in ("lutkit", "numpy", "torch", "diffusers", "pillow", "opencolorio", "colour-science"):
        try:
            versions.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            versions.append(f"{pkg} (not installed)")
    return "\n".join(
        [
            "# lutkit benchmarks",
            "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node() or 'this machine'}: "
            f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}.",
            "",
            "Versions: " + ", ".join(versions) + ".",
            "",
            "Every ratio compares methods measured in the same run on the same input.",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lutkit.bench")
    parser.add_argument(
        "suite",
        choices=["lut", "distort", "dataset", "latents", "train", "all"],
        nargs="?",
        default="all",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--folder-images", type=int, default=6)
    parser.add_argument("-o", "--output", help="Also write the table (Markdown) here.")
    args = parser.parse_args(argv)
    parts = []
    if args.suite in ("lut", "all"):
        rows = bench_lut(args.repeat, args.folder_images)
        parts.append(print_table(rows, "lutkit tetrahedral uint8"))
        print()
    if args.suite in ("distort", "all"):
        parts.append(bench_distort(args.repeat))
        print()
    if args.suite in ("dataset", "all"):
        parts.append(bench_dataset())
        print()
    if args.suite in ("latents", "all"):
        parts.append(bench_latents())
        print()
    if args.suite in ("train", "all"):
        from lutkit.bench_train import bench_train

        parts.append(bench_train())
    text = "\n\n".join([machine_header(), *parts])
    if args.output:
        from lutkit.fsutil import atomic_write_text

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.output, text + "\n")


if __name__ == "__main__":
    main()
