"""VAE latents: load a diffusers ``AutoencoderKL``, fingerprint it, encode and decode.

``vae`` holds the library (``load_vae``, ``vae_fingerprint``, ``encode_posterior``,
``decode_sample``); ``encode`` and ``loader`` turn datasets into latents and back;
``train_vae`` trains lutkit's own small default VAE (with ``vae_init``: the starting
weights and colour loss that make a short CPU run work) and ``vae_eval`` measures any
VAE on held-out photos. Nothing here imports torch or diffusers at import time.
"""
