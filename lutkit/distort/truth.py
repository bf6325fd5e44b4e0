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

    Damped Newton steps on the tetrahedral interpolation of the table, x kept inside
    the domain. F is linear inside each of a cell's six tetrahedra, so each step uses
    that tetrahedron's exact Jacobian (read off the table: no extra lookups). Where y
    is not reachable (clipped highlights, crushed shadows, colours pushed out of
    gamut) the result is the best x found and the point is marked not invertible in
    the report: its residual is over ``tol``, or the finite-difference Jacobian's
    determinant at x is under ``min_det`` (the map folds or flattens there).
    """
    size = size or lut.size
    lo, hi = lut.domain
    y = LUT3D.lattice_points(size, lut.domain).reshape(-1, 3)
    x = y.copy()
    h = 1e-3 * (hi - lo)

    def f(v: np.ndarray) -> np.ndarray:
        return lut.apply(v.astype(np.float32)).astype(np.float64)

    def fd_jacobian(v: np.ndarray) -> np.ndarray:
        # Central differences (one-sided at the domain's edges): the report's test.
        jac = np.empty((v.shape[0], 3, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = h[j]
            a, b = np.clip(v + e, lo, hi), np.clip(v - e, lo, hi)
            jac[:, :, j] = (f(a) - f(b)) / np.where(
                np.abs(a[:, j] - b[:, j]) > 1e-12, a[:, j] - b[:, j], 1e-12
            )[:, None]
        return jac

    tetra = _TetraJacobian(lut)
    # Newton with backtracking: a step that does not cut the error by 2% is halved
    # (from the last good x); a point stops when converged, or when even an eighth
    # of its step does not help (an unreachable colour against the gamut's edge).
    r0 = y - f(x)
    err = np.abs(r0).max(axis=1)
    active = np.flatnonzero(err >= 1e-6)
    step = np.zeros_like(x)
    t = np.ones(y.shape[0])
    if active.size:
        step[active] = _solve_normal(tetra(x[active]), r0[active])
    for _ in range(iterations):
        if active.size == 0:
            break
        xa = x[active]
        trial = np.clip(xa + t[active, None] * step[active], lo, hi)
        r = y[active] - f(trial)
        e = np.abs(r).max(axis=1)
        better = e < 0.98 * err[active]
        good = active[better]
        x[good], err[good], t[good] = trial[better], e[better], 1.0
        t[active[~better]] *= 0.5
        # The good ones step again from where they are; the others retry a shorter step.
        moved = np.abs(trial[better] - xa[better]).max(axis=1) > 1e-7
        go = good[moved & (e[better] >= 1e-6)]
        if go.size:
            step[go] = _solve_normal(tetra(x[go]), r[better][moved & (e[better] >= 1e-6)])
        retry = active[~better]
        active = np.concatenate([go, retry[t[retry] >= 0.125]])
    residual = np.abs(f(x) - y).max(axis=1)
    # Reached, and locally one-to-one: where the forward map clips (highlights, shadows,
    # out-of-gamut colours) many inputs give one output and the Jacobian collapses.
    det = _det3(fd_jacobian(x))
    ok = (residual <= tol) & (det > min_det)
    report = InverseReport(ok.reshape(size, size, size), float(residual.max()), float(ok.mean()))
    return LUT3D(x.reshape(size, size, size, 3), lut.domain, "inverse"), report


class _TetraJacobian:
    """The Jacobian of a LUT3D's tetrahedral interpolation at points, as its three
    columns (3, n, 3): exact inside each tetrahedron (the interpolation is linear
    there), one side's at their faces."""

    def __init__(self, lut: LUT3D) -> None:
        n = lut.size
        self.n = n
        self.lo = lut.domain[0]
        self.scale = (n - 1) / (lut.domain[1] - lut.domain[0])
        self.table = lut.table.reshape(-1, 3).astype(np.float64)
        self.strides = np.array([n * n, n, 1])

    def __call__(self, v: np.ndarray) -> np.ndarray:
        p = np.clip((v - self.lo) * self.scale, 0, self.n - 1)
        base = np.minimum(np.floor(p), self.n - 2)
        # The tetrahedron: walk from the cell's low corner along the axes in order of
        # decreasing fraction; each step's difference is the slope along that axis.
        order = np.argsort(base - p, axis=1, kind="stable")
        idx = base.astype(np.int64) @ self.strides
        cols = np.empty((3, v.shape[0], 3))  # [column][point][channel]
        rows = np.arange(v.shape[0])
        prev = self.table[idx]
        for k in range(3):
            axis = order[:, k]
            idx = idx + self.strides[axis]
            cur = self.table[idx]
            cols[axis, rows] = (cur - prev) * self.scale[axis][:, None]
            prev = cur
        return cols


def _solve_normal(cols: np.ndarray, r: np.ndarray) -> np.ndarray:
    """(J^T J + 1e-6 I)^-1 J^T r for n 3x3 Jacobians given as columns (3, n, 3), by
    the adjugate of the symmetric J^T J. Returns (n, 3)."""
    (c0, c1, c2), rt = cols.transpose(0, 2, 1), r.T  # rows of length n: fast sums

    def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return u[0] * v[0] + u[1] * v[1] + u[2] * v[2]

    a00, a11, a22 = dot(c0, c0) + 1e-6, dot(c1, c1) + 1e-6, dot(c2, c2) + 1e-6
    a01, a02, a12 = dot(c0, c1), dot(c0, c2), dot(c1, c2)
    b0, b1, b2 = dot(c0, rt), dot(c1, rt), dot(c2, rt)
    m00, m11, m22 = a11 * a22 - a12 * a12, a00 * a22 - a02 * a02, a00 * a11 - a01 * a01
    m01, m02, m12 = a02 * a12 - a01 * a22, a01 * a12 - a02 * a11, a01 * a02 - a00 * a12
    det = a00 * m00 + a01 * m01 + a02 * m02
    out = np.empty_like(r)
    out[:, 0] = (m00 * b0 + m01 * b1 + m02 * b2) / det
    out[:, 1] = (m01 * b0 + m11 * b1 + m12 * b2) / det
    out[:, 2] = (m02 * b0 + m12 * b1 + m22 * b2) / det
    return out


def _det3(jac: np.ndarray) -> np.ndarray:
    """Determinants of a stack of 3x3 matrices (n, 3, 3)."""
    return (
        jac[:, 0, 0] * (jac[:, 1, 1] * jac[:, 2, 2] - jac[:, 1, 2] * jac[:, 2, 1])
        - jac[:, 0, 1] * (jac[:, 1, 0] * jac[:, 2, 2] - jac[:, 1, 2] * jac[:, 2, 0])
        + jac[:, 0, 2] * (jac[:, 1, 0] * jac[:, 2, 1] - jac[:, 1, 1] * jac[:, 2, 0])
    )


def ground_truth(records: Sequence[OpRecord], size: int = 33) -> tuple[LUT3D, InverseReport] | None:
    """The correction LUT for a chain (None when the chain is not a colour map)."""
    if not all(get_op(r.op).colormap for r in records):
        return None
    return invert_lut(bake_chain(records, size))
