"""The training loop learns: ``train()`` (the real loop, resume state, run folder and
all) overfits the tiny dataset's train split, stage by stage, and the same check fails
for the networks as the loop builds them before the first step (negative controls).

Each check reads the train split with the loop's own loader and scores the saved run:
the recolor stage by the KL of its prediction against the clean latents (the
"do nothing" reference is the KL of the distorted latents themselves), the colour-map
stage by the delta E 2000 of the LUTs it predicts, applied to the distorted pixels.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutkit.color import image_delta_e
from lutkit.correct.model import load_run
from lutkit.correct.predict import net_correction
from lutkit.latents.vae import load_vae, vae_fingerprint
from lutkit.models.recolor import kl_loss
from lutkit.train.config import load_config
from lutkit.train.data import load_split
from lutkit.train.loop import train
from lutkit.train.stages import STAGES
from tests.train.helpers import tiny_settings

# Long enough to overfit 6 pairs, with validation kept cheap (1 pair, a 1-step fit).
FAST = {"epochs": 30, "lr": 3e-3, "val_images": 1, "fit_steps": 1, "lutnet_pixels": 32}
# Measured: recolor KL 0.525 (untrained) -> 0.0128 (do nothing: 0.0090); colour map
# delta E 2000 8.96 (input) -> 2.61 (basis LUT net) / 3.35 (blend net), untrained 8.95
# / 9.58.


def settings(tiny_dataset, out, **extra):
    ds, vae = tiny_dataset
    return load_config(None, tiny_settings(ds, vae, out, **{**FAST, **extra}))


def train_split(cfg):
    fingerprint = vae_fingerprint(load_vae(cfg.vae))
    return load_split(cfg, "train", fingerprint, size=64, pixels=True)


def untrained(cfg, run_dir, split, stage: str):
    """(recolor, lutnet) exactly as ``train()`` builds them before its first step."""
    torch.manual_seed(cfg.seed)
    recolor, lutnet, _ = STAGES[stage].build_models(
        cfg, run_dir, split.distorted.shape[1], split, "cpu"
    )
    return recolor.eval(), lutnet.eval() if lutnet is not None else None


def mean_kl(recolor, split) -> float:
    with torch.no_grad():
        return float(kl_loss(recolor(split.distorted), split.clean))


def mean_delta_e(recolor, lutnet, split) -> float:
    with torch.no_grad():
        fixed = recolor(split.distorted)
    luts = net_correction(lutnet, split.distorted, fixed, lut_size=17, pixels=split.distorted_rgb)
    dist = split.distorted_rgb.permute(0, 2, 3, 1).numpy()
    clean = split.clean_rgb.permute(0, 2, 3, 1).numpy()
    return float(
        np.mean(
            [
                image_delta_e(np.clip(lut.apply(d), 0, 1), c).mean()
                for lut, d, c in zip(luts, dist, clean, strict=True)
            ]
        )
    )


@pytest.fixture(scope="module")
def recolor_run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("learns")
    cfg = settings(tiny_dataset, out, stage="recolor")
    assert train(cfg, progress=False, test_split=False).complete
    return cfg, out


def test_the_recolor_stage_overfits_the_train_split(recolor_run):
    # With the tiny random VAE, distorted and clean latents are already close (KL
    # ~0.009); the net starts far away (KL ~0.5) and must come most of the way back.
    cfg, out = recolor_run
    split = train_split(cfg)
    start = mean_kl(untrained(cfg, out / "fresh", split, "recolor")[0], split)
    nothing = float(kl_loss(split.distorted, split.clean))
    trained = mean_kl(load_run(out / cfg.name).recolor, split)
    numbers = f"KL: untrained {start:.4g}, trained {trained:.4g}, do nothing {nothing:.4g}"
    assert trained < 0.05 * start and trained < 3 * nothing, numbers
    # The negative control: the net as the loop builds it fails the same check.
    assert not start < 3 * nothing, numbers


@pytest.mark.parametrize("kind", ["basis", "blend"])
def test_the_colormap_stage_overfits_the_train_split(recolor_run, kind, tmp_path):
    import shutil

    cfg, out = recolor_run
    run_dir = tmp_path / cfg.name
    shutil.copytree(out / cfg.name, run_dir)  # the finished recolor stage
    extra = {"blend_candidates": "identity,gray-world,illuminant,latent"} if kind == "blend" else {}
    cfg = settings(
        (cfg.dataset, cfg.vae),
        tmp_path,
        stage="lutnet",
        lutnet_kind=kind,
        lr=1e-2,
        epochs=40,
        **extra,
    )
    split = train_split(cfg)
    nothing = float(
        np.mean(
            [
                image_delta_e(d, c).mean()
                for d, c in zip(
                    split.distorted_rgb.permute(0, 2, 3, 1).numpy(),
                    split.clean_rgb.permute(0, 2, 3, 1).numpy(),
                    strict=True,
                )
            ]
        )
    )
    recolor0, lutnet0 = untrained(cfg, run_dir, split, "lutnet")
    control = mean_delta_e(recolor0, lutnet0, split)
    assert train(cfg, progress=False, test_split=False).complete
    run = load_run(run_dir)
    trained = mean_delta_e(run.recolor, run.lutnet, split)
    numbers = (
        f"{kind}: delta E do nothing {nothing:.2f}, trained {trained:.2f}, untrained {control:.2f}"
    )
    assert trained < 0.5 * nothing, numbers
    # The negative control: the nets as the loop builds them fail the same check.
    assert not control < 0.5 * nothing, numbers
