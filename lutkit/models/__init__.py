"""The networks, definitions only (their trainers are in :mod:`lutkit.train`, their
use on photos in :mod:`lutkit.correct`).

Which module owns which contract:

- ``recolor``: :class:`RecolorNet` and the KL loss between posteriors; the
  ``PretrainedMixin`` (config.json + safetensors) every lutkit model uses.
- ``colormap``: the colour map: fitted regressors (:func:`fit_colormap`,
  :func:`bake_colormap`), the LUT net (:class:`LUTNet`) and its loss.
- ``blend``: :class:`BlendNet`, the default model's colour map: learned weights over
  candidate corrections (identity, the statistical lights, the FFCC-style light,
  per-channel levels, the latent LUT net).
- ``illuminant``: :class:`IlluminantNet`, a translation-equivariant (FFCC-style)
  illuminant estimator on log-chroma histograms; also a learned baseline alone.
- ``baselines``: statistical baselines (gray world, white patch, shades of gray, gray
  edge).
- ``fcn`` (:class:`PixelFCN`) and ``ia3dlut`` (:class:`IA3DLUT`, Zeng et al. 2020):
  the learned baselines.

They import torch, so this package imports none of them: ``import lutkit.models``
stays cheap.
"""
