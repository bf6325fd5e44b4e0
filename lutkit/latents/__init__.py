"""VAE latents: load a diffusers ``AutoencoderKL``, fingerprint it, encode and decode.

``lutkit.latents.vae`` holds the library (``load_vae``, ``vae_fingerprint``,
``encode_posterior``, ``decode_sample``); ``lutkit.latents.train_vae`` trains lutkit's
own small default VAE. Nothing here imports torch or diffusers at import time.
"""
