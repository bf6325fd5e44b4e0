"""lutkit: remove coloured lighting and film colour damage from photographs.

The packages, each with its contracts listed in its own docstring: ``luts`` (the LUT
model, formats, apply, library), ``distort`` (distortion ops and recipes), ``data``
(datasets: index, shards, build), ``latents`` (the VAE and latents), ``models``
(network definitions), ``train`` (every trainer and their shared utilities),
``correct`` (inference: load a model, predict a correction, fix), ``evaluate``
(metrics, held-out sets, reports), ``tools`` (GIMP, ffmpeg, ImageMagick), ``bench``
(benchmarks) and ``cli`` (the ``lutkit`` command). Top-level modules: ``errors``,
``images``, ``color``, ``fsutil``, ``progress``, ``device``, ``seeds``, ``samples``,
``sheets``, ``demo``. Importing lutkit imports none of them.
"""

__version__ = "0.1.0"
