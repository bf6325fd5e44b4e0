"""Training: every trainer, and the utilities they share.

Which module owns which contract:

- ``config``: the recolor/LUT nets' training config (``TrainConfig``): one dataclass,
  unknown keys refused, typed ``--set`` overrides.
- ``optim``: the shared utilities: the learning-rate schedule (``lr_at``) and the
  optimizer-state serialiser (``optimizer_tensors`` / ``optimizer_state``); the
  device is :func:`lutkit.device.pick_device`.
- ``data``: a split's latents (and pixels) in memory.
- ``stages``: the stage logic in one place (what ``recolor``, ``lutnet`` and ``both``
  train, their losses, and the validation of an epoch).
- ``checkpoint``: the run folder's files and its resume point.
- ``loop``: the loop itself, ``train(cfg)`` (``lutkit train``); ``testsplit``: the
  test-split score of a finished run.
- ``ray_train``: the same loop, data-parallel on Ray Train (``lutkit train --engine
  ray``): ``DataParallel`` (one rank's share of a batch, DDP) and ``train_on_ray``.
- ``vae``: lutkit's own default VAE (``VAETrainConfig``, ``train_vae``; ``lutkit vae
  train``).
- ``baselines``: the learned baselines' trainers (FCN, IA-3DLUT; the networks are in
  :mod:`lutkit.models`).

A trained run is loaded for use by :mod:`lutkit.correct.model`. Nothing here imports
torch at import time except ``baselines``.
"""
