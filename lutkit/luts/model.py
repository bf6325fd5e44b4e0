"""The LUT model: ``LUT1D`` (N x 3), ``LUT3D`` (N x N x N x 3, indexed [r, g, b]) and
``ShaperLUT3D`` (a LUT1D "shaper" then a LUT3D, as in DaVinci Resolve's .cube files).

Tables are float32. A LUT maps an input colour inside its ``domain`` (a (2, 3) array:
row 0 the per-channel minimum, row 1 the maximum) to an output colour; inputs outside
the domain are clamped to it. Outputs are not clamped: a LUT may produce values
outside [0, 1] (as .cube files allow) and the caller's output dtype decides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lutkit.errors import LUTError

MAX_3D_SIZE = 256
MAX_1D_SIZE = 65536

ColorFunction = Callable[[np.ndarray], np.ndarray]


def _domain(domain: Any) -> np.ndarray:
    """Normalise a domain to a (2, 3) float64 array and check min < max."""
    if domain is None:
        domain = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    arr = np.asarray(domain, dtype=np.float64)
    if arr.shape == (2,):
        arr = np.repeat(arr[:, None], 3, axis=1)
    if arr.shape != (2, 3):
        raise LUTError(f"a LUT domain must be (min, max) per channel, got shape {arr.shape}")
    if not np.all(np.abs(arr) <= np.finfo(np.float32).max):  # the apply kernels' floats
        raise LUTError("a LUT domain must be finite, within the 32-bit float range (3.4e38)")
    if np.any(arr[0] >= arr[1]):
        raise LUTError(f"a LUT domain needs min < max on every channel, got {arr.tolist()}")
    return arr


def _float32(table: Any) -> np.ndarray:
    """A copy of ``table`` as float32; a value beyond float32's range becomes infinity
    quietly (the caller's finite check names it) instead of numpy's RuntimeWarning."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.array(table, dtype=np.float32)


@dataclass(eq=False)
class LUT1D:
    """A per-channel 1D LUT: ``table`` of shape (N, 3), float32, N >= 2."""

    table: np.ndarray
    domain: np.ndarray = field(default=None)  # type: ignore[assignment]
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = _float32(self.table)
        if table.ndim == 1:
            table = np.repeat(table[:, None], 3, axis=1)
        if table.ndim != 2 or table.shape[1] != 3:
            raise LUTError(f"a 1D LUT table must have shape (N, 3), got {table.shape}")
        if not 2 <= table.shape[0] <= MAX_1D_SIZE:
            raise LUTError(f"a 1D LUT needs 2 to {MAX_1D_SIZE} entries, got {table.shape[0]}")
        if not np.all(np.isfinite(table)):
            raise LUTError(
                "a 1D LUT table contains NaN, infinity or a value beyond the 32-bit float "
                "range (about 3.4e38)"
            )
        self.table = np.ascontiguousarray(table)
        self.domain = _domain(self.domain)

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @classmethod
    def identity(cls, size: int = 1024, domain: Any = None, title: str = "identity") -> LUT1D:
        """The identity 1D LUT of ``size`` entries over ``domain``."""
        dom = _domain(domain)
        ramp = np.linspace(0.0, 1.0, size)[:, None]
        return cls(dom[0] + ramp * (dom[1] - dom[0]), dom, title)

    @classmethod
    def from_function(
        cls, fn: ColorFunction, size: int = 1024, domain: Any = None, title: str = ""
    ) -> LUT1D:
        """Sample a per-channel function ``fn((N, 3) array) -> (N, 3) array``."""
        ident = cls.identity(size, domain)
        return cls(np.asarray(fn(ident.table.astype(np.float64))), ident.domain, title)

    def lattice(self) -> np.ndarray:
        """The input value of every entry, shape (N, 3) float64."""
        ramp = np.linspace(0.0, 1.0, self.size)[:, None]
        return self.domain[0] + ramp * (self.domain[1] - self.domain[0])

    def apply(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Apply to an image; see :func:`lutkit.luts.apply.apply_lut`."""
        from lutkit.luts.apply import apply_lut

        return apply_lut(self, image, **kwargs)

    def is_monotone(self, strict: bool = False) -> bool:
        d = np.diff(self.table.astype(np.float64), axis=0)
        return bool(np.all(d > 0) if strict else np.all(d >= 0))

    def invert(self, size: int | None = None) -> LUT1D:
        """Invert a monotone non-decreasing 1D LUT channel by channel.

        The inverse's domain is the range of each channel. Flat stretches map to their
        left end; a channel with no range at all cannot be inverted.
        """
        if not self.is_monotone():
            raise LUTError("only a monotone non-decreasing 1D LUT can be inverted")
        size = size or self.size
        table = self.table.astype(np.float64)
        lo, hi = table[0], table[-1]
        if np.any(hi <= lo):
            raise LUTError("a 1D LUT channel is constant and has no inverse")
        xs = self.lattice()
        out = np.empty((size, 3))
        for c in range(3):
            ys = np.linspace(lo[c], hi[c], size)
            # np.interp needs strictly increasing xp for a well-defined result: take the
            # first entry of every flat run.
            keep = np.concatenate(([True], np.diff(table[:, c]) > 0))
            out[:, c] = np.interp(ys, table[keep, c], xs[keep, c])
        return LUT1D(out, np.stack([lo, hi]), f"inverse of {self.title}".strip())

    def resample(self, size: int) -> LUT1D:
        """The same mapping sampled at ``size`` entries (linear interpolation)."""
        ident = LUT1D.identity(size, self.domain)
        return LUT1D(self.apply(ident.table), self.domain, self.title, dict(self.metadata))

    def blend(self, strength: float) -> LUT1D:
        """Mix with the identity: 0 gives the identity, 1 this LUT."""
        check_strength(strength)
        ident = self.lattice()
        return LUT1D(
            ident + strength * (self.table - ident), self.domain, self.title, dict(self.metadata)
        )

    def to_3d(self, size: int = 33) -> LUT3D:
        """Bake into a LUT3D of ``size`` (exact at the lattice points)."""
        return LUT3D.from_function(lambda rgb: self.apply(rgb), size, self.domain, self.title)


@dataclass(eq=False)
class LUT3D:
    """A 3D LUT: ``table`` of shape (N, N, N, 3) indexed [r, g, b], float32, N >= 2."""

    table: np.ndarray
    domain: np.ndarray = field(default=None)  # type: ignore[assignment]
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        table = _float32(self.table)
        n = table.shape[0] if table.ndim else 0
        if table.ndim != 4 or table.shape != (n, n, n, 3):
            raise LUTError(f"a 3D LUT table must have shape (N, N, N, 3), got {table.shape}")
        if not 2 <= n <= MAX_3D_SIZE:
            raise LUTError(f"a 3D LUT needs a size from 2 to {MAX_3D_SIZE}, got {n}")
        if not np.all(np.isfinite(table)):
            raise LUTError(
                "a 3D LUT table contains NaN, infinity or a value beyond the 32-bit float "
                "range (about 3.4e38)"
            )
        self.table = np.ascontiguousarray(table)
        self.domain = _domain(self.domain)

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @staticmethod
    def lattice_points(size: int, domain: Any = None) -> np.ndarray:
        """Input colours of every lattice point, shape (N, N, N, 3) float64, [r, g, b]."""
        dom = _domain(domain)
        ramp = np.linspace(0.0, 1.0, size)
        axes = [dom[0, c] + ramp * (dom[1, c] - dom[0, c]) for c in range(3)]
        r, g, b = np.meshgrid(*axes, indexing="ij")
        return np.stack([r, g, b], axis=-1)

    def lattice(self) -> np.ndarray:
        return LUT3D.lattice_points(self.size, self.domain)

    @classmethod
    def identity(cls, size: int = 33, domain: Any = None, title: str = "identity") -> LUT3D:
        """The identity 3D LUT of ``size`` per side over ``domain``."""
        return cls(cls.lattice_points(size, domain), domain, title)

    @classmethod
    def from_function(
        cls, fn: ColorFunction, size: int = 33, domain: Any = None, title: str = ""
    ) -> LUT3D:
        """Bake any colour function ``fn((..., 3) float array) -> (..., 3)`` into a LUT3D."""
        points = cls.lattice_points(size, domain)
        out = np.asarray(fn(points.reshape(-1, 3)), dtype=np.float64).reshape(points.shape)
        return cls(out, domain, title)

    def apply(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Apply to an image; see :func:`lutkit.luts.apply.apply_lut`."""
        from lutkit.luts.apply import apply_lut

        return apply_lut(self, image, **kwargs)

    def resample(self, size: int, interp: str = "tetrahedral") -> LUT3D:
        """The same mapping sampled on a lattice of ``size`` per side."""
        points = LUT3D.lattice_points(size, self.domain).astype(np.float32)
        return LUT3D(
            self.apply(points, interp=interp), self.domain, self.title, dict(self.metadata)
        )

    def blend(self, strength: float) -> LUT3D:
        """Mix with the identity: 0 gives the identity, 1 this LUT."""
        check_strength(strength)
        ident = self.lattice()
        return LUT3D(
            ident + strength * (self.table - ident), self.domain, self.title, dict(self.metadata)
        )


@dataclass(eq=False)
class ShaperLUT3D:
    """A 1D shaper then a 3D table (DaVinci Resolve's shaper+3D .cube files).

    Each channel goes through ``shaper`` (linear interpolation over the shaper's
    domain, clamped to it), and the result through ``cube`` (over the cube's own
    domain, clamped to it). :meth:`apply` runs both stages exactly, as OpenColorIO
    does. Operations that need one plain LUT3D (compose, blend, formats without a
    shaper, Hald images) use :meth:`to_3d`: the pair evaluated on a lattice over the
    shaper's domain, exact at the lattice points and interpolated between them.
    """

    shaper: LUT1D
    cube: LUT3D
    title: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.shaper, LUT1D) or not isinstance(self.cube, LUT3D):
            raise LUTError("a shaper LUT is a LUT1D shaper followed by a LUT3D")

    @property
    def size(self) -> int:
        """The 3D table's size per side."""
        return self.cube.size

    @property
    def domain(self) -> np.ndarray:
        """The input domain: the shaper's."""
        return self.shaper.domain

    def apply(self, image: np.ndarray, **kwargs: Any) -> np.ndarray:
        """Apply both stages; see :func:`lutkit.luts.apply.apply_lut`."""
        from lutkit.luts.apply import apply_lut

        return apply_lut(self, image, **kwargs)

    def to_3d(self, size: int | None = None, interp: str = "tetrahedral") -> LUT3D:
        """Bake into a plain LUT3D of ``size`` (default: the 3D table's) over the
        shaper's domain; exact at its lattice points."""
        lut = LUT3D.from_function(
            lambda rgb: self.apply(rgb.astype(np.float32), interp=interp),
            size or self.size,
            self.domain,
            self.title,
        )
        lut.metadata = dict(self.metadata)
        return lut

    def resample(self, size: int, interp: str = "tetrahedral") -> ShaperLUT3D:
        """The same shaper, with the 3D table sampled on a lattice of ``size`` per side."""
        return ShaperLUT3D(
            self.shaper, self.cube.resample(size, interp), self.title, dict(self.metadata)
        )

    def blend(self, strength: float) -> LUT3D:
        """Mix with the identity, baked into a plain LUT3D (``apply_lut(...,
        strength=s)`` blends exactly, pixel by pixel, instead)."""
        return self.to_3d().blend(strength)


def check_strength(strength: float) -> None:
    if not 0.0 <= float(strength) <= 1.0:
        raise LUTError(f"strength must be in [0, 1], got {strength}")


LUT = LUT1D | LUT3D | ShaperLUT3D


def compose(first: LUT, second: LUT, size: int | None = None, interp: str = "tetrahedral") -> LUT:
    """The LUT that applies ``first`` and then ``second``.

    Two 1D LUTs give a 1D LUT; any other pair is baked into a LUT3D over ``first``'s
    domain (``size`` defaults to the larger 3D size involved); a shaper LUT takes part
    with both its stages.
    """
    if isinstance(first, LUT1D) and isinstance(second, LUT1D):
        size = size or max(first.size, second.size)
        ident = LUT1D.identity(size, first.domain)
        return LUT1D(second.apply(first.apply(ident.table)), first.domain)
    if size is None:
        size = max(x.size for x in (first, second) if not isinstance(x, LUT1D))
    points = LUT3D.lattice_points(size, first.domain).astype(np.float32)
    mid = first.apply(points) if isinstance(first, LUT1D) else first.apply(points, interp=interp)
    out = second.apply(mid) if isinstance(second, LUT1D) else second.apply(mid, interp=interp)
    title = " + ".join(t for t in (first.title, second.title) if t)
    return LUT3D(out, first.domain, title)


def bake(fn: ColorFunction, size: int = 33, domain: Any = None, title: str = "") -> LUT3D:
    """Bake any colour function into a LUT3D (alias of ``LUT3D.from_function``)."""
    return LUT3D.from_function(fn, size, domain, title)
