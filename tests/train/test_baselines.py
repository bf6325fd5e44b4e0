"""The learned baselines' trainers learn: each overfits four pairs through its real
trainer (lutkit.train.baselines) and inference path (``model.correct``), and the same
check fails for the untrained network (the negative control).

The pairs: four photo crops under one 4000 K light (a Von Kries cast at full strength),
the kind of damage all three baselines exist to undo. Measured (mean delta E 2000 of
the corrected pairs; the input is 6.31): FCN 2.52, IA-3DLUT 2.25, illuminant 3.45
(a per-channel gain cannot fully undo a cone-space adaptation); each untrained network
leaves 6.28-6.31.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lutkit.color import image_delta_e
from lutkit.distort.base import get_op
from lutkit.distort.lighting import CCTParams
from lutkit.models.fcn import PixelFCN
from lutkit.models.ia3dlut import IA3DLUT
from lutkit.models.illuminant import IlluminantNet
from lutkit.train.baselines import (
    FCNTrainConfig,
    IA3DLUTTrainConfig,
    IlluminantTrainConfig,
    train_fcn,
    train_ia3dlut,
    train_illuminant,
)
from tests.models.helpers import make_pairs

FCN = FCNTrainConfig(width=4, depth=2, epochs=40, batch_size=4, lr=1e-2, size=48)
IA3D = IA3DLUTTrainConfig(lut_size=9, width=4, input_size=64, epochs=150, lr=5e-3, size=48)
ILLUMINANT = IlluminantTrainConfig(bins=32, epochs=40, batch_size=4, lr=5e-2, size=48, view=32)


@pytest.fixture(scope="module")
def pairs() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(distorted, clean): four 48 px photo crops and their copies under a 4000 K light."""
    clean, _ = make_pairs(4, 48)
    light = CCTParams(4000.0, 0.0, "planckian", "Von Kries", 1.0)
    cast = [get_op("lighting.cct").apply(c, light).astype(np.float32) for c in clean]
    return cast, list(clean)


def error(model, pairs) -> float:
    """Mean delta E 2000 between ``model.correct(distorted)`` and clean over the pairs."""
    dist, clean = pairs
    return float(
        np.mean(
            [
                image_delta_e(np.clip(model.correct(d), 0, 1), c).mean()
                for d, c in zip(dist, clean, strict=True)
            ]
        )
    )


@pytest.mark.parametrize(
    "trainer,config,untrained,fraction",
    [
        (train_fcn, FCN, lambda: PixelFCN(FCN.width, FCN.depth), 0.6),
        (train_ia3dlut, IA3D, lambda: IA3DLUT(3, IA3D.lut_size, IA3D.width, 64), 0.6),
        (train_illuminant, ILLUMINANT, lambda: IlluminantNet(ILLUMINANT.bins), 0.7),
    ],
    ids=["fcn", "ia3dlut", "illuminant"],
)
def test_a_baseline_trainer_overfits_four_pairs(pairs, trainer, config, untrained, fraction):
    before = float(np.mean([image_delta_e(d, c).mean() for d, c in zip(*pairs, strict=True)]))
    model, record = trainer(*pairs, config)
    after = error(model, pairs)
    control = error(untrained().eval(), pairs)
    numbers = f"delta E {before:.2f} -> {after:.2f} (untrained {control:.2f})"
    assert after < fraction * before, numbers
    assert record["losses"][-1] < record["losses"][0], numbers
    # The negative control: the untrained network must fail the same check.
    assert not control < fraction * before, numbers


@pytest.mark.parametrize("name", ["de76", "de2000"])
def test_the_illuminant_trains_on_the_colour_loss_it_is_given(pairs, name, monkeypatch):
    """Every training step's loss is the named one (a spy on the table of losses), and
    the first epoch's mean loss is that function's value."""
    import lutkit.models.colormap as colormap

    calls = []
    real = colormap.COLOUR_LOSSES[name]

    def spy(pred, target):
        calls.append(real(pred, target))
        return calls[-1]

    monkeypatch.setitem(colormap.COLOUR_LOSSES, name, spy)
    cfg = replace(ILLUMINANT, epochs=1, colour_loss=name)
    _, record = train_illuminant(*pairs, cfg)
    assert len(calls) == 1  # four pairs, batches of four: one step
    assert record["losses"][0] == pytest.approx(calls[0].item(), abs=1e-6)


def test_an_unknown_illuminant_loss_is_a_config_error():
    from lutkit.errors import ConfigError

    with pytest.raises(
        ConfigError, match="^bad illuminant training settings: .*'colour_loss': 'lab'"
    ):
        replace(ILLUMINANT, colour_loss="lab").check()
