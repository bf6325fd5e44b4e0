"""Shared fixtures: real photographs that ship inside the installed dependencies."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# LUTKIT_REQUIRE_EXTERNAL=1 turns every skip into a failure (CI).
pytest_plugins = ["tests.require_external"]


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """scikit-image's astronaut: a 512x512 uint8 RGB photograph."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


@pytest.fixture(scope="session")
def photo16(photo: np.ndarray) -> np.ndarray:
    """A 16-bit version of the photo with low bits that differ from 8-bit scaling."""
    noise = np.random.default_rng(16).integers(0, 257, photo.shape, dtype=np.uint16)
    base = photo.astype(np.uint16) * 257
    return np.minimum(base + noise, 65535).astype(np.uint16)


@pytest.fixture(scope="session")
def graded_lut():
    """A non-trivial 33^3 LUT: a hue twist, a tone curve and a warm cast."""
    from lutkit.luts.model import LUT3D

    def grade(rgb: np.ndarray) -> np.ndarray:
        r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        return np.stack(
            [
                0.85 * r**0.8 + 0.1 * g + 0.03,
                0.2 * r + 0.7 * g**1.1 + 0.05 * b,
                0.75 * b**1.3 + 0.1 * g * r,
            ],
            axis=-1,
        )

    return LUT3D.from_function(grade, 33, title="test grade")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs, started once for a module's Ray runs (each run joins it
    rather than starting its own: a Ray start costs 10-20 s on 2 busy cores)."""
    pytest.importorskip("ray.data")
    from lutkit.data.ray_engine import require_ray, start_ray

    ray = require_ray()
    started = start_ray(ray, None, 2)
    yield ray
    if started:
        ray.shutdown()
