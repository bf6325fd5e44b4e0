"""Inference: a trained model applied to photographs.

Which module owns which contract:

- ``model``: a trained model (a run folder written by ``lutkit train``) loaded for use
  (:class:`~lutkit.correct.model.Run`, ``load_run``, ``latest_run``).
- ``export``: ``lutkit model export``: a finished run copied into a model folder
  (``export_model``), which replaces only a folder it wrote before.
- ``predict``: the correction of one image: encode, recolor, then a colour map fitted
  on the two decodes (``fit_correction``) or predicted by the LUT net
  (``net_correction``), as a LUT3D (``predict_correction``).
- ``fix``: ``lutkit fix``: iterations composed into one LUT (``iterate_corrections``,
  the one iteration loop, which ``lutkit eval`` reuses), applied to the full-resolution
  original and exported.

Nothing here imports torch at import time except ``predict``.
"""
