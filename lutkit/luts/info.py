"""Describe a LUT in numbers (``lutkit lut info``) and in pictures (``lutkit lut plot``).

Changes are given in 8-bit levels (a change of 1.0 in the LUT's values is 255 levels)
and as CIEDE2000 on the 24 patches of a ColorChecker (colour-science's reference
values, in sRGB), so that a number says how much a viewer would see.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

LEVELS = 255.0  # 8-bit levels per unit of a LUT's values
TITLE_CHARS = 40  # a plot's title is the LUT's name, shortened to this


def chart_patches(lut: LUT1D | LUT3D | ShaperLUT3D) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The ColorChecker's 24 patches before and after ``lut``: (names, before, after).

    ``before``: sRGB float32 (24, 3) in [0, 1] (:func:`lutkit.color.colorchecker_srgb`);
    ``after``: the LUT applied (tetrahedral), clipped to [0, 1] as an image file would be.
    """
    from lutkit.color import colorchecker_srgb

    names, srgb = colorchecker_srgb()
    before = srgb.astype(np.float32)
    after = np.clip(lut.apply(before), 0.0, 1.0).astype(np.float32)
    return names, before, after


def chart_facts(lut: LUT1D | LUT3D | ShaperLUT3D) -> dict[str, Any]:
    """Mean and max CIEDE2000 over the ColorChecker's patches, and the worst patch."""
    from lutkit.color import delta_e_2000, srgb_to_lab

    names, before, after = chart_patches(lut)
    de = delta_e_2000(srgb_to_lab(before), srgb_to_lab(after))
    worst = int(np.argmax(de))
    return {
        "colorchecker_de2000_mean": float(de.mean()),
        "colorchecker_de2000_max": float(de[worst]),
        "colorchecker_worst_patch": names[worst],
    }


def describe(lut: LUT1D | LUT3D | ShaperLUT3D) -> dict[str, Any]:
    """Key facts about a LUT: kind, size, domain, output range, distance from identity
    (in 8-bit levels over its lattice, and in CIEDE2000 on a ColorChecker)."""
    if isinstance(lut, ShaperLUT3D):
        return _describe_shaper(lut)
    table = lut.table.astype(np.float64)
    # Against the lattice as float32, as a table stores it: an identity reads 0.
    ident = lut.lattice().astype(np.float32).astype(np.float64)
    diff = table - ident
    info: dict[str, Any] = {
        "kind": "3D" if isinstance(lut, LUT3D) else "1D",
        "size": lut.size,
        "title": lut.title,
        "domain_min": lut.domain[0].tolist(),
        "domain_max": lut.domain[1].tolist(),
        "output_min": table.reshape(-1, 3).min(axis=0).tolist(),
        "output_max": table.reshape(-1, 3).max(axis=0).tolist(),
        "max_change_8bit": float(np.abs(diff).max() * LEVELS),
        "mean_change_8bit": float(np.abs(diff).mean() * LEVELS),
        **chart_facts(lut),
        "is_identity": bool(np.abs(diff).max() < 1e-5),  # 16-bit Halds quantise
    }
    if isinstance(lut, LUT1D):
        info["monotone"] = lut.is_monotone()
    else:
        # Neutral axis: does the LUT keep greys grey?
        n = lut.size
        diag = table[np.arange(n), np.arange(n), np.arange(n)]
        info["neutral_axis_max_cast_8bit"] = float(
            (diag.max(axis=1) - diag.min(axis=1)).max() * LEVELS
        )
        info["monotone_along_axes"] = bool(
            all(np.all(np.diff(table[..., c], axis=c) >= -1e-6) for c in range(3))
        )
    return info


def _describe_shaper(lut: ShaperLUT3D) -> dict[str, Any]:
    """A shaper LUT: both tables; changes over the bake on the 3D lattice (exact
    there), the ColorChecker through both stages."""
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
    info.update(chart_facts(lut))
    info["baked_as"] = (
        f"a plain {n}^3 LUT (exact at its lattice points) for compose, blend and formats "
        "without a shaper (.3dl, .spi3d, Hald); lut apply runs both stages"
    )
    return info


# key -> (label, unit) for the text form; other keys print as they are.
_LABELS = {
    "max_change_8bit": ("max change", "8-bit levels"),
    "mean_change_8bit": ("mean change", "8-bit levels"),
    "neutral_axis_max_cast_8bit": ("neutral axis max cast", "8-bit levels"),
    "colorchecker_de2000_mean": ("ColorChecker mean", "dE2000 over 24 patches"),
    "colorchecker_de2000_max": ("ColorChecker max", "dE2000"),
    "colorchecker_worst_patch": ("ColorChecker worst", "patch"),
}


def format_info(info: dict[str, Any]) -> str:
    """The facts of :func:`describe` as aligned lines, with units."""

    def fmt(key: str, v: Any) -> str:
        if isinstance(v, float):
            text = f"{v:.2f}" if key in _LABELS else f"{v:.6g}"
        elif isinstance(v, list):
            text = " ".join(fmt("", x) for x in v)
        else:
            text = str(v)
        unit = _LABELS.get(key, ("", ""))[1]
        return f"{text} {unit}" if unit and unit != "patch" else text

    labels = {k: _LABELS.get(k, (k.replace("_", " "), ""))[0] for k in info}
    width = max(len(label) for label in labels.values())
    return "\n".join(f"{labels[k]:<{width}}  {fmt(k, v)}" for k, v in info.items())


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


def short_title(text: str, limit: int = TITLE_CHARS) -> str:
    """The first line of ``text``, cut to ``limit`` characters (with an ellipsis)."""
    line = (text.strip().splitlines() or [""])[0].strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "\u2026"


def swatch_row(lut: LUT1D | LUT3D | ShaperLUT3D) -> tuple[np.ndarray, float]:
    """The ColorChecker row a plot draws: uint8 (2, 24, 3), before on row 0 and after
    on row 1 (rounded to 8 bits), and the mean CIEDE2000 between them."""
    from lutkit.color import delta_e_2000, srgb_to_lab
    from lutkit.images import from_float

    _, before, after = chart_patches(lut)
    de = float(delta_e_2000(srgb_to_lab(before), srgb_to_lab(after)).mean())
    return from_float(np.stack([before, after]), np.uint8), de


def plot_lut(
    lut: LUT1D | LUT3D | ShaperLUT3D, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Save a picture of a LUT: curves for 1D; for 3D the neutral-axis response,
    primary ramps and a hue chart before / after; for both, the 24 ColorChecker
    patches before (top) and after (bottom). ``title`` (default: the LUT's title, else
    the file name) is shortened to one line of ``TITLE_CHARS``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backend_bases import FigureCanvasBase

    from lutkit.errors import LutkitError
    from lutkit.fsutil import atomic_output

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    supported = sorted(FigureCanvasBase.get_supported_filetypes())
    if fmt not in supported:
        raise LutkitError(
            f"cannot plot to a .{fmt} file",
            path=path,
            hint=f"name the output .png, .pdf, .svg or another of: {', '.join(supported)}",
        )
    colours = ("#d62728", "#2ca02c", "#1f77b4")
    names = ("red", "green", "blue")
    label = short_title(title or lut.title or path.stem)
    if isinstance(lut, LUT1D):
        fig = plt.figure(figsize=(6, 6.6))
        grid = fig.add_gridspec(2, 1, height_ratios=[5, 1])
        ax = fig.add_subplot(grid[0])
        x = lut.lattice()
        for c in range(3):
            ax.plot(x[:, c], lut.table[:, c], color=colours[c], label=names[c], lw=1.6)
        ax.plot([x[0].min(), x[-1].max()], [x[0].min(), x[-1].max()], "k:", lw=0.8)
        ax.set(xlabel="input", ylabel="output", title=f"{label} (1D, {lut.size} entries)")
        _tight(ax, x, lut.table)
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        _swatches(fig.add_subplot(grid[1]), lut)
    else:
        fig = plt.figure(figsize=(11, 10.5))
        grid = fig.add_gridspec(3, 2, height_ratios=[4, 3.2, 1.1])
        t = np.linspace(0.0, 1.0, 256, dtype=np.float32)
        lo, hi = lut.domain
        # Over the LUT's domain, in its own values (a Resolve shaper file's -0.125..1.5
        # say): the dotted line is the identity, y = x.
        grey = (lo + t[:, None] * (hi - lo)).astype(np.float32)
        out = lut.apply(grey)
        x = grey.mean(axis=1)
        ax = fig.add_subplot(grid[0, 0])
        for c in range(3):
            ax.plot(x, out[:, c], color=colours[c], label=names[c], lw=1.6)
        ax.plot([x[0], x[-1]], [x[0], x[-1]], "k:", lw=0.8)
        ax.set(title="neutral axis (grey in -> RGB out)", xlabel="input grey", ylabel="output")
        _tight(ax, x, np.concatenate([out.ravel(), x]))
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        # One small panel per input primary: in one panel, its nine lines crossed near
        # zero, where the channels a ramp leaves at 0 all sit.
        panels = grid[0, 1].subgridspec(3, 1, hspace=0.15)
        for c in range(3):
            # One channel from the bottom of its domain to the top, the others at 0 (or
            # the nearest value the domain holds).
            ramp = np.tile(np.clip(0.0, lo, hi), (len(t), 1)).astype(np.float32)
            ramp[:, c] = lo[c] + t * (hi[c] - lo[c])
            o = lut.apply(ramp)
            ax = fig.add_subplot(panels[c])
            for k in range(3):
                ax.plot(ramp[:, c], o[:, k], color=colours[k], lw=1.4, label=f"{names[k]} out")
            ax.plot([ramp[0, c], ramp[-1, c]], [ramp[0, c], ramp[-1, c]], "k:", lw=0.8)
            _tight(ax, ramp[:, c], np.concatenate([o.ravel(), ramp[:, c]]))
            ax.set_ylabel(f"{names[c]} in", color=colours[c])
            ax.grid(alpha=0.3)
            if c == 0:
                ax.set_title("primary ramps: one channel in, the others at 0", fontsize=10)
                ax.legend(loc="upper left", fontsize=7, ncol=3)
            if c < 2:
                ax.tick_params(labelbottom=False)
            else:
                ax.set_xlabel("input level")
        chart = _hue_chart()
        before = lo + chart * (hi - lo)
        after = np.clip((lut.apply(before.astype(np.float32)) - lo) / (hi - lo), 0, 1)
        for col, (image, name) in enumerate(((chart, "hue chart in"), (after, "hue chart out"))):
            ax = fig.add_subplot(grid[1, col])
            ax.imshow(image, interpolation="nearest")
            ax.set_title(name)
            ax.set_xticks([])
            ax.set_yticks([])
        _swatches(fig.add_subplot(grid[2, :]), lut)
        kind = "1D shaper + 3D" if isinstance(lut, ShaperLUT3D) else "3D"
        fig.suptitle(f"{label} ({kind}, {lut.size}^3)")
    fig.tight_layout()
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format=fmt)
    plt.close(fig)
    return path


def _tight(ax: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Axes that end where the data do (a 2% margin in y), not in empty space."""
    ax.set_xlim(float(np.min(x)), float(np.max(x)))
    y_lo, y_hi = float(np.min(y)), float(np.max(y))
    pad = 0.02 * max(y_hi - y_lo, 1e-6)
    ax.set_ylim(y_lo - pad, y_hi + pad)


def _swatches(ax: Any, lut: LUT1D | LUT3D | ShaperLUT3D) -> None:
    row, de = swatch_row(lut)
    ax.imshow(row, interpolation="nearest", aspect="auto")
    ax.set_yticks([0, 1], ["before", "after"])
    ax.set_xticks([])
    ax.set_title(f"ColorChecker 24 patches (mean dE2000 {de:.2f})", fontsize=10)
