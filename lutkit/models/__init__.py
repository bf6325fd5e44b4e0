"""The networks: the latent recolor net and the colour map (fitted regressor or LUT net).

``lutkit.models.recolor``: :class:`RecolorNet` and the KL loss between posteriors.
``lutkit.models.colormap``: :func:`fit_colormap` / :func:`bake_colormap`, :class:`LUTNet`,
and :func:`predict_correction` (the method on one image). Both import torch, so this
package imports neither: ``import lutkit.models`` stays cheap.
"""
