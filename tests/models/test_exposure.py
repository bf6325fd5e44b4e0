"""The exposure stage (lutkit.models.exposure): its target, its fit, and the blend that
bakes it into its LUT."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lutkit.models.blend import BlendNet
from lutkit.models.exposure import (
    FEATURES,
    MAX_LOG_GAIN,
    ExposureStage,
    apply_exposure,
    exposure_features,
    oracle_log_gain,
)

STATS = ["identity", "gray-world", "shades-of-gray", "white-patch", "gray-edge", "levels"]


def _photos(side: int = 64) -> torch.Tensor:
    """(N, 3, side, side) scikit-image photographs, float sRGB."""
    import cv2
    from skimage import data

    names = ["astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry"]
    images = []
    for name in names:
        img = getattr(data, name)()
        images.append(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA) / 255.0)
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()


def test_the_oracle_gain_undoes_a_known_exposure():
    """A photo at half its light (no pixel clips): the least-squares gain that brings it
    back is 2, and applying it gives the photo again."""
    clean = _photos()[:2]
    dark = apply_exposure(clean, torch.full((2,), math.log(0.5)))
    gain = oracle_log_gain(dark, clean)
    assert gain.tolist() == pytest.approx([math.log(2.0)] * 2, abs=1e-3)
    assert torch.allclose(apply_exposure(dark, gain), clean, atol=2e-3)


def test_an_unfitted_stage_leaves_the_photo_alone():
    x = _photos()[:3]
    stage = ExposureStage()
    assert exposure_features(x).shape == (3, FEATURES)
    assert torch.equal(stage.log_gain(x), torch.zeros(3))
    assert torch.allclose(apply_exposure(x, stage.log_gain(x)), x, atol=1e-5)


def test_the_stage_learns_exposure_from_highlights():
    """Fitted on six photos at random exposures (darker, and brighter with clipping),
    with each clean photo once as its own target, it more than halves the exposure error
    of new exposures of them; and its dead zone, from the clean pairs, leaves at least 9
    in 10 of those clean photos exactly as they are. (How far it carries to photos it
    never saw is what `make eval` measures: TRAINING.md step 44.)"""
    photos = _photos()
    gen = torch.Generator().manual_seed(0)

    def pairs(per: int) -> tuple[torch.Tensor, torch.Tensor]:
        clean = photos.repeat_interleave(per, dim=0)
        slip = torch.rand(len(clean), generator=gen) * 1.6 - 1.2  # -1.2 .. 0.4 (log)
        return apply_exposure(clean, slip), clean

    dist, clean = pairs(24)
    dist, clean = torch.cat([dist, photos]), torch.cat([clean, photos])
    is_clean = torch.zeros(len(dist), dtype=torch.bool)
    is_clean[-len(photos) :] = True
    stage = ExposureStage()
    stage.fit(exposure_features(dist), oracle_log_gain(dist, clean), is_clean)
    assert float(stage.deadzone) > 0
    assert int((stage.log_gain(photos) == 0).sum()) >= 5  # 9 in 10 of 6

    new_dist, new_clean = pairs(12)
    truth = oracle_log_gain(new_dist, new_clean)
    after = (stage.log_gain(new_dist) - truth).abs().mean()
    assert float(after) < 0.5 * float(truth.abs().mean())
    assert float(ExposureStage().log_gain(new_dist).abs().max()) == 0.0


def test_a_blend_bakes_its_exposure_gain_into_the_table_and_round_trips(tmp_path):
    """The blend's table with the stage is the table without it times the stage's gain,
    and that gain is read from the blend of the 64 px view averaged before blending, as
    the training pairs are (on a 224 view with clipped highlights, blending first and
    averaging after reads another gain). The stage survives save and load; a blend
    without it keeps the older file layout and loads as before."""
    import torch.nn.functional as F

    cast = torch.tensor([1.0, 0.8, 0.6]).view(1, 3, 1, 1)
    x = (_photos(224)[1:2] * 1.3 * cast).clamp(0, 1)  # a cast, clipped highlights
    plain = BlendNet(STATS)
    net = BlendNet(STATS, exposure=True)
    net.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        net.bias.copy_(torch.tensor([0.0, 3.0, 0.0, 0.0, 0.0, 0.0]))  # gray world: gains > 1
        plain.bias.copy_(net.bias)
        net.exposure.bias.fill_(0.3)
        net.exposure.weight[2] = 0.5  # the 99 % quantile of the largest channel
        net.exposure.weight[6] = -1.0  # the share of nearly clipped pixels
        net.exposure.deadzone.fill_(0.05)
        w, est = net.weights(net.view(x))
        gain = net.exposure.log_gain(net.render(w, est, F.adaptive_avg_pool2d(x, 64)))
        other = net.exposure.log_gain(F.adaptive_avg_pool2d(net.render(w, est, x), 64))
        expected = apply_exposure(plain.tables(x, 9).reshape(1, -1, 3).permute(0, 2, 1), gain)
        table = net.tables(x, 9)
        assert abs(float(gain - other)) > 1e-3
        assert 0.05 < float(gain) < MAX_LOG_GAIN
        assert torch.allclose(table.reshape(1, -1, 3).permute(0, 2, 1), expected, atol=1e-6)
        assert torch.allclose(net(x), apply_exposure(plain(x), gain), atol=1e-6)
    net.save_pretrained(tmp_path / "exposure")
    again = BlendNet.from_pretrained(tmp_path / "exposure")
    assert again.config["exposure"] is True
    assert torch.equal(again.tables(x, 9), table)
    plain.save_pretrained(tmp_path / "plain")
    older = BlendNet.from_pretrained(tmp_path / "plain")
    assert "exposure" not in older.config and older.exposure is None
    assert torch.equal(older.tables(x, 9), plain.tables(x, 9))
