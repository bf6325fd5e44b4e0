"""The PNG codec of pairs shards: the ``clean`` and ``distorted`` columns hold PNG bytes.

Encoding is deterministic (same pixels, same bytes), so a rebuilt shard is identical.
"""

from __future__ import annotations

import numpy as np

from lutkit.errors import ImageError


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8/uint16 image (deterministic)."""
    import cv2

    ok, buf = cv2.imencode(
        ".png", np.ascontiguousarray(pixels[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 3]
    )
    if not ok:
        raise ImageError("PNG encoding failed")
    return buf.tobytes()


def decode_png(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8/uint16 RGB from PNG bytes."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise ImageError("not a decodable RGB PNG")
    return np.ascontiguousarray(arr[:, :, 2::-1])
