"""Inference: a trained model applied to photographs.

Which module owns which contract:

- ``model``: a trained model (a run folder written by ``lutkit train``) loaded for use
  (:class:`~lutkit.correct.model.Run`, ``load_run``, ``latest_run``).
- ``predict``: the correction of one image: encode, recolor, then a colour map fitted
  on the two decodes (``fit_correction``) or predicted by the LUT net
  (``net_correction``), as a LUT3D (``predict_correction``).
- ``fix``: ``lutkit fix``: iterations composed into one LUT (``iterate_corrections``,
  the one iteration loop, which ``lutkit eval`` reuses), applied to the full-resolution
  original and exported.

Nothing here imports torch at import time except ``predict``.
"""
