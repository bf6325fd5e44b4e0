"""Settings of a tiny training run (seconds on a CPU)."""

from __future__ import annotations

from pathlib import Path


def tiny_settings(dataset: Path, vae: Path, out: Path, **extra) -> list[str]:
    """``--set`` items of a tiny run; ``extra`` overrides (key=value)."""
    values = {
        "name": "tiny",
        "dataset": dataset,
        "vae": vae,
        "out": out,
        "stage": "both",
        "epochs": 2,
        "batch_size": 4,
        "width": 4,
        "res_blocks": 1,
        "lutnet_width": 4,
        "lutnet_size": 9,
        "lutnet_pixels": 32,
        "val_images": 2,
        "fit_steps": 30,
        "warmup_steps": 1,
        "device": "cpu",
    }
    values.update(extra)
    return [f"{k}={v}" for k, v in values.items()]
