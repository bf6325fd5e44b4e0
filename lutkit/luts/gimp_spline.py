"""GIMP 2.10's curve spline: tabulate a smooth curve and map values through it.

This is the math behind GIMP's Curves tool (app/core/gimpcurve.c, gimpcurve-map.c),
reproduced to the bit and checked against the real ``gimp-console-2.10`` in
tests/luts/test_gimp.py. The file formats that carry curves live in
``lutkit.luts.gimp``.

* a smooth curve is tabulated into ``n_samples`` (256) samples: cubic Bezier segments
  between control points whose inner handles follow the neighbouring points, constant
  outside the first and last point, the control points written exactly, all clamped
  to [0, 1].
* a pixel value is mapped by linear interpolation between samples.
* a control point at x lands on sample ROUND(x * 255), rounding halves up: (0.5, 0.5)
  is sample 128, i.e. input 128/255, and input 0.5 maps to a hair below 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lutkit.errors import LUTError
from lutkit.luts.model import MAX_1D_SIZE

__all__ = ["gimp_curve_map", "gimp_spline_samples"]

_EPSILON = 1e-6  # gimpcurve.c: a segment narrower than this is a vertical step


def _round(x: float) -> int:
    """GIMP's ROUND() for the non-negative values it is used on here."""
    return int(math.floor(x + 0.5))


def gimp_spline_samples(
    points: Sequence[tuple[float, float]],
    n_samples: int = 256,
    *,
    point_types: Sequence[str] | None = None,
) -> np.ndarray:
    """Tabulate a GIMP 2.10 smooth curve through ``points`` into ``n_samples`` samples.

    ``points`` are (x, y) control points in [0, 1] (clamped like GIMP does, then
    ordered by x, equal x keeping their order, as ``gimp_curve_add_point`` inserts
    them). ``point_types`` holds "smooth" (default) or "corner" per point; a corner
    point's segments ignore the neighbour beyond it. Returns float64 (n_samples,) in
    [0, 1]. With no points the curve is the identity, as GIMP's reset curve.
    """
    if not 2 <= int(n_samples) <= MAX_1D_SIZE:
        raise LUTError(f"n_samples must be 2 to {MAX_1D_SIZE}, got {n_samples}")
    n = int(n_samples)
    pts = np.clip(np.asarray(points, dtype=np.float64).reshape(-1, 2), 0.0, 1.0)
    types = list(point_types) if point_types is not None else ["smooth"] * len(pts)
    if len(types) != len(pts):
        raise LUTError(f"{len(pts)} points but {len(types)} point types")
    order = np.argsort(pts[:, 0], kind="stable")
    pts = pts[order]
    corner = [types[i] == "corner" for i in order]

    samples = np.linspace(0.0, 1.0, n)
    if len(pts) == 0:
        return samples
    scale = n - 1
    # Constant outside the first and the last point.
    samples[: _round(pts[0, 0] * scale)] = pts[0, 1]
    samples[_round(pts[-1, 0] * scale) :] = pts[-1, 1]
    last = len(pts) - 1
    for i in range(last):
        p1, p2, p3, p4 = max(i - 1, 0), i, i + 1, min(i + 2, last)
        if corner[p2]:
            p1 = p2
        if corner[p3]:
            p4 = p3
        _plot_segment(samples, pts, p1, p2, p3, p4)
    # The control points themselves are used exactly.
    for x, y in pts:
        samples[_round(x * scale)] = y
    return samples


def _plot_segment(samples: np.ndarray, pts: np.ndarray, p1: int, p2: int, p3: int, p4: int) -> None:
    """Fill the samples between points p2 and p3 (gimp_curve_plot).

    The Bezier handles sit at x0 + dx/3 and x0 + 2dx/3, so x grows linearly with t
    and y(t) can be sampled at evenly spaced t. A handle's height follows the line
    from the opposite end to the neighbour (p1 or p4); with only one neighbour the
    other handle points at it, with none the segment is a straight line.
    """
    scale = samples.shape[0] - 1
    x0, y0 = pts[p2]
    x3, y3 = pts[p3]
    dx, dy = x3 - x0, y3 - y0
    if dx <= _EPSILON:
        samples[_round(x0 * scale)] = y3
        return
    if p1 == p2 and p3 == p4:
        y1 = y0 + dy / 3.0
        y2 = y0 + dy * 2.0 / 3.0
    elif p1 == p2:
        slope = (pts[p4, 1] - y0) / (pts[p4, 0] - x0)
        y2 = y3 - slope * dx / 3.0
        y1 = y0 + (y2 - y0) / 2.0
    elif p3 == p4:
        slope = (y3 - pts[p1, 1]) / (x3 - pts[p1, 0])
        y1 = y0 + slope * dx / 3.0
        y2 = y3 + (y1 - y3) / 2.0
    else:
        slope = (y3 - pts[p1, 1]) / (x3 - pts[p1, 0])
        y1 = y0 + slope * dx / 3.0
        slope = (pts[p4, 1] - y0) / (pts[p4, 0] - x0)
        y2 = y3 - slope * dx / 3.0
    # Same evaluation order as the C code so the doubles agree bit for bit.
    i = np.arange(_round(dx * scale) + 1, dtype=np.float64)
    t = i / dx / scale
    u = 1.0 - t
    y = y0 * u * u * u + 3 * y1 * u * u * t + 3 * y2 * u * t * t + y3 * t * t * t
    index = i.astype(np.int64) + _round(x0 * scale)
    keep = index < samples.shape[0]
    # C's CLAMP: NaN would pass through (it cannot occur for dx > EPSILON).
    samples[index[keep]] = np.where(y > 1.0, 1.0, np.where(y < 0.0, 0.0, y))[keep]


def gimp_curve_map(samples: np.ndarray, x: Any) -> np.ndarray:
    """Map values through a tabulated curve as ``gimp_curve_map_value`` does.

    Inside (0, 1) the two nearest samples are interpolated linearly; 1 and above give
    the last sample, 0 and below (and NaN) the first. Returns float64 of x's shape.
    """
    s = np.asarray(samples, dtype=np.float64)
    v = np.asarray(x, dtype=np.float64)
    scale = s.shape[0] - 1
    pos = np.where((v > 0.0) & (v < 1.0), v, 0.0) * scale
    index = np.minimum(pos.astype(np.int64), scale - 1)
    f = pos - index
    out = (1.0 - f) * s[index] + f * s[index + 1]
    out = np.where(v >= 1.0, s[-1], out)
    return np.where((v > 0.0) | (v >= 1.0), out, s[0])
