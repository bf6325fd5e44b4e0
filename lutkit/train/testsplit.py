"""A finished run measured on its dataset's test split: delta E 2000 before and after.

``score_split(run, split="test")`` corrects every pair of the split the way ``lutkit
fix`` would at 224x224 (the run's recolor net on the stored distorted latent, then the
fitted colour map and the LUT net, each baked into a LUT applied to the distorted
pixels) and compares with the clean pixels. ``lutkit train`` writes the result as
``runs/NAME/test.json`` when a run completes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from lutkit.progress import Counter, Progress

TEST_JSON = "test.json"


def score_split(
    run: Any, split: str = "test", *, batch_size: int = 8, progress: Progress | None = None
) -> dict[str, Any]:
    """Delta E 2000 (mean over pairs of each pair's mean) of input, fit and net.

    Returns ``{"split", "pairs", "dataset", "fit_method", "de": {"input": .., "fit": ..,
    "net": ..}, "per_pair": [{"id", "input", "fit", "net"}, ...], "seconds"}``; ``net``
    only when the run has a LUT net. Raises ConfigError when the split is empty.
    """
    import torch

    from lutkit.color import image_delta_e
    from lutkit.correct.predict import fit_correction, net_correction
    from lutkit.errors import ConfigError
    from lutkit.latents.loader import iter_batches

    cfg = run.config
    t0 = time.perf_counter()
    per_pair: list[dict[str, Any]] = []
    counter = Counter(progress, None, f"scoring {split}")
    for batch in iter_batches(
        cfg.dataset,
        split=split,
        fingerprint=run.fingerprint,
        batch_size=batch_size,
        pixels=True,
        size=run.image_size,
    ):
        original = batch["distorted"].to(run.device)
        with torch.no_grad():
            fixed = run.recolor(original)
        luts = {
            "fit": fit_correction(
                run.vae,
                original,
                fixed,
                method=cfg.fit_method,
                seed=cfg.seed,
                steps=cfg.fit_steps,
            )
        }
        if run.lutnet is not None:
            luts["net"] = net_correction(
                run.lutnet, original, fixed, pixels=batch["distorted_rgb"].to(run.device)
            )
        dist = batch["distorted_rgb"].permute(0, 2, 3, 1).numpy()
        clean = batch["clean_rgb"].permute(0, 2, 3, 1).numpy()
        for i, pair_id in enumerate(batch["id"]):
            row = {"id": pair_id, "input": float(image_delta_e(dist[i], clean[i]).mean())}
            for name, table in luts.items():
                out = np.clip(table[i].apply(dist[i]), 0.0, 1.0)
                row[name] = float(image_delta_e(out, clean[i]).mean())
            per_pair.append(row)
        counter.add(len(batch["id"]))
    counter.finish()
    if not per_pair:
        raise ConfigError(f"the dataset has no {split} pairs", path=cfg.dataset)
    names = [k for k in ("input", "fit", "net") if k in per_pair[0]]
    return {
        "split": split,
        "pairs": len(per_pair),
        "dataset": str(cfg.dataset),
        "fit_method": cfg.fit_method,
        "de": {k: float(np.mean([r[k] for r in per_pair])) for k in names},
        "per_pair": per_pair,
        "seconds": round(time.perf_counter() - t0, 3),
    }


def write_test_report(
    run_dir: str | Path, *, progress: Progress | None = None
) -> dict[str, Any] | None:
    """Score the run at ``run_dir`` on its test split and write ``test.json``; None
    (and nothing written) when the dataset has no test pairs."""
    from lutkit.correct.model import load_run
    from lutkit.data.index import load_dataset_json
    from lutkit.fsutil import atomic_write_text
    from lutkit.train.checkpoint import CONFIG_JSON

    config = json.loads((Path(run_dir) / CONFIG_JSON).read_text())
    if not load_dataset_json(config["dataset"]).get("counts", {}).get("test"):
        return None  # checked before the VAE and the nets are loaded
    run = load_run(run_dir)
    report = score_split(run, "test", progress=progress)
    atomic_write_text(Path(run_dir) / TEST_JSON, json.dumps(report, indent=2) + "\n")
    return report
