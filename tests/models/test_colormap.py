"""Fitted colour maps, their baked LUTs, the LUT net's parts, and predict_correction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutkit.color import delta_e_2000, image_delta_e, srgb_to_lab
from lutkit.correct.predict import predict_correction
from lutkit.errors import ConfigError, LutkitError
from lutkit.luts.apply import apply_lut
from lutkit.luts.model import LUT3D
from lutkit.luts.torch_apply import identity_table
from lutkit.models.colormap import (
    LUTNet,
    bake_colormap,
    delta_e2000_loss,
    delta_e2000_torch,
    fit_colormap,
    lut_monotonicity,
    lut_smoothness,
    srgb_to_lab_torch,
)
from lutkit.models.recolor import RecolorNet


def grade(rgb: np.ndarray) -> np.ndarray:
    """A smooth colourist's grade with a cross-channel term (clipped like an image)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    out = np.stack(
        [
            0.85 * r**0.8 + 0.1 * g + 0.03,
            0.2 * r + 0.7 * g**1.1 + 0.05 * b,
            0.75 * b**1.3 + 0.1 * g * r,
        ],
        axis=-1,
    )
    return np.clip(out, 0.0, 1.0)


@pytest.fixture(scope="module")
def pixels(photo):
    return (photo.astype(np.float32) / 255.0).reshape(-1, 3)


@pytest.mark.parametrize("method", ["mlp", "poly"])
def test_fit_learns_the_grade(pixels, method):
    cmap = fit_colormap(pixels, grade(pixels), method=method)
    rmse = np.sqrt(np.mean((cmap(pixels) - grade(pixels)) ** 2))
    assert rmse < 1.5 / 255  # the map was fitted to within about a level
    assert cmap(pixels[:10]).dtype == np.float32


@pytest.mark.parametrize("method", ["mlp", "poly"])
def test_baked_lut_reproduces_the_regressor_within_one_level(photo, pixels, method):
    cmap = fit_colormap(pixels, grade(pixels), method=method, seed=0)
    lut = bake_colormap(cmap, 33)
    assert isinstance(lut, LUT3D) and lut.size == 33
    colours = np.random.default_rng(7).random((50_000, 3), dtype=np.float32)
    image = photo.astype(np.float32) / 255.0
    for inputs in (colours, image):
        # As an image is saved: apply, then clip; against the regressor's clipped output.
        via_lut = np.clip(apply_lut(lut, inputs), 0.0, 1.0)
        direct = np.clip(cmap(inputs), 0.0, 1.0)
        assert np.abs(via_lut - direct).max() <= 1.0 / 255


def test_bake_clips_to_the_margin():
    from lutkit.models.colormap import ColorMap

    brighten = ColorMap("poly", {"coef": np.zeros((56, 3))})
    brighten.params["coef"][0] = 0.5  # rgb + 0.5
    assert bake_colormap(brighten, 5).table.max() == pytest.approx(1.125)
    assert bake_colormap(brighten, 5, margin=0).table.max() == 1.0


def test_fit_is_deterministic_and_seeded(pixels):
    a = fit_colormap(pixels, grade(pixels), seed=3, steps=50)
    b = fit_colormap(pixels, grade(pixels), seed=3, steps=50)
    c = fit_colormap(pixels, grade(pixels), seed=4, steps=50)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["w1"], c.params["w1"])


@pytest.mark.parametrize("method", ["mlp", "poly"])
def test_identical_pairs_fit_the_identity(pixels, method):
    lut = bake_colormap(fit_colormap(pixels, pixels, method=method), 9)
    assert np.abs(lut.table - LUT3D.identity(9).table).max() < 1e-6


def test_fit_errors(pixels):
    with pytest.raises(LutkitError, match=r"^colour pairs differ in length: 10 and 9$"):
        fit_colormap(pixels[:10], pixels[:9])
    with pytest.raises(LutkitError, match=r"must be \(N, 3\) arrays"):
        fit_colormap(pixels[:, :2], pixels[:, :2])
    with pytest.raises(LutkitError, match="NaN"):
        fit_colormap(np.full((4, 3), np.nan), np.zeros((4, 3)))
    with pytest.raises(ConfigError, match=r"^unknown colour map method 'svm': use mlp or poly$"):
        fit_colormap(pixels, pixels, method="svm")


def test_torch_lab_matches_colour_science():
    rgb = np.random.default_rng(0).random((500, 3))
    rgb[:4] = [[0, 0, 0], [1, 1, 1], [0.01, 0.02, 0.03], [1, 0, 0]]
    got = srgb_to_lab_torch(torch.from_numpy(rgb.T.reshape(1, 3, 500, 1)))
    assert np.abs(got.numpy().reshape(3, 500).T - srgb_to_lab(rgb)).max() < 1e-9


def _lab_pairs(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Random L*a*b* pairs near and far apart, with the formula's edge cases: gray
    colours (no hue), one gray and one chromatic, opposite hues, equal colours."""
    rng = np.random.default_rng(0)
    lab1 = np.stack(
        [rng.uniform(0, 100, n), rng.uniform(-100, 100, n), rng.uniform(-100, 100, n)], -1
    )
    lab2 = lab1 + rng.normal(0, 5, (n, 3)) * rng.choice([0.01, 0.1, 1, 5], (n, 1))
    lab1[:100, 1:] = 0
    lab2[50:150, 1:] = 0
    lab1[200:300], lab2[200:300] = [50, 10, 0], [50, -10, 0]
    lab2[300:400] = lab1[300:400]
    lab2[400:500, 1:] = lab1[400:500, 1:] * 1.3  # same hue, more chroma
    return lab1, lab2


def _channels_first(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x.T[None]))  # (1, 3, n)


def test_torch_delta_e2000_matches_colour_science():
    lab1, lab2 = _lab_pairs()
    want = delta_e_2000(lab1, lab2)
    got = delta_e2000_torch(_channels_first(lab1), _channels_first(lab2), eps=1e-12)[0].numpy()
    assert np.abs(got - want).max() < 1e-5
    # with the training eps, within a thousandth of a unit
    got = delta_e2000_torch(_channels_first(lab1), _channels_first(lab2))[0].numpy()
    assert np.abs(got - want).max() < 2e-3


def test_torch_delta_e2000_gradient_is_finite_and_right():
    lab1, lab2 = _lab_pairs()
    for dtype in (torch.float32, torch.float64):
        x = _channels_first(lab1).to(dtype).requires_grad_()
        delta_e2000_torch(x, _channels_first(lab2).to(dtype)).sum().backward()
        assert torch.isfinite(x.grad).all()
    # sRGB grays in float32 have a chroma of rounding size, not zero: the whole loss,
    # grays against blues (where the rotation term R_T is largest), still has a finite
    # gradient
    gray = torch.linspace(0.02, 0.98, 64, dtype=torch.float32).view(1, 1, 8, 8).repeat(1, 3, 1, 1)
    gray.requires_grad_()
    blue = torch.tensor([0.2, 0.3, 0.9]).view(1, 3, 1, 1).expand(1, 3, 8, 8)
    for target in (blue, gray.detach()):
        gray.grad = None
        delta_e2000_loss(gray, target).backward()
        assert torch.isfinite(gray.grad).all()
    # away from the gray axis and the hue seam the gradient is the formula's own
    a = torch.tensor([[[55.0], [30.0], [-20.0]]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[[52.0], [25.0], [-28.0]]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: delta_e2000_torch(x, b, eps=1e-12), (a,))


def test_delta_e2000_loss_is_the_reported_metric():
    rng = np.random.default_rng(1)
    a, b = rng.random((8, 8, 3)), rng.random((8, 8, 3))
    tensor = lambda x: torch.from_numpy(x.transpose(2, 0, 1)[None].copy())  # noqa: E731
    assert delta_e2000_loss(tensor(a), tensor(b)).item() == pytest.approx(
        image_delta_e(a, b).mean(), abs=2e-3
    )
    assert delta_e2000_loss(tensor(a), tensor(a)).item() == 0.0


def test_the_config_names_every_colour_loss():
    from lutkit.models.colormap import COLOUR_LOSSES
    from lutkit.train.config import COLOUR_LOSS_NAMES

    assert tuple(COLOUR_LOSSES) == COLOUR_LOSS_NAMES


def test_lutnet_loss_scores_the_colour_loss_it_is_given():
    from lutkit.luts.torch_apply import apply_lut3d
    from lutkit.models.colormap import delta_e76_loss, lutnet_loss

    rng = np.random.default_rng(2)
    tables = identity_table(9)[None] * 0.9 + 0.05
    d = torch.from_numpy(rng.random((1, 3, 8, 8), dtype=np.float32))
    c = torch.from_numpy(rng.random((1, 3, 8, 8), dtype=np.float32))
    out = apply_lut3d(tables, d)
    _, parts76 = lutnet_loss(tables, d, c)
    _, parts2000 = lutnet_loss(tables, d, c, colour_loss="de2000")
    assert parts76["delta_e76"] == pytest.approx(delta_e76_loss(out, c).item())
    assert parts2000["delta_e2000"] == pytest.approx(delta_e2000_loss(out, c).item())
    assert parts76["delta_e76"] != pytest.approx(parts2000["delta_e2000"])


def test_regularisers():
    ident = identity_table(9)[None]
    assert lut_smoothness(ident).item() < 1e-9 and lut_monotonicity(ident).item() == 0
    affine = ident @ torch.tensor([[0.8, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.1, 0.7]]) + 0.05
    assert lut_smoothness(affine).item() < 1e-9  # any affine map is smooth
    assert lut_monotonicity(1.0 - ident).item() == pytest.approx(1.0)  # every channel inverted
    noisy = ident + 0.01 * torch.randn(ident.shape, generator=torch.Generator().manual_seed(0))
    assert lut_smoothness(noisy).item() > 1.0


def test_lutnet_starts_near_identity_and_round_trips(tmp_path):
    torch.manual_seed(0)
    net = LUTNet(8, width=4, basis=3, lut_size=9)
    d, r = torch.randn(2, 2, 8, 4, 4)
    tables = net(d, r)
    assert tables.shape == (2, 9, 9, 9, 3)
    assert (tables - identity_table(9)).abs().max() < 0.05
    net.set_input_stats(torch.arange(16.0), torch.full((16,), 2.0))
    net.save_pretrained(tmp_path / "lutnet")
    loaded = LUTNet.from_pretrained(tmp_path / "lutnet")
    assert torch.equal(loaded.shift, torch.arange(16.0))
    assert torch.equal(net.eval()(d, r), loaded(d, r))


@pytest.fixture(scope="module")
def fake_run(vae_dir):
    from lutkit.correct.model import Run
    from lutkit.train.config import TrainConfig

    def make(recolor, lutnet=None):
        return Run(vae_dir, TrainConfig(vae=str(vae_dir)), {}, recolor.eval(), lutnet)

    return make


def test_predict_correction_identity_recolor_gives_identity_lut(fake_run, photo):
    # A recolor net that changes nothing: both decodes are the same image, so the fit
    # is the identity map (the same noise for both is what makes them line up).
    run = fake_run(RecolorNet(8, width=4, res_blocks=1, residual=True))
    for method in ("mlp", "poly"):
        lut = predict_correction(run, photo, method=method, size=64, lut_size=9)
        assert lut.size == 9
        assert np.abs(lut.table - LUT3D.identity(9).table).max() < 1e-5


def test_predict_correction_is_seeded_and_takes_any_image(fake_run, photo, photo16):
    torch.manual_seed(0)
    run = fake_run(RecolorNet(8, width=4, res_blocks=1))
    a = predict_correction(run, photo, size=64, lut_size=9, seed=1)
    b = predict_correction(run, photo, size=64, lut_size=9, seed=1)
    c = predict_correction(run, photo, size=64, lut_size=9, seed=2)
    assert np.array_equal(a.table, b.table) and not np.array_equal(a.table, c.table)
    assert "fitted mlp, seed 1" in a.metadata["comments"][0]
    wide = predict_correction(run, photo16[:300], size=64, lut_size=9, seed=1)  # 300x512 16-bit
    assert wide.table.shape == (9, 9, 9, 3)


def test_predict_correction_with_the_lut_net(fake_run, photo):
    torch.manual_seed(0)
    run = fake_run(RecolorNet(8, width=4, res_blocks=1), LUTNet(8, width=4, lut_size=9).eval())
    lut = predict_correction(run, photo, colormap="net", size=64, lut_size=17)
    assert lut.size == 17  # resampled from the net's 9^3
    assert np.abs(lut.table - LUT3D.identity(17).table).max() < 0.05  # an untrained net
    with pytest.raises(
        ConfigError, match=r"this run has no LUT net \(trained with stage 'recolor'\)"
    ):
        predict_correction(fake_run(run.recolor), photo, colormap="net", size=64)
    with pytest.raises(ConfigError, match=r"^unknown colour map 'knn': use fit or net$"):
        predict_correction(run, photo, colormap="knn")
