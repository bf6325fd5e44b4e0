"""The training utilities every trainer shares: the learning-rate schedule and the
optimizer-state serialiser (safetensors holds the tensors, JSON the rest).

Used by the recolor/LUT nets (:mod:`lutkit.train.loop`), the VAE
(:mod:`lutkit.train.vae`) and the learned baselines (:mod:`lutkit.train.baselines`,
which use torch's own schedulers). The device is :func:`lutkit.device.pick_device`.
"""

from __future__ import annotations

import math
from typing import Any

# The two warm-up conventions in use; each trainer keeps its own so that its numbers
# (and therefore its trained weights) stay exactly what they were.
WARMUPS = ("nets", "vae")


def lr_at(
    step: int,
    *,
    lr: float,
    total_steps: int,
    warmup_steps: int = 0,
    min_lr_ratio: float = 0.0,
    schedule: str = "cosine",
    warmup: str = "nets",
) -> float:
    """The learning rate of optimizer step ``step`` (0-based): a linear warm-up over
    ``warmup_steps``, then a cosine decay from ``lr`` to ``lr * min_lr_ratio`` at
    ``total_steps`` (or, with ``schedule="constant"``, ``lr``).

    ``warmup="nets"`` (the recolor and LUT nets) ramps as ``lr * (k + 1) / (W + 1)``,
    so the warm-up ends just below ``lr``; ``warmup="vae"`` (the VAE) ramps as
    ``lr * (k + 1) / W`` and reaches ``lr`` at the last warm-up step. The cosine is
    the same curve for both, each evaluated in the floating-point form its trainer
    always used (they differ in the last bit), so trained weights are unchanged.
    """
    if warmup not in WARMUPS:
        raise ValueError(f"unknown warm-up convention {warmup!r}: use nets or vae")
    if step < warmup_steps:
        return lr * (step + 1) / (warmup_steps + (1 if warmup == "nets" else 0))
    if schedule == "constant":
        return lr
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    if warmup == "vae":
        return lr * (min_lr_ratio + (1 - min_lr_ratio) * cosine)
    min_lr = lr * min_lr_ratio
    return min_lr + cosine * (lr - min_lr)


def optimizer_tensors(opt, prefix: str = "optim.") -> tuple[dict[str, Any], dict[str, Any]]:
    """An optimizer's ``state_dict`` -> (flat CPU tensors named ``{prefix}{param}.{slot}``,
    for safetensors; the JSON-able rest: ``param_groups`` and non-tensor slots)."""
    sd = opt.state_dict()
    tensors, plain = {}, {"param_groups": sd["param_groups"], "state": {}}
    for idx, st in sd["state"].items():
        plain["state"][str(idx)] = {}
        for key, value in st.items():
            if hasattr(value, "detach"):
                tensors[f"{prefix}{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                plain["state"][str(idx)][key] = value
    return tensors, plain


def optimizer_state(
    tensors: dict[str, Any], plain: dict[str, Any], prefix: str = "optim."
) -> dict[str, Any]:
    """The ``state_dict`` that :func:`optimizer_tensors` took apart, for
    ``opt.load_state_dict`` (tensors without ``prefix`` are ignored)."""
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in plain.get("state", {}).items()}
    for name, value in tensors.items():
        if name.startswith(prefix):
            idx, key = name[len(prefix) :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": plain["param_groups"]}
