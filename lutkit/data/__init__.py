"""Paired datasets: clean photos -> distorted/clean pairs in Parquet shards.

Which module owns which contract:

- ``sources``: where clean photos come from (folder, glob, manifest, ``sample``,
  ``photos``), their sha256 identity and split assignment.
- ``views``: a photo decoded once and cut into its views (the centre square and the
  seeded random crops of ``--crops``).
- ``schema``: the Parquet schemas of pairs *and* latents shards.
- ``png``: the PNG codec of the image columns.
- ``index``: ``dataset.json`` (read and write), ``check_shard`` (a listed shard is
  present, unchanged and complete before anyone reads it), the build lock, and the
  one resume rule (its module docstring).
- ``shards``: the one shard writer and the one shard reader (every read of a listed
  shard is checked against its index entry).
- ``build``: the build plan and rows (``build_dataset``), with the local engine;
  ``ray_engine``: the same stage functions on Ray.
- ``card``: the dataset card (README.md) and contact sheet; ``info``: summary,
  verification, preview and export of a built dataset.
"""
