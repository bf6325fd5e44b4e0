"""The KL loss and the recolor net: closed forms, gradients, save/load."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lutkit.errors import LutkitError
from lutkit.models.recolor import RecolorNet, kl_divergence, kl_loss


def test_kl_zero_for_identical_posteriors():
    gen = torch.Generator().manual_seed(0)
    latent = torch.randn(2, 8, 5, 5, generator=gen)
    assert kl_loss(latent, latent).item() == 0.0
    assert torch.all(kl_divergence(latent, latent, latent, latent) == 0)


@pytest.mark.parametrize(
    ("mp", "sp", "mq", "sq"), [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.5), (3.0, 0.1, 2.5, 1.5)]
)
def test_kl_matches_closed_form_and_torch_distributions(mp, sp, mq, sq):
    # KL(N(mp, sp^2) || N(mq, sq^2)) = log(sq/sp) + (sp^2 + (mp-mq)^2) / (2 sq^2) - 1/2
    expected = math.log(sq / sp) + (sp**2 + (mp - mq) ** 2) / (2 * sq**2) - 0.5
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    got = kl_divergence(t(mp), t(2 * math.log(sp)), t(mq), t(2 * math.log(sq)))
    assert got.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(t(mp), t(sp)), torch.distributions.Normal(t(mq), t(sq))
    )
    assert got.item() == pytest.approx(ref.item(), rel=1e-12, abs=1e-12)


def test_kl_loss_directions_are_the_two_kls_averaged():
    gen = torch.Generator().manual_seed(1)
    pred, target = torch.randn(2, 2, 8, 3, 3, generator=gen)
    forward = kl_divergence(pred[:, :4], pred[:, 4:], target[:, :4], target[:, 4:]).mean()
    reverse = kl_divergence(target[:, :4], target[:, 4:], pred[:, :4], pred[:, 4:]).mean()
    assert kl_loss(pred, target).item() == pytest.approx(forward.item())  # KL(pred || clean)
    assert kl_loss(pred, target, "clean||pred").item() == pytest.approx(reverse.item())
    assert forward.item() > 0 and reverse.item() > 0
    assert forward.item() != pytest.approx(reverse.item())
    with pytest.raises(ValueError, match="unknown KL direction"):
        kl_loss(pred, target, "both")


def test_kl_gradients_match_finite_differences():
    gen = torch.Generator().manual_seed(2)
    args = [
        torch.randn(3, 4, dtype=torch.float64, generator=gen).requires_grad_() for _ in range(4)
    ]
    assert torch.autograd.gradcheck(kl_divergence, args)
    pred = torch.randn(1, 4, 2, 2, dtype=torch.float64, generator=gen).requires_grad_()
    target = torch.randn(1, 4, 2, 2, dtype=torch.float64, generator=gen).requires_grad_()
    assert torch.autograd.gradcheck(kl_loss, (pred, target))


def test_kl_loss_shape_errors():
    with pytest.raises(ValueError, match="differ"):
        kl_loss(torch.zeros(1, 8, 2, 2), torch.zeros(1, 8, 3, 3))
    with pytest.raises(ValueError, match="2C"):
        kl_loss(torch.zeros(1, 7, 2, 2), torch.zeros(1, 7, 2, 2))


def test_recolor_shapes_and_logvar_clamp():
    torch.manual_seed(0)
    net = RecolorNet(8, width=4, res_blocks=1)
    out = net(torch.randn(2, 8, 6, 6) * 100)
    assert out.shape == (2, 8, 6, 6)
    assert out[:, 4:].min() >= -30 and out[:, 4:].max() <= 20
    with pytest.raises(ValueError, match=r"expected \(B, 8, h, w\)"):
        net(torch.zeros(1, 6, 4, 4))


def test_residual_net_starts_as_identity():
    x = torch.randn(1, 8, 4, 4)
    assert torch.equal(RecolorNet(8, width=4, res_blocks=1, residual=True)(x), x)


def test_reference_architecture_sizes():
    net = RecolorNet()  # width 32, 5 blocks
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs[:3]] == [(8, 32), (32, 64), (64, 128)]
    assert len(convs) == 3 + 2 * 5 + 1 and convs[-1].out_channels == 8
    assert sum(isinstance(m, torch.nn.ReflectionPad2d) for m in net.modules()) == len(convs)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert norms and all(n.affine for n in norms)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    net = RecolorNet(8, width=4, res_blocks=2, norm="none", residual=True)
    torch.nn.init.normal_(net.net[-1].weight)  # not the zero init
    net.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["_class_name"] == "RecolorNet" and config["width"] == 4
    loaded = RecolorNet.from_pretrained(tmp_path / "m")
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(net.eval()(x), loaded(x))
    assert loaded.config == net.config and not loaded.training


def test_load_errors(tmp_path):
    with pytest.raises(LutkitError, match="no config.json"):
        RecolorNet.from_pretrained(tmp_path)
    RecolorNet(8, width=4, res_blocks=1).save_pretrained(tmp_path / "a")
    (tmp_path / "a" / "model.safetensors").write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(LutkitError, match="not a readable safetensors file"):
        RecolorNet.from_pretrained(tmp_path / "a")
    RecolorNet(8, width=4, res_blocks=1).save_pretrained(tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "config.json").read_text())
    (tmp_path / "b" / "config.json").write_text(json.dumps({**doc, "width": 5}))
    with pytest.raises(LutkitError, match="weights do not fit the config"):
        RecolorNet.from_pretrained(tmp_path / "b")
    (tmp_path / "b" / "config.json").write_text(json.dumps({**doc, "_class_name": "LUTNet"}))
    with pytest.raises(LutkitError, match="_class_name is 'LUTNet', not 'RecolorNet'"):
        RecolorNet.from_pretrained(tmp_path / "b")
