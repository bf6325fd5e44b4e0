"""The blend net and the FFCC-style illuminant estimator: agreement with the numpy
baselines, translation equivariance, the LUT bake, save/load, exact errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lutkit.errors import ConfigError
from lutkit.models import baselines
from lutkit.models.blend import BlendNet, estimate, levels
from lutkit.models.illuminant import (
    IlluminantNet,
    apply_band_gains,
    apply_gains,
    bright_plane,
    gains_from_light,
    gray_plane,
    light_from_uv,
    log_chroma_band_histograms,
    log_chroma_histogram,
    srgb_to_linear_torch,
)

STATS = ["identity", "gray-world", "shades-of-gray", "white-patch", "gray-edge", "levels"]


@pytest.fixture(scope="module")
def photo():
    """A 64 x 64 photo (float32 sRGB) with a warm cast, from scikit-image's coffee."""
    import cv2
    from skimage import data

    img = cv2.resize(data.coffee(), (64, 64), interpolation=cv2.INTER_AREA) / 255.0
    return np.clip(img * [1.0, 0.9, 0.75], 0, 1).astype(np.float32)


def _t(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("gray-world", baselines.gray_world),
        ("shades-of-gray", baselines.shades_of_gray),
        ("white-patch", baselines.white_patch),
    ],
)
def test_statistical_candidates_match_the_numpy_baselines(photo, name, reference):
    net = BlendNet(["identity", name])
    out = net.apply_candidates(estimate(_t(photo)), _t(photo))[0, 1].permute(1, 2, 0).numpy()
    assert np.abs(out - reference(photo)).max() < 2e-4


def test_levels_maps_the_quantiles_to_black_and_white(photo):
    x = _t(photo)
    est = estimate(x)
    out = levels(x, est["black"], est["white"])
    flat = out.reshape(3, -1)
    assert torch.quantile(flat, 0.005, dim=1).abs().max() < 1e-5
    assert (torch.quantile(flat, 0.995, dim=1) - 1).abs().max() < 1e-5


def test_an_identity_biased_blend_bakes_the_identity_lut(photo):
    net = BlendNet(STATS)
    with torch.no_grad():
        net.bias.copy_(torch.tensor([30.0] + [0.0] * (len(STATS) - 1)))
    table = net.tables(_t(photo), 9)[0].detach().numpy()
    ramp = np.linspace(0, 1, 9)
    ident = np.stack(np.meshgrid(ramp, ramp, ramp, indexing="ij"), axis=-1)
    assert np.abs(table - ident).max() < 1e-5


def test_the_baked_lut_reproduces_the_blend(photo):
    """The blend is a pointwise colour map: its 33^3 LUT applied to the photo gives the
    blend's own output within a level or two (trilinear interpolation)."""
    from lutkit.luts.model import LUT3D

    torch.manual_seed(0)
    net = BlendNet(STATS + ["illuminant", "illuminant-tonal"])
    with torch.no_grad():
        net.bias.normal_()
        net.illuminant.filters.normal_(std=0.5)
        net.tonal.filters.normal_(std=0.5)
        net.tonal.band_bias.normal_(std=3.0)
        direct = net(_t(photo))[0].permute(1, 2, 0).numpy()
        table = net.tables(_t(photo), 33)[0].numpy()
    baked = LUT3D(table).apply(photo)
    assert np.abs(baked - direct).mean() < 1.5 / 255
    assert np.abs(baked - direct).max() < 0.05
    assert np.abs(direct - photo).mean() > 5 / 255  # it did correct something


def test_save_and_load_give_the_same_tables(photo, tmp_path):
    net = BlendNet(STATS + ["latent"], latent_net={"channels": 8, "width": 4, "basis": 2})
    lat = (torch.randn(1, 8, 7, 7), torch.randn(1, 8, 7, 7))
    with torch.no_grad():
        before = net.tables(_t(photo), 9, latents=lat)
        net.save_pretrained(tmp_path / "blend")
        after = BlendNet.from_pretrained(tmp_path / "blend").tables(_t(photo), 9, latents=lat)
    assert torch.equal(before, after)
    first = (tmp_path / "blend" / "model.safetensors").read_bytes()
    net.save_pretrained(tmp_path / "again")
    assert (tmp_path / "again" / "model.safetensors").read_bytes() == first


def test_bad_candidates_are_one_line_errors():
    with pytest.raises(ConfigError, match="the first must be identity"):
        BlendNet(["gray-world", "identity"])
    with pytest.raises(ConfigError, match="unknown|known"):
        BlendNet(["identity", "max-rgb"])
    with pytest.raises(ConfigError, match="the latent candidate and latent_net go together"):
        BlendNet(["identity", "latent"])


def test_illuminant_estimate_moves_with_the_light(photo):
    """Translation equivariance: a gain of exactly two histogram bins in log g/r and
    one in log g/b moves the estimated light by exactly that (bias map off). The filter
    is a delta (the score is the histogram itself), so the posterior sits on the photo's
    chroma, inside the plane."""
    net = IlluminantNet(bins=48, step=1 / 16)
    with torch.no_grad():
        net.filters[0, 0, 0] = 20.0
    x = _t(photo * 0.5 + 0.25)  # no pixel crosses the near-black or clipped limits
    du, dv = 2 / 16, 1 / 16
    lit = apply_gains(x, torch.tensor([[np.exp(-du), 1.0, np.exp(-dv)]], dtype=torch.float32))
    with torch.no_grad():
        (a,), (b,) = net(x)[0], net(lit)[0]
    assert (b - a).tolist() == pytest.approx([du, dv], abs=2e-3)


def test_an_untrained_illuminant_net_changes_almost_nothing(photo):
    net = IlluminantNet()
    uv, _ = net(_t(photo))
    gains = gains_from_light(light_from_uv(uv))
    assert (gains - 1).abs().max() < 0.05


@pytest.mark.parametrize("gray", [False, True])
def test_the_ffcc_baseline_learns_a_cast_and_untrained_it_does_not(gray):
    """train_illuminant on gray-world scenes under random lights: trained, the estimate
    removes most of the cast; the untrained net (negative control) does not. With the
    gray-pixel and brightest-pixel planes too (the baselines' default)."""
    from lutkit.color import image_delta_e
    from lutkit.train.baselines import IlluminantTrainConfig, train_illuminant

    rng = np.random.default_rng(0)
    clean, cast = [], []
    for _ in range(24):
        scene = np.clip(rng.random((32, 32, 3)) * 0.6 + 0.2, 0, 1).astype(np.float32)
        scene = np.repeat(np.repeat(scene, 2, 0), 2, 1)
        gains = np.exp(rng.uniform(-0.4, 0.4, 3)).astype(np.float32)
        lin = baselines.srgb_to_linear(scene) * gains
        cast.append(baselines.linear_to_srgb(np.clip(lin, 0, 1)).astype(np.float32))
        clean.append(scene)
    cfg = IlluminantTrainConfig(
        epochs=30, batch_size=8, lr=1e-2, size=64, view=32, gray=gray, bright=gray
    )
    model, record = train_illuminant(cast, clean, cfg)
    assert model.gray is gray and model.bright is gray
    assert model.filters.shape[0] == (4 if gray else 2)
    untrained = IlluminantNet(gray=gray, bright=gray)

    def score(net):
        return np.mean(
            [image_delta_e(net.correct(c), s).mean() for c, s in zip(cast, clean, strict=True)]
        )

    before = np.mean([image_delta_e(c, s).mean() for c, s in zip(cast, clean, strict=True)])
    assert score(model) < 0.5 * before
    assert score(untrained) > 0.8 * before
    assert record["losses"][-1] < record["losses"][0]


def test_band_gains_that_agree_are_one_gain(photo):
    """apply_band_gains with the same gains in every band is apply_gains; different
    gains move shadows and highlights differently."""
    x = _t(photo)
    g = torch.tensor([[1.2, 1.0, 0.7]])
    same = apply_band_gains(x, g[:, None].expand(1, 3, 3))
    assert torch.allclose(same, apply_gains(x, g), atol=1e-6)
    split = apply_band_gains(x, torch.tensor([[[0.7, 1.0, 1.3], [1.0, 1.0, 1.0], [1.3, 1.0, 0.7]]]))
    dark, light = x.mean(1) < 0.3, x.mean(1) > 0.7
    ratio = srgb_to_linear_torch(split)[:, 2] / srgb_to_linear_torch(x)[:, 2].clamp_min(1e-4)
    assert ratio[dark].median() > 1.05 and ratio[light].median() < 0.95  # bluer shadows


def test_a_one_band_net_keeps_the_old_file_layout_and_bands_round_trip(photo, tmp_path):
    one = IlluminantNet()
    assert set(one.state_dict()) == {"filters", "bias", "log_temp"}
    assert "bands" not in one.config  # files written before bands existed still load
    torch.manual_seed(0)
    net = IlluminantNet(bands=3)
    with torch.no_grad():
        net.filters.normal_(std=0.5)
        net.band_bias.normal_(std=3.0)
        before = net.band_gains(_t(photo))
    net.save_pretrained(tmp_path / "tonal")
    again = IlluminantNet.from_pretrained(tmp_path / "tonal")
    assert again.bands == 3 and torch.equal(again.band_gains(_t(photo)), before)
    with pytest.raises(ConfigError, match="one band"):
        one.band_uv(_t(photo))
    for bad in (0, 9, 3.0, True):
        with pytest.raises(ConfigError, match="bad IlluminantNet size"):
            IlluminantNet(bands=bad)


def test_the_gray_plane_picks_the_same_pixels_under_any_light(photo):
    """A gain in linear light moves each channel's log by a constant that the
    Laplacian removes: a gray pixel stays gray, and the others change only through the
    luminance, which mixes the channels. So nearly the same pixels are chosen (the
    margin of the 5 % moves a little), and their (u, v) move by the gain's log ratios,
    up to the 1e-4 the logs add."""
    x = _t(photo * 0.5 + 0.25)  # no pixel crosses the near-black or clipped limits
    lit = apply_gains(x, torch.tensor([[0.8, 1.0, 1.2]]))
    (u1, v1, c1), (u2, v2, c2) = gray_plane(x), gray_plane(lit)
    assert int(c1.sum()) == int(0.05 * 64 * 64)
    assert float((c1 & c2).sum()) > 0.9 * float(c1.sum())
    both = c1 & c2
    assert (u2 - u1)[both].tolist() == pytest.approx([np.log(1 / 0.8)] * int(both.sum()), abs=5e-3)
    assert (v2 - v1)[both].tolist() == pytest.approx([np.log(1 / 1.2)] * int(both.sum()), abs=5e-3)


def test_the_gray_plane_finds_the_gray_surface_and_round_trips(tmp_path):
    """A scene half gray surface, half coloured surfaces (each channel its own texture),
    under a warm light: the chosen pixels are on the gray half, and their chroma is the
    light's. A gray IlluminantNet has three histogram planes, each summing to 1, and a
    gray BlendNet keeps its config through save and load (one without stays as older
    files hold it)."""
    import cv2

    rng = np.random.default_rng(7)

    def texture() -> np.ndarray:
        return cv2.GaussianBlur(rng.uniform(0.05, 0.6, (64, 32)), (0, 0), 2.0)

    gray = np.repeat(texture()[..., None], 3, axis=2)
    coloured = np.stack([texture() * k for k in (0.9, 0.5, 0.3)], axis=2)
    light = np.array([1.0, 0.8, 0.5])
    scene = baselines.linear_to_srgb(np.concatenate([gray, coloured], axis=1) * light)
    x = _t(scene.astype(np.float32))
    u, v, chosen = gray_plane(x)
    cols = torch.nonzero(chosen[0])[:, 1]
    assert int(chosen.sum()) > 0 and int(cols.max()) < 32
    assert float(u[chosen].mean()) == pytest.approx(np.log(0.8 / 1.0), abs=0.02)
    assert float(v[chosen].mean()) == pytest.approx(np.log(0.8 / 0.5), abs=0.02)
    net = IlluminantNet(bins=32, gray=True)
    hist = net.histogram(x)
    assert hist.shape == (1, 3, 32, 32)
    assert torch.allclose(hist.sum(dim=(-1, -2)), torch.ones(1, 3), atol=1e-5)
    assert IlluminantNet(bands=3, gray=True).histogram(x).shape == (1, 4, 3, 48, 48)
    blend = BlendNet(["identity", "illuminant", "illuminant-tonal"], gray=True)
    with torch.no_grad():
        blend.illuminant.filters.normal_(std=0.5)
        blend.tonal.filters.normal_(std=0.5)
        before = blend(x)
    blend.save_pretrained(tmp_path / "gray")
    again = BlendNet.from_pretrained(tmp_path / "gray")
    assert again.config["gray"] is True and again.tonal.gray
    assert torch.equal(again(x), before)
    assert "gray" not in BlendNet(["identity", "illuminant"]).config
    assert "gray" not in IlluminantNet().config


def test_the_bright_plane_picks_the_same_pixels_under_a_light(photo):
    """A gain in linear light scales each channel: the brightest 5 % stay nearly the
    same pixels (a tint reorders only the margin), and their (u, v) move by the gain's
    log ratios, up to the 1e-4 the logs add."""
    x = _t(photo * 0.5 + 0.25)  # no pixel crosses the near-black or clipped limits
    lit = apply_gains(x, torch.tensor([[0.8, 1.0, 1.2]]))
    (u1, v1, c1), (u2, v2, c2) = bright_plane(x), bright_plane(lit)
    assert int(c1.sum()) == int(0.05 * 64 * 64)
    assert float((c1 & c2).sum()) > 0.8 * float(c1.sum())
    both = c1 & c2
    assert (u2 - u1)[both].tolist() == pytest.approx([np.log(1 / 0.8)] * int(both.sum()), abs=5e-3)
    assert (v2 - v1)[both].tolist() == pytest.approx([np.log(1 / 1.2)] * int(both.sum()), abs=5e-3)


def test_the_bright_plane_finds_the_white_surface_not_the_clipped_one(tmp_path):
    """A dim coloured scene with a white card and a clipped highlight, under a warm
    light: the chosen pixels are the card's (the clipped ones never), and their chroma
    is the light's. A bright IlluminantNet has one histogram plane more, each summing
    to 1, and a bright BlendNet keeps its config through save and load (one without
    stays as older files hold it)."""
    rng = np.random.default_rng(3)
    scene = rng.uniform(0.02, 0.3, (64, 64, 1)) * np.array([0.9, 0.5, 0.3])
    scene[8:24, 8:24] = 0.8  # the white card: 256 pixels, more than 5 % of 4096
    light = np.array([1.0, 0.8, 0.5])
    lit = baselines.linear_to_srgb(np.clip(scene * light, 0, 1))
    lit[40:48, 40:48] = 1.0  # a clipped highlight, brighter than the card
    x = _t(lit.astype(np.float32))
    u, v, chosen = bright_plane(x)
    rows, cols = torch.nonzero(chosen[0]).unbind(1)
    assert int(chosen.sum()) == int(0.05 * 64 * 64)
    assert int(rows.min()) >= 5 and int(rows.max()) <= 26 and int(cols.max()) <= 26
    inner = torch.zeros_like(chosen)
    inner[0, 11:21, 11:21] = True  # away from the card's edge, which the blur softens
    assert float(u[chosen & inner].mean()) == pytest.approx(np.log(0.8 / 1.0), abs=0.02)
    assert float(v[chosen & inner].mean()) == pytest.approx(np.log(0.8 / 0.5), abs=0.02)
    # a dimmer card under a clipped sky along the bottom: the sky's rim, blurred with
    # it, is brighter than the card, and is still never chosen (nor anything the blur
    # carries the clip to), so the chroma is still the light's
    dim = scene.copy()
    dim[8:24, 8:24] = 0.35
    sky = baselines.linear_to_srgb(np.clip(dim * light, 0, 1))
    sky[52:] = 1.0
    u_s, v_s, chosen_s = bright_plane(_t(sky.astype(np.float32)))
    rows_s, cols_s = torch.nonzero(chosen_s[0]).unbind(1)
    assert int(chosen_s.sum()) == int(0.05 * 64 * 64)
    assert int(rows_s.max()) <= 26 and int(cols_s.max()) <= 26
    assert float(u_s[chosen_s & inner].mean()) == pytest.approx(np.log(0.8 / 1.0), abs=0.02)
    assert float(v_s[chosen_s & inner].mean()) == pytest.approx(np.log(0.8 / 0.5), abs=0.02)
    hist = IlluminantNet(gray=True, bright=True).histogram(x)
    assert hist.shape == (1, 4, 48, 48)
    assert torch.allclose(hist.sum(dim=(-1, -2)), torch.ones(1, 4), atol=1e-5)
    assert IlluminantNet(bins=32, bright=True).histogram(x).shape == (1, 3, 32, 32)
    assert IlluminantNet(bands=3, gray=True, bright=True).histogram(x).shape == (1, 4, 4, 48, 48)
    blend = BlendNet(["identity", "illuminant", "illuminant-tonal"], gray=True, bright=True)
    with torch.no_grad():
        blend.illuminant.filters.normal_(std=0.5)
        blend.tonal.filters.normal_(std=0.5)
        before = blend(x)
    blend.save_pretrained(tmp_path / "bright")
    again = BlendNet.from_pretrained(tmp_path / "bright")
    assert again.config["bright"] is True and again.tonal.bright and again.illuminant.gray
    assert torch.equal(again(x), before)
    assert "bright" not in BlendNet(["identity", "illuminant"]).config
    assert "bright" not in IlluminantNet().config


def test_band_histograms_start_with_the_whole_images():
    x = _t(np.random.default_rng(1).random((32, 32, 3)).astype(np.float32))
    whole = log_chroma_histogram(x, 48, -1.5, 1 / 16)
    bands = log_chroma_band_histograms(x, 48, -1.5, 1 / 16, 3)
    assert bands.shape == (1, 4, 2, 48, 48)
    assert torch.allclose(bands[:, 0], whole, atol=1e-7)
    assert torch.allclose(bands.sum(dim=(-1, -2)), torch.ones(1, 4, 2), atol=1e-5)
    assert not torch.allclose(bands[:, 1], bands[:, 3], atol=1e-3)  # the bands see apart


def test_a_light_per_tonal_band_learns_a_split_tone_that_one_light_cannot():
    """Scenes under a split tone (shadows one colour, highlights another): the tonal
    FFCC learns most of it back, the one-light FFCC trained the same way cannot, and an
    untrained tonal net (negative control) changes almost nothing."""
    from lutkit.color import image_delta_e
    from lutkit.train.baselines import IlluminantTrainConfig, train_illuminant

    rng = np.random.default_rng(0)
    clean, cast = [], []
    for _ in range(24):
        scene = np.clip(rng.random((16, 16, 3)) * 0.9 + 0.05, 0, 1).astype(np.float32)
        scene = np.repeat(np.repeat(scene, 4, 0), 4, 1)
        shadow = np.exp(rng.uniform(-1.0, 1.0, 3))
        tone = np.stack([shadow, np.ones(3), 1 / shadow])[None].astype(np.float32)
        out = apply_band_gains(_t(scene), torch.from_numpy(tone))[0].permute(1, 2, 0).numpy()
        cast.append(np.ascontiguousarray(out))
        clean.append(scene)

    def score(net):
        return np.mean(
            [image_delta_e(net.correct(c), s).mean() for c, s in zip(cast, clean, strict=True)]
        )

    before = np.mean([image_delta_e(c, s).mean() for c, s in zip(cast, clean, strict=True)])
    cfg = IlluminantTrainConfig(epochs=30, batch_size=8, lr=1e-2, size=64, view=32)
    one, _ = train_illuminant(cast, clean, cfg)
    tonal, record = train_illuminant(
        cast, clean, IlluminantTrainConfig(**{**cfg.__dict__, "bands": 3})
    )
    # measured: before 4.41, one light 4.28, tonal 3.47, untrained tonal = before
    assert score(tonal) < 0.85 * before
    assert score(tonal) < 0.88 * score(one)
    assert score(IlluminantNet(bands=3)) > 0.95 * before
    assert record["losses"][-1] < record["losses"][0]


def test_the_training_config_knows_every_candidate():
    from lutkit.models.blend import CANDIDATES, DEFAULT_CANDIDATES
    from lutkit.train.config import BLEND_CANDIDATES, KNOWN_BLEND_CANDIDATES

    assert KNOWN_BLEND_CANDIDATES.split(",") == list(CANDIDATES)
    assert BLEND_CANDIDATES.split(",") == [*DEFAULT_CANDIDATES, "latent"]  # the config default


@pytest.mark.parametrize(
    ("own", "colour"), [("all", "de76"), ("damaged", "de76"), ("all", "de2000")]
)
def test_the_candidates_own_losses_skip_the_clean_pairs_when_asked(photo, own, colour):
    from lutkit.models.colormap import COLOUR_LOSSES
    from lutkit.train.config import TrainConfig
    from lutkit.train.stages import blend_loss

    torch.manual_seed(0)
    net = BlendNet(["identity", "gray-world", "illuminant", "illuminant-tonal"], pixels=16)
    clean = _t(photo)
    damaged = _t(np.clip(photo * np.float32([0.8, 1.0, 1.25]), 0, 1))
    batch = {
        "distorted": None,
        "distorted_rgb": torch.cat([damaged, clean]),  # a damaged pair, then a clean one
        "clean_rgb": torch.cat([clean, clean]),
    }
    cfg = TrainConfig(blend_own_loss=own, colour_loss=colour)
    delta_e = COLOUR_LOSSES[colour]  # the loss the config names, everywhere
    with torch.no_grad():
        got = blend_loss(net, batch, None, cfg)
        w, est = net.weights(net.view(batch["distorted_rgb"]))
        outs = net.apply_candidates(est, batch["distorted_rgb"])
        want = delta_e((outs * w[..., None, None, None]).sum(1), batch["clean_rgb"])
        rows = slice(0, 1) if own == "damaged" else slice(0, 2)
        for k in (2, 3):  # the learned candidates, each on its own
            want = want + delta_e(outs[rows, k], batch["clean_rgb"][rows])
        assert torch.allclose(got, want)
        # a batch of clean pairs only: with "damaged", the blend's term alone
        only = {k: v[1:] if v is not None else None for k, v in batch.items()}
        w, est = net.weights(net.view(only["distorted_rgb"]))
        blend = net.render(w, est, only["distorted_rgb"])
        alone = delta_e(blend, only["clean_rgb"])
        assert torch.allclose(blend_loss(net, only, None, cfg), alone) == (own == "damaged")


def test_a_bad_own_loss_setting_is_a_one_line_error():
    from lutkit.train.config import TrainConfig

    with pytest.raises(ConfigError, match=r"^blend_own_loss must be one of all, damaged, got 'x'$"):
        TrainConfig(blend_own_loss="x").check()
    with pytest.raises(ConfigError, match=r"^colour_loss must be one of de76, de2000, got 'lab'$"):
        TrainConfig(colour_loss="lab").check()
