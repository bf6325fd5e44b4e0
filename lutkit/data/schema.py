"""The Parquet schemas of the dataset's shards: pairs (see the dataset card for the
column meanings) and VAE latents."""

from __future__ import annotations

import json

SCHEMA_VERSION = 1
TARGET_LUT_SIZE = 17
# The float16 columns of a latents shard, each a flat fixed-size list of the latent shape.
LATENT_COLUMNS = ("clean_mean", "clean_logvar", "distorted_mean", "distorted_logvar")


def pairs_schema():
    """pyarrow schema of a pairs shard. ``target_lut`` is the true correction as a
    flat float16 list of TARGET_LUT_SIZE^3 * 3 values ([r][g][b][rgb]), null for rows
    whose distortion is not a pure colour map. ``crop`` is the view's square as JSON
    (``scale`` of the short side, ``x``, ``y`` in [0, 1]), null for the centre square."""
    import pyarrow as pa

    n = TARGET_LUT_SIZE**3 * 3
    meta = {
        b"lutkit.schema": str(SCHEMA_VERSION).encode(),
        b"lutkit.target_lut_size": str(TARGET_LUT_SIZE).encode(),
        b"lutkit.target_lut_layout": b"[r][g][b][rgb], float16, identity = lattice",
    }
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("source_sha256", pa.string(), nullable=False),
            pa.field("split", pa.string(), nullable=False),
            pa.field("variant", pa.int32(), nullable=False),
            pa.field("seed", pa.int64(), nullable=False),
            pa.field("recipe", pa.string(), nullable=False),
            pa.field("ops", pa.string(), nullable=False),
            pa.field("width", pa.int32(), nullable=False),
            pa.field("height", pa.int32(), nullable=False),
            pa.field("clean", pa.binary(), nullable=False),
            pa.field("distorted", pa.binary(), nullable=False),
            pa.field("colormap_only", pa.bool_(), nullable=False),
            pa.field("target_lut", pa.list_(pa.float16(), n)),
            pa.field("target_invertible", pa.float32()),
            pa.field("crop", pa.string()),
        ],
        metadata=meta,
    )


def latents_schema(shape: tuple[int, int, int], fingerprint: str, vae_config: dict, size: int):
    """pyarrow schema of a latents shard: id, vae (fingerprint) and the
    ``LATENT_COLUMNS`` as float16 lists of prod(``shape``) values; the shape, the
    VAE's fingerprint and config and the image size go into the schema metadata."""
    import numpy as np
    import pyarrow as pa

    n = int(np.prod(shape))
    meta = {
        b"lutkit.latent_shape": json.dumps(list(shape)).encode(),
        b"lutkit.vae": fingerprint.encode(),
        b"lutkit.vae_config": json.dumps(vae_config, sort_keys=True, default=str).encode(),
        b"lutkit.image_size": str(size).encode(),
        b"lutkit.encoding": b"RGB in [0,1], centre crop + resize, posterior mean and logvar",
    }
    fields = [pa.field("id", pa.string(), nullable=False), pa.field("vae", pa.string(), False)]
    fields += [pa.field(c, pa.list_(pa.float16(), n), nullable=False) for c in LATENT_COLUMNS]
    return pa.schema(fields, metadata=meta)
