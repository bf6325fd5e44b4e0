"""Fast LUT application for numpy images.

``apply_lut(lut, image)`` takes float32/float64 images in the LUT's domain, or uint8 /
uint16 images (read as value / 255 or value / 65535), of shape (..., 3), and returns a
new array of the same shape and dtype: integers are rounded to nearest and clipped,
floats are not clipped. Inputs outside the LUT's domain are clamped to it.

The work is done by C kernels over all cores (``lutkit/luts/_lutc.c``). For uint8 input
a LUT3D can also be expanded once into a dense 256^3 table (48 MB, exactly the values
the kernel computes) after which every image is a gather; ``method="auto"`` uses it
when the image has more pixels than the table or the table is already built.

A ``ShaperLUT3D`` runs its two stages (shaper, then 3D table) on float32 values and
quantises once at the end; it never takes the dense path, since its dense table would
be one more rounding away from the exact two-stage result.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

import numpy as np

from lutkit.errors import LUTError
from lutkit.luts import _lutc
from lutkit.luts.model import LUT1D, LUT3D, ShaperLUT3D, check_strength

if not hasattr(_lutc, "path"):  # a kernel built from an older _lutc.c: other table layout
    raise ImportError(
        "lutkit's C LUT kernel is out of date: rebuild it (make setup, or "
        "python setup.py build_ext --inplace)"
    )

INTERPOLATIONS = ("tetrahedral", "trilinear")
_T_U8, _T_U16, _T_F32, _T_DENSE = 0, 1, 2, 3
_DENSE_PIXELS = 256**3
_DENSE_CACHE_SIZE = 2
_dense_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_EMPTY_I32 = np.zeros(1, np.int32)
_EMPTY_F32 = np.zeros(1, np.float32)


def threads() -> int:
    """Kernel threads: ``LUTKIT_THREADS``, else the CPUs this process may use."""
    env = os.environ.get("LUTKIT_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 0 or image.shape[-1] != 3:
        raise LUTError(f"an image to apply a LUT to must have shape (..., 3), got {image.shape}")
    if image.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise LUTError(f"unsupported image dtype {image.dtype}: use uint8, uint16 or float32")
    return image


def lut_key(lut: LUT1D | LUT3D) -> str:
    """A content hash of a LUT (table and domain), used to cache derived tables."""
    h = hashlib.blake2b(digest_size=16)
    h.update(str(lut.table.shape).encode())
    h.update(lut.table.tobytes())
    h.update(np.ascontiguousarray(lut.domain).tobytes())
    return h.hexdigest()


def _scale(lut: LUT1D | LUT3D) -> tuple[np.ndarray, np.ndarray]:
    """(lo, scale) so that the lattice coordinate is (value - lo) * scale."""
    lo = lut.domain[0].astype(np.float32)
    scale = ((lut.size - 1) / (lut.domain[1] - lut.domain[0])).astype(np.float32)
    return lo, scale


def _int_positions(lut: LUT3D, levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel and integer value: flat table offset of the lower lattice point, and
    the fraction towards the next one (the same clamping as the float path)."""
    n = lut.size
    values = np.arange(levels, dtype=np.float64) / (levels - 1)
    lo, hi = lut.domain
    x = np.clip((values[None, :] - lo[:, None]) / (hi - lo)[:, None] * (n - 1), 0, n - 1)
    idx = np.minimum(np.floor(x), n - 2)
    fracs = (x - idx).astype(np.float32)
    strides = np.array([n * n * 4, n * 4, 4], dtype=np.float64)[:, None]  # padded table
    return np.ascontiguousarray((idx * strides).astype(np.int32)), np.ascontiguousarray(fracs)


def apply_lut(
    lut: LUT1D | LUT3D | ShaperLUT3D,
    image: np.ndarray,
    *,
    interp: str = "tetrahedral",
    strength: float = 1.0,
    method: str = "auto",
) -> np.ndarray:
    """Apply ``lut`` to ``image`` (shape (..., 3); uint8, uint16, float32 or float64).

    ``interp`` is "tetrahedral" or "trilinear" (3D LUTs; 1D LUTs are linear).
    ``strength`` in [0, 1] blends the LUT with the identity. ``method`` is "auto",
    "direct" (always run the interpolation kernel) or "dense" (uint8 only: build or
    reuse a 256^3 table). The input is never modified. A ``ShaperLUT3D`` applies its
    shaper and then its 3D table (``method`` does not apply), blending exactly.
    """
    if interp not in INTERPOLATIONS:
        raise LUTError(f"unknown interpolation {interp!r}: use one of {', '.join(INTERPOLATIONS)}")
    if method not in ("auto", "direct", "dense"):
        raise LUTError(f"unknown method {method!r}: use auto, direct or dense")
    if not isinstance(lut, LUT1D | LUT3D | ShaperLUT3D):
        raise LUTError(f"not a LUT: {type(lut).__name__}")
    image = _check_image(image)
    if isinstance(lut, ShaperLUT3D):
        return _apply_shaper(lut, image, interp, strength)
    if strength != 1.0:
        lut = lut.blend(strength)
    shape, dtype = image.shape, image.dtype
    src = np.ascontiguousarray(
        image.reshape(-1, 3), dtype=np.float32 if dtype == np.float64 else None
    )
    out = np.empty(src.shape, dtype=src.dtype)
    m = src.shape[0]
    if m:
        in_type = {np.dtype(np.uint8): _T_U8, np.dtype(np.uint16): _T_U16}.get(src.dtype, _T_F32)
        if isinstance(lut, LUT3D) and in_type == _T_U8 and _use_dense(lut, interp, method, m):
            _lutc.gather_dense(src, out, dense_table(lut, interp), threads(), m)
        else:
            _run(lut, src, out, in_type, interp == "tetrahedral", m)
    return out.reshape(shape).astype(dtype, copy=False)


def _apply_shaper(lut: ShaperLUT3D, image: np.ndarray, interp: str, strength: float) -> np.ndarray:
    """Shaper, then 3D table, in float32; integers are quantised as the kernel does."""
    dtype = image.dtype
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(dtype)
    x = image.astype(np.float32) / np.float32(top) if top else image.astype(np.float32)
    out = apply_lut(lut.cube, apply_lut(lut.shaper, x), interp=interp)
    if strength != 1.0:
        check_strength(strength)
        # The identity of a LUT clamps to its domain too (what LUT3D.blend gives).
        x = np.clip(x, lut.domain[0].astype(np.float32), lut.domain[1].astype(np.float32))
        out = x + np.float32(strength) * (out - x)
    if top:
        # The kernel's quantise(): floor(v * top + 0.5) in float32, clamped.
        q = np.floor(out * np.float32(top) + np.float32(0.5))
        return np.clip(q, 0.0, top).astype(dtype)
    return out.astype(dtype, copy=False)


def _run(lut: LUT1D | LUT3D, src, out, in_type: int, tetra: bool, m: int) -> None:
    lo, scale = _scale(lut)
    levels = {_T_U8: 256, _T_DENSE: 256, _T_U16: 65536}.get(in_type, 0)
    out_max = float(levels - 1) if levels else 0.0
    table = lut.table.reshape(-1)
    if isinstance(lut, LUT1D):
        in_scale = 1.0 / (levels - 1) if levels else 1.0
        _lutc.apply1d(
            src,
            out,
            table,
            lut.size,
            in_type,
            _EMPTY_I32,
            _EMPTY_F32,
            0,
            lo,
            scale,
            in_scale,
            out_max,
            0,
            threads(),
            m,
        )
        return
    offsets, fracs = _int_positions(lut, levels) if levels else (_EMPTY_I32, _EMPTY_F32)
    _lutc.apply3d(
        src,
        out,
        padded_table(lut),
        lut.size,
        in_type,
        offsets,
        fracs,
        levels,
        lo,
        scale,
        1.0,
        out_max,
        int(tetra),
        threads(),
        m,
    )


def padded_table(lut: LUT3D) -> np.ndarray:
    """The kernel's form of a 3D table: flat float32, each lattice point RGB and a zero
    (one 16-byte load per point in the vector path)."""
    flat = lut.table.reshape(-1, 3)
    out = np.zeros((flat.shape[0], 4), np.float32)
    out[:, :3] = flat
    return out.reshape(-1)


def _use_dense(lut: LUT3D, interp: str, method: str, pixels: int) -> bool:
    if method == "dense":
        return True
    if method == "direct":
        return False
    return pixels >= _DENSE_PIXELS or (lut_key(lut), interp) in _dense_cache


def dense_table(lut: LUT3D, interp: str = "tetrahedral") -> np.ndarray:
    """The LUT evaluated at every 8-bit colour: a flat uint8 array of 256^3 * 3 values.

    Cached per LUT content (the last two are kept), so applying one LUT to many 8-bit
    images pays the build (one kernel pass over 16.7 M colours) once.
    """
    key = (lut_key(lut), interp)
    hit = _dense_cache.get(key)
    if hit is not None:
        _dense_cache.move_to_end(key)
        return hit
    table = np.empty(_DENSE_PIXELS * 3, dtype=np.uint8)
    # The kernel enumerates the colours itself (in_type dense): no 48 MB input array.
    _run(lut, table, table, _T_DENSE, interp == "tetrahedral", _DENSE_PIXELS)
    _dense_cache[key] = table
    while len(_dense_cache) > _DENSE_CACHE_SIZE:
        _dense_cache.popitem(last=False)
    return table
