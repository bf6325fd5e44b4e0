"""Ground truth for colour-map distortions: bake the forward chain into a LUT3D and
invert it numerically on the lattice, reporting where no inverse exists.

The inverse of a distortion is the correction a model should learn; a dataset row
stores it as ``target_lut``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lutkit.distort.base import OpRecord, apply_chain, get_op
from lutkit.errors import ConfigError
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

    def mask(self, image: np.ndarray) -> np.ndarray:
        """(H, W) bool: pixels of a distorted float image whose surrounding lattice
        points (all eight) are invertible, i.e. where the inverse LUT is trustworthy."""
        flags = np.repeat(self.invertible[..., None], 3, axis=-1).astype(np.float32)
        inside = LUT3D(flags).apply(np.asarray(image, np.float32), interp="trilinear")
        return inside[..., 0] > 0.9999

    def summary(self) -> str:
        return (
            f"{self.fraction:.1%} of the lattice invertible (max residual {self.max_residual:.4f})"
        )


def invert_lut(
    lut: LUT3D,
    size: int | None = None,
    *,
    iterations: int = 40,
    tol: float = 1.0 / 510,
    min_det: float = 0.02,
) -> tuple[LUT3D, InverseReport]:
    """Numerically invert a LUT3D: for every lattice colour y find x with F(x) = y.

    Damped Newton steps with a finite-difference Jacobian of the (tetrahedral) LUT,
    x kept inside the domain. Where y is not reachable (clipped highlights, crushed
    shadows, colours pushed out of gamut) the result is the best x found and the point
    is marked not invertible in the report.
    """
    size = size or lut.size
    lo, hi = lut.domain
    y = LUT3D.lattice_points(size, lut.domain).reshape(-1, 3)
    x = y.copy()
    h = 1e-3 * (hi - lo)

    def f(v: np.ndarray) -> np.ndarray:
        return lut.apply(v.astype(np.float32)).astype(np.float64)

    def jacobian(v: np.ndarray, fv: np.ndarray | None = None) -> np.ndarray:
        # Central differences; with fv = f(v) given, one-sided (half the LUT lookups).
        jac = np.empty((v.shape[0], 3, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = h[j]
            a = np.clip(v + e, lo, hi)
            if fv is None:
                b = np.clip(v - e, lo, hi)
                fb = f(b)
            else:
                # step backwards where forwards is blocked by the domain's edge
                back = a[:, j] - v[:, j] < 0.5 * h[j]
                a[back] = np.clip(v[back] - e, lo, hi)
                b, fb = v, fv
            jac[:, :, j] = (f(a) - fb) / np.where(
                np.abs(a[:, j] - b[:, j]) > 1e-12, a[:, j] - b[:, j], 1e-12
            )[:, None]
        return jac

    active = np.arange(y.shape[0])  # points still improving: the others drop out
    best = np.full(y.shape[0], np.inf)
    for _ in range(iterations):
        xa, ya = x[active], y[active]
        fa = f(xa)
        r = ya - fa
        err = np.abs(r).max(axis=1)
        # Converged, or stuck (an unreachable colour sliding along the gamut's edge).
        done = (err < 1e-6) | (err > 0.98 * best[active])
        best[active] = np.minimum(err, best[active])
        jac = jacobian(xa, fa)
        # Regularised solve: near-singular Jacobians (flat, clipped regions) still move.
        jt = np.transpose(jac, (0, 2, 1))
        step = np.linalg.solve(jt @ jac + 1e-6 * np.eye(3), (jt @ r[..., None]))[..., 0]
        moved = np.clip(xa + step, lo, hi)
        x[active] = np.where(done[:, None], xa, moved)
        active = active[~done & (np.abs(moved - xa).max(axis=1) > 1e-7)]
        if active.size == 0:
            break
    residual = np.abs(f(x) - y).max(axis=1)
    # Reached, and locally one-to-one: where the forward map clips (highlights, shadows,
    # out-of-gamut colours) many inputs give one output and the Jacobian collapses.
    det = np.linalg.det(jacobian(x))
    ok = (residual <= tol) & (det > min_det)
    report = InverseReport(ok.reshape(size, size, size), float(residual.max()), float(ok.mean()))
    return LUT3D(x.reshape(size, size, size, 3), lut.domain, "inverse"), report


def ground_truth(records: Sequence[OpRecord], size: int = 33) -> tuple[LUT3D, InverseReport] | None:
    """The correction LUT for a chain (None when the chain is not a colour map)."""
    if not all(get_op(r.op).colormap for r in records):
        return None
    return invert_lut(bake_chain(records, size))
