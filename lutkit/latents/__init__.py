"""VAE latents: load a diffusers ``AutoencoderKL``, fingerprint it, encode and decode.

Which module owns which contract:

- ``vae``: the library (``load_vae``, ``vae_fingerprint``, ``encode_posterior``,
  ``decode_sample``).
- ``encode``: a dataset's latents shards (``lutkit latents``; their schema is in
  :mod:`lutkit.data.schema`, the resume rule in :mod:`lutkit.data.index`);
  ``ray_encode``: the same batches on a Ray Data actor pool (``--engine ray``).
- ``loader``: latents (and pixels) back as torch batches.
- ``vae_init``: the starting weights and colour loss that make a short CPU run of the
  default VAE work (trained by :mod:`lutkit.train.vae`); ``vae_eval``: any VAE measured
  on held-out photos.

Nothing here imports torch or diffusers at import time.
"""
