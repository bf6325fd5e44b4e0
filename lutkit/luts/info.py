"""Describe a LUT in numbers (``lutkit lut info``) and in pictures (``lutkit lut plot``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D


def describe(lut: LUT1D | LUT3D | ShaperLUT3D) -> dict[str, Any]:
    """Key facts about a LUT: kind, size, domain, output range, distance from identity."""
    if isinstance(lut, ShaperLUT3D):
        return _describe_shaper(lut)
    table = lut.table.astype(np.float64)
    ident = lut.lattice()
    diff = table - ident
    info: dict[str, Any] = {
        "kind": "3D" if isinstance(lut, LUT3D) else "1D",
        "size": lut.size,
        "title": lut.title,
        "domain_min": lut.domain[0].tolist(),
        "domain_max": lut.domain[1].tolist(),
        "output_min": table.reshape(-1, 3).min(axis=0).tolist(),
        "output_max": table.reshape(-1, 3).max(axis=0).tolist(),
        "max_change": float(np.abs(diff).max()),
        "mean_change": float(np.abs(diff).mean()),
        "is_identity": bool(np.abs(diff).max() < 1e-5),  # 16-bit Halds quantise
    }
    if isinstance(lut, LUT1D):
        info["monotone"] = lut.is_monotone()
    else:
        # Neutral axis: does the LUT keep greys grey?
        n = lut.size
        diag = table[np.arange(n), np.arange(n), np.arange(n)]
        info["neutral_axis_max_cast"] = float((diag.max(axis=1) - diag.min(axis=1)).max())
        info["monotone_along_axes"] = bool(
            all(np.all(np.diff(table[..., c], axis=c) >= -1e-6) for c in range(3))
        )
    return info


def _describe_shaper(lut: ShaperLUT3D) -> dict[str, Any]:
    """A shaper LUT: both tables, and the facts of its bake on the 3D lattice."""
    baked = describe(lut.to_3d())
    n = lut.size
    info: dict[str, Any] = {
        "kind": "1D shaper + 3D",
        "size": n,
        "shaper_size": lut.shaper.size,
        "title": lut.title,
        "domain_min": baked["domain_min"],
        "domain_max": baked["domain_max"],
        "3d_input_min": lut.cube.domain[0].tolist(),
        "3d_input_max": lut.cube.domain[1].tolist(),
    }
    info.update((k, v) for k, v in baked.items() if k not in info and k != "kind")
    info["baked_as"] = (
        f"a plain {n}^3 LUT (exact at its lattice points) for compose, blend and formats "
        "without a shaper (.3dl, .spi3d, Hald); lut apply runs both stages"
    )
    return info


def format_info(info: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.6g}"
        if isinstance(v, list):
            return " ".join(fmt(x) for x in v)
        return str(v)

    width = max(len(k) for k in info)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {fmt(v)}" for k, v in info.items())


def _hue_chart(values: int = 7, hues: int = 24) -> np.ndarray:
    """A chart of input colours: hue across, from white through full colour to black."""
    import colorsys

    rows = []
    for j in range(values * 2 - 1):
        row = []
        for i in range(hues):
            h = i / hues
            if j < values:  # tints: saturation rises towards the middle row
                s, v = (j + 1) / values, 1.0
            else:  # shades: value falls
                s, v = 1.0, 1.0 - (j - values + 1) / values
            row.append(colorsys.hsv_to_rgb(h, s, v))
        rows.append(row)
    grey = np.linspace(1.0, 0.0, values * 2 - 1)[:, None, None].repeat(3, axis=2)
    chart = np.asarray(rows, dtype=np.float32)
    return np.concatenate([grey.astype(np.float32), chart], axis=1)


def plot_lut(lut: LUT1D | LUT3D, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Save a picture of a LUT: curves for 1D; for 3D the neutral-axis response,
    hue slices through the cube, and a colour chart before / after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lutkit.fsutil import atomic_output

    path = Path(path)
    colours = ("#d62728", "#2ca02c", "#1f77b4")
    names = ("red", "green", "blue")
    label = title or lut.title or path.stem
    if isinstance(lut, LUT1D):
        fig, ax = plt.subplots(figsize=(5.5, 5))
        x = lut.lattice()
        for c in range(3):
            ax.plot(x[:, c], lut.table[:, c], color=colours[c], label=names[c], lw=1.6)
        ax.plot([x[0].min(), x[-1].max()], [x[0].min(), x[-1].max()], "k:", lw=0.8)
        ax.set(xlabel="input", ylabel="output", title=f"{label} (1D, {lut.size} entries)")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
    else:
        fig, axes = plt.subplots(2, 2, figsize=(11, 9))
        t = np.linspace(0.0, 1.0, 256, dtype=np.float32)
        lo, hi = lut.domain
        grey = (lo + t[:, None] * (hi - lo)).astype(np.float32)
        out = lut.apply(grey)
        ax = axes[0, 0]
        for c in range(3):
            ax.plot(t, out[:, c], color=colours[c], label=names[c], lw=1.6)
        ax.plot([0, 1], [grey[0].mean(), grey[-1].mean()], "k:", lw=0.8)
        ax.set(title="neutral axis (grey in -> RGB out)", xlabel="input grey", ylabel="output")
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        ax = axes[0, 1]
        for c, hue in enumerate(((1, 0, 0), (0, 1, 0), (0, 0, 1))):
            ramp = (t[:, None] * np.asarray(hue, np.float32)).astype(np.float32)
            o = lut.apply(lo + ramp * (hi - lo))
            for k in range(3):
                ax.plot(t, o[:, k], color=colours[k], lw=1.2, ls=("-", "--", ":")[c], alpha=0.85)
        ax.set(
            title="primary ramps in: red (solid), green (dashed), blue (dotted)",
            xlabel="input level",
            ylabel="output per channel",
        )
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3)
        chart = _hue_chart()
        before = lo + chart * (hi - lo)
        after = np.clip((lut.apply(before.astype(np.float32)) - lo) / (hi - lo), 0, 1)
        axes[1, 0].imshow(chart, interpolation="nearest")
        axes[1, 0].set_title("colour chart in")
        axes[1, 1].imshow(after, interpolation="nearest")
        axes[1, 1].set_title("colour chart out")
        for a in axes[1]:
            a.set_xticks([])
            a.set_yticks([])
        fig.suptitle(f"{label} (3D, {lut.size}^3)")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
