"""Colour damage made by tools outside lutkit: ffmpeg, ImageMagick and GIMP.

Evaluation sets made this way test whether a model learned colour correction or only
lutkit's own distortion code. Every tool runs with its arguments as a list (no
shell) through :mod:`lutkit.tools`, on PNG files, and is found on PATH; a missing tool is reported by
:func:`find_tools` (the set is then skipped), never guessed at. Parameters are drawn
from a ``numpy.random.Generator`` and recorded, so a pair can be remade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lutkit.errors import ToolError
from lutkit.tools import ffmpeg as ffmpeg_tool
from lutkit.tools import imagemagick as imagemagick_tool
from lutkit.tools.gimp import GIMP, find_gimp, run_gimp, scheme_string
from lutkit.tools.process import TIMEOUT

TOOLS = ("ffmpeg", "imagemagick", "gimp")
# GimpHistogramChannel and GimpTransferMode in GIMP 2.10's PDB.
_GIMP_CHANNEL = {"value": 0, "red": 1, "green": 2, "blue": 3}
_GIMP_RANGE = {"shadows": 0, "midtones": 1, "highlights": 2}


def find_tools() -> dict[str, str | None]:
    """tool -> its executable, or None when it is not installed."""
    return {
        "ffmpeg": ffmpeg_tool.find_ffmpeg(),
        "imagemagick": imagemagick_tool.find_imagemagick(),
        "gimp": find_gimp(),
    }


# --------------------------------------------------------------------------- ffmpeg


def sample_ffmpeg(rng: np.random.Generator) -> dict[str, Any]:
    """``colortemperature`` parameters: a warm (2000-4500 K) or cool (8000-12000 K)
    light, fully mixed, with or without preserving lightness."""
    warm = bool(rng.random() < 0.5)
    kelvin = rng.uniform(2000, 4500) if warm else rng.uniform(8000, 12000)
    return {
        "filter": "colortemperature",
        "temperature": int(round(kelvin, -1)),
        "mix": 1.0,
        "pl": round(float(rng.choice([0.0, 0.5])), 2),
    }


def ffmpeg_args(exe: str, src: Path, params: dict[str, Any]) -> list[str]:
    filt = f"colortemperature=temperature={params['temperature']}:mix={params['mix']}:pl={params['pl']}"
    return [exe, "-v", "error", "-y", "-i", str(src), "-vf", filt, "-frames:v", "1"]


def run_ffmpeg(exe: str, src: Path, dst: Path, params: dict[str, Any]) -> None:
    """Apply ffmpeg's ``colortemperature`` filter to one PNG (8-bit RGB out)."""
    ffmpeg_tool.run_ffmpeg([*ffmpeg_args(exe, src, params), "-pix_fmt", "rgb24", str(dst)], src)


# --------------------------------------------------------------------------- ImageMagick

_IM_KINDS = ("modulate", "colorize", "color-matrix", "level")


def sample_imagemagick(rng: np.random.Generator, variant: int) -> dict[str, Any]:
    """One ImageMagick colour operation (they take turns by ``variant``) and its
    arguments: ``-modulate`` (brightness, saturation, hue), ``-colorize`` with a
    random fill colour, ``-color-matrix`` (channel gains and crosstalk) or per-channel
    ``-level`` (black point, white point, gamma)."""
    kind = _IM_KINDS[variant % len(_IM_KINDS)]
    if kind == "modulate":
        b, s, h = rng.uniform(85, 110), rng.uniform(50, 150), rng.uniform(85, 115)
        args = ["-modulate", f"{b:.0f},{s:.0f},{h:.0f}"]
    elif kind == "colorize":
        rgb = rng.integers(0, 256, 3)
        amount = rng.uniform(10, 30)
        args = ["-fill", "#{:02x}{:02x}{:02x}".format(*rgb), "-colorize", f"{amount:.0f}%"]
    elif kind == "color-matrix":
        m = np.eye(3) * rng.uniform(0.75, 1.15, 3) + rng.uniform(-0.08, 0.12, (3, 3)) * (
            1 - np.eye(3)
        )
        args = ["-color-matrix", " ".join(f"{v:.3f}" for v in m.ravel())]
    else:
        channel = str(rng.choice(["R", "G", "B", "RB", "GB"]))
        black, white = rng.uniform(0, 12), rng.uniform(85, 100)
        gamma = rng.uniform(0.7, 1.4)
        args = ["-channel", channel, "-level", f"{black:.1f}%,{white:.1f}%,{gamma:.2f}", "+channel"]
    return {"operation": kind, "args": args}


def run_imagemagick(exe: str, src: Path, dst: Path, params: dict[str, Any]) -> None:
    """``convert SRC ARGS... PNG24:DST`` (8-bit RGB out)."""
    imagemagick_tool.run_imagemagick(
        [exe, str(src), *params["args"], "-depth", "8", f"PNG24:{dst}"], src
    )


# --------------------------------------------------------------------------- GIMP


def _curve(rng: np.random.Generator) -> list[float]:
    """Spline control points in [0, 1] of a monotone curve: ends pinned or moved a little."""
    lo, hi = rng.uniform(0.0, 0.1), rng.uniform(0.88, 1.0)
    mid = float(np.clip(0.5 + rng.uniform(-0.18, 0.18), lo + 0.05, hi - 0.05))
    return [0.0, round(lo, 4), 0.5, round(mid, 4), 1.0, round(hi, 4)]


def sample_gimp(rng: np.random.Generator, variant: int) -> dict[str, Any]:
    """GIMP colour tools: Curves on one or two channels, Color Balance on one tonal
    range, or both (by ``variant``)."""
    kind = ("curves", "color-balance", "both")[variant % 3]
    steps: list[dict[str, Any]] = []
    if kind in ("curves", "both"):
        for ch in rng.choice(["red", "green", "blue"], size=int(rng.integers(1, 3)), replace=False):
            steps.append({"tool": "curves", "channel": str(ch), "points": _curve(rng)})
    if kind in ("color-balance", "both"):
        steps.append(
            {
                "tool": "color-balance",
                "range": str(rng.choice(list(_GIMP_RANGE))),
                "preserve_luminosity": bool(rng.random() < 0.5),
                "cyan_red": round(float(rng.uniform(-60, 60)), 1),
                "magenta_green": round(float(rng.uniform(-60, 60)), 1),
                "yellow_blue": round(float(rng.uniform(-60, 60)), 1),
            }
        )
    return {"operation": kind, "steps": steps}


def gimp_script(src: Path, dst: Path, params: dict[str, Any]) -> str:
    """Script-Fu that loads ``src``, applies the steps and exports ``dst`` as PNG."""
    calls = []
    for step in params["steps"]:
        if step["tool"] == "curves":
            pts = " ".join(repr(float(v)) for v in step["points"])
            calls.append(
                f"(gimp-drawable-curves-spline layer {_GIMP_CHANNEL[step['channel']]} "
                f"{len(step['points'])} #({pts}))"
            )
        else:
            calls.append(
                f"(gimp-drawable-color-balance layer {_GIMP_RANGE[step['range']]} "
                f"{'TRUE' if step['preserve_luminosity'] else 'FALSE'} "
                f"{float(step['cyan_red'])!r} {float(step['magenta_green'])!r} "
                f"{float(step['yellow_blue'])!r})"
            )
    s, d = scheme_string(src), scheme_string(dst)
    return (
        f"(let* ((image (car (gimp-file-load RUN-NONINTERACTIVE {s} {s}))) "
        f"(layer (car (gimp-image-flatten image)))) {' '.join(calls)} "
        f"(file-png-save2 RUN-NONINTERACTIVE image layer {d} {d} 0 9 0 0 0 0 0 0 0) "
        "(gimp-image-delete image))"
    )


def run_gimp_batch(exe: str, jobs: list[tuple[Path, Path, dict[str, Any]]]) -> None:
    """Run every (src, dst, params) job in one headless GIMP start (about 2 s), with
    GIMP's user folders in a fresh temporary folder."""
    if not jobs:
        return
    # GIMP runs in a temporary folder: every path must be absolute.
    jobs = [(src.resolve(), dst.resolve(), params) for src, dst, params in jobs]
    commands = [gimp_script(src, dst, params) for src, dst, params in jobs]
    proc = run_gimp(commands, exe=exe, timeout=TIMEOUT, path=jobs[0][0])
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise ToolError(
            f"{GIMP} failed (exit {proc.returncode}): {said[-1] if said else 'no output'}",
            path=jobs[0][0],
        )
    missing = [src for src, dst, _ in jobs if not dst.is_file()]
    if missing:
        said = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "rror" in ln]
        raise ToolError(
            f"GIMP did not write {len(missing)} of {len(jobs)} images: "
            f"{' | '.join(said[-3:]) or 'no error message'}",
            path=missing[0],
        )
