"""Ground truth for colour-map distortions: bake the forward chain into a LUT3D and
invert it numerically on the lattice, reporting where no inverse exists.

The inverse of a distortion is the correction a model should learn; a dataset row
stores it as ``target_lut``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lutkit.distort.base import OpRecord, apply_chain, get_op
from lutkit.errors import ConfigError, LutkitError
from lutkit.luts.model import LUT3D


def bake_chain(records: Sequence[OpRecord], size: int = 33) -> LUT3D:
    """The chain of colour-map ops as a LUT3D of ``size`` per side."""
    spatial = [r.op for r in records if not get_op(r.op).colormap]
    if spatial:
        raise ConfigError(f"cannot bake {spatial[0]!r} into a LUT: it is not a colour map")

    def forward(rgb: np.ndarray) -> np.ndarray:
        img = rgb.astype(np.float32).reshape(-1, 1, 3)
        return apply_chain(img, records).reshape(-1, 3)

    return LUT3D.from_function(forward, size, title="distortion")


@dataclass
class InverseReport:
    """How well the inverse worked, over the lattice of the inverse LUT."""

    invertible: np.ndarray  # (N, N, N) bool: F(inverse(y)) == y within tolerance
    max_residual: float
    fraction: float  # share of lattice points that are invertible
    # What ``torn`` is worked out from, when first asked (a dataset row needs only the
    # fraction): the forward LUT, the inverse and the residual tolerance at cell centres.
    forward: LUT3D = field(repr=False)
    inverse: LUT3D = field(repr=False)
    centre_tol: float = field(repr=False)
    # The share of an image's pixels where the inverse is exact (:meth:`mask`), once
    # measured on one (``distort --truth-lut``); None for a dataset row.
    pixels: float | None = None

    @functools.cached_property
    def torn(self) -> np.ndarray:
        """(N-1, N-1, N-1) bool: cells whose eight corners are invertible but whose
        centre the interpolated inverse does not take back: two branches of the
        inverse meet inside (as across a flat stretch of a curve), so interpolating
        there is wrong."""
        return _torn_cells(self.forward, self.inverse, self.invertible, self.centre_tol)

    def mask(self, image: np.ndarray) -> np.ndarray:
        """(H, W) bool: pixels of a distorted float image (in [0, 1]) whose surrounding
        lattice points (all eight, or the four of a face they lie on) are invertible,
        outside torn cells: where the inverse LUT is trustworthy."""
        pixels = np.asarray(image, np.float32)
        flags = np.repeat(self.invertible[..., None], 3, axis=-1).astype(np.float32)
        inside = LUT3D(flags).apply(pixels, interp="trilinear")[..., 0] > 0.9999
        n = self.torn.shape[0] + 1
        i = np.minimum((np.clip(pixels, 0.0, 1.0) * np.float32(n - 1)).astype(np.intp), n - 2)
        return inside & ~self.torn[i[..., 0], i[..., 1], i[..., 2]]

    def summary(self) -> str:
        text = (
            f"{self.fraction:.1%} of the lattice invertible (max residual {self.max_residual:.4f})"
        )
        if self.pixels is not None:
            text += f"; exact on {self.pixels:.1%} of this image's pixels"
        return text


def invert_lut(
    lut: LUT3D,
    size: int | None = None,
    *,
    iterations: int = 40,
    tol: float = 1.0 / 510,
    min_det: float = 0.02,
) -> tuple[LUT3D, InverseReport]:
    """Numerically invert a LUT3D: for every lattice colour y find x with F(x) = y.

    Damped Newton steps on the tetrahedral interpolation of the table, x kept inside
    the domain. F is linear inside each of a cell's six tetrahedra, so each step uses
    that tetrahedron's exact Jacobian; a step that does not cut the error is halved.
    Where y is not reachable (clipped highlights, crushed shadows, colours pushed out
    of gamut) the result is the best x found and the point is marked not invertible
    in the report: its residual is over ``tol``, or the determinant of the
    finite-difference Jacobian at x is under ``min_det`` (the map folds or flattens
    there). The loop is C (``invert3d`` in ``lutkit/luts/_lutc.c``), a point at a
    time in float64.
    """
    from lutkit.luts import _lutc

    if not hasattr(_lutc, "invert3d"):  # a kernel built from an older _lutc.c
        raise LutkitError(
            "lutkit's C kernel is out of date (no invert3d)",
            hint="rebuild it: make setup, or python setup.py build_ext --inplace",
        )
    size = size or lut.size
    y = np.ascontiguousarray(LUT3D.lattice_points(size, lut.domain).reshape(-1, 3))
    x = np.empty_like(y)
    residual = np.empty(y.shape[0])
    det = np.empty(y.shape[0])
    lo, hi = (np.ascontiguousarray(d, np.float64) for d in lut.domain)
    table = np.ascontiguousarray(lut.table, np.float64)
    _lutc.invert3d(table, lut.size, lo, hi, y, x, residual, det, iterations, y.shape[0])
    # Reached, and locally one-to-one: where the forward map clips (highlights, shadows,
    # out-of-gamut colours) many inputs give one output and the Jacobian collapses.
    ok = (residual <= tol) & (det > min_det)
    inverse = LUT3D(x.reshape(size, size, size, 3), lut.domain, "inverse")
    ok = ok.reshape(size, size, size)
    report = InverseReport(ok, float(residual.max()), float(ok.mean()), lut, inverse, 2 * tol)
    return inverse, report


def _torn_cells(lut: LUT3D, inverse: LUT3D, ok: np.ndarray, tol: float) -> np.ndarray:
    """(N-1)^3 bool: cells of ``inverse`` with eight invertible corners whose centre
    ``lut`` does not take back to within ``tol`` through the interpolated inverse."""
    m = ok.shape[0] - 1
    corners = np.ones((m, m, m), bool)
    for dr, dg, db in itertools.product((0, 1), repeat=3):
        corners &= ok[dr : dr + m, dg : dg + m, db : db + m]
    lo, hi = inverse.domain
    ramp = (np.arange(m) + 0.5) / m
    axes = [lo[c] + ramp * (hi[c] - lo[c]) for c in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).astype(np.float32)
    back = lut.apply(inverse.apply(centres))
    return corners & (np.abs(back - centres).max(axis=-1) > tol)


def ground_truth(records: Sequence[OpRecord], size: int = 33) -> tuple[LUT3D, InverseReport] | None:
    """The correction LUT for a chain (None when the chain is not a colour map)."""
    if not all(get_op(r.op).colormap for r in records):
        return None
    return invert_lut(bake_chain(records, size))
