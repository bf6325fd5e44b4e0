"""The compute device: ``auto`` picks cuda, then mps, then cpu (used by training, latents
and inference alike)."""

from __future__ import annotations

from lutkit.errors import ConfigError


def pick_device(device: str) -> str:
    """'auto' -> cuda, then mps, then cpu; an explicit device is checked."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available", hint="use --device cpu")
    if device == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ConfigError("--device mps: Apple's MPS is not available", hint="use --device cpu")
    if device not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {device!r}: use auto, cpu, cuda or mps")
    return device
