"""LUT-apply benchmarks: lutkit against Pillow, OpenColorIO, colour-science and torch on a
3840x2160 photo, and ``lutkit lut apply`` on a folder against a plain Pillow script."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from lutkit.bench.measure import grade_lut, median_time, round_robin

W, H = 3840, 2160
_PATHS = {0: "scalar", 1: "SSE2"}


def _photo_4k() -> np.ndarray:
    """A 3840x2160 uint8 photograph: bundled photos upscaled and tiled."""
    import cv2

    from lutkit.images import load_image
    from lutkit.samples import sample_photo

    tiles = [load_image(sample_photo(n).path).pixels for n in ("astronaut", "coffee", "chelsea")]
    tiles = [cv2.resize(t, (W // 3 + 1, H), interpolation=cv2.INTER_CUBIC) for t in tiles]
    return np.ascontiguousarray(np.concatenate(tiles, axis=1)[:, :W])


def bench_lut(repeat: int = 5, folder_images: int = 6) -> list[tuple[str, float, str]]:
    """Apply a 33^3 LUT to a 3840x2160 photo with lutkit and its peers; returns rows of
    (name, megapixels per second, note)."""
    import colour
    import PyOpenColorIO as ocio
    import torch
    from PIL import Image, ImageFilter

    from lutkit.luts import _lutc
    from lutkit.luts import apply as apply_mod
    from lutkit.luts.apply import apply_lut
    from lutkit.luts.cube import write_cube
    from lutkit.luts.torch_apply import apply_lut3d

    img = _photo_4k()
    mpx = W * H / 1e6
    lut = grade_lut()
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

    path = _lutc.path()

    def on_path(p: int, fn):
        def run():
            _lutc.set_path(p)
            try:
                fn()
            finally:
                _lutc.set_path(path)

        return run

    def one_thread(fn):
        def run():
            before = os.environ.get("LUTKIT_THREADS")
            os.environ["LUTKIT_THREADS"] = "1"
            try:
                fn()
            finally:
                if before is None:
                    del os.environ["LUTKIT_THREADS"]
                else:
                    os.environ["LUTKIT_THREADS"] = before

        return run

    cases = [
        (
            "lutkit tetrahedral uint8",
            lambda: apply_lut(lut, img, method="direct"),
            f"C kernel, {_PATHS[path]} path, {apply_mod.threads()} thread(s)",
        ),
        (
            "lutkit tetrahedral uint8, 1 thread",
            one_thread(lambda: apply_lut(lut, img, method="direct")),
            "per-core speed: what a busy machine's ratios tend to",
        ),
        (
            "lutkit tetrahedral uint8, scalar path",
            on_path(0, lambda: apply_lut(lut, img, method="direct")),
            "the same kernel, no vector path (bit-identical output)",
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
    times = round_robin({name: fn for name, fn, _ in cases}, repeat)
    for name, _, note in cases:
        add(name, times[name], note)
    tmp.cleanup()

    crop = imgf[:270]  # colour-science is slow: time 1/8 of the image and scale
    table = colour.LUT3D(lut.table.astype(np.float64))
    t_c = median_time(
        lambda: table.apply(crop, interpolator=colour.algebra.table_interpolation_tetrahedral), 1
    )
    add("colour-science LUT3D.apply (tetrahedral)", t_c * H / crop.shape[0], "timed on 1/8")

    ttab = torch.from_numpy(lut.table)
    timg = torch.from_numpy(imgf).permute(2, 0, 1)[None].contiguous()
    with torch.inference_mode():
        add(
            "torch grid_sample (trilinear, float32)",
            median_time(lambda: apply_lut3d(ttab, timg), max(1, repeat // 2)),
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
for p in sorted(Path(sys.argv[2]).iterdir()):
    kw = {"quality": 95, "subsampling": 0} if p.suffix == ".jpg" else {}
    Image.open(p).filter(flt).save(out / p.name, **kw)
"""


def bench_folder(img: np.ndarray, lut, count: int) -> list[tuple[str, float, str]]:
    """Whole commands: ``lutkit lut apply`` on a folder of 4K JPEGs, and on one of
    uncompressed 4K TIFFs, vs a plain Pillow script doing the same (same JPEG quality and
    chroma subsampling; TIFFs written as Pillow writes them, uncompressed), round
    robin, medians of 3."""
    rows = []
    for ext, kind in ((".jpg", "JPEGs"), (".tif", "uncompressed TIFFs")):
        rows += _bench_folder(img, lut, count, ext, kind)
    return rows


def _bench_folder(img, lut, count: int, ext: str, kind: str) -> list[tuple[str, float, str]]:
    from lutkit.images import save_image
    from lutkit.luts.cube import write_cube

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "in"
        src.mkdir()
        for i in range(count):
            extra = {"compression": "raw"} if ext == ".tif" else {}
            save_image(src / f"{i:03d}{ext}", np.roll(img, i * 97, axis=1), **extra)
        write_cube(lut, tmp / "grade.cube")
        np.save(tmp / "grade.npy", lut.table)
        (tmp / "pillow_apply.py").write_text(_PILLOW_SCRIPT)
        lutkit_exe = Path(sys.executable).with_name("lutkit")
        cmds = {
            f"lutkit lut apply (folder of 4K {kind})": [
                str(lutkit_exe),
                "lut",
                "apply",
                str(tmp / "grade.cube"),
                str(src),
                "-o",
                str(tmp / "out-lutkit"),
            ],
            f"plain Pillow script (folder of 4K {kind})": [
                sys.executable,
                str(tmp / "pillow_apply.py"),
                str(tmp / "grade.npy"),
                str(src),
                str(tmp / "out-pillow"),
            ],
        }
        env = dict(os.environ, TQDM_DISABLE="1")
        times = round_robin(
            {
                name: partial(subprocess.run, cmd, check=True, capture_output=True, env=env)
                for name, cmd in cmds.items()
            },
            3,
            warmup=False,
        )
        for name in cmds:
            seconds = times[name]
            rows.append(
                (
                    name,
                    count * W * H / 1e6 / seconds,
                    f"{count} images, whole process, {seconds:.2f} s",
                )
            )
    return rows


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
    folder = [r for r in rows if "folder of" in r[0]]
    for ours, pillow in zip(folder[::2], folder[1::2], strict=True):
        kind = ours[0].split("folder of ")[1].rstrip(")")
        lines.append("")
        lines.append(
            f"Whole command, {kind}: lutkit lut apply takes {pillow[1] / ours[1]:.2f}x the "
            "time of a plain Pillow script on the same folder."
        )
    text = "\n".join(lines)
    print(text)
    return text
