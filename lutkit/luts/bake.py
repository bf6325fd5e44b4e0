"""A LUT baked onto a plain [0, 1] lattice, for the formats that hold nothing else
(.3dl, .spi3d, Hald images): a 1D LUT, a Resolve shaper LUT (both stages) or a 3D LUT
over another domain is sampled at the lattice points (exact there, tetrahedral in
between), as OpenColorIO's ``ociobakelut`` does.

Two things can be lost, and each is said as a :class:`~lutkit.errors.LutkitWarning`
that names the file: inputs outside [0, 1] (a domain wider than that: they are clamped
by whoever applies the baked file), and accuracy between lattice points (a steep 1D
curve or a fine shaper on a coarse lattice), measured on gray and channel ramps and
on seeded random colours against the LUT itself, with the lattice that would bring
it under one 8-bit level.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from lutkit.errors import LutkitWarning
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D

# Worse than this between lattice points (in 8-bit levels) is a warning.
BAKE_TOLERANCE_8BIT = 1.0
DEFAULT_1D_BAKE = 33  # a 1D LUT's lattice when the caller gives none


def is_unit(lut: LUT1D | LUT3D | ShaperLUT3D) -> bool:
    """Whether ``lut``'s input domain is exactly [0, 1] on every channel."""
    return bool(np.all(lut.domain[0] == 0.0) and np.all(lut.domain[1] == 1.0))


def bake_unit(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    path: str | Path,
    size: int | None = None,
    *,
    choices: dict[int, str] | None = None,
) -> LUT3D:
    """``lut`` as a LUT3D over [0, 1] of ``size`` per side (default: its 3D table's, or
    33 for a 1D LUT). A LUT3D over [0, 1] of that size comes back as it is. ``path``
    names the file in warnings; ``choices`` (the lattices the format takes, smallest
    first, each with the option that asks for it) make the accuracy warning's advice."""
    n = size or (DEFAULT_1D_BAKE if isinstance(lut, LUT1D) else lut.size)
    if isinstance(lut, LUT3D) and lut.size == n and is_unit(lut):
        return lut
    lo, hi = lut.domain
    if np.any(lo < 0.0) or np.any(hi > 1.0):
        warnings.warn(
            f"{path}: the LUT's domain is {_span(lo)}..{_span(hi)}, the file's 0..1: baked "
            "on 0..1, so inputs outside it are clamped (a .cube keeps the domain)",
            LutkitWarning,
            stacklevel=3,
        )
    baked = _sample(lut, n)
    _say_if_off(lut, baked, path, lambda s: _sample(lut, s), choices, "baked onto", None)
    return baked


def resample_checked(
    lut: LUT1D | LUT3D | ShaperLUT3D, size: int, path: str | Path, *, needed: str = ""
) -> LUT3D | ShaperLUT3D:
    """``lut`` on a lattice of ``size`` per side, its domain kept: a 1D LUT baked into
    3D, a 3D table (a shaper LUT's too) resampled. Said as :func:`bake_unit` says it
    when that is more than one 8-bit level off between the lattice points (``lut
    convert --size``, ``lut import --size``: a smaller lattice loses a steep look).
    ``needed``: why the destination needs this size (a Discreet .3dl for ffmpeg at 17):
    then no larger size is advised, only a .cube."""

    def make(s: int) -> LUT3D | ShaperLUT3D:
        return lut.to_3d(s) if isinstance(lut, LUT1D) else lut.resample(s)

    out = make(size)
    choices = {} if needed else {s: f"--size {s}" for s in (17, 33, 65)}
    if needed:
        otherwise = f"{needed}; a .cube keeps the LUT as it is"
    elif isinstance(lut, LUT1D):
        otherwise = "without --size a .cube keeps the 1D LUT"
    else:
        otherwise = (
            f"without --size it keeps its {lut.size}^3 lattice (in a .cube, .spi3d or "
            "Discreet .3dl)"
        )
    _say_if_off(lut, out, path, make, choices, "resampled onto", otherwise)
    return out


def _say_if_off(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    baked: LUT3D | ShaperLUT3D,
    path: str | Path,
    make: Callable[[int], LUT3D | ShaperLUT3D],
    choices: dict[int, str] | None,
    how: str,
    otherwise: str | None,
) -> None:
    """A warning when ``baked`` is more than one 8-bit level off ``lut``, with the
    smallest lattice of ``choices`` that ``make`` brings within it, or ``otherwise``
    (what to do when none does; None: the largest lattice, or a .cube)."""
    error = bake_error(lut, baked)
    if error <= BAKE_TOLERANCE_8BIT:
        return
    n = baked.size
    choices = {s: f"--size {s}" for s in (17, 33, 65)} if choices is None else choices
    larger = [s for s in choices if s > n]
    better = next((s for s in larger if bake_error(lut, make(s)) <= BAKE_TOLERANCE_8BIT), None)
    if better is not None:
        advice = f"{choices[better]} bakes it within one level"
    elif otherwise is not None:
        advice = otherwise
    elif larger:
        advice = f"the largest lattice ({choices[larger[-1]]}) comes closest"
    else:
        advice = "a .cube holds it as it is"
    kind = {LUT1D: "a 1D LUT", ShaperLUT3D: "a shaper LUT"}.get(type(lut), "the LUT")
    # rounded up, so that an error just over one level never reads "1.0" beside advice
    # to bring it "within one level"
    shown = math.ceil(error * 10 - 1e-9) / 10
    warnings.warn(
        f"{path}: {kind} {how} a {n}^3 lattice is up to {shown:.1f} 8-bit levels "
        f"off between its points; {advice}",
        LutkitWarning,
        stacklevel=4,
    )


def holding_size(lut: LUT1D | LUT3D | ShaperLUT3D, sizes: Sequence[int]) -> int:
    """The first of ``sizes`` (smallest first) whose [0, 1] lattice holds ``lut`` within
    one 8-bit level, else the last: for a writer whose caller has no size to choose
    (``fix --export-lut x.png``)."""
    for n in sizes:
        if bake_error(lut, _sample(lut, n)) <= BAKE_TOLERANCE_8BIT:
            return n
    return sizes[-1]


def say_if_clipped(table: np.ndarray, path: str | Path, kind: str, holds: str) -> None:
    """A warning when a format that holds only [0, 1] (``kind``; ``holds``: why, and
    what to write instead) clips ``table``'s outputs."""
    lo, hi = float(table.min()), float(table.max())
    if lo < -1e-6 or hi > 1.0 + 1e-6:
        warnings.warn(
            f"{path}: {kind} output clipped to [0, 1] (LUT range {lo:.4g}..{hi:.4g}; {holds})",
            LutkitWarning,
            stacklevel=3,
        )


def _span(values: np.ndarray) -> str:
    """A domain end: one number when the channels agree, else three."""
    if np.all(values == values[0]):
        return f"{float(values[0]):g}"
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"


def _sample(lut: LUT1D | LUT3D | ShaperLUT3D, n: int) -> LUT3D:
    points = LUT3D.lattice_points(n).reshape(-1, 3).astype(np.float32)
    if isinstance(lut, LUT1D):
        table = lut.apply(points)
    else:
        table = lut.apply(points, interp="tetrahedral")
    baked = LUT3D(np.asarray(table).reshape(n, n, n, 3), None, lut.title)
    baked.metadata = dict(lut.metadata)
    return baked


def _probe() -> np.ndarray:
    """Where a bake is checked: a 1024-step gray ramp, each channel's ramp alone and
    4096 seeded random colours in [0, 1]."""
    ramp = np.linspace(0.0, 1.0, 1024)
    zeros = np.zeros_like(ramp)
    gray = np.stack([ramp] * 3, -1)
    alone = [np.stack([ramp if c == k else zeros for c in range(3)], -1) for k in range(3)]
    colours = np.random.default_rng(0).random((4096, 3))
    return np.concatenate([gray, *alone, colours]).astype(np.float32)


def bake_error(lut: LUT1D | LUT3D | ShaperLUT3D, baked: LUT3D | ShaperLUT3D) -> float:
    """The largest difference between ``lut`` and its bake on [0, 1], in 8-bit levels
    (both clipped to [0, 1], as an image would store them)."""
    probe = _probe()
    if isinstance(lut, LUT1D):
        want = lut.apply(probe)
    else:
        want = lut.apply(probe, interp="tetrahedral")
    got = baked.apply(probe, interp="tetrahedral")
    return float(np.abs(np.clip(got, 0, 1) - np.clip(want, 0, 1)).max() * 255.0)
