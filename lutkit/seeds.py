"""The one seed discipline: every random choice takes a numpy Generator made here."""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any parts (ints, strings): the same parts, the same seed.

    Used to give every dataset row its own seed from (dataset seed, source hash,
    variant), so adding photos never changes existing rows.
    """
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8"))
    return int.from_bytes(h.digest()[:8], "big") >> 1


def rng(seed: int) -> np.random.Generator:
    """The generator for ``seed`` (PCG64, as numpy's default)."""
    return np.random.default_rng(seed)
