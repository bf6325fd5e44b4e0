"""Distortions: coloured light, curves, library LUTs and film damage, as pure ops.

Which module owns which contract:

- ``base``: the op protocol (``apply(image, params)``, ``sample(rng)``), parameter
  ranges and domains, the op registry and op records (``apply_chain``, ``ops_to_json``).
- ``recipe``: distortion recipes (named stages, read from TOML).
- The ops, one family per module: ``lighting`` (illuminants, real sources, mixed
  light, exposure), ``curves`` (tone and channel curves), ``lut3d`` (library LUTs),
  ``film`` (film colour damage and optics) and ``film_damage`` (grain, dust,
  scratches, JPEG; op names ``film.*`` too).
- ``truth``: the ground truth of colour-map distortions (bake and invert).
- ``files``: distorting image files, replaying records, previewing recipes.
"""
