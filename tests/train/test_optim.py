from __future__ import annotations

import pytest

from lutkit.train.optim import lr_at, optimizer_state, optimizer_tensors


def test_the_two_warmup_conventions():
    # The nets never reach lr during the warm-up; the VAE reaches it at the last step.
    common = dict(lr=1e-3, total_steps=100, warmup_steps=4, min_lr_ratio=0.1)
    assert lr_at(3, **common, warmup="nets") == pytest.approx(1e-3 * 4 / 5)
    assert lr_at(3, **common, warmup="vae") == pytest.approx(1e-3)
    for warmup in ("nets", "vae"):
        # after the warm-up both follow the same cosine, down to lr * min_lr_ratio
        assert lr_at(4, **common, warmup=warmup) == pytest.approx(1e-3)
        assert lr_at(52, **common, warmup=warmup) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
        assert lr_at(100, **common, warmup=warmup) == pytest.approx(1e-4)
    assert lr_at(50, **common, schedule="constant") == 1e-3
    with pytest.raises(ValueError, match="warm-up convention"):
        lr_at(0, **common, warmup="linear")


def test_optimizer_state_round_trip():
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model(torch.ones(4, 3)).sum().backward()
    opt.step()
    for prefix in ("optim.", ""):
        tensors, plain = optimizer_tensors(opt, prefix=prefix)
        assert all(name.startswith(prefix) for name in tensors)
        again = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=1e-2)
        others = {"recolor.weight": None} if prefix else {}  # other tensors in the file
        again.load_state_dict(optimizer_state({**tensors, **others}, plain, prefix))
        for a, b in zip(opt.state.values(), again.state.values(), strict=True):
            assert all(torch.equal(a[k], b[k]) for k in a)
