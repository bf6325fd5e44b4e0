from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lutkit.luts.torch_apply import identity_table  # noqa: E402
from lutkit.models.fcn import PixelFCN  # noqa: E402
from lutkit.models.ia3dlut import IA3DLUT, monotonicity  # noqa: E402
from lutkit.train.baselines import (  # noqa: E402
    FCNTrainConfig,
    IA3DLUTTrainConfig,
    train_fcn,
    train_ia3dlut,
)
from tests.models.helpers import make_pairs  # noqa: E402

FCN_TINY = FCNTrainConfig(width=4, depth=2, epochs=2, batch_size=4, size=48)
LUT_TINY = IA3DLUTTrainConfig(lut_size=9, width=4, input_size=64, epochs=2, size=48)


@pytest.fixture(scope="module")
def pairs():
    clean, dist = make_pairs(8, 64)
    return list(dist), list(clean)


def test_untrained_fcn_is_the_identity_at_any_size():
    model = PixelFCN(width=4, depth=3).eval()
    x = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        assert torch.equal(model(x), x)
    img = np.random.default_rng(0).random((150, 90, 3)).astype(np.float32)
    out = model.correct(img, tile=64, overlap=8)  # tiled with a shared context
    assert out.shape == img.shape and np.abs(out - img).max() < 1e-6


def test_fcn_training_is_deterministic_and_round_trips(pairs, tmp_path):
    a, rec = train_fcn(*pairs, FCN_TINY)
    b, _ = train_fcn(*pairs, FCN_TINY)
    a.save_pretrained(tmp_path / "a")
    b.save_pretrained(tmp_path / "b")
    weights = "model.safetensors"
    assert (tmp_path / "a" / weights).read_bytes() == (tmp_path / "b" / weights).read_bytes()
    assert len(rec["losses"]) == 2 and isinstance(rec["seconds_per_epoch"], float)
    loaded = PixelFCN.from_pretrained(tmp_path / "a")
    img = pairs[0][0]
    assert np.array_equal(loaded.correct(img), a.correct(img))
    assert not list(tmp_path.glob("**/*.pt*")) and not list(tmp_path.glob("**/*.bin"))


def test_ia3dlut_regularisers():
    ident = identity_table(9)[None]
    assert float(monotonicity(ident)) == 0.0
    assert float(monotonicity(ident.flip(1))) > 0.0  # red decreasing along r


def test_ia3dlut_trains_deterministically_and_predicts_a_lut(pairs, tmp_path):
    a, rec = train_ia3dlut(*pairs, LUT_TINY)
    b, _ = train_ia3dlut(*pairs, LUT_TINY)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    lut = a.predict_lut(pairs[0][0])
    assert lut.size == 9 and lut.table.min() >= 0 and lut.table.max() <= 1
    a.save_pretrained(tmp_path / "m")
    again = IA3DLUT.from_pretrained(tmp_path / "m")
    assert np.array_equal(again.correct(pairs[0][0]), a.correct(pairs[0][0]))
    assert rec["config"]["lut_size"] == 9


def test_a_de76_illuminant_keeps_the_cache_key_it_had_before_the_loss_setting():
    """Baselines cached before ``colour_loss`` existed (all CIE76) are reused, not retrained;
    one trained on CIEDE2000 is another model."""
    import hashlib
    import json
    from dataclasses import asdict, replace

    from lutkit.evaluate.methods import _cache_key
    from lutkit.train.baselines import IlluminantTrainConfig

    cfg = IlluminantTrainConfig(bands=3)
    before = {k: v for k, v in asdict(cfg).items() if k != "colour_loss"}
    text = json.dumps(["data", "ffcc-tonal", before], sort_keys=True)
    assert _cache_key("data", "ffcc-tonal", cfg) == hashlib.sha256(text.encode()).hexdigest()
    assert _cache_key("data", "ffcc-tonal", replace(cfg, colour_loss="de2000")) != _cache_key(
        "data", "ffcc-tonal", cfg
    )
